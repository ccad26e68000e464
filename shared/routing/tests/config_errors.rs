//! Every configuration mistake names its line and column and says what is wrong.

use fleetwatch_routing::{Config, ConfigError};

/// A valid configuration; each case below breaks it in one place. Line numbers on the right.
const BASE: &str = "\
destinations:
  ops-webhook: { webhook_url_parameter: /fleetwatch/slack/ops-webhook }
  deploys: { bot_token_parameter: /fleetwatch/slack/bot-token, channel: \"#deploys\" }
routes:
  - name: prod-critical
    match: { severity: \">=error\", labels: { env: prod } }
    match_re: { service: \"^(api|web)-.*\" }
    destinations: [ops-webhook]
    continue: true
    mute: [{ weekdays: [sat, sun], hours: \"00:00-08:00\", time_zone: Europe/Berlin }]
  - name: deployments
    match: { source: ecs_events }
    destinations: [deploys]
default_route: { destinations: [ops-webhook] }
";

fn broken(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "test setup: {from:?} is not in BASE");
    BASE.replacen(from, to, 1)
}

fn error_of(yaml: &str) -> ConfigError {
    match Config::from_yaml(yaml) {
        Ok(_) => panic!("accepted:\n{yaml}"),
        Err(error) => error,
    }
}

#[test]
fn the_base_configuration_is_valid() {
    let config = Config::from_yaml(BASE).unwrap();
    assert_eq!(config.routes().len(), 2);
}

#[test]
fn mistakes_name_their_line_column_and_what_is_wrong() {
    // (what, yaml, line, column, message)
    let cases: Vec<(&str, String, usize, usize, &str)> = vec![
        (
            "typo in a key",
            broken("continue: true", "contine: true"),
            9,
            5,
            "routes[0]: unknown field `contine`, expected one of `name`, `match`, `match_re`, `not_match`, `destinations`, `drop`, `continue`, `send_resolved`, `dedup_window`, `mentions`, `mute`",
        ),
        (
            "unknown destination in a route",
            broken("destinations: [deploys]", "destinations: [deploy]"),
            13,
            20,
            "routes[1].destinations[0]: unknown destination `deploy` (did you mean `deploys`? defined: ops-webhook, deploys)",
        ),
        (
            "unknown destination in the default route",
            broken("default_route: { destinations: [ops-webhook] }", "default_route: { destinations: [ops] }"),
            14,
            33,
            "default_route.destinations[0]: unknown destination `ops` (defined: ops-webhook, deploys)",
        ),
        (
            "invalid regex",
            broken("^(api|web)-.*", "^(api|web-.*"),
            7,
            26,
            "routes[0].match_re.service: invalid regex `^(api|web-.*`: unclosed group",
        ),
        (
            "invalid time zone",
            broken("Europe/Berlin", "Europe/Berln"),
            10,
            69,
            "routes[0].mute[0].time_zone: unknown time zone `Europe/Berln`: expected an IANA name such as Europe/Berlin or UTC",
        ),
        (
            "invalid weekday",
            broken("[sat, sun]", "[sat, sunday, funday]"),
            10,
            38,
            "routes[0].mute[0].weekdays[2]: unknown weekday `funday`: expected mon, tue, wed, thu, fri, sat, sun (or full names, or a range such as mon-fri)",
        ),
        (
            "invalid hour range",
            broken("00:00-08:00", "00:00-25:00"),
            10,
            43,
            "routes[0].mute[0].hours: invalid hours `00:00-25:00`: `25:00` is not a time of day (00:00 to 23:59, and 24:00 as an end)",
        ),
        (
            "empty hour range",
            broken("00:00-08:00", "08:00-08:00"),
            10,
            43,
            "routes[0].mute[0].hours: invalid hours `08:00-08:00`: the range is empty or the whole day; omit `hours` to mute all day",
        ),
        (
            "mute window without days or hours",
            broken("{ weekdays: [sat, sun], hours: \"00:00-08:00\", time_zone: Europe/Berlin }", "{ time_zone: UTC }"),
            10,
            12,
            "routes[0].mute[0]: a mute window needs `weekdays`, `hours` or both (a window without either would mute the route forever)",
        ),
        (
            "duplicate destination name",
            broken("  deploys: {", "  ops-webhook: {"),
            3,
            3,
            "destinations: duplicate key `ops-webhook`: each name may appear only once here",
        ),
        (
            "duplicate route name",
            broken("name: deployments", "name: prod-critical"),
            11,
            11,
            "routes[1].name: duplicate route name `prod-critical` (also routes[0]): names identify routes in explanations and drop reasons",
        ),
        (
            "route without destinations",
            broken("    destinations: [deploys]\n", ""),
            11,
            5,
            "routes[1]: route `deployments` has no `destinations` (to drop its alerts on purpose, write `drop: true`)",
        ),
        (
            "route with an empty destination list",
            broken("destinations: [deploys]", "destinations: []"),
            13,
            19,
            "routes[1].destinations: route `deployments` has an empty `destinations` list (to drop its alerts on purpose, write `drop: true`)",
        ),
        (
            "empty route list",
            "destinations:\n  a: { webhook_url_parameter: /x }\nroutes: []\ndefault_route: { destinations: [a] }\n".to_owned(),
            3,
            9,
            "routes: no routes: list at least one route (alerts no route matches go to default_route)",
        ),
        (
            "unknown severity",
            broken(">=error", ">=high"),
            6,
            24,
            "routes[0].match.severity: unknown severity `high`: expected info, warning, error or critical",
        ),
        (
            "unquoted comparison",
            broken("\">=error\"", ">=error"),
            6,
            24,
            "found character that cannot start any token, while scanning for the next token (`>`: quote values that start with it, e.g. \">=error\", \"<!here>\")",
        ),
        (
            "bad indentation",
            broken("  - name: deployments", " - name: deployments"),
            11,
            2,
            "did not find expected key, while parsing a block mapping",
        ),
        (
            "tab indentation",
            broken("    continue: true", "\tcontinue: true"),
            9,
            1,
            "found character that cannot start any token, while scanning for the next token (a tab: indent YAML with spaces)",
        ),
        (
            "YAML 1.1 boolean",
            broken("continue: true", "continue: yes"),
            9,
            15,
            "routes[0].continue: invalid type: string \"yes\", expected a boolean",
        ),
        (
            "bot destination without a channel",
            broken(", channel: \"#deploys\"", ""),
            3,
            12,
            "destinations.deploys: a bot destination needs `channel` (a name such as \"#deploys\" or an ID such as C0123ABC)",
        ),
        (
            "webhook destination with a channel",
            broken("{ webhook_url_parameter: /fleetwatch/slack/ops-webhook }", "{ webhook_url_parameter: /x, channel: \"#x\" }"),
            2,
            54,
            "destinations.ops-webhook.channel: a webhook posts to the channel it was installed for: remove `channel`, or use `bot_token_parameter`",
        ),
        (
            "duplicate label matcher",
            broken("env: prod", "env: prod, env: staging"),
            6,
            56,
            "routes[0].match.labels: duplicate key `env`: each name may appear only once here",
        ),
        (
            "label name where match wants a field",
            broken("labels: { env: prod }", "env: prod"),
            6,
            35,
            "routes[0].match: unknown field `env`, expected one of `source`, `severity`, `status`, `labels`",
        ),
        (
            "misspelt source",
            broken("source: ecs_events", "source: [cloudwatch, ecs-events]"),
            12,
            35,
            "routes[1].match.source[1]: unknown source `ecs-events`: did you mean `ecs_events`? (custom source names must differ from the built-in ones by more than two letters)",
        ),
        (
            "mention that notifies nobody",
            broken("    continue: true\n", "    continue: true\n    mentions: { critical: [\"@here\"] }\n"),
            10,
            28,
            "routes[0].mentions.critical[0]: `@here` is not a Slack mention: write <!here>, <!channel>, <@U0123ABC> or <!subteam^S0123ABC> (a plain @name notifies nobody)",
        ),
        (
            "mentions under an unknown severity",
            broken("    continue: true\n", "    continue: true\n    mentions: { crit: [\"<!here>\"] }\n"),
            10,
            17,
            "routes[0].mentions: unknown severity `crit`: expected info, warning, error or critical",
        ),
        (
            "duration without a unit",
            broken("    continue: true\n", "    continue: true\n    dedup_window: 300\n"),
            10,
            19,
            "routes[0].dedup_window: invalid duration `300`: missing unit after the last number; write e.g. 30s, 5m, 1h30m",
        ),
        (
            "drop with destinations",
            broken("    destinations: [deploys]\n", "    destinations: [deploys]\n    drop: true\n"),
            13,
            19,
            "routes[1].destinations: route `deployments` has `drop: true` and `destinations`: a dropping route delivers nowhere, remove one of them",
        ),
        (
            "destination listed twice",
            broken("destinations: [deploys]", "destinations: [deploys, ops-webhook, deploys]"),
            13,
            42,
            "routes[1].destinations[2]: destination `deploys` is listed twice",
        ),
        (
            "missing default route",
            broken("default_route: { destinations: [ops-webhook] }\n", ""),
            1,
            1,
            "missing field `default_route`",
        ),
    ];
    let mut failures = Vec::new();
    for (what, yaml, line, column, message) in &cases {
        let error = error_of(yaml);
        let expected = ConfigError::At {
            line: *line,
            column: *column,
            message: (*message).to_owned(),
        };
        if error != expected {
            failures.push(format!(
                "{what}:\n  got      {error}\n  expected {expected}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn display_leads_with_the_position() {
    let error = error_of(&broken("Europe/Berlin", "Mars/Olympus"));
    assert_eq!(error.line(), Some(10));
    assert_eq!(
        error.to_string(),
        "routing configuration, line 10 column 69: routes[0].mute[0].time_zone: unknown time zone `Mars/Olympus`: expected an IANA name such as Europe/Berlin or UTC"
    );
}

#[test]
fn an_empty_text_has_no_position() {
    let error = error_of("  \n");
    assert_eq!(
        error,
        ConfigError::Unplaced {
            message: "the configuration is empty".to_owned()
        }
    );
    assert_eq!(error.line(), None);
}

#[test]
fn block_style_positions_point_at_the_item() {
    let yaml = "\
destinations:
  ops:
    webhook_url_parameter: /x
routes:
  - name: one
    match:
      labels:
        env:
          - prod
          - staging
    destinations:
      - ops
      - opz
default_route:
  destinations:
    - ops
";
    let error = error_of(yaml);
    assert_eq!(error.line(), Some(13));
    assert_eq!(
        error.message(),
        "routes[0].destinations[1]: unknown destination `opz` (did you mean `ops`? defined: ops)"
    );
}
