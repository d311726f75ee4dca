//! A stand-in for Kinesis Data Streams' `PutRecords`, for fault injection.
//!
//! Emulators accept every entry, so the producer's partial-failure path would never run against
//! them. This server speaks the real wire protocol (awsJson1_1: `POST /`,
//! `X-Amz-Target: Kinesis_20131202.PutRecords`), enforces the request limits, fails a
//! configurable fraction of entries with `ProvisionedThroughputExceededException`, and keeps
//! every accepted record in arrival order so tests can check exactly-once and per-key order.
//! <https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html>

use std::net::SocketAddr;
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

use crate::serve::{self, Server};

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
}

impl Stats {
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
    pub fn entries(&self) -> u64 {
        self.entries.load(Ordering::SeqCst)
    }
    pub fn failed_entries(&self) -> u64 {
        self.failed_entries.load(Ordering::SeqCst)
    }
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::SeqCst)
    }
    pub fn max_batch(&self) -> u64 {
        self.max_batch.load(Ordering::SeqCst)
    }
}

struct Shared {
    faults: Faults,
    stats: Arc<Stats>,
    rng: Mutex<fastrand::Rng>,
    stored: Arc<Mutex<Vec<Stored>>>,
}

/// A running stand-in; it stops when dropped.
pub struct KinesisStandIn {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
    stored: Arc<Mutex<Vec<Stored>>>,
    server: Server,
}

impl KinesisStandIn {
    /// Starts on `127.0.0.1` with a free port.
    pub async fn start(faults: Faults) -> std::io::Result<Self> {
        let stats = Arc::new(Stats::default());
        let stored: Arc<Mutex<Vec<Stored>>> = Arc::default();
        let shared = Arc::new(Shared {
            rng: Mutex::new(fastrand::Rng::with_seed(faults.seed)),
            faults,
            stats: stats.clone(),
            stored: stored.clone(),
        });
        // A full 5 MiB request is ~7 MB once base64 and JSON framing are added: above axum's
        // 2 MB default body limit, so the limit is raised and the real caps are checked below.
        let app = Router::new()
            .route("/", post(handle))
            .layer(DefaultBodyLimit::max(4 * MAX_REQUEST_BYTES))
            .with_state(shared);
        let server = serve::http(serve::loopback(), app).await?;
        Ok(KinesisStandIn {
            addr: server.addr,
            stats,
            stored,
            server,
        })
    }

    /// The endpoint URL to give the SDK (`AWS_ENDPOINT_URL_KINESIS`).
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Every accepted record, in arrival order.
    pub fn records(&self) -> Vec<Stored> {
        self.stored.lock().expect("lock").clone()
    }

    /// Takes the records accepted so far, in arrival order, and forgets them: a long run (a
    /// benchmark of gigabytes) checks them as they come instead of holding them all.
    pub fn drain_records(&self) -> Vec<Stored> {
        std::mem::take(&mut *self.stored.lock().expect("lock"))
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

fn aws_error(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    let body = json!({"__type": kind, "message": message.into()});
    let mut resp = (status, body.to_string()).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(v) = HeaderValue::from_str(kind) {
        headers.insert("x-amzn-errortype", v);
    }
    resp
}

async fn handle(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let stats = &shared.stats;
    let n = stats.calls.fetch_add(1, Ordering::SeqCst) + 1;
    let reject = |status, kind: &str, message: String| {
        stats.rejected.fetch_add(1, Ordering::SeqCst);
        aws_error(status, kind, message)
    };

    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if target != TARGET {
        return reject(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            format!("unsupported target {target:?}"),
        );
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/x-amz-json-1.1") {
        return reject(
            StatusCode::BAD_REQUEST,
            "SerializationException",
            "expected application/x-amz-json-1.1".into(),
        );
    }
    if !headers.contains_key("authorization") {
        return reject(
            StatusCode::BAD_REQUEST,
            "MissingAuthenticationTokenException",
            "request is not signed".into(),
        );
    }
    if !shared.faults.latency.is_zero() {
        tokio::time::sleep(shared.faults.latency).await;
    }
    if shared.faults.error_every > 0 && n % shared.faults.error_every == 0 {
        stats.errors.fetch_add(1, Ordering::SeqCst);
        return aws_error(
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
        let mut stored = shared.stored.lock().expect("lock");
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
