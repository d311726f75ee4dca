//! Every network call has a deadline: against a server that accepts the connection and never
//! answers, a call ends with an error in bounded time instead of running into the Lambda's.

use std::time::{Duration, Instant};

use ks_producer::{CursorError, CursorStore};
use ks_sources::dynamodb::DynamoCursorStore;
use ks_sources::ssm::{LOOKUP_TIMEOUT, SsmSecrets};
use ks_testkit::local_sdk_config;

/// A loopback server that takes connections and requests and never answers.
async fn stalled_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_stalled_cursor_read_or_write_ends_within_the_cursor_timeout() {
    // GIVEN a DynamoDB endpoint that never answers and a 300 ms cursor timeout
    let url = stalled_server().await;
    let builder = local_sdk_config!(aws_sdk_dynamodb, url);
    let conf = DynamoCursorStore::configure(builder, Duration::from_millis(300)).build();
    let store = DynamoCursorStore::new(aws_sdk_dynamodb::Client::from_conf(conf), "cursors");
    // WHEN the cursor is read, then written
    let started = Instant::now();
    let read = store.load("k").await;
    let write = store.save("k", None, "1").await;
    // THEN both fail as unavailable, each within its timeout (and some slack)
    assert!(
        matches!(read, Err(CursorError::Unavailable { .. })),
        "{read:?}"
    );
    assert!(
        matches!(write, Err(CursorError::Unavailable { .. })),
        "{write:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_stalled_secret_lookup_ends_within_the_lookup_timeout() {
    // GIVEN an SSM endpoint that never answers
    let url = stalled_server().await;
    let builder = local_sdk_config!(aws_sdk_ssm, url);
    let secrets = SsmSecrets::new(aws_sdk_ssm::Client::from_conf(
        SsmSecrets::configure(builder).build(),
    ));
    // WHEN a secret is looked up
    let started = Instant::now();
    let got = secrets.get("/kinesis-sentiment/token").await;
    // THEN it fails, naming the secret, within the lookup timeout
    let err = got.unwrap_err().to_string();
    assert!(err.contains("/kinesis-sentiment/token"), "{err}");
    assert!(
        started.elapsed() < LOOKUP_TIMEOUT + Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
