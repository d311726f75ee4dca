//! `make bench-iceberg`: the local delivery stream's throughput into Iceberg tables against
//! NDJSON objects, on the same input: enriched posts as the transform answers them, one in ten
//! an edit and one in ten a deletion of an earlier post, from a 4-shard stream, with Firehose's
//! default 1 MB buffer. The processor answers at once (routing like the transform in an Iceberg
//! stack), so the numbers are the destination's: NDJSON writes each buffer as one object; the
//! Iceberg tables write a Parquet file per buffer, rewrite the files holding edited and deleted
//! posts (copy-on-write), and commit a snapshot. Records/s and MB/s of input, best of 3 runs.

use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ks_firehose_local::bucket::LocalBucket;
use ks_firehose_local::firehose::{
    FirehoseSettings, FirehoseStats, InvokeError, LocalFirehose, Processor,
};
use ks_firehose_local::iceberg::IcebergDestination;
use ks_firehose_local::stream::LocalStream;
use ks_producer::{Entry, StreamSink as _};
use ks_transform::record::FirehoseEvent;

const RECORDS: u64 = 40_000;
const SHARDS: usize = 4;
const RUNS: usize = 3;

/// Answers every record `Ok` with its data, and (Iceberg mode) its routing by `op`.
struct Answer {
    iceberg: bool,
}

impl Processor for Answer {
    async fn invoke(&self, request: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
        let event: FirehoseEvent = serde_json::from_slice(&request).unwrap();
        let records: Vec<serde_json::Value> = event
            .records
            .iter()
            .map(|r| {
                let mut data = BASE64.decode(r.data.as_deref().unwrap()).unwrap();
                let op = if data.starts_with(br#"{"op":"delete""#) {
                    "delete"
                } else if data.starts_with(br#"{"op":"update""#) {
                    "update"
                } else {
                    "insert"
                };
                data.push(b'\n');
                let mut a = serde_json::json!({"recordId": r.record_id, "result": "Ok", "data": BASE64.encode(&data)});
                if self.iceberg {
                    a["metadata"] = serde_json::json!({"otfMetadata": {"destinationDatabaseName": "kinesis_sentiment",
                        "destinationTableName": "posts", "operation": op}});
                }
                a
            })
            .collect();
        Ok(serde_json::to_vec(&serde_json::json!({ "records": records })).unwrap())
    }
}

fn post(n: u64, text: &str, t: u64) -> String {
    format!(
        r#"{{"id":"at://did:plc:a{a}/app.bsky.feed.post/{n:013}","did":"did:plc:a{a}","time_us":{t},"created_at":"2026-12-05T10:00:00.000Z","lang":"en","text":"{text}","langs":["en"],"source":"bluesky","sentiment":{{"label":"POSITIVE","scores":{{"positive":0.61,"negative":0.02,"neutral":0.37,"mixed":0.0}},"model":"lexicon"}}}}"#,
        a = n % 500
    )
}

/// The input: posts, one in ten followed by an edit of an earlier post, one in ten by a
/// deletion of one; each keyed by its post (one post's records stay in order).
fn input() -> Vec<Entry> {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut out = Vec::new();
    let mut posts = 0u64;
    for i in 0..RECORDS {
        let t = 1_764_900_000_000_000 + i;
        let (n, data) = match i % 10 {
            3 if posts > 0 => {
                let n = rng.u64(0..posts);
                (
                    n,
                    post(n, "an edited post about a lovely day", t).replacen(
                        '{',
                        r#"{"op":"update","#,
                        1,
                    ),
                )
            }
            7 if posts > 0 => {
                let n = rng.u64(0..posts);
                let id = format!("at://did:plc:a{}/app.bsky.feed.post/{n:013}", n % 500);
                (n, format!(r#"{{"op":"delete","id":"{id}","time_us":{t}}}"#))
            }
            _ => {
                posts += 1;
                (
                    posts - 1,
                    post(
                        posts - 1,
                        "what a lovely day on the water with friends and a book",
                        t,
                    ),
                )
            }
        };
        out.push(Entry {
            data: data.into_bytes(),
            partition_key: n.to_string(),
            explicit_hash_key: None,
        });
    }
    out
}

/// One run: the stream filled, then timed from the first poll to the last flush.
fn run(entries: &[Entry], iceberg: bool) -> (f64, FirehoseStats) {
    let dir = tempfile::tempdir().unwrap();
    let bucket = LocalBucket::new(dir.path().join("bucket"));
    let mut settings = FirehoseSettings::new("bench");
    if iceberg {
        let wh = dir.path().join("warehouse");
        settings.iceberg = Some(IcebergDestination::posts_and_purges(
            wh,
            "kinesis_sentiment",
            "posts",
            "account_purges",
        ));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let stream = LocalStream::new("s", SHARDS);
        for chunk in entries.chunks(500) {
            stream
                .put_records(&chunk.iter().collect::<Vec<_>>())
                .await
                .unwrap();
        }
        let processor = Answer { iceberg };
        let mut firehose = LocalFirehose::new(settings, &processor, &bucket);
        let started = Instant::now();
        while firehose.poll(&stream).await.unwrap() > 0 {}
        firehose.flush().await.unwrap();
        (started.elapsed().as_secs_f64(), firehose.stats().clone())
    })
}

fn main() {
    let entries = input();
    let bytes: usize = entries.iter().map(|e| e.data.len()).sum();
    let mb = bytes as f64 / 1e6;
    println!(
        "bench-iceberg: {RECORDS} records ({mb:.1} MB; 80% posts, 10% edits, 10% deletions), {SHARDS} shards, 1 MB buffers, best of {RUNS}"
    );
    let mut ndjson_best = f64::MAX;
    for (name, iceberg) in [("NDJSON objects", false), ("Iceberg tables", true)] {
        let mut best = f64::MAX;
        let mut stats = FirehoseStats::default();
        for _ in 0..RUNS {
            let (secs, s) = run(&entries, iceberg);
            if secs < best {
                best = secs;
                stats = s;
            }
        }
        let extra = if iceberg {
            format!(
                "; {} commits, {} rows written for {} removed, {:.1} MB written ({:.1}x the NDJSON time)",
                stats.iceberg_commits,
                stats.iceberg_rows_added,
                stats.iceberg_rows_removed,
                stats.bytes_delivered as f64 / 1e6,
                best / ndjson_best
            )
        } else {
            ndjson_best = best;
            format!(
                "; {} objects, {:.1} MB written",
                stats.objects,
                stats.bytes_delivered as f64 / 1e6
            )
        };
        println!(
            "  {name:<15} {:>9.0} records/s  {:>6.1} MB/s  ({best:.2} s){extra}",
            RECORDS as f64 / best,
            mb / best
        );
    }
}
