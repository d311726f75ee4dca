//! The built `deletion-purge` binary, as Lambda runs it (the Runtime API stand-in), against
//! moto's S3: the stack's layout (`data/…`, `deletions/…`), GZIP objects, a scheduled event.

use std::io::{Read as _, Write as _};
use std::process::Stdio;
use std::time::Duration;

use chrono::{TimeZone as _, Utc};
use ks_firehose_local::bucket::{Output, object_key};
use ks_testkit::emulator::{Killed, Moto};
use ks_testkit::runtime_api::{Outcome, RuntimeApi};
use serde_json::Value;

fn gzip(text: &str) -> Vec<u8> {
    let mut gz = flate2_writer();
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap()
}

fn flate2_writer() -> flate2::write::GzEncoder<Vec<u8>> {
    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default())
}

fn gunzip(bytes: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_string(&mut out)
        .unwrap();
    out
}

async fn put(client: &aws_sdk_s3::Client, key: &str, body: Vec<u8>) {
    client
        .put_object()
        .bucket("lake")
        .key(key)
        .body(body.into())
        .send()
        .await
        .unwrap();
}

async fn get(client: &aws_sdk_s3::Client, key: &str) -> Option<Vec<u8>> {
    let o = client
        .get_object()
        .bucket("lake")
        .key(key)
        .send()
        .await
        .ok()?;
    Some(o.body.collect().await.unwrap().into_bytes().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_purges_the_stacks_bucket_and_reports_what_it_did() {
    // GIVEN moto's S3 with the stack's layout: two GZIP data objects, one of them all deleted
    let moto = Moto::start();
    let client = ks_testkit::local_s3_client!(&moto.url());
    client.create_bucket().bucket("lake").send().await.unwrap();
    let at = Utc.with_ymd_and_hms(2026, 3, 7, 9, 5, 4).unwrap();
    let keep = r#"{"id":"at://did:plc:a/app.bsky.feed.post/3kkeep2222222","did":"did:plc:a","time_us":1,"text":"stays  byte-exact"}"#;
    let gone = r#"{"id":"at://did:plc:a/app.bsky.feed.post/3kgone2222222","did":"did:plc:a","time_us":2,"text":"deleted"}"#;
    let purged =
        r#"{"id":"at://did:plc:z/app.bsky.feed.post/3kzzzz2222222","did":"did:plc:z","time_us":3}"#;
    let first = format!(
        "data/{}.gz",
        object_key(Output::Delivered, "s", at, uuid::Uuid::from_u128(1))
    );
    let second = format!(
        "data/{}.gz",
        object_key(Output::Delivered, "s", at, uuid::Uuid::from_u128(2))
    );
    put(&client, &first, gzip(&format!("{keep}\n{gone}\n"))).await;
    put(&client, &second, gzip(&format!("{purged}\n"))).await;
    let deletions = concat!(
        r#"{"op":"delete","id":"at://did:plc:a/app.bsky.feed.post/3kgone2222222","did":"did:plc:a","rkey":"3kgone2222222","collection":"app.bsky.feed.post","time_us":1772874310000000,"source":"bluesky"}"#,
        "\n",
        r#"{"op":"account","did":"did:plc:z","active":false,"status":"takendown","time_us":1772874310000000,"source":"bluesky"}"#,
        "\n"
    );
    let later = Utc.with_ymd_and_hms(2026, 3, 7, 9, 6, 0).unwrap();
    let del_key = format!(
        "{}.gz",
        object_key(Output::Deletions, "s", later, uuid::Uuid::from_u128(3))
    );
    put(&client, &del_key, gzip(deletions)).await;
    // AND the function started as Lambda starts it
    let api = RuntimeApi::start(Duration::from_secs(60)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let mut cmd = api.command(env!("CARGO_BIN_EXE_deletion-purge"), "deletion-purge", 1024);
    cmd.env("BUCKET", "lake")
        .env("AWS_ENDPOINT_URL_S3", moto.url())
        .env("AWS_S3_FORCE_PATH_STYLE", "true")
        .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
        .stderr(Stdio::null());
    let _function = Killed(cmd.spawn().unwrap());
    // WHEN a scheduled event arrives
    let event = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/eventbridge-scheduled.json"
    ))
    .unwrap();
    let id = api.push(event);
    let outcome = api.outcome(&id, Duration::from_secs(30)).await;
    // THEN it answers with its summary: one deletion applied, one account purged
    let Some(Outcome::Response(body)) = outcome else {
        panic!("{outcome:?}\n{}", std::fs::read_to_string(&log).unwrap());
    };
    let summary: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(summary["deletions_applied"], 1, "{summary}");
    assert_eq!(summary["records_purged"], 1, "{summary}");
    assert_eq!(summary["objects_deleted"], 1, "{summary}");
    assert_eq!(summary["complete"], true);
    // AND the bucket holds the kept record byte for byte, still GZIP, and nothing else
    assert_eq!(
        gunzip(&get(&client, &first).await.unwrap()),
        format!("{keep}\n")
    );
    assert_eq!(get(&client, &second).await, None);
    assert!(get(&client, "purge/state.json").await.is_some());
    // AND its log has one summary line and one EMF document with the alarm's metric
    let logs = std::fs::read_to_string(&log).unwrap();
    assert_eq!(logs.matches("invocation summary").count(), 1, "{logs}");
    assert!(logs.contains("\"DeletionsPendingTooLong\""), "{logs}");
}
