//! Statistics folded from the records of one or more log files, in memory that does not grow with
//! the input: latencies go into a log-scale histogram (1% relative precision), top-N lists are
//! kept with the space-saving algorithm (bounded counters, exact for heavy hitters).

use std::collections::{BTreeMap, HashMap};

use fleetwatch_alb::{AccessRecord, ClassicRecord, ParseError, Record};
use serde::Serialize;

/// Counters kept per top-N list; the true top entries are exact as long as they are frequent.
const TOP_CAPACITY: usize = 256;
/// Target groups are few per load balancer; more than this are folded into one row.
const MAX_TARGET_GROUPS: usize = 200;
const OTHER_TARGET_GROUPS: &str = "(other target groups)";

#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub lines: u64,
    pub parsed: u64,
    pub failed: u64,
    pub blank: u64,
    /// Access and Classic records: one request each.
    pub requests: u64,
    pub received_bytes: u64,
    pub sent_bytes: u64,
    /// Load balancer status classes 1xx..5xx; index 0 counts requests without a status (`-`).
    pub status_classes: [u64; 6],
    /// 5xx answered by the load balancer itself (no target status): 502, 503, 504, 460, ...
    pub elb_5xx: u64,
    /// 5xx answered by a target.
    pub target_5xx: u64,
    pub target_latency: LatencyHistogram,
    pub target_groups: HashMap<String, TargetGroupStats>,
    pub classifications: BTreeMap<String, u64>,
    pub error_reasons: BTreeMap<String, u64>,
    pub top_paths: TopCounter,
    pub top_5xx_paths: TopCounter,
    pub top_clients: TopCounter,
    pub first_time: Option<String>,
    pub last_time: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct TargetGroupStats {
    pub requests: u64,
    pub target_5xx: u64,
    pub elb_5xx: u64,
    pub latency: LatencyHistogram,
}

impl Stats {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn blank_line(&mut self) {
        self.lines += 1;
        self.blank += 1;
    }

    pub fn failed_line(&mut self, reason: &ParseError) {
        self.lines += 1;
        self.failed += 1;
        *self.error_reasons.entry(reason_kind(reason)).or_default() += 1;
    }

    /// A line cut at the maximum line length.
    pub fn oversized_line(&mut self) {
        self.lines += 1;
        self.failed += 1;
        *self
            .error_reasons
            .entry("line too long".into())
            .or_default() += 1;
    }

    pub fn record(&mut self, record: &Record<'_>) {
        self.lines += 1;
        self.parsed += 1;
        if let Some(time) = record.time() {
            let time = time.as_str();
            if self.first_time.as_deref().is_none_or(|t| time < t) {
                self.first_time = Some(time.to_string());
            }
            if self.last_time.as_deref().is_none_or(|t| time > t) {
                self.last_time = Some(time.to_string());
            }
        }
        match record {
            Record::Access(access) => self.access(access),
            Record::Classic(classic) => self.classic(classic),
            Record::Connection(_)
            | Record::Nlb(_)
            | Record::HealthCheck(_)
            | Record::TestFile(_) => {}
        }
    }

    fn access(&mut self, r: &AccessRecord<'_>) {
        let latency = r.target_processing_time.get();
        let path = r
            .request
            .url_parts()
            .and_then(|u| u.path)
            .map(|p| p.to_str_lossy().into_owned());
        let group = r
            .target_group_arn
            .map(|arn| target_group_name(&arn.to_str_lossy()).to_string());
        self.request(
            r.elb_status_code,
            r.target_status_code,
            latency,
            r.received_bytes,
            r.sent_bytes,
            path.as_deref(),
            r.client.ip,
        );
        if let Some(group) = group {
            let known = self.target_groups.len() < MAX_TARGET_GROUPS;
            let key = if known || self.target_groups.contains_key(&group) {
                group
            } else {
                OTHER_TARGET_GROUPS.to_string()
            };
            let tg = self.target_groups.entry(key).or_default();
            tg.requests += 1;
            match classify_5xx(r.elb_status_code, r.target_status_code) {
                Some(Origin::Target) => tg.target_5xx += 1,
                Some(Origin::LoadBalancer) => tg.elb_5xx += 1,
                None => {}
            }
            if let Some(seconds) = latency {
                tg.latency.add(seconds);
            }
        }
        if let Some(classification) = r.classification {
            let mut name = classification.to_str_lossy().into_owned();
            if let Some(reason) = r.classification_reason {
                name = format!("{name}: {}", reason.to_str_lossy());
            }
            *self.classifications.entry(name).or_default() += 1;
        }
    }

    fn classic(&mut self, r: &ClassicRecord<'_>) {
        let path = r
            .request
            .url_parts()
            .and_then(|u| u.path)
            .map(|p| p.to_str_lossy().into_owned());
        self.request(
            r.elb_status_code,
            r.backend_status_code,
            r.backend_processing_time.get(),
            r.received_bytes,
            r.sent_bytes,
            path.as_deref(),
            r.client.ip,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn request(
        &mut self,
        elb_status: Option<u16>,
        target_status: Option<u16>,
        latency: Option<f64>,
        received: Option<u64>,
        sent: Option<u64>,
        path: Option<&str>,
        client: &str,
    ) {
        self.requests += 1;
        self.received_bytes += received.unwrap_or(0);
        self.sent_bytes += sent.unwrap_or(0);
        let class = elb_status.map_or(0, |s| usize::from(s / 100).min(5));
        self.status_classes[class] += 1;
        match classify_5xx(elb_status, target_status) {
            Some(Origin::Target) => self.target_5xx += 1,
            Some(Origin::LoadBalancer) => self.elb_5xx += 1,
            None => {}
        }
        if let Some(seconds) = latency {
            self.target_latency.add(seconds);
        }
        if let Some(path) = path {
            self.top_paths.add(path);
            if class == 5 {
                self.top_5xx_paths.add(path);
            }
        }
        self.top_clients.add(client);
    }

    /// Adds another file's statistics (the CLI reports several files as one).
    pub fn merge(&mut self, other: &Stats) {
        self.lines += other.lines;
        self.parsed += other.parsed;
        self.failed += other.failed;
        self.blank += other.blank;
        self.requests += other.requests;
        self.received_bytes += other.received_bytes;
        self.sent_bytes += other.sent_bytes;
        for (mine, theirs) in self.status_classes.iter_mut().zip(other.status_classes) {
            *mine += theirs;
        }
        self.elb_5xx += other.elb_5xx;
        self.target_5xx += other.target_5xx;
        self.target_latency.merge(&other.target_latency);
        for (name, theirs) in &other.target_groups {
            let mine = self.target_groups.entry(name.clone()).or_default();
            mine.requests += theirs.requests;
            mine.target_5xx += theirs.target_5xx;
            mine.elb_5xx += theirs.elb_5xx;
            mine.latency.merge(&theirs.latency);
        }
        for (k, v) in &other.classifications {
            *self.classifications.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.error_reasons {
            *self.error_reasons.entry(k.clone()).or_default() += v;
        }
        self.top_paths.merge(&other.top_paths);
        self.top_5xx_paths.merge(&other.top_5xx_paths);
        self.top_clients.merge(&other.top_clients);
        for time in other.first_time.iter() {
            if self.first_time.as_deref().is_none_or(|t| time.as_str() < t) {
                self.first_time = Some(time.clone());
            }
        }
        for time in other.last_time.iter() {
            if self.last_time.as_deref().is_none_or(|t| time.as_str() > t) {
                self.last_time = Some(time.clone());
            }
        }
    }

    /// Share of requests answered 5xx, by target or load balancer.
    pub fn five_xx_ratio(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.status_classes[5] as f64 / self.requests as f64
        }
    }

    pub fn report(&self, top: usize) -> StatsReport {
        let mut target_groups: Vec<TargetGroupReport> = self
            .target_groups
            .iter()
            .map(|(name, tg)| TargetGroupReport {
                name: name.clone(),
                requests: tg.requests,
                target_5xx: tg.target_5xx,
                elb_5xx: tg.elb_5xx,
                latency: tg.latency.summary(),
            })
            .collect();
        target_groups.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.name.cmp(&b.name)));
        StatsReport {
            lines: self.lines,
            parsed: self.parsed,
            failed: self.failed,
            blank: self.blank,
            requests: self.requests,
            received_bytes: self.received_bytes,
            sent_bytes: self.sent_bytes,
            status_classes: StatusClasses {
                none: self.status_classes[0],
                s1xx: self.status_classes[1],
                s2xx: self.status_classes[2],
                s3xx: self.status_classes[3],
                s4xx: self.status_classes[4],
                s5xx: self.status_classes[5],
            },
            elb_5xx: self.elb_5xx,
            target_5xx: self.target_5xx,
            five_xx_ratio: self.five_xx_ratio(),
            target_latency: self.target_latency.summary(),
            target_groups,
            top_paths: self.top_paths.top(top),
            top_5xx_paths: self.top_5xx_paths.top(top),
            top_clients: self.top_clients.top(top),
            classifications: self.classifications.clone(),
            error_reasons: self.error_reasons.clone(),
            first_time: self.first_time.clone(),
            last_time: self.last_time.clone(),
        }
    }
}

enum Origin {
    Target,
    LoadBalancer,
}

/// A 5xx is the target's when the target answered it, the load balancer's otherwise.
fn classify_5xx(elb_status: Option<u16>, target_status: Option<u16>) -> Option<Origin> {
    match (elb_status, target_status) {
        (_, Some(t)) if (500..600).contains(&t) => Some(Origin::Target),
        (Some(e), None) if (500..600).contains(&e) => Some(Origin::LoadBalancer),
        _ => None,
    }
}

/// `arn:aws:elasticloadbalancing:r:a:targetgroup/<name>/<id>` -> `<name>`.
pub fn target_group_name(arn: &str) -> &str {
    arn.split_once("targetgroup/")
        .and_then(|(_, rest)| rest.split('/').next())
        .filter(|name| !name.is_empty())
        .unwrap_or(arn)
}

/// The reason without the details that would make every line its own bucket.
fn reason_kind(reason: &ParseError) -> String {
    match reason {
        ParseError::TooFewFields { .. } => "too few fields".into(),
        ParseError::UnterminatedQuote { .. } => "unterminated quote".into(),
        other => other.to_string(),
    }
}

/// Log-scale histogram of durations: bucket `i` holds values in `[1.01^i, 1.01^(i+1))`
/// microseconds, so any percentile is within 1% of the exact one.
#[derive(Debug, Clone)]
pub struct LatencyHistogram {
    buckets: Vec<u64>,
    count: u64,
    sum_seconds: f64,
    max_seconds: f64,
}

const GROWTH: f64 = 1.01;

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self {
            buckets: Vec::new(),
            count: 0,
            sum_seconds: 0.0,
            max_seconds: 0.0,
        }
    }
}

impl LatencyHistogram {
    pub fn add(&mut self, seconds: f64) {
        if !seconds.is_finite() || seconds < 0.0 {
            return;
        }
        let micros = (seconds * 1e6).max(1.0);
        let index = (micros.ln() / GROWTH.ln()) as usize;
        if index >= self.buckets.len() {
            self.buckets.resize(index + 1, 0);
        }
        self.buckets[index] += 1;
        self.count += 1;
        self.sum_seconds += seconds;
        self.max_seconds = self.max_seconds.max(seconds);
    }

    pub fn merge(&mut self, other: &LatencyHistogram) {
        if other.buckets.len() > self.buckets.len() {
            self.buckets.resize(other.buckets.len(), 0);
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine += theirs;
        }
        self.count += other.count;
        self.sum_seconds += other.sum_seconds;
        self.max_seconds = self.max_seconds.max(other.max_seconds);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The `q` quantile (0..=1) in seconds; `None` without values.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                // The bucket's geometric middle, capped by the largest value seen.
                let micros = GROWTH.powf(index as f64 + 0.5);
                return Some((micros / 1e6).min(self.max_seconds));
            }
        }
        Some(self.max_seconds)
    }

    pub fn summary(&self) -> LatencySummary {
        LatencySummary {
            count: self.count,
            mean: (self.count > 0).then(|| self.sum_seconds / self.count as f64),
            p50: self.quantile(0.50),
            p90: self.quantile(0.90),
            p99: self.quantile(0.99),
            max: (self.count > 0).then_some(self.max_seconds),
        }
    }
}

/// Space-saving top-N counter: at most [`TOP_CAPACITY`] entries; when full, a new key replaces the
/// smallest counter and inherits its count (an overestimate bounded by that count).
#[derive(Debug, Clone, Default)]
pub struct TopCounter {
    counts: HashMap<String, u64>,
}

impl TopCounter {
    pub fn add(&mut self, key: &str) {
        if let Some(count) = self.counts.get_mut(key) {
            *count += 1;
            return;
        }
        if self.counts.len() < TOP_CAPACITY {
            self.counts.insert(key.to_string(), 1);
            return;
        }
        let (smallest, floor) = self
            .counts
            .iter()
            .min_by_key(|(_, n)| **n)
            .map(|(k, n)| (k.clone(), *n))
            .expect("full means non-empty");
        self.counts.remove(&smallest);
        self.counts.insert(key.to_string(), floor + 1);
    }

    pub fn merge(&mut self, other: &TopCounter) {
        for (key, n) in &other.counts {
            *self.counts.entry(key.clone()).or_default() += n;
        }
        if self.counts.len() > TOP_CAPACITY {
            let keep: HashMap<String, u64> = self
                .top(TOP_CAPACITY)
                .into_iter()
                .map(|c| (c.key, c.count))
                .collect();
            self.counts = keep;
        }
    }

    pub fn top(&self, n: usize) -> Vec<Count> {
        let mut entries: Vec<Count> = self
            .counts
            .iter()
            .map(|(key, &count)| Count {
                key: key.clone(),
                count,
            })
            .collect();
        entries.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        entries.truncate(n);
        entries
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Count {
    pub key: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub mean: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusClasses {
    /// No status logged (`-`).
    pub none: u64,
    #[serde(rename = "1xx")]
    pub s1xx: u64,
    #[serde(rename = "2xx")]
    pub s2xx: u64,
    #[serde(rename = "3xx")]
    pub s3xx: u64,
    #[serde(rename = "4xx")]
    pub s4xx: u64,
    #[serde(rename = "5xx")]
    pub s5xx: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetGroupReport {
    pub name: String,
    pub requests: u64,
    pub target_5xx: u64,
    pub elb_5xx: u64,
    pub latency: LatencySummary,
}

/// What `fleetwatch alb stats --json` prints and what the metrics and alerts are made from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsReport {
    pub lines: u64,
    pub parsed: u64,
    pub failed: u64,
    pub blank: u64,
    pub requests: u64,
    pub received_bytes: u64,
    pub sent_bytes: u64,
    pub status_classes: StatusClasses,
    pub elb_5xx: u64,
    pub target_5xx: u64,
    pub five_xx_ratio: f64,
    pub target_latency: LatencySummary,
    pub target_groups: Vec<TargetGroupReport>,
    pub top_paths: Vec<Count>,
    pub top_5xx_paths: Vec<Count>,
    pub top_clients: Vec<Count>,
    pub classifications: BTreeMap<String, u64>,
    pub error_reasons: BTreeMap<String, u64>,
    pub first_time: Option<String>,
    pub last_time: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetwatch_alb::{LogKind, parse_line};

    fn access_line(
        status: &str,
        target_status: &str,
        latency: &str,
        tg: &str,
        path: &str,
    ) -> String {
        format!(
            "https 2026-11-25T10:00:00.000000Z app/web/50dc6c495c0c9188 203.0.113.7:5000 10.0.0.5:80 0.001 {latency} 0.000 {status} {target_status} 100 200 \"GET https://shop.example.com:443{path} HTTP/1.1\" \"curl/8\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/{tg}/73e2d6bc24d8a067 \"Root=1-58337262-36d228ad5d99923122bbe354\" \"shop.example.com\" \"-\" 0 2026-11-25T09:59:59.900000Z \"forward\" \"-\" \"-\" \"10.0.0.5:80\" \"{target_status}\" \"-\" \"-\" TID_1"
        )
    }

    fn fold(lines: &[String]) -> Stats {
        let mut stats = Stats::new();
        for line in lines {
            match parse_line(LogKind::Access, line.as_bytes()) {
                Ok(record) => stats.record(&record),
                Err(e) => stats.failed_line(&e),
            }
        }
        stats
    }

    #[test]
    fn counts_classes_origins_and_target_groups() {
        let lines = vec![
            access_line("200", "200", "0.010", "api", "/a"),
            access_line("200", "200", "0.020", "api", "/a"),
            access_line("500", "500", "0.030", "api", "/boom"),
            access_line("502", "-", "-1", "web", "/gateway"),
            access_line("404", "404", "0.001", "web", "/missing"),
            "garbage".to_string(),
        ];
        let stats = fold(&lines);
        assert_eq!((stats.lines, stats.parsed, stats.failed), (6, 5, 1));
        assert_eq!(stats.status_classes, [0, 0, 2, 0, 1, 2]);
        assert_eq!((stats.target_5xx, stats.elb_5xx), (1, 1));
        assert_eq!(stats.target_groups["api"].requests, 3);
        assert_eq!(stats.target_groups["api"].target_5xx, 1);
        assert_eq!(stats.target_groups["web"].elb_5xx, 1);
        // -1 (no target answered) is not a latency.
        assert_eq!(stats.target_groups["web"].latency.count(), 1);
        let report = stats.report(3);
        assert_eq!(report.top_5xx_paths.len(), 2);
        assert_eq!(
            report.top_paths[0],
            Count {
                key: "/a".into(),
                count: 2
            }
        );
        assert!((report.five_xx_ratio - 0.4).abs() < 1e-9);
        assert_eq!(report.error_reasons.values().sum::<u64>(), 1);
    }

    #[test]
    fn percentiles_are_within_one_percent() {
        let mut histogram = LatencyHistogram::default();
        for i in 1..=10_000u32 {
            histogram.add(f64::from(i) / 1000.0);
        }
        for (q, exact) in [(0.5, 5.0), (0.9, 9.0), (0.99, 9.9)] {
            let got = histogram.quantile(q).unwrap();
            assert!((got - exact).abs() / exact < 0.01, "q{q}: {got} vs {exact}");
        }
        assert_eq!(LatencyHistogram::default().quantile(0.5), None);
    }

    #[test]
    fn top_counter_is_bounded_and_keeps_heavy_hitters() {
        let mut top = TopCounter::default();
        for i in 0..10_000 {
            top.add(&format!("/rare/{i}"));
            if i % 3 == 0 {
                top.add("/hot");
            }
        }
        assert!(top.counts.len() <= TOP_CAPACITY);
        assert_eq!(top.top(1)[0].key, "/hot");
    }

    #[test]
    fn merging_equals_folding_everything_at_once() {
        let a = vec![access_line("200", "200", "0.010", "api", "/a")];
        let b = vec![access_line("503", "-", "-1", "api", "/b")];
        let mut merged = fold(&a);
        merged.merge(&fold(&b));
        let all = fold(&[a, b].concat());
        assert_eq!(merged.report(10), all.report(10));
    }

    #[test]
    fn target_group_names_come_from_the_arn() {
        assert_eq!(
            target_group_name(
                "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/api-tg/73e2d6bc24d8a067"
            ),
            "api-tg"
        );
        assert_eq!(target_group_name("weird"), "weird");
    }
}
