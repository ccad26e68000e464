//! The Slack message payload, Block Kit subset we use, and Slack's limits.
//!
//! Every constructor here enforces the limits that apply to what it builds, so a message built
//! from these types cannot be rejected by Slack for size: one place to get them right.
//! Constructors taking `mrkdwn` expect text that is already escaped (see [`crate::text`]).

use crate::text::{truncate_chars, truncate_mrkdwn};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

/// Slack's documented limits.
pub mod limits {
    /// Blocks in one message.
    pub const MAX_BLOCKS: usize = 50;
    /// Characters of a header block's plain text.
    pub const HEADER_CHARS: usize = 150;
    /// Characters of a section's text (and of any text object).
    pub const SECTION_CHARS: usize = 3_000;
    /// Fields in one section.
    pub const SECTION_FIELDS: usize = 10;
    /// Characters of one section field.
    pub const FIELD_CHARS: usize = 2_000;
    /// Elements in a context block.
    pub const CONTEXT_ELEMENTS: usize = 10;
    /// Elements in an actions block.
    pub const ACTIONS_ELEMENTS: usize = 25;
    /// Characters of a button's text.
    pub const BUTTON_TEXT_CHARS: usize = 75;
    /// Characters of a button's URL.
    pub const BUTTON_URL_CHARS: usize = 3_000;
    /// Top-level `text`: Slack cuts at 40,000; we keep it far under 4,000, as Slack advises.
    pub const TEXT_CHARS: usize = 3_000;
    /// All blocks of a message together, counted as their JSON. Not documented: Slack answers
    /// `msg_blocks_too_long` from about 13,200 characters of blocks (reported against
    /// slackapi/bolt-js, #2509), well before 50 full sections. JSON length is at least the text
    /// length, so this holds however Slack counts.
    pub const BLOCKS_JSON_CHARS: usize = 12_000;
    /// Our own cap for one context element (Slack allows 3,000): a context line is a footnote,
    /// and a long one would eat the size budget of the message.
    pub const CONTEXT_ELEMENT_CHARS: usize = 500;
}

/// The JSON body for `chat.postMessage` or an incoming webhook (the transport adds `channel`,
/// `thread_ts` and the like).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlackMessage {
    /// Plain fallback for notifications and screen readers: always set.
    pub text: String,
    /// One attachment: the legacy wrapper is the only way to get a colour bar beside blocks.
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub color: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Header {
        text: Text,
    },
    Section {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<Text>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        fields: Vec<Text>,
    },
    Context {
        elements: Vec<Text>,
    },
    Actions {
        elements: Vec<Element>,
    },
    Divider {},
}

/// A Block Kit text object.
///
/// `mrkdwn` objects are always sent with `"verbatim": true`. Slack documents that without it
/// "URLs will be auto-converted into links, conversation names will be link-ified, and certain
/// mentions will be automatically parsed", and that `verbatim` skips that preprocessing while
/// explicit syntax (`<url|text>`, `<!date…>`, `<!here>`) still works. Alert text comes from
/// sources nobody here controls (request paths and URLs in log lines, annotations): none of it
/// may become a link, so links are only what this crate builds on purpose (buttons, for
/// absolute http(s) URLs only). `plain_text` (headers, button labels) is never parsed by Slack.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Text {
    PlainText { text: String, emoji: bool },
    Mrkdwn { text: String },
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Text::PlainText { text, emoji } => {
                let mut object = serializer.serialize_struct("Text", 3)?;
                object.serialize_field("type", "plain_text")?;
                object.serialize_field("text", text)?;
                object.serialize_field("emoji", emoji)?;
                object.end()
            }
            Text::Mrkdwn { text } => {
                let mut object = serializer.serialize_struct("Text", 3)?;
                object.serialize_field("type", "mrkdwn")?;
                object.serialize_field("text", text)?;
                object.serialize_field("verbatim", &true)?;
                object.end()
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Element {
    Button {
        text: Text,
        url: String,
        action_id: String,
    },
}

impl Text {
    pub fn as_str(&self) -> &str {
        match self {
            Text::PlainText { text, .. } | Text::Mrkdwn { text } => text,
        }
    }

    fn mrkdwn(escaped: &str, max_chars: usize) -> Text {
        Text::Mrkdwn {
            text: truncate_mrkdwn(escaped, max_chars).into_owned(),
        }
    }

    fn plain(text: &str, max_chars: usize) -> Text {
        Text::PlainText {
            text: truncate_chars(text, max_chars).into_owned(),
            emoji: true,
        }
    }
}

impl Block {
    /// A header; plain text, so nothing in it needs (or gets) escaping.
    pub fn header(text: &str) -> Block {
        Block::Header {
            text: Text::plain(text, limits::HEADER_CHARS),
        }
    }

    /// A section of escaped mrkdwn; `None` for empty text, which Slack rejects.
    pub fn section(mrkdwn: &str) -> Option<Block> {
        (!mrkdwn.trim().is_empty()).then(|| Block::Section {
            text: Some(Text::mrkdwn(mrkdwn, limits::SECTION_CHARS)),
            fields: Vec::new(),
        })
    }

    /// Field sections: escaped mrkdwn fields, ten to a section.
    pub fn field_sections(fields: &[String]) -> Vec<Block> {
        fields
            .chunks(limits::SECTION_FIELDS)
            .map(|chunk| Block::Section {
                text: None,
                fields: chunk
                    .iter()
                    .map(|f| Text::mrkdwn(f, limits::FIELD_CHARS))
                    .collect(),
            })
            .collect()
    }

    /// A context line of escaped mrkdwn elements (empty ones dropped, at most ten kept);
    /// `None` when nothing is left.
    pub fn context(elements: &[String]) -> Option<Block> {
        let elements: Vec<Text> = elements
            .iter()
            .filter(|e| !e.trim().is_empty())
            .take(limits::CONTEXT_ELEMENTS)
            .map(|e| Text::mrkdwn(e, limits::CONTEXT_ELEMENT_CHARS))
            .collect();
        (!elements.is_empty()).then_some(Block::Context { elements })
    }

    /// Link buttons, at most 25 to a block. Only links Slack accepts as button URLs belong
    /// here, see [`is_button_url`]: one bad URL makes Slack reject the whole message.
    pub fn link_buttons(links: &[(String, String)]) -> Vec<Block> {
        links
            .chunks(limits::ACTIONS_ELEMENTS)
            .enumerate()
            .map(|(chunk_index, chunk)| Block::Actions {
                elements: chunk
                    .iter()
                    .enumerate()
                    .map(|(i, (title, url))| Element::Button {
                        text: Text::plain(title, limits::BUTTON_TEXT_CHARS),
                        url: url.clone(),
                        // Must be unique within the message.
                        action_id: format!("link_{}", chunk_index * limits::ACTIONS_ELEMENTS + i),
                    })
                    .collect(),
            })
            .collect()
    }
}

/// Whether `url` may be a button: an absolute `http://` or `https://` URL with a host, no
/// credentials (user info) and nothing a browser or Slack would read differently (white space,
/// control characters, `<`, `>`, `"`, `\\`), within Slack's 3,000 characters.
///
/// Everything else (`javascript:`, `data:`, `slack:`, `mailto:`, relative and
/// protocol-relative URLs) is not a link at all: one bad button URL gets the whole message
/// rejected, and a scheme other than http(s) is an injection, not a link. User info is refused
/// because `https://trusted.example@evil.example/` points at `evil.example`, and a password
/// has no business in a button.
pub fn is_button_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    !authority.is_empty()
        && !authority.contains('@')
        && url.chars().count() <= limits::BUTTON_URL_CHARS
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '\\'))
}

/// Room kept for the "more not shown" note.
const NOTE_JSON_CHARS: usize = 200;

/// Puts `head`, `body` and `tail` together within the block count and size limits.
///
/// Header, context and links are what make a message usable, so the body is what gets cut:
/// blocks are kept in order while they fit, a section that only partly fits is shortened, and a
/// note says how many blocks were left out. Links get at most a third of the size budget
/// (silence URLs can be long); buttons beyond it are dropped from the end.
pub fn fit_blocks(head: Vec<Block>, body: Vec<Block>, tail: Vec<Block>) -> Vec<Block> {
    let tail = trim_tail(tail, limits::BLOCKS_JSON_CHARS / 3);
    let head_size: usize = head.iter().map(json_chars).sum();
    let tail_size: usize = tail.iter().map(json_chars).sum();
    let body_size: usize = body.iter().map(json_chars).sum();
    let fixed_blocks = head.len() + tail.len();
    let mut blocks = head;
    if fixed_blocks + body.len() <= limits::MAX_BLOCKS
        && head_size + body_size + tail_size <= limits::BLOCKS_JSON_CHARS
    {
        blocks.extend(body);
        blocks.extend(tail);
        return blocks;
    }

    let mut room_chars =
        limits::BLOCKS_JSON_CHARS.saturating_sub(head_size + tail_size + NOTE_JSON_CHARS);
    let mut room_blocks = limits::MAX_BLOCKS.saturating_sub(fixed_blocks + 1);
    let mut shown = 0;
    for block in &body {
        if room_blocks == 0 {
            break;
        }
        let size = json_chars(block);
        if size <= room_chars {
            blocks.push(block.clone());
            room_chars -= size;
            room_blocks -= 1;
            shown += 1;
            continue;
        }
        if let Some(shortened) = shorten(block, room_chars) {
            blocks.push(shortened);
            shown += 1;
        }
        break;
    }
    let hidden = body.len() - shown;
    if hidden > 0 {
        blocks.extend(Block::context(&[format!(
            "_{hidden} more blocks not shown: the message would be too long for Slack_"
        )]));
    }
    blocks.extend(tail);
    blocks
}

/// The size of a block as Slack receives it.
fn json_chars(block: &Block) -> usize {
    serde_json::to_string(block).map_or(usize::MAX, |json| json.chars().count())
}

/// Drops buttons from the end, then whole blocks from the end, until the tail fits.
fn trim_tail(mut tail: Vec<Block>, max_chars: usize) -> Vec<Block> {
    while tail.iter().map(json_chars).sum::<usize>() > max_chars {
        let last_actions = tail
            .iter()
            .rposition(|b| matches!(b, Block::Actions { elements } if !elements.is_empty()));
        match last_actions {
            Some(index) => {
                if let Block::Actions { elements } = &mut tail[index] {
                    elements.pop();
                    if elements.is_empty() {
                        tail.remove(index);
                    }
                }
            }
            None => {
                tail.pop();
            }
        }
    }
    tail
}

/// The beginning of a section that does not fit whole into `max_chars`: its text cut shorter,
/// or its first fields. `None` when not even a useful beginning fits.
fn shorten(block: &Block, max_chars: usize) -> Option<Block> {
    const USEFUL_CHARS: usize = 100;
    let Block::Section { text, fields } = block else {
        return None;
    };
    if let Some(Text::Mrkdwn { text }) = text {
        let mut keep = text.chars().count();
        while keep >= USEFUL_CHARS {
            // JSON escaping can make the text longer than it looks: shrink until it fits.
            keep = keep * 3 / 4;
            let shortened = Block::Section {
                text: Some(Text::mrkdwn(text, keep)),
                fields: fields.clone(),
            };
            if json_chars(&shortened) <= max_chars {
                return Some(shortened);
            }
        }
        return None;
    }
    let mut kept_fields = fields.clone();
    while kept_fields.len() > 1 {
        kept_fields.pop();
        let shortened = Block::Section {
            text: None,
            fields: kept_fields.clone(),
        };
        if json_chars(&shortened) <= max_chars {
            return Some(shortened);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mrkdwn_is_sent_verbatim_and_reads_back() {
        let mrkdwn = Text::Mrkdwn {
            text: "see https://example.com".into(),
        };
        let json = serde_json::to_value(&mrkdwn).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "mrkdwn", "text": "see https://example.com", "verbatim": true})
        );
        assert_eq!(serde_json::from_value::<Text>(json).unwrap(), mrkdwn);
        let plain = Text::plain("x", 10);
        let json = serde_json::to_value(&plain).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "plain_text", "text": "x", "emoji": true})
        );
        assert_eq!(serde_json::from_value::<Text>(json).unwrap(), plain);
    }

    #[test]
    fn button_urls_at_the_length_limit() {
        let base = "https://example.com/";
        let at_limit = format!(
            "{base}{}",
            "a".repeat(limits::BUTTON_URL_CHARS - base.len())
        );
        assert!(is_button_url(&at_limit));
        assert!(!is_button_url(&format!("{at_limit}a")));
    }
}
