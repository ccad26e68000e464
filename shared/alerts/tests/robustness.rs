//! Every fixture with every value, one at a time, replaced by something of another type:
//! normalising never panics, and whatever it produces renders within Slack's limits.

use fleetwatch_alerts::{RenderOptions, normalise, render, render_digest};
use serde_json::Value;

mod common;
use common::assert_within_slack_limits;

const FIXTURES: &[&str] = &[
    include_str!("fixtures/cloudwatch-sns-single-metric.json"),
    include_str!("fixtures/cloudwatch-sns-metric-math.json"),
    include_str!("fixtures/cloudwatch-sns-anomaly-null-description.json"),
    include_str!("fixtures/cloudwatch-eventbridge-state-change.json"),
    include_str!("fixtures/cloudwatch-lambda-action.json"),
    include_str!("fixtures/alertmanager-two-firing-one-resolved.json"),
    include_str!("fixtures/alertmanager-without-fingerprints.json"),
    include_str!("fixtures/health-issue.json"),
    include_str!("fixtures/health-scheduled-change.json"),
    include_str!("fixtures/sns-plain-text.json"),
    include_str!("fixtures/own-alert.json"),
    include_str!("fixtures/unknown.json"),
];

/// JSON pointers to every value in the document (the root excluded).
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let path = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                out.push(path.clone());
                pointers(child, path, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let path = format!("{at}/{i}");
                out.push(path.clone());
                pointers(child, path, out);
            }
        }
        _ => {}
    }
}

fn replacements() -> Vec<Value> {
    vec![
        Value::Null,
        Value::from(0),
        Value::from(-1.5),
        Value::from(""),
        Value::from("<!channel> & ünïcødé 🔥"),
        Value::from(true),
        Value::Array(Vec::new()),
        Value::Object(serde_json::Map::new()),
    ]
}

#[test]
fn any_single_value_of_the_wrong_type_never_panics_and_renders_within_limits() {
    let mut checked = 0;
    for fixture in FIXTURES {
        let original: Value = serde_json::from_str(fixture).unwrap();
        let mut paths = Vec::new();
        pointers(&original, String::new(), &mut paths);
        for path in &paths {
            for replacement in replacements() {
                let mut mutated = original.clone();
                *mutated.pointer_mut(path).unwrap() = replacement.clone();
                let payload = mutated.to_string();
                // An error is fine (an SQS body that is no longer JSON); a panic is not.
                if let Ok(normalised) = normalise(&payload) {
                    for alert in &normalised.alerts {
                        assert_within_slack_limits(&render(alert, &RenderOptions::default()));
                    }
                    assert_within_slack_limits(&render_digest(&normalised.alerts));
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 1_000, "only {checked} variants");
}

#[test]
fn real_world_noise_around_payloads_is_tolerated() {
    // Trailing whitespace, BOM-less CRLF files, unicode escapes.
    for fixture in FIXTURES {
        let crlf = fixture.replace('\n', "\r\n");
        assert!(normalise(&crlf).is_ok());
        assert!(normalise(&format!("  {fixture}\n\n")).is_ok());
    }
}
