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

use std::time::{Duration, Instant};

use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use ks_adapters::kinesis::KinesisSink;
use ks_producer::batch::{Keying, floor_requests, prepare};
use ks_producer::cursor::MemoryCursorStore;
use ks_producer::kpl::aggregate;
use ks_producer::run::{ProduceSettings, produce};
use ks_producer::synthetic::posts;
use ks_producer::{Entry, FetchBudget, Fetched, Source, SourceError, SourceRecord, Stop};
use ks_testkit::kinesis::{Faults, KinesisStandIn};

const RECORDS: usize = 50_000;

/// Hands out pre-generated posts, so generation is not timed with the producer.
struct Ready(Vec<SourceRecord>);

impl Source for Ready {
    fn name(&self) -> &str {
        "synthetic"
    }
    async fn fetch(
        &self,
        _cursor: Option<&str>,
        _budget: FetchBudget,
    ) -> Result<Fetched, SourceError> {
        Ok(Fetched {
            skipped: Vec::new(),
            records: self.0.clone(),
            pages: 1,
            stop: Stop::CaughtUp,
            connects_to_cursor: true,
            rejected: 0,
            error: None,
        })
    }
}

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
    let conf = KinesisSink::configure(
        aws_sdk_kinesis::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(url)
            .credentials_provider(Credentials::new(
                "AKIDLOCAL",
                "local-secret",
                None,
                None,
                "bench",
            )),
    )
    .build();
    KinesisSink::new(aws_sdk_kinesis::Client::from_conf(conf), "bench")
}

fn run(
    rt: &tokio::runtime::Runtime,
    url: &str,
    name: &'static str,
    records: &[SourceRecord],
    settings: &ProduceSettings,
    floor: usize,
) -> Row {
    let sink = sink(url);
    let source = Ready(records.to_vec());
    let store = MemoryCursorStore::default();
    let (cpu0, wall0) = (thread_cpu(), Instant::now());
    let out = rt.block_on(produce(
        &source,
        &store,
        &sink,
        "bench",
        settings,
        tokio::time::Instant::now() + Duration::from_secs(600),
        &mut fastrand::Rng::with_seed(1),
    ));
    let (wall, cpu) = (wall0.elapsed(), thread_cpu() - cpu0);
    out.result.unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        out.summary.put as usize,
        records.len(),
        "{name}: every record put"
    );
    Row {
        name,
        calls: out.summary.put_records_calls,
        floor,
        kinesis_records: out.summary.kinesis_records,
        units: out.summary.payload_units,
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
}
