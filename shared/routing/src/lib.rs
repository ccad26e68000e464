//! Alert routing for `slack-fanout`: which Slack destinations get an alert, and why.
//!
//! Pure: no I/O, no clock, no environment. The caller reads the YAML (an SSM parameter, a file)
//! and passes the time in.
//!
//! - [`Config::from_yaml`] parses and validates the rules; every mistake is a [`ConfigError`]
//!   naming the line and column.
//! - [`route()`] turns one [`Alert`](fleetwatch_alerts::Alert) into a [`RoutingDecision`]:
//!   deliveries per destination, deliberate drops with their reason, and an
//!   [`explain`](RoutingDecision::explain)ation (also its `Display`).
//! - [`dedup_key`] and [`should_send`] decide whether a delivery is a duplicate.
//!
//! ```
//! use fleetwatch_alerts::{Alert, Severity, Source};
//! use fleetwatch_routing::{Config, Timestamp, route};
//!
//! let config = Config::from_yaml(r#"
//! destinations:
//!   ops: { webhook_url_parameter: /fleetwatch/slack/ops-webhook }
//! routes:
//!   - name: critical
//!     match: { severity: ">=error" }
//!     destinations: [ops]
//!     mentions: { critical: ["<!here>"] }
//! default_route: { destinations: [ops] }
//! "#).unwrap();
//!
//! let mut alert = Alert::new(Source::Cloudwatch, "api 5xx");
//! alert.severity = Severity::Critical;
//! let decision = route(&config, &alert, "2026-11-25T12:00:00Z".parse::<Timestamp>().unwrap());
//! assert_eq!(decision.deliveries[0].destination, "ops");
//! assert_eq!(decision.deliveries[0].mentions, ["<!here>"]);
//! assert_eq!(decision.to_string(), "route critical: matched\n\
//!     matching stopped at route critical (no continue)\n\
//!     deliver to ops via route critical, mentioning <!here>, dedup window 5m");
//! ```
//!
//! # The configuration
//!
//! ```yaml
//! # Where messages go. Names: letters, digits, - _ . ; secrets stay in SSM SecureString parameters.
//! destinations:
//!   ops-webhook:                                   # incoming webhook: one fixed channel
//!     webhook_url_parameter: /fleetwatch/slack/ops-webhook
//!   deploys:                                       # bot token: any channel, threads and updates
//!     bot_token_parameter: /fleetwatch/slack/bot-token
//!     channel: "#deploys"
//!   payments: { bot_token_parameter: /fleetwatch/slack/bot-token, channel: C0123PAY }
//!
//! # Settings every route has unless it says otherwise (these are the built-in defaults).
//! defaults:
//!   send_resolved: true          # also deliver resolved alerts
//!   dedup_window: 5m             # same fingerprint + status to a destination within 5m: dropped
//!   mentions: {}                 # by severity, firing alerts only
//!
//! # Tried in order; the first match takes the alert and matching stops, unless `continue: true`.
//! routes:
//!   - name: prod-critical
//!     match:
//!       severity: ">=error"                   # error, ">=error", "<=warning" (quote the operators)
//!       labels: { env: prod }                 # label equals (a list means any of them)
//!       source: [cloudwatch, alertmanager]    # Source names, one or a list
//!     match_re: { service: "^(api|web)-.*" }  # whole-value regex on a label (or source/severity/status)
//!     not_match: { team: sandbox }            # label must not equal (one or a list)
//!     destinations: [ops-webhook]
//!     mentions: { critical: ["<!here>"], error: ["<!subteam^S0123ABC>"] }
//!     continue: true
//!     mute:
//!       - name: weekend-nights
//!         weekdays: [sat, sun]                # or ranges: mon-fri
//!         hours: "00:00-08:00"                # may cross midnight: "22:00-06:00"
//!         time_zone: Europe/Berlin            # IANA name, default UTC
//!
//!   - name: payments
//!     match: { labels: { team: payments }, status: firing }
//!     destinations: [payments, ops-webhook]   # ops-webhook once only if prod-critical took it
//!     dedup_window: 15m
//!
//!   - name: sandbox
//!     match: { labels: { env: sandbox } }
//!     drop: true                              # deliberately dropped (shown with the reason)
//!
//!   - name: deployments
//!     match: { source: ecs_events }
//!     destinations: [deploys]
//!     send_resolved: false
//!
//! # Takes every alert no route matched. Accepts destinations, send_resolved, dedup_window,
//! # mentions and mute.
//! default_route: { destinations: [ops-webhook] }
//! ```
//!
//! Rules worth knowing:
//!
//! - Unknown keys are errors (`contine: true` does not pass silently); so are duplicate keys
//!   in destinations, labels and mentions, duplicate route names, unknown destinations, routes
//!   without destinations (write `drop: true` to drop on purpose) and an empty route list.
//! - Matching: all conditions of a route must hold; see [`matcher`](mod@matcher) (missing labels
//!   read as `""`; regexes are anchored; `source`/`severity`/`status` in `match_re`/`not_match`).
//! - Mute windows: see [`mute`](mod@mute) (local wall-clock time with daylight saving; a window
//!   crossing midnight belongs to the day it starts).
//! - Routing order, drops and one delivery per destination: see [`route`](mod@route).
//! - Durations: `30s`, `5m`, `1h30m`, `1d`; `0s` turns duplicate suppression off.
//! - YAML: values starting with `>` or `<` (`">=error"`, `"<!here>"`) must be quoted.

mod config;
mod dedup;
mod locate;
mod matcher;
mod mute;
mod route;
mod yaml;

pub use config::{Config, ConfigError, DEFAULT_ROUTE_NAME, Destination, Route};
pub use dedup::{PreviousDelivery, dedup_key, should_send};
pub use jiff::Timestamp;
pub use matcher::{Matchers, Mismatch, SeverityMatcher};
pub use mute::MuteWindow;
pub use route::{Delivery, DropReason, Dropped, RouteStep, RoutingDecision, StepOutcome, route};
