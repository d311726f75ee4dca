//! The stand-in for Amazon Comprehend's `BatchDetectSentiment`.
//!
//! No emulator implements this API, so tests, benchmarks and the local pipeline talk to this
//! server instead. It speaks the real wire protocol (awsJson1_1: `POST /`,
//! `X-Amz-Target: Comprehend_20171127.BatchDetectSentiment`), enforces the real limits (25
//! documents, 5,000 bytes each, supported languages), and can be told to throttle, fail with
//! 500s, answer slowly, or put documents in `ErrorList`, so retry paths are exercised for real.
//!
//! Scores come from a tiny keyword heuristic: deterministic, and good enough to tell that a
//! result reached the right record.

use crate::quota::Metered as _;
use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;

use crate::aws;
use crate::serve;

/// A running stand-in; it stops when dropped. Its URL is `AWS_ENDPOINT_URL_COMPREHEND`.
pub type StandIn = serve::StandIn<Faults>;

/// The operation this server answers.
pub const TARGET: &str = "Comprehend_20171127.BatchDetectSentiment";
/// Limits enforced as Comprehend does (see ks-core's `limits` for the sources).
pub const MAX_DOCUMENTS: usize = 25;
pub const MAX_DOCUMENT_BYTES: usize = 5_000;
pub const LANGUAGES: [&str; 12] = [
    "ar", "hi", "ko", "zh-TW", "ja", "zh", "de", "pt", "en", "it", "fr", "es",
];
/// A document containing this marker is answered in `ErrorList` with `INTERNAL_SERVER_ERROR`
/// the first time it is seen, so per-document retries can be tested.
pub const DOC_ERROR_ONCE_MARKER: &str = "__standin_doc_error_once__";
/// What both markers start with.
const MARKER_PREFIX: &str = "__standin_doc_error";
/// A document containing this marker is always answered in `ErrorList` with `INVALID_REQUEST`.
pub const DOC_ERROR_MARKER: &str = "__standin_doc_error__";

/// Faults to inject. Counters are per call, starting at 1.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Every answer is sent this long after its request arrived.
    pub latency: Duration,
    /// Every Nth call answers `ThrottlingException` (0 = never).
    pub throttle_every: u64,
    /// The first N calls answer `ThrottlingException`.
    pub throttle_first: u64,
    /// Every Nth call answers HTTP 500 `InternalServerException` (0 = never).
    pub error_every: u64,
    /// The first N calls answer HTTP 500.
    pub error_first: u64,
    /// The first N calls wait this long before answering (to trip client timeouts).
    pub slow_first: u64,
    pub slow_latency: Duration,
    /// An account quota: a call beyond it answers `ThrottlingException` at once.
    pub quota: Option<crate::quota::Quota>,
}

/// What the server saw.
#[derive(Debug, Default)]
pub struct Stats {
    pub calls: AtomicU64,
    pub documents: AtomicU64,
    pub throttled: AtomicU64,
    pub errors: AtomicU64,
    pub rejected: AtomicU64,
    pub max_batch: AtomicU64,
    seen_once: std::sync::Mutex<std::collections::HashSet<String>>,
    bucket: std::sync::OnceLock<crate::quota::TokenBucket>,
}

crate::metered!(Stats);

crate::counter_reads!(Stats: calls, documents, rejected, max_batch);

impl serve::Protocol for Faults {
    type Stats = Stats;
    fn router(self, stats: Arc<Stats>) -> Router {
        Router::new()
            .route("/", post(handle))
            .with_state(serve::Shared::new(self, stats))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request<'a> {
    // Borrowed from the body where no escape needs undoing: no allocation per document.
    #[serde(borrow)]
    text_list: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    language_code: Cow<'a, str>,
}

async fn handle(
    State(shared): State<Arc<serve::Shared<Faults>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let arrived = std::time::Instant::now();
    let faults = &shared.faults;
    let n = shared.stats.calls.fetch_add(1, Ordering::SeqCst) + 1;
    if shared.stats.over_quota(shared.faults.quota) {
        return aws::json_error(
            StatusCode::BAD_REQUEST,
            "ThrottlingException",
            "Rate exceeded",
        );
    }
    if n <= faults.slow_first {
        tokio::time::sleep(faults.slow_latency).await;
    }
    // The answer is worked out first and sent `latency` after the request arrived, so the
    // latency a client sees is the one asked for, not that plus this server's own work.
    let response = answer(&shared, n, &headers, &body);
    if !faults.latency.is_zero() {
        let until = arrived + faults.latency;
        // tokio's timer ticks in whole milliseconds and rounds up, so a 20 ms sleep takes
        // ~21 ms; a blocking-pool thread sleeps to within a few microseconds, which keeps
        // benchmarks measuring the client rather than this server.
        let _ = tokio::task::spawn_blocking(move || {
            precise_timers();
            std::thread::sleep(until.saturating_duration_since(std::time::Instant::now()));
        })
        .await;
    }
    response
}

/// Linux lets a sleeping thread wake up to 50 µs late by default (its timer slack); 1 ns asks
/// for the wake-up on time.
fn precise_timers() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and only changes this thread's slack.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
    }
}

/// A request Comprehend refuses before any work: counted, and answered HTTP 400.
fn reject(stats: &Stats, kind: &str, message: impl Into<String>) -> Response {
    stats.rejected.fetch_add(1, Ordering::SeqCst);
    aws::json_error(StatusCode::BAD_REQUEST, kind, message)
}

/// What Comprehend would answer this request: the checks in the order the service makes
/// them, then the injected faults, then a score for every document.
fn answer(shared: &serve::Shared<Faults>, n: u64, headers: &HeaderMap, body: &[u8]) -> Response {
    let stats = &shared.stats;
    let faults = &shared.faults;
    if let Err((kind, message)) = aws::check_json_envelope(headers, TARGET) {
        return reject(stats, kind, message);
    }
    if n <= faults.throttle_first
        || (faults.throttle_every > 0 && n.is_multiple_of(faults.throttle_every))
    {
        stats.throttled.fetch_add(1, Ordering::SeqCst);
        return aws::json_error(
            StatusCode::BAD_REQUEST,
            "ThrottlingException",
            "Rate exceeded",
        );
    }
    if n <= faults.error_first || (faults.error_every > 0 && n.is_multiple_of(faults.error_every)) {
        stats.errors.fetch_add(1, Ordering::SeqCst);
        return aws::json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerException",
            "injected failure",
        );
    }

    let req: Request = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            return reject(stats, "SerializationException", e.to_string());
        }
    };
    if req.text_list.is_empty() {
        return reject(
            stats,
            "InvalidRequestException",
            "TextList must not be empty",
        );
    }
    if req.text_list.len() > MAX_DOCUMENTS {
        return reject(
            stats,
            "BatchSizeLimitExceededException",
            format!(
                "{} documents; the limit is {MAX_DOCUMENTS}",
                req.text_list.len()
            ),
        );
    }
    if let Some(i) = req
        .text_list
        .iter()
        .position(|t| t.len() > MAX_DOCUMENT_BYTES)
    {
        return reject(
            stats,
            "TextSizeLimitExceededException",
            format!(
                "document {i} is {} bytes; the limit is {MAX_DOCUMENT_BYTES}",
                req.text_list[i].len()
            ),
        );
    }
    if !LANGUAGES.contains(&&*req.language_code) {
        return reject(
            stats,
            "UnsupportedLanguageException",
            format!("language {:?} is not supported", req.language_code),
        );
    }
    stats
        .max_batch
        .fetch_max(req.text_list.len() as u64, Ordering::SeqCst);
    stats
        .documents
        .fetch_add(req.text_list.len() as u64, Ordering::SeqCst);

    // The response is written straight into one string: in the benchmarks this server shares
    // the two cores with the client it measures, so its own CPU must stay small.
    let mut body = String::with_capacity(32 + 128 * req.text_list.len());
    let mut errors = Vec::new();
    body.push_str("{\"ResultList\":[");
    let mut first = true;
    for (i, text) in req.text_list.iter().enumerate() {
        // Both markers start alike: one search finds whether either is there.
        let marked = text.contains(MARKER_PREFIX);
        if marked && text.contains(DOC_ERROR_MARKER) {
            errors.push(json!({"Index": i, "ErrorCode": "INVALID_REQUEST", "ErrorMessage": "injected document error"}));
            continue;
        }
        if marked && text.contains(DOC_ERROR_ONCE_MARKER) {
            let first = stats
                .seen_once
                .lock()
                .expect("lock")
                .insert(text.to_string());
            if first {
                errors.push(json!({"Index": i, "ErrorCode": "INTERNAL_SERVER_ERROR", "ErrorMessage": "injected transient document error"}));
                continue;
            }
        }
        if !first {
            body.push(',');
        }
        first = false;
        write_score(&mut body, i, text);
    }
    body.push_str("],\"ErrorList\":");
    body.push_str(&serde_json::Value::from(errors).to_string());
    body.push('}');
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    resp
}

const POSITIVE: [&str; 10] = [
    "love",
    "great",
    "good",
    "happy",
    "awesome",
    "excellent",
    "best",
    "wonderful",
    "nice",
    "amazing",
];
const NEGATIVE: [&str; 10] = [
    "hate", "bad", "terrible", "awful", "worst", "sad", "angry", "horrible", "poor", "broken",
];

/// Every keyword, positive ones first, matched case-insensitively in one pass over a text
/// (keywords that overlap each other in a text may hide one another: a toy heuristic).
fn keywords() -> &'static aho_corasick::AhoCorasick {
    static KEYWORDS: std::sync::OnceLock<aho_corasick::AhoCorasick> = std::sync::OnceLock::new();
    KEYWORDS.get_or_init(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(POSITIVE.iter().chain(NEGATIVE.iter()))
            .expect("keywords build an automaton")
    })
}

/// The stand-ins' deterministic rule: POSITIVE, NEGATIVE, MIXED (both kinds of keyword) or
/// NEUTRAL (none). Shared with the Bedrock stand-in, so both backends label a text alike.
pub fn keyword_label(text: &str) -> &'static str {
    let (mut pos, mut neg) = (false, false);
    for m in keywords().find_iter(text) {
        if m.pattern().as_usize() < POSITIVE.len() {
            pos = true;
        } else {
            neg = true;
        }
        if pos && neg {
            break;
        }
    }
    match (pos, neg) {
        (true, true) => "MIXED",
        (true, false) => "POSITIVE",
        (false, true) => "NEGATIVE",
        (false, false) => "NEUTRAL",
    }
}

/// The scores the stand-ins give each label: positive, negative, neutral, mixed.
pub fn label_scores(label: &str) -> [f64; 4] {
    match label {
        "MIXED" => [0.2, 0.2, 0.1, 0.5],
        "POSITIVE" => [0.9, 0.02, 0.07, 0.01],
        "NEGATIVE" => [0.03, 0.88, 0.08, 0.01],
        _ => [0.05, 0.04, 0.9, 0.01],
    }
}

/// A deterministic keyword score with Comprehend's shape, appended to `out` as JSON.
fn write_score(out: &mut String, index: usize, text: &str) {
    use std::fmt::Write as _;
    let label = keyword_label(text);
    let scores = match label {
        "MIXED" => r#"{"Positive":0.2,"Negative":0.2,"Neutral":0.1,"Mixed":0.5}"#,
        "POSITIVE" => r#"{"Positive":0.9,"Negative":0.02,"Neutral":0.07,"Mixed":0.01}"#,
        "NEGATIVE" => r#"{"Positive":0.03,"Negative":0.88,"Neutral":0.08,"Mixed":0.01}"#,
        _ => r#"{"Positive":0.05,"Negative":0.04,"Neutral":0.9,"Mixed":0.01}"#,
    };
    let _ = write!(
        out,
        r#"{{"Index":{index},"Sentiment":"{label}","SentimentScore":{scores}}}"#
    );
}
