//! `fleetwatch-search`'s bulk indexer against the `_bulk` fake (OpenSearch cannot run here; the
//! fake answers with Elasticsearch's real status codes and per-item results).

use std::time::Duration;

use std::sync::Arc;

use fleetwatch_ports::{ManualClock, Secret};
use fleetwatch_search::{Auth, BulkConfig, BulkError, BulkIndexer, BulkOp};
use fleetwatch_test_support::bulk::{BulkFake, ItemFault, RequestFault};

fn config(fake: &BulkFake, op: BulkOp) -> BulkConfig {
    let mut config = BulkConfig::new(fake.base_url(), "logs-aws.elb-default", op);
    config.max_batch_docs = 50;
    config.initial_backoff = Duration::from_millis(1);
    config.max_backoff = Duration::from_millis(5);
    config
}

fn doc(i: usize) -> Vec<u8> {
    format!("{{\"n\":{i},\"message\":\"line {i}\"}}").into_bytes()
}

async fn index_all(
    config: BulkConfig,
    auth: Auth,
    n: usize,
) -> Result<fleetwatch_search::BulkReport, BulkError> {
    // Backoff waits pass on a manual clock: retries are immediate.
    let clock = Arc::new(ManualClock::at_epoch_seconds(1_800_000_000));
    let mut indexer = BulkIndexer::new(config, auth, clock)?;
    for i in 0..n {
        indexer.add(&format!("obj-etag-{i}"), &doc(i)).await?;
    }
    indexer.finish().await
}

#[tokio::test]
async fn every_document_lands_once_and_a_rerun_adds_nothing() {
    let fake = BulkFake::start();
    let report = index_all(config(&fake, BulkOp::Create), Auth::None, 120)
        .await
        .unwrap();
    assert_eq!(report.indexed, 120);
    assert_eq!(report.requests, 3, "batches of 50");
    assert_eq!(fake.documents_in("logs-aws.elb-default").len(), 120);

    // The same input again (a retried S3 object): create refuses every id with 409.
    let again = index_all(config(&fake, BulkOp::Create), Auth::None, 120)
        .await
        .unwrap();
    assert_eq!((again.indexed, again.already_indexed), (0, 120));
    assert_eq!(fake.documents().len(), 120);
    assert!(fake.written_more_than_once().is_empty());
}

#[tokio::test]
async fn only_items_rejected_with_429_or_503_are_retried() {
    let fake = BulkFake::start();
    fake.fail_every_item(3, ItemFault::Rejected);
    fake.fail_next_items(7, ItemFault::Unavailable);
    let report = index_all(config(&fake, BulkOp::Create), Auth::None, 200)
        .await
        .unwrap();
    fake.clear_faults();
    assert_eq!(report.indexed, 200);
    assert!(report.dead_letters.is_empty());
    assert!(report.retried_items > 0);
    assert_eq!(fake.documents().len(), 200);
    assert!(
        fake.written_more_than_once().is_empty(),
        "a retry re-sent a stored document"
    );
}

#[tokio::test]
async fn whole_request_429_and_5xx_are_retried() {
    let fake = BulkFake::start();
    fake.fail_next_requests(1, RequestFault::too_many_requests(0));
    fake.fail_next_requests(1, RequestFault::server_error(502));
    let report = index_all(config(&fake, BulkOp::Index), Auth::None, 10)
        .await
        .unwrap();
    assert_eq!(report.indexed, 10);
    assert_eq!(report.requests, 3);
}

#[tokio::test]
async fn permanent_item_failures_become_dead_letters_with_their_document() {
    let fake = BulkFake::start();
    fake.reject_documents_where(|_, doc| doc["n"].as_u64().is_some_and(|n| n % 10 == 4));
    let report = index_all(config(&fake, BulkOp::Create), Auth::None, 30)
        .await
        .unwrap();
    assert_eq!(report.indexed, 27);
    let ids: Vec<&str> = report.dead_letters.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["obj-etag-4", "obj-etag-14", "obj-etag-24"]);
    let first = &report.dead_letters[0];
    assert_eq!(first.status, 400);
    assert!(
        first.reason.starts_with("mapper_parsing_exception"),
        "{}",
        first.reason
    );
    assert_eq!(first.document, doc(4));
}

#[tokio::test]
async fn a_cluster_that_stays_busy_is_an_error_after_the_last_attempt() {
    let fake = BulkFake::start();
    fake.fail_every_request(1, RequestFault::server_error(503));
    let mut config = config(&fake, BulkOp::Create);
    config.max_attempts = 3;
    let error = index_all(config, Auth::None, 5).await.unwrap_err();
    assert!(
        matches!(
            error,
            BulkError::RetriesExhausted {
                attempts: 3,
                pending: 5,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(fake.stats().requests, 3);
}

#[tokio::test]
async fn basic_auth_is_sent_and_a_wrong_password_is_refused_without_leaking_it() {
    let fake = BulkFake::start_with_basic_auth("elastic", "s3cr3t-pw");
    let good = Auth::Basic {
        user: "elastic".into(),
        password: Secret::new("s3cr3t-pw"),
    };
    assert_eq!(
        index_all(config(&fake, BulkOp::Index), good, 3)
            .await
            .unwrap()
            .indexed,
        3
    );

    let bad = Auth::Basic {
        user: "elastic".into(),
        password: Secret::new("wrong-pw"),
    };
    let error = index_all(config(&fake, BulkOp::Index), bad, 3)
        .await
        .unwrap_err();
    assert!(
        matches!(error, BulkError::Refused { status: 401, .. }),
        "{error}"
    );
    let text = format!("{error} {error:?}");
    assert!(
        !text.contains("wrong-pw") && !text.contains("s3cr3t-pw"),
        "{text}"
    );
}
