//! `run` end to end over an in-memory sink: files in, exactly-once out, rejects, skip, strict,
//! Ctrl-C and delivery failures with the resume point they print.

use std::path::Path;
use std::sync::Mutex;

use ks_producer::CallError;
use ks_producer::deliver::{Answer, MemorySink};
use ks_producer::kpl::deaggregate;
use ks_producer::limits::KPL_DEFAULT_AGGREGATION_MAX_BYTES;
use serde_json::{Value, json};

use super::*;

/// The user records `sink` accepted, de-aggregated, as JSON.
fn user_records(sink: &MemorySink) -> Vec<Value> {
    sink.accepted
        .lock()
        .unwrap()
        .iter()
        .flat_map(|e| deaggregate(&e.partition_key, None, &e.data).unwrap())
        .map(|u| serde_json::from_slice(&u.data).unwrap())
        .collect()
}

fn options(dir: &Path, inputs: Vec<InputSpec>) -> PutOptions {
    PutOptions {
        inputs,
        format: None,
        schema: None,
        keying: Keying::default(),
        aggregation: None,
        limits: PackLimits::default(),
        delivery: DeliverySettings::default(),
        rate: None,
        concurrency: 1,
        rejects: dir.join("rejects.jsonl"),
        strict: false,
        skip: 0,
    }
}

fn write(dir: &Path, name: &str, text: &str) -> InputSpec {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    InputSpec::File(p)
}

async fn put(opts: &PutOptions, sink: &MemorySink) -> Outcome {
    run(opts, sink, None, std::future::pending(), |_| {}).await
}

/// Options over one JSON Lines input in `dir` holding `{"n":…}` for each number of `n`.
fn numbered(dir: &Path, n: std::ops::Range<u64>) -> PutOptions {
    let input = write(dir, "a.jsonl", &numbers(n));
    options(dir, vec![input])
}

/// Puts `n` numbered records from one file into memory, with `change` made to the options.
async fn put_numbered(
    n: std::ops::Range<u64>,
    change: impl FnOnce(&mut PutOptions),
) -> (Outcome, MemorySink) {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = numbered(dir.path(), n);
    change(&mut opts);
    let sink = MemorySink::default();
    let out = put(&opts, &sink).await;
    (out, sink)
}

fn numbers(n: std::ops::Range<u64>) -> String {
    n.map(|i| format!("{{\"n\":{i}}}\n")).collect()
}

fn ns(values: &[Value]) -> Vec<u64> {
    values.iter().map(|v| v["n"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn three_formats_arrive_exactly_once_with_their_json() {
    // GIVEN a CSV, a JSON Lines and a JSON array file
    let dir = tempfile::tempdir().unwrap();
    let inputs = vec![
        write(dir.path(), "a.csv", "n,text\n0,\"hi, there\"\n1,\n"),
        write(dir.path(), "b.jsonl", &numbers(2..1_200)),
        write(
            dir.path(),
            "c.json",
            "[\n {\"n\": 1200, \"nested\": {\"s\": \"]\\\"\"}},\n {\"n\": 1201}\n]\n",
        ),
    ];
    for aggregate in [false, true] {
        let mut opts = options(dir.path(), inputs.clone());
        opts.aggregation = aggregate.then_some(KPL_DEFAULT_AGGREGATION_MAX_BYTES);
        let sink = MemorySink::default();
        // WHEN put
        let out = put(&opts, &sink).await;
        // THEN every record arrives once, in order, with its JSON
        assert!(out.stopped.is_none(), "{:?}", out.stopped);
        let got = user_records(&sink);
        assert_eq!(ns(&got), (0..1_202).collect::<Vec<_>>());
        assert_eq!(got[0], json!({"n":0,"text":"hi, there"}));
        assert_eq!(got[1], json!({"n":1,"text":null}));
        assert_eq!(got[1_200], json!({"n":1200,"nested":{"s":"]\""}}));
        let s = &out.summary;
        assert_eq!((s.read, s.sent, s.rejected), (1_202, 1_202, 0));
        assert_eq!(s.resume_skip, 1_202);
        if aggregate {
            assert_eq!(s.put_records_calls, 1, "{s:?}");
            assert!(s.kinesis_records < 10, "{s:?}");
        } else {
            // 1,202 records: the floor of ⌈1202/500⌉ = 3 calls.
            assert_eq!((s.put_records_calls, s.floor_calls), (3, 3));
        }
    }
}

#[tokio::test]
async fn with_several_requests_in_flight_every_record_still_arrives_once() {
    // GIVEN 10,000 records and four requests in flight at once
    let (out, sink) = put_numbered(0..10_000, |o| o.concurrency = 4).await;
    // THEN each arrives once (order across requests is not promised) in the floor of 20 calls
    assert!(out.stopped.is_none());
    let mut got = ns(&user_records(&sink));
    got.sort_unstable();
    assert_eq!(got, (0..10_000).collect::<Vec<_>>());
    assert_eq!(out.summary.put_records_calls, 20);
    assert_eq!(out.summary.resume_skip, 10_000);
}

#[tokio::test]
async fn partition_keys_come_from_the_pointer_or_the_record_position() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = vec![write(
        dir.path(),
        "a.jsonl",
        "{\"user\":{\"id\":\"alice\"}}\n{\"user\":{}}\n",
    )];
    let mut opts = options(dir.path(), inputs);
    opts.keying.partition_key = Some("/user/id".into());
    let sink = MemorySink::default();
    put(&opts, &sink).await;
    let keys: Vec<String> = sink
        .accepted
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.partition_key.clone())
        .collect();
    assert_eq!(keys, ["alice", "1"]);
}

#[tokio::test]
async fn bad_records_go_to_the_rejects_file_and_the_run_goes_on() {
    // GIVEN JSON Lines with a bad line and a record over the size limit
    let dir = tempfile::tempdir().unwrap();
    let big = format!("{{\"n\":9,\"pad\":\"{}\"}}", "x".repeat(300));
    let text = format!("{{\"n\":0}}\n{{\"n\":\n{{\"n\":2}}\n{big}\n{{\"n\":4}}\n");
    let input = write(dir.path(), "a.jsonl", &text);
    let mut opts = options(dir.path(), vec![input]);
    opts.limits.max_record_bytes = 200;
    let sink = MemorySink::default();
    // WHEN put
    let out = put(&opts, &sink).await;
    // THEN the good ones arrive and the bad ones are in the rejects file with file and line
    assert!(out.stopped.is_none());
    assert_eq!(ns(&user_records(&sink)), [0, 2, 4]);
    assert_eq!((out.summary.rejected, out.summary.resume_skip), (2, 5));
    let rejects: Vec<Value> = std::fs::read_to_string(&opts.rejects)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let path = dir.path().join("a.jsonl").display().to_string();
    assert_eq!(rejects.len(), 2);
    assert_eq!(
        (
            &rejects[0]["source"],
            &rejects[0]["line"],
            &rejects[0]["record"]
        ),
        (&json!(path), &json!(2), &json!(1))
    );
    assert!(
        rejects[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON")
    );
    assert_eq!(rejects[1]["line"], 4);
    assert!(
        rejects[1]["reason"]
            .as_str()
            .unwrap()
            .contains("line longer than the 200-byte"),
        "{}",
        rejects[1]["reason"]
    );
}

#[tokio::test]
async fn strict_stops_at_the_first_bad_record_and_resumes_at_it() {
    // GIVEN 1,200 good lines, then a bad one, then more
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{}oops\n{}", numbers(0..1_200), numbers(1_201..1_300));
    let input = write(dir.path(), "a.jsonl", &text);
    let mut opts = options(dir.path(), vec![input]);
    opts.strict = true;
    let sink = MemorySink::default();
    // WHEN put with --strict
    let out = put(&opts, &sink).await;
    // THEN it stops naming file:line
    let err = out.stopped.unwrap().to_string();
    assert!(err.contains("a.jsonl:1201: invalid JSON"), "{err}");
    assert!(err.contains("--strict"), "{err}");
    // AND sends nothing new once stopped: the request of records 0..500 was in flight when the
    // bad line was read (it is read ahead), the one of 500..1000 was packed but not yet sent
    let sent = ns(&user_records(&sink));
    assert_eq!(sent, (0..500).collect::<Vec<_>>());
    // AND the resume point is right after what was sent, before the bad record
    assert_eq!(out.summary.resume_skip, 500);
    assert_eq!(out.summary.rejected, 1);
}

#[tokio::test]
async fn skip_passes_over_records_already_sent() {
    let (out, sink) = put_numbered(0..100, |o| o.skip = 60).await;
    assert_eq!(ns(&user_records(&sink)), (60..100).collect::<Vec<_>>());
    let s = out.summary;
    assert_eq!(
        (s.read, s.sent, s.skipped, s.resume_skip),
        (40, 40, 60, 100)
    );
}

#[tokio::test]
async fn ctrl_c_finishes_the_request_in_flight_and_a_resume_completes_the_set_exactly_once() {
    // GIVEN 5,000 records and a sink that "presses Ctrl-C" during its 3rd call
    let dir = tempfile::tempdir().unwrap();
    let opts = numbered(dir.path(), 0..5_000);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let tx = Mutex::new(Some(tx));
    let sink = MemorySink {
        on_call: Some(Box::new(move |n| {
            if n == 3 {
                tx.lock().unwrap().take().unwrap().send(()).unwrap();
            }
        })),
        ..MemorySink::default()
    };
    // WHEN the run is cancelled
    let out = run(&opts, &sink, None, async { rx.await.unwrap() }, |_| {}).await;
    // THEN the third request still completes, nothing after it is sent, and it says so
    assert!(matches!(out.stopped, Some(PutError::Interrupted)));
    let first = ns(&user_records(&sink));
    assert_eq!(first, (0..1_500).collect::<Vec<_>>());
    assert_eq!(out.summary.resume_skip, 1_500);
    assert_eq!(out.summary.delivered_beyond_resume, 0);
    // AND resuming with --skip sends exactly the rest
    let mut resumed = opts.clone();
    resumed.skip = out.summary.resume_skip;
    let sink2 = MemorySink::default();
    let out2 = put(&resumed, &sink2).await;
    assert!(out2.stopped.is_none());
    let mut all = first;
    all.extend(ns(&user_records(&sink2)));
    assert_eq!(all, (0..5_000).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_request_that_cannot_be_delivered_stops_the_run_at_the_settled_prefix() {
    // GIVEN a stream that accepts the first call and then fails permanently
    let dir = tempfile::tempdir().unwrap();
    let opts = numbered(dir.path(), 0..1_500);
    let sink = MemorySink::default();
    sink.script.lock().unwrap().extend([
        Answer::Entries(Vec::new()),
        Answer::Fail(CallError::Permanent(
            "ResourceNotFoundException: no such stream".into(),
        )),
    ]);
    let out = put(&opts, &sink).await;
    // THEN the error names the count and cause, and the resume point follows the first 500
    let err = out.stopped.unwrap().to_string();
    assert!(
        err.contains("500 records") && err.contains("ResourceNotFoundException"),
        "{err}"
    );
    assert_eq!(out.summary.sent, 500);
    assert_eq!(out.summary.resume_skip, 500);
    assert_eq!(
        *sink.calls.lock().unwrap(),
        2,
        "a permanent error is not retried"
    );
}

#[tokio::test]
async fn the_rate_limit_paces_requests() {
    // GIVEN 2,000 records at 2,000 records/s (real time: the reading thread is not simulated)
    let dir = tempfile::tempdir().unwrap();
    let mut opts = numbered(dir.path(), 0..2_000);
    opts.rate = Some(Rate::Records(2_000.0));
    let sink = MemorySink::default();
    let started = Instant::now();
    let out = put(&opts, &sink).await;
    // THEN four requests of 500 take at least 0.75 s (the first at once, then one each 0.25 s)
    assert!(out.stopped.is_none());
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(750) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(out.summary.put_records_calls, 4);
}
