//! A stand-in for Kinesis Data Streams' `PutRecords`, for fault injection.
//!
//! Emulators accept every entry, so the producer's partial-failure path would never run against
//! them. This server speaks the real wire protocol (awsJson1_1: `POST /`,
//! `X-Amz-Target: Kinesis_20131202.PutRecords`), enforces the request limits, fails a
//! configurable fraction of entries with `ProvisionedThroughputExceededException`, and keeps
//! every accepted record in arrival order so tests can check exactly-once and per-key order.
//! <https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html>

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use serde_json::json;

use crate::aws;
use crate::serve;

/// The operation this server answers.
pub const TARGET: &str = "Kinesis_20131202.PutRecords";
/// PutRecords limits (see ks-core's `producer::limits` for the sources).
pub const MAX_RECORDS: usize = 500;
pub const MAX_REQUEST_BYTES: usize = 5 * 1024 * 1024;
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// The shard every record lands on: one shard keeps arrival order total, which makes per-key
/// order checks strict.
pub const SHARD_ID: &str = "shardId-000000000000";

/// Faults to inject.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// The share of entries answered `ProvisionedThroughputExceededException`, in [0, 1].
    pub fail_fraction: f64,
    /// Seeds the draw of which entries fail, so runs repeat.
    pub seed: u64,
    /// Every Nth call fails as a whole with HTTP 500 `InternalFailure` (0 = never).
    pub error_every: u64,
    /// Added to every answer.
    pub latency: Duration,
}

/// One record the stand-in accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub partition_key: String,
    pub explicit_hash_key: Option<String>,
    pub data: Vec<u8>,
    pub sequence_number: String,
}

/// What the server saw.
#[derive(Debug, Default)]
pub struct Stats {
    pub calls: AtomicU64,
    pub entries: AtomicU64,
    pub failed_entries: AtomicU64,
    pub errors: AtomicU64,
    pub rejected: AtomicU64,
    pub max_batch: AtomicU64,
    /// Every accepted record, in arrival order.
    stored: Mutex<Vec<Stored>>,
}

crate::counter_reads!(Stats: calls, entries, failed_entries, rejected, max_batch);

struct Shared {
    faults: Faults,
    stats: Arc<Stats>,
    rng: Mutex<fastrand::Rng>,
}

/// A running stand-in; it stops when dropped. Its URL is `AWS_ENDPOINT_URL_KINESIS`.
pub type KinesisStandIn = serve::StandIn<Faults>;

impl serve::Protocol for Faults {
    type Stats = Stats;
    fn router(self, stats: Arc<Stats>) -> Router {
        let faults = self;
        let shared = Arc::new(Shared {
            rng: Mutex::new(fastrand::Rng::with_seed(faults.seed)),
            faults,
            stats,
        });
        // A full 5 MiB request is ~7 MB once base64 and JSON framing are added: above axum's
        // 2 MB default body limit, so the limit is raised and the real caps are checked below.
        Router::new()
            .route("/", post(handle))
            .layer(DefaultBodyLimit::max(4 * MAX_REQUEST_BYTES))
            .with_state(shared)
    }
}

impl KinesisStandIn {
    /// Every accepted record, in arrival order.
    pub fn records(&self) -> Vec<Stored> {
        self.stats.stored.lock().expect("lock").clone()
    }

    /// Takes the records accepted so far, in arrival order, and forgets them: a long run (a
    /// benchmark of gigabytes) checks them as they come instead of holding them all.
    pub fn drain_records(&self) -> Vec<Stored> {
        std::mem::take(&mut *self.stats.stored.lock().expect("lock"))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    records: Vec<RequestEntry>,
    stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    stream_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RequestEntry {
    data: String,
    partition_key: String,
    explicit_hash_key: Option<String>,
}

async fn handle(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let stats = &shared.stats;
    let n = stats.calls.fetch_add(1, Ordering::SeqCst) + 1;
    let reject = |status, kind: &str, message: String| {
        stats.rejected.fetch_add(1, Ordering::SeqCst);
        aws::json_error(status, kind, message)
    };

    if let Err((kind, message)) = aws::check_json_envelope(&headers, TARGET) {
        return reject(StatusCode::BAD_REQUEST, kind, message);
    }
    if !shared.faults.latency.is_zero() {
        tokio::time::sleep(shared.faults.latency).await;
    }
    if shared.faults.error_every > 0 && n % shared.faults.error_every == 0 {
        stats.errors.fetch_add(1, Ordering::SeqCst);
        return aws::json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            "injected failure".to_owned(),
        );
    }

    let req: Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return reject(
                StatusCode::BAD_REQUEST,
                "SerializationException",
                e.to_string(),
            );
        }
    };
    if req.stream_name.is_none() && req.stream_arn.is_none() {
        return reject(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            "StreamName or StreamARN is required".into(),
        );
    }
    if req.records.is_empty() || req.records.len() > MAX_RECORDS {
        return reject(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            format!(
                "{} records; a request holds 1 to {MAX_RECORDS}",
                req.records.len()
            ),
        );
    }
    let mut decoded = Vec::with_capacity(req.records.len());
    let mut total = 0;
    for (i, r) in req.records.into_iter().enumerate() {
        let data = match B64.decode(&r.data) {
            Ok(d) => d,
            Err(e) => {
                return reject(
                    StatusCode::BAD_REQUEST,
                    "SerializationException",
                    format!("record {i}: {e}"),
                );
            }
        };
        let chars = r.partition_key.chars().count();
        if chars == 0 || chars > 256 {
            return reject(
                StatusCode::BAD_REQUEST,
                "ValidationException",
                format!("record {i}: partition key of {chars} characters"),
            );
        }
        let size = data.len() + r.partition_key.len();
        if size > MAX_RECORD_BYTES {
            return reject(
                StatusCode::BAD_REQUEST,
                "ValidationException",
                format!("record {i} is {size} bytes; the limit is {MAX_RECORD_BYTES}"),
            );
        }
        total += size;
        decoded.push((data, r.partition_key, r.explicit_hash_key));
    }
    if total > MAX_REQUEST_BYTES {
        return reject(
            StatusCode::BAD_REQUEST,
            "InvalidArgumentException",
            format!("request is {total} bytes; the limit is {MAX_REQUEST_BYTES}"),
        );
    }
    stats
        .max_batch
        .fetch_max(decoded.len() as u64, Ordering::SeqCst);
    stats
        .entries
        .fetch_add(decoded.len() as u64, Ordering::SeqCst);

    let mut results = Vec::with_capacity(decoded.len());
    let mut failed = 0;
    {
        let mut rng = shared.rng.lock().expect("lock");
        let mut stored = shared.stats.stored.lock().expect("lock");
        for (data, partition_key, explicit_hash_key) in decoded {
            if rng.f64() < shared.faults.fail_fraction {
                failed += 1;
                results.push(json!({
                    "ErrorCode": "ProvisionedThroughputExceededException",
                    "ErrorMessage": "Rate exceeded for shard shardId-000000000000 in stream standin under account 123456789012.",
                }));
                continue;
            }
            let sequence_number = format!("{:056}", stored.len() + 1);
            results.push(json!({"SequenceNumber": sequence_number, "ShardId": SHARD_ID}));
            stored.push(Stored {
                partition_key,
                explicit_hash_key,
                data,
                sequence_number,
            });
        }
    }
    stats.failed_entries.fetch_add(failed, Ordering::SeqCst);
    let body = json!({"FailedRecordCount": failed, "Records": results, "EncryptionType": "NONE"});
    let mut resp = (StatusCode::OK, body.to_string()).into_response();
    resp.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    resp
}
