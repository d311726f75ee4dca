//! `cargo bench -p kinesis-sentiment --bench put` (`make bench-put`).
//!
//! 1 GB of JSON Lines (~1 KB tweet-like records, generated once under target/bench, not
//! committed) through the real `kinesis-sentiment put` binary into the project's Kinesis
//! PutRecords stand-in (`ks_testkit::kinesis`, real wire protocol, run in this process on one
//! thread). moto, the emulator the integration tests read back from, is Python: far too slow to
//! take a gigabyte in a benchmark's time.
//!
//! Reported: records/s and MB/s of the whole run, the binary's peak RSS (getrusage of the waited
//! child, which is its VmHWM) and its RSS sampled through the run (constant memory: the last
//! samples are no higher than the first), PutRecords calls against the floor (⌈n/500⌉ or the byte
//! cap, whichever binds). Every record is checked to arrive exactly once as it arrives.
//!
//! `PUT_BENCH_BYTES` sets the input size (default 10^9); `PUT_BENCH_ARGS` adds flags to `put`
//! (e.g. `--aggregate`).

use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ks_producer::kpl::deaggregate;
use ks_testkit::aws;
use ks_testkit::kinesis::{Faults, KinesisStandIn, Stored};

const BIN: &str = env!("CARGO_BIN_EXE_kinesis-sentiment");
const DEFAULT_BYTES: u64 = 1_000_000_000;
/// The resident-set target for `put`, whatever the input size.
const RSS_TARGET_MB: f64 = 64.0;

const WORDS: [&str; 24] = [
    "kinesis",
    "stream",
    "shard",
    "great",
    "terrible",
    "coffee",
    "train",
    "late",
    "again",
    "love",
    "this",
    "morning",
    "release",
    "rust",
    "lambda",
    "firehose",
    "sentiment",
    "today",
    "worst",
    "best",
    "ever",
    "weekend",
    "deploy",
    "happy",
];

/// Writes `bytes` of JSON Lines to `path` (once: a file of the right size is kept). Returns
/// the record count.
fn generate(path: &Path, bytes: u64) -> u64 {
    let count_path = path.with_extension("count");
    if let (Ok(meta), Ok(count)) = (
        std::fs::metadata(path),
        std::fs::read_to_string(&count_path),
    ) && meta.len() >= bytes
        && let Ok(n) = count.trim().parse()
    {
        return n;
    }
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("target/bench");
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).expect("create"));
    let mut rng = fastrand::Rng::with_seed(7);
    let (mut written, mut n) = (0u64, 0u64);
    let mut line = String::with_capacity(2048);
    while written < bytes {
        line.clear();
        let mut text = String::new();
        while text.len() < 700 + rng.usize(..200) {
            text.push_str(WORDS[rng.usize(..WORDS.len())]);
            text.push(' ');
        }
        let user = rng.u32(..50_000);
        line.push_str(&format!(
            "{{\"seq\":{n},\"id\":\"{}\",\"created_at\":\"2025-06-{:02}T{:02}:{:02}:00Z\",\"lang\":\"en\",\"user\":{{\"id\":{user},\"username\":\"user_{user}\",\"followers\":{}}},\"text\":\"{} \\\"quoted\\\" \\u00e9\",\"retweets\":{},\"sensitive\":false}}\n",
            1_900_000_000_000_000_000u64 + n,
            1 + n % 28,
            n % 24,
            n % 60,
            rng.u32(..100_000),
            text.trim_end(),
            rng.u32(..1_000),
        ));
        out.write_all(line.as_bytes()).expect("write");
        written += line.len() as u64;
        n += 1;
    }
    out.flush().expect("flush");
    std::fs::write(&count_path, n.to_string()).expect("count file");
    n
}

/// The largest resident set of any waited-for child, in MB (Linux reports KB).
fn children_max_rss_mb() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(rc, 0, "getrusage failed");
    usage.ru_maxrss as f64 / 1024.0
}

/// Exactly-once bookkeeping: one bit per record.
struct Seen {
    bits: Vec<u64>,
    count: u64,
    duplicates: u64,
    kinesis_records: u64,
    kinesis_bytes: u64,
}

impl Seen {
    fn take(&mut self, stored: Vec<Stored>) {
        for r in stored {
            self.kinesis_records += 1;
            self.kinesis_bytes += (r.data.len() + r.partition_key.len()) as u64;
            for u in deaggregate(&r.partition_key, None, &r.data).expect("valid records") {
                let seq = seq_of(&u.data);
                let (word, bit) = ((seq / 64) as usize, seq % 64);
                if self.bits[word] & (1 << bit) != 0 {
                    self.duplicates += 1;
                }
                self.bits[word] |= 1 << bit;
                self.count += 1;
            }
        }
    }
}

/// The `seq` of a generated line, which starts `{"seq":N,`.
fn seq_of(data: &[u8]) -> u64 {
    let rest = &data[b"{\"seq\":".len()..];
    let end = rest.iter().position(|&b| b == b',').expect("a seq");
    std::str::from_utf8(&rest[..end])
        .expect("ascii")
        .parse()
        .expect("a number")
}

fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn main() {
    // `cargo bench` passes `--bench`; this harness takes its settings from the environment.
    let bytes: u64 = std::env::var("PUT_BENCH_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_BYTES);
    let extra: Vec<String> = std::env::var("PUT_BENCH_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let path = workspace_root().join(format!("target/bench/put-{bytes}.jsonl"));
    let t = Instant::now();
    let records = generate(&path, bytes);
    let file_bytes = std::fs::metadata(&path).expect("input").len();
    println!(
        "input: {} ({records} records, {:.1} MB; ready in {:.1} s)",
        path.display(),
        file_bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    // The stand-in gets one thread; the binary and the check share the other core.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let server = runtime
        .block_on(KinesisStandIn::start(Faults::default()))
        .expect("the stand-in starts");
    let rejects = workspace_root().join("target/bench/put-rejects.jsonl");
    let _ = std::fs::remove_file(&rejects);

    let started = Instant::now();
    let mut child = aws::local_credentials(&mut Command::new(BIN))
        .args(["put", "--stream", "bench", "--endpoint-url", &server.url()])
        .arg("--rejects")
        .arg(&rejects)
        .args(&extra)
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the put binary starts");
    let pid = child.id();
    let mut seen = Seen {
        bits: vec![0; (records as usize).div_ceil(64)],
        count: 0,
        duplicates: 0,
        kinesis_records: 0,
        kinesis_bytes: 0,
    };
    let mut samples: Vec<(f64, f64)> = Vec::new();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        // Between fork and exec the child has no resident set worth reporting.
        if let Some(mb) = ks_testkit::proc::status_mb(pid, "VmRSS").filter(|&mb| mb > 1.0) {
            samples.push((started.elapsed().as_secs_f64(), mb));
        }
        seen.take(server.drain_records());
        std::thread::sleep(Duration::from_millis(250));
    };
    let elapsed = started.elapsed();
    let peak_mb = children_max_rss_mb();
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout"), &mut stdout)
        .expect("stdout");
    seen.take(server.drain_records());
    assert!(status.success(), "put failed: {status}\n{stdout}");

    let secs = elapsed.as_secs_f64();
    let calls = server.stats.calls();
    let floor_by_count = seen.kinesis_records.div_ceil(500);
    let floor_by_bytes = seen.kinesis_bytes.div_ceil(5 * 1024 * 1024);
    let floor = floor_by_count.max(floor_by_bytes);
    let quartile = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples.get(i).map_or(f64::NAN, |s| s.1)
    };
    println!("\nput summary:\n{}", stdout.trim_end());
    println!(
        "\n| `kinesis-sentiment put`, {} | value | target |",
        extra.join(" ")
    );
    println!("| --- | ---: | ---: |");
    println!("| records | {records} | |");
    println!("| input | {:.1} MB | |", file_bytes as f64 / 1e6);
    println!("| elapsed | {secs:.1} s | |");
    println!("| records/s | {:.0} | |", records as f64 / secs);
    println!("| MB/s (input) | {:.1} | |", file_bytes as f64 / 1e6 / secs);
    println!("| peak RSS (VmHWM) | {peak_mb:.1} MB | ≤ {RSS_TARGET_MB} MB |");
    println!(
        "| RSS at 10 % / 50 % / 90 % of the run | {:.1} / {:.1} / {:.1} MB | constant |",
        quartile(0.1),
        quartile(0.5),
        quartile(0.9)
    );
    println!(
        "| PutRecords calls | {calls} | floor {floor} (by count {floor_by_count}, by bytes {floor_by_bytes}) |"
    );
    println!("| Kinesis records | {} | |", seen.kinesis_records);
    println!(
        "| arrived exactly once | {} of {records} ({} duplicates) | all |",
        seen.count, seen.duplicates
    );
    let missing = seen
        .bits
        .iter()
        .enumerate()
        .map(|(w, bits)| {
            let valid = (records - (w as u64 * 64)).min(64);
            let mask = if valid == 64 {
                u64::MAX
            } else {
                (1 << valid) - 1
            };
            u64::from((mask & !bits).count_ones())
        })
        .sum::<u64>();
    assert_eq!(
        (seen.count, seen.duplicates, missing),
        (records, 0, 0),
        "every record exactly once"
    );
    if peak_mb > RSS_TARGET_MB {
        println!("!! peak RSS {peak_mb:.1} MB is above the {RSS_TARGET_MB} MB target");
    }
}
