//! The AWS adapters of `fleetwatch-aws` against moto in server mode (real S3, SQS, SSM and
//! DynamoDB APIs on a loopback port), configured the way a function configures them.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use aws_smithy_types::byte_stream::ByteStream;
use fleetwatch_alb_logs::{ObjectError, ObjectRef, ObjectSource};
use fleetwatch_aws::{DynamoStateStore, S3Objects, SqsQueue, SsmSecrets};
use fleetwatch_ports::{
    ErrorChain, ManualClock, MessageQueue, SecretError, SecretSource, StateItem, StateStore,
};
use fleetwatch_test_support::moto::MotoServer;
use tokio::io::AsyncReadExt;

use crate::support::{MotoClients, TestResult};

/// Deterministic, poorly compressible bytes (an LCG), so a wrong byte anywhere is caught.
fn pseudo_random_bytes(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect()
}

fn object(bucket: &str, key: &str) -> ObjectRef {
    ObjectRef {
        bucket: bucket.into(),
        key: key.into(),
        size: None,
        etag: None,
        version_id: None,
    }
}

#[tokio::test]
async fn s3_streaming_put_and_get_of_a_multi_megabyte_object() -> TestResult {
    let moto = MotoServer::start()?;
    let s3 = moto.clients().await.s3();
    s3.create_bucket().bucket("logs").send().await.unwrap();

    // 12 MiB from a file, sent as a streaming body (aws-chunked with a trailing checksum).
    let content = pseudo_random_bytes(12 * 1024 * 1024 + 17);
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(&content).unwrap();
    let body = ByteStream::read_from()
        .path(file.path())
        .buffer_size(64 * 1024)
        .build()
        .await
        .unwrap();
    let key = "AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/25/a b+c.log.gz";
    let put = s3
        .put_object()
        .bucket("logs")
        .key(key)
        .body(body)
        .send()
        .await
        .unwrap();

    let source = S3Objects::new(s3.clone());
    let mut opened = source.open(&object("logs", key)).await.unwrap();
    assert_eq!(opened.content_length, Some(content.len() as u64));
    assert_eq!(
        opened.etag.as_deref(),
        put.e_tag().map(|e| e.trim_matches('"'))
    );
    // Read in small pieces, as a decoder would, and compare everything.
    let mut read = Vec::with_capacity(content.len());
    let mut chunk = vec![0u8; 8192];
    loop {
        let n = opened.reader.read(&mut chunk).await.unwrap();
        if n == 0 {
            break;
        }
        read.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(read.len(), content.len());
    assert!(read == content, "object bytes differ after the round trip");
    Ok(())
}

#[tokio::test]
async fn s3_missing_object_is_not_found_and_not_retryable() -> TestResult {
    let moto = MotoServer::start()?;
    let s3 = moto.clients().await.s3();
    s3.create_bucket().bucket("logs").send().await.unwrap();
    let source = S3Objects::new(s3);
    let error = match source.open(&object("logs", "gone.log.gz")).await {
        Ok(_) => panic!("a missing object opened"),
        Err(error) => error,
    };
    assert!(matches!(error, ObjectError::NotFound { .. }), "{error}");

    let error = match source.open(&object("no-such-bucket", "k")).await {
        Ok(_) => panic!("an object in a missing bucket opened"),
        Err(error) => error,
    };
    let ObjectError::Read { fault, .. } = &error else {
        panic!("not a read failure: {error}");
    };
    assert!(
        !fault.is_transient(),
        "a missing bucket will not appear by retrying"
    );
    let chain = ErrorChain(&error).to_string();
    assert!(
        chain.starts_with("reading s3://no-such-bucket/k: NoSuchBucket: "),
        "{chain}"
    );
    Ok(())
}

/// A notification from a versioned bucket names the version; when that version has been deleted
/// since, S3 answers `NoSuchVersion`: the object is gone as surely as with `NoSuchKey`, and
/// retrying will not bring it back.
#[tokio::test]
async fn s3_deleted_version_is_not_found() -> TestResult {
    let moto = MotoServer::start()?;
    let s3 = moto.clients().await.s3();
    s3.create_bucket().bucket("logs").send().await?;
    let versioning = aws_sdk_s3::types::VersioningConfiguration::builder()
        .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
        .build();
    s3.put_bucket_versioning()
        .bucket("logs")
        .versioning_configuration(versioning)
        .send()
        .await?;
    let put = s3
        .put_object()
        .bucket("logs")
        .key("a.log")
        .body(ByteStream::from_static(b"line\n"))
        .send()
        .await?;
    let version = put.version_id().expect("a versioned bucket").to_string();
    s3.delete_object()
        .bucket("logs")
        .key("a.log")
        .version_id(&version)
        .send()
        .await?;

    let mut gone = object("logs", "a.log");
    gone.version_id = Some(version);
    let error = match S3Objects::new(s3).open(&gone).await {
        Ok(_) => panic!("a deleted version opened"),
        Err(error) => error,
    };
    assert!(matches!(error, ObjectError::NotFound { .. }), "{error}");
    Ok(())
}

#[tokio::test]
async fn sqs_send_receive_delete() -> TestResult {
    let moto = MotoServer::start()?;
    let sqs = moto.clients().await.sqs();
    let url = sqs
        .create_queue()
        .queue_name("alerts")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue = SqsQueue::new(sqs.clone(), &url);

    let first_id = queue.send("single").await.unwrap();
    assert!(!first_id.is_empty());
    let batch: Vec<String> = (0..23).map(|i| format!("{{\"n\":{i}}}")).collect();
    let rejected = queue.send_all(&batch).await;
    assert!(rejected.is_empty(), "{rejected:?}");

    let mut received = Vec::new();
    for _ in 0..20 {
        let output = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        for message in output.messages() {
            received.push(message.body().unwrap().to_string());
            sqs.delete_message()
                .queue_url(&url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        if received.len() == 24 {
            break;
        }
    }
    received.sort();
    let mut expected: Vec<String> = batch.clone();
    expected.push("single".into());
    expected.sort();
    assert_eq!(received, expected);

    // Deleted means gone: nothing comes back, even after the visibility timeout would matter.
    let again = sqs
        .receive_message()
        .queue_url(&url)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    assert!(again.messages().is_empty());
    Ok(())
}

#[tokio::test]
async fn ssm_secure_string_is_read_decrypted_and_cached() -> TestResult {
    let moto = MotoServer::start()?;
    let ssm = moto.clients().await.ssm();
    let name = "/fleetwatch/slack/webhook";
    let value = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .unwrap();

    let clock = Arc::new(ManualClock::at_epoch_seconds(1_800_000_000));
    let secrets = SsmSecrets::new(ssm.clone(), Duration::from_secs(300), clock.clone());
    assert_eq!(secrets.secret(name).await.unwrap().expose(), value);

    // Served from the cache within its time: SSM no longer has it.
    ssm.delete_parameter().name(name).send().await.unwrap();
    clock.advance(Duration::from_secs(299));
    assert_eq!(secrets.secret(name).await.unwrap().expose(), value);

    // Once the cache time is over, the deletion shows, and the error names the parameter, not
    // the value.
    clock.advance(Duration::from_secs(1));
    let error = secrets.secret(name).await.unwrap_err();
    assert!(matches!(error, SecretError::NotFound { .. }), "{error}");
    assert!(error.to_string().contains(name));
    assert!(!error.to_string().contains("XXXXSECRET"));
    Ok(())
}

fn item(key: &str, value: &str, expires_at: u64) -> StateItem {
    StateItem {
        key: key.into(),
        value: value.into(),
        expires_at,
    }
}

#[tokio::test]
async fn dynamodb_conditional_put_refuses_a_duplicate() -> TestResult {
    let moto = MotoServer::start()?;
    let dynamodb = moto.clients().await.dynamodb();
    moto.create_state_table("state").await;
    let clock = Arc::new(ManualClock::at_epoch_seconds(1_000_000));
    let store = DynamoStateStore::new(dynamodb.clone(), "state", clock);

    let first = item("delivery#alert-1#ops", "posted", 2_000_000);
    assert!(store.put_if_absent(&first).await.unwrap());
    let duplicate = item("delivery#alert-1#ops", "posted again", 2_000_000);
    assert!(!store.put_if_absent(&duplicate).await.unwrap());
    assert_eq!(store.get(&first.key).await.unwrap(), Some(first.clone()));

    // An expired item that TTL has not deleted yet is absent, and can be claimed again.
    store.put(&item("stale", "old", 999_999)).await.unwrap();
    assert_eq!(store.get("stale").await.unwrap(), None);
    assert!(
        store
            .put_if_absent(&item("stale", "new", 2_000_000))
            .await
            .unwrap()
    );
    assert_eq!(store.get("stale").await.unwrap().unwrap().value, "new");

    store.delete(&first.key).await.unwrap();
    assert_eq!(store.get(&first.key).await.unwrap(), None);
    assert!(store.put_if_absent(&first).await.unwrap());
    Ok(())
}

#[tokio::test]
async fn dynamodb_errors_name_the_operation_and_key() -> TestResult {
    let moto = MotoServer::start()?;
    let dynamodb = moto.clients().await.dynamodb();
    let clock = Arc::new(ManualClock::at_epoch_seconds(1_000_000));
    let store = DynamoStateStore::new(dynamodb, "no-such-table", clock);
    let error = store
        .put_if_absent(&item("k", "v", u64::MAX))
        .await
        .unwrap_err();
    let text = ErrorChain(&error).to_string();
    assert!(
        text.starts_with("state store conditional put of k: ResourceNotFoundException: "),
        "{text}"
    );
    assert!(!error.is_transient());
    Ok(())
}
