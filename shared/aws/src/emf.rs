//! CloudWatch metrics as Embedded Metric Format log lines: a JSON line on stdout becomes metrics
//! without a `PutMetricData` call (no latency, no IAM permission, no cost per call).

use std::io::{self, Write};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// CloudWatch accepts at most 100 metrics in one EMF document.
const MAX_METRICS_PER_DOCUMENT: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    Bytes,
    Seconds,
    Milliseconds,
    Percent,
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Bytes => "Bytes",
            Unit::Seconds => "Seconds",
            Unit::Milliseconds => "Milliseconds",
            Unit::Percent => "Percent",
            Unit::None => "None",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Metric {
    name: String,
    value: f64,
    unit: Unit,
}

/// Metrics sharing a namespace and one set of dimensions, plus searchable properties.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSet {
    namespace: String,
    dimensions: Vec<(String, String)>,
    metrics: Vec<Metric>,
    properties: Map<String, Value>,
}

impl MetricSet {
    pub fn new(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            dimensions: Vec::new(),
            metrics: Vec::new(),
            properties: Map::new(),
        }
    }

    pub fn dimension(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.dimensions.push((name.into(), value.into()));
        self
    }

    pub fn metric(mut self, name: impl Into<String>, value: f64, unit: Unit) -> Self {
        self.metrics.push(Metric {
            name: name.into(),
            value,
            unit,
        });
        self
    }

    pub fn count(self, name: impl Into<String>, value: u64) -> Self {
        self.metric(name, value as f64, Unit::Count)
    }

    /// A value logged with the metrics but not a metric (searchable in Logs Insights).
    pub fn property(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }

    /// The EMF documents for this set at `timestamp_ms` (epoch milliseconds), one JSON line each;
    /// more than one only past CloudWatch's 100-metrics-per-document limit.
    pub fn render(&self, timestamp_ms: u64) -> Vec<String> {
        if self.metrics.is_empty() {
            return Vec::new();
        }
        let dimension_names: Vec<&str> = self.dimensions.iter().map(|(k, _)| k.as_str()).collect();
        self.metrics
            .chunks(MAX_METRICS_PER_DOCUMENT)
            .map(|chunk| {
                let mut document = self.properties.clone();
                for (name, value) in &self.dimensions {
                    document.insert(name.clone(), Value::String(value.clone()));
                }
                let definitions: Vec<Value> = chunk
                    .iter()
                    .map(|m| json!({"Name": m.name, "Unit": m.unit.as_str()}))
                    .collect();
                for metric in chunk {
                    document.insert(metric.name.clone(), json!(metric.value));
                }
                document.insert(
                    "_aws".into(),
                    json!({
                        "Timestamp": timestamp_ms,
                        "CloudWatchMetrics": [{
                            "Namespace": self.namespace,
                            "Dimensions": [dimension_names],
                            "Metrics": definitions,
                        }],
                    }),
                );
                Value::Object(document).to_string()
            })
            .collect()
    }
}

/// Writes EMF documents as lines (to stdout in Lambda, where CloudWatch Logs picks them up).
pub struct EmfWriter<W: Write> {
    out: W,
}

impl EmfWriter<io::Stdout> {
    pub fn stdout() -> Self {
        Self { out: io::stdout() }
    }
}

impl<W: Write> EmfWriter<W> {
    pub fn new(out: W) -> Self {
        Self { out }
    }

    pub fn emit(&mut self, set: &MetricSet, timestamp_ms: u64) -> io::Result<()> {
        for line in set.render(timestamp_ms) {
            // One write per line: Lambda splits log events on newlines, a torn line is lost.
            self.out.write_all(format!("{line}\n").as_bytes())?;
        }
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Where a handler's metric documents go: stdout in Lambda (CloudWatch Logs reads EMF from the
/// log stream), a buffer in tests. Stamps each set with the current time.
#[derive(Clone)]
pub struct MetricsSink(Arc<dyn Fn(&str) + Send + Sync>);

impl MetricsSink {
    pub fn new(write_line: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self(Arc::new(write_line))
    }

    pub fn stdout() -> Self {
        Self::new(|line| {
            let _ = writeln!(io::stdout().lock(), "{line}");
        })
    }

    pub fn emit(&self, set: &MetricSet) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        for line in set.render(now) {
            (self.0)(&line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_documented_emf_structure() {
        let set = MetricSet::new("fleetwatch")
            .dimension("Function", "alb-logs")
            .count("LinesParsed", 120)
            .metric("Latency", 12.5, Unit::Milliseconds)
            .property("object", "s3://b/k");
        let lines = set.render(1_700_000_000_000);
        assert_eq!(lines.len(), 1);
        let doc: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(
            doc,
            json!({
                "_aws": {
                    "Timestamp": 1_700_000_000_000u64,
                    "CloudWatchMetrics": [{
                        "Namespace": "fleetwatch",
                        "Dimensions": [["Function"]],
                        "Metrics": [
                            {"Name": "LinesParsed", "Unit": "Count"},
                            {"Name": "Latency", "Unit": "Milliseconds"}
                        ]
                    }]
                },
                "Function": "alb-logs",
                "LinesParsed": 120.0,
                "Latency": 12.5,
                "object": "s3://b/k"
            })
        );
    }

    #[test]
    fn splits_past_one_hundred_metrics_and_skips_empty_sets() {
        let mut set = MetricSet::new("ns");
        for i in 0..250 {
            set = set.count(format!("m{i}"), i);
        }
        let lines = set.render(0);
        assert_eq!(lines.len(), 3);
        let last: Value = serde_json::from_str(&lines[2]).unwrap();
        assert_eq!(
            last["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
                .len(),
            50
        );
        assert!(MetricSet::new("ns").render(0).is_empty());
    }

    #[test]
    fn writer_emits_one_line_per_document() {
        let mut writer = EmfWriter::new(Vec::new());
        writer.emit(&MetricSet::new("ns").count("a", 1), 5).unwrap();
        let out = String::from_utf8(writer.into_inner()).unwrap();
        assert_eq!(out.lines().count(), 1);
        assert!(out.ends_with('\n'));
    }
}
