//! The Lambda handler's translation: an invocation (SQS batch, direct S3 / SNS / EventBridge
//! notification, S3 Batch Operations job) into object runs, and their results into the response
//! each trigger expects (partial batch failures, Batch Operations result codes).

use aws_lambda_events::s3::batch_job::{S3BatchJobResponse, S3BatchJobResult};
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse};
use fleetwatch_ports::{ErrorChain, MessageQueue, MetricSet, MetricsSink};
use serde_json::{Value, json};

use crate::envelope::{BatchJob, EnvelopeError, ObjectRef, Trigger, decode_trigger};
use crate::metrics::{object_metrics, skipped_metric};
use crate::object::{ObjectFailure, ObjectReport, Pipeline};
use crate::sinks::DocumentSink;
use crate::source::ObjectSource;
use crate::store::OutputStore;
use crate::thresholds::{ObjectContext, Thresholds, evaluate};

/// The alb-logs function: object source `S`, document sink `D`, output store `O`, queues `Q`.
pub struct Handler<S, D, O, Q> {
    pub pipeline: Pipeline<D, O>,
    pub source: S,
    /// Where threshold alerts go (the alerts queue); `None` disables them.
    pub alerts: Option<Q>,
    /// Where undecodable notifications are parked with their reason.
    pub poison: Option<Q>,
    pub thresholds: Thresholds,
    pub metrics: MetricsSink,
}

/// Lambda retries the invocation (direct triggers only; SQS uses partial failures).
#[derive(Debug, thiserror::Error)]
#[error("an object failed and will be retried")]
pub struct HandlerError(#[source] pub ObjectFailure);

impl<S, D, O, Q> Handler<S, D, O, Q>
where
    S: ObjectSource + Sync,
    D: DocumentSink,
    O: OutputStore + Sync,
    Q: MessageQueue + Sync,
{
    pub async fn handle(&self, event: Value) -> Result<Value, HandlerError> {
        match decode_trigger(&event) {
            Ok(Trigger::Sqs(items)) => {
                let mut response = SqsBatchResponse::default();
                for item in items {
                    let objects = match item.objects {
                        Ok(objects) => objects,
                        Err(error) => {
                            self.park_poison(&item.message_id, &error, &event).await;
                            continue;
                        }
                    };
                    if let Err(failure) = self.process_all(&objects).await {
                        tracing::warn!(message_id = %item.message_id, error = %ErrorChain(&failure), "object failed; the message will be retried");
                        let mut failed = BatchItemFailure::default();
                        failed.item_identifier = item.message_id;
                        response.batch_item_failures.push(failed);
                    }
                }
                Ok(serde_json::to_value(response).expect("serialisable"))
            }
            Ok(Trigger::Direct(objects)) => {
                let count = objects.len();
                self.process_all(&objects).await.map_err(HandlerError)?;
                Ok(json!({ "objects": count }))
            }
            Ok(Trigger::BatchJob(job)) => Ok(self.batch_job(job).await),
            Err(error) => {
                // Not retryable: the same payload fails the same way. Logged and counted.
                tracing::error!(%error, "unrecognised invocation payload");
                self.emit(MetricSet::new(crate::metrics::NAMESPACE).count("PoisonMessages", 1));
                Ok(json!({ "error": error.to_string() }))
            }
        }
    }

    async fn batch_job(&self, job: BatchJob) -> Value {
        let mut response = S3BatchJobResponse::default();
        response.invocation_schema_version = Some(job.invocation_schema_version);
        response.invocation_id = Some(job.invocation_id);
        response.treat_missing_keys_as = Some("PermanentFailure".into());
        for task in job.tasks {
            let mut result = S3BatchJobResult::default();
            result.task_id = Some(task.task_id);
            let (code, text) = match task.object {
                Err(error) => ("PermanentFailure", error.to_string()),
                Ok(object) => match self.process_one(&object).await {
                    Ok(report) => ("Succeeded", summary(&report)),
                    Err(failure) => ("TemporaryFailure", ErrorChain(&failure).to_string()),
                },
            };
            result.result_code = Some(code.into());
            result.result_string = Some(text);
            response.results.push(result);
        }
        serde_json::to_value(response).expect("serialisable")
    }

    async fn process_all(&self, objects: &[ObjectRef]) -> Result<(), ObjectFailure> {
        for object in objects {
            self.process_one(object).await?;
        }
        Ok(())
    }

    async fn process_one(&self, object: &ObjectRef) -> Result<ObjectReport, ObjectFailure> {
        let report = self.pipeline.process(&self.source, object).await?;
        let uri = format!("s3://{}/{}", object.bucket, object.key);
        if let Some(skipped) = &report.skipped {
            tracing::info!(object = %uri, reason = skipped.as_str(), "object skipped");
            self.emit(skipped_metric(skipped.as_str()));
            return Ok(report);
        }
        if let Some(corrupt) = &report.corrupt {
            tracing::error!(object = %uri, reason = %corrupt, "corrupt object: the lines before the damage were processed");
            self.emit(skipped_metric("corrupt"));
        }
        tracing::info!(
            object = %uri,
            lines = report.stats.lines,
            parsed = report.stats.parsed,
            failed = report.stats.failed,
            indexed = report.search.indexed,
            already_indexed = report.search.already_indexed,
            dead_letters = report.dead_letters,
            table = report.table_key.as_deref().unwrap_or("-"),
            errors = report.errors_key.as_deref().unwrap_or("-"),
            "object processed"
        );
        for set in object_metrics(
            &report.load_balancer,
            &uri,
            &report.stats,
            &report.search,
            report.dead_letters,
        ) {
            self.emit(set);
        }
        self.publish_alerts(&report).await?;
        Ok(report)
    }

    async fn publish_alerts(&self, report: &ObjectReport) -> Result<(), ObjectFailure> {
        let Some(queue) = &self.alerts else {
            return Ok(());
        };
        let context = ObjectContext {
            bucket: &report.object.bucket,
            key: &report.object.key,
            load_balancer: &report.load_balancer,
            fingerprint: &report.fingerprint,
        };
        let bodies: Vec<String> = evaluate(&report.stats, &self.thresholds, &context)
            .iter()
            .map(|alert| serde_json::to_string(alert).expect("serialisable"))
            .collect();
        if bodies.is_empty() {
            return Ok(());
        }
        let rejected = queue.send_all(&bodies).await;
        let count = rejected.len();
        match rejected.into_iter().next() {
            // The alerts carry stable ids: a retry re-sends them and the fan-out posts once.
            Some(first) => Err(ObjectFailure::Alerts {
                count,
                source: first.error,
            }),
            None => Ok(()),
        }
    }

    async fn park_poison(&self, message_id: &str, error: &EnvelopeError, event: &Value) {
        tracing::error!(%message_id, %error, "undecodable notification: parked, not retried");
        self.emit(MetricSet::new(crate::metrics::NAMESPACE).count("PoisonMessages", 1));
        let Some(queue) = &self.poison else {
            return;
        };
        let body = event["Records"]
            .as_array()
            .and_then(|records| records.iter().find(|r| r["messageId"] == message_id))
            .and_then(|r| r["body"].as_str())
            .unwrap_or_default();
        let letter = json!({ "message_id": message_id, "reason": error.to_string(), "body": body });
        if let Err(send_error) = queue.send(&letter.to_string()).await {
            tracing::error!(%message_id, error = %ErrorChain(&send_error), "could not park the undecodable notification");
        }
    }

    fn emit(&self, set: MetricSet) {
        self.metrics.emit(&set);
    }
}

fn summary(report: &ObjectReport) -> String {
    match &report.skipped {
        Some(skipped) => format!("skipped: {}", skipped.as_str()),
        None => format!(
            "{} lines: {} parsed, {} failed; {} indexed, {} already indexed",
            report.stats.lines,
            report.stats.parsed,
            report.stats.failed,
            report.search.indexed,
            report.search.already_indexed
        ),
    }
}
