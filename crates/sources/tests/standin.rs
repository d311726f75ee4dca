//! Fault injection: the Kinesis sink against the PutRecords stand-in failing a share of entries
//! with ProvisionedThroughputExceeded. All records still arrive, exactly once, in per-key order.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use ks_producer::cursor::{MemoryCursorStore, id_cmp};
use ks_producer::run::{ProduceSettings, produce};
use ks_producer::synthetic::{SyntheticSource, id_of};
use ks_sources::kinesis::KinesisSink;
use ks_testkit::With as _;
use ks_testkit::kinesis::{Faults, KinesisStandIn};
use ks_testkit::local_sdk_config;
use serde_json::Value;
use tokio::time::Instant;

fn sink(server: &KinesisStandIn) -> KinesisSink {
    let conf = KinesisSink::configure(local_sdk_config!(aws_sdk_kinesis, server.url())).build();
    KinesisSink::new(aws_sdk_kinesis::Client::from_conf(conf), "standin")
}

fn settings() -> ProduceSettings {
    let mut s = ProduceSettings {
        max_pages: 100,
        max_records: 100_000,
        ..ProduceSettings::default()
    };
    s.keying.partition_key = Some("/user/username".into());
    s.delivery.retry.max_attempts = 30;
    s.delivery.retry.base = Duration::from_millis(1);
    s.delivery.retry.cap = Duration::from_millis(20);
    s
}

#[tokio::test]
async fn with_30_percent_of_entries_throttled_every_record_arrives_once_in_key_order() {
    // GIVEN a stream that throttles 30% of entries and fails every 7th call with a 500
    let server = KinesisStandIn::start(Faults::with(|f| {
        f.fail_fraction = 0.3;
        f.seed = 42;
        f.error_every = 7;
    }))
    .await
    .unwrap();
    let sink = sink(&server);
    let store = MemoryCursorStore::default();
    let source = SyntheticSource::posts_only(3, 3_000);
    // WHEN 3,000 posts keyed by user are produced
    let out = produce(
        &source,
        &store,
        &sink,
        "k",
        &settings(),
        Instant::now() + Duration::from_secs(120),
        &mut fastrand::Rng::with_seed(9),
    )
    .await;
    // THEN the run succeeds after retries and the cursor is at the last post
    out.result.unwrap();
    assert!(
        out.summary.retries > 0 && server.stats.failed_entries() > 500,
        "{:?}",
        out.summary
    );
    assert_eq!(store.get("k").unwrap().position, id_of(2_999));
    // AND every post is stored exactly once
    let stored = server.records();
    let ids: Vec<String> = stored
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.data).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 3_000);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 3_000);
    // AND each user's posts were stored oldest first
    let mut last: HashMap<&str, &str> = HashMap::new();
    for (r, id) in stored.iter().zip(&ids) {
        if let Some(prev) = last.insert(r.partition_key.as_str(), id.as_str()) {
            assert!(
                id_cmp(prev, id).is_lt(),
                "user {}: {prev} stored before {id}",
                r.partition_key
            );
        }
    }
    // AND no request broke the service limits, and calls were counted as the server saw them
    assert_eq!(server.stats.rejected(), 0);
    assert!(server.stats.max_batch() <= 500);
    assert_eq!(out.summary.put_records_calls, server.stats.calls());
}

#[tokio::test]
async fn when_throttling_outlasts_the_retries_the_run_fails_and_the_cursor_holds() {
    // GIVEN a stream that throttles every entry
    let server = KinesisStandIn::start(Faults::with(|f| f.fail_fraction = 1.0))
        .await
        .unwrap();
    let sink = sink(&server);
    let store = MemoryCursorStore::default();
    store_cursor(&store, &id_of(99)).await;
    let source = SyntheticSource::posts_only(3, 50);
    let mut settings = settings();
    settings.delivery.retry.max_attempts = 4;
    // WHEN produced
    let out = produce(
        &source,
        &store,
        &sink,
        "k",
        &settings,
        Instant::now() + Duration::from_secs(30),
        &mut fastrand::Rng::with_seed(9),
    )
    .await;
    // THEN the invocation fails, nothing is stored, the cursor did not move
    let err = out.result.unwrap_err();
    assert!(
        err.to_string()
            .contains("ProvisionedThroughputExceededException"),
        "{err}"
    );
    assert_eq!(server.records().len(), 0);
    assert_eq!(store.get("k").unwrap().position, id_of(99));
    assert_eq!(server.stats.calls(), 4);
}

async fn store_cursor(store: &MemoryCursorStore, position: &str) {
    use ks_producer::CursorStore as _;
    store.save("k", None, position).await.unwrap();
}
