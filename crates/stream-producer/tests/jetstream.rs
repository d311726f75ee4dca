//! The built binary reading Bluesky's Jetstream, as Lambda runs it: `SOURCE=jetstream` against
//! the Jetstream stand-in (`ks_testkit::jetstream`: a real WebSocket on loopback, replay, clock
//! skew, faults), PutRecords into the Kinesis stand-in (`ks_testkit::kinesis`, reached through
//! `AWS_ENDPOINT_URL_KINESIS`), the cursor in a file (DynamoDB on moto for the long run), and
//! every invocation through the Runtime API stand-in.
//!
//! Each guarantee is proved the same way: the post ids in Kinesis against the posts the
//! network made in the window (its backlog and the live posts written while the function ran),
//! after a last invocation once the network is quiet.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use ks_testkit::With as _;
use ks_testkit::emulator::{Killed, Moto};
use ks_testkit::jetstream::{Faults, Live, Network, StandIn};
use ks_testkit::kinesis::{self, KinesisStandIn};
use ks_testkit::runtime_api::{Outcome, RuntimeApi};
use serde_json::{Value, json};

mod common;

/// Every run's settings, shortened so the file runs in seconds: a 500 ms replay margin (the
/// window of delivered posts is twice that), a 500 ms stall, 500 ms kept for the puts. New
/// posts only: these tests count posts (edits, deletions and account events forwarded are
/// counted in `ks-sources`' stand-in tests and the deletions test through the demo binary).
const BASE: &[(&str, &str)] = &[
    ("SOURCE", "jetstream"),
    ("JETSTREAM_DELETIONS", "false"),
    ("STREAM_NAME", "posts"),
    ("START_POSITION", "oldest"),
    ("JETSTREAM_REPLAY_MS", "500"),
    ("JETSTREAM_STALL_MS", "500"),
    ("JETSTREAM_CONNECT_TIMEOUT_MS", "500"),
    ("PUT_RESERVE_MS", "500"),
    ("DEADLINE_MARGIN_MS", "100"),
    ("PUT_BACKOFF_BASE_MS", "10"),
    ("PUT_BACKOFF_CAP_MS", "50"),
    ("RUST_LOG", "info"),
];

/// The function, running under the Runtime API stand-in.
struct Function {
    api: RuntimeApi,
    log: PathBuf,
    _child: Killed,
}

impl Function {
    /// Starts the binary with [`BASE`], then `vars` (which win), the Kinesis stand-in as its
    /// Kinesis and a file cursor in `dir` unless `vars` say otherwise. Each invocation gets
    /// `timeout` until its deadline.
    async fn start(
        dir: &Path,
        kinesis: &KinesisStandIn,
        timeout: Duration,
        vars: &[(&str, String)],
    ) -> Function {
        let api = RuntimeApi::start(timeout).await.unwrap();
        let log = dir.join("function.log");
        let (kinesis_url, cursors) = (kinesis.url(), dir.join("cursors").display().to_string());
        let mut all = vec![
            ("AWS_ENDPOINT_URL_KINESIS", kinesis_url.as_str()),
            ("CURSOR_DIR", cursors.as_str()),
        ];
        all.extend_from_slice(BASE);
        all.extend(vars.iter().map(|(k, v)| (*k, v.as_str())));
        let child = common::spawn(&api, &log, &all);
        Function {
            api,
            log,
            _child: child,
        }
    }

    /// One invocation: the summary it answered, or the error it reported.
    async fn invoke(&self, input: &Value) -> Result<Value, Value> {
        let id = self.api.push(serde_json::to_vec(input).unwrap());
        let outcome = self.api.outcome(&id, Duration::from_secs(30)).await;
        match outcome.unwrap_or_else(|| panic!("no answer to {id}:\n{}", self.logs())) {
            Outcome::Response(body) => Ok(serde_json::from_slice(&body).unwrap()),
            Outcome::Error(body) => Err(serde_json::from_slice(&body).unwrap()),
        }
    }

    /// An invocation that must succeed.
    async fn ok(&self, input: &Value) -> Value {
        self.invoke(input)
            .await
            .unwrap_or_else(|e| panic!("the invocation failed: {e}\n{}", self.logs()))
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the live posts (the network goes quiet), adds them to `expected`, and invokes once
    /// more: the run after which every post must be in Kinesis.
    async fn last_run(&self, live: Live, expected: &mut Vec<String>) -> Value {
        expected.extend(stop(live));
        self.ok(&scheduled()).await
    }

    /// The fields of every "invocation summary" log line, in order.
    fn summaries(&self) -> Vec<Value> {
        common::json_lines(&self.logs(), "invocation summary")
            .into_iter()
            .map(|l| l["fields"].clone())
            .collect()
    }
}

/// What a test sets up: a Jetstream instance on its network, the Kinesis stand-in, a directory,
/// and the function reading the one into the other (`JETSTREAM_URL` first, so `vars` win).
struct Given {
    jetstream: Faults,
    kinesis: kinesis::Faults,
    timeout: Duration,
}

impl Default for Given {
    fn default() -> Self {
        Given {
            jetstream: Faults::default(),
            kinesis: kinesis::Faults::default(),
            timeout: Duration::from_secs(5),
        }
    }
}

/// The running set-up; everything stops when it drops. Tests take it apart by field: one they
/// do not read is bound as `_name`, which keeps it running to the end (a bare `_` would drop it).
struct World {
    jetstream: StandIn,
    kinesis: KinesisStandIn,
    f: Function,
    _dir: tempfile::TempDir,
}

impl Given {
    async fn start(self, net: &Arc<Network>, vars: &[(&str, String)]) -> World {
        let jetstream = StandIn::start(net.clone(), self.jetstream).await.unwrap();
        let kinesis = KinesisStandIn::start(self.kinesis).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut all = vec![("JETSTREAM_URL", jetstream.url())];
        all.extend_from_slice(vars);
        let f = Function::start(dir.path(), &kinesis, self.timeout, &all).await;
        World {
            jetstream,
            kinesis,
            f,
            _dir: dir,
        }
    }
}

/// The scheduled event EventBridge sends (`events/`): the function's usual input.
fn scheduled() -> Value {
    let path = format!(
        "{}/../../events/eventbridge-scheduled.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Scheduler's custom input narrowing the budget.
fn at_most(max_records: u64) -> Value {
    json!({ "max_records": max_records })
}

/// A stand-in's counter, now.
fn count(counter: &AtomicU64) -> u64 {
    counter.load(SeqCst)
}

/// The live posts written so far, once the writer is stopped (the network goes quiet).
fn stop(live: Live) -> Vec<String> {
    let uris = live.uris.clone();
    drop(live);
    uris.lock().unwrap().clone()
}

/// What Kinesis holds against what the network made.
#[derive(Debug)]
struct Tally {
    /// Records in the stream.
    records: usize,
    /// Expected posts not in the stream.
    missing: Vec<String>,
    /// Records beyond each post's first.
    duplicates: usize,
    /// Posts in the stream the network never made.
    unexpected: Vec<String>,
}

impl Tally {
    fn of(kinesis: &KinesisStandIn, expected: &[String]) -> Tally {
        let got = delivered(kinesis);
        let want: std::collections::HashSet<&str> = expected.iter().map(String::as_str).collect();
        Tally {
            records: got.values().sum::<u32>() as usize,
            missing: expected
                .iter()
                .filter(|u| !got.contains_key(*u))
                .cloned()
                .collect(),
            duplicates: got.values().map(|&n| n as usize - 1).sum(),
            unexpected: got
                .keys()
                .filter(|k| !want.contains(k.as_str()))
                .cloned()
                .collect(),
        }
    }

    /// Every post once, and nothing else.
    fn assert_exactly_once(&self) {
        assert!(
            self.missing.is_empty() && self.duplicates == 0 && self.unexpected.is_empty(),
            "{} missing (first: {:?}), {} duplicates, {} unexpected, {} records",
            self.missing.len(),
            self.missing.first(),
            self.duplicates,
            self.unexpected.len(),
            self.records
        );
    }
}

/// Post id → how many records in Kinesis carry it; each record's partition key is its id.
fn delivered(kinesis: &KinesisStandIn) -> HashMap<String, u32> {
    let mut got = HashMap::new();
    for r in kinesis.records() {
        let v: Value = serde_json::from_slice(&r.data).expect("a JSON record");
        let id = v["id"].as_str().expect("an id").to_owned();
        assert_eq!(
            r.partition_key,
            format!("{:016}:{id}", v["time_us"].as_u64().unwrap()),
            "the record id (time_us, then the URI) is the partition key"
        );
        *got.entry(id).or_default() += 1;
    }
    got
}

fn skipped(summary: &Value, kind: &str) -> u64 {
    summary["skipped"][kind].as_u64().unwrap_or(0)
}

/// The kind of backlog event `i`, in [`Network::backlog`]'s scheme.
fn kind_of(i: u64) -> &'static str {
    match i {
        _ if i % 19 == 18 => "account",
        _ if i % 17 == 16 => "identity",
        _ if i % 13 == 12 => "delete",
        _ if i % 11 == 10 => "update",
        _ if i % 7 == 6 => "like",
        _ => "post",
    }
}

#[tokio::test]
async fn posts_arriving_between_invocations_all_reach_kinesis_once() {
    // GIVEN 3 s of backlog (600 events, ~385 posts), a new post every 10 ms, and a function that
    // starts from the oldest event kept
    let net = Network::new();
    let mut expected = net.backlog(600, Duration::from_millis(50), Duration::from_millis(5));
    let live = net.live(Duration::from_millis(10));
    let World {
        jetstream: _jetstream,
        kinesis,
        f,
        _dir,
    } = Given::default().start(&net, &[]).await;
    // WHEN it is invoked six times 250 ms apart, the first three reading 80 posts at most
    let mut runs = Vec::new();
    for k in 0..6 {
        let input = if k < 3 { at_most(80) } else { scheduled() };
        runs.push(f.ok(&input).await);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let stops: Vec<&str> = runs.iter().map(|s| s["stop"].as_str().unwrap()).collect();
    // AND once more after the network went quiet
    let last = f.last_run(live, &mut expected).await;
    // THEN the capped runs stopped at their cap, the others caught up with the live tail, the
    // last one ran out of events
    assert_eq!(stops[..3], ["max_records"; 3], "{stops:?}");
    assert_eq!(stops[3..], ["caught_up"; 3], "{stops:?}");
    assert_eq!(last["stop"], "stalled", "{last}");
    // AND every post the network made is in Kinesis exactly once
    Tally::of(&kinesis, &expected).assert_exactly_once();
    // AND each later run read the replay margin again and the cursor's window dropped it
    assert!(
        runs[1..].iter().all(|s| skipped(s, "replayed") > 0),
        "{runs:?}"
    );
    assert_eq!(f.summaries().len(), 7);
}

#[tokio::test]
async fn connections_the_server_closes_lose_nothing_within_or_across_invocations() {
    // GIVEN an instance that closes each of its first five connections after 60 frames, 10 s
    // of backlog, live posts, and a 300 ms replay margin
    let net = Network::new();
    let mut expected = net.backlog(500, Duration::from_millis(50), Duration::from_millis(20));
    let live = net.live(Duration::from_millis(20));
    let World {
        jetstream,
        kinesis,
        f,
        _dir,
    } = Given {
        jetstream: Faults::with(|f| {
            f.close_first_connections = 5;
            f.close_after_frames = 60;
        }),
        ..Given::default()
    }
    .start(&net, &[("JETSTREAM_REPLAY_MS", "300".into())])
    .await;
    // WHEN invoked: the first invocation reconnects three times and loses its fourth connection
    let first = f.invoke(&scheduled()).await;
    // THEN it fails as retryable, having delivered what it read and moved the cursor past it
    let error = first.expect_err("four lost connections fail the invocation");
    assert_eq!(error["errorType"], "Retryable.SOURCE", "{error}");
    let s = &f.summaries()[0];
    assert_eq!(s["pages"], 4, "{s}");
    assert!(s["put"].as_u64().unwrap() > 100, "{s}");
    assert_ne!(s["cursor_after"], s["cursor_before"], "{s}");
    let after_first = Tally::of(&kinesis, &expected);
    assert_eq!(after_first.records as u64, s["put"].as_u64().unwrap());
    assert_eq!(after_first.duplicates, 0, "{after_first:?}");
    // WHEN the next invocation loses its first connection THEN it reconnects and catches up
    let second = f.ok(&scheduled()).await;
    assert_eq!(
        (second["pages"].as_u64(), second["stop"].as_str()),
        (Some(2), Some("caught_up")),
        "{second}"
    );
    // AND once the network is quiet, a last invocation leaves every post in Kinesis once
    f.last_run(live, &mut expected).await;
    Tally::of(&kinesis, &expected).assert_exactly_once();
    assert_eq!(count(&jetstream.stats.connections), 7);
}

#[tokio::test]
async fn an_invocation_whose_puts_fail_is_delivered_by_the_next() {
    // GIVEN a Kinesis that fails every second PutRecords call as a whole (HTTP 500
    // InternalFailure), one attempt per request, at most 400 posts an invocation (one call)
    let net = Network::new();
    let mut expected = net.backlog(300, Duration::from_millis(50), Duration::from_millis(5));
    let live = net.live(Duration::from_millis(10));
    let World {
        jetstream: _jetstream,
        kinesis,
        f,
        _dir,
    } = Given {
        kinesis: kinesis::Faults {
            error_every: 2,
            ..kinesis::Faults::default()
        },
        ..Given::default()
    }
    .start(
        &net,
        &[
            ("PUT_MAX_ATTEMPTS", "1".into()),
            ("MAX_RECORDS", "400".into()),
        ],
    )
    .await;
    // WHEN invoked six times while posts keep arriving
    let mut outcomes = Vec::new();
    for _ in 0..6 {
        outcomes.push(f.invoke(&scheduled()).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // THEN every second invocation fails as a retryable delivery error, and leaves the cursor
    for (k, o) in outcomes.iter().enumerate() {
        match (k % 2, o) {
            (0, Ok(s)) => assert!(s["put"].as_u64().unwrap() > 0, "{s}"),
            (1, Err(e)) => assert_eq!(e["errorType"], "Retryable.DELIVERY", "{e}"),
            _ => panic!("invocation {k}: {o:?}"),
        }
    }
    f.last_run(live, &mut expected).await;
    let summaries = f.summaries();
    for s in summaries.iter().skip(1).step_by(2).take(3) {
        assert_eq!(
            (s["put"].as_u64(), s["code"].as_str()),
            (Some(0), Some("DELIVERY"))
        );
        assert!(s["failed"].as_u64().unwrap() > 0, "{s}");
        assert_eq!(s["cursor_after"], s["cursor_before"], "{s}");
    }
    // AND the invocation after each failure delivered what the failed one could not
    for k in [1, 3, 5] {
        let (failed, next) = (&summaries[k], &summaries[k + 1]);
        assert!(next["put"].as_u64() > failed["failed"].as_u64(), "{next}");
    }
    // AND with the last one, run once the network is quiet, every post is in Kinesis once
    Tally::of(&kinesis, &expected).assert_exactly_once();
    assert_eq!(count(&kinesis.stats.errors), 3);
}

#[tokio::test]
async fn a_switch_to_a_fallback_instance_with_a_skewed_clock_loses_nothing() {
    // GIVEN two instances of one network: A (JETSTREAM_URL) and B (JETSTREAM_FALLBACK_URLS),
    // whose time_us runs 300 ms behind A's (the direction that could open a gap: a cursor from
    // A's clock names later events on B's), a 500 ms replay margin, live posts
    let net = Network::new();
    let mut expected = net.backlog(300, Duration::from_millis(50), Duration::from_millis(5));
    let live = net.live(Duration::from_millis(10));
    let b = StandIn::start(net.clone(), Faults::with(|f| f.skew_us = -300_000))
        .await
        .unwrap();
    let World {
        jetstream: a,
        kinesis,
        f,
        _dir,
    } = Given::default()
        .start(&net, &[("JETSTREAM_FALLBACK_URLS", b.url())])
        .await;
    let a_addr = a.addr;
    let pause = || tokio::time::sleep(Duration::from_millis(200));
    // WHEN A serves two invocations
    for _ in 0..2 {
        f.ok(&scheduled()).await;
        pause().await;
    }
    // AND A goes down (connections refused) for two more, which B serves
    drop(a);
    pause().await;
    let mut on_b = Vec::new();
    for _ in 0..2 {
        on_b.push(f.ok(&scheduled()).await);
        pause().await;
    }
    // AND A comes back, on its address, for two more
    let a = StandIn::bind(a_addr, net.clone(), Faults::default())
        .await
        .unwrap();
    let mut back_on_a = Vec::new();
    for _ in 0..2 {
        back_on_a.push(f.ok(&scheduled()).await);
        pause().await;
    }
    f.last_run(live, &mut expected).await;
    // THEN each instance served the runs it should have: B only while A was down
    let connections = |s: &StandIn| count(&s.stats.connections);
    assert_eq!((connections(&b), connections(&a)), (2, 3));
    // AND every switch replayed the margin and the cursor's window dropped it: nothing lost
    for s in on_b.iter().chain(&back_on_a) {
        assert!(skipped(s, "replayed") > 0, "{s}");
        assert_eq!(s["source"], format!("jetstream:{a_addr}"));
    }
    let tally = Tally::of(&kinesis, &expected);
    assert!(tally.missing.is_empty(), "{tally:?}");
    assert!(tally.unexpected.is_empty(), "{tally:?}");
    // AND nothing was sent twice
    assert_eq!(tally.duplicates, 0, "{tally:?}");
}

#[tokio::test]
async fn duplicates_stay_under_one_percent_in_steady_state() {
    // GIVEN a post every 4 ms (250/s), a 1 s replay margin (~250 posts read again each run),
    // and the cursor, with its window of delivered posts, in DynamoDB (moto)
    let moto = Moto::start();
    let dynamodb = common::cursor_table(&moto).await;
    let net = Network::new();
    let mut expected = net.backlog(200, Duration::from_millis(20), Duration::from_millis(4));
    let live = net.live(Duration::from_millis(4));
    let World {
        jetstream,
        kinesis,
        f,
        _dir,
    } = Given::default()
        .start(
            &net,
            &[
                ("JETSTREAM_REPLAY_MS", "1000".into()),
                ("CURSOR_STORE", "dynamodb".into()),
                ("CURSOR_TABLE", "cursors".into()),
                ("AWS_ENDPOINT_URL_DYNAMODB", moto.url()),
            ],
        )
        .await;
    // WHEN it is invoked 24 times, 100 ms apart, every fourth run capped at 30 posts
    let mut replayed = 0;
    for k in 0..24 {
        let input = if k % 4 == 3 { at_most(30) } else { scheduled() };
        replayed += skipped(&f.ok(&input).await, "replayed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    f.last_run(live, &mut expected).await;
    // THEN nothing is lost, and at most 1% of the records are repeats
    let tally = Tally::of(&kinesis, &expected);
    eprintln!(
        "steady state: {} records, {} duplicates, {replayed} replayed posts dropped",
        tally.records, tally.duplicates
    );
    assert!(
        tally.missing.is_empty() && tally.unexpected.is_empty(),
        "{tally:?}"
    );
    assert!(tally.records > 500, "{tally:?}");
    assert!(
        tally.duplicates * 100 <= tally.records,
        "{} duplicates in {} records",
        tally.duplicates,
        tally.records
    );
    // AND the runs did read the margin again (thousands of posts) and dropped it
    assert!(replayed > 2_000, "{replayed} replayed");
    // AND the window lives in the DynamoDB item
    let item = dynamodb
        .get_item()
        .table_name("cursors")
        .key(
            "source",
            AttributeValue::S(format!("jetstream:{}", jetstream.addr)),
        )
        .send()
        .await
        .unwrap();
    let position = item.item().unwrap()["position"].as_s().unwrap().clone();
    assert!(position.starts_with("v1;t="), "{position}");
    let window = position.split(";d=").nth(1).unwrap().split(',').count();
    assert!(window > 100, "{window} posts in the window");
}

#[tokio::test]
async fn garbage_and_oversize_frames_are_counted_and_never_fatal() {
    // GIVEN an instance that sends a frame that is not JSON before every 5th event and one
    // over JETSTREAM_MAX_FRAME_BYTES (4096) before every 7th, and pings every 100 ms
    let net = Network::new();
    let expected = net.backlog(300, Duration::from_millis(50), Duration::from_millis(5));
    let World {
        jetstream,
        kinesis,
        f,
        _dir,
    } = Given {
        jetstream: Faults::with(|f| {
            f.garbage_every = 5;
            f.oversize_every = 7;
            f.ping_every = Duration::from_millis(100);
        }),
        ..Given::default()
    }
    .start(&net, &[("JETSTREAM_MAX_FRAME_BYTES", "4096".into())])
    .await;
    // WHEN the function reads the backlog (the network is quiet: the read ends at the stall)
    let first = f.ok(&scheduled()).await;
    let frames = count(&jetstream.stats.frames);
    // THEN every bad frame the server sent is counted under its reason, and the posts arrived
    assert_eq!(first["stop"], "stalled", "{first}");
    assert_eq!(
        (skipped(&first, "garbage"), skipped(&first, "oversize")),
        (frames / 5, frames / 7),
        "{first}"
    );
    Tally::of(&kinesis, &expected).assert_exactly_once();
    // AND the summary log line carries the same counts, as a JSON object Logs Insights queries
    let line = &f.summaries()[0];
    assert!(line["skipped"].is_object(), "{line}");
    let logged: BTreeMap<String, u64> = serde_json::from_value(line["skipped"].clone()).unwrap();
    assert_eq!(logged["garbage"], frames / 5, "{line}");
    assert_eq!(logged["oversize"], frames / 7, "{line}");
    // AND the next invocation, meeting them again in the replay, succeeds too
    let second = f.ok(&scheduled()).await;
    assert!(skipped(&second, "garbage") > 0, "{second}");
    Tally::of(&kinesis, &expected).assert_exactly_once();
    // AND the server's pings were answered while reading
    assert!(count(&jetstream.stats.pongs) > 0);
}

#[tokio::test]
async fn a_stalled_server_is_given_up_within_the_budget_and_what_was_read_is_delivered() {
    // GIVEN an instance that stops sending events after 150 frames but keeps the connection
    // open and keeps pinging, JETSTREAM_STALL_MS=400, and an 8 s invocation
    let net = Network::new();
    let expected = net.backlog(250, Duration::from_millis(50), Duration::from_millis(10));
    let World {
        jetstream: _jetstream,
        kinesis,
        f,
        _dir,
    } = Given {
        jetstream: Faults::with(|f| {
            f.stall_after_frames = 150;
            f.ping_every = Duration::from_millis(100);
        }),
        timeout: Duration::from_secs(8),
        ..Given::default()
    }
    .start(&net, &[("JETSTREAM_STALL_MS", "400".into())])
    .await;
    // WHEN invoked
    let started = Instant::now();
    let first = f.ok(&scheduled()).await;
    let took = started.elapsed();
    // THEN it gave up after the stall time, not at the end of its 7.4 s fetch budget
    assert_eq!(first["stop"], "stalled", "{first}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // AND each of the 150 frames read was put or counted, and the posts among them are in
    // Kinesis: the oldest ones, none missing in between
    let put = first["put"].as_u64().unwrap();
    let counted: u64 = ["update", "delete", "identity", "account"]
        .iter()
        .map(|k| skipped(&first, k))
        .sum();
    assert_eq!(put + counted, 150, "{first}");
    Tally::of(&kinesis, &expected[..put as usize]).assert_exactly_once();
    // AND the next invocation, on a new connection, delivers the rest
    let second = f.ok(&scheduled()).await;
    assert_eq!(second["stop"], "stalled", "{second}");
    Tally::of(&kinesis, &expected).assert_exactly_once();
}

#[tokio::test]
async fn other_events_are_counted_not_sent_and_posts_are_the_documented_flat_records() {
    // GIVEN a backlog of 400 events: posts (some replies, some tagged), likes (which the
    // server filters out), updates, deletes, identity and account events
    let net = Network::new();
    let expected = net.backlog(400, Duration::from_millis(50), Duration::from_millis(5));
    let World {
        jetstream: _jetstream,
        kinesis,
        f,
        _dir,
    } = Given::default().start(&net, &[]).await;
    // WHEN the function reads it
    let s = f.ok(&scheduled()).await;
    // THEN each kind of event is counted under its name, exactly, and nothing else is
    let mut want: BTreeMap<&str, u64> = BTreeMap::new();
    for i in 0..400 {
        *want.entry(kind_of(i)).or_default() += 1;
    }
    let posts = want.remove("post").unwrap();
    want.remove("like");
    let got: BTreeMap<&str, u64> = want.keys().map(|k| (*k, skipped(&s, k))).collect();
    assert_eq!(got, want, "{s}");
    assert_eq!(
        s["skipped"].as_object().unwrap().len(),
        want.len(),
        "no other reason: {s}"
    );
    assert_eq!(
        (s["put"].as_u64(), expected.len() as u64),
        (Some(posts), posts)
    );
    // AND only the posts are in Kinesis, once each
    Tally::of(&kinesis, &expected).assert_exactly_once();
    // AND each is the documented flat record
    for r in kinesis.records() {
        let v: Value = serde_json::from_slice(&r.data).unwrap();
        let mut fields: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(fields, ks_sources::jetstream::event::POST_FIELDS, "{v}");
        let (did, rkey) = (v["did"].as_str().unwrap(), v["rkey"].as_str().unwrap());
        let i: u64 = rkey.strip_prefix("3k").unwrap().parse().unwrap();
        assert_eq!(v["id"], format!("at://{did}/app.bsky.feed.post/{rkey}"));
        assert_eq!(did, format!("did:plc:standin{:04}", i % 97));
        assert_eq!(v["cid"], format!("bafyrei{rkey}"));
        assert!(
            v["time_us"].as_u64().unwrap() > 1_700_000_000_000_000,
            "{v}"
        );
        assert_eq!(v["created_at"], "2026-12-02T10:00:00.000Z");
        assert!(
            v["text"]
                .as_str()
                .unwrap()
                .starts_with(&format!("post {i}: ")),
            "{v}"
        );
        assert_eq!((&v["lang"], &v["langs"]), (&json!("en"), &json!(["en"])));
        let reply = i.is_multiple_of(5).then(|| {
            format!(
                "at://did:plc:standin{:04}/app.bsky.feed.post/3k{:011}",
                (i + 1) % 97,
                i / 2
            )
        });
        assert_eq!(v["reply_to"], json!(reply), "{v}");
        let tags = if i.is_multiple_of(3) {
            json!(["standin", format!("mood{}", i % 4)])
        } else {
            json!([])
        };
        assert_eq!(v["tags"], tags, "{v}");
        assert_eq!(
            v["url"],
            format!("https://bsky.app/profile/{did}/post/{rkey}")
        );
        assert_eq!(v["source"], "bluesky");
    }
}
