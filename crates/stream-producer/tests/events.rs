//! The handler driven by the sample events in `events/`, with the synthetic source, a file
//! cursor and the Kinesis stand-in.

use std::time::{SystemTime, UNIX_EPOCH};

use ks_producer::config::Overrides;
use ks_producer::synthetic::id_of;
use ks_sources::file::FileCursorStore;
use ks_sources::kinesis::KinesisSink;
use ks_testkit::With as _;
use ks_testkit::kinesis::{Faults, KinesisStandIn};
use ks_testkit::local_sdk_config;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use stream_producer::{AnySource, AnyStore, State, overrides_from_event};
use stream_producer::{ProducerConfig, SourceConfig};

fn sample(name: &str) -> Value {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .unwrap()
}

fn state(server: &KinesisStandIn, dir: &std::path::Path, vars: &[(&str, &str)]) -> State {
    let mut all: Vec<(String, String)> = vec![
        ("STREAM_NAME".into(), "posts".into()),
        ("CURSOR_DIR".into(), dir.display().to_string()),
    ];
    all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config =
        ProducerConfig::from_lookup(|k| all.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
            .unwrap();
    let SourceConfig::Synthetic(synthetic) = config.source else {
        panic!("synthetic expected")
    };
    let source = AnySource::Synthetic(synthetic.source(config.cursor_key.clone()));
    let conf = KinesisSink::configure(local_sdk_config!(aws_sdk_kinesis, server.url())).build();
    let sink = KinesisSink::new(aws_sdk_kinesis::Client::from_conf(conf), "posts");
    State::new(
        source,
        AnyStore::File(FileCursorStore::new(dir)),
        sink,
        config,
    )
}

fn event(payload: Value, request_id: &str) -> LambdaEvent<Value> {
    let mut ctx = Context::default();
    ctx.request_id = request_id.to_owned();
    ctx.deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 60_000;
    LambdaEvent::new(payload, ctx)
}

/// The Kinesis stand-in with `faults`, a cursor directory, and the function's state over both
/// with `vars` set.
async fn given(
    faults: Faults,
    vars: &[(&str, &str)],
) -> (KinesisStandIn, tempfile::TempDir, State) {
    let server = KinesisStandIn::start(faults).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = state(&server, dir.path(), vars);
    (server, dir, state)
}

/// The EventBridge rule's scheduled event, as invocation `request_id`.
fn scheduled(request_id: &str) -> LambdaEvent<Value> {
    event(sample("eventbridge-scheduled.json"), request_id)
}

#[test]
fn the_scheduled_envelope_carries_no_overrides_and_the_scheduler_input_does() {
    // GIVEN the EventBridge rule's scheduled event THEN the configured budget stands
    let (o, ignored) = overrides_from_event(&sample("eventbridge-scheduled.json")).unwrap();
    assert_eq!(o, Overrides::default());
    assert!(ignored.is_empty(), "{ignored:?}");
    // GIVEN the Scheduler's custom input THEN its budget applies
    let (o, _) = overrides_from_event(&sample("eventbridge-scheduler-input.json")).unwrap();
    assert_eq!(
        o,
        Overrides {
            max_pages: Some(1),
            max_records: Some(100)
        }
    );
    // GIVEN a rule whose envelope detail carries overrides THEN they are read from `detail`
    let mut envelope = sample("eventbridge-scheduled.json");
    envelope["detail"] = json!({"max_records": 7});
    assert_eq!(
        overrides_from_event(&envelope).unwrap().0.max_records,
        Some(7)
    );
}

#[tokio::test]
async fn scheduled_invocations_put_new_posts_and_continue_from_the_cursor() {
    // GIVEN the synthetic source (250 posts an invocation), a file cursor, the Kinesis stand-in
    let (server, _dir, state) =
        given(Faults::default(), &[("SYNTHETIC_PER_INVOCATION", "250")]).await;
    // WHEN the scheduled event is handled twice
    let first = state.handle(scheduled("req-1")).await.unwrap();
    let second = state.handle(scheduled("req-2")).await.unwrap();
    // THEN each puts 250 new posts and moves the cursor on
    assert_eq!(first["put"], 250);
    assert_eq!(first["cursor_before"], Value::Null);
    assert_eq!(first["cursor_after"], id_of(249));
    assert_eq!(second["cursor_before"], id_of(249));
    assert_eq!(second["cursor_after"], id_of(499));
    assert_eq!(server.records().len(), 500);
    assert_eq!(server.stats.calls(), 2);
}

#[tokio::test]
async fn the_scheduler_input_narrows_the_budget() {
    let (_server, _dir, state) =
        given(Faults::default(), &[("SYNTHETIC_PER_INVOCATION", "1000")]).await;
    // WHEN invoked with the custom input (1 page, 100 records)
    let out = state
        .handle(event(sample("eventbridge-scheduler-input.json"), "req-1"))
        .await
        .unwrap();
    // THEN only one page of 100 is fetched and put
    assert_eq!(
        (
            out["pages"].as_u64(),
            out["put"].as_u64(),
            out["stop"].as_str()
        ),
        (Some(1), Some(100), Some("max_records"))
    );
    // AND a bad override fails the invocation, naming the key
    let err = state
        .handle(event(json!({"max_pages": -1}), "req-2"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("max_pages"), "{err}");
}

#[tokio::test]
async fn a_stream_that_keeps_throttling_fails_the_invocation_and_holds_the_cursor() {
    let (server, _dir, state) = given(
        Faults::with(|f| f.fail_fraction = 1.0),
        &[
            ("SYNTHETIC_PER_INVOCATION", "20"),
            ("PUT_MAX_ATTEMPTS", "3"),
            ("PUT_BACKOFF_BASE_MS", "1"),
            ("PUT_BACKOFF_CAP_MS", "5"),
        ],
    )
    .await;
    let err = state.handle(scheduled("req-1")).await.unwrap_err();
    assert!(
        err.to_string().contains("20 records not delivered"),
        "{err}"
    );
    use ks_producer::CursorStore as _;
    assert_eq!(
        state.store.load(&state.config.cursor_key).await.unwrap(),
        None
    );
    assert_eq!(server.stats.calls(), 3);
}

#[tokio::test]
async fn an_empty_streak_counts_up_and_a_run_with_records_ends_it() {
    // GIVEN a warm function whose source came back empty twice
    let (_server, _dir, state) = given(Faults::default(), &[("SOURCE_EMPTY_WARN_RUNS", "2")]).await;
    assert_eq!((state.count_empty(true), state.count_empty(true)), (1, 2));
    // WHEN a run puts posts
    let out = state.handle(scheduled("req-1")).await.unwrap();
    // THEN it is no empty run, the streak is over, and the next empty run starts it again
    assert_eq!(
        (out["source_empty"].as_u64(), out["empty_runs"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(state.count_empty(true), 1);
}

#[tokio::test]
async fn a_local_emulators_relative_deadline_still_leaves_time_to_work() {
    // GIVEN `cargo lambda watch`'s deadline header: the timeout (600000 ms), not an epoch time
    let (_server, _dir, state) =
        given(Faults::default(), &[("SYNTHETIC_PER_INVOCATION", "10")]).await;
    let mut e = scheduled("req-1");
    e.context.deadline = 600_000;
    // WHEN handled THEN the posts are fetched and put, not skipped for lack of time
    let out = state.handle(e).await.unwrap();
    assert_eq!(
        (out["put"].as_u64(), out["stop"].as_str()),
        (Some(10), Some("caught_up"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_30_percent_entry_throttling_retries_last_while_time_remains_and_few_are_sent_twice()
{
    // GIVEN a stream that throttles 30% of entries at random, and a scheduled producer putting
    // 2,000 posts an invocation with the default attempt limit (backoffs shortened for speed)
    let (server, _dir, state) = given(
        Faults::with(|f| {
            f.fail_fraction = 0.3;
            f.seed = 30;
        }),
        &[
            ("SYNTHETIC_PER_INVOCATION", "2000"),
            // Posts only: duplicates are counted by post id.
            ("SYNTHETIC_DELETE_EVERY", "0"),
            ("PUT_BACKOFF_BASE_MS", "1"),
            ("PUT_BACKOFF_CAP_MS", "5"),
        ],
    )
    .await;
    // WHEN it runs 20 times
    let mut failed_invocations = 0;
    for i in 0..20 {
        let out = state.handle(scheduled(&format!("req-{i}"))).await;
        failed_invocations += u32::from(out.is_err());
    }
    // THEN no invocation gave up on a throttled entry while it had time, and records sent
    // twice (delivered past a failure, then re-sent by the next run) stay under 2%
    let ids: Vec<String> = server
        .records()
        .iter()
        .map(|r| id_of_post(&r.data))
        .collect();
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    let duplicates = ids.len() - distinct.len();
    let share = duplicates as f64 / distinct.len() as f64;
    println!(
        "30% entry throttling: {} records accepted, {} distinct, {duplicates} duplicates ({:.3}%), {failed_invocations} failed invocations, {} PutRecords calls",
        ids.len(),
        distinct.len(),
        share * 100.0,
        server.stats.calls()
    );
    assert_eq!(
        distinct.len(),
        20 * 1_000,
        "MAX_PAGES (10) pages of 100 posts an invocation"
    );
    assert!(share <= 0.02, "{:.2}% duplicates", share * 100.0);
    assert_eq!(failed_invocations, 0);
}

fn id_of_post(data: &[u8]) -> String {
    let v: Value = serde_json::from_slice(data).unwrap();
    v["id"].to_string()
}
