//! Shared by the integration tests.

use fleetwatch_alerts::SlackMessage;
use serde_json::Value;
use std::collections::HashSet;

/// Every Slack limit we know of, checked on the JSON that would be sent; and that Slack will
/// not turn any text into a link on its own (see [`assert_never_auto_linked`]).
pub fn assert_within_slack_limits(message: &SlackMessage) {
    let json = serde_json::to_value(message).unwrap();
    assert_never_auto_linked(&json);
    let chars = |v: &Value| v.as_str().unwrap().chars().count();
    let text = &json["text"];
    assert!(
        chars(text) > 0 && chars(text) < 4_000,
        "text length {}",
        chars(text)
    );
    let attachments = json["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1);
    assert!(attachments[0]["color"].as_str().unwrap().starts_with('#'));
    let blocks = attachments[0]["blocks"].as_array().unwrap();
    assert!(
        !blocks.is_empty() && blocks.len() <= 50,
        "{} blocks",
        blocks.len()
    );
    let mut action_ids = HashSet::new();
    for block in blocks {
        match block["type"].as_str().unwrap() {
            "header" => {
                assert_eq!(block["text"]["type"], "plain_text");
                let n = chars(&block["text"]["text"]);
                assert!((1..=150).contains(&n), "header {n}");
            }
            "section" => {
                let text = block.get("text");
                let fields = block.get("fields").and_then(Value::as_array);
                assert!(text.is_some() || fields.is_some(), "empty section");
                if let Some(text) = text {
                    let n = chars(&text["text"]);
                    assert!((1..=3_000).contains(&n), "section text {n}");
                }
                if let Some(fields) = fields {
                    assert!((1..=10).contains(&fields.len()), "{} fields", fields.len());
                    for field in fields {
                        let n = chars(&field["text"]);
                        assert!((1..=2_000).contains(&n), "field {n}");
                    }
                }
            }
            "context" => {
                let elements = block["elements"].as_array().unwrap();
                assert!(
                    (1..=10).contains(&elements.len()),
                    "{} context elements",
                    elements.len()
                );
                for element in elements {
                    let n = chars(&element["text"]);
                    assert!((1..=3_000).contains(&n), "context element {n}");
                }
            }
            "actions" => {
                let elements = block["elements"].as_array().unwrap();
                assert!((1..=25).contains(&elements.len()));
                for button in elements {
                    assert!(chars(&button["text"]["text"]) <= 75);
                    let url = button["url"].as_str().unwrap();
                    assert!(url.starts_with("http") && url.chars().count() <= 3_000);
                    assert!(action_ids.insert(button["action_id"].as_str().unwrap().to_string()));
                }
            }
            other => panic!("unexpected block type {other}"),
        }
    }
}

/// Every mrkdwn text object is `verbatim`: Slack documents that it then skips its
/// preprocessing, which turns bare URLs (a request path from a log line, a URL in an
/// annotation) into links and parses channel names and some mentions. Only links we build
/// ourselves, buttons and `<!date…>` tokens, are Slack syntax.
pub fn assert_never_auto_linked(value: &Value) {
    match value {
        Value::Object(map) => {
            if map.get("type").and_then(Value::as_str) == Some("mrkdwn") {
                assert_eq!(map.get("verbatim"), Some(&Value::Bool(true)), "{value}");
            }
            map.values().for_each(assert_never_auto_linked);
        }
        Value::Array(items) => items.iter().for_each(assert_never_auto_linked),
        _ => {}
    }
}
