//! Rendering: a snapshot of the exact Slack payload for every fixture, Slack's limits under
//! stress, escaping.

use fleetwatch_alerts::{
    Alert, Field, Link, RenderOptions, Severity, SlackMessage, Source, Status, normalise, render,
    render_digest, render_digest_with,
};
use serde_json::Value;

mod common;
use common::assert_within_slack_limits;

const FIXTURES: &[(&str, &str)] = &[
    (
        "cloudwatch_sns_single_metric",
        include_str!("fixtures/cloudwatch-sns-single-metric.json"),
    ),
    (
        "cloudwatch_sns_metric_math",
        include_str!("fixtures/cloudwatch-sns-metric-math.json"),
    ),
    (
        "cloudwatch_sns_anomaly_null_description",
        include_str!("fixtures/cloudwatch-sns-anomaly-null-description.json"),
    ),
    (
        "cloudwatch_eventbridge_state_change",
        include_str!("fixtures/cloudwatch-eventbridge-state-change.json"),
    ),
    (
        "cloudwatch_lambda_action",
        include_str!("fixtures/cloudwatch-lambda-action.json"),
    ),
    (
        "alertmanager_two_firing_one_resolved",
        include_str!("fixtures/alertmanager-two-firing-one-resolved.json"),
    ),
    (
        "alertmanager_without_fingerprints",
        include_str!("fixtures/alertmanager-without-fingerprints.json"),
    ),
    ("health_issue", include_str!("fixtures/health-issue.json")),
    (
        "health_scheduled_change",
        include_str!("fixtures/health-scheduled-change.json"),
    ),
    (
        "sns_plain_text",
        include_str!("fixtures/sns-plain-text.json"),
    ),
    ("own_alert", include_str!("fixtures/own-alert.json")),
    ("unknown", include_str!("fixtures/unknown.json")),
];

fn on_call() -> RenderOptions {
    RenderOptions {
        mentions: vec!["<!here>".into(), "<!subteam^S0123ABC>".into()],
    }
}

fn alerts_of(payload: &str) -> Vec<Alert> {
    normalise(payload).expect("fixture normalises").alerts
}

/// The payload as Slack would receive it, plus which alert it is, for the snapshot.
fn rendered(alerts: &[Alert], options: &RenderOptions) -> Vec<SlackMessage> {
    alerts
        .iter()
        .map(|alert| {
            let message = render(alert, options);
            assert_within_slack_limits(&message);
            message
        })
        .collect()
}

#[test]
fn every_fixture_renders_to_its_snapshot() {
    for (name, payload) in FIXTURES {
        let messages = rendered(&alerts_of(payload), &on_call());
        insta::assert_json_snapshot!(*name, messages);
    }
}

#[test]
fn digest_of_every_fixture_renders_to_its_snapshot() {
    let alerts: Vec<Alert> = FIXTURES.iter().flat_map(|(_, p)| alerts_of(p)).collect();
    let digest = render_digest_with(&alerts, &on_call());
    assert_within_slack_limits(&digest);
    insta::assert_json_snapshot!("digest_of_all_fixtures", digest);
}

#[test]
fn mentions_only_when_firing() {
    let alerts = alerts_of(FIXTURES[5].1); // Alertmanager: 2 firing, 1 resolved.
    let texts: Vec<String> = alerts.iter().map(|a| render(a, &on_call()).text).collect();
    assert!(
        texts[0].starts_with("<!here> <!subteam^S0123ABC> [FIRING critical] KubePodCrashLooping")
    );
    assert!(texts[1].starts_with("<!here> <!subteam^S0123ABC> [FIRING warning]"));
    assert!(
        texts[2].starts_with("[RESOLVED critical] KubePodCrashLooping"),
        "{}",
        texts[2]
    );
}

#[test]
fn mentions_that_are_not_slack_tokens_are_escaped() {
    let alert = Alert::new(Source::Generic, "t");
    let options = RenderOptions {
        mentions: vec![
            "<@U123>".into(),
            "@oncall <b>".into(),
            "<<!channel>>".into(),
            " ".into(),
        ],
    };
    let text = render(&alert, &options).text;
    assert!(
        text.starts_with("<@U123> @oncall &lt;b&gt; &lt;&lt;!channel&gt;&gt; [FIRING"),
        "{text}"
    );
}

fn hostile_alert() -> Alert {
    let mut alert = Alert::new(
        Source::Other("custom_tool".into()),
        "<!channel> disk & <b>cpu</b>",
    );
    alert.summary = "a < b > c & <https://evil.example|click me> <@U999>".into();
    alert.fields.push(Field {
        name: "<name>".into(),
        value: "x & y".into(),
    });
    alert.labels.insert("k<".into(), "`v`&".into());
    alert.links.push(Link {
        title: "Bad <link>".into(),
        url: "javascript:alert(1)".into(),
    });
    alert.occurred_at = Some("yesterday <evening>".into());
    alert
}

#[test]
fn source_text_is_escaped_everywhere_in_mrkdwn() {
    let message = render(&hostile_alert(), &RenderOptions::default());
    // Everything but the header, which is plain text (checked below).
    let mut mrkdwn_only = message.clone();
    mrkdwn_only.attachments[0].blocks.remove(0);
    let json = serde_json::to_string(&mrkdwn_only).unwrap();
    for injected in [
        "<!channel>",
        "<https://evil",
        "<@U999>",
        "<b>",
        "<name>",
        "<evening>",
        "<link>",
    ] {
        assert!(!json.contains(injected), "{injected} got through: {json}");
    }
    assert!(
        message
            .text
            .contains("&lt;!channel&gt; disk &amp; &lt;b&gt;cpu&lt;/b&gt;")
    );
    assert!(
        json.contains("a &lt; b &gt; c &amp; &lt;https://evil.example|click me&gt; &lt;@U999&gt;")
    );
    assert!(json.contains("*&lt;name&gt;*\\nx &amp; y"));
    // A URL Slack would refuse as a button is shown as text, not as a button.
    assert!(!json.contains("\"button\""));
    assert!(json.contains("Bad &lt;link&gt;: javascript:alert(1)"));
    // The header is plain text: not escaped, and Slack does not parse it.
    let header = &message.attachments[0].blocks[0];
    let header = serde_json::to_value(header).unwrap();
    assert_eq!(
        header["text"]["text"],
        ":warning: [FIRING] <!channel> disk & <b>cpu</b>"
    );
}

/// Request paths and URLs from logs (an ALB alert's top paths, an ECS alert's log lines) are
/// shown as text: escaped, and in `verbatim` text objects, so Slack links none of them.
#[test]
fn urls_from_logs_are_never_links() {
    let mut alert = Alert::new(Source::AlbLogs, "web: 7.5% of requests failed with 5xx");
    alert.summary = "Most failures on https://shop.example.com/checkout".into();
    alert.fields.push(Field {
        name: "Top 5xx paths".into(),
        value: "/login?next=https://evil.example/phish (12), www.evil.example/a (3)".into(),
    });
    let message = render(&alert, &RenderOptions::default());
    let json = serde_json::to_value(&message).unwrap();
    common::assert_never_auto_linked(&json);
    let text = json.to_string();
    assert!(
        text.contains("/login?next=https://evil.example/phish (12), www.evil.example/a (3)"),
        "{text}"
    );
    // No link syntax of ours around them either.
    assert!(!text.contains("<https://evil") && !text.contains("<http://www.evil"));
    assert!(!text.contains("\"button\""), "{text}");
}

/// Buttons only for absolute http(s) URLs a browser opens as they read. Anything else is not
/// a button: shown as text in a context line (escaped, never linked), never dropped silently.
#[test]
fn buttons_only_for_http_and_https_urls() {
    let kept = [
        "https://runbooks.example.com/a?b=1&c=2#d",
        "http://grafana.internal:3000/d/abc",
    ];
    let refused = [
        "javascript:alert(1)",
        "JavaScript://%0aalert(1)",
        "slack://open?team=T1",
        "data:text/html,<script>alert(1)</script>",
        "/relative/path",
        "//evil.example/protocol-relative",
        "ftp://files.example.com/x",
        "mailto:ops@example.com",
        "https://",
        "https:///no-host",
        "https://user:pw@example.com/",
        "https://trusted.example.com@evil.example/",
        "https://example.com/a b",
        "https://example.com/<!channel>",
        "https://example.com/\u{7}bell",
    ];
    let mut alert = Alert::new(Source::Generic, "links");
    for (i, url) in kept.iter().chain(&refused).enumerate() {
        alert.links.push(Link {
            title: format!("L{i}"),
            url: url.to_string(),
        });
    }
    let message = render(&alert, &RenderOptions::default());
    assert_within_slack_limits(&message);
    let json = serde_json::to_value(&message).unwrap();
    let blocks = json["attachments"][0]["blocks"].as_array().unwrap();
    let buttons: Vec<&str> = blocks
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().unwrap())
        .map(|e| e["url"].as_str().unwrap())
        .collect();
    assert_eq!(buttons, kept);
    let context = blocks
        .iter()
        .filter(|b| b["type"] == "context")
        .flat_map(|b| b["elements"].as_array().unwrap())
        .map(|e| e["text"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    // A context line holds ten elements: nine links as text, then how many more there are.
    for (i, url) in refused.iter().enumerate().take(9) {
        let shown = format!("L{}: {}", i + kept.len(), url)
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert!(context.contains(&shown), "{shown} not in {context}");
    }
    assert!(context.ends_with("_6 more links not shown_"), "{context}");
}

#[test]
fn alertmanager_labels_are_escaped_and_kept_in_code_spans() {
    let mut alert = Alert::new(Source::Alertmanager, "x");
    alert.labels.insert("k<".into(), "`v`&".into());
    let json = serde_json::to_string(&render(&alert, &RenderOptions::default())).unwrap();
    assert!(json.contains("*Labels*\\n`k&lt;='v'&amp;`"), "{json}");
}

fn huge_alert() -> Alert {
    let mut alert = Alert::new(Source::Cloudwatch, "🔥".repeat(2_000) + &"é".repeat(2_000));
    alert.severity = Severity::Critical;
    // Multi-byte characters and escapable ones right at the cut points.
    alert.summary = "ü&<>".repeat(5_000);
    for i in 0..300 {
        alert.fields.push(Field {
            name: format!("Field {i} {}", "ñ".repeat(200)),
            value: if i % 2 == 0 {
                "日本".repeat(3_000)
            } else {
                format!("short {i}")
            },
        });
    }
    for i in 0..60 {
        alert.links.push(Link {
            title: format!("Link {i} {}", "→".repeat(100)),
            url: format!("https://example.com/{i}"),
        });
    }
    alert.links.push(Link {
        title: "too long".into(),
        url: format!("https://example.com/{}", "a".repeat(3_000)),
    });
    alert.labels.insert("k".into(), "v".repeat(10_000));
    alert.occurred_at = Some("2025-11-25T19:00:00Z".into());
    alert
}

#[test]
fn huge_alert_respects_every_limit() {
    let options = RenderOptions {
        mentions: vec!["<!here>".into()],
    };
    let message = render(&huge_alert(), &options);
    assert_within_slack_limits(&message);
    assert!(message.text.starts_with("<!here> [FIRING critical] 🔥🔥"));
    assert!(message.text.ends_with('…'));
    let json = serde_json::to_value(&message).unwrap();
    let blocks_json = json["attachments"][0]["blocks"].as_array().unwrap();
    // The cut is announced, and the links survive it.
    assert!(blocks_json.iter().any(|b| {
        b["type"] == "context"
            && b["elements"][0]["text"]
                .as_str()
                .unwrap()
                .contains("more blocks not shown")
    }));
    assert_eq!(blocks_json.last().unwrap()["type"], "actions");
    // The summary is shortened rather than dropped.
    assert_eq!(blocks_json[1]["type"], "section");
    assert!(
        blocks_json[1]["text"]["text"]
            .as_str()
            .unwrap()
            .ends_with('…')
    );
    let header = blocks_json[0]["text"]["text"].as_str().unwrap();
    assert_eq!(header.chars().count(), 150);
    assert!(header.ends_with('…'));
}

#[test]
fn many_small_fields_are_cut_by_count_many_large_ones_by_size() {
    let mut small = Alert::new(Source::Generic, "t");
    for i in 0..600 {
        small.push_field(format!("f{i}"), "v");
    }
    let message = render(&small, &RenderOptions::default());
    assert_within_slack_limits(&message);
    let fields_shown: usize = message.attachments[0]
        .blocks
        .iter()
        .map(|b| match b {
            fleetwatch_alerts::Block::Section { fields, .. } => fields.len(),
            _ => 0,
        })
        .sum();
    assert!(
        fields_shown >= 100,
        "only {fields_shown} small fields shown"
    );

    let mut large = Alert::new(Source::Generic, "t");
    for i in 0..40 {
        large.push_field(format!("f{i}"), "x".repeat(1_500));
    }
    let message = render(&large, &RenderOptions::default());
    assert_within_slack_limits(&message);
    assert!(message.attachments[0].blocks.len() < 12);
}

#[test]
fn long_silence_urls_cannot_push_the_message_over_the_size_limit() {
    let mut alert = Alert::new(Source::Alertmanager, "t");
    for i in 0..25 {
        alert.links.push(Link {
            title: format!("Silence {i}"),
            url: format!(
                "https://am.example.com/#/silences/new?filter={}",
                "%22".repeat(900)
            ),
        });
    }
    let message = render(&alert, &RenderOptions::default());
    assert_within_slack_limits(&message);
    let json = serde_json::to_value(&message).unwrap();
    let buttons = json["attachments"][0]["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "actions")
        .map(|b| b["elements"].as_array().unwrap().len())
        .sum::<usize>();
    assert!((1..25).contains(&buttons), "{buttons} buttons");
}

#[test]
fn truncated_mrkdwn_never_ends_in_half_an_entity() {
    let message = render(&huge_alert(), &RenderOptions::default());
    let json = serde_json::to_value(&message).unwrap();
    let mut texts = vec![json["text"].as_str().unwrap().to_string()];
    for block in json["attachments"][0]["blocks"].as_array().unwrap() {
        if let Some(t) = block.pointer("/text/text").and_then(Value::as_str) {
            texts.push(t.to_string());
        }
        for field in block["fields"].as_array().into_iter().flatten() {
            texts.push(field["text"].as_str().unwrap().to_string());
        }
    }
    for text in texts {
        let without_entities = text
            .replace("&amp;", "")
            .replace("&lt;", "")
            .replace("&gt;", "");
        assert!(
            !without_entities.contains('&'),
            "half an entity in …{}",
            &text[text.len().saturating_sub(20)..]
        );
    }
}

#[test]
fn fields_are_laid_out_ten_to_a_section_and_long_ones_full_width() {
    let mut alert = Alert::new(Source::Generic, "t");
    for i in 0..23 {
        alert.push_field(format!("f{i}"), format!("v{i}"));
    }
    alert.push_field("Long", "x".repeat(200));
    alert.push_field("Lines", "one\ntwo");
    let json = serde_json::to_value(render(&alert, &RenderOptions::default())).unwrap();
    let blocks = json["attachments"][0]["blocks"].as_array().unwrap();
    let field_counts: Vec<usize> = blocks
        .iter()
        .filter_map(|b| b["fields"].as_array().map(Vec::len))
        .collect();
    assert_eq!(field_counts, [10, 10, 3]);
    let sections: Vec<&str> = blocks
        .iter()
        .filter_map(|b| b.pointer("/text/text").and_then(Value::as_str))
        .collect();
    assert!(sections.iter().any(|t| t.starts_with("*Long*\nxxx")));
    assert!(sections.contains(&"*Lines*\none\ntwo"));
}

#[test]
fn empty_values_never_make_empty_text_objects() {
    let mut alert = Alert::new(Source::Generic, "   ");
    alert.summary = "  ".into();
    alert.fields.push(Field {
        name: "empty".into(),
        value: String::new(),
    });
    alert.links.push(Link {
        title: String::new(),
        url: "https://example.com".into(),
    });
    alert.occurred_at = Some(String::new());
    let message = render(&alert, &RenderOptions::default());
    assert_within_slack_limits(&message);
}

#[test]
fn colours_follow_status_then_severity() {
    let mut alert = Alert::new(Source::Generic, "t");
    let mut colours = Vec::new();
    for severity in [
        Severity::Critical,
        Severity::Error,
        Severity::Warning,
        Severity::Info,
    ] {
        alert.severity = severity;
        colours.push(
            render(&alert, &RenderOptions::default()).attachments[0]
                .color
                .clone(),
        );
    }
    alert.status = Status::Resolved;
    colours.push(
        render(&alert, &RenderOptions::default()).attachments[0]
            .color
            .clone(),
    );
    assert_eq!(
        colours,
        ["#A30200", "#E01E5A", "#ECB22E", "#36C5F0", "#2EB67D"]
    );
}

#[test]
fn digest_of_a_storm_stays_within_limits_and_counts_everything() {
    let mut alerts = Vec::new();
    for i in 0..500 {
        let mut alert = huge_alert();
        alert.title = format!("storm {i} {}", "<&>".repeat(100));
        alert.severity = [Severity::Info, Severity::Error, Severity::Critical][i % 3];
        alert.status = if i % 5 == 0 {
            Status::Resolved
        } else {
            Status::Firing
        };
        alert.source = Source::Other(format!("source{}", i % 13));
        alerts.push(alert);
    }
    let digest = render_digest(&alerts);
    assert_within_slack_limits(&digest);
    assert!(
        digest.text.starts_with("500 alerts: 400 firing ("),
        "{}",
        digest.text
    );
    let json = serde_json::to_string(&digest).unwrap();
    assert!(json.contains("more not listed"));
    assert!(
        !json.contains("more blocks not shown"),
        "the list itself is sized to fit"
    );
}

#[test]
fn digest_lists_firing_first_and_worst_first() {
    let mk = |title: &str, severity, status| {
        let mut a = Alert::new(Source::Generic, title);
        a.severity = severity;
        a.status = status;
        a
    };
    let alerts = [
        mk("resolved critical", Severity::Critical, Status::Resolved),
        mk("warning", Severity::Warning, Status::Firing),
        mk("critical", Severity::Critical, Status::Firing),
        mk("info", Severity::Info, Status::Firing),
    ];
    let digest = render_digest(&alerts);
    assert_eq!(
        digest.text,
        "4 alerts: 3 firing (1 critical, 1 warning, 1 info), 1 resolved"
    );
    let json = serde_json::to_string(&digest).unwrap();
    let order: Vec<usize> = ["*critical*", "*warning*", "*info*", "*resolved critical*"]
        .iter()
        .map(|t| json.find(t).unwrap())
        .collect();
    assert!(order.is_sorted(), "{json}");
    assert_eq!(digest.attachments[0].color, "#A30200");
}

#[test]
fn digest_of_nothing_or_only_resolved() {
    let empty = render_digest(&[]);
    assert_within_slack_limits(&empty);
    assert_eq!(empty.text, "No alerts");

    let mut resolved = Alert::new(Source::Generic, "done");
    resolved.status = Status::Resolved;
    let digest = render_digest_with(&[resolved], &on_call());
    assert!(
        !digest.text.contains("<!here>"),
        "no mentions for good news"
    );
    assert_eq!(digest.attachments[0].color, "#2EB67D");
}
