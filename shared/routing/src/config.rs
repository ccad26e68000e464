//! The routing configuration: read from YAML text, validated completely at load.
//!
//! Every mistake is an error that names the line and column and says what is wrong: unknown keys
//! (`contine:`), wrong types, invalid regexes, time zones, weekdays and hour ranges, unknown or
//! duplicate destinations, duplicate route names, routes that deliver nowhere, an empty route
//! list. Checks of one value run while that value is deserialised (so `serde_yaml_ng` places
//! them); checks across values run afterwards and find their node's position with
//! the `locate` module. The format is documented on the crate.

use crate::locate::{ConfigPath, Position, locate};
use crate::matcher::{AnchoredRegex, MatchFile, Matchers, severity_named};
use crate::mute::{MuteWindow, MuteWindowFile};
use crate::yaml::{MapKey, OneOrMany, Text, UniqueKeyMap, closest, deserialize_from_str};
use fleetwatch_alerts::Severity;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The name the default route goes by in decisions and explanations.
pub const DEFAULT_ROUTE_NAME: &str = "default_route";

/// A configuration mistake, with its place in the text when it has one (a YAML document that
/// ends early, or an empty text, has none).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("routing configuration, line {line} column {column}: {message}")]
    At {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("routing configuration: {message}")]
    Unplaced { message: String },
}

impl ConfigError {
    /// The 1-based line of the mistake.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::At { line, .. } => Some(*line),
            ConfigError::Unplaced { .. } => None,
        }
    }

    /// What is wrong, without the position.
    pub fn message(&self) -> &str {
        match self {
            ConfigError::At { message, .. } | ConfigError::Unplaced { message } => message,
        }
    }

    fn from_yaml(source: &str, error: &serde_yaml_ng::Error) -> Self {
        let text = error.to_string();
        let Some(location) = error.location() else {
            return ConfigError::Unplaced { message: text };
        };
        let (line, column) = (location.line(), location.column());
        // serde_yaml_ng and libyaml put the position in the text too; it is in our fields.
        let mut message = text.replacen(&format!(" at line {line} column {column}"), "", 1);
        let offending = source
            .lines()
            .nth(line.saturating_sub(1))
            .and_then(|text| text.chars().nth(column.saturating_sub(1)));
        if message.starts_with("found character that cannot start any token") {
            match offending {
                Some('\t') => message.push_str(" (a tab: indent YAML with spaces)"),
                Some(c @ ('>' | '<' | '@' | '`' | '%')) => message.push_str(&format!(
                    " (`{c}`: quote values that start with it, e.g. \">=error\", \"<!here>\")"
                )),
                _ => {}
            }
        }
        ConfigError::At {
            line,
            column,
            message,
        }
    }

    fn semantic(source: &str, path: &ConfigPath, message: String) -> Self {
        let message = format!("{path}: {message}");
        match locate(source, path) {
            Some(Position { line, column }) => ConfigError::At {
                line,
                column,
                message,
            },
            None => ConfigError::Unplaced { message },
        }
    }
}

/// A validated routing configuration.
#[derive(Debug, Clone)]
pub struct Config {
    destinations: Vec<(String, Destination)>,
    routes: Vec<Route>,
    default_route: Route,
}

impl Config {
    /// Parses and validates YAML text (from an SSM parameter, a file, a test).
    pub fn from_yaml(source: &str) -> Result<Config, ConfigError> {
        if source.trim().is_empty() {
            return Err(ConfigError::Unplaced {
                message: "the configuration is empty".to_owned(),
            });
        }
        let file: ConfigFile = serde_yaml_ng::from_str(source)
            .map_err(|error| ConfigError::from_yaml(source, &error))?;
        Builder { source }.build(file)
    }

    /// Destinations in the order written.
    pub fn destinations(&self) -> impl Iterator<Item = (&str, &Destination)> {
        self.destinations
            .iter()
            .map(|(name, destination)| (name.as_str(), destination))
    }

    pub fn destination(&self, name: &str) -> Option<&Destination> {
        self.destinations
            .iter()
            .find(|(candidate, _)| candidate == name)
            .map(|(_, destination)| destination)
    }

    /// Routes in evaluation order (the default route is not among them).
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Taken when no route matches; named [`DEFAULT_ROUTE_NAME`].
    pub fn default_route(&self) -> &Route {
        &self.default_route
    }
}

impl FromStr for Config {
    type Err = ConfigError;

    fn from_str(source: &str) -> Result<Self, ConfigError> {
        Config::from_yaml(source)
    }
}

/// Where a destination's messages go. Secrets are never in the configuration: only the names
/// of the SSM SecureString parameters that hold them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An incoming webhook (one fixed channel; cannot thread or update).
    Webhook { url_parameter: String },
    /// The Web API with a bot token (`chat.postMessage` / `chat.update`; threads and updates).
    Bot {
        token_parameter: String,
        channel: String,
    },
}

/// One route, with the defaults already applied.
#[derive(Debug, Clone)]
pub struct Route {
    pub(crate) name: String,
    pub(crate) matchers: Matchers,
    pub(crate) destinations: Vec<String>,
    pub(crate) drop: bool,
    pub(crate) continue_matching: bool,
    pub(crate) send_resolved: bool,
    pub(crate) dedup_window: Duration,
    pub(crate) mentions: BTreeMap<Severity, Vec<String>>,
    pub(crate) mute: Vec<MuteWindow>,
}

impl Route {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn matchers(&self) -> &Matchers {
        &self.matchers
    }

    /// Empty for a `drop: true` route.
    pub fn destinations(&self) -> &[String] {
        &self.destinations
    }

    /// `drop: true`: matching alerts are dropped on purpose.
    pub fn drops(&self) -> bool {
        self.drop
    }

    pub fn continues(&self) -> bool {
        self.continue_matching
    }

    pub fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    pub fn dedup_window(&self) -> Duration {
        self.dedup_window
    }

    /// Mentions for a firing alert of this severity.
    pub fn mentions_for(&self, severity: Severity) -> &[String] {
        self.mentions.get(&severity).map_or(&[], Vec::as_slice)
    }

    pub fn mute_windows(&self) -> &[MuteWindow] {
        &self.mute
    }
}

/// `5m`, `30s`, `1h30m`, `1d`, `0s` (units s, m, h, d; at least one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DedupWindow(Duration);

impl FromStr for DedupWindow {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let invalid =
            |why: &str| format!("invalid duration `{text}`: {why}; write e.g. 30s, 5m, 1h30m");
        let mut seconds: u64 = 0;
        let mut digits = String::new();
        let mut parts = 0;
        for c in text.trim().chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit: u64 = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                _ => return Err(invalid(&format!("unexpected `{c}`"))),
            };
            let amount: u64 = digits
                .parse()
                .map_err(|_| invalid("a unit needs a number before it"))?;
            seconds = amount
                .checked_mul(unit)
                .and_then(|part| seconds.checked_add(part))
                .ok_or_else(|| invalid("too long"))?;
            digits.clear();
            parts += 1;
        }
        if !digits.is_empty() {
            return Err(invalid("missing unit after the last number"));
        }
        if parts == 0 {
            return Err(invalid("empty"));
        }
        Ok(DedupWindow(Duration::from_secs(seconds)))
    }
}

deserialize_from_str!(DedupWindow, "a duration such as 5m");

/// `1h30m`, `5m`, `0s`: the inverse of the configuration's duration syntax.
pub(crate) fn format_duration(duration: Duration) -> String {
    let total = duration.as_secs();
    if total == 0 {
        return "0s".to_owned();
    }
    let (hours, minutes, seconds) = (total / 3600, total % 3600 / 60, total % 60);
    let mut text = String::new();
    for (amount, unit) in [(hours, 'h'), (minutes, 'm'), (seconds, 's')] {
        if amount > 0 {
            text.push_str(&format!("{amount}{unit}"));
        }
    }
    text
}

/// A Slack mention as Slack's API needs it: `<!here>`, `<!channel>`, `<@U123>`,
/// `<!subteam^S123>`. A plain `@here` would post the text and notify nobody.
#[derive(Debug, Clone)]
struct Mention(String);

impl FromStr for Mention {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let inner = text
            .strip_prefix('<')
            .and_then(|rest| rest.strip_suffix('>'));
        match inner {
            Some(inner)
                if inner.len() > 1
                    && inner.starts_with(['!', '@', '#'])
                    && !inner.contains(['<', '>']) =>
            {
                Ok(Mention(text.to_owned()))
            }
            _ => Err(format!(
                "`{text}` is not a Slack mention: write <!here>, <!channel>, <@U0123ABC> or <!subteam^S0123ABC> (a plain @name notifies nobody)"
            )),
        }
    }
}

deserialize_from_str!(Mention, "a Slack mention such as <!here>");

type MentionsFile = UniqueKeyMap<Severity, Vec<Mention>>;

impl MapKey for Severity {
    fn parse_key(key: &str) -> Result<Self, String> {
        severity_named(key)
    }
}

/// Destination names end up in dedup keys and explanations: keep them plain.
#[derive(Debug, Clone)]
struct DestinationName(String);

impl MapKey for DestinationName {
    fn parse_key(key: &str) -> Result<Self, String> {
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if !key.is_empty() && key.chars().all(plain) {
            Ok(DestinationName(key.to_owned()))
        } else {
            Err(format!(
                "invalid destination name `{key}`: use letters, digits, `-`, `_` and `.`"
            ))
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    destinations: UniqueKeyMap<DestinationName, DestinationFile>,
    #[serde(default)]
    defaults: DefaultsFile,
    routes: Vec<RouteFile>,
    default_route: DefaultRouteFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DestinationFile {
    webhook_url_parameter: Option<String>,
    bot_token_parameter: Option<String>,
    channel: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultsFile {
    send_resolved: Option<bool>,
    dedup_window: Option<DedupWindow>,
    mentions: Option<MentionsFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteFile {
    name: String,
    #[serde(rename = "match", default)]
    matches: MatchFile,
    #[serde(default)]
    match_re: UniqueKeyMap<String, AnchoredRegex>,
    #[serde(default)]
    not_match: UniqueKeyMap<String, OneOrMany<Text>>,
    destinations: Option<Vec<String>>,
    #[serde(default)]
    drop: bool,
    #[serde(rename = "continue", default)]
    continue_matching: bool,
    send_resolved: Option<bool>,
    dedup_window: Option<DedupWindow>,
    mentions: Option<MentionsFile>,
    #[serde(default)]
    mute: Vec<MuteWindowFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultRouteFile {
    destinations: Vec<String>,
    send_resolved: Option<bool>,
    dedup_window: Option<DedupWindow>,
    mentions: Option<MentionsFile>,
    #[serde(default)]
    mute: Vec<MuteWindowFile>,
}

/// What `defaults:` gives every route that does not say otherwise.
struct Defaults {
    send_resolved: bool,
    dedup_window: Duration,
    mentions: BTreeMap<Severity, Vec<String>>,
}

/// Unless `defaults:` says otherwise: resolved messages are sent, and the same alert (fingerprint
/// and status) is not sent to the same destination twice within five minutes.
const DEFAULT_DEDUP_WINDOW: Duration = Duration::from_secs(300);

fn mentions(file: MentionsFile) -> BTreeMap<Severity, Vec<String>> {
    file.0
        .into_iter()
        .map(|(severity, mentions)| (severity, mentions.into_iter().map(|m| m.0).collect()))
        .collect()
}

/// The checks across values, with the source text at hand to place their errors.
struct Builder<'s> {
    source: &'s str,
}

impl Builder<'_> {
    fn error(&self, path: &ConfigPath, message: String) -> ConfigError {
        ConfigError::semantic(self.source, path, message)
    }

    fn build(&self, file: ConfigFile) -> Result<Config, ConfigError> {
        let root = ConfigPath::root();
        let mut destinations = Vec::new();
        for (DestinationName(name), destination) in file.destinations.0 {
            let path = root.key("destinations").key(&name);
            let destination = self.destination(&path, destination)?;
            destinations.push((name, destination));
        }
        let names: Vec<&str> = destinations.iter().map(|(name, _)| name.as_str()).collect();

        let defaults = Defaults {
            send_resolved: file.defaults.send_resolved.unwrap_or(true),
            dedup_window: file
                .defaults
                .dedup_window
                .map_or(DEFAULT_DEDUP_WINDOW, |window| window.0),
            mentions: file.defaults.mentions.map(mentions).unwrap_or_default(),
        };

        let routes_path = root.key("routes");
        if file.routes.is_empty() {
            return Err(self.error(
                &routes_path,
                "no routes: list at least one route (alerts no route matches go to default_route)"
                    .to_owned(),
            ));
        }
        let mut routes: Vec<Route> = Vec::new();
        for (index, route) in file.routes.into_iter().enumerate() {
            let path = routes_path.index(index);
            let route = self.route(&path, route, &names, &defaults)?;
            if let Some(earlier) = routes.iter().position(|r| r.name == route.name) {
                return Err(self.error(
                    &path.key("name"),
                    format!(
                        "duplicate route name `{}` (also routes[{earlier}]): names identify routes in explanations and drop reasons",
                        route.name
                    ),
                ));
            }
            routes.push(route);
        }

        let default_route = self.default_route(
            &root.key("default_route"),
            file.default_route,
            &names,
            &defaults,
        )?;
        Ok(Config {
            destinations,
            routes,
            default_route,
        })
    }

    fn destination(
        &self,
        path: &ConfigPath,
        file: DestinationFile,
    ) -> Result<Destination, ConfigError> {
        let non_empty = |value: Option<String>, key: &str| -> Result<Option<String>, ConfigError> {
            match value {
                Some(value) if value.trim().is_empty() => {
                    Err(self.error(&path.key(key), format!("`{key}` is empty")))
                }
                other => Ok(other),
            }
        };
        let webhook = non_empty(file.webhook_url_parameter, "webhook_url_parameter")?;
        let token = non_empty(file.bot_token_parameter, "bot_token_parameter")?;
        let channel = non_empty(file.channel, "channel")?;
        match (webhook, token, channel) {
            (Some(url_parameter), None, None) => Ok(Destination::Webhook { url_parameter }),
            (None, Some(token_parameter), Some(channel)) => Ok(Destination::Bot {
                token_parameter,
                channel,
            }),
            (Some(_), None, Some(_)) => Err(self.error(
                &path.key("channel"),
                "a webhook posts to the channel it was installed for: remove `channel`, or use `bot_token_parameter`".to_owned(),
            )),
            (None, Some(_), None) => Err(self.error(
                path,
                "a bot destination needs `channel` (a name such as \"#deploys\" or an ID such as C0123ABC)".to_owned(),
            )),
            (Some(_), Some(_), _) => Err(self.error(
                path,
                "both `webhook_url_parameter` and `bot_token_parameter`: a destination is one or the other".to_owned(),
            )),
            (None, None, _) => Err(self.error(
                path,
                "a destination needs `webhook_url_parameter` (incoming webhook) or `bot_token_parameter` with `channel` (bot)".to_owned(),
            )),
        }
    }

    fn destination_list(
        &self,
        path: &ConfigPath,
        list: Vec<String>,
        names: &[&str],
    ) -> Result<Vec<String>, ConfigError> {
        for (index, name) in list.iter().enumerate() {
            let item = path.index(index);
            if !names.contains(&name.as_str()) {
                let hint = closest(name, names.iter().copied())
                    .map(|close| format!("did you mean `{close}`? "))
                    .unwrap_or_default();
                return Err(self.error(
                    &item,
                    format!(
                        "unknown destination `{name}` ({hint}defined: {})",
                        names.join(", ")
                    ),
                ));
            }
            if list[..index].contains(name) {
                return Err(self.error(&item, format!("destination `{name}` is listed twice")));
            }
        }
        Ok(list)
    }

    fn mute_windows(
        &self,
        path: &ConfigPath,
        files: Vec<MuteWindowFile>,
    ) -> Result<Vec<MuteWindow>, ConfigError> {
        files
            .into_iter()
            .enumerate()
            .map(|(index, file)| {
                MuteWindow::from_file(file, index + 1)
                    .map_err(|message| self.error(&path.index(index), message))
            })
            .collect()
    }

    fn route(
        &self,
        path: &ConfigPath,
        file: RouteFile,
        names: &[&str],
        defaults: &Defaults,
    ) -> Result<Route, ConfigError> {
        let name = file.name.trim().to_owned();
        if name.is_empty() || name == DEFAULT_ROUTE_NAME {
            return Err(self.error(
                &path.key("name"),
                format!("invalid route name `{name}`: it must be non-empty and not `{DEFAULT_ROUTE_NAME}`"),
            ));
        }
        let destinations = match (file.drop, file.destinations) {
            (true, Some(_)) => {
                return Err(self.error(
                    &path.key("destinations"),
                    format!("route `{name}` has `drop: true` and `destinations`: a dropping route delivers nowhere, remove one of them"),
                ));
            }
            (true, None) if file.continue_matching => {
                return Err(self.error(
                    &path.key("drop"),
                    format!("route `{name}` has `drop: true` and `continue: true`: it would drop nothing; remove `continue`"),
                ));
            }
            (true, None) => Vec::new(),
            (false, None) => {
                return Err(self.error(
                    path,
                    format!("route `{name}` has no `destinations` (to drop its alerts on purpose, write `drop: true`)"),
                ));
            }
            (false, Some(list)) if list.is_empty() => {
                return Err(self.error(
                    &path.key("destinations"),
                    format!("route `{name}` has an empty `destinations` list (to drop its alerts on purpose, write `drop: true`)"),
                ));
            }
            (false, Some(list)) => self.destination_list(&path.key("destinations"), list, names)?,
        };
        Ok(Route {
            matchers: Matchers::from_file(file.matches, file.match_re, file.not_match),
            destinations,
            drop: file.drop,
            continue_matching: file.continue_matching,
            send_resolved: file.send_resolved.unwrap_or(defaults.send_resolved),
            dedup_window: file.dedup_window.map_or(defaults.dedup_window, |w| w.0),
            mentions: file
                .mentions
                .map_or_else(|| defaults.mentions.clone(), mentions),
            mute: self.mute_windows(&path.key("mute"), file.mute)?,
            name,
        })
    }

    fn default_route(
        &self,
        path: &ConfigPath,
        file: DefaultRouteFile,
        names: &[&str],
        defaults: &Defaults,
    ) -> Result<Route, ConfigError> {
        if file.destinations.is_empty() {
            return Err(self.error(
                &path.key("destinations"),
                "the default route needs at least one destination: alerts no route matches must go somewhere".to_owned(),
            ));
        }
        Ok(Route {
            name: DEFAULT_ROUTE_NAME.to_owned(),
            matchers: Matchers::default(),
            destinations: self.destination_list(
                &path.key("destinations"),
                file.destinations,
                names,
            )?,
            drop: false,
            continue_matching: false,
            send_resolved: file.send_resolved.unwrap_or(defaults.send_resolved),
            dedup_window: file.dedup_window.map_or(defaults.dedup_window, |w| w.0),
            mentions: file
                .mentions
                .map_or_else(|| defaults.mentions.clone(), mentions),
            mute: self.mute_windows(&path.key("mute"), file.mute)?,
        })
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Webhook { url_parameter } => {
                write!(f, "incoming webhook (URL in {url_parameter})")
            }
            Destination::Bot {
                token_parameter,
                channel,
            } => write!(f, "bot to {channel} (token in {token_parameter})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_format() {
        let parse = |text: &str| text.parse::<DedupWindow>().map(|w| w.0.as_secs());
        assert_eq!(parse("5m"), Ok(300));
        assert_eq!(parse("1h30m"), Ok(5400));
        assert_eq!(parse("1d"), Ok(86_400));
        assert_eq!(parse("0s"), Ok(0));
        assert_eq!(
            parse("300"),
            Err("invalid duration `300`: missing unit after the last number; write e.g. 30s, 5m, 1h30m".to_owned())
        );
        assert!(parse("5 min").is_err() && parse("").is_err() && parse("m").is_err());
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
        assert_eq!(format_duration(Duration::from_secs(3605)), "1h5s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn mentions_must_be_slack_syntax() {
        for good in ["<!here>", "<!channel>", "<@U0123>", "<!subteam^S123|@ops>"] {
            assert!(good.parse::<Mention>().is_ok(), "{good}");
        }
        for bad in ["@here", "<here>", "<!>", "here", "<!here"] {
            assert!(bad.parse::<Mention>().is_err(), "{bad}");
        }
    }
}
