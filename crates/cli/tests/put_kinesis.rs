//! The real `kinesis-sentiment put` binary against real local endpoints speaking the Kinesis wire
//! protocol: moto (Kinesis and S3, read back with GetRecords; started by the test, skipped
//! unless KS_REQUIRE_EMULATORS=1 when moto is missing) and the project's Kinesis stand-in (for
//! Ctrl-C and resume, which need a slow endpoint).

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use ks_producer::kpl::deaggregate;
use ks_testkit::With as _;
use ks_testkit::emulator::{Moto, create_stream, read_stream};
use ks_testkit::kinesis::{Faults, KinesisStandIn};
use ks_testkit::proc::run_with_stdin;
use ks_testkit::{aws, local_sdk_config};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_kinesis-sentiment");

fn kinesis(url: &str) -> aws_sdk_kinesis::Client {
    aws_sdk_kinesis::Client::from_conf(local_sdk_config!(aws_sdk_kinesis, url).build())
}

/// The binary with credentials and region from the environment only, as a user would run it.
fn put_command(url: &str, args: &[&str]) -> Command {
    let mut cmd = aws::user_command(BIN);
    cmd.arg("put").args(["--endpoint-url", url]).args(args);
    cmd
}

/// Every user record in the stream (KPL records de-aggregated) as (partition key, JSON).
async fn read_back(client: &aws_sdk_kinesis::Client, name: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for r in read_stream(client, name).await {
        for u in deaggregate(&r.partition_key, None, &r.data).unwrap() {
            out.push((u.partition_key, serde_json::from_slice(&u.data).unwrap()));
        }
    }
    out
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// Counts of each distinct JSON value (as text, keys sorted by serde_json's map).
fn multiset(values: impl IntoIterator<Item = Value>) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for v in values {
        *m.entry(v.to_string()).or_insert(0) += 1;
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_stdin_and_an_s3_prefix_arrive_once_each_with_the_right_json() {
    let moto = Moto::start();
    let url = moto.url();
    // GIVEN two streams, an S3 prefix with three objects (and one outside it), and local files
    // in every format: CSV typed by a schema, JSON Lines with a bad line, a pretty JSON array
    let k = kinesis(&url);
    create_stream(&k, "backfill", 2).await;
    create_stream(&k, "backfill-kpl", 2).await;
    let bucket = ks_testkit::local_s3_client!(&url);
    bucket
        .create_bucket()
        .bucket("landing")
        .send()
        .await
        .unwrap();
    let objects = [
        (
            "in/a.jsonl",
            "{\"id\":\"s3-1\",\"n\":1}\n{\"id\":\"s3-2\",\"n\":2}\n",
        ),
        ("in/b.csv", "id,n\ns3-3,3\n"),
        ("in/sub/c.json", "[{\"id\":\"s3-4\",\"n\":4}]"),
        ("other/d.jsonl", "{\"id\":\"not-under-the-prefix\"}\n"),
    ];
    for (key, body) in objects {
        bucket
            .put_object()
            .bucket("landing")
            .key(key)
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let schema = write(
        dir.path(),
        "schema.json",
        r#"{"id":"string","score":"number"}"#,
    );
    let mut csv = String::from("id,score,ok,text\n");
    let mut jsonl = String::new();
    let mut expected: Vec<Value> = Vec::new();
    for i in 0..600 {
        csv.push_str(&format!("{i:04},{i}.5,true,\"say \"\"{i}\"\", ok\"\n"));
        expected.push(json!({"id": format!("{i:04}"), "score": i as f64 + 0.5, "ok": true, "text": format!("say \"{i}\", ok")}));
        jsonl.push_str(&format!(
            "{{\"id\":\"j{i}\",\"nested\":{{\"a\":[{i},\"]\"]}}}}\n"
        ));
        expected.push(json!({"id": format!("j{i}"), "nested": {"a": [i, "]"]}}));
        if i == 300 {
            jsonl.push_str("{\"id\":\"broken\"\n");
        }
    }
    let csv = write(dir.path(), "rows.csv", &csv);
    let jsonl = write(dir.path(), "lines.jsonl", &jsonl);
    let array = write(
        dir.path(),
        "array.json",
        "[\n  {\"id\": \"arr-1\", \"text\": \"a } \\\" \\\\ \\u00e9\"},\n  {\"id\": \"arr-2\", \"deep\": [[{}]]}\n]\n",
    );
    expected.push(json!({"id": "arr-1", "text": "a } \" \\ é"}));
    expected.push(json!({"id": "arr-2", "deep": [[{}]]}));
    let stdin = "{\"id\":\"stdin-1\"}\n";
    expected.push(json!({"id": "stdin-1"}));
    for n in 1..=4 {
        expected.push(json!({"id": format!("s3-{n}"), "n": n}));
    }

    for (stream, aggregate) in [("backfill", false), ("backfill-kpl", true)] {
        let rejects = dir.path().join(format!("{stream}.rejects.jsonl"));
        let rejects = rejects.display().to_string();
        let mut args = vec![
            "--stream",
            stream,
            "--schema",
            &schema,
            "--partition-key",
            "/id",
            "--rejects",
            &rejects,
            &csv,
            &jsonl,
            &array,
            "-",
            "s3://landing/in/",
        ];
        if aggregate {
            args.push("--aggregate");
        }
        // WHEN the binary puts them
        let out = run_with_stdin(put_command(&url, &args), stdin.as_bytes());
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stream}: {stdout}\n{stderr}");
        // THEN every good record is in the stream exactly once, as JSON equal to the input's
        let read = read_back(&k, stream).await;
        assert_eq!(read.len(), expected.len(), "{stream}");
        assert_eq!(
            multiset(read.iter().map(|(_, v)| v.clone())),
            multiset(expected.iter().cloned()),
            "{stream}"
        );
        // AND keyed by /id
        for (key, v) in &read {
            assert_eq!(v["id"].as_str(), Some(key.as_str()), "{stream}");
        }
        // AND the bad line is in the rejects file with its file and line, and in the summary
        let rejected: Vec<Value> = std::fs::read_to_string(&rejects)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rejected.len(), 1, "{stream}");
        assert_eq!(rejected[0]["source"], json!(jsonl));
        assert_eq!(rejected[0]["line"], json!(302));
        assert!(
            stdout.contains(&format!("{} sent, 1 rejected", expected.len())),
            "{stdout}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_after_the_request_in_flight_and_skip_resumes_exactly_once() {
    // GIVEN a slow endpoint (150 ms a call) and 6,000 records: 12 calls, about 2 s
    let server = KinesisStandIn::start(Faults::with(|f| f.latency = Duration::from_millis(150)))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lines: String = (0..6_000).map(|i| format!("{{\"n\":{i}}}\n")).collect();
    let file = write(dir.path(), "big.jsonl", &lines);
    let rejects = dir.path().join("r.jsonl").display().to_string();
    let args = ["--stream", "s", "--rejects", &rejects, &file];
    let child = put_command(&server.url(), &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // WHEN Ctrl-C arrives after the third call has started
    while server.stats.calls() < 3 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let sigint = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sigint.success());
    let out = tokio::task::spawn_blocking(move || {
        let out = child.wait_with_output();
        out.unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    // THEN it exits 130 and prints how to resume
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let skip: u64 = stderr
        .split("--skip ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no --skip in {stderr}"));
    // AND exactly the records before that point are in the stream, none twice
    let first: Vec<u64> = numbers(&server);
    assert!(skip > 0 && skip < 6_000, "{skip}");
    assert_eq!(first, (0..skip).collect::<Vec<_>>());
    // AND the resumed run sends exactly the rest
    let skip_arg = skip.to_string();
    let mut resumed: Vec<&str> = args.to_vec();
    resumed.extend(["--skip", &skip_arg]);
    let out = tokio::task::spawn_blocking({
        let mut cmd = put_command(&server.url(), &resumed);
        move || cmd.output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(numbers(&server), (0..6_000).collect::<Vec<_>>());
}

fn numbers(server: &KinesisStandIn) -> Vec<u64> {
    server
        .records()
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.data).unwrap()["n"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

#[test]
fn strict_exits_non_zero_naming_the_file_and_line() {
    // GIVEN a CSV whose third line has too many fields, and no endpoint needed to find out
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "x.csv", "a,b\n1,2\n1,2,3\n");
    let rejects = dir.path().join("r.jsonl").display().to_string();
    // An endpoint nobody listens on: the bad line is met before the first request is full.
    let out = put_command(
        "http://127.0.0.1:9",
        &["--stream", "s", "--strict", "--rejects", &rejects, &file],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{file}:3: 3 fields; the header has 2 (stopped by --strict)"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("--skip 0"), "{stderr}");
}
