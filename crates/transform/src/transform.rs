//! The transform of one Firehose batch: decode each record, score its text, splice the result
//! into the original bytes, and answer every record exactly once, in order, within 6 MB.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use base64_simd::STANDARD as BASE64_FAST;
use futures::stream::FuturesUnordered;
use futures::{FutureExt as _, StreamExt as _};
use serde::Serialize;
use tokio::time::Instant;

use crate::json::{Edit, JsonError, Member, ObjectRef};
use crate::language::{Identifier, LanguageDetection};
use crate::limits::FIREHOSE_MAX_RESPONSE_BYTES;
use crate::metrics::Summary;
use crate::payload;
use crate::plan::{Batch, DocTable};
use crate::record::{
    FirehoseEvent, FirehoseRecord, FirehoseResponse, RecordResult, ResponseMetadata, ResponseRecord,
};
use crate::route::{Destination, Kind};
use crate::sentiment::{Analysis, CallError, ModelUsage, Scores, Sentiment, SentimentAnalyzer};
use crate::text::{Pointer, find_text, normalize_language, truncate_chars, truncate_utf8};
use ks_kernel::concurrency::{AdaptiveLimit, Signal};
use ks_kernel::retry::{self, Decision, Ended, Limits, RetryLogic, RetryPolicy, TimedOut};

/// What to do with a record whose sentiment could not be had after retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnSentimentError {
    /// Deliver it with `{"label":null,"error":…}` in the sentiment field.
    Deliver,
    /// Answer `ProcessingFailed`, so Firehose writes it under `processing-failed/`.
    Fail,
}

impl OnSentimentError {
    /// The setting's value that chooses this.
    pub fn as_str(self) -> &'static str {
        match self {
            OnSentimentError::Deliver => "deliver",
            OnSentimentError::Fail => "fail",
        }
    }
}

/// What to do with a payload that is not a JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonJsonPolicy {
    Fail,
    PassThrough,
}

impl NonJsonPolicy {
    /// The setting's value that chooses this.
    pub fn as_str(self) -> &'static str {
        match self {
            NonJsonPolicy::Fail => "fail",
            NonJsonPolicy::PassThrough => "pass",
        }
    }
}

/// What to do with a JSON record that has no text at any pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoTextPolicy {
    Deliver,
    Drop,
}

impl NoTextPolicy {
    /// The setting's value that chooses this.
    pub fn as_str(self) -> &'static str {
        match self {
            NoTextPolicy::Deliver => "deliver",
            NoTextPolicy::Drop => "drop",
        }
    }
}

/// Everything the transform needs to know, validated (see `config`).
#[derive(Debug, Clone)]
pub struct TransformSettings {
    pub text_pointers: Vec<Pointer>,
    /// Pointers to each record's language tag, tried in order; none: every text is in
    /// `default_language`.
    pub language_pointers: Vec<Pointer>,
    pub default_language: &'static str,
    /// Whether a record without a language tag has its language identified from its text.
    pub language_detection: LanguageDetection,
    pub max_document_bytes: usize,
    /// Texts are also cut to this many characters (after the byte cap), if set.
    pub max_document_chars: Option<usize>,
    pub concurrency: usize,
    pub retry: RetryPolicy,
    pub call_timeout: Duration,
    pub on_sentiment_error: OnSentimentError,
    pub non_json: NonJsonPolicy,
    pub no_text: NoTextPolicy,
    pub field: String,
    pub partition_keys: bool,
    /// S3 objects, or Iceberg tables routed by each answer's `otfMetadata`.
    pub destination: Destination,
    /// The response ceiling; Firehose's limit unless a test wants a smaller one.
    pub max_response_bytes: usize,
}

impl Default for TransformSettings {
    fn default() -> Self {
        TransformSettings {
            text_pointers: vec![Pointer::parse("/text").expect("valid pointer")],
            language_pointers: Vec::new(),
            default_language: "en",
            language_detection: LanguageDetection::Reliable,
            max_document_bytes: crate::limits::COMPREHEND_MAX_DOCUMENT_BYTES,
            max_document_chars: None,
            concurrency: 8,
            retry: RetryPolicy::default(),
            call_timeout: Duration::from_secs(10),
            on_sentiment_error: OnSentimentError::Deliver,
            non_json: NonJsonPolicy::Fail,
            no_text: NoTextPolicy::Deliver,
            field: "sentiment".to_owned(),
            partition_keys: false,
            destination: Destination::S3,
            max_response_bytes: FIREHOSE_MAX_RESPONSE_BYTES,
        }
    }
}

/// How many records are prepared between checks for full batches to send and answers to use.
const DISPATCH_EVERY_RECORDS: usize = 64;

/// The language group of every text when the analyzer reads any language.
pub const ANY_LANGUAGE: &str = "any";

/// The partition key value for records delivered without a sentiment label.
pub const NO_LABEL_PARTITION: &str = "NONE";

/// Where Firehose writes a record when the stack partitions by the transform's keys: the
/// partition key `area` (`data` or `deletions`), beside `sentiment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// Posts (new and edited), scored.
    Data,
    /// Deletion and account records, where the purge job finds them.
    Deletions,
}

impl Area {
    pub fn as_str(self) -> &'static str {
        match self {
            Area::Data => "data",
            Area::Deletions => "deletions",
        }
    }
}

/// A record's language group, and whether it was identified from the text.
struct LanguageOf {
    code: Option<&'static str>,
    identified: bool,
}

/// The language group of a record's text: its tag's language; without a tag, the language
/// identified from the text or else the default; every text in one group for an analyzer that
/// reads any language.
fn language_of<A: SentimentAnalyzer>(
    analyzer: &A,
    settings: &TransformSettings,
    identifier: &Identifier,
    (text, obj): (&str, ObjectRef<'_>),
    found: &str,
) -> LanguageOf {
    let (code, identified) = if analyzer.any_language() {
        (Some(ANY_LANGUAGE), false)
    } else if let Some(tag) = find_text(text, obj, &settings.language_pointers) {
        (normalize_language(&tag), false)
    } else {
        match identifier.identify(found) {
            Some(language) => (Some(language), true),
            None => (Some(settings.default_language), false),
        }
    };
    LanguageOf { code, identified }
}

/// No record: the end of a waiting list.
const NONE: u32 = u32::MAX;

/// How `plan` decided a record.
enum Outcome {
    /// `ProcessingFailed`; Firehose gets the original data back.
    Fail(String),
    Drop,
    /// `Ok`, with its base64 line, its partition label and what it is (its area or table).
    Ready {
        data: String,
        label: &'static str,
        kind: Kind,
    },
    /// Waiting for document `doc`'s answer.
    Waiting(Waiting),
}

/// A record that waits for its document's answer, and the next record waiting for the same one.
struct Waiting {
    src: Range<usize>,
    edit: Edit,
    doc: usize,
    kind: Kind,
    next: u32,
}

/// A document's final answer.
enum DocResult {
    Scored(Sentiment),
    Failed(String),
}

/// A document's answer as records use it: where its field's JSON sits in `Work::fields`, and
/// its label; or why there is none.
type Answer = Result<(Range<usize>, &'static str), String>;

#[derive(Default)]
struct CallStats {
    calls: u64,
    /// Calls the service answered by throttling.
    throttled: u64,
    retries: u64,
    usage: ModelUsage,
    /// Why the analyzer cannot be used at all, once a call has said so.
    unusable: Option<String>,
}

impl CallStats {
    fn add(&mut self, other: CallStats) {
        self.calls += other.calls;
        self.throttled += other.throttled;
        self.retries += other.retries;
        self.usage.add(other.usage);
        if self.unusable.is_none() {
            self.unusable = other.unusable;
        }
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
///
/// Records are prepared in order while full batches of documents go out to the analyzer, and
/// each record is finished (spliced and encoded) as soon as its document's answer is back, so
/// little work is left once the last call returns.
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
    let mut work = Work::new(analyzer, settings, event);
    let max_batch = analyzer.max_batch_documents();
    // Shared by every call of this invocation: the configured concurrency is its ceiling.
    let limit = AdaptiveLimit::new(settings.concurrency);
    let mut calls = Dispatcher::new(settings.concurrency, |batch| {
        run_batch(analyzer, settings, batch, deadline, &limit)
    });
    for (i, r) in event.records.iter().enumerate() {
        work.prepare(r, &mut summary);
        if i % DISPATCH_EVERY_RECORDS == DISPATCH_EVERY_RECORDS - 1 {
            calls.queue(work.docs.take_full_batches(max_batch));
            let not_started = calls.queued.len();
            // The first calls overlap the preparation of later records.
            calls
                .pump(false, |doc, result| {
                    work.answer(doc, result, event, &mut summary)
                })
                .await;
            if calls.queued.len() < not_started {
                // The calls just started may be tasks queued behind this one on its worker
                // (tokio keeps the newest in a slot no other worker can take): let them send
                // their requests now rather than after every record is prepared.
                tokio::task::yield_now().await;
            }
        }
    }
    calls.queue(work.docs.take_remaining_batches(max_batch));
    calls
        .pump(true, |doc, result| {
            work.answer(doc, result, event, &mut summary)
        })
        .await;
    for (doc, result) in calls.unsent() {
        work.answer(doc, result, event, &mut summary);
    }
    // Every batch answers each of its documents; this only guards that promise.
    for doc in 0..work.docs.docs().len() {
        if work.answers[doc].is_none() {
            work.answer(
                doc,
                DocResult::Failed("no answer for this document".to_owned()),
                event,
                &mut summary,
            );
        }
    }
    // And every waiting record is finished by its document's answer; this guards that one.
    for rec in 0..work.pending.len() {
        if work.pending[rec].take().is_some() {
            work.fail(rec, "no answer for this record", &event.records[rec]);
        }
    }
    summary.deduplicated = work.docs.duplicates() as u64;
    summary.sentiment_calls = calls.stats.calls;
    if analyzer.bills_units() {
        summary.comprehend_calls = calls.stats.calls;
    }
    summary.throttled = calls.stats.throttled;
    summary.retries = calls.stats.retries;
    if calls.stats.calls > 0 {
        summary.concurrency_low = limit.low_water().0 as u64;
    }
    summary.add_usage(calls.stats.usage);
    summary.model_unusable = calls.stats.unusable.clone();

    let mut records = work.records;
    fit_response(&mut records, settings.max_response_bytes, &mut summary);
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    (FirehoseResponse { records }, summary)
}

/// Keeps up to `concurrency` calls in flight, starting queued batches as slots free up.
struct Dispatcher<S, F> {
    start: S,
    queued: VecDeque<Batch>,
    in_flight: FuturesUnordered<F>,
    concurrency: usize,
    stats: CallStats,
}

impl<S, F> Dispatcher<S, F>
where
    S: FnMut(Batch) -> F,
    F: Future<Output = (Vec<(usize, DocResult)>, CallStats)>,
{
    fn new(concurrency: usize, start: S) -> Self {
        Dispatcher {
            start,
            queued: VecDeque::new(),
            in_flight: FuturesUnordered::new(),
            concurrency: concurrency.max(1),
            stats: CallStats::default(),
        }
    }

    fn queue(&mut self, batches: impl IntoIterator<Item = Batch>) {
        self.queued.extend(batches);
    }

    /// Starts queued calls up to the concurrency limit.
    fn top_up(&mut self) {
        // An analyzer that said it cannot be used gets no further call: the batches still
        // queued are answered with its reason when the pump ends.
        while self.in_flight.len() < self.concurrency && self.stats.unusable.is_none() {
            let Some(batch) = self.queued.pop_front() else {
                break;
            };
            self.in_flight.push((self.start)(batch));
        }
    }

    /// The documents of batches never sent (their analyzer said it cannot be used), each
    /// answered with that reason.
    fn unsent(&mut self) -> Vec<(usize, DocResult)> {
        let Some(why) = self.stats.unusable.clone() else {
            return Vec::new();
        };
        self.queued
            .drain(..)
            .flat_map(|batch| batch.docs)
            .map(|doc| (doc, DocResult::Failed(format!("UNUSABLE: {why}"))))
            .collect()
    }

    /// Starts queued calls and hands every answer of the calls that have finished to `answer`;
    /// with `wait`, until no call is left.
    async fn pump(&mut self, wait: bool, mut answer: impl FnMut(usize, DocResult)) {
        loop {
            self.top_up();
            let next = if wait {
                self.in_flight.next().await
            } else {
                self.in_flight.next().now_or_never().flatten()
            };
            let Some(first) = next else {
                break;
            };
            // The next calls go out (polled once, so they start) before this batch's records
            // are finished: a free slot waits for nothing.
            self.top_up();
            let more = self.in_flight.next().now_or_never().flatten();
            for (done, stats) in std::iter::once(first).chain(more) {
                self.stats.add(stats);
                for (doc, result) in done {
                    answer(doc, result);
                }
            }
        }
    }
}

/// The records of one batch as they are prepared and finished.
struct Work<'a, A> {
    analyzer: &'a A,
    settings: &'a TransformSettings,
    /// The event says its source is Amazon MSK (`sourceMSKArn`).
    from_msk: bool,
    /// Every record's decoded payload, back to back: one allocation for the batch.
    arena: Vec<u8>,
    /// Scratch space reused from record to record: top-level members, then edited bytes.
    members: Vec<Member>,
    line: Vec<u8>,
    docs: DocTable,
    /// The language of records without a tag.
    identifier: Identifier,
    /// Per document: its answer once known, and the first record waiting for it.
    answers: Vec<Option<Answer>>,
    waiting: Vec<u32>,
    /// Every scored document's sentiment field, back to back.
    fields: Vec<u8>,
    /// The response, in input order: each record is answered in place as soon as it can be,
    /// so nothing is left to build once the last call returns.
    records: Vec<ResponseRecord>,
    /// Per record: what it waits for, if anything.
    pending: Vec<Option<Waiting>>,
}

impl<'a, A: SentimentAnalyzer> Work<'a, A> {
    fn new(analyzer: &'a A, settings: &'a TransformSettings, event: &FirehoseEvent) -> Self {
        let decoded: usize = event
            .records
            .iter()
            .map(|r| {
                r.payload(event.from_msk())
                    .0
                    .map_or(0, |d| d.len() / 4 * 3 + 3)
            })
            .sum();
        Work {
            analyzer,
            settings,
            from_msk: event.from_msk(),
            arena: Vec::with_capacity(decoded),
            members: Vec::new(),
            line: Vec::new(),
            docs: DocTable::default(),
            identifier: Identifier::new(analyzer, settings.language_detection),
            answers: Vec::new(),
            waiting: Vec::new(),
            fields: Vec::new(),
            records: Vec::with_capacity(event.records.len()),
            pending: Vec::with_capacity(event.records.len()),
        }
    }

    /// Decides the next record's fate, or queues its text and waits for the answer.
    fn prepare(&mut self, input: &FirehoseRecord, summary: &mut Summary) {
        let (data, field) = input.payload(self.from_msk);
        let outcome = self.plan(data, summary);
        let rec = self.records.len();
        self.records.push(ResponseRecord {
            record_id: input.record_id.clone(),
            result: RecordResult::Ok,
            data: String::new(),
            metadata: None,
            field,
        });
        self.pending.push(None);
        match outcome {
            Outcome::Fail(reason) => self.fail(rec, &reason, input),
            Outcome::Drop => self.records[rec].result = RecordResult::Dropped,
            Outcome::Ready { data, label, kind } => self.ready(rec, data, label, kind),
            Outcome::Waiting(mut waiting) => {
                let doc = waiting.doc;
                if self.answers[doc].is_some() {
                    // A repeat of a text already answered: finish it now.
                    self.finish(rec, waiting, input, summary);
                } else {
                    waiting.next = std::mem::replace(&mut self.waiting[doc], rec as u32);
                    self.pending[rec] = Some(waiting);
                }
            }
        }
    }

    /// Answers `rec` `Ok` with `data`, and the metadata that says where it goes: partition
    /// keys if asked for, the Iceberg table and operation on an Iceberg stack.
    fn ready(&mut self, rec: usize, data: String, label: &'static str, kind: Kind) {
        let settings = self.settings;
        let r = &mut self.records[rec];
        r.data = data;
        let partition_keys = if settings.partition_keys {
            BTreeMap::from([
                ("area".to_owned(), kind.area().as_str().to_owned()),
                ("sentiment".to_owned(), label.to_owned()),
            ])
        } else {
            BTreeMap::new()
        };
        let otf_metadata = match &settings.destination {
            Destination::S3 => None,
            Destination::Iceberg(tables) => Some(tables.route(kind)),
        };
        if !partition_keys.is_empty() || otf_metadata.is_some() {
            r.metadata = Some(ResponseMetadata {
                partition_keys,
                otf_metadata,
            });
        }
    }

    /// Answers `rec` `ProcessingFailed`: Firehose gets the original payload back, in canonical
    /// base64, or nothing if it could not be read as base64 (an answer is never invalid).
    fn fail(&mut self, rec: usize, reason: &str, input: &FirehoseRecord) {
        tracing::warn!(record_id = %input.record_id, reason = %reason, "record failed");
        let r = &mut self.records[rec];
        r.result = RecordResult::ProcessingFailed;
        r.data = echo(input.payload(self.from_msk).0);
    }

    fn plan(&mut self, data: Option<&str>, summary: &mut Summary) -> Outcome {
        let settings = self.settings;
        let Some(data) = data else {
            return Outcome::Fail("the record has no data (or kafkaRecordValue) string".to_owned());
        };
        let start = self.arena.len();
        if let Err(why) = payload::decode_append(data, &mut self.arena) {
            return Outcome::Fail(format!("data is not valid base64: {why}"));
        }
        let src = start..self.arena.len();
        if payload::is_gzip(&self.arena[src.clone()]) {
            return self.non_json(payload::GZIP_REASON.to_owned(), src, summary);
        }
        let Ok(text) = simdutf8::basic::from_utf8(&self.arena[src.clone()]) else {
            let valid = std::str::from_utf8(&self.arena[src.clone()])
                .err()
                .map_or(0, |e| e.valid_up_to());
            let why = format!("payload is not valid UTF-8 (byte {valid})");
            return self.non_json(why, src, summary);
        };
        let obj = match ObjectRef::parse(text, &mut self.members) {
            Ok(o) => o,
            Err(e @ JsonError::TooDeep { .. }) => return Outcome::Fail(format!("payload {e}")),
            Err(e) => return self.non_json(format!("payload {e}"), src, summary),
        };
        let kind = match record_kind(&settings.destination, text, &obj) {
            Ok(kind) => kind,
            Err(why) => return Outcome::Fail(why),
        };
        if kind.is_deletion() {
            summary.deletions += 1;
            return self.deliver_json(src, kind);
        }
        let Some(found) = find_text(text, obj, &settings.text_pointers) else {
            summary.no_text += 1;
            return match settings.no_text {
                NoTextPolicy::Deliver => self.deliver_json(src, kind),
                NoTextPolicy::Drop => Outcome::Drop,
            };
        };
        // The text as the analyzer will read it: identification reads no more than that.
        let document = cut(&found, settings);
        let language = language_of(
            self.analyzer,
            settings,
            &self.identifier,
            (text, obj),
            document,
        );
        if language.identified {
            summary.languages_identified += 1;
        }
        let language = language.code;
        let Some(language) = language.filter(|l| self.analyzer.supports_language(l)) else {
            summary.unsupported_language += 1;
            return self.deliver_json(src, kind);
        };
        let edit = obj.edit(text, &settings.field);
        let doc = self.docs.intern(language, document);
        if doc == self.answers.len() {
            self.answers.push(None);
            self.waiting.push(NONE);
        }
        Outcome::Waiting(Waiting {
            src,
            edit,
            doc,
            kind,
            next: NONE,
        })
    }

    fn non_json(&mut self, why: String, src: Range<usize>, summary: &mut Summary) -> Outcome {
        // An Iceberg table takes JSON rows only: such a payload is failed whatever the policy.
        let iceberg = matches!(self.settings.destination, Destination::Iceberg(_));
        match self.settings.non_json {
            NonJsonPolicy::Fail => Outcome::Fail(why),
            NonJsonPolicy::PassThrough if iceberg => Outcome::Fail(why),
            NonJsonPolicy::PassThrough => {
                summary.passed_through += 1;
                self.pass_through(src)
            }
        }
    }

    /// A JSON payload unchanged but for its line breaks, as one line, routed as `kind`.
    fn deliver_json(&mut self, src: Range<usize>, kind: Kind) -> Outcome {
        if !has_line_breaks(&self.arena[src.clone()]) {
            return self.deliver(src, kind);
        }
        self.line.clear();
        self.line.extend_from_slice(&self.arena[src]);
        remove_line_breaks(&mut self.line);
        Outcome::Ready {
            data: encode_line(&self.line),
            label: NO_LABEL_PARTITION,
            kind,
        }
    }

    /// A payload that is not a JSON object, byte for byte as it came: nothing appended, so
    /// text, gzip and other binary payloads reach the destination as they were sent.
    fn pass_through(&mut self, src: Range<usize>) -> Outcome {
        Outcome::Ready {
            data: BASE64_FAST.encode_to_string(&self.arena[src]),
            label: NO_LABEL_PARTITION,
            kind: Kind::Post,
        }
    }

    /// A JSON payload unchanged (it has no line break), as one NDJSON line, routed as `kind`.
    fn deliver(&mut self, src: Range<usize>, kind: Kind) -> Outcome {
        Outcome::Ready {
            data: encode_line(&self.arena[src]),
            label: NO_LABEL_PARTITION,
            kind,
        }
    }

    /// The analyzer's name for the model that scores `doc`'s language.
    fn model(&self, doc: usize) -> &'a str {
        let analyzer = self.analyzer;
        analyzer.model_for(self.docs.docs()[doc].language)
    }

    /// Takes in a document's answer and finishes every record waiting for it.
    fn answer(
        &mut self,
        doc: usize,
        result: DocResult,
        event: &FirehoseEvent,
        summary: &mut Summary,
    ) {
        let answer = match result {
            DocResult::Scored(s) => {
                summary.texts_analysed += 1;
                if self.analyzer.bills_units() {
                    summary.billed_units += self.docs.docs()[doc].units();
                }
                let label = s.label.as_str();
                let field = SentimentField {
                    label,
                    scores: s.scores,
                    model: self.model(doc),
                };
                // Serialised once however many records share the document.
                let start = self.fields.len();
                serde_json::to_writer(&mut self.fields, &field).expect("serialising plain data");
                Ok((start..self.fields.len(), label))
            }
            DocResult::Failed(why) => {
                summary.sentiment_errors += 1;
                Err(why)
            }
        };
        self.answers[doc] = Some(answer);
        let mut rec = std::mem::replace(&mut self.waiting[doc], NONE);
        while rec != NONE {
            let r = rec as usize;
            let waiting = self.pending[r]
                .take()
                .expect("a record in a waiting list is waiting");
            rec = waiting.next;
            self.finish(r, waiting, &event.records[r], summary);
        }
    }

    /// Splices its document's answer into a waiting record.
    fn finish(
        &mut self,
        rec: usize,
        waiting: Waiting,
        input: &FirehoseRecord,
        summary: &mut Summary,
    ) {
        let Waiting {
            src,
            edit,
            doc,
            kind,
            ..
        } = waiting;
        let settings = self.settings;
        let answer = self.answers[doc]
            .as_ref()
            .expect("finished after its answer");
        // The field to add, and the partition label that goes with it.
        let marker;
        let (value, label): (&[u8], &'static str) = match answer {
            Ok((field, label)) => {
                *summary.labels.entry(label).or_default() += 1;
                (&self.fields[field.clone()], label)
            }
            Err(why) => match settings.on_sentiment_error {
                OnSentimentError::Fail => {
                    let reason = format!("no sentiment: {why}");
                    self.fail(rec, &reason, input);
                    return;
                }
                OnSentimentError::Deliver => {
                    marker = serde_json::to_vec(&SentimentErrorField {
                        label: None,
                        error: why,
                        model: self.model(doc),
                    })
                    .expect("serialising plain data");
                    (&marker, NO_LABEL_PARTITION)
                }
            },
        };
        // The payload as validated when the edit was planned.
        self.line.clear();
        edit.write(&self.arena[src], &settings.field, value, &mut self.line);
        remove_line_breaks(&mut self.line);
        let data = encode_line(&self.line);
        self.ready(rec, data, label, kind);
    }
}

/// What a JSON record is. On an S3 stack an `op` of no known kind is a post, as it always
/// was; on an Iceberg stack it fails, as does a record without its table's key, since
/// neither can be routed to a row.
fn record_kind(destination: &Destination, text: &str, obj: &ObjectRef<'_>) -> Result<Kind, String> {
    let iceberg = matches!(destination, Destination::Iceberg(_));
    let kind = match Kind::of(text, obj) {
        Ok(kind) => kind,
        Err(_) if !iceberg => Kind::Post,
        Err(op) => {
            return Err(format!(
                "its \"op\" is {op}: an Iceberg stack routes only none, \"create\", \"update\", \"delete\" and \"account\""
            ));
        }
    };
    if iceberg {
        kind.check_key(text, obj)?;
    }
    Ok(kind)
}

/// One batch, retried on retryable failures (whole-call or per-document) until it is answered,
/// attempts run out, or the deadline is near.
async fn run_batch<A: SentimentAnalyzer>(
    analyzer: &A,
    settings: &TransformSettings,
    batch: Batch,
    deadline: Instant,
    limit: &AdaptiveLimit,
) -> (Vec<(usize, DocResult)>, CallStats) {
    let (answered, stats) = score_texts(
        analyzer,
        settings,
        batch.language,
        &batch.texts,
        deadline,
        limit,
    )
    .await;
    let answered = answered
        .into_iter()
        .map(|(pos, r)| (batch.docs[pos], r))
        .collect();
    (answered, stats)
}

/// One batch's documents as the retry driver runs them: the work is the positions still
/// without an answer.
struct ScoreLogic<'a, A> {
    analyzer: &'a A,
    language: &'static str,
    texts: &'a [Arc<str>],
    /// The invocation's adaptive concurrency limit for this analyzer.
    limit: &'a AdaptiveLimit,
    answered: Vec<(usize, DocResult)>,
    /// Remote calls made, and those answered by throttling.
    calls: u64,
    throttled: u64,
    usage: ModelUsage,
    unusable: Option<String>,
}

impl<A: SentimentAnalyzer> RetryLogic for ScoreLogic<'_, A> {
    type Work = Vec<usize>;
    type Answer = Analysis;
    type Error = String;

    async fn attempt(&mut self, pending: &Vec<usize>) -> Analysis {
        let texts: Vec<&str> = pending.iter().map(|&pos| &*self.texts[pos]).collect();
        if !self.analyzer.is_remote() {
            return self.analyzer.analyze(self.language, &texts).await;
        }
        // A call cut by its time limit drops the permit unanswered: it teaches the limit
        // nothing.
        let permit = self.limit.acquire().await;
        self.calls += 1;
        let analysis = self.analyzer.analyze(self.language, &texts).await;
        let signal = match &analysis.outcome {
            Ok(_) => Signal::Healthy,
            Err(CallError::Throttled(_)) => {
                self.throttled += 1;
                Signal::Throttled
            }
            Err(_) => Signal::Neutral,
        };
        permit.done(signal);
        analysis
    }

    fn decide(
        &mut self,
        pending: &Vec<usize>,
        answer: Result<Analysis, TimedOut>,
    ) -> Decision<Vec<usize>, String> {
        let outcome = match answer {
            Ok(analysis) => {
                self.usage.add(analysis.usage);
                analysis.outcome
            }
            Err(t) => Err(CallError::Timeout(t.millis())),
        };
        match outcome {
            Ok(per_doc) if per_doc.len() == pending.len() => self.per_document(pending, per_doc),
            Ok(per_doc) => Decision::GiveUp(format!(
                "analyzer answered {} results for {} documents",
                per_doc.len(),
                pending.len()
            )),
            Err(CallError::Unusable(why)) => {
                let give_up = format!("UNUSABLE: {why}");
                self.unusable = Some(why);
                Decision::GiveUp(give_up)
            }
            // Throttling, a timeout, a 5xx: the service pushed back, which says nothing against
            // these documents, so only the deadline bounds the retries.
            Err(e) if e.is_retryable() => {
                tracing::debug!(error = %e, language = self.language, "sentiment call failed, will retry");
                Decision::RetryWhileTime(pending.clone(), format!("{}: {e}", e.code()))
            }
            Err(e) => Decision::GiveUp(format!("{}: {e}", e.code())),
        }
    }
}

impl<A> ScoreLogic<'_, A> {
    /// Keeps each document's answer and decides what is sent again: a document the service
    /// failed on its side is retried while time remains; one whose answer was not valid (a
    /// model's malformed answer) is asked again at most `max_attempts` times in all.
    fn per_document(
        &mut self,
        pending: &[usize],
        per_doc: Vec<Result<Sentiment, crate::sentiment::DocError>>,
    ) -> Decision<Vec<usize>, String> {
        let mut retry = Vec::new();
        let mut last = String::new();
        let mut reask = false;
        for (&pos, r) in pending.iter().zip(per_doc) {
            match r {
                Ok(s) => self.answered.push((pos, DocResult::Scored(s))),
                Err(e) if e.retryable => {
                    reask |= !e.service_failure;
                    last = format!("{}: {}", e.code, e.message);
                    retry.push(pos);
                }
                Err(e) => self
                    .answered
                    .push((pos, DocResult::Failed(format!("{}: {}", e.code, e.message)))),
            }
        }
        match (retry.is_empty(), reask) {
            (true, _) => Decision::Done,
            (false, true) => Decision::RetryPartial(retry, last),
            (false, false) => Decision::RetryWhileTime(retry, last),
        }
    }
}

/// Answers for `texts`, by position: retried on retryable failures (whole-call or
/// per-document) until each is answered, attempts run out, or the deadline is near.
async fn score_texts<A: SentimentAnalyzer>(
    analyzer: &A,
    settings: &TransformSettings,
    language: &'static str,
    texts: &[Arc<str>],
    deadline: Instant,
    limit: &AdaptiveLimit,
) -> (Vec<(usize, DocResult)>, CallStats) {
    let mut logic = ScoreLogic {
        analyzer,
        language,
        texts,
        limit,
        answered: Vec::with_capacity(texts.len()),
        calls: 0,
        throttled: 0,
        usage: ModelUsage::default(),
        unusable: None,
    };
    let limits = Limits {
        policy: &settings.retry,
        deadline,
        attempt_timeout: Some(settings.call_timeout),
    };
    let mut rng = fastrand::Rng::new();
    let report = retry::run(&mut logic, (0..texts.len()).collect(), limits, &mut rng).await;
    let stats = CallStats {
        calls: logic.calls,
        throttled: logic.throttled,
        retries: u64::from(report.retries()),
        usage: logic.usage,
        unusable: logic.unusable.take(),
    };
    let (unanswered, why) = match report.ended {
        Ended::Done => (Vec::new(), String::new()),
        Ended::GaveUp { work, error } => (work, error),
        Ended::Exhausted { work, last } | Ended::WaitTooLong { work, last, .. } => {
            let why = format!(
                "gave up after {} attempts ({} left before the deadline): {last}",
                report.attempts,
                ms_left(deadline)
            );
            (work, why)
        }
        Ended::OutOfTime { work, last } => {
            let why = match last {
                Some(last) => format!(
                    "deadline reached before sentiment could be had, after {} attempts: {last}",
                    report.attempts
                ),
                None => "deadline reached before sentiment could be had".to_owned(),
            };
            (work, why)
        }
    };
    let mut answered = logic.answered;
    answered.extend(
        unanswered
            .into_iter()
            .map(|pos| (pos, DocResult::Failed(why.clone()))),
    );
    (answered, stats)
}

/// What a `ProcessingFailed` answer hands back: the payload in canonical base64, or nothing.
fn echo(data: Option<&str>) -> String {
    data.and_then(payload::canonical).unwrap_or_default()
}

/// The time left before `deadline`, for a give-up reason.
fn ms_left(deadline: Instant) -> String {
    format!(
        "{} ms",
        deadline
            .saturating_duration_since(Instant::now())
            .as_millis()
    )
}

/// The part of a text that is sent: the byte cap first, then the character cap if set.
fn cut<'t>(text: &'t str, settings: &TransformSettings) -> &'t str {
    let text = truncate_utf8(text, settings.max_document_bytes);
    match settings.max_document_chars {
        Some(max) => truncate_chars(text, max),
        None => text,
    }
}

/// Whether `bytes` hold a `\n` or `\r`.
fn has_line_breaks(bytes: &[u8]) -> bool {
    memchr::memchr2(b'\n', b'\r', bytes).is_some()
}

/// Removes every `\n` and `\r` from a validated JSON text, so the record is one NDJSON line.
/// JSON strings cannot hold these bytes raw (they must be escaped), so each one is white space
/// between tokens: removing it changes nothing else, byte for byte.
fn remove_line_breaks(json: &mut Vec<u8>) {
    if has_line_breaks(json) {
        json.retain(|&b| b != b'\n' && b != b'\r');
    }
}

/// Base64 of `bytes` ending in exactly one added `\n` (none if it already ends with one):
/// Firehose writes records back to back, so the newline is what makes the object NDJSON.
fn encode_line(bytes: &[u8]) -> String {
    let newline = bytes.last() != Some(&b'\n');
    let whole = bytes.len() / 3 * 3;
    let mut out = String::with_capacity(BASE64_FAST.encoded_length(bytes.len() + 1));
    BASE64_FAST.encode_append(&bytes[..whole], &mut out);
    // The last one or two bytes and the newline are encoded together, so no copy of the
    // payload is made just to append one byte.
    let mut tail = [0u8; 3];
    let rest = &bytes[whole..];
    tail[..rest.len()].copy_from_slice(rest);
    let mut n = rest.len();
    if newline {
        tail[n] = b'\n';
        n += 1;
    }
    BASE64_FAST.encode_append(&tail[..n], &mut out);
    out
}

/// Keeps the serialised response within `limit`: records that would not fit, in order, are
/// answered `ProcessingFailed` with empty data, so Firehose routes their original bytes to the
/// error prefix instead of failing the whole invocation.
fn fit_response(records: &mut [ResponseRecord], limit: usize, summary: &mut Summary) {
    const ENVELOPE: usize = r#"{"records":[]}"#.len();
    // Ok records carry our own base64 lines, which JSON never escapes; only the input handed
    // back by failed records needs measuring.
    let lens: Vec<(usize, usize)> = records
        .iter()
        .map(|r| r.json_lens(r.result == RecordResult::Ok))
        .collect();
    let commas = records.len().saturating_sub(1);
    // Room kept so every later record can at least be answered in its smallest form.
    let mut reserve: usize = lens.iter().map(|&(small, _)| small).sum();
    let mut used = ENVELOPE + commas;
    for (r, (small, full)) in records.iter_mut().zip(lens) {
        reserve -= small;
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
        match r.result {
            RecordResult::Ok => summary.ok += 1,
            RecordResult::Dropped => summary.dropped += 1,
            RecordResult::ProcessingFailed => summary.failed += 1,
        }
    }
}
