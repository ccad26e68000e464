//! CloudWatch metrics as Embedded Metric Format log lines: a JSON line on stdout becomes metrics
//! without a `PutMetricData` call (no latency, no IAM permission, no cost per call).

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use crate::clock::{SharedClock, epoch_millis};

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

/// Where a handler's metric documents go: stdout in Lambda (CloudWatch Logs reads EMF from the
/// log stream), memory in tests. Stamps each set with the clock's time.
#[derive(Clone)]
pub struct MetricsSink {
    write_line: Arc<dyn Fn(&str) + Send + Sync>,
    clock: SharedClock,
}

/// The lines a [`MetricsSink::memory`] sink received.
#[derive(Clone, Debug, Default)]
pub struct MetricLines(Arc<Mutex<Vec<String>>>);

impl MetricLines {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Every document parsed back.
    pub fn documents(&self) -> Vec<Value> {
        self.lines()
            .iter()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// The sum of one metric over every document.
    pub fn total(&self, name: &str) -> f64 {
        self.documents()
            .iter()
            .filter_map(|document| document[name].as_f64())
            .sum()
    }
}

impl MetricsSink {
    pub fn new(clock: SharedClock, write_line: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self {
            write_line: Arc::new(write_line),
            clock,
        }
    }

    pub fn stdout(clock: SharedClock) -> Self {
        // One write per line: Lambda splits log events on newlines, a torn line is lost.
        Self::new(clock, |line| {
            let _ = writeln!(io::stdout().lock(), "{line}");
        })
    }

    /// A sink that keeps what it receives, and the handle to read it.
    pub fn memory(clock: SharedClock) -> (Self, MetricLines) {
        let lines = MetricLines::default();
        (Self::to(clock, &lines), lines)
    }

    /// A sink that adds what it receives to `lines`.
    pub fn to(clock: SharedClock, lines: &MetricLines) -> Self {
        let kept = lines.clone();
        Self::new(clock, move |line| {
            kept.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(line.to_string());
        })
    }

    /// A sink that drops everything.
    pub fn discard(clock: SharedClock) -> Self {
        Self::new(clock, |_| {})
    }

    pub fn emit(&self, set: &MetricSet) {
        for line in set.render(epoch_millis(self.clock.now())) {
            (self.write_line)(&line);
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
    fn a_sink_stamps_documents_with_its_clock() {
        let clock = std::sync::Arc::new(crate::ManualClock::at_epoch_seconds(1_700_000_000));
        let (sink, lines) = MetricsSink::memory(clock);
        sink.emit(&MetricSet::new("ns").count("a", 1));
        sink.emit(&MetricSet::new("ns"));
        let documents = lines.documents();
        assert_eq!(documents.len(), 1, "an empty set writes nothing");
        assert_eq!(documents[0]["_aws"]["Timestamp"], 1_700_000_000_000u64);
    }
}
