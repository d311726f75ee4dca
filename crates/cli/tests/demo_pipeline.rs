//! The demo pipeline end to end, in-process: every produced post is in the output exactly once,
//! delivered as NDJSON with sentiment where English, or in processing-failed/ if it was
//! corrupted on purpose; the report reads the same counts back.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use ks_cli::commands::demo::{self, DELIVERY_STREAM_NAME, DemoOptions, MARKER};
use ks_cli::report;
use ks_firehose_local::bucket::{LocalBucket, Output, parse_key};
use ks_firehose_local::firehose::codes;
use ks_firehose_local::output::OutputFormat;
use ks_producer::synthetic::{deleted_by, id_of, items_at_rate};

fn options(out: &std::path::Path, aggregate: bool) -> DemoOptions {
    DemoOptions {
        records: 300,
        out: out.to_path_buf(),
        shards: 3,
        bad_every: 7,
        batch: 120,
        // Small enough that the buffer fills and flushes several times.
        buffer_bytes: 60_000,
        aggregate,
        ..DemoOptions::default()
    }
}

#[tokio::test]
async fn every_post_lands_exactly_once_delivered_with_sentiment_or_in_processing_failed() {
    for aggregate in [true, false] {
        // GIVEN an empty output directory and 300 posts, every 7th corrupted
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("demo");
        let opts = options(&out, aggregate);
        // WHEN the demo pipeline runs
        let outcome = demo::run(&opts, |_, _| {}).await.unwrap();
        // THEN all 300 were produced, 42 of them corrupted
        assert_eq!(outcome.produced, 300);
        let corrupted: BTreeSet<String> = (0..300u64).filter(|i| i % 7 == 6).map(id_of).collect();
        assert_eq!(
            outcome.corrupted.iter().cloned().collect::<BTreeSet<_>>(),
            corrupted
        );
        assert!(
            outcome.firehose.invocations > 1,
            "the buffer flushed by size: {:?}",
            outcome.firehose
        );

        let bucket = LocalBucket::new(&out);
        let mut delivered: BTreeMap<String, u32> = BTreeMap::new();
        let mut failed: BTreeMap<String, u32> = BTreeMap::new();
        let mut labels: BTreeMap<String, u64> = BTreeMap::new();
        let mut deletion_lines: Vec<String> = Vec::new();
        let originals = items_at_rate(opts.seed, 0, 300, opts.rate, opts.delete_every);
        for key in bucket.keys().unwrap() {
            // The demo's marker, and the purge's own state.
            if !key.contains('/') || key.starts_with(ks_purge::config::LOCAL_STATE_DIR) {
                continue;
            }
            // AND every object is under a correctly formed key
            let parsed = parse_key(&key).unwrap_or_else(|| panic!("malformed key {key}"));
            assert_eq!(parsed.stream, DELIVERY_STREAM_NAME);
            let body = std::fs::read_to_string(out.join(&key)).unwrap();
            assert!(
                body.ends_with('\n'),
                "{key} is NDJSON: every record ends its line"
            );
            match parsed.output {
                Output::Delivered => {
                    for line in body.lines() {
                        // AND each line is one JSON object, with sentiment exactly when its language has an analyser
                        let v: serde_json::Value = serde_json::from_str(line).unwrap();
                        let id = v["id"].as_str().unwrap().to_owned();
                        let lang = v["lang"].as_str().unwrap_or_default();
                        let model = ks_lexicon::LANGUAGES.iter().find(|(l, _)| *l == lang);
                        if let Some((_, model)) = model {
                            let label = v["sentiment"]["label"].as_str().unwrap();
                            assert!(
                                ["POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED"].contains(&label),
                                "{line}"
                            );
                            assert_eq!(v["sentiment"]["model"], *model);
                            *labels.entry(label.to_owned()).or_default() += 1;
                        } else {
                            assert!(v.get("sentiment").is_none(), "{line}");
                            *labels.entry("UNSCORED".to_owned()).or_default() += 1;
                        }
                        *delivered.entry(id).or_default() += 1;
                    }
                }
                // Deletion records: checked against the posts below.
                Output::Deletions => deletion_lines.extend(body.lines().map(str::to_owned)),
                Output::ProcessingFailed => {
                    for line in body.lines() {
                        // AND each error record has Firehose's fields, and the original bytes
                        let v: serde_json::Map<String, serde_json::Value> =
                            serde_json::from_str(line).unwrap();
                        let fields: BTreeSet<&str> = v.keys().map(String::as_str).collect();
                        assert_eq!(
                            fields,
                            BTreeSet::from([
                                "attemptsMade",
                                "arrivalTimestamp",
                                "errorCode",
                                "errorMessage",
                                "attemptEndingTimestamp",
                                "rawData",
                                "lambdaArn"
                            ])
                        );
                        assert_eq!(v["errorCode"], codes::PROCESSING_FAILED);
                        assert_eq!(v["attemptsMade"], 1);
                        assert!(
                            v["arrivalTimestamp"].as_i64().unwrap()
                                <= v["attemptEndingTimestamp"].as_i64().unwrap()
                        );
                        assert!(
                            v["lambdaArn"]
                                .as_str()
                                .unwrap()
                                .starts_with("arn:aws:lambda:")
                        );
                        let raw = BASE64.decode(v["rawData"].as_str().unwrap()).unwrap();
                        let mut whole = raw.clone();
                        whole.push(b'}');
                        let post: serde_json::Value = serde_json::from_slice(&whole).unwrap();
                        let id = post["id"].as_str().unwrap().to_owned();
                        let index = ks_producer::synthetic::index_of(&id).unwrap() as usize;
                        assert_eq!(
                            raw,
                            originals[index].data[..originals[index].data.len() - 1]
                        );
                        *failed.entry(id).or_default() += 1;
                    }
                }
                Output::FormatConversionFailed => panic!("JSON output converts nothing: {key}"),
                Output::IcebergFailed => {
                    panic!("the S3 destination writes no Iceberg errors: {key}")
                }
            }
        }
        // AND every post is in exactly one place, exactly once, or deleted and gone
        assert!(
            delivered.values().chain(failed.values()).all(|&n| n == 1),
            "duplicates"
        );
        assert_eq!(failed.keys().cloned().collect::<BTreeSet<_>>(), corrupted);
        let (deletions, deleted) = deletions_in(300, opts.delete_every);
        assert_eq!(deletions.len(), 6, "every 50th item deletes a post");
        let expected: BTreeSet<String> = (0..300u64)
            .map(id_of)
            .filter(|id| {
                !corrupted.contains(id) && !deletions.contains(id) && !deleted.contains(id)
            })
            .collect();
        // AND every deletion record is in the deletions area exactly once, naming its post
        let mut named: Vec<String> = deletion_lines
            .iter()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                assert_eq!(v["op"], "delete", "{l}");
                v["id"].as_str().unwrap().to_owned()
            })
            .collect();
        named.sort();
        assert_eq!(named, deleted.iter().cloned().collect::<Vec<_>>());
        assert_eq!(
            delivered.keys().cloned().collect::<BTreeSet<_>>(),
            expected,
            "aggregate={aggregate}"
        );
        assert!(labels.get("POSITIVE").copied().unwrap_or(0) > 0);
        // AND every synthetic language (en, es, de, fr, pt, ja) has an analyser: none unscored
        assert_eq!(labels.get("UNSCORED"), None, "aggregate={aggregate}");

        // WHEN the report reads the output back
        let scan = report::scan(&out).unwrap();
        // THEN its counts are the ones read above, every deletion honoured
        assert_eq!(scan.delivered.len(), expected.len());
        let honoured = scan.honoured();
        assert_eq!((honoured.deletions, honoured.still_there), (6, 0));
        assert_eq!(outcome.purge.deletions_pending, 0);
        assert_eq!(scan.failed.len(), corrupted.len());
        assert!(scan.bad_lines.is_empty() && scan.unexpected_keys.is_empty());
        for (label, n) in scan.label_counts() {
            assert_eq!(n, labels.get(label).copied().unwrap_or(0), "{label}");
        }
        assert_eq!(
            scan.failure_codes(),
            BTreeMap::from([(codes::PROCESSING_FAILED.to_owned(), 42)])
        );
        // AND the page is self-contained
        let page = report::html(&scan, "demo");
        assert!(
            page.contains("<svg")
                && page.contains("Sentiment mix over time")
                && page.contains("Failures")
        );
        for external in ["<script", "<link", " src=", "url("] {
            assert!(!page.contains(external), "{external}");
        }
        let summary = report::text_summary(&scan);
        assert!(
            summary.contains(&format!("Delivered {} records", expected.len())),
            "{summary}"
        );
        assert!(summary.contains("Failed    42 records"), "{summary}");
    }
}

#[tokio::test]
async fn a_directory_the_demo_did_not_write_is_refused_and_its_own_is_wiped() {
    // GIVEN a non-empty directory of someone else's
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("precious.txt"), "keep me").unwrap();
    let mut opts = options(dir.path(), true);
    opts.records = 10;
    // WHEN the demo is pointed at it
    let err = demo::run(&opts, |_, _| {}).await.unwrap_err();
    // THEN it refuses and leaves the file alone
    assert!(err.to_string().contains("refusing"), "{err}");
    assert!(dir.path().join("precious.txt").exists());

    // GIVEN a directory an earlier demo wrote, with a stray file in it
    let out = dir.path().join("demo");
    opts.out = out.clone();
    demo::run(&opts, |_, _| {}).await.unwrap();
    assert!(out.join(MARKER).exists());
    std::fs::write(out.join("stray"), "x").unwrap();
    // WHEN the demo runs again
    demo::run(&opts, |_, _| {}).await.unwrap();
    // THEN the directory was wiped first: only this run's output is there
    assert!(!out.join("stray").exists());
    assert_eq!(
        report::scan(&out).unwrap().delivered.len() + report::scan(&out).unwrap().failed.len(),
        10
    );
}

/// Runs the built binary's `demo` on 60 posts (every 10th corrupted) into `out`; asserts it
/// succeeded and returns its stdout.
fn run_demo(out: &std::path::Path, extra: &[&str]) -> String {
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_kinesis-sentiment"))
        .args(["demo", "--records", "60", "--bad-every", "10"])
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    stdout
}

#[test]
fn the_binary_runs_the_demo_and_writes_the_report() {
    // GIVEN the built binary and a fresh output directory
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    // WHEN `demo` runs with a small count
    let stdout = run_demo(&out, &[]);
    // THEN it succeeds, summarises, and names the report it wrote
    assert!(stdout.contains("Failed    6 records"), "{stdout}");
    assert!(stdout.contains("Throughput:"), "{stdout}");
    assert!(stdout.contains("Report: "), "{stdout}");
    assert!(out.join("report.html").is_file());
    // AND `report` reads it back to another page
    let html = dir.path().join("again.html");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_kinesis-sentiment"))
        .args(["report", "--input"])
        .arg(&out)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert!(run.status.success());
    assert!(String::from_utf8_lossy(&run.stdout).contains("Delivered 54 records"));
    assert!(html.is_file());
}

#[tokio::test]
async fn parquet_output_holds_the_same_records_and_the_report_counts_them_the_same() {
    // GIVEN the same posts delivered once as JSON and once converted to Parquet
    let dir = tempfile::tempdir().unwrap();
    let mut scans = Vec::new();
    let mut sizes = Vec::new();
    for format in [OutputFormat::Json, OutputFormat::Parquet] {
        let out = dir.path().join(format!("{format:?}"));
        let opts = DemoOptions {
            output_format: format,
            ..options(&out, true)
        };
        // WHEN the demo runs and the report reads its output
        let outcome = demo::run(&opts, |_, _| {}).await.unwrap();
        assert_eq!(outcome.firehose.conversion_failed, 0);
        let keys: Vec<String> = LocalBucket::new(&out)
            .keys()
            .unwrap()
            .into_iter()
            .filter(|k| parse_key(k).is_some_and(|p| p.output == Output::Delivered))
            .collect();
        assert!(!keys.is_empty());
        for key in &keys {
            // AND (Parquet) every delivered object is a Parquet file named as Firehose names it
            let body = std::fs::read(out.join(key)).unwrap();
            let parquet = format == OutputFormat::Parquet;
            assert_eq!(key.ends_with(".parquet"), parquet, "{key}");
            assert_eq!(
                body.starts_with(ks_firehose_local::parquet::MAGIC),
                parquet,
                "{key}"
            );
        }
        sizes.push(outcome.firehose.bytes_delivered);
        scans.push(report::scan(&out).unwrap());
    }
    // THEN the report's counts are the same for both formats
    let (json, parquet) = (&scans[0], &scans[1]);
    assert!(parquet.bad_lines.is_empty() && parquet.unexpected_keys.is_empty());
    // 42 corrupted, 6 deletions, and the 5 posts they delete that were delivered (one of the six
    // is also corrupted)
    assert_eq!(json.delivered.len(), 300 - 42 - 6 - 5);
    assert_eq!(parquet.delivered.len(), json.delivered.len());
    assert_eq!(parquet.label_counts(), json.label_counts());
    assert_eq!(
        parquet.sentiment_by_language(),
        json.sentiment_by_language()
    );
    assert_eq!(parquet.failure_codes(), json.failure_codes());
    // AND the same records, with the same fields the report reads
    let records = |s: &report::Scan| {
        let mut r: Vec<_> = s
            .delivered
            .iter()
            .map(|d| (d.id.clone(), d.created, d.lang.clone(), d.label.clone()))
            .collect();
        r.sort();
        r
    };
    assert_eq!(records(parquet), records(json));
    eprintln!(
        "delivered bytes: NDJSON {} vs Parquet {} ({:.0}%)",
        sizes[0],
        sizes[1],
        sizes[1] as f64 * 100.0 / sizes[0] as f64
    );
}

#[test]
fn the_binary_writes_parquet_when_asked() {
    // GIVEN the built binary and a fresh output directory
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    // WHEN `demo` runs with --output-format parquet
    let stdout = run_demo(&out, &["--output-format", "parquet"]);
    // THEN the delivered objects are Parquet and the summary counts them like JSON ones
    assert!(stdout.contains("Delivered 54 records"), "{stdout}");
    assert!(stdout.contains("Failed    6 records"), "{stdout}");
    let keys = LocalBucket::new(&out).keys().unwrap();
    assert!(keys.iter().any(|k| k.ends_with(".parquet")), "{keys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jetstream_demo_delivers_live_posts_once_each_with_sentiment() {
    use ks_cli::commands::demo::DemoSource;
    use ks_sources::jetstream::JetstreamConfig;
    use ks_testkit::jetstream::{Faults, Network, StandIn};
    // GIVEN a Jetstream stand-in on loopback where a post arrives every 10 ms
    let net = Network::new();
    let standin = StandIn::start(net.clone(), Faults::default())
        .await
        .unwrap();
    let live = net.live(std::time::Duration::from_millis(10));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let opts = DemoOptions {
        source: DemoSource::Jetstream(JetstreamConfig {
            urls: vec![standin.url()],
            ..JetstreamConfig::default()
        }),
        records: 1_000_000,
        seconds: 3,
        out: out.clone(),
        batch: 100,
        buffer_bytes: 200_000,
        ..DemoOptions::default()
    };
    // WHEN the demo reads it for three seconds
    let outcome = demo::run(&opts, |_, _| {}).await.unwrap();
    let generated: BTreeSet<String> = live.uris.lock().unwrap().iter().cloned().collect();
    drop(live);
    // THEN what it produced is delivered, each post once, each one the network posted, scored
    let bucket = LocalBucket::new(&out);
    let mut delivered: BTreeMap<String, u32> = BTreeMap::new();
    for key in bucket.keys().unwrap() {
        let Some(parsed) = parse_key(&key) else {
            continue;
        };
        assert_eq!(parsed.output, Output::Delivered, "{key}: nothing fails");
        for line in std::fs::read_to_string(out.join(&key)).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["source"], "bluesky", "{line}");
            assert!(v["sentiment"]["label"].is_string(), "{line}");
            *delivered
                .entry(v["id"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    assert!(outcome.corrupted.is_empty());
    assert_eq!(delivered.values().sum::<u32>() as u64, outcome.produced);
    assert!(delivered.values().all(|&n| n == 1), "duplicates delivered");
    assert!(delivered.keys().all(|id| generated.contains(id)));
    assert!(
        delivered.len() * 2 >= generated.len(),
        "{} of {} live posts delivered",
        delivered.len(),
        generated.len()
    );
}

/// The ids of the deletion items among the first `n`, and of the posts they delete.
fn deletions_in(n: u64, every: u64) -> (BTreeSet<String>, BTreeSet<String>) {
    (0..n)
        .filter_map(|i| deleted_by(i, every).map(|gone| (id_of(i), id_of(gone))))
        .unzip()
}
