//! The built binary, run as Lambda runs it: settings from the environment, Kinesis and DynamoDB
//! in moto's server reached through `AWS_ENDPOINT_URL`, a Mastodon server through the test kit's
//! stand-in, events through the Runtime API stand-in.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use ks_producer::synthetic::id_of;
use ks_testkit::emulator::{Killed, Moto};
use ks_testkit::local_sdk_config;
use ks_testkit::mastodon::{Instance, MastodonStandIn};
use ks_testkit::runtime_api::{Outcome, RuntimeApi};
use serde_json::Value;

mod common;
use common::{json_lines, spawn};

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../events/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A stream `posts` and a cursor table in moto, and clients for them.
async fn setup(moto: &Moto) -> (aws_sdk_kinesis::Client, aws_sdk_dynamodb::Client) {
    let kinesis =
        aws_sdk_kinesis::Client::from_conf(local_sdk_config!(aws_sdk_kinesis, moto.url()).build());
    kinesis
        .create_stream()
        .stream_name("posts")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let dynamodb = common::cursor_table(moto).await;
    (kinesis, dynamodb)
}

async fn answer(api: &RuntimeApi, event: Vec<u8>) -> Outcome {
    let id = api.push(event);
    api.outcome(&id, Duration::from_secs(60))
        .await
        .expect("an answer")
}

/// The Runtime API stand-in, and a directory for the function's log and file cursor.
async fn runtime() -> (RuntimeApi, tempfile::TempDir) {
    let api = RuntimeApi::start(Duration::from_secs(60)).await.unwrap();
    (api, tempfile::tempdir().unwrap())
}

/// The function reading the Mastodon stand-in `server`, its cursor and its log (`log`) in
/// `dir`, with `extra` set too.
fn spawn_on_mastodon(
    api: &RuntimeApi,
    dir: &tempfile::TempDir,
    server: &MastodonStandIn,
    extra: &[(&str, &str)],
) -> Killed {
    let (url, cursors) = (server.url(), dir.path().display().to_string());
    let mut vars = vec![
        ("STREAM_NAME", "s"),
        ("SOURCE", "mastodon"),
        ("MASTODON_URL", url.as_str()),
        ("CURSOR_DIR", cursors.as_str()),
    ];
    vars.extend_from_slice(extra);
    spawn(api, &dir.path().join("log"), &vars)
}

/// Waits for a function that must fail its cold start, and checks it asked for no work.
async fn refused_to_start(api: &RuntimeApi, mut child: Killed) {
    let status = tokio::task::spawn_blocking(move || child.0.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(!status.success());
    assert!(api.first_next().is_none());
}

#[tokio::test]
async fn the_binary_puts_posts_into_kinesis_and_checkpoints_in_dynamodb() {
    let moto = Moto::start();
    // GIVEN a stream and a cursor table in moto, reachable only through AWS_ENDPOINT_URL
    let (kinesis, dynamodb) = setup(&moto).await;
    let (api, dir) = runtime().await;
    let log = dir.path().join("function.log");
    let _fn = spawn(
        &api,
        &log,
        &[
            ("AWS_ENDPOINT_URL", &moto.url()),
            ("SOURCE", "synthetic"),
            ("SYNTHETIC_PER_INVOCATION", "300"),
            ("STREAM_NAME", "posts"),
            ("CURSOR_STORE", "dynamodb"),
            ("CURSOR_TABLE", "cursors"),
        ],
    );
    // WHEN the scheduled event, then the Scheduler's custom input, are invoked
    let Outcome::Response(first) = answer(&api, sample("eventbridge-scheduled.json")).await else {
        panic!("the first invocation failed")
    };
    let Outcome::Response(second) = answer(&api, sample("eventbridge-scheduler-input.json")).await
    else {
        panic!("the second invocation failed")
    };
    let first: Value = serde_json::from_slice(&first).unwrap();
    let second: Value = serde_json::from_slice(&second).unwrap();
    // THEN 300 then 100 (the overridden budget) posts are put and the cursor follows them
    assert_eq!(
        (first["put"].as_u64(), second["put"].as_u64()),
        (Some(300), Some(100))
    );
    let item = dynamodb
        .get_item()
        .table_name("cursors")
        .key("source", AttributeValue::S("synthetic:42".into()))
        .send()
        .await
        .unwrap();
    let position = item
        .item()
        .and_then(|i| i.get("position"))
        .and_then(|v| v.as_s().ok())
        .cloned();
    assert_eq!(position, Some(id_of(399)));
    // AND the stream holds exactly those 400 records
    let shard = kinesis
        .list_shards()
        .stream_name("posts")
        .send()
        .await
        .unwrap()
        .shards()[0]
        .shard_id()
        .to_owned();
    let it = kinesis
        .get_shard_iterator()
        .stream_name("posts")
        .shard_id(shard)
        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap();
    let records = kinesis
        .get_records()
        .shard_iterator(it.shard_iterator().unwrap())
        .limit(1_000)
        .send()
        .await
        .unwrap();
    assert_eq!(records.records().len(), 400);
    // AND each invocation logged one JSON summary line and one EMF document
    let logs = std::fs::read_to_string(&log).unwrap();
    let summaries: Vec<Value> = json_lines(&logs, "invocation summary");
    assert_eq!(summaries.len(), 2, "{logs}");
    assert_eq!(summaries[0]["fields"]["put"], 300);
    assert_eq!(summaries[1]["fields"]["max_pages"], 1);
    let emf = logs.lines().filter(|l| l.contains("\"_aws\"")).count();
    assert_eq!(emf, 2, "{logs}");
}

#[tokio::test]
async fn a_missing_stream_fails_the_invocation() {
    let moto = Moto::start();
    let _ = setup(&moto).await;
    let (api, dir) = runtime().await;
    let _fn = spawn(
        &api,
        &dir.path().join("log"),
        &[
            ("AWS_ENDPOINT_URL", &moto.url()),
            ("STREAM_NAME", "nope"),
            ("CURSOR_DIR", &dir.path().display().to_string()),
        ],
    );
    let Outcome::Error(body) = answer(&api, sample("eventbridge-scheduled.json")).await else {
        panic!("expected an error")
    };
    let body = String::from_utf8_lossy(&body);
    assert!(body.contains("ResourceNotFound"), "{body}");
}

#[tokio::test]
async fn a_bad_setting_stops_the_cold_start_naming_the_variable() {
    let (api, dir) = runtime().await;
    let log = dir.path().join("log");
    let child = spawn(
        &api,
        &log,
        &[("STREAM_NAME", "s"), ("MAX_RECORDS_PER_REQUEST", "900")],
    );
    refused_to_start(&api, child).await;
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(
        logs.contains("invalid MAX_RECORDS_PER_REQUEST=\\\"900\\\": must be between 1 and 500"),
        "{logs}"
    );
}

#[tokio::test]
async fn a_mastodon_server_with_its_live_feeds_off_stops_the_cold_start_naming_the_ways_out() {
    // GIVEN a Mastodon server that reports its live feeds disabled and its hashtag feeds open
    let server = MastodonStandIn::start(
        Instance::access(("disabled", "disabled"), ("public", "public")),
        (1..=5).collect(),
    )
    .await
    .unwrap();
    let (api, dir) = runtime().await;
    let log = dir.path().join("log");
    // WHEN the function starts on its federated timeline (the default)
    let child = spawn_on_mastodon(&api, &dir, &server, &[]);
    // THEN the cold start fails before asking for work, having read the instance only
    refused_to_start(&api, child).await;
    let paths: Vec<String> = server.requests().into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["/api/v2/instance"]);
    // AND the error names the server, the setting as it reports it, and the ways out
    let logs = std::fs::read_to_string(&log).unwrap();
    let line = logs
        .lines()
        .find(|l| l.contains("cannot start"))
        .unwrap_or_else(|| panic!("no start error in {logs}"));
    for needle in [
        server.url().as_str(),
        "MASTODON_TIMELINE=public",
        "configuration.timelines_access.live_feeds.local = disabled",
        "configuration.timelines_access.live_feeds.remote = disabled",
        "MASTODON_TIMELINE=tag:<hashtag>",
        "SOURCE=jetstream",
    ] {
        assert!(line.contains(needle), "{needle:?} missing from {line}");
    }
}

#[tokio::test]
async fn empty_runs_count_up_in_the_summary_and_emf_and_warn_from_the_threshold_on() {
    // GIVEN a Mastodon server (before 4.5) whose timeline has nothing, and a threshold of 2
    let server = MastodonStandIn::start(Instance::WithoutAccess, Vec::new())
        .await
        .unwrap();
    let (api, dir) = runtime().await;
    let log = dir.path().join("log");
    let _fn = spawn_on_mastodon(&api, &dir, &server, &[("SOURCE_EMPTY_WARN_RUNS", "2")]);
    // WHEN three scheduled runs find nothing
    let mut answers = Vec::new();
    for _ in 0..3 {
        let Outcome::Response(body) = answer(&api, sample("eventbridge-scheduled.json")).await
        else {
            panic!("an empty run failed")
        };
        let summary: Value = serde_json::from_slice(&body).unwrap();
        answers.push((
            summary["source_empty"].clone(),
            summary["empty_runs"].clone(),
        ));
    }
    // THEN each is empty and the streak counts up
    assert_eq!(
        answers,
        [
            (1.into(), 1.into()),
            (1.into(), 2.into()),
            (1.into(), 3.into())
        ]
    );
    // AND every EMF document carries SourceEmpty = 1, declared as a metric
    let logs = std::fs::read_to_string(&log).unwrap();
    let emf: Vec<Value> = json_lines(&logs, "\"_aws\"");
    assert_eq!(emf.len(), 3, "{logs}");
    for doc in &emf {
        assert_eq!(doc["SourceEmpty"], 1);
        let declared = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"].to_string();
        assert!(declared.contains("\"SourceEmpty\""), "{declared}");
    }
    // AND the warning comes on the 2nd and 3rd runs, naming the source, the count and the ways out
    let warnings: Vec<Value> = json_lines(&logs, "run after run");
    assert_eq!(warnings.len(), 2, "{logs}");
    assert_eq!(warnings[0]["level"], "WARN");
    assert_eq!(warnings[1]["fields"]["empty_runs"], 3);
    let hint = warnings[0]["fields"]["hint"].as_str().unwrap();
    assert!(
        hint.contains("SOURCE=jetstream") && hint.contains("MASTODON_TOKEN_PARAM"),
        "{hint}"
    );
    assert!(
        warnings[0]["fields"]["source"]
            .as_str()
            .unwrap()
            .starts_with("mastodon:127.0.0.1")
    );
}
