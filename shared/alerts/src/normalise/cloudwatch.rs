//! CloudWatch alarms, in their three shapes: the SNS message (PascalCase, `Trigger`), the
//! EventBridge `CloudWatch Alarm State Change` event and the Lambda alarm action payload (both
//! camelCase, `configuration.metrics[]`).
//!
//! All three become one [`AlarmChange`], so the same state change gets the same id whichever
//! way it came: the id is the alarm ARN, the state change time and the new state.
//!
//! States: `ALARM` is a firing error; `INSUFFICIENT_DATA` is a firing *warning* (the alarm cannot
//! judge, which usually means a broken metric or a stopped resource, worth a look but not a
//! page); `OK` is resolved. A resolved alert keeps the severity of the state it leaves (error
//! after `ALARM`, warning after `INSUFFICIENT_DATA`), so routing by severity sends the resolution
//! where the alert went. CloudWatch carries no severity of its own.

use super::region::{code_for_name, console_host};
use super::{encode_uri_component, format_number, lenient, read_as};
use crate::alert::{Alert, Severity, Source, Status, null_as_default};
use crate::hash::stable_id;
use crate::time::to_rfc3339;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

pub(crate) fn is_sns_alarm(value: &Value) -> bool {
    value.get("AlarmName").is_some() && value.get("NewStateValue").is_some()
}

pub(crate) fn is_eventbridge_alarm(value: &Value) -> bool {
    value.get("detail-type").and_then(Value::as_str) == Some("CloudWatch Alarm State Change")
}

pub(crate) fn is_lambda_action(value: &Value) -> bool {
    value.get("alarmArn").is_some() && value.get("alarmData").is_some()
}

// ---- SNS message --------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsAlarm {
    alarm_name: String,
    alarm_description: Option<String>,
    #[serde(rename = "AWSAccountId", default, deserialize_with = "lenient::string")]
    account_id: Option<String>,
    new_state_value: String,
    new_state_reason: Option<String>,
    state_change_time: Option<String>,
    region: Option<String>,
    alarm_arn: Option<String>,
    old_state_value: Option<String>,
    /// Composite alarms.
    alarm_rule: Option<String>,
    trigger: Option<Trigger>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Trigger {
    metric_name: Option<String>,
    namespace: Option<String>,
    statistic: Option<String>,
    extended_statistic: Option<String>,
    unit: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    dimensions: Vec<Dimension>,
    #[serde(deserialize_with = "lenient::number")]
    period: Option<f64>,
    #[serde(deserialize_with = "lenient::number")]
    evaluation_periods: Option<f64>,
    #[serde(deserialize_with = "lenient::number")]
    datapoints_to_alarm: Option<f64>,
    comparison_operator: Option<String>,
    #[serde(deserialize_with = "lenient::number")]
    threshold: Option<f64>,
    /// Anomaly detection: the id of the band in `metrics`, instead of a `threshold`.
    threshold_metric_id: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    metrics: Vec<SnsMetricQuery>,
}

#[derive(Deserialize)]
struct Dimension {
    #[serde(alias = "Name")]
    name: String,
    #[serde(alias = "Value", default, deserialize_with = "lenient::string")]
    value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsMetricQuery {
    #[serde(default)]
    id: String,
    expression: Option<String>,
    label: Option<String>,
    metric_stat: Option<SnsMetricStat>,
    return_data: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsMetricStat {
    metric: SnsMetric,
    #[serde(default, deserialize_with = "lenient::number")]
    period: Option<f64>,
    stat: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsMetric {
    metric_name: Option<String>,
    namespace: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    dimensions: Vec<Dimension>,
}

pub(crate) fn from_sns(value: &Value) -> Result<Alert, String> {
    let alarm: SnsAlarm = read_as(value)?;
    let trigger = alarm.trigger.unwrap_or_default();
    let queries = if trigger.metrics.is_empty() {
        trigger
            .metric_name
            .as_ref()
            .map(|name| MetricQuery {
                id: String::new(),
                expression: None,
                label: None,
                namespace: trigger.namespace.clone(),
                metric_name: Some(name.clone()),
                dimensions: dimension_pairs(&trigger.dimensions),
                stat: trigger
                    .extended_statistic
                    .clone()
                    .or(trigger.statistic.clone()),
                period: trigger.period,
                return_data: true,
            })
            .into_iter()
            .collect()
    } else {
        trigger
            .metrics
            .iter()
            .map(|q| MetricQuery {
                id: q.id.clone(),
                expression: q.expression.clone(),
                label: q.label.clone(),
                namespace: q
                    .metric_stat
                    .as_ref()
                    .and_then(|s| s.metric.namespace.clone()),
                metric_name: q
                    .metric_stat
                    .as_ref()
                    .and_then(|s| s.metric.metric_name.clone()),
                dimensions: q
                    .metric_stat
                    .as_ref()
                    .map(|s| dimension_pairs(&s.metric.dimensions))
                    .unwrap_or_default(),
                stat: q.metric_stat.as_ref().and_then(|s| s.stat.clone()),
                period: q.metric_stat.as_ref().and_then(|s| s.period),
                return_data: q.return_data.unwrap_or(true),
            })
            .collect()
    };
    let region_code = alarm
        .alarm_arn
        .as_deref()
        .and_then(|arn| AlarmArn::parse(arn).map(|a| a.region))
        .or_else(|| {
            alarm
                .region
                .as_deref()
                .and_then(code_for_name)
                .map(str::to_string)
        });
    Ok(AlarmChange {
        name: alarm.alarm_name,
        description: alarm.alarm_description,
        arn: alarm.alarm_arn,
        account: alarm.account_id,
        region_code,
        region_name: alarm.region,
        new_state: alarm.new_state_value,
        old_state: alarm.old_state_value,
        reason: alarm.new_state_reason,
        changed_at: alarm.state_change_time,
        rule: alarm.alarm_rule,
        metrics: MetricSpec {
            queries,
            threshold: trigger.threshold,
            threshold_metric_id: trigger.threshold_metric_id,
            comparison: trigger.comparison_operator,
            unit: trigger.unit,
            evaluation_periods: trigger.evaluation_periods,
            datapoints_to_alarm: trigger.datapoints_to_alarm,
        },
    }
    .into_alert())
}

// ---- EventBridge event and Lambda alarm action ------------------------------------------------

/// `detail` of the EventBridge event, `alarmData` of the Lambda action: the same shape.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlarmData {
    alarm_name: String,
    state: AlarmState,
    previous_state: Option<AlarmState>,
    #[serde(default)]
    configuration: Option<Configuration>,
}

#[derive(Deserialize)]
struct AlarmState {
    value: String,
    reason: Option<String>,
    /// A JSON document in a string; it holds the threshold, which `configuration` lacks.
    #[serde(rename = "reasonData")]
    reason_data: Option<String>,
    timestamp: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Configuration {
    description: Option<String>,
    alarm_rule: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    metrics: Vec<EventMetricQuery>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventMetricQuery {
    #[serde(default)]
    id: String,
    expression: Option<String>,
    label: Option<String>,
    metric_stat: Option<EventMetricStat>,
    return_data: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventMetricStat {
    metric: EventMetric,
    #[serde(default, deserialize_with = "lenient::number")]
    period: Option<f64>,
    stat: Option<String>,
}

#[derive(Deserialize)]
struct EventMetric {
    name: Option<String>,
    namespace: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_map")]
    dimensions: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct EventBridgeAlarm {
    #[serde(default, deserialize_with = "lenient::string")]
    account: Option<String>,
    region: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    resources: Vec<String>,
    detail: AlarmData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LambdaAlarmAction {
    alarm_arn: String,
    #[serde(default, deserialize_with = "lenient::string")]
    account_id: Option<String>,
    region: Option<String>,
    alarm_data: AlarmData,
}

pub(crate) fn from_eventbridge(value: &Value) -> Result<Alert, String> {
    let event: EventBridgeAlarm = read_as(value)?;
    let arn = event.resources.into_iter().find(|r| r.contains(":alarm:"));
    Ok(from_alarm_data(event.detail, arn, event.account, event.region).into_alert())
}

pub(crate) fn from_lambda_action(value: &Value) -> Result<Alert, String> {
    let action: LambdaAlarmAction = read_as(value)?;
    Ok(from_alarm_data(
        action.alarm_data,
        Some(action.alarm_arn),
        action.account_id,
        action.region,
    )
    .into_alert())
}

fn from_alarm_data(
    data: AlarmData,
    arn: Option<String>,
    account: Option<String>,
    region: Option<String>,
) -> AlarmChange {
    let configuration = data.configuration.unwrap_or_default();
    let threshold = data
        .state
        .reason_data
        .as_deref()
        .and_then(|json| serde_json::from_str::<Value>(json).ok())
        .and_then(|v| v.get("threshold").and_then(Value::as_f64));
    let parsed_arn = arn.as_deref().and_then(AlarmArn::parse);
    let queries = configuration
        .metrics
        .iter()
        .map(|q| MetricQuery {
            id: q.id.clone(),
            expression: q.expression.clone(),
            label: q.label.clone(),
            namespace: q
                .metric_stat
                .as_ref()
                .and_then(|s| s.metric.namespace.clone()),
            metric_name: q.metric_stat.as_ref().and_then(|s| s.metric.name.clone()),
            dimensions: q
                .metric_stat
                .as_ref()
                .map(|s| s.metric.dimensions.clone().into_iter().collect())
                .unwrap_or_default(),
            stat: q.metric_stat.as_ref().and_then(|s| s.stat.clone()),
            period: q.metric_stat.as_ref().and_then(|s| s.period),
            return_data: q.return_data.unwrap_or(true),
        })
        .collect();
    AlarmChange {
        name: data.alarm_name,
        description: configuration.description,
        region_code: region.or_else(|| parsed_arn.as_ref().map(|a| a.region.clone())),
        account: account.or_else(|| parsed_arn.as_ref().map(|a| a.account.clone())),
        arn,
        region_name: None,
        new_state: data.state.value,
        old_state: data.previous_state.map(|s| s.value),
        reason: data.state.reason,
        changed_at: data.state.timestamp,
        rule: configuration.alarm_rule,
        metrics: MetricSpec {
            queries,
            threshold,
            threshold_metric_id: None,
            comparison: None,
            unit: None,
            evaluation_periods: None,
            datapoints_to_alarm: None,
        },
    }
}

// ---- the common part ------------------------------------------------------------------------

struct AlarmChange {
    name: String,
    description: Option<String>,
    arn: Option<String>,
    account: Option<String>,
    region_code: Option<String>,
    /// The human name, only in SNS messages.
    region_name: Option<String>,
    new_state: String,
    old_state: Option<String>,
    reason: Option<String>,
    changed_at: Option<String>,
    rule: Option<String>,
    metrics: MetricSpec,
}

struct MetricSpec {
    queries: Vec<MetricQuery>,
    threshold: Option<f64>,
    threshold_metric_id: Option<String>,
    comparison: Option<String>,
    unit: Option<String>,
    evaluation_periods: Option<f64>,
    datapoints_to_alarm: Option<f64>,
}

struct MetricQuery {
    id: String,
    expression: Option<String>,
    label: Option<String>,
    namespace: Option<String>,
    metric_name: Option<String>,
    dimensions: Vec<(String, String)>,
    stat: Option<String>,
    period: Option<f64>,
    return_data: bool,
}

struct AlarmArn {
    partition: String,
    region: String,
    account: String,
}

impl AlarmArn {
    /// `arn:PARTITION:cloudwatch:REGION:ACCOUNT:alarm:NAME` (the name may hold colons).
    fn parse(arn: &str) -> Option<Self> {
        let mut parts = arn.splitn(7, ':');
        let (Some("arn"), Some(partition), Some("cloudwatch"), Some(region), Some(account)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        (parts.next() == Some("alarm") && !region.is_empty()).then(|| AlarmArn {
            partition: partition.to_string(),
            region: region.to_string(),
            account: account.to_string(),
        })
    }
}

impl AlarmChange {
    fn into_alert(self) -> Alert {
        let state = self.new_state.to_ascii_uppercase();
        let (status, severity) = status_and_severity(&state, self.old_state.as_deref());
        let fingerprint = self.fingerprint();
        let changed_at = self.changed_at.as_deref().map(to_rfc3339);
        // The reason stands in for the time only when the time is missing, so that the same
        // change delivered through SNS and through EventBridge keeps one id.
        let occurrence = changed_at
            .clone()
            .unwrap_or_else(|| self.reason.clone().unwrap_or_default());
        let mut alert = Alert::new(Source::Cloudwatch, self.name.clone());
        alert.id = stable_id(&["cloudwatch", &fingerprint, &occurrence, &state]);
        alert.fingerprint = fingerprint;
        alert.status = status;
        alert.severity = severity;
        alert.summary = self.reason.clone().unwrap_or_default();
        alert.occurred_at = changed_at;

        let state_text = match &self.old_state {
            Some(old) => format!("{state} (was {old})"),
            None => state.clone(),
        };
        // What is measured and against what first; the long parts after the short ones.
        self.metrics.push_main_fields(&mut alert);
        alert.push_field("State", state_text);
        alert.push_field("Account", self.account.clone().unwrap_or_default());
        let region = match (&self.region_code, &self.region_name) {
            (Some(code), Some(name)) => format!("{code} · {name}"),
            (Some(code), None) => code.clone(),
            (None, Some(name)) => name.clone(),
            (None, None) => String::new(),
        };
        alert.push_field("Region", region);
        self.metrics.push_query_fields(&mut alert);
        if let Some(rule) = &self.rule {
            alert.push_field("Rule", rule.clone());
        }
        alert.push_field("Description", self.description.clone().unwrap_or_default());

        if let Some(url) = self.console_url() {
            alert.push_link("Open alarm in console", url);
        }
        super::push_description_links(&mut alert, self.description.as_deref().unwrap_or(""));
        alert.set_label("alarm_name", self.name.clone());
        alert.set_label("account_id", self.account.clone().unwrap_or_default());
        alert.set_label("region", self.region_code.clone().unwrap_or_default());
        alert.set_label("state", state);
        if let Some(main) = self.metrics.main_query() {
            alert.set_label("namespace", main.namespace.clone().unwrap_or_default());
            alert.set_label("metric_name", main.metric_name.clone().unwrap_or_default());
        }
        alert
    }

    /// The alarm ARN; rebuilt from account, region and name when the message has none (old SNS
    /// messages), so both spellings of one alarm share a fingerprint when they can.
    fn fingerprint(&self) -> String {
        if let Some(arn) = self.arn.as_ref().filter(|arn| !arn.is_empty()) {
            return arn.clone();
        }
        match (&self.region_code, &self.account) {
            (Some(region), Some(account)) => {
                format!("arn:aws:cloudwatch:{region}:{account}:alarm:{}", self.name)
            }
            _ => format!(
                "cloudwatch:{}:{}:{}",
                self.account.as_deref().unwrap_or(""),
                self.region_name.as_deref().unwrap_or(""),
                self.name
            ),
        }
    }

    fn console_url(&self) -> Option<String> {
        let partition = self
            .arn
            .as_deref()
            .and_then(AlarmArn::parse)
            .map_or_else(|| "aws".to_string(), |a| a.partition);
        let region = self.region_code.as_deref()?;
        Some(format!(
            "https://{}/cloudwatch/home?region={region}#alarmsV2:alarm/{}",
            console_host(&partition, region),
            encode_uri_component(&self.name)
        ))
    }
}

fn status_and_severity(state: &str, old_state: Option<&str>) -> (Status, Severity) {
    match state {
        "ALARM" => (Status::Firing, Severity::Error),
        "OK" => match old_state {
            Some(old) if old.eq_ignore_ascii_case("INSUFFICIENT_DATA") => {
                (Status::Resolved, Severity::Warning)
            }
            _ => (Status::Resolved, Severity::Error),
        },
        // INSUFFICIENT_DATA, and any state CloudWatch may add: worth seeing, not worth a page.
        _ => (Status::Firing, Severity::Warning),
    }
}

impl MetricSpec {
    /// The query the alarm watches: for anomaly detection the returned query that is not the
    /// band, otherwise the returned one.
    fn main_query(&self) -> Option<&MetricQuery> {
        let band = self.band_query().map(|b| b.id.as_str());
        self.queries
            .iter()
            .find(|q| q.return_data && Some(q.id.as_str()) != band)
            .or_else(|| self.queries.first())
    }

    /// The anomaly detection band: named by `ThresholdMetricId` in SNS messages; the events do
    /// not name it, so there it is the `ANOMALY_DETECTION_BAND` expression.
    fn band_query(&self) -> Option<&MetricQuery> {
        match &self.threshold_metric_id {
            Some(id) => self.queries.iter().find(|q| &q.id == id),
            None => self.queries.iter().find(|q| {
                q.expression
                    .as_deref()
                    .is_some_and(|e| e.contains("ANOMALY_DETECTION_BAND"))
            }),
        }
    }

    /// The queries shown besides the main one (the band of an anomaly detection alarm is
    /// already in the threshold).
    fn other_queries(&self) -> Vec<&MetricQuery> {
        let main = self.main_query().map(|q| q.id.as_str());
        let band = self.band_query().map(|q| q.id.as_str());
        self.queries
            .iter()
            .filter(|q| Some(q.id.as_str()) != main && Some(q.id.as_str()) != band)
            .collect()
    }

    fn push_main_fields(&self, alert: &mut Alert) {
        // Query ids only mean something when other queries refer to them.
        let with_ids = !self.other_queries().is_empty();
        if let Some(main) = self.main_query() {
            alert.push_field("Metric", main.describe(with_ids));
        }
        alert.push_field("Threshold", self.threshold_text());
        if let Some(evaluation) = self.evaluation_text() {
            alert.push_field("Evaluation", evaluation);
        }
    }

    fn push_query_fields(&self, alert: &mut Alert) {
        let lines: Vec<String> = self
            .other_queries()
            .iter()
            .map(|q| q.describe(true))
            .collect();
        alert.push_field("Queries", lines.join("\n"));
    }

    fn threshold_text(&self) -> String {
        if let Some(band) = self.band_query() {
            let position = match self.comparison.as_deref() {
                Some("LessThanLowerThreshold") => "below",
                Some("GreaterThanUpperThreshold") => "above",
                _ => "outside",
            };
            let expression = band.expression.as_deref().unwrap_or(&band.id);
            return format!("{position} the band {expression}");
        }
        let unit = self
            .unit
            .as_deref()
            .filter(|u| !u.is_empty() && *u != "None")
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        match (self.comparison.as_deref(), self.threshold) {
            (Some(op), Some(t)) => format!("{} {}{unit}", comparison_symbol(op), format_number(t)),
            (None, Some(t)) => format!("{}{unit}", format_number(t)),
            (Some(op), None) => comparison_symbol(op).to_string(),
            (None, None) => String::new(),
        }
    }

    fn evaluation_text(&self) -> Option<String> {
        let periods = self.evaluation_periods?;
        let datapoints = self.datapoints_to_alarm.unwrap_or(periods);
        Some(format!(
            "{} of {} datapoints",
            format_number(datapoints),
            format_number(periods)
        ))
    }
}

impl MetricQuery {
    /// `AWS/EC2 CPUUtilization (InstanceId=i-1) · Average · 5 min`, or `e1 = m1 + m2 (label)`;
    /// prefixed with the query id when asked (other queries refer to it by id).
    fn describe(&self, with_id: bool) -> String {
        let body = match (&self.expression, &self.metric_name) {
            (Some(expression), _) => expression.clone(),
            (None, Some(name)) => {
                let mut text = match &self.namespace {
                    Some(ns) => format!("{ns} {name}"),
                    None => name.clone(),
                };
                if !self.dimensions.is_empty() {
                    let dims: Vec<String> = self
                        .dimensions
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    text.push_str(&format!(" ({})", dims.join(", ")));
                }
                if let Some(stat) = &self.stat {
                    text.push_str(&format!(" · {stat}"));
                }
                if let Some(period) = self.period {
                    text.push_str(&format!(" · {}", format_period(period)));
                }
                text
            }
            (None, None) => self.label.clone().unwrap_or_default(),
        };
        let label = match (&self.expression, &self.label) {
            (Some(_), Some(label)) if !label.is_empty() => format!(" ({label})"),
            _ => String::new(),
        };
        if with_id && !self.id.is_empty() {
            format!("{} = {body}{label}", self.id)
        } else {
            format!("{body}{label}")
        }
    }
}

fn dimension_pairs(dimensions: &[Dimension]) -> Vec<(String, String)> {
    dimensions
        .iter()
        .map(|d| (d.name.clone(), d.value.clone().unwrap_or_default()))
        .collect()
}

fn comparison_symbol(operator: &str) -> &str {
    match operator {
        "GreaterThanOrEqualToThreshold" => ">=",
        "GreaterThanThreshold" => ">",
        "LessThanThreshold" => "<",
        "LessThanOrEqualToThreshold" => "<=",
        other => other,
    }
}

/// Seconds as people read alarm periods: `60 s`, `5 min`, `1 h`.
fn format_period(seconds: f64) -> String {
    if seconds >= 3600.0 && seconds % 3600.0 == 0.0 {
        format!("{} h", format_number(seconds / 3600.0))
    } else if seconds >= 120.0 && seconds % 60.0 == 0.0 {
        format!("{} min", format_number(seconds / 60.0))
    } else {
        format!("{} s", format_number(seconds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_alarm_arns_with_colons_in_the_name() {
        let arn = AlarmArn::parse("arn:aws-cn:cloudwatch:cn-north-1:123:alarm:a:b").unwrap();
        assert_eq!(
            (
                arn.partition.as_str(),
                arn.region.as_str(),
                arn.account.as_str()
            ),
            ("aws-cn", "cn-north-1", "123")
        );
        assert!(AlarmArn::parse("arn:aws:sns:us-east-1:123:topic").is_none());
    }

    #[test]
    fn state_mapping() {
        assert_eq!(
            status_and_severity("ALARM", Some("OK")),
            (Status::Firing, Severity::Error)
        );
        assert_eq!(
            status_and_severity("INSUFFICIENT_DATA", Some("OK")),
            (Status::Firing, Severity::Warning)
        );
        assert_eq!(
            status_and_severity("OK", Some("ALARM")),
            (Status::Resolved, Severity::Error)
        );
        assert_eq!(
            status_and_severity("OK", Some("INSUFFICIENT_DATA")),
            (Status::Resolved, Severity::Warning)
        );
    }

    #[test]
    fn periods_read_naturally() {
        assert_eq!(format_period(60.0), "60 s");
        assert_eq!(format_period(300.0), "5 min");
        assert_eq!(format_period(3600.0), "1 h");
        assert_eq!(format_period(10.0), "10 s");
    }
}
