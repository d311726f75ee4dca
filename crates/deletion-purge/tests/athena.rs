//! The Athena adapter against moto's Athena: a SELECT's rows read back (moto answers the results
//! seeded through its `/moto-api/static/athena/query-results` endpoint), each query polled from
//! QUEUED through RUNNING to SUCCEEDED, the DELETEs sent in order; then boto3, against the same
//! moto, reads back what the adapter ran and makes its own round trip.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use deletion_purge::athena::Athena;
use ks_purge::lake::{ATHENA_MAX_QUERY_BYTES, LakeSettings, LakeTables, Sql, purge_accounts};
use ks_testkit::emulator::{Moto, missing, venv_bin, workspace_root};
use serde_json::{Value, json};
use tokio::time::Instant;

/// Queues results for the next GetQueryResults calls (moto's documented test API).
fn seed_results(moto: &Moto, rows: &[&[Option<&str>]]) {
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| {
            let data: Vec<Value> = r
                .iter()
                .map(|c| c.map_or(json!({}), |v| json!({ "VarCharValue": v })))
                .collect();
            json!({ "Data": data })
        })
        .collect();
    let body = json!({ "results": [{ "rows": rows }] }).to_string();
    let mut stream = TcpStream::connect(moto.addr).unwrap();
    write!(
        stream,
        "POST /moto-api/static/athena/query-results HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        moto.addr,
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
}

fn client(moto: &Moto) -> aws_sdk_athena::Client {
    aws_sdk_athena::Client::from_conf(
        ks_testkit::local_sdk_config!(aws_sdk_athena, moto.url()).build(),
    )
}

const HOUR_US: i64 = 3_600_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_purges_run_through_athena_and_boto3_sees_the_same_queries() {
    // GIVEN moto's Athena whose next result is the purges table: a header, an account taken
    // down an hour ago, one deleted 3 days ago, and one that came back
    let moto = Moto::start();
    let now_us = 1_000 * HOUR_US;
    let (old, recent) = (
        (now_us - 72 * HOUR_US).to_string(),
        (now_us - HOUR_US).to_string(),
    );
    seed_results(
        &moto,
        &[
            &[Some("did"), Some("active"), Some("status"), Some("time_us")],
            &[
                Some("did:plc:gone"),
                Some("false"),
                Some("takendown"),
                Some(&recent),
            ],
            &[
                Some("did:plc:old"),
                Some("false"),
                Some("deleted"),
                Some(&old),
            ],
            &[Some("did:plc:back"), Some("true"), None, Some(&recent)],
        ],
    );
    let athena = Athena::new(
        client(&moto),
        "primary",
        Instant::now() + Duration::from_secs(60),
    );
    let settings = LakeSettings {
        tables: LakeTables::new("social_lake", "posts", "account_purges").unwrap(),
        account_statuses: vec!["deleted".into(), "takendown".into()],
        watch: Duration::from_secs(48 * 3_600),
        max_query_bytes: ATHENA_MAX_QUERY_BYTES,
    };
    // WHEN a run goes through the adapter
    let summary = purge_accounts(&athena, &settings, now_us).await.unwrap();
    // THEN it read the three accounts (not the header), purged two, expired the old one's row
    assert_eq!(
        (
            summary.purge_rows_read,
            summary.accounts_purged,
            summary.accounts_expired,
            summary.statements
        ),
        (3, 2, 1, 3)
    );
    // AND boto3, against the same moto, sees exactly these queries, each run to SUCCEEDED
    let python = venv_bin("python");
    if !python.exists() {
        missing("the venv's python (with boto3)", &python);
    }
    let script = workspace_root().join("crates/deletion-purge/tests/athena_boto3.py");
    let out = Command::new(python)
        .arg(script)
        .arg(moto.url())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        seen["queries"],
        json!([
            [
                "SUCCEEDED",
                "SELECT did, active, status, time_us FROM social_lake.account_purges"
            ],
            [
                "SUCCEEDED",
                "DELETE FROM social_lake.posts WHERE did IN ('did:plc:gone', 'did:plc:old')"
            ],
            [
                "SUCCEEDED",
                format!(
                    "DELETE FROM social_lake.account_purges WHERE (did = 'did:plc:old' AND time_us <= {old})"
                )
            ],
        ])
    );
    // AND boto3's own round trip through moto's GetQueryResults reads what it seeded
    assert_eq!(seen["boto3_rows"], json!([["did"], ["did:plc:boto3"]]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_select_with_no_seeded_result_answers_no_rows_and_a_missing_workgroup_is_an_error() {
    // GIVEN moto's Athena with nothing seeded
    let moto = Moto::start();
    let deadline = Instant::now() + Duration::from_secs(60);
    // WHEN a SELECT runs THEN it ends with no rows (moto's default answer)
    let rows = Athena::new(client(&moto), "primary", deadline)
        .rows("SELECT 1")
        .await
        .unwrap();
    assert!(rows.is_empty(), "{rows:?}");
    // AND a statement in a workgroup that does not exist fails, permanently, naming the call
    let err = Athena::new(client(&moto), "no-such-workgroup", deadline)
        .execute("DELETE FROM a.b WHERE did IN ('did:plc:x')")
        .await
        .unwrap_err();
    assert!(!err.retryable, "{err:?}");
    assert!(err.message.contains("StartQueryExecution"), "{err:?}");
}
