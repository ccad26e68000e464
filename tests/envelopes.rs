//! Every wrapper an S3 "object created" notification arrives in, decoded from the fixtures in
//! `events/envelopes/` (written from the AWS documentation's examples of each format).

use std::path::PathBuf;

use fleetwatch_alb_logs::{
    BatchJob, BatchTask, EnvelopeError, ObjectRef, SqsItem, Trigger, decode_trigger,
};

fn fixture(name: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../events/envelopes")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

const ACCESS_KEY: &str = "prod/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/25/123456789012_elasticloadbalancing_eu-west-1_app.web+api.50dc6c495c0c9188_20261125T1005Z_10.0.1.7_2et2e1mx.log.gz";

fn access_object() -> ObjectRef {
    ObjectRef {
        bucket: "acme-alb-logs".into(),
        key: ACCESS_KEY.into(),
        size: Some(52344),
        etag: Some("0123456789abcdef0123456789abcdef".into()),
        version_id: Some("096fKKXTRTtl3on89fVO.nfljtsv6qko".into()),
    }
}

fn spaced_object() -> ObjectRef {
    ObjectRef {
        bucket: "acme-alb-logs".into(),
        key: "manual upload/access log 2026-11-25.log.gz".into(),
        size: Some(0),
        etag: Some("0123456789abcdef0123456789abcdef".into()),
        version_id: None,
    }
}

fn eventbridge_object() -> ObjectRef {
    ObjectRef {
        bucket: "acme-alb-logs".into(),
        key: "prod/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/25/conn_log_123456789012_elasticloadbalancing_eu-west-1_app.web.50dc6c495c0c9188_20261125T1005Z_10.0.1.7_abc.log.gz".into(),
        size: Some(1024),
        etag: Some("fedcba9876543210fedcba9876543210".into()),
        version_id: None,
    }
}

#[test]
fn direct_s3_notification_keeps_created_objects_only_with_decoded_keys() {
    assert_eq!(
        decode_trigger(&fixture("s3-notification.json")).unwrap(),
        Trigger::Direct(vec![access_object()])
    );
}

#[test]
fn sns_lambda_event_unwraps_the_s3_notification() {
    assert_eq!(
        decode_trigger(&fixture("sns-s3.json")).unwrap(),
        Trigger::Direct(vec![spaced_object()])
    );
}

#[test]
fn eventbridge_object_created_uses_the_key_verbatim() {
    assert_eq!(
        decode_trigger(&fixture("eventbridge-object-created.json")).unwrap(),
        Trigger::Direct(vec![eventbridge_object()])
    );
}

#[test]
fn sqs_batch_decodes_each_message_on_its_own() {
    let Trigger::Sqs(items) = decode_trigger(&fixture("sqs-batch.json")).unwrap() else {
        panic!("not an SQS trigger");
    };
    let ids: Vec<&str> = items.iter().map(|i| i.message_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "059f36b4-87a3-44ab-83d2-661975830a7d",
            "2e1424d4-f796-459a-8184-9c92662be6da",
            "3b7c1a9e-0d5e-4f6a-9c1b-8e2d4f6a0b1c",
            "4c8d2b0f-1e6f-4a7b-8d2c-9f3e5a7b1c2d",
            "5d9e3c1a-2f7a-4b8c-9e3d-0a4f6b8c2d3e",
        ]
    );
    let objects: Vec<&Result<Vec<ObjectRef>, EnvelopeError>> =
        items.iter().map(|i: &SqsItem| &i.objects).collect();
    assert_eq!(objects[0], &Ok(vec![access_object()]), "S3 in SQS");
    assert_eq!(objects[1], &Ok(vec![]), "s3:TestEvent names no object");
    assert_eq!(objects[2], &Ok(vec![spaced_object()]), "SNS in SQS");
    assert_eq!(
        objects[3],
        &Ok(vec![eventbridge_object()]),
        "EventBridge in SQS"
    );
    assert!(
        matches!(objects[4], Err(EnvelopeError::InvalidJson(_))),
        "a truncated body is an error for that message only: {:?}",
        objects[4]
    );
}

#[test]
fn batch_operations_schema_1_takes_the_bucket_from_the_arn_and_decodes_the_key() {
    assert_eq!(
        decode_trigger(&fixture("s3-batch-job-v1.json")).unwrap(),
        Trigger::BatchJob(BatchJob {
            invocation_id: "YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo".into(),
            invocation_schema_version: "1.0".into(),
            tasks: vec![BatchTask {
                task_id: "dGFza2lkZ29lc2hlcmUK".into(),
                object: Ok(ObjectRef {
                    bucket: "acme-alb-logs".into(),
                    key: "prod/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2025/01/02/old file+1.log.gz".into(),
                    size: None,
                    etag: None,
                    version_id: Some("1".into()),
                }),
            }],
        })
    );
}

#[test]
fn batch_operations_schema_2_reports_a_task_without_bucket() {
    let Trigger::BatchJob(job) = decode_trigger(&fixture("s3-batch-job-v2.json")).unwrap() else {
        panic!("not a batch job");
    };
    assert_eq!(job.invocation_schema_version, "2.0");
    assert_eq!(
        job.tasks[0].object,
        Ok(ObjectRef {
            bucket: "acme-alb-logs".into(),
            key: "prod/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2025/01/03/a.log.gz"
                .into(),
            size: None,
            etag: None,
            version_id: None,
        })
    );
    assert_eq!(
        job.tasks[1].object,
        Err(EnvelopeError::MissingField("s3Bucket"))
    );
}

#[test]
fn an_unknown_invocation_is_an_error() {
    let error = decode_trigger(&serde_json::json!({"detail-type": "Scheduled Event"})).unwrap_err();
    assert!(matches!(error, EnvelopeError::UnknownShape(_)), "{error}");
}
