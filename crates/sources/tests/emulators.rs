//! The AWS adapters against moto's server (Kinesis and DynamoDB and SSM), started by the test on
//! a free loopback port and killed when the test ends. Records are read back with GetRecords.

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ks_producer::kpl::deaggregate;
use ks_producer::run::{Outcome, ProduceSettings, produce};
use ks_producer::synthetic::SyntheticSource;
use ks_producer::{CallError, CursorError, CursorStore, Entry, EntryOutcome, StreamSink};
use ks_sources::dynamodb::DynamoCursorStore;
use ks_sources::kinesis::KinesisSink;
use ks_sources::ssm::{SecretError, SsmSecrets};
use ks_testkit::emulator::{
    Moto, ReadRecord, create_stream, missing, read_stream, venv_bin, workspace_root,
};
use ks_testkit::local_sdk_config;
use ks_testkit::proc::run_with_stdin;
use serde_json::{Value, json};
use tokio::time::Instant;

fn kinesis(moto: &Moto) -> aws_sdk_kinesis::Client {
    let conf = KinesisSink::configure(local_sdk_config!(aws_sdk_kinesis, moto.url())).build();
    aws_sdk_kinesis::Client::from_conf(conf)
}

fn dynamodb(moto: &Moto) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(local_sdk_config!(aws_sdk_dynamodb, moto.url()).build())
}

fn ssm(moto: &Moto) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::from_conf(local_sdk_config!(aws_sdk_ssm, moto.url()).build())
}

fn id_of(data: &[u8]) -> String {
    serde_json::from_slice::<Value>(data).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `count` synthetic posts (seed `seed`) keyed by user, produced in one invocation into a new
/// stream (name, shards) in moto with `aggregation`; the client, and the invocation's outcome
/// (it succeeded).
async fn posts_into(
    moto: &Moto,
    (stream, shards): (&str, i32),
    seed: u64,
    count: usize,
    cursor_key: &str,
    aggregation: Option<usize>,
) -> (aws_sdk_kinesis::Client, Outcome) {
    let client = kinesis(moto);
    create_stream(&client, stream, shards).await;
    let sink = KinesisSink::new(client.clone(), stream);
    let store = ks_producer::cursor::MemoryCursorStore::default();
    let source = SyntheticSource::posts_only(seed, count);
    let mut settings = ProduceSettings {
        max_pages: 100,
        aggregation,
        ..ProduceSettings::default()
    };
    settings.keying.partition_key = Some("/user/username".into());
    let out = produce(
        &source,
        &store,
        &sink,
        cursor_key,
        &settings,
        Instant::now() + Duration::from_secs(60),
        &mut fastrand::Rng::with_seed(1),
    )
    .await;
    out.result.as_ref().unwrap();
    (client, out)
}

#[tokio::test]
async fn synthetic_posts_land_in_kinesis_once_each_and_read_back_in_key_order() {
    let moto = Moto::start();
    // GIVEN a two-shard stream in moto and 1,200 synthetic posts keyed by user
    // WHEN one invocation runs
    let (client, out) = posts_into(&moto, ("posts", 2), 11, 1_200, "synthetic:11", None).await;
    // THEN every post is in the stream exactly once, with the key from its user
    let read = read_stream(&client, "posts").await;
    assert_eq!(read.len(), 1_200);
    let ids: HashSet<String> = read.iter().map(|r| id_of(&r.data)).collect();
    assert_eq!(ids.len(), 1_200);
    for r in &read {
        let v: Value = serde_json::from_slice(&r.data).unwrap();
        assert_eq!(v["user"]["username"], r.partition_key.as_str());
    }
    // AND within a shard each user's posts come oldest first
    let mut last: HashMap<(String, String), String> = HashMap::new();
    for r in &read {
        let id = id_of(&r.data);
        if let Some(prev) = last.insert((r.shard.clone(), r.partition_key.clone()), id.clone()) {
            assert!(
                ks_producer::cursor::id_cmp(&prev, &id).is_lt(),
                "{}: {prev} then {id}",
                r.partition_key
            );
        }
    }
    assert!(
        read.iter().map(|r| &r.shard).collect::<HashSet<_>>().len() == 2,
        "both shards used"
    );
    assert_eq!(out.summary.put, 1_200);
    assert!(out.summary.put_records_calls >= 3);
}

#[tokio::test]
async fn per_entry_results_map_back_in_order_and_a_missing_stream_is_permanent() {
    let moto = Moto::start();
    let client = kinesis(&moto);
    create_stream(&client, "s", 1).await;
    let sink = KinesisSink::new(client.clone(), "s");
    let entries: Vec<Entry> = (0..3)
        .map(|i| Entry {
            data: vec![b'a' + i],
            partition_key: format!("k{i}"),
            explicit_hash_key: None,
        })
        .collect();
    let refs: Vec<&Entry> = entries.iter().collect();
    // GIVEN three entries WHEN put THEN three accepted outcomes with increasing sequence numbers
    let out = sink.put_records(&refs).await.unwrap();
    let seqs: Vec<String> = out
        .iter()
        .map(|o| match o {
            EntryOutcome::Accepted {
                sequence_number,
                shard_id,
            } => {
                assert_eq!(shard_id, "shardId-000000000000");
                sequence_number.clone()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(
        seqs.windows(2)
            .all(|w| w[0].len() < w[1].len() || w[0] < w[1]),
        "{seqs:?}"
    );
    // GIVEN a stream that does not exist THEN a permanent error naming it
    let missing = KinesisSink::new(client, "nope");
    let err = missing.put_records(&refs).await.unwrap_err();
    assert!(
        matches!(&err, CallError::Permanent(m) if m.contains("ResourceNotFound")),
        "{err}"
    );
}

#[tokio::test]
async fn a_dead_endpoint_is_transient() {
    let moto = Moto::start();
    let client = kinesis(&moto);
    drop(moto);
    let sink = KinesisSink::new(client, "s");
    let e = Entry {
        data: b"x".to_vec(),
        partition_key: "k".into(),
        explicit_hash_key: None,
    };
    let err = sink.put_records(&[&e]).await.unwrap_err();
    assert!(matches!(err, CallError::Transient(_)), "{err}");
}

/// Runs the PyPI de-aggregator over `records`; `None` (after the loud note) when the venv is missing.
fn python_deaggregate(records: &[ReadRecord]) -> Option<Vec<(String, Vec<u8>, bool)>> {
    let python = venv_bin("python");
    if !python.exists() {
        missing("the venv's python (with aws-kinesis-agg)", &python);
    }
    let input: Vec<Value> = records
        .iter()
        .map(|r| json!({"PartitionKey": r.partition_key, "SequenceNumber": r.sequence_number, "Data": B64.encode(&r.data)}))
        .collect();
    let script = workspace_root().join("crates/sources/tests/kpl_deaggregate.py");
    let mut cmd = Command::new(python);
    cmd.arg(script);
    let output = run_with_stdin(cmd, &serde_json::to_vec(&input).unwrap());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let users: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    Some(
        users
            .iter()
            .map(|u| {
                (
                    u["partitionKey"].as_str().unwrap().to_owned(),
                    B64.decode(u["data"].as_str().unwrap()).unwrap(),
                    u["aggregated"].as_bool().unwrap(),
                )
            })
            .collect(),
    )
}

#[tokio::test]
async fn aggregated_records_de_aggregate_with_ours_and_with_the_reference_library() {
    let moto = Moto::start();
    // GIVEN aggregation on (KPL's 51,200-byte default) and 2,000 posts keyed by user
    // WHEN produced into moto and read back
    let (client, out) = posts_into(&moto, ("agg", 1), 5, 2_000, "k", Some(51_200)).await;
    let read = read_stream(&client, "agg").await;
    assert_eq!(read.len() as u64, out.summary.kinesis_records);
    assert!(
        read.len() < 60,
        "{} Kinesis records for 2,000 posts",
        read.len()
    );
    let expected: Vec<(String, Vec<u8>)> = ks_producer::synthetic::posts(5, 0, 2_000)
        .into_iter()
        .map(|p| {
            let user = serde_json::from_slice::<Value>(&p.data).unwrap()["user"]["username"]
                .as_str()
                .unwrap()
                .to_owned();
            (user, p.data)
        })
        .collect();
    // THEN our decoder gives back every post once, with its own partition key
    let ours: Vec<(String, Vec<u8>)> = read
        .iter()
        .flat_map(|r| deaggregate(&r.partition_key, None, &r.data).unwrap())
        .map(|u| (u.partition_key, u.data))
        .collect();
    assert_eq!(sorted(ours.clone()), sorted(expected.clone()));
    // AND the reference de-aggregator agrees record for record, and saw real aggregates
    let Some(theirs) = python_deaggregate(&read) else {
        return;
    };
    assert!(
        theirs.iter().filter(|u| u.2).count() > 1_900,
        "most records came from aggregates"
    );
    let theirs: Vec<(String, Vec<u8>)> = theirs.into_iter().map(|(k, d, _)| (k, d)).collect();
    assert_eq!(theirs, ours);
}

fn sorted(mut v: Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    v.sort();
    v
}

async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    client
        .create_table()
        .table_name(name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("source")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("source")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn the_dynamodb_cursor_cannot_be_advanced_by_two_overlapping_invocations() {
    let moto = Moto::start();
    // GIVEN a cursor table and no cursor yet
    let client = dynamodb(&moto);
    create_table(&client, "cursors").await;
    let store = DynamoCursorStore::new(client.clone(), "cursors");
    assert_eq!(store.load("mastodon:m.example").await.unwrap(), None);
    // WHEN two invocations both create it, only one wins
    let first = store.save("mastodon:m.example", None, "100").await.unwrap();
    assert_eq!(first.version, 1);
    let err = store
        .save("mastodon:m.example", None, "90")
        .await
        .unwrap_err();
    assert!(matches!(err, CursorError::Conflict { .. }), "{err}");
    // AND two invocations that read version 1 cannot both advance it
    let a = store.load("mastodon:m.example").await.unwrap().unwrap();
    let b = store.load("mastodon:m.example").await.unwrap().unwrap();
    let advanced = store
        .save("mastodon:m.example", Some(&a), "200")
        .await
        .unwrap();
    let err = store
        .save("mastodon:m.example", Some(&b), "150")
        .await
        .unwrap_err();
    assert!(
        matches!(err, CursorError::Conflict { expected: 1, .. }),
        "{err}"
    );
    // THEN the stored cursor is the winner's
    assert_eq!(
        store.load("mastodon:m.example").await.unwrap(),
        Some(advanced)
    );
    // AND another source's cursor is independent
    assert_eq!(store.load("synthetic:42").await.unwrap(), None);
    // AND a missing table is "unavailable", naming the key
    let err = DynamoCursorStore::new(client, "nope")
        .load("k")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CursorError::Unavailable { key, reason } if key == "k" && reason.contains("ResourceNotFound")),
        "{err}"
    );
}

#[tokio::test]
async fn secrets_come_from_parameter_store_and_secrets_manager_through_one_client() {
    let moto = Moto::start();
    // GIVEN a SecureString parameter, and a Secrets Manager secret (created over its JSON API)
    let client = ssm(&moto);
    client
        .put_parameter()
        .name("/stream-producer/token")
        .value("t0ken")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let created = reqwest::Client::new()
        .post(moto.url())
        .header("x-amz-target", "secretsmanager.CreateSecret")
        .header("content-type", "application/x-amz-json-1.1")
        .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20250101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0")
        .body(json!({"Name": "api-key", "SecretString": "s3cret"}).to_string())
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "{}",
        created.text().await.unwrap()
    );
    let secrets = SsmSecrets::new(client);
    // WHEN read by name THEN both decrypt through SSM GetParameter
    assert_eq!(
        secrets.get("/stream-producer/token").await.unwrap(),
        "t0ken"
    );
    assert_eq!(
        secrets
            .get("/aws/reference/secretsmanager/api-key")
            .await
            .unwrap(),
        "s3cret"
    );
    // AND a missing name is a clear error
    assert_eq!(
        secrets.get("/nope").await.unwrap_err(),
        SecretError::NotFound {
            name: "/nope".into()
        }
    );
}
