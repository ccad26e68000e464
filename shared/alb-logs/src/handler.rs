//! The Lambda handler's translation: an invocation (SQS batch, direct S3 / SNS / EventBridge
//! notification, S3 Batch Operations job) into object runs, and their results into the response
//! each trigger expects (partial batch failures, Batch Operations result codes).

use aws_lambda_events::s3::batch_job::{S3BatchJobResponse, S3BatchJobResult};
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse};
use fleetwatch_ports::{ErrorChain, FaultKind, MessageQueue, MetricSet, MetricsSink};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::envelope::{BatchJob, EnvelopeError, ObjectRef, SqsItem, Trigger, decode_trigger};
use crate::metrics::{object_metrics, skipped_metric};
use crate::object::{ObjectFailure, ObjectReport, Pipeline, Skipped};
use crate::sinks::DocumentSink;
use crate::source::ObjectSource;
use crate::store::OutputStore;
use crate::thresholds::{ObjectContext, Thresholds, evaluate};

/// The alb-logs function: object source `S`, document sink `D`, output store `O`, queues `Q`.
///
/// Every invocation runs against a deadline (the function's, less the time to answer): an object
/// not done by then is abandoned and handed back with the ones not started, so the messages done
/// before it are acknowledged and counted once instead of being redelivered with the batch when
/// Lambda ends the invocation. Abandoning is safe: documents carry deterministic ids, outputs are
/// stored whole under keys derived from the input key, and nothing was emitted for the object.
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
    /// Handles one invocation; what is not done by `deadline` is handed back (see the type).
    pub async fn handle(&self, event: Value, deadline: Instant) -> Result<Value, HandlerError> {
        match decode_trigger(&event) {
            Ok(Trigger::Sqs(items)) => Ok(self.sqs(items, &event, deadline).await),
            Ok(Trigger::Direct(objects)) => {
                let count = objects.len();
                let metrics = self
                    .process_all(&objects, deadline)
                    .await
                    .map_err(HandlerError)?;
                self.emit_all(metrics);
                Ok(json!({ "objects": count }))
            }
            Ok(Trigger::BatchJob(job)) => Ok(self.batch_job(job, deadline).await),
            Err(error) => {
                // Not retryable: the same payload fails the same way. Logged and counted.
                tracing::error!(%error, "unrecognised invocation payload");
                self.emit(MetricSet::new(crate::metrics::NAMESPACE).count("PoisonMessages", 1));
                Ok(json!({ "error": error.to_string() }))
            }
        }
    }

    /// Each message on its own: done (acknowledged, its metrics emitted), or handed back
    /// (nothing emitted: its retry emits them, once).
    async fn sqs(&self, items: Vec<SqsItem>, event: &Value, deadline: Instant) -> Value {
        let mut response = SqsBatchResponse::default();
        for item in items {
            let done = match item.objects {
                Ok(objects) => self.sqs_message(&item.message_id, &objects, deadline).await,
                Err(error) => self.park_poison(&item.message_id, &error, event).await,
            };
            if !done {
                let mut failed = BatchItemFailure::default();
                failed.item_identifier = item.message_id;
                response.batch_item_failures.push(failed);
            }
        }
        serde_json::to_value(response).expect("serialisable")
    }

    async fn sqs_message(
        &self,
        message_id: &str,
        objects: &[ObjectRef],
        deadline: Instant,
    ) -> bool {
        match self.process_all(objects, deadline).await {
            Ok(metrics) => {
                self.emit_all(metrics);
                true
            }
            Err(failure) => {
                tracing::warn!(
                    %message_id,
                    error = %ErrorChain(&failure),
                    error.kind = %failure.kind(),
                    "object failed; the message will be retried"
                );
                false
            }
        }
    }

    async fn batch_job(&self, job: BatchJob, deadline: Instant) -> Value {
        let mut response = S3BatchJobResponse::default();
        response.invocation_schema_version = Some(job.invocation_schema_version);
        response.invocation_id = Some(job.invocation_id);
        response.treat_missing_keys_as = Some("PermanentFailure".into());
        for task in job.tasks {
            let mut result = S3BatchJobResult::default();
            result.task_id = Some(task.task_id);
            let (code, text) = match task.object {
                Err(error) => ("PermanentFailure", error.to_string()),
                Ok(object) => match self.process_one(&object, deadline).await {
                    Ok((report, metrics)) => {
                        self.emit_all(metrics);
                        ("Succeeded", summary(&report))
                    }
                    // Batch Operations retries a temporary failure; a permanent one (access
                    // denied, a missing bucket) would only fail again.
                    Err(failure) => (
                        match failure.kind() {
                            FaultKind::Permanent => "PermanentFailure",
                            FaultKind::Transient => "TemporaryFailure",
                        },
                        ErrorChain(&failure).to_string(),
                    ),
                },
            };
            result.result_code = Some(code.into());
            result.result_string = Some(text);
            response.results.push(result);
        }
        serde_json::to_value(response).expect("serialisable")
    }

    /// Every object of a message; their metrics, to be emitted once the message is done.
    async fn process_all(
        &self,
        objects: &[ObjectRef],
        deadline: Instant,
    ) -> Result<Vec<MetricSet>, ObjectFailure> {
        let mut metrics = Vec::new();
        for object in objects {
            let (_, sets) = self.process_one(object, deadline).await?;
            metrics.extend(sets);
        }
        Ok(metrics)
    }

    /// One object, started only before `deadline` and abandoned at it.
    async fn process_one(
        &self,
        object: &ObjectRef,
        deadline: Instant,
    ) -> Result<(ObjectReport, Vec<MetricSet>), ObjectFailure> {
        if Instant::now() >= deadline {
            return Err(ObjectFailure::OutOfTime { started: false });
        }
        tokio::time::timeout_at(deadline, self.run_object(object))
            .await
            .unwrap_or(Err(ObjectFailure::OutOfTime { started: true }))
    }

    /// One object through the pipeline and its alerts published; its metrics are returned, not
    /// emitted, so a retry of the message does not count it twice.
    async fn run_object(
        &self,
        object: &ObjectRef,
    ) -> Result<(ObjectReport, Vec<MetricSet>), ObjectFailure> {
        let report = self.pipeline.process(&self.source, object).await?;
        let uri = format!("s3://{}/{}", object.bucket, object.key);
        if let Some(skipped) = &report.skipped {
            log_skipped(&uri, skipped);
            let metric = skipped_metric(skipped.as_str());
            return Ok((report, vec![metric]));
        }
        let mut metrics = Vec::new();
        if let Some(corrupt) = &report.corrupt {
            tracing::error!(object = %uri, reason = %corrupt, "corrupt object: the lines before the damage were processed");
            metrics.push(skipped_metric("corrupt"));
        }
        log_processed(&uri, &report);
        metrics.extend(object_metrics(
            &report.load_balancer,
            &uri,
            &report.stats,
            &report.search,
            report.dead_letters,
        ));
        self.publish_alerts(&report).await?;
        Ok((report, metrics))
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

    /// An undecodable notification is parked with its reason and acknowledged: the same bytes
    /// fail the same way. When it cannot be parked (no dead-letter queue configured, or the send
    /// failed), it is logged whole and handed back, so the queue's own redrive keeps it.
    /// Counted once, when parked: a message handed back is counted by the receive that parks it.
    async fn park_poison(&self, message_id: &str, error: &EnvelopeError, event: &Value) -> bool {
        let body = event["Records"]
            .as_array()
            .and_then(|records| records.iter().find(|r| r["messageId"] == message_id))
            .and_then(|r| r["body"].as_str())
            .unwrap_or_default();
        let parked = match &self.poison {
            None => Err("no dead-letter queue is configured".to_string()),
            Some(queue) => {
                let letter =
                    json!({ "message_id": message_id, "reason": error.to_string(), "body": body });
                queue
                    .send(&letter.to_string())
                    .await
                    .map_err(|e| ErrorChain(&e).to_string())
            }
        };
        match parked {
            Ok(_) => {
                tracing::error!(%message_id, %error, "undecodable notification: parked, not retried");
                self.emit(MetricSet::new(crate::metrics::NAMESPACE).count("PoisonMessages", 1));
                true
            }
            Err(why) => {
                tracing::error!(%message_id, %error, %body, parking = %why, "undecodable notification could not be parked: handed back to the queue");
                false
            }
        }
    }

    fn emit_all(&self, sets: Vec<MetricSet>) {
        for set in sets {
            self.emit(set);
        }
    }

    fn emit(&self, set: MetricSet) {
        self.metrics.emit(&set);
    }
}

/// A deleted object is worth a warning (its lines are lost to us); the others are routine.
fn log_skipped(uri: &str, skipped: &Skipped) {
    match skipped {
        Skipped::NotFound => {
            tracing::warn!(object = %uri, reason = skipped.as_str(), "object not found (deleted since the notification): skipped")
        }
        Skipped::TestFile | Skipped::Empty => {
            tracing::info!(object = %uri, reason = skipped.as_str(), "object skipped")
        }
    }
}

fn log_processed(uri: &str, report: &ObjectReport) {
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

#[cfg(test)]
mod tests {
    //! The whole job on in-memory adapters: an SQS batch in, documents, table output, dead
    //! letters, threshold alerts and metrics out; no AWS, no network.

    use std::sync::Arc;

    use fleetwatch_ports::{ManualClock, MemoryQueue, MetricLines};
    use serde_json::json;

    use super::*;
    use crate::outputs::TableFormat;
    use crate::pass::PassConfig;
    use crate::sinks::MemoryDocuments;
    use crate::source::MemoryObjectSource;
    use crate::store::MemoryStore;

    const KEY: &str = "AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/25/123456789012_elasticloadbalancing_eu-west-1_app.web.50dc6c495c0c9188_20261125T1005Z_10.0.1.7_in0mem0y.log";

    /// 200 access lines, a third of them 503 (the 5xx-ratio alert fires), and two broken ones.
    fn log_object() -> String {
        let mut text = String::new();
        for n in 0..200 {
            let status = if n % 3 == 0 { 503 } else { 200 };
            text.push_str(&format!(
                "http 2026-11-25T10:05:{s:02}.000000Z app/web/50dc6c495c0c9188 203.0.113.{c}:4{n:04} 10.0.1.7:8080 0.001 0.020 0.000 {status} {status} 120 512 \"GET http://shop.example.com:80/p/{n} HTTP/1.1\" \"curl/8.5.0\" - - arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/73e2d6bc24d8a067 \"Root=1-6743a1b0-{n:024x}\" \"-\" \"-\" 0 2026-11-25T10:05:{s:02}.000000Z \"forward\" \"-\" \"-\" \"10.0.1.7:8080\" \"{status}\" \"-\" \"-\" TID_{n:032x}\n",
                s = n % 60,
                c = n % 250,
            ));
        }
        text.push_str("not a load balancer line\nhttp 2026-11-25T10:05:00.000000Z truncated\n");
        text
    }

    struct InMemory {
        handler: Handler<MemoryObjectSource, MemoryDocuments, MemoryStore, MemoryQueue>,
        documents: MemoryDocuments,
        metrics: MetricLines,
        _work: tempfile::TempDir,
    }

    fn in_memory() -> InMemory {
        let work = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::at_epoch_seconds(1_795_000_000));
        let (metrics_sink, metrics) = MetricsSink::memory(clock);
        let mut pass = PassConfig::new(work.path());
        pass.table_format = Some(TableFormat::NdjsonGz);
        let source = MemoryObjectSource::default();
        source.put("logs", KEY, "etag-1", log_object());
        let documents = MemoryDocuments::default();
        let handler = Handler {
            pipeline: Pipeline {
                pass: Arc::new(pass),
                search: documents.clone(),
                table: Some((MemoryStore::default(), "alb/".into())),
                errors: (MemoryStore::default(), "alb-errors/".into()),
            },
            source,
            alerts: Some(MemoryQueue::default()),
            poison: Some(MemoryQueue::default()),
            thresholds: Thresholds::default(),
            metrics: metrics_sink,
        };
        InMemory {
            handler,
            documents,
            metrics,
            _work: work,
        }
    }

    /// A deadline no test reaches, for the tests that are not about running out of time.
    fn no_deadline() -> Instant {
        Instant::now() + std::time::Duration::from_secs(3600)
    }

    fn sqs_event(bodies: &[Value]) -> Value {
        let records: Vec<Value> = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| {
                json!({"messageId": format!("m{i}"), "eventSource": "aws:sqs", "body": body.to_string()})
            })
            .collect();
        json!({ "Records": records })
    }

    fn notification(key: &str) -> Value {
        json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "logs"}, "object": {"key": key, "size": 1}}}]})
    }

    #[tokio::test]
    async fn an_sqs_batch_runs_the_whole_job_on_in_memory_adapters() {
        let job = in_memory();
        let event = sqs_event(&[notification(KEY), json!("not a notification")]);
        let answer = job
            .handler
            .handle(event.clone(), no_deadline())
            .await
            .unwrap();
        assert_eq!(answer, json!({"batchItemFailures": []}));

        let documents = job.documents.documents();
        assert_eq!(documents.len(), 200, "one document per good line");
        let (table_store, _) = job.handler.pipeline.table.as_ref().unwrap();
        let tables: Vec<String> = table_store.files().into_keys().collect();
        assert_eq!(tables.len(), 1);
        assert!(
            tables[0].starts_with("alb/access/year=2026/month=11/day=25/elb=web/"),
            "{tables:?}"
        );
        let errors: Vec<String> = job.handler.pipeline.errors.0.files().into_keys().collect();
        assert_eq!(errors.len(), 1, "the two broken lines are dead letters");

        let alerts = job.handler.alerts.as_ref().unwrap().messages();
        assert!(
            alerts.iter().any(|a| a.contains("alb-logs:web:5xx-ratio")),
            "{alerts:?}"
        );
        let poison = job.handler.poison.as_ref().unwrap().messages();
        assert_eq!(poison.len(), 1, "the undecodable message is parked");
        assert!(poison[0].contains("\"message_id\":\"m1\""), "{poison:?}");
        let parsed: f64 = job
            .metrics
            .documents()
            .iter()
            .filter_map(|m| m["LinesParsed"].as_f64())
            .sum();
        assert_eq!(parsed, 200.0);

        // A redelivery adds no document: the ids are the same.
        job.handler.handle(event, no_deadline()).await.unwrap();
        assert_eq!(job.documents.documents().len(), 200);
    }

    /// The response of AWS's documented Batch Operations example, key for key: the invocation
    /// ids echoed, `treatMissingKeysAs`, one result per task with `taskId`, `resultCode` and
    /// `resultString` (User Guide, "Invoking a Lambda function from Batch Operations").
    #[tokio::test]
    async fn batch_operations_answers_in_the_documented_result_schema() {
        let job = in_memory();
        for fixture in ["s3-batch-job-v1.json", "s3-batch-job-v2.json"] {
            let path = format!(
                "{}/../../events/envelopes/{fixture}",
                env!("CARGO_MANIFEST_DIR")
            );
            let event: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let answer = job
                .handler
                .handle(event.clone(), no_deadline())
                .await
                .unwrap();
            let keys: Vec<&str> = answer
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            assert_eq!(
                sorted,
                [
                    "invocationId",
                    "invocationSchemaVersion",
                    "results",
                    "treatMissingKeysAs"
                ],
                "{fixture}: {answer}"
            );
            assert_eq!(
                answer["invocationSchemaVersion"],
                event["invocationSchemaVersion"]
            );
            assert_eq!(answer["invocationId"], event["invocationId"]);
            assert_eq!(answer["treatMissingKeysAs"], "PermanentFailure");
            let results = answer["results"].as_array().unwrap();
            assert_eq!(results.len(), event["tasks"].as_array().unwrap().len());
            for (result, task) in results.iter().zip(event["tasks"].as_array().unwrap()) {
                let mut keys: Vec<&str> = result
                    .as_object()
                    .unwrap()
                    .keys()
                    .map(String::as_str)
                    .collect();
                keys.sort_unstable();
                assert_eq!(keys, ["resultCode", "resultString", "taskId"], "{result}");
                assert_eq!(result["taskId"], task["taskId"]);
                let code = result["resultCode"].as_str().unwrap();
                assert!(
                    ["Succeeded", "TemporaryFailure", "PermanentFailure"].contains(&code),
                    "{code}"
                );
                assert!(result["resultString"].is_string());
            }
        }
    }

    /// A queue that refuses everything.
    struct Refusing;

    impl MessageQueue for Refusing {
        async fn send(&self, _body: &str) -> Result<String, fleetwatch_ports::QueueError> {
            Err(fleetwatch_ports::QueueError::Send(
                fleetwatch_ports::Fault::transient("ServiceUnavailable"),
            ))
        }
    }

    /// A queue that refuses everything with a failure of one kind.
    struct RefusingWith(FaultKind);

    impl MessageQueue for RefusingWith {
        async fn send(&self, _body: &str) -> Result<String, fleetwatch_ports::QueueError> {
            let fault = match self.0 {
                FaultKind::Transient => fleetwatch_ports::Fault::transient("ServiceUnavailable"),
                FaultKind::Permanent => fleetwatch_ports::Fault::permanent("AccessDenied"),
            };
            Err(fleetwatch_ports::QueueError::Send(fault))
        }
    }

    /// A Batch Operations task that fails answers TemporaryFailure only when a retry can help.
    #[tokio::test]
    async fn batch_operations_retries_only_what_can_succeed() {
        let job = json!({
            "invocationSchemaVersion": "1.0", "invocationId": "inv-1", "job": {"id": "job-1"},
            "tasks": [{"taskId": "t1", "s3Key": KEY, "s3VersionId": null,
                       "s3BucketArn": "arn:aws:s3:::logs"}]
        });
        for (kind, code) in [
            (FaultKind::Transient, "TemporaryFailure"),
            (FaultKind::Permanent, "PermanentFailure"),
        ] {
            let (handler, _, _work) = with_queues(in_memory(), Some(RefusingWith(kind)), None);
            let answer = handler.handle(job.clone(), no_deadline()).await.unwrap();
            let result = &answer["results"][0];
            assert_eq!(result["resultCode"], code, "{kind:?}: {answer}");
            assert!(
                result["resultString"]
                    .as_str()
                    .unwrap()
                    .contains("threshold alert"),
                "{result}"
            );
        }
    }

    /// The in-memory job with other queues for alerts and poison.
    fn with_queues<Q: MessageQueue + Sync>(
        job: InMemory,
        alerts: Option<Q>,
        poison: Option<Q>,
    ) -> (
        Handler<MemoryObjectSource, MemoryDocuments, MemoryStore, Q>,
        MetricLines,
        tempfile::TempDir,
    ) {
        let Handler {
            pipeline,
            source,
            metrics,
            ..
        } = job.handler;
        let handler = Handler {
            pipeline,
            source,
            alerts,
            poison,
            thresholds: Thresholds::default(),
            metrics,
        };
        (handler, job.metrics, job._work)
    }

    #[tokio::test]
    async fn a_message_handed_back_emits_no_metrics_and_its_retry_counts_once() {
        let job = in_memory();
        let event = sqs_event(&[notification(KEY)]);
        let (refusing, metrics, _work) = with_queues(job, Some(Refusing), None);
        let answer = refusing.handle(event.clone(), no_deadline()).await.unwrap();
        assert_eq!(
            answer,
            json!({"batchItemFailures": [{"itemIdentifier": "m0"}]})
        );
        assert_eq!(
            metrics.total("LinesParsed"),
            0.0,
            "counted before the message was done"
        );

        let Handler {
            pipeline,
            source,
            metrics: sink,
            ..
        } = refusing;
        let retry = Handler {
            pipeline,
            source,
            alerts: Some(MemoryQueue::default()),
            poison: None,
            thresholds: Thresholds::default(),
            metrics: sink,
        };
        let answer = retry.handle(event, no_deadline()).await.unwrap();
        assert_eq!(answer, json!({"batchItemFailures": []}));
        assert_eq!(
            metrics.total("LinesParsed"),
            200.0,
            "counted once, by the retry that finished"
        );
    }

    #[tokio::test]
    async fn poison_that_cannot_be_parked_is_handed_back_not_lost() {
        let event = sqs_event(&[json!("not a notification")]);
        for poison in [None, Some(Refusing)] {
            let (handler, metrics, _work) = with_queues(in_memory(), None::<Refusing>, poison);
            let answer = handler.handle(event.clone(), no_deadline()).await.unwrap();
            assert_eq!(
                answer,
                json!({"batchItemFailures": [{"itemIdentifier": "m0"}]}),
                "acknowledged without being parked"
            );
            assert_eq!(
                metrics.total("PoisonMessages"),
                0.0,
                "counted before it was parked"
            );
        }
        let (handler, metrics, _work) =
            with_queues(in_memory(), None, Some(MemoryQueue::default()));
        let answer = handler.handle(event, no_deadline()).await.unwrap();
        assert_eq!(answer, json!({"batchItemFailures": []}));
        assert_eq!(metrics.total("PoisonMessages"), 1.0, "parked: counted once");
    }

    #[tokio::test]
    async fn a_deleted_object_is_skipped_and_a_failing_queue_is_retried() {
        let job = in_memory();
        let gone = sqs_event(&[notification("AWSLogs/gone.log")]);
        assert_eq!(
            job.handler.handle(gone, no_deadline()).await.unwrap(),
            json!({"batchItemFailures": []})
        );
        assert!(job.documents.documents().is_empty());

        // Alerts that cannot be published: the message is handed back, not acknowledged.
        struct Refusing;
        impl MessageQueue for Refusing {
            async fn send(&self, _body: &str) -> Result<String, fleetwatch_ports::QueueError> {
                Err(fleetwatch_ports::QueueError::Send(
                    fleetwatch_ports::Fault::transient("ServiceUnavailable"),
                ))
            }
        }
        let Handler {
            pipeline,
            source,
            metrics,
            ..
        } = job.handler;
        let refusing = Handler {
            pipeline,
            source,
            alerts: Some(Refusing),
            poison: None,
            thresholds: Thresholds::default(),
            metrics,
        };
        let answer = refusing
            .handle(sqs_event(&[notification(KEY)]), no_deadline())
            .await
            .unwrap();
        assert_eq!(
            answer,
            json!({"batchItemFailures": [{"itemIdentifier": "m0"}]})
        );
    }

    /// A source whose reads of one key never answer, as a GET on a stalled connection would not
    /// before its own timeout.
    struct StallingOn {
        objects: MemoryObjectSource,
        key: String,
    }

    impl ObjectSource for StallingOn {
        async fn open(
            &self,
            object: &ObjectRef,
        ) -> Result<crate::source::ObjectBody, crate::source::ObjectError> {
            if object.key == self.key {
                std::future::pending::<()>().await;
            }
            self.objects.open(object).await
        }
    }

    /// The in-memory job reading from another source.
    fn with_source<S1, S2: ObjectSource + Sync>(
        handler: Handler<S1, MemoryDocuments, MemoryStore, MemoryQueue>,
        source: S2,
    ) -> Handler<S2, MemoryDocuments, MemoryStore, MemoryQueue> {
        let Handler {
            pipeline,
            alerts,
            poison,
            thresholds,
            metrics,
            ..
        } = handler;
        Handler {
            pipeline,
            source,
            alerts,
            poison,
            thresholds,
            metrics,
        }
    }

    /// `KEY` written by another load balancer node: another object of the same load balancer.
    fn other_key(node: &str) -> String {
        KEY.replace("in0mem0y", node)
    }

    fn source_of(keys: &[&str]) -> MemoryObjectSource {
        let source = MemoryObjectSource::default();
        for key in keys {
            source.put("logs", key, &format!("etag-{key}"), log_object());
        }
        source
    }

    /// Lambda's own end of the invocation, on the paused clock: a handler that ignored its
    /// deadline would run into it and fail the test instead of hanging it.
    async fn within_lambda_timeout(
        invocation: impl std::future::Future<Output = Result<Value, HandlerError>>,
    ) -> Value {
        tokio::time::timeout(std::time::Duration::from_secs(300), invocation)
            .await
            .expect("the invocation ran into Lambda's timeout")
            .unwrap()
    }

    /// Lambda would end the invocation at its timeout and redeliver the whole batch, the message
    /// already done included, whose metrics were out: counted twice. At the deadline the object
    /// in progress is abandoned, the rest handed back unstarted, the done one acknowledged; the
    /// redelivery counts each object once.
    #[tokio::test(start_paused = true)]
    async fn at_the_deadline_the_rest_of_the_batch_is_handed_back_and_counted_once() {
        let job = in_memory();
        let (slow, later) = (other_key("slow0001"), other_key("later001"));
        let stalling = StallingOn {
            objects: source_of(&[KEY, &slow, &later]),
            key: slow.clone(),
        };
        let handler = with_source(job.handler, stalling);
        let batch = sqs_event(&[notification(KEY), notification(&slow), notification(&later)]);
        let deadline = Instant::now() + std::time::Duration::from_secs(60);

        let answer = within_lambda_timeout(handler.handle(batch, deadline)).await;
        assert_eq!(
            answer,
            json!({"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}),
            "the stalled message and the one after it are handed back"
        );
        assert!(
            Instant::now() >= deadline,
            "abandoned at the deadline, not before"
        );
        assert_eq!(
            job.metrics.total("LinesParsed"),
            200.0,
            "the done message counts"
        );
        assert_eq!(job.documents.documents().len(), 200);

        let redelivery = sqs_event(&[notification(&slow), notification(&later)]);
        let handler = with_source(handler, source_of(&[KEY, &slow, &later]));
        let answer = handler.handle(redelivery, no_deadline()).await.unwrap();
        assert_eq!(answer, json!({"batchItemFailures": []}));
        assert_eq!(
            job.metrics.total("LinesParsed"),
            600.0,
            "three objects of 200 parsed lines, each counted once"
        );
        assert_eq!(job.documents.documents().len(), 600);
    }

    /// An output store whose writes stop answering while `stalled` is set.
    #[derive(Clone, Default)]
    struct StallingStore {
        files: Arc<MemoryStore>,
        stalled: Arc<std::sync::atomic::AtomicBool>,
    }

    impl OutputStore for StallingStore {
        async fn put_file(
            &self,
            key: &str,
            file: &std::path::Path,
            content_type: &str,
        ) -> Result<(), crate::store::StoreError> {
            if self.stalled.load(std::sync::atomic::Ordering::SeqCst) {
                std::future::pending::<()>().await;
            }
            self.files.put_file(key, file, content_type).await
        }

        fn describe(&self, key: &str) -> String {
            self.files.describe(key)
        }
    }

    /// Abandoned after its documents were indexed and before its table output was stored: the
    /// redelivery indexes nothing twice, stores the output, and counts the object once.
    #[tokio::test(start_paused = true)]
    async fn an_object_abandoned_half_way_is_redone_without_duplicates() {
        let job = in_memory();
        let store = StallingStore::default();
        store
            .stalled
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let Handler {
            pipeline,
            source,
            alerts,
            poison,
            thresholds,
            metrics,
        } = job.handler;
        let handler = Handler {
            pipeline: Pipeline {
                pass: pipeline.pass,
                search: pipeline.search,
                table: Some((store.clone(), "alb/".into())),
                errors: (store.clone(), "alb-errors/".into()),
            },
            source,
            alerts,
            poison,
            thresholds,
            metrics,
        };
        let event = sqs_event(&[notification(KEY)]);
        let deadline = Instant::now() + std::time::Duration::from_secs(60);

        let answer = within_lambda_timeout(handler.handle(event.clone(), deadline)).await;
        assert_eq!(
            answer,
            json!({"batchItemFailures": [{"itemIdentifier": "m0"}]})
        );
        assert_eq!(
            job.documents.documents().len(),
            200,
            "indexed before the stall"
        );
        assert!(store.files.files().is_empty());
        assert_eq!(
            job.metrics.total("LinesParsed"),
            0.0,
            "not done, not counted"
        );
        assert!(
            handler.alerts.as_ref().unwrap().messages().is_empty(),
            "alerts go out once the object is done"
        );

        store
            .stalled
            .store(false, std::sync::atomic::Ordering::SeqCst);
        let answer = handler.handle(event, no_deadline()).await.unwrap();
        assert_eq!(answer, json!({"batchItemFailures": []}));
        assert_eq!(job.documents.documents().len(), 200, "no document twice");
        assert_eq!(
            store.files.files().len(),
            2,
            "the table output and the dead letters"
        );
        assert_eq!(job.metrics.total("LinesParsed"), 200.0);
        assert_eq!(job.metrics.total("DocumentsAlreadyIndexed"), 200.0);
    }

    /// A direct invocation out of time fails for Lambda's retry; a Batch Operations task answers
    /// TemporaryFailure, which Batch Operations retries.
    #[tokio::test(start_paused = true)]
    async fn out_of_time_is_retried_on_every_trigger() {
        let stalling = || StallingOn {
            objects: source_of(&[KEY]),
            key: KEY.into(),
        };
        let deadline = || Instant::now() + std::time::Duration::from_secs(60);

        let handler = with_source(in_memory().handler, stalling());
        let error = tokio::time::timeout(
            std::time::Duration::from_secs(300),
            handler.handle(notification(KEY), deadline()),
        )
        .await
        .expect("the invocation ran into Lambda's timeout")
        .unwrap_err();
        assert!(
            matches!(error.0, ObjectFailure::OutOfTime { started: true }),
            "{error:?}"
        );

        let job = json!({
            "invocationSchemaVersion": "1.0", "invocationId": "inv-1", "job": {"id": "job-1"},
            "tasks": [{"taskId": "t1", "s3Key": KEY, "s3VersionId": null,
                       "s3BucketArn": "arn:aws:s3:::logs"},
                      {"taskId": "t2", "s3Key": other_key("later001"), "s3VersionId": null,
                       "s3BucketArn": "arn:aws:s3:::logs"}]
        });
        let answer = within_lambda_timeout(handler.handle(job, deadline())).await;
        let results = &answer["results"];
        for (n, started) in [(0, "was done"), (1, "to start")] {
            assert_eq!(results[n]["resultCode"], "TemporaryFailure", "{answer}");
            assert!(
                results[n]["resultString"]
                    .as_str()
                    .unwrap()
                    .contains(started),
                "{answer}"
            );
        }
    }
}
