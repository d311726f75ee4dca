//! `make bench` (firehose-transform): the handler on a ~4.5 MB Firehose event of ~5,000
//! tweet-like records.
//!   (b) against the Comprehend stand-in answering at once;
//!   (c) with 20 ms per call at concurrency 8, 16 and 32, against the floor ⌈calls/c⌉ × 20 ms;
//!   the Bedrock backend against its stand-in at 0 ms and 600 ms a call: calls against the
//!   floor ⌈texts / posts per call⌉, time against ⌈calls / concurrency⌉ × 600 ms, input
//!   characters per post, the stand-in's token counts and the release binary's peak RSS;
//!   the release binary run as Lambda runs it: cold start (spawn → first request for work,
//!   clients built) and peak RSS while it transforms the event.
//!   (q) both backends against stand-ins enforcing an account quota (token bucket, 10 calls/s,
//!   burst 20, 200 ms per call) with a 300 s deadline: records labelled, the share of calls
//!   throttled, and the time against the quota's floor (calls accepted ÷ 10/s). `BENCH_ONLY=quota`
//!   runs these rows alone.
//! The baselines printed beside the numbers are the measurements of a careful Python
//! transform (boto3, BatchDetectSentiment, 8 threads) and of the tutorials' per-record loop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use firehose_transform::TransformConfig;
use firehose_transform::{Analyzer, State};
use ks_sentiment::comprehend::ComprehendAnalyzer;
use ks_testkit::With as _;
use ks_testkit::comprehend::{Faults, StandIn};
use ks_testkit::local_sdk_config;
use ks_testkit::runtime_api::{Outcome, RuntimeApi};
use ks_transform::record::{FirehoseEvent, FirehoseRecord, RecordResult};

const RECORDS: usize = 5_000;
const RUNS: usize = 15;
/// Processes started to measure cold start and peak RSS.
const BINARY_RUNS: usize = 5;

fn main() {
    let steal_before = cpu_times();
    let (event_json, texts) = bench_event();
    let event: FirehoseEvent = serde_json::from_slice(&event_json).unwrap();
    let payload: usize = event
        .records
        .iter()
        .map(|r| r.data.as_ref().map_or(0, String::len))
        .sum();
    write_texts(&texts);
    println!(
        "firehose-transform benchmark: {} records, {:.2} MB of base64 payload",
        event.records.len(),
        payload as f64 / 1e6
    );
    println!();

    // A dedicated runtime for the stand-in, so the server does not borrow the handler's threads
    // (named, so a profile tells the two apart).
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("standin")
        .enable_all()
        .build()
        .unwrap();
    // The handler's runtime, as main.rs builds it (a current-thread runtime measured the same).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    if std::env::var("BENCH_ONLY").as_deref() == Ok("quota") {
        quota_rows(&rt, &server_rt, &event);
        return;
    }
    println!(
        "{:<44} {:>10} {:>10} {:>12}",
        "case", "median", "best", "target"
    );
    // The same batch with no text to score: decode, parse, splice, encode and nothing else.
    let no_text = TransformConfig::from_lookup(|k| {
        (k == "TEXT_POINTERS").then(|| "/no_such_field".to_owned())
    })
    .unwrap();
    let plain = State::new(
        Analyzer::Lexicon(Box::new(ks_lexicon::Lexicon::new())),
        no_text,
    );
    let (median, best, _) = measure(&rt, plain, &event);
    println!(
        "{:<44} {:>8.1}ms {:>8.1}ms {:>12}",
        "(0) decode/parse/encode only, no sentiment",
        ms(median),
        ms(best),
        ""
    );
    let lexicon = lexicon_state();
    let (median, best, _) = measure(&rt, lexicon, &event);
    println!(
        "{:<44} {:>8.1}ms {:>8.1}ms {:>12}",
        "(a) lexicon backend",
        ms(median),
        ms(best),
        "≤ 100 ms"
    );
    let instant = server_rt
        .block_on(StandIn::start(Faults::default()))
        .unwrap();
    let state = new_state(&instant.url(), 8);
    let (median, best, calls) = measure(&rt, state, &event);
    println!(
        "{:<44} {:>8.1}ms {:>8.1}ms {:>12}",
        format!("(b) stand-in, instant, {calls} calls"),
        ms(median),
        ms(best),
        "≤ 40 ms"
    );
    println!(
        "{:<44} {:>10} {:>10}",
        "    baseline: Python boto3, 8 threads", "~500ms", ""
    );
    drop(instant);

    let slow = server_rt
        .block_on(StandIn::start(Faults::with(|f| {
            f.latency = Duration::from_millis(20)
        })))
        .unwrap();
    // What one call costs alone at this latency, client and stand-in together: the per-round
    // price the (c) rows pay on top of the floor.
    let single = {
        use ks_transform::sentiment::SentimentAnalyzer as _;
        let Analyzer::Comprehend(one) = new_state(&slow.url(), 1).analyzer else {
            unreachable!("new_state builds the Comprehend backend")
        };
        let texts: Vec<String> = (0..25).map(|i| format!("one call, text {i}")).collect();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let mut took: Vec<Duration> = (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                rt.block_on(one.analyze("en", &texts))
                    .outcome
                    .expect("the stand-in answers");
                start.elapsed()
            })
            .collect();
        took.sort();
        took[RUNS / 2]
    };
    println!(
        "{:<44} {:>8.1}ms",
        "    one call alone, 20 ms stand-in",
        ms(single)
    );
    for concurrency in [8, 16, 32] {
        let state = new_state(&slow.url(), concurrency);
        let (median, best, calls) = measure(&rt, state, &event);
        let floor = calls.div_ceil(concurrency as u64) as f64 * 20.0;
        let target = (floor * 1.1).max(floor + 20.0);
        println!(
            "{:<44} {:>8.1}ms {:>8.1}ms {:>12}",
            format!("(c) 20 ms/call, concurrency {concurrency}"),
            ms(median),
            ms(best),
            format!("≤ {target:.0} ms"),
        );
        println!(
            "{:<44} {:>8.0}ms",
            format!("    floor ⌈{calls}/{concurrency}⌉ × 20 ms"),
            floor
        );
    }
    println!(
        "{:<44} {:>10}",
        "    baseline: Python boto3, 8 threads", "~1000ms"
    );
    println!(
        "{:<44} {:>10}",
        "    baseline: per-record DetectSentiment",
        format!("~{:.0}s", RECORDS as f64 * 0.065)
    );

    drop(slow);
    bedrock_rows(&rt, &server_rt, &event, &event_json);
    quota_rows(&rt, &server_rt, &event);

    let slow = server_rt
        .block_on(StandIn::start(Faults::with(|f| {
            f.latency = Duration::from_millis(20)
        })))
        .unwrap();
    // Each start is a new process, so one sample is at the mercy of the moment: the median of
    // several is reported, with the slowest beside it, and the highest peak RSS.
    let mut binaries: Vec<BinaryRun> = (0..BINARY_RUNS)
        .map(|_| rt.block_on(run_binary(&slow.url(), &event_json)))
        .collect();
    binaries.sort_by_key(|b| b.cold_start);
    let peak_rss_kb = binaries.iter().map(|b| b.peak_rss_kb).max().unwrap_or(0);
    println!();
    println!(
        "{:<44} {:>8.1}ms {:>10} {:>12}",
        "cold start (spawn → first /next)",
        ms(binaries[BINARY_RUNS / 2].cold_start),
        "",
        "≤ 20 ms"
    );
    println!(
        "{:<44} {:>8.1}ms",
        format!("    slowest of {BINARY_RUNS} starts"),
        ms(binaries[BINARY_RUNS - 1].cold_start),
    );
    println!(
        "{:<44} {:>10}",
        "    baseline: Python boto3 start", "~230ms"
    );
    println!(
        "{:<44} {:>8.1}MB {:>10} {:>12}",
        "peak RSS, one 4.5 MB event (highest)",
        peak_rss_kb as f64 / 1024.0,
        "",
        "≤ 64 MB"
    );
    // On a VM the host may run other guests on these cores; the numbers above are only
    // comparable from run to run when this is near zero.
    if let (Some((total0, steal0)), Some((total1, steal1))) = (steal_before, cpu_times()) {
        let share = (steal1 - steal0) as f64 / (total1 - total0).max(1) as f64;
        println!();
        println!(
            "{:<44} {:>9.1}%",
            "CPU time taken by the host (steal)",
            share * 100.0
        );
    }
}

/// The quota the (q) rows' stand-ins enforce, and each accepted call's latency.
const QUOTA: ks_testkit::quota::Quota = ks_testkit::quota::Quota {
    per_second: 10.0,
    burst: 20.0,
};
const QUOTA_LATENCY: Duration = Duration::from_millis(200);
const QUOTA_DEADLINE: Duration = Duration::from_secs(300);

/// (q): one run per backend against a stand-in that enforces [`QUOTA`].
fn quota_rows(
    rt: &tokio::runtime::Runtime,
    server_rt: &tokio::runtime::Runtime,
    event: &FirehoseEvent,
) {
    use ks_testkit::bedrock::{Faults as BedrockFaults, StandIn as Bedrock};
    println!();
    println!(
        "(q) quota {}/s, burst {}, {} ms per call, deadline {} s",
        QUOTA.per_second,
        QUOTA.burst,
        QUOTA_LATENCY.as_millis(),
        QUOTA_DEADLINE.as_secs()
    );
    println!(
        "{:<28} {:>9} {:>8} {:>10} {:>9} {:>9} {:>7}",
        "backend", "labelled", "calls", "throttled", "time", "floor", "×floor"
    );
    let comprehend = server_rt
        .block_on(StandIn::start(Faults {
            latency: QUOTA_LATENCY,
            quota: Some(QUOTA),
            ..Faults::default()
        }))
        .unwrap();
    let row = quota_run(rt, new_state(&comprehend.url(), 8), event);
    let stats = &comprehend.stats;
    let (calls, throttled) = (
        stats.calls.load(std::sync::atomic::Ordering::SeqCst),
        stats.throttled.load(std::sync::atomic::Ordering::SeqCst),
    );
    print_quota_row("Comprehend, concurrency 8", row, calls, throttled);
    drop(comprehend);
    let bedrock = server_rt
        .block_on(Bedrock::start(BedrockFaults {
            latency: QUOTA_LATENCY,
            quota: Some(QUOTA),
            ..BedrockFaults::default()
        }))
        .unwrap();
    let row = quota_run(rt, bedrock_state(&bedrock.url()), event);
    let (calls, throttled) = (
        ks_testkit::bedrock::Stats::get(&bedrock.stats.calls),
        ks_testkit::bedrock::Stats::get(&bedrock.stats.throttled),
    );
    print_quota_row(
        &format!("Bedrock, concurrency {BEDROCK_CONCURRENCY}"),
        row,
        calls,
        throttled,
    );
}

/// One transform under the quota: records labelled, and how long it took.
fn quota_run(rt: &tokio::runtime::Runtime, state: State, event: &FirehoseEvent) -> (u64, Duration) {
    let state: &'static State = Box::leak(Box::new(state));
    let deadline = tokio::time::Instant::now() + QUOTA_DEADLINE;
    let start = Instant::now();
    let (_, summary) = rt
        .block_on(state.transform_on_worker(Arc::new(event.clone()), deadline))
        .expect("the transform's task");
    (summary.labels.values().sum(), start.elapsed())
}

fn print_quota_row(name: &str, (labelled, took): (u64, Duration), calls: u64, throttled: u64) {
    // The quota's floor: the calls it accepted, less the burst it grants at once, at its rate.
    let accepted = calls - throttled;
    let floor = (accepted as f64 - QUOTA.burst).max(0.0) / QUOTA.per_second;
    println!(
        "{:<28} {:>9} {:>8} {:>9.1}% {:>8.1}s {:>8.1}s {:>7.2}",
        name,
        format!("{labelled}/{RECORDS}"),
        calls,
        throttled as f64 * 100.0 / calls.max(1) as f64,
        took.as_secs_f64(),
        floor,
        took.as_secs_f64() / floor.max(1e-9)
    );
}

/// All CPU time and the part of it stolen by the hypervisor, in ticks (`/proc/stat`).
fn cpu_times() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user and nice)
    let total = fields.iter().take(8).sum();
    Some((total, *fields.get(7)?))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn lexicon_state() -> State {
    let config = TransformConfig::from_lookup(|k| match k {
        "SENTIMENT_BACKEND" => Some("lexicon".to_owned()),
        "LANGUAGE_POINTER" => Some("/lang".to_owned()),
        _ => None,
    })
    .unwrap();
    State::new(
        Analyzer::Lexicon(Box::new(ks_lexicon::Lexicon::new())),
        config,
    )
}

fn new_state(url: &str, concurrency: usize) -> State {
    let c = concurrency.to_string();
    let config = TransformConfig::from_lookup(|k| match k {
        "COMPREHEND_CONCURRENCY" => Some(c.clone()),
        "LANGUAGE_POINTER" => Some("/lang".to_owned()),
        _ => None,
    })
    .unwrap();
    let conf = ComprehendAnalyzer::configure(local_sdk_config!(aws_sdk_comprehend, url)).build();
    State::new(
        Analyzer::Comprehend(ComprehendAnalyzer::new(
            aws_sdk_comprehend::Client::from_conf(conf),
        )),
        config,
    )
}

/// Posts per Converse call and calls in flight in the Bedrock rows.
const BEDROCK_POSTS: usize = 40;
const BEDROCK_CONCURRENCY: usize = 8;
/// The 600 ms rows take ~10 s a run: fewer runs.
const BEDROCK_SLOW_RUNS: usize = 3;

fn bedrock_state(url: &str) -> State {
    use ks_sentiment::bedrock::BedrockAnalyzer;
    let (posts, c) = (BEDROCK_POSTS.to_string(), BEDROCK_CONCURRENCY.to_string());
    let config = TransformConfig::from_lookup(|k| match k {
        "SENTIMENT_BACKEND" => Some("bedrock".to_owned()),
        "BEDROCK_POSTS_PER_CALL" => Some(posts.clone()),
        "BEDROCK_CONCURRENCY" => Some(c.clone()),
        _ => None,
    })
    .unwrap();
    let conf = BedrockAnalyzer::configure(local_sdk_config!(aws_sdk_bedrockruntime, url)).build();
    let firehose_transform::BackendConfig::Bedrock(bedrock) = &config.backend else {
        unreachable!("SENTIMENT_BACKEND=bedrock")
    };
    let analyzer = BedrockAnalyzer::new(
        aws_sdk_bedrockruntime::Client::from_conf(conf),
        &bedrock.model_id,
        bedrock.posts_per_call,
    );
    State::new(Analyzer::Bedrock(analyzer), config)
}

/// The Bedrock backend at 0 ms and 600 ms a call, beside the Comprehend rows.
fn bedrock_rows(
    rt: &tokio::runtime::Runtime,
    server_rt: &tokio::runtime::Runtime,
    event: &FirehoseEvent,
    event_json: &[u8],
) {
    use ks_testkit::bedrock::{Faults as BedrockFaults, StandIn as Bedrock, Stats};
    println!();
    for latency_ms in [0u64, 600] {
        let server = server_rt
            .block_on(Bedrock::start(BedrockFaults {
                latency: Duration::from_millis(latency_ms),
                ..BedrockFaults::default()
            }))
            .unwrap();
        let runs = if latency_ms == 0 {
            RUNS
        } else {
            BEDROCK_SLOW_RUNS
        };
        let (median, best, summary) = measure_runs(rt, bedrock_state(&server.url()), event, runs);
        let texts = summary.texts_analysed;
        let floor_calls = texts.div_ceil(BEDROCK_POSTS as u64);
        let calls = summary.bedrock_calls;
        let target = if latency_ms == 0 {
            String::new()
        } else {
            let floor = calls.div_ceil(BEDROCK_CONCURRENCY as u64) as f64 * latency_ms as f64;
            format!("≤ {:.0} ms", floor * 1.1)
        };
        println!(
            "{:<44} {:>8.1}ms {:>8.1}ms {:>12}",
            format!("(d) Bedrock stand-in, {latency_ms} ms/call, c={BEDROCK_CONCURRENCY}"),
            ms(median),
            ms(best),
            target
        );
        println!(
            "{:<44} {:>10}",
            format!("    calls {calls}, floor ⌈{texts}/{BEDROCK_POSTS}⌉ = {floor_calls}"),
            ""
        );
        let runs_seen = Stats::get(&server.stats.calls).max(1) as f64 / calls.max(1) as f64;
        let chars = Stats::get(&server.stats.input_chars) as f64 / runs_seen;
        println!(
            "{:<44}",
            format!(
                "    input {:.0} chars/post (instruction amortised), tokens in/out {}/{} a run, ${:.4}",
                chars / texts as f64,
                summary.input_tokens,
                summary.output_tokens,
                summary.estimated_cost_usd
            )
        );
    }
    let server = server_rt
        .block_on(Bedrock::start(BedrockFaults::default()))
        .unwrap();
    let url = server.url();
    let env = [
        ("SENTIMENT_BACKEND", "bedrock"),
        ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", url.as_str()),
    ];
    let peak = (0..BINARY_RUNS)
        .map(|_| rt.block_on(run_binary_with(&env, event_json)).peak_rss_kb)
        .max()
        .unwrap_or(0);
    println!(
        "{:<44} {:>8.1}MB {:>10} {:>12}",
        "    peak RSS, Bedrock backend (highest)",
        peak as f64 / 1024.0,
        "",
        "≤ 64 MB"
    );
    println!();
}

/// Median and best of RUNS handler calls, after one warm-up; and the calls each made.
fn measure(
    rt: &tokio::runtime::Runtime,
    state: State,
    event: &FirehoseEvent,
) -> (Duration, Duration, u64) {
    let (median, best, summary) = measure_runs(rt, state, event, RUNS);
    (median, best, summary.sentiment_calls)
}

/// Median and best of `runs` handler calls, after one warm-up, and the warm-up's summary.
fn measure_runs(
    rt: &tokio::runtime::Runtime,
    state: State,
    event: &FirehoseEvent,
    runs: usize,
) -> (Duration, Duration, ks_transform::metrics::Summary) {
    let deadline = || tokio::time::Instant::now() + Duration::from_secs(300);
    // As the handler runs it: on a runtime worker, which needs a state that lives for ever.
    let state: &'static State = Box::leak(Box::new(state));
    let event = Arc::new(event.clone());
    let run = || {
        rt.block_on(state.transform_on_worker(event.clone(), deadline()))
            .expect("the transform's task")
    };
    let (resp, summary) = run();
    assert!(
        resp.records.iter().all(|r| r.result == RecordResult::Ok),
        "{summary:?}"
    );
    assert_eq!(summary.sentiment_errors, 0);
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let out = run();
            let took = start.elapsed();
            drop(out);
            took
        })
        .collect();
    times.sort();
    (times[runs / 2], times[0], summary)
}

struct BinaryRun {
    cold_start: Duration,
    peak_rss_kb: u64,
}

/// The release binary under a local Runtime API: spawn → first request for work, then one event.
async fn run_binary(comprehend_url: &str, event: &[u8]) -> BinaryRun {
    let env = [
        ("AWS_ENDPOINT_URL_COMPREHEND", comprehend_url),
        ("COMPREHEND_CONCURRENCY", "32"),
    ];
    run_binary_with(&env, event).await
}

/// [`run_binary`] with these settings added to the common ones.
async fn run_binary_with(settings: &[(&str, &str)], event: &[u8]) -> BinaryRun {
    let api = RuntimeApi::start(Duration::from_secs(300)).await.unwrap();
    let spawned = Instant::now();
    let mut child = api
        .command(
            env!("CARGO_BIN_EXE_firehose-transform"),
            "firehose-transform",
            512,
        )
        .envs(settings.iter().copied())
        .env("LANGUAGE_POINTER", "/lang")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let first = loop {
        if let Some(t) = api.first_next() {
            break t;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the binary exited before asking for work: {status}");
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    };
    let id = api.push(event.to_vec());
    let outcome = api.outcome(&id, Duration::from_secs(120)).await;
    let peak_rss_kb = ks_testkit::proc::status_kb(child.id(), "VmHWM").unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        matches!(outcome, Some(Outcome::Response(_))),
        "the binary answered: {outcome:?}"
    );
    BinaryRun {
        cold_start: first.saturating_duration_since(spawned),
        peak_rss_kb,
    }
}

/// Where the lexicon benchmark finds this event's texts (`--texts`).
fn write_texts(texts: &[String]) {
    let dir = format!("{}/../../target/bench", env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(&dir).unwrap();
    let lines: Vec<String> = texts
        .iter()
        .map(|t| serde_json::to_string(t).unwrap())
        .collect();
    std::fs::write(format!("{dir}/event-texts.jsonl"), lines.join("\n") + "\n").unwrap();
}

/// A deterministic Firehose event of ~5,000 tweet-like posts (~4.5 MB of base64), mostly
/// English with some Spanish, German and French, as a Kinesis-sourced delivery stream sends it.
fn bench_event() -> (Vec<u8>, Vec<String>) {
    const OPENERS: [&str; 12] = [
        "Just finished",
        "Can't believe",
        "Honestly",
        "Today I tried",
        "Why is",
        "So happy about",
        "Not sure about",
        "Loving",
        "Really disappointed with",
        "Thinking about",
        "Finally got",
        "Worst part of",
    ];
    const SUBJECTS: [&str; 12] = [
        "the new phone",
        "my morning run",
        "this coffee shop",
        "the season finale",
        "our team's release",
        "the train schedule",
        "the conference talk",
        "my code review",
        "the weather",
        "this album",
        "the customer service",
        "the city marathon",
    ];
    const TAILS: [&str; 14] = [
        "and it was great!",
        "and it was terrible.",
        "it is okay I guess",
        "absolutely AMAZING!!!",
        "not bad at all :)",
        "never again :(",
        "kind of meh",
        "but the ending was awful",
        "best day ever",
        "I hate waiting",
        "so good, love it",
        "pretty boring tbh",
        "what a disaster",
        "thanks everyone 🙏",
    ];
    const EMOJI: [&str; 8] = ["😀", "😡", "🎉", "😢", "🔥", "👍", "💔", "☕"];
    const OTHER: [(&str, &str); 6] = [
        ("es", "Me encanta este lugar, el servicio es excelente"),
        ("es", "Qué mal día, todo salió terrible"),
        ("de", "Das Konzert war wunderbar, danke"),
        ("de", "Der Zug ist schon wieder zu spät"),
        ("fr", "Le film était vraiment génial"),
        ("fr", "Je déteste attendre aussi longtemps"),
    ];
    let mut rng = fastrand::Rng::with_seed(42);
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut texts = Vec::with_capacity(RECORDS);
    let mut records = Vec::with_capacity(RECORDS);
    for i in 0..RECORDS {
        let (lang, text) = if i % 20 == 7 {
            let (l, t) = OTHER[rng.usize(..OTHER.len())];
            (l, format!("{t} #{i} {}", EMOJI[rng.usize(..EMOJI.len())]))
        } else {
            let words: String = (0..rng.usize(2..10))
                .map(|_| {
                    format!(
                        " {}",
                        SUBJECTS[rng.usize(..12)]
                            .rsplit(' ')
                            .next()
                            .unwrap_or_default()
                    )
                })
                .collect();
            (
                "en",
                format!(
                    "{} {} {}{} {} #{} @user{} https://t.co/{:08x} (post {i})",
                    OPENERS[rng.usize(..12)],
                    SUBJECTS[rng.usize(..12)],
                    TAILS[rng.usize(..14)],
                    words,
                    EMOJI[rng.usize(..EMOJI.len())],
                    ["rust", "aws", "data", "music", "travel"][rng.usize(..5)],
                    rng.u32(1..9999),
                    rng.u32(..),
                ),
            )
        };
        let id = 1_991_874_630_000_000_000u64 + i as u64 * 7_919;
        let post = serde_json::json!({
            "id": id,
            "id_str": id.to_string(),
            "created_at": format!("2026-11-22T08:{:02}:{:02}.000Z", (i / 60) % 60, i % 60),
            "user": {"id": rng.u32(1..1_000_000), "screen_name": format!("user{}", rng.u32(1..99_999)), "followers_count": rng.u32(..100_000), "verified": rng.bool()},
            "lang": lang,
            "text": text,
            "source": "<a href=\"https://example.com/app\" rel=\"nofollow\">Example App</a>",
            "retweet_count": rng.u32(..500),
            "favorite_count": rng.u32(..5_000),
            "entities": {"hashtags": [], "urls": [{"url": "https://t.co/x", "expanded_url": "https://example.com/a/long/path/to/an/article"}], "user_mentions": []},
        });
        texts.push(text);
        let seq = format!("4966700000000000000000000000000000000000000000{:010}", i);
        records.push(FirehoseRecord {
            record_id: format!("{seq}000000000000000"),
            data: Some(b64.encode(post.to_string())),
            approximate_arrival_timestamp: Some(1_795_334_400_000 + i as i64),
            kinesis_record_metadata: Some(ks_transform::record::KinesisRecordMetadata {
                shard_id: Some(format!("shardId-{:012}", i % 4)),
                partition_key: Some(id.to_string()),
                approximate_arrival_timestamp: Some(1_795_334_400_000 + i as i64),
                sequence_number: Some(seq),
                subsequence_number: Some(0),
            }),
            ..FirehoseRecord::default()
        });
    }
    let event = FirehoseEvent {
        invocation_id: Some("bench".into()),
        delivery_stream_arn: Some(
            "arn:aws:firehose:us-east-1:123456789012:deliverystream/bench".into(),
        ),
        source_kinesis_stream_arn: Some(
            "arn:aws:kinesis:us-east-1:123456789012:stream/bench".into(),
        ),
        region: Some("us-east-1".into()),
        records,
        ..FirehoseEvent::default()
    };
    (serde_json::to_vec(&event).unwrap(), texts)
}
