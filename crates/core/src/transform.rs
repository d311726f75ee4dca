//! The transform of one Firehose batch: decode each record, score its text, splice the result
//! into the original bytes, and answer every record exactly once, in order, within 6 MB.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures::stream::FuturesUnordered;
use futures::{FutureExt as _, StreamExt as _};
use serde::Serialize;
use tokio::time::Instant;

use crate::json::{JsonError, Object};
use crate::limits::FIREHOSE_MAX_RESPONSE_BYTES;
use crate::metrics::Summary;
use crate::plan::{Batch, DocTable};
use crate::record::{
    FirehoseEvent, FirehoseResponse, RecordResult, ResponseMetadata, ResponseRecord,
};
use crate::retry::RetryPolicy;
use crate::sentiment::{AnalyzerError, Scores, Sentiment, SentimentAnalyzer};
use crate::text::{Pointer, find_text, normalize_language, truncate_utf8};

/// What to do with a record whose sentiment could not be had after retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnSentimentError {
    /// Deliver it with `{"label":null,"error":…}` in the sentiment field.
    Deliver,
    /// Answer `ProcessingFailed`, so Firehose writes it under `processing-failed/`.
    Fail,
}

/// What to do with a payload that is not a JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonJsonPolicy {
    Fail,
    PassThrough,
}

/// What to do with a JSON record that has no text at any pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoTextPolicy {
    Deliver,
    Drop,
}

/// Everything the transform needs to know, validated (see `config`).
#[derive(Debug, Clone)]
pub struct TransformSettings {
    pub text_pointers: Vec<Pointer>,
    /// Pointers to each record's language tag, tried in order; none: every text is in
    /// `default_language`.
    pub language_pointers: Vec<Pointer>,
    pub default_language: &'static str,
    pub max_document_bytes: usize,
    pub concurrency: usize,
    pub retry: RetryPolicy,
    pub call_timeout: Duration,
    pub on_sentiment_error: OnSentimentError,
    pub non_json: NonJsonPolicy,
    pub no_text: NoTextPolicy,
    pub field: String,
    pub partition_keys: bool,
    /// The response ceiling; Firehose's limit unless a test wants a smaller one.
    pub max_response_bytes: usize,
}

impl Default for TransformSettings {
    fn default() -> Self {
        TransformSettings {
            text_pointers: vec![Pointer::parse("/text").expect("valid pointer")],
            language_pointers: Vec::new(),
            default_language: "en",
            max_document_bytes: crate::limits::COMPREHEND_MAX_DOCUMENT_BYTES,
            concurrency: 8,
            retry: RetryPolicy::default(),
            call_timeout: Duration::from_secs(10),
            on_sentiment_error: OnSentimentError::Deliver,
            non_json: NonJsonPolicy::Fail,
            no_text: NoTextPolicy::Deliver,
            field: "sentiment".to_owned(),
            partition_keys: false,
            max_response_bytes: FIREHOSE_MAX_RESPONSE_BYTES,
        }
    }
}

/// How many records are prepared between checks for full batches to send.
const DISPATCH_EVERY_RECORDS: usize = 64;

/// The partition key value for records delivered without a sentiment label.
pub const NO_LABEL_PARTITION: &str = "NONE";

/// What the transform decided for one record before any call is made.
enum Plan {
    Fail(String),
    Deliver(Vec<u8>),
    Drop,
    Score {
        src: String,
        obj: Object,
        doc: usize,
    },
}

/// A document's final answer.
enum DocResult {
    Scored(Sentiment),
    Failed(String),
}

#[derive(Default)]
struct CallStats {
    calls: u64,
    retries: u64,
}

impl CallStats {
    fn add(&mut self, other: CallStats) {
        self.calls += other.calls;
        self.retries += other.retries;
    }
}

#[derive(Serialize)]
struct SentimentField<'a> {
    label: &'static str,
    scores: Scores,
    model: &'a str,
}

#[derive(Serialize)]
struct SentimentErrorField<'a> {
    label: Option<&'static str>,
    error: &'a str,
    model: &'a str,
}

/// Transforms one batch. Never fails: every record is answered, bad ones as `ProcessingFailed`.
pub async fn transform<A: SentimentAnalyzer>(
    analyzer: &A,
    settings: &TransformSettings,
    event: &FirehoseEvent,
    deadline: Instant,
) -> (FirehoseResponse, Summary) {
    let started = Instant::now();
    let mut summary = Summary {
        records_in: event.records.len() as u64,
        ..Summary::default()
    };

    let mut docs = DocTable::default();
    let max_batch = analyzer.max_batch_documents();
    let concurrency = settings.concurrency.max(1);
    let mut queued: VecDeque<Batch> = VecDeque::new();
    let mut in_flight = FuturesUnordered::new();
    let mut answered: Vec<(usize, DocResult)> = Vec::new();
    let mut stats = CallStats::default();
    // Starts queued calls up to the concurrency limit, and takes in those that have finished.
    // Called while records are still being prepared, so the first calls overlap that work.
    macro_rules! pump {
        ($wait:expr) => {
            loop {
                while in_flight.len() < concurrency {
                    let Some(batch) = queued.pop_front() else {
                        break;
                    };
                    in_flight.push(run_batch(analyzer, settings, batch, deadline));
                }
                let next = if $wait {
                    in_flight.next().await
                } else {
                    in_flight.next().now_or_never().flatten()
                };
                let Some((done, batch_stats)) = next else {
                    break;
                };
                stats.add(batch_stats);
                answered.extend(done);
            }
        };
    }
    let mut plans: Vec<Plan> = Vec::with_capacity(event.records.len());
    for (i, r) in event.records.iter().enumerate() {
        plans.push(prepare(
            r.data.as_deref(),
            analyzer,
            settings,
            &mut docs,
            &mut summary,
        ));
        if i % DISPATCH_EVERY_RECORDS == DISPATCH_EVERY_RECORDS - 1 {
            queued.extend(docs.take_full_batches(max_batch));
            pump!(false);
        }
    }
    queued.extend(docs.take_remaining_batches(max_batch));
    pump!(true);
    summary.deduplicated = docs.duplicates() as u64;
    let mut results: Vec<Option<DocResult>> = (0..docs.docs().len()).map(|_| None).collect();
    for (id, r) in answered {
        results[id] = Some(r);
    }
    let results: Vec<DocResult> = results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| DocResult::Failed("no answer for this document".to_owned())))
        .collect();
    summary.sentiment_calls = stats.calls;
    summary.retries = stats.retries;
    let model = analyzer.model();
    // Each distinct document's field, serialised once however many records share it.
    let fields: Vec<Result<(String, &'static str), String>> = results
        .iter()
        .enumerate()
        .map(|(id, r)| match r {
            DocResult::Scored(s) => {
                summary.texts_analysed += 1;
                if analyzer.is_remote() {
                    summary.billed_units += docs.docs()[id].units();
                }
                let label = s.label.as_str();
                let field = SentimentField {
                    label,
                    scores: s.scores,
                    model,
                };
                Ok((
                    serde_json::to_string(&field).expect("serialising plain data"),
                    label,
                ))
            }
            DocResult::Failed(why) => {
                summary.sentiment_errors += 1;
                Err(why.clone())
            }
        })
        .collect();

    let mut records = Vec::with_capacity(plans.len());
    for (input, plan) in event.records.iter().zip(plans) {
        // Failed records carry their original data back; only they need a copy of it.
        let original = || input.data.clone().unwrap_or_default();
        let id = &input.record_id;
        let (result, data, label) = match plan {
            Plan::Fail(reason) => {
                tracing::warn!(record_id = %id, reason = %reason, "record failed");
                (RecordResult::ProcessingFailed, original(), None)
            }
            Plan::Drop => (RecordResult::Dropped, String::new(), None),
            Plan::Deliver(bytes) => (
                RecordResult::Ok,
                encode_line(bytes),
                Some(NO_LABEL_PARTITION),
            ),
            Plan::Score { src, obj, doc } => match &fields[doc] {
                Ok((field, label)) => {
                    *summary.labels.entry(label).or_default() += 1;
                    (
                        RecordResult::Ok,
                        splice(&src, &obj, &settings.field, field),
                        Some(*label),
                    )
                }
                Err(why) => match settings.on_sentiment_error {
                    OnSentimentError::Fail => {
                        tracing::warn!(record_id = %id, reason = %why, "record failed: no sentiment");
                        (RecordResult::ProcessingFailed, original(), None)
                    }
                    OnSentimentError::Deliver => {
                        let marker = SentimentErrorField {
                            label: None,
                            error: why,
                            model,
                        };
                        let marker =
                            serde_json::to_string(&marker).expect("serialising plain data");
                        (
                            RecordResult::Ok,
                            splice(&src, &obj, &settings.field, &marker),
                            Some(NO_LABEL_PARTITION),
                        )
                    }
                },
            },
        };
        let metadata = match (settings.partition_keys, result, label) {
            (true, RecordResult::Ok, Some(label)) => Some(ResponseMetadata {
                partition_keys: BTreeMap::from([("sentiment".to_owned(), label.to_owned())]),
            }),
            _ => None,
        };
        records.push(ResponseRecord {
            record_id: id.clone(),
            result,
            data,
            metadata,
        });
    }

    fit_response(&mut records, settings.max_response_bytes, &mut summary);
    for r in &records {
        match r.result {
            RecordResult::Ok => summary.ok += 1,
            RecordResult::Dropped => summary.dropped += 1,
            RecordResult::ProcessingFailed => summary.failed += 1,
        }
    }
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    (FirehoseResponse { records }, summary)
}

fn prepare<A: SentimentAnalyzer>(
    data: Option<&str>,
    analyzer: &A,
    settings: &TransformSettings,
    docs: &mut DocTable,
    summary: &mut Summary,
) -> Plan {
    let Some(data) = data else {
        return Plan::Fail("the record has no data field".to_owned());
    };
    let bytes = match BASE64.decode(data) {
        Ok(b) => b,
        Err(e) => return Plan::Fail(format!("data is not valid base64: {e}")),
    };
    let src = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let why = format!(
                "payload is not valid UTF-8 (byte {})",
                e.utf8_error().valid_up_to()
            );
            return non_json(settings, why, e.into_bytes(), summary);
        }
    };
    let obj = match Object::parse(&src) {
        Ok(o) => o,
        Err(e @ JsonError::TooDeep { .. }) => return Plan::Fail(format!("payload {e}")),
        Err(e) => return non_json(settings, format!("payload {e}"), src.into_bytes(), summary),
    };
    let Some(text) = find_text(&src, &obj, &settings.text_pointers) else {
        summary.no_text += 1;
        return match settings.no_text {
            NoTextPolicy::Deliver => Plan::Deliver(src.into_bytes()),
            NoTextPolicy::Drop => Plan::Drop,
        };
    };
    // A record without a language tag is taken to be in the default language.
    let language = match find_text(&src, &obj, &settings.language_pointers) {
        Some(tag) => normalize_language(&tag),
        None => Some(settings.default_language),
    };
    let Some(language) = language.filter(|l| analyzer.supports_language(l)) else {
        summary.unsupported_language += 1;
        return Plan::Deliver(src.into_bytes());
    };
    let doc = docs.intern(language, truncate_utf8(&text, settings.max_document_bytes));
    Plan::Score { src, obj, doc }
}

fn non_json(
    settings: &TransformSettings,
    why: String,
    bytes: Vec<u8>,
    summary: &mut Summary,
) -> Plan {
    match settings.non_json {
        NonJsonPolicy::Fail => Plan::Fail(why),
        NonJsonPolicy::PassThrough => {
            summary.passed_through += 1;
            Plan::Deliver(bytes)
        }
    }
}

/// One batch, retried on retryable failures (whole-call or per-document) until it is answered,
/// attempts run out, or the deadline is near.
async fn run_batch<A: SentimentAnalyzer>(
    analyzer: &A,
    settings: &TransformSettings,
    batch: Batch,
    deadline: Instant,
) -> (Vec<(usize, DocResult)>, CallStats) {
    let (answered, stats) =
        score_texts(analyzer, settings, batch.language, &batch.texts, deadline).await;
    let answered = answered
        .into_iter()
        .map(|(pos, r)| (batch.docs[pos], r))
        .collect();
    (answered, stats)
}

/// Answers for `texts`, by position.
async fn score_texts<A: SentimentAnalyzer>(
    analyzer: &A,
    settings: &TransformSettings,
    language: &'static str,
    texts: &[Arc<str>],
    deadline: Instant,
) -> (Vec<(usize, DocResult)>, CallStats) {
    let mut stats = CallStats::default();
    let mut answered = Vec::with_capacity(texts.len());
    // Positions still without an answer.
    let mut pending: Vec<usize> = (0..texts.len()).collect();
    let mut attempts = 0u32;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            let why = "deadline reached before sentiment could be had".to_owned();
            answered.extend(
                pending
                    .into_iter()
                    .map(|id| (id, DocResult::Failed(why.clone()))),
            );
            return (answered, stats);
        }
        attempts += 1;
        if analyzer.is_remote() {
            stats.calls += 1;
        }
        let batch_texts: Vec<&str> = pending.iter().map(|&pos| &*texts[pos]).collect();
        let limit = settings.call_timeout.min(remaining);
        let outcome =
            match tokio::time::timeout(limit, analyzer.analyze(language, &batch_texts)).await {
                Ok(o) => o,
                Err(_) => Err(AnalyzerError::Timeout(limit.as_millis() as u64)),
            };
        let last_error = match outcome {
            Ok(per_doc) if per_doc.len() == pending.len() => {
                let mut retry = Vec::new();
                let mut last = String::new();
                for (id, r) in pending.into_iter().zip(per_doc) {
                    match r {
                        Ok(s) => answered.push((id, DocResult::Scored(s))),
                        Err(e) if e.retryable => {
                            last = format!("{}: {}", e.code, e.message);
                            retry.push(id);
                        }
                        Err(e) => answered
                            .push((id, DocResult::Failed(format!("{}: {}", e.code, e.message)))),
                    }
                }
                pending = retry;
                last
            }
            Ok(per_doc) => {
                let why = format!(
                    "analyzer answered {} results for {} documents",
                    per_doc.len(),
                    pending.len()
                );
                answered.extend(
                    pending
                        .into_iter()
                        .map(|id| (id, DocResult::Failed(why.clone()))),
                );
                return (answered, stats);
            }
            Err(e) if e.is_retryable() => {
                tracing::debug!(error = %e, attempt = attempts, language, "sentiment call failed, will retry");
                format!("{}: {e}", e.code())
            }
            Err(e) => {
                let why = format!("{}: {e}", e.code());
                answered.extend(
                    pending
                        .into_iter()
                        .map(|id| (id, DocResult::Failed(why.clone()))),
                );
                return (answered, stats);
            }
        };
        if pending.is_empty() {
            return (answered, stats);
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        match settings
            .retry
            .next_delay(attempts, remaining, fastrand::f64())
        {
            Some(wait) => {
                stats.retries += 1;
                tokio::time::sleep(wait).await;
            }
            None => {
                let why = format!("gave up after {attempts} attempts: {last_error}");
                answered.extend(
                    pending
                        .into_iter()
                        .map(|id| (id, DocResult::Failed(why.clone()))),
                );
                return (answered, stats);
            }
        }
    }
}

/// The record's bytes with the field spliced in, as one base64 NDJSON line.
fn splice(src: &str, obj: &Object, field: &str, value_json: &str) -> String {
    let mut out = Vec::with_capacity(src.len() + value_json.len() + field.len() + 8);
    obj.write_with_member(src, field, value_json, &mut out);
    encode_line(out)
}

/// Base64 of `bytes` ending in exactly one added `\n` (none if it already ends with one):
/// Firehose writes records back to back, so the newline is what makes the object NDJSON.
fn encode_line(mut bytes: Vec<u8>) -> String {
    if bytes.last() != Some(&b'\n') {
        bytes.push(b'\n');
    }
    BASE64.encode(bytes)
}

/// Keeps the serialised response within `limit`: records that would not fit, in order, are
/// answered `ProcessingFailed` with empty data, so Firehose routes their original bytes to the
/// error prefix instead of failing the whole invocation.
fn fit_response(records: &mut [ResponseRecord], limit: usize, summary: &mut Summary) {
    const ENVELOPE: usize = r#"{"records":[]}"#.len();
    let smallest = |r: &ResponseRecord| ResponseRecord::failed_len(&r.record_id);
    let commas = records.len().saturating_sub(1);
    // Room kept so every later record can at least be answered in its smallest form.
    let mut reserve: usize = records.iter().map(smallest).sum();
    let mut used = ENVELOPE + commas;
    for r in records.iter_mut() {
        let small = smallest(r);
        reserve -= small;
        let full = r.json_len();
        if used + full + reserve <= limit {
            used += full;
        } else {
            tracing::warn!(
                record_id = %r.record_id,
                reason = "the response would exceed Firehose's 6 MB limit",
                "record failed"
            );
            summary.over_response_limit += 1;
            used += small;
            r.result = RecordResult::ProcessingFailed;
            r.data = String::new();
            r.metadata = None;
        }
    }
}
