//! The Jetstream source against the stand-in over a real WebSocket on loopback, through the
//! producer's whole run (dedupe, pack, put, checkpoint): no post lost and none sent twice across
//! runs, closed connections, a switch to another instance with another clock, garbage and
//! oversize frames, and a stall.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use ks_producer::config::StartPosition;
use ks_producer::cursor::MemoryCursorStore;
use ks_producer::run::{Outcome, ProduceSettings, produce};
use ks_producer::{CallError, Entry, EntryOutcome, StreamSink};
use ks_sources::jetstream::JetstreamConfig;
use ks_sources::jetstream::JetstreamSource;
use ks_testkit::With as _;
use ks_testkit::jetstream::{Faults, Network, StandIn};
use serde_json::Value;
use tokio::time::Instant;

/// The stream: every record put, by post URI.
#[derive(Default)]
struct Stream {
    got: Mutex<HashMap<String, u32>>,
}

impl StreamSink for Stream {
    async fn put_records(&self, entries: &[&Entry]) -> Result<Vec<EntryOutcome>, CallError> {
        let mut got = self.got.lock().unwrap();
        for e in entries {
            let v: Value = serde_json::from_slice(&e.data).unwrap();
            assert_eq!(v["source"], "bluesky");
            *got.entry(v["id"].as_str().unwrap().to_owned()).or_default() += 1;
        }
        Ok(all_accepted(entries))
    }
}

/// Every entry accepted.
fn all_accepted(entries: &[&Entry]) -> Vec<EntryOutcome> {
    let accepted = || EntryOutcome::Accepted {
        shard_id: "s".into(),
        sequence_number: "1".into(),
    };
    entries.iter().map(|_| accepted()).collect()
}

impl Stream {
    /// (posts missing, posts sent more than once) against `expected`.
    fn check(&self, expected: &[String]) -> (usize, usize) {
        let got = self.got.lock().unwrap();
        let missing = expected.iter().filter(|u| !got.contains_key(*u)).count();
        let dups = got.values().filter(|&&n| n > 1).count();
        (missing, dups)
    }
}

/// The tests' timings (a short replay, stall and connect timeout) for `servers`.
fn config(servers: &[&StandIn]) -> JetstreamConfig {
    JetstreamConfig {
        urls: servers.iter().map(|s| s.url()).collect(),
        replay: Duration::from_millis(500),
        stall: Duration::from_millis(800),
        connect_timeout: Duration::from_millis(500),
        ..JetstreamConfig::default()
    }
}

/// A reader of new posts from `servers`, in order, from the oldest event kept.
fn oldest(servers: &[&StandIn]) -> JetstreamSource {
    JetstreamSource::new(JetstreamConfig {
        max_frame_bytes: 4_096,
        // New posts only: these check delivery of posts; forwarding has its own test below.
        deletions: false,
        ..config(servers)
    })
    .starting_at(StartPosition::Oldest)
}

/// A stand-in of `net` with `faults`.
async fn standin(net: &std::sync::Arc<Network>, faults: Faults) -> StandIn {
    StandIn::start(net.clone(), faults).await.unwrap()
}

async fn run(
    src: &JetstreamSource,
    store: &MemoryCursorStore,
    stream: &impl StreamSink,
    max_records: usize,
) -> Outcome {
    let settings = ProduceSettings {
        max_records,
        put_reserve: Duration::from_millis(200),
        ..ProduceSettings::default()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut rng = fastrand::Rng::with_seed(7);
    produce(
        src,
        store,
        stream,
        "jetstream:test",
        &settings,
        deadline,
        &mut rng,
    )
    .await
}

#[tokio::test]
async fn a_backlog_is_read_once_until_caught_up_and_other_events_are_counted() {
    // GIVEN 400 events of the last 4 s (posts, likes, updates, deletes, identity, account)
    // and live posts
    let net = Network::new();
    let posts = net.backlog(400, Duration::from_millis(200), Duration::from_millis(10));
    let _live = net.live(Duration::from_millis(20));
    let server = standin(
        &net,
        Faults::with(|f| f.ping_every = Duration::from_millis(50)),
    )
    .await;
    let (store, stream) = (MemoryCursorStore::default(), Stream::default());
    let src = oldest(&[&server]);
    // WHEN the producer runs once from the oldest
    let out = run(&src, &store, &stream, 5_000).await;
    // THEN it caught up, every backlog post is in the stream once, and the rest was counted
    out.result.unwrap();
    assert_eq!(out.summary.stop, "caught_up", "{:?}", out.summary);
    assert_eq!(stream.check(&posts), (0, 0));
    for kind in ["update", "delete", "identity", "account"] {
        assert!(
            out.summary.skipped.get(kind).copied().unwrap_or(0) > 0,
            "{kind}: {:?}",
            out.summary.skipped
        );
    }
    assert!(
        !out.summary.skipped.contains_key("other_collection"),
        "the server filtered likes out"
    );
    let q = server.stats.queries.lock().unwrap()[0].clone();
    assert!(q.contains("wantedCollections=app.bsky.feed.post"), "{q}");
    // AND the oldest start is a time (36 h back), never a number Jetstream v2 reads as its
    // sequence
    let cursor: u64 = q
        .split('&')
        .find_map(|kv| kv.strip_prefix("cursor="))
        .expect("a cursor")
        .parse()
        .unwrap();
    assert!(cursor >= ks_sources::jetstream::MIN_TIME_CURSOR, "{q}");
    assert!(
        out.summary
            .cursor_after
            .as_deref()
            .unwrap()
            .starts_with("v1;t=")
    );
}

#[tokio::test]
async fn runs_in_small_steps_lose_nothing_and_repeat_nothing() {
    // GIVEN a backlog and live posts, read 60 posts a run
    let net = Network::new();
    let mut posts = net.backlog(300, Duration::from_millis(100), Duration::from_millis(5));
    let live = net.live(Duration::from_millis(10));
    let server = standin(&net, Faults::default()).await;
    let (store, stream) = (MemoryCursorStore::default(), Stream::default());
    let src = oldest(&[&server]);
    // WHEN the producer runs until one run catches up
    let mut runs = 0;
    loop {
        runs += 1;
        let out = run(&src, &store, &stream, 60).await;
        out.result.unwrap();
        if out.summary.stop == "caught_up" || runs > 40 {
            break;
        }
    }
    let reconnected_at = server
        .stats
        .connections
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(reconnected_at >= 4, "{reconnected_at} runs");
    // AND once the network is quiet, one more run catches up
    let backlog = posts.len();
    posts.extend(live.uris.lock().unwrap().iter().cloned());
    drop(live);
    assert!(posts.len() > backlog, "live posts arrived");
    run(&src, &store, &stream, 5_000).await.result.unwrap();
    // THEN every backlog and live post is in the stream exactly once
    let delivered: Vec<String> = stream.got.lock().unwrap().keys().cloned().collect();
    let (missing, dups) = stream.check(&posts);
    assert_eq!((missing, dups), (0, 0), "{} delivered", delivered.len());
}

#[tokio::test]
async fn a_closed_connection_is_resumed_and_a_stall_ends_the_read() {
    // GIVEN an instance that closes the first two connections after 30 frames, with garbage
    // and oversize frames among the events, and one that stalls after 50 frames
    let net = Network::new();
    let posts = net.backlog(300, Duration::from_millis(100), Duration::from_millis(5));
    let flaky = standin(
        &net,
        Faults::with(|f| {
            f.close_first_connections = 2;
            f.close_after_frames = 30;
            f.garbage_every = 17;
            f.oversize_every = 23;
        }),
    )
    .await;
    let (store, stream) = (MemoryCursorStore::default(), Stream::default());
    // WHEN read (no live posts: the read ends at the stall timeout)
    let out = run(&oldest(&[&flaky]), &store, &stream, 5_000).await;
    // THEN the reconnects carried on, bad frames were counted, and every post arrived once
    assert_eq!(out.summary.stop, "stalled", "{:?}", out.summary);
    assert!(out.summary.pages >= 3, "{:?}", out.summary);
    assert!(out.summary.skipped["garbage"] > 0 && out.summary.skipped["oversize"] > 0);
    assert_eq!(stream.check(&posts), (0, 0));

    // GIVEN an instance that stalls after 50 frames WHEN a fresh reader starts THEN it stops
    // within the stall timeout, delivering what it read
    let stalling = standin(&net, Faults::with(|f| f.stall_after_frames = 50)).await;
    let (store2, stream2) = (MemoryCursorStore::default(), Stream::default());
    let started = std::time::Instant::now();
    let out = run(&oldest(&[&stalling]), &store2, &stream2, 5_000).await;
    assert_eq!(out.summary.stop, "stalled");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(out.summary.put > 0 && out.summary.put <= 50);
}

#[tokio::test]
async fn a_switch_to_another_instance_with_another_clock_loses_and_repeats_nothing() {
    // GIVEN two instances of one network, the second's clock 200 ms ahead, and a down one
    let net = Network::new();
    let mut posts = net.backlog(200, Duration::from_millis(300), Duration::from_millis(5));
    let live = net.live(Duration::from_millis(10));
    let first = standin(&net, Faults::default()).await;
    let second = standin(&net, Faults::with(|f| f.skew_us = 200_000)).await;
    let down = standin(&net, Faults::with(|f| f.refuse = true)).await;
    let (store, stream) = (MemoryCursorStore::default(), Stream::default());
    // WHEN a run reads the first, and later runs find it down and fall back to the second
    run(&oldest(&[&first]), &store, &stream, 5_000)
        .await
        .result
        .unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let fallback = oldest(&[&down, &second]);
    for _ in 0..2 {
        let out = run(&fallback, &store, &stream, 5_000).await;
        out.result.unwrap();
        assert!(
            out.summary.skipped.get("replayed").copied().unwrap_or(0) > 0,
            "{:?}",
            out.summary
        );
    }
    // AND once the network is quiet, one more run on the fallback catches up
    posts.extend(live.uris.lock().unwrap().iter().cloned());
    drop(live);
    // (a run reads up to the instance's own now: the second's clock is 200 ms ahead, so what
    // it stamped in the last 200 ms waits for the next run, as it would a minute later)
    tokio::time::sleep(Duration::from_millis(300)).await;
    run(&fallback, &store, &stream, 5_000).await.result.unwrap();
    // THEN every backlog and live post is there, at most 1% twice
    let got = stream.got.lock().unwrap().len();
    let (missing, dups) = stream.check(&posts);
    assert_eq!(missing, 0);
    assert!(dups * 100 <= got, "{dups} duplicates of {got}");
    assert!(
        second
            .stats
            .connections
            .load(std::sync::atomic::Ordering::SeqCst)
            >= 2
    );
}

#[tokio::test]
async fn a_quiet_server_that_keeps_pinging_is_a_stall_not_a_wait_for_the_deadline() {
    // GIVEN an instance with a short backlog and nothing after it, pinging every 50 ms
    let net = Network::new();
    let posts = net.backlog(50, Duration::from_millis(100), Duration::from_millis(5));
    let server = standin(
        &net,
        Faults::with(|f| f.ping_every = Duration::from_millis(50)),
    )
    .await;
    let (store, stream) = (MemoryCursorStore::default(), Stream::default());
    // WHEN read with an 800 ms stall timeout and a 10 s budget
    let started = std::time::Instant::now();
    let out = run(&oldest(&[&server]), &store, &stream, 5_000).await;
    // THEN the pings were answered but did not hold the read: it ended at the stall
    out.result.unwrap();
    assert_eq!(out.summary.stop, "stalled", "{:?}", out.summary);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(server.stats.pongs.load(std::sync::atomic::Ordering::SeqCst) > 5);
    assert_eq!(stream.check(&posts), (0, 0));
}

/// What a stream holds of forwarded records, by what they are.
#[derive(Default)]
struct Forwarded {
    got: Mutex<Vec<Value>>,
}

impl StreamSink for Forwarded {
    async fn put_records(&self, entries: &[&Entry]) -> Result<Vec<EntryOutcome>, CallError> {
        let mut got = self.got.lock().unwrap();
        got.extend(
            entries
                .iter()
                .map(|e| serde_json::from_slice(&e.data).unwrap()),
        );
        Ok(all_accepted(entries))
    }
}

#[tokio::test]
async fn edits_deletions_and_account_events_are_forwarded_once_each_across_reconnects() {
    // GIVEN a backlog with updates, deletes and account events, served by an instance that
    // drops its first three connections after 150 frames and sends garbage every 37th frame
    let net = Network::new();
    let posts = net.backlog(400, Duration::from_millis(200), Duration::from_millis(10));
    let faults = Faults::with(|f| {
        f.close_first_connections = 3;
        f.close_after_frames = 150;
        f.garbage_every = 37;
    });
    let server = standin(&net, faults).await;
    let src = JetstreamSource::new(config(&[&server])).starting_at(StartPosition::Oldest);
    let (store, stream) = (MemoryCursorStore::default(), Forwarded::default());
    // WHEN the producer runs until it has caught up
    for _ in 0..5 {
        let out = run(&src, &store, &stream, 5_000).await;
        out.result.unwrap();
        if out.summary.stop == "caught_up" {
            break;
        }
    }
    // THEN every post, update, delete and account event of the backlog is in the stream once
    let got = stream.got.lock().unwrap();
    let count = |op: Option<&str>| got.iter().filter(|v| v["op"].as_str() == op).count();
    let expected = |m: u64, r: u64| (0..400u64).filter(|i| i % m == r).count();
    let accounts = expected(19, 18);
    let deletes = (0..400u64)
        .filter(|i| i % 19 != 18 && i % 17 != 16 && i % 13 == 12)
        .count();
    let updates = (0..400u64)
        .filter(|i| i % 19 != 18 && i % 17 != 16 && i % 13 != 12 && i % 11 == 10)
        .count();
    assert_eq!(count(None), posts.len());
    assert_eq!(count(Some("account")), accounts);
    assert_eq!(count(Some("delete")), deletes);
    assert_eq!(count(Some("update")), updates);
    // AND each says what it is about: a delete its post's URI, an account its did
    for v in got.iter() {
        match v["op"].as_str() {
            Some("delete") => assert!(
                v["id"]
                    .as_str()
                    .unwrap()
                    .starts_with("at://did:plc:standin")
            ),
            Some("account") => assert!(v["did"].as_str().unwrap().starts_with("did:plc:standin")),
            Some("update") => assert_eq!(v["text"], "edited"),
            _ => assert!(posts.contains(&v["id"].as_str().unwrap().to_owned())),
        }
    }
}
