//! `cargo bench -p stream-producer --bench producer` (`make bench-producer`).
//!
//! 50,000 synthetic posts (~700 bytes) through the producer (pack, PutRecords via the AWS SDK,
//! partial-failure loop, cursor) into the Kinesis PutRecords stand-in (`ks_testkit::kinesis`,
//! answering at once on its own thread, no faults), with aggregation off and on, next to the
//! tutorials' baseline of one call per record (measured as single-entry PutRecords calls: the
//! same round trip as `put_record`, which the stand-in does not serve).
//!
//! Reported: PutRecords calls against the floor (⌈n/500⌉ or the byte cap, whichever binds),
//! records/s, CPU ms per 10,000 records (the producer's thread only: the stand-in runs on
//! another thread), Kinesis records and 25 KB payload units.
//!
//! Then Jetstream: a 10-minute backlog (~94,000 events, ~60,000 posts) served by the Jetstream
//! stand-in (`ks_testkit::jetstream`, a real WebSocket on loopback, on its own thread) read from
//! the oldest event until caught up, each post put into the same Kinesis stand-in, three ways:
//! - the real `JetstreamSource` and `KinesisSink` (AWS SDK) in `produce`, on a current-thread
//!   runtime in this process: events/s end to end, CPU ms per 10,000 events (that thread only);
//! - the real `stream-producer` binary (bench profile) as a child process under the Runtime API
//!   stand-in, invoked once: events/s, its CPU (every thread of it), and its peak RSS (VmHWM), the
//!   stand-ins' backlog being in this process, not in the one measured;
//! - the baseline, `benches/jetstream_baseline.py` (Python `websockets` + `json` + boto3
//!   `put_records` in batches of 500) run with the project's `.venv` python (`make venv`).
//!
//! Each run is checked to deliver every post of the backlog exactly once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ks_producer::batch::{Keying, floor_requests, prepare};
use ks_producer::config::StartPosition;
use ks_producer::cursor::MemoryCursorStore;
use ks_producer::kpl::aggregate;
use ks_producer::limits::PUT_RECORDS_MAX_RECORDS;
use ks_producer::metrics::ProducerSummary;
use ks_producer::run::{ProduceSettings, produce};
use ks_producer::synthetic::{GivenSource, posts};
use ks_producer::{Entry, Source, SourceRecord};
use ks_sources::jetstream::JetstreamConfig;
use ks_sources::jetstream::JetstreamSource;
use ks_sources::kinesis::KinesisSink;
use ks_testkit::emulator::Killed;
use ks_testkit::jetstream::{Network, StandIn};
use ks_testkit::kinesis::{Faults, KinesisStandIn};
use ks_testkit::local_sdk_config;
use ks_testkit::runtime_api::{Outcome, RuntimeApi};
use serde_json::Value;

const RECORDS: usize = 50_000;

/// CPU time (user + system) this thread has used.
fn thread_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    assert_eq!(rc, 0, "getrusage failed");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1_000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

struct Row {
    name: &'static str,
    calls: u64,
    floor: usize,
    kinesis_records: u64,
    units: u64,
    wall: Duration,
    cpu: Duration,
}

fn sink(url: &str) -> KinesisSink {
    let conf = KinesisSink::configure(local_sdk_config!(aws_sdk_kinesis, url)).build();
    KinesisSink::new(aws_sdk_kinesis::Client::from_conf(conf), "bench")
}

/// One in-process invocation of `source` into the stand-in at `url`, timed: its summary (a
/// failed run panics, naming `name`), the wall time and this thread's CPU.
fn timed(
    rt: &tokio::runtime::Runtime,
    source: &impl Source,
    url: &str,
    settings: &ProduceSettings,
    name: &str,
) -> (ProducerSummary, Duration, Duration) {
    let sink = sink(url);
    let store = MemoryCursorStore::default();
    let (cpu0, wall0) = (thread_cpu(), Instant::now());
    let out = rt.block_on(produce(
        source,
        &store,
        &sink,
        "bench",
        settings,
        tokio::time::Instant::now() + Duration::from_secs(600),
        &mut fastrand::Rng::with_seed(1),
    ));
    let (wall, cpu) = (wall0.elapsed(), thread_cpu() - cpu0);
    out.result.unwrap_or_else(|e| panic!("{name}: {e}"));
    (out.summary, wall, cpu)
}

fn run(
    rt: &tokio::runtime::Runtime,
    url: &str,
    name: &'static str,
    records: &[SourceRecord],
    settings: &ProduceSettings,
    floor: usize,
) -> Row {
    // Pre-generated posts, so generation is not timed with the producer.
    let source = GivenSource::new("synthetic", records.to_vec());
    let (summary, wall, cpu) = timed(rt, &source, url, settings, name);
    assert_eq!(
        summary.put as usize,
        records.len(),
        "{name}: every record put"
    );
    Row {
        name,
        calls: summary.put_records_calls,
        floor,
        kinesis_records: summary.kinesis_records,
        units: summary.payload_units,
        wall,
        cpu,
    }
}

fn main() {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = server_rt
        .block_on(KinesisStandIn::start(Faults::default()))
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let t = Instant::now();
    let records = posts(42, 0, RECORDS);
    let generated = t.elapsed();
    let bytes: usize = records.iter().map(|r| r.data.len()).sum();
    println!(
        "stream-producer benchmark: {RECORDS} synthetic posts, {} bytes on average ({:.1} MB), generated in {} ms",
        bytes / RECORDS,
        bytes as f64 / 1e6,
        generated.as_millis()
    );
    println!(
        "emulator: the in-process Kinesis PutRecords stand-in (ks_testkit::kinesis) on its own thread, no injected faults\n"
    );

    let settings = ProduceSettings {
        max_pages: u32::MAX,
        max_records: usize::MAX,
        ..ProduceSettings::default()
    };
    let entries: Vec<Entry> = records
        .iter()
        .map(|r| prepare(r, &Keying::default(), &settings.limits).unwrap())
        .collect();
    let sizes: Vec<usize> = entries.iter().map(Entry::size).collect();
    let off_floor = floor_requests(&sizes, &settings.limits);
    let aggregated = aggregate(&entries, 51_200);
    let agg_sizes: Vec<usize> = aggregated.iter().map(|p| p.entry.size()).collect();
    let on_floor = floor_requests(&agg_sizes, &settings.limits);

    let mut rows = Vec::new();
    // Warm-up: connection pool, page cache, allocator.
    run(
        &rt,
        &server.url(),
        "warm-up",
        &records[..2_000],
        &settings,
        0,
    );
    rows.push(run(
        &rt,
        &server.url(),
        "PutRecords, aggregation off",
        &records,
        &settings,
        off_floor,
    ));
    let agg = ProduceSettings {
        aggregation: Some(51_200),
        ..settings.clone()
    };
    rows.push(run(
        &rt,
        &server.url(),
        "PutRecords, KPL aggregation on",
        &records,
        &agg,
        on_floor,
    ));
    let mut one = settings.clone();
    one.limits.max_records = 1;
    rows.push(run(
        &rt,
        &server.url(),
        "baseline: one call per record",
        &records,
        &one,
        RECORDS,
    ));

    println!(
        "{:<32} {:>9} {:>7} {:>8} {:>10} {:>9} {:>10} {:>12} {:>10}",
        "run",
        "calls",
        "floor",
        "vs floor",
        "records/s",
        "wall ms",
        "CPU ms/10k",
        "Kinesis recs",
        "25KB units"
    );
    for r in &rows {
        let over = if r.floor > 0 {
            format!("{:+.1}%", (r.calls as f64 / r.floor as f64 - 1.0) * 100.0)
        } else {
            "-".into()
        };
        println!(
            "{:<32} {:>9} {:>7} {:>8} {:>10.0} {:>9} {:>10.1} {:>12} {:>10}",
            r.name,
            r.calls,
            r.floor,
            over,
            RECORDS as f64 / r.wall.as_secs_f64(),
            r.wall.as_millis(),
            r.cpu.as_secs_f64() * 1_000.0 / (RECORDS as f64 / 10_000.0),
            r.kinesis_records,
            r.units,
        );
    }
    let (off, on, base) = (&rows[0], &rows[1], &rows[2]);
    println!(
        "\naggregation: {} Kinesis records instead of {} ({:.1}x fewer), {} payload units instead of {} ({:.1}x fewer)",
        on.kinesis_records,
        off.kinesis_records,
        off.kinesis_records as f64 / on.kinesis_records as f64,
        on.units,
        off.units,
        off.units as f64 / on.units as f64
    );
    println!(
        "batching: {} calls instead of the baseline's {} ({:.0}x fewer), {:.1}x the records/s",
        off.calls,
        base.calls,
        base.calls as f64 / off.calls as f64,
        base.wall.as_secs_f64() / off.wall.as_secs_f64()
    );
    assert!(
        off.calls as f64 <= off.floor as f64 * 1.02,
        "aggregation off: {} calls, floor {}",
        off.calls,
        off.floor
    );
    assert!(
        on.calls as f64 <= (on.floor as f64 * 1.02).max(on.floor as f64 + 1.0),
        "aggregation on: {} calls, floor {}",
        on.calls,
        on.floor
    );
    assert_eq!(
        server.stats.rejected(),
        0,
        "no request broke the PutRecords limits"
    );

    jetstream_rows(&server_rt, &server, &rt);
}

/// Events in the Jetstream backlog: ~64% of the stand-in's events are posts (the rest likes,
/// which the server filters out, updates, deletes, identity and account events).
const JETSTREAM_EVENTS: u64 = 93_600;
/// The backlog's span: ten minutes of ~100 posts/s, about Bluesky's own rate.
const JETSTREAM_SPAN: Duration = Duration::from_secs(600);
const EVENTS_PER_SEC_TARGET: f64 = 5_000.0;
const RSS_TARGET_MB: f64 = 128.0;

/// One way of reading the backlog into Kinesis.
struct JetRow {
    name: &'static str,
    /// Frames read (posts, other events, anything skipped).
    events: u64,
    posts: u64,
    wall: Duration,
    cpu: Duration,
    rss_mb: Option<f64>,
    calls: u64,
    floor: u64,
}

/// ⌈n/500⌉, or the byte cap's floor if that binds.
fn jetstream_floor(posts: u64, bytes: u64, max_request_bytes: usize) -> u64 {
    posts
        .div_ceil(PUT_RECORDS_MAX_RECORDS as u64)
        .max(bytes.div_ceil(max_request_bytes as u64))
}

/// Every backlog post in what the stand-in took since the last call, exactly once; the number
/// of posts it took and their bytes.
fn check_once(server: &KinesisStandIn, backlog: &[String], name: &str) -> (u64, u64) {
    let stored = server.drain_records();
    let mut seen: HashMap<String, u32> = HashMap::with_capacity(stored.len());
    let mut bytes = 0;
    for r in &stored {
        bytes += (r.data.len() + r.partition_key.len()) as u64;
        let v: Value = serde_json::from_slice(&r.data).expect("a JSON record");
        *seen
            .entry(v["id"].as_str().expect("an id").to_owned())
            .or_default() += 1;
    }
    let missing = backlog.iter().filter(|u| !seen.contains_key(*u)).count();
    let repeated = seen.values().filter(|&&n| n > 1).count();
    assert_eq!(
        (missing, repeated),
        (0, 0),
        "{name}: every backlog post exactly once"
    );
    (stored.len() as u64, bytes)
}

fn summed(v: &Value) -> u64 {
    v.as_object()
        .map_or(0, |m| m.values().filter_map(Value::as_u64).sum())
}

fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// CPU time (user + system, every thread) a process has used, from `/proc/<pid>/stat`.
fn process_cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    // The fields after the command's closing parenthesis start at the 3rd; utime is the 14th.
    let rest = &stat[stat.rfind(')').expect("a command") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf reads a constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_micros(ticks * 1_000_000 / hz)
}

fn jetstream_rows(
    server_rt: &tokio::runtime::Runtime,
    server: &KinesisStandIn,
    rt: &tokio::runtime::Runtime,
) {
    // The Jetstream stand-in on a thread of its own, with a post every 10 ms after the backlog:
    // the readers stop at the first event stamped after they connected, as live readers do.
    let js_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let net = Network::new();
    let t = Instant::now();
    let backlog = net.backlog(
        JETSTREAM_EVENTS,
        Duration::from_secs(1),
        JETSTREAM_SPAN / JETSTREAM_EVENTS as u32,
    );
    let (standin, _live) = js_rt.block_on(async {
        let standin = StandIn::start(net.clone(), Default::default())
            .await
            .unwrap();
        (standin, net.live(Duration::from_millis(10)))
    });
    println!(
        "
jetstream: {JETSTREAM_EVENTS} events over {} min ({} posts) generated in {} ms, served by the Jetstream stand-in (real WebSocket, loopback, its own thread), read from the oldest until caught up, into the same Kinesis stand-in
",
        JETSTREAM_SPAN.as_secs() / 60,
        backlog.len(),
        t.elapsed().as_millis()
    );
    server.drain_records();
    let settings = ProduceSettings {
        max_pages: u32::MAX,
        max_records: usize::MAX,
        ..ProduceSettings::default()
    };
    let source = JetstreamSource::new(JetstreamConfig {
        urls: vec![standin.url()],
        ..JetstreamConfig::default()
    })
    .starting_at(StartPosition::Oldest);
    let in_process = |name: &'static str| {
        let (summary, wall, cpu) = timed(rt, &source, &server.url(), &settings, name);
        assert_eq!(summary.stop, "caught_up", "{name}: {:?}", summary);
        let (posts, bytes) = check_once(server, &backlog, name);
        assert_eq!(posts, summary.put);
        JetRow {
            name,
            events: summary.fetched + summary.skipped.values().sum::<u64>(),
            posts,
            wall,
            cpu,
            rss_mb: None,
            calls: summary.put_records_calls,
            floor: jetstream_floor(posts, bytes, settings.limits.max_request_bytes),
        }
    };
    // Warm-up: the SDK's connection, the allocator, the stand-in's first snapshot.
    in_process("warm-up");
    let mut rows = vec![in_process("Rust, in process (1 thread)")];
    rows.push(binary_row(server_rt, server, &standin.url(), &backlog));
    rows.push(python_row(server, &standin.url(), &backlog));
    drop(standin);

    println!(
        "{:<34} {:>7} {:>7} {:>9} {:>9} {:>17} {:>9} {:>7} {:>7} {:>8}",
        "run",
        "events",
        "posts",
        "wall ms",
        "events/s",
        "CPU ms/10k events",
        "peak RSS",
        "calls",
        "floor",
        "vs floor"
    );
    for r in &rows {
        println!(
            "{:<34} {:>7} {:>7} {:>9} {:>9.0} {:>17.1} {:>9} {:>7} {:>7} {:>8}",
            r.name,
            r.events,
            r.posts,
            r.wall.as_millis(),
            r.events as f64 / r.wall.as_secs_f64(),
            r.cpu.as_secs_f64() * 1_000.0 / (r.events as f64 / 10_000.0),
            r.rss_mb.map_or("-".into(), |mb| format!("{mb:.1} MB")),
            r.calls,
            r.floor,
            format!("{:+.1}%", (r.calls as f64 / r.floor as f64 - 1.0) * 100.0),
        );
    }
    let (rust, binary, python) = (&rows[0], &rows[1], &rows[2]);
    let rate = |r: &JetRow| r.events as f64 / r.wall.as_secs_f64();
    let cpu = |r: &JetRow| r.cpu.as_secs_f64() / r.events as f64;
    println!(
        "
Rust vs Python: {:.0} vs {:.0} events/s in process ({:.1}x), {:.0} for the binary ({:.1}x); CPU per event {:.1}x less in process, {:.1}x less for the binary; peak RSS {:.1} MB (binary) vs {:.1} MB (Python)",
        rate(rust),
        rate(python),
        rate(rust) / rate(python),
        rate(binary),
        rate(binary) / rate(python),
        cpu(python) / cpu(rust),
        cpu(python) / cpu(binary),
        binary.rss_mb.unwrap_or(f64::NAN),
        python.rss_mb.unwrap_or(f64::NAN),
    );
    println!(
        "(CPU: the producer's thread in process; every thread of the binary's process; the Python process. RSS: VmHWM of each process.)"
    );
    for r in [rust, binary] {
        if rate(r) < EVENTS_PER_SEC_TARGET {
            println!(
                "!! {}: {:.0} events/s is below the {EVENTS_PER_SEC_TARGET} target",
                r.name,
                rate(r)
            );
        }
        assert!(
            r.calls as f64 <= r.floor as f64 * 1.02,
            "{}: {} calls, floor {}",
            r.name,
            r.calls,
            r.floor
        );
    }
    if binary.rss_mb.unwrap_or(0.0) > RSS_TARGET_MB {
        println!(
            "!! peak RSS {:.1} MB is above the {RSS_TARGET_MB} MB target",
            binary.rss_mb.unwrap_or(0.0)
        );
    }
    assert_eq!(
        server.stats.rejected(),
        0,
        "no request broke the PutRecords limits"
    );
}

/// The `stream-producer` binary, invoked once under the Runtime API stand-in.
fn binary_row(
    server_rt: &tokio::runtime::Runtime,
    server: &KinesisStandIn,
    jetstream_url: &str,
    backlog: &[String],
) -> JetRow {
    let name = "Rust, stream-producer binary";
    let api = server_rt
        .block_on(RuntimeApi::start(Duration::from_secs(600)))
        .unwrap();
    let dir = std::env::temp_dir().join(format!("stream-producer-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let child = api
        .command(
            env!("CARGO_BIN_EXE_stream-producer"),
            "stream-producer",
            256,
        )
        .env("AWS_ENDPOINT_URL_KINESIS", server.url())
        .env("SOURCE", "jetstream")
        .env("JETSTREAM_URL", jetstream_url)
        .env("START_POSITION", "oldest")
        .env("STREAM_NAME", "bench")
        .env("CURSOR_DIR", &dir)
        .env("MAX_RECORDS", "1000000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the stream-producer binary starts");
    let child = Killed(child);
    let pid = child.0.id();
    // Wait for the cold start to end (the first request for work), then measure one invocation.
    while api.first_next().is_none() {
        std::thread::sleep(Duration::from_millis(5));
    }
    let (cpu0, wall0) = (process_cpu(pid), Instant::now());
    let id = api.push(br#"{"source":"aws.scheduler"}"#.to_vec());
    let outcome = server_rt.block_on(api.outcome(&id, Duration::from_secs(600)));
    let (wall, cpu) = (wall0.elapsed(), process_cpu(pid) - cpu0);
    let rss_mb = ks_testkit::proc::status_mb(pid, "VmHWM");
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
    let summary: Value = match outcome {
        Some(Outcome::Response(body)) => serde_json::from_slice(&body).unwrap(),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(summary["stop"], "caught_up", "{name}: {summary}");
    let (posts, bytes) = check_once(server, backlog, name);
    assert_eq!(Some(posts), summary["put"].as_u64());
    JetRow {
        name,
        events: summary["fetched"].as_u64().unwrap() + summed(&summary["skipped"]),
        posts,
        wall,
        cpu,
        rss_mb,
        calls: summary["put_records_calls"].as_u64().unwrap(),
        floor: jetstream_floor(
            posts,
            bytes,
            ProduceSettings::default().limits.max_request_bytes,
        ),
    }
}

/// The Python baseline, in the project's venv.
fn python_row(server: &KinesisStandIn, jetstream_url: &str, backlog: &[String]) -> JetRow {
    let name = "Python websockets + boto3";
    let python = workspace_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} not found: the baseline needs the project's venv; run `make venv` (make bench-producer does)",
        python.display()
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/jetstream_baseline.py");
    let calls0 = server.stats.calls();
    let out = Command::new(&python)
        .arg(&script)
        .arg(jetstream_url)
        .arg(server.url())
        .stderr(Stdio::inherit())
        .output()
        .expect("the baseline runs");
    assert!(out.status.success(), "{name}: {}", out.status);
    let stats: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{name}: {e}: {}", String::from_utf8_lossy(&out.stdout)));
    let (posts, bytes) = check_once(server, backlog, name);
    assert_eq!(Some(posts), stats["posts"].as_u64());
    assert_eq!(Some(server.stats.calls() - calls0), stats["calls"].as_u64());
    println!(
        "baseline: {}; {:.1} s of its {:.1} s in put_records",
        stats["versions"].as_str().unwrap_or("?"),
        stats["put_s"].as_f64().unwrap_or(f64::NAN),
        stats["wall_s"].as_f64().unwrap_or(f64::NAN),
    );
    JetRow {
        name,
        events: stats["events"].as_u64().unwrap(),
        posts,
        wall: Duration::from_secs_f64(stats["wall_s"].as_f64().unwrap()),
        cpu: Duration::from_secs_f64(stats["cpu_s"].as_f64().unwrap()),
        rss_mb: stats["max_rss_mb"].as_f64(),
        calls: stats["calls"].as_u64().unwrap(),
        floor: jetstream_floor(
            posts,
            bytes,
            ProduceSettings::default().limits.max_request_bytes,
        ),
    }
}
