//! A local Firehose delivery stream with a Kinesis source and a Lambda processor: it reads the
//! shards in order, de-aggregates KPL records, buffers by the Lambda buffering hints, invokes the
//! processor with a real Firehose event, holds the response to Firehose's contract, and writes
//! objects and error records with Firehose's layout.
//! <https://docs.aws.amazon.com/firehose/latest/dev/data-transformation.html>

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use ks_kernel::retry::{self, Decision, Ended, Limits, RetryLogic, RetryPolicy, TimedOut};
use ks_producer::kpl::{deaggregate, is_aggregated};
use ks_transform::record::{
    FirehoseEvent, FirehoseRecord, KinesisRecordMetadata, MskRecordMetadata, PayloadField,
    RecordResult,
};
use ks_transform::sentiment::SentimentAnalyzer;
use ks_transform::transform::{TransformSettings, transform};

use crate::bucket::{LocalBucket, Output, object_key};
use crate::iceberg::{self, IcebergDestination, OtfMetadata, Warehouse};
use crate::output::{Destination, OutputFormat, write_delivered};
// Re-exported where the engine's other traits are, which callers name them by.
pub use crate::bucket::ObjectStore;
pub use crate::output::ErrorRecord;
use crate::stream::{LocalStream, StreamRecord};

/// Request and response of one synchronous Lambda invocation are each limited to 6 MB.
/// <https://docs.aws.amazon.com/firehose/latest/dev/data-transformation.html>
pub const MAX_INVOCATION_BYTES: usize = ks_transform::limits::FIREHOSE_MAX_RESPONSE_BYTES;
/// The Lambda buffering size hint's default (1 MB; the hint ranges 0.2–3 MB).
pub const DEFAULT_BUFFER_BYTES: usize = 1024 * 1024;
/// The Lambda buffering interval hint's default (60 s; the hint ranges 0–900 s).
pub const DEFAULT_BUFFER_INTERVAL: Duration = Duration::from_secs(60);
/// Firehose retries a failed invocation three times by default, then gives up on the batch.
/// <https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-failure-handling.html>
pub const DEFAULT_RETRIES: u32 = 3;
/// The backoff between those attempts: capped exponential with full jitter, as AWS services
/// back off. The first retry waits up to this long; each next one up to twice as long.
pub const DEFAULT_RETRY_BACKOFF_BASE: Duration = Duration::from_secs(1);
/// No wait between attempts is longer than this.
pub const DEFAULT_RETRY_BACKOFF_CAP: Duration = Duration::from_secs(10);
/// Records one GetRecords call returns at most.
/// <https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetRecords.html>
pub const GET_RECORDS_MAX: usize = 10_000;

/// Error codes written to `processing-failed/`.
pub mod codes {
    /// The function answered the record `ProcessingFailed`.
    pub const PROCESSING_FAILED: &str = "Lambda.ProcessingFailed";
    /// Every attempt of the invocation failed (error, timeout).
    pub const FUNCTION_ERROR: &str = "Lambda.FunctionError";
    /// Every attempt answered a response that breaks the contract (ids, results, data).
    pub const INVALID_RESPONSE: &str = "Lambda.InvalidResponse";
    /// Every attempt answered more than 6 MB.
    pub const RESPONSE_TOO_LARGE: &str = "Lambda.ResponseTooLarge";
    /// The Kinesis record looked KPL-aggregated but could not be de-aggregated.
    pub const DEAGGREGATION_FAILED: &str = "Kinesis.DeaggregationFailed";
}

/// An invocation that failed as a whole (the function errored or timed out).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvokeError(pub String);

/// Invokes the transform: request and response are the JSON bytes on the wire.
pub trait Processor {
    fn invoke(&self, request: Vec<u8>) -> impl Future<Output = Result<Vec<u8>, InvokeError>>;
}

/// Where the delivery stream reads from: a Kinesis stream's shards, in order within a shard.
pub trait ShardReader {
    /// The stream's shard ids.
    fn shard_ids(&self) -> impl Future<Output = io::Result<Vec<String>>>;
    /// The next records of `shard` after sequence number `after` (from the oldest when `None`),
    /// at most [`GET_RECORDS_MAX`]; empty when there is nothing new.
    fn read(
        &self,
        shard: &str,
        after: Option<&str>,
    ) -> impl Future<Output = io::Result<Vec<StreamRecord>>>;
}

impl ShardReader for LocalStream {
    async fn shard_ids(&self) -> io::Result<Vec<String>> {
        Ok(LocalStream::shard_ids(self))
    }

    async fn read(&self, shard: &str, after: Option<&str>) -> io::Result<Vec<StreamRecord>> {
        Ok(self.read_after(shard, after, GET_RECORDS_MAX))
    }
}

/// The transform's core logic, called in-process with the bytes a Lambda would get.
pub struct InProcess<A> {
    pub analyzer: A,
    pub settings: TransformSettings,
    /// The function timeout: the transform's deadline.
    pub timeout: Duration,
}

impl<A: SentimentAnalyzer> Processor for InProcess<A> {
    async fn invoke(&self, request: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
        let event: FirehoseEvent = serde_json::from_slice(&request)
            .map_err(|e| InvokeError(format!("the event does not parse: {e}")))?;
        let deadline = tokio::time::Instant::now() + self.timeout;
        let (response, _) = transform(&self.analyzer, &self.settings, &event, deadline).await;
        serde_json::to_vec(&response)
            .map_err(|e| InvokeError(format!("the response does not serialise: {e}")))
    }
}

/// How a response breaks Firehose's contract; any of these fails the whole batch.
/// <https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-status-model.html>
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractViolation {
    #[error("the response is {bytes} bytes; the limit is {MAX_INVOCATION_BYTES}")]
    TooLarge { bytes: usize },
    #[error("the response is not a JSON object with a records array: {0}")]
    Malformed(String),
    #[error("the response has {got} records for {expected} sent")]
    WrongCount { expected: usize, got: usize },
    #[error(
        "response record {index} has recordId {got:?}, expected {expected:?} (same ids, same order)"
    )]
    WrongId {
        index: usize,
        expected: String,
        got: String,
    },
    #[error("response record {index} has result {got}, not Ok, Dropped or ProcessingFailed")]
    BadResult { index: usize, got: String },
    #[error("response record {index} has no base64 data: {reason}")]
    BadData { index: usize, reason: String },
}

impl ContractViolation {
    pub fn code(&self) -> &'static str {
        match self {
            ContractViolation::TooLarge { .. } => codes::RESPONSE_TOO_LARGE,
            _ => codes::INVALID_RESPONSE,
        }
    }
}

/// The value of the partition key `area` that sends a record to [`DELETIONS_PREFIX`].
pub const DELETIONS_AREA: &str = "deletions";

/// One record of a valid response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    pub result: RecordResult,
    /// The decoded data (empty for a record not delivered).
    pub data: Vec<u8>,
    /// `metadata.partitionKeys.area`, where the transform set it.
    pub area: Option<String>,
    /// `metadata.otfMetadata` (Iceberg routing): `None` when absent, an error when malformed.
    pub otf: Option<Result<OtfMetadata, String>>,
}

/// What one buffer delivers, by area, or (Iceberg mode) by table.
#[derive(Debug, Default)]
struct Delivered {
    data: Vec<u8>,
    deletions: Vec<u8>,
    tables: BTreeMap<iceberg::TableId, Vec<iceberg::RowOp>>,
}

/// Checks a response against the request's record ids; on success, each record's result,
/// decoded data and area, in order.
pub fn check_response(ids: &[String], body: &[u8]) -> Result<Vec<Answered>, ContractViolation> {
    check_response_in(ids, body, PayloadField::Data)
}

/// [`check_response`] for a source whose answers carry the payload in `field`
/// (`kafkaRecordValue` for an Amazon MSK source: `data` there breaks the contract).
pub fn check_response_in(
    ids: &[String],
    body: &[u8],
    field: PayloadField,
) -> Result<Vec<Answered>, ContractViolation> {
    if body.len() > MAX_INVOCATION_BYTES {
        return Err(ContractViolation::TooLarge { bytes: body.len() });
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ContractViolation::Malformed(e.to_string()))?;
    let records = value
        .get("records")
        .and_then(|r| r.as_array())
        .ok_or_else(|| ContractViolation::Malformed("no records array".to_owned()))?;
    if records.len() != ids.len() {
        return Err(ContractViolation::WrongCount {
            expected: ids.len(),
            got: records.len(),
        });
    }
    let mut out = Vec::with_capacity(ids.len());
    for (index, (r, id)) in records.iter().zip(ids).enumerate() {
        let got = r
            .get("recordId")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        if got != id {
            return Err(ContractViolation::WrongId {
                index,
                expected: id.clone(),
                got: got.to_owned(),
            });
        }
        let result = match r.get("result").and_then(|v| v.as_str()) {
            Some("Ok") => RecordResult::Ok,
            Some("Dropped") => RecordResult::Dropped,
            Some("ProcessingFailed") => RecordResult::ProcessingFailed,
            other => {
                let got = other.map_or_else(|| "missing".to_owned(), |s| format!("{s:?}"));
                return Err(ContractViolation::BadResult { index, got });
            }
        };
        let data = match r.get(field.as_str()) {
            Some(serde_json::Value::String(s)) => {
                BASE64.decode(s).map_err(|e| ContractViolation::BadData {
                    index,
                    reason: e.to_string(),
                })?
            }
            // A dropped or failed record's data is never used.
            None if result != RecordResult::Ok => Vec::new(),
            _ => {
                return Err(ContractViolation::BadData {
                    index,
                    reason: format!("{} is missing or not a string", field.as_str()),
                });
            }
        };
        let area = r
            .pointer("/metadata/partitionKeys/area")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        let otf = iceberg::route::parse(r);
        out.push(Answered {
            result,
            data,
            area,
            otf,
        });
    }
    Ok(out)
}

/// The delivery stream's settings.
#[derive(Debug, Clone)]
pub struct FirehoseSettings {
    /// The delivery stream's name, which object names start with.
    pub delivery_stream: String,
    pub buffer_bytes: usize,
    pub buffer_interval: Duration,
    pub retries: u32,
    /// The backoff's first ceiling and its cap (zero: back to back).
    pub retry_backoff: (Duration, Duration),
    pub lambda_arn: String,
    pub region: String,
    pub account: String,
    /// JSON as delivered, or record format conversion to Parquet.
    pub output_format: OutputFormat,
    /// Set: the source is shaped as an Amazon MSK cluster with this ARN. Each invocation event
    /// then carries `sourceMSKArn`, each record its payload in `kafkaRecordValue` with
    /// `mskRecordMetadata` (the shard's index as `partitionId`, the record's position in its
    /// shard as `offset`), and an answer must carry `kafkaRecordValue`, as Firehose requires.
    pub msk_cluster_arn: Option<String>,
    /// Set: the destination is Apache Iceberg tables (records routed by `otfMetadata`)
    /// instead of the bucket; the bucket keeps the error output.
    pub iceberg: Option<IcebergDestination>,
}

impl FirehoseSettings {
    pub fn new(delivery_stream: &str) -> Self {
        FirehoseSettings {
            delivery_stream: delivery_stream.to_owned(),
            buffer_bytes: DEFAULT_BUFFER_BYTES,
            buffer_interval: DEFAULT_BUFFER_INTERVAL,
            retries: DEFAULT_RETRIES,
            retry_backoff: (DEFAULT_RETRY_BACKOFF_BASE, DEFAULT_RETRY_BACKOFF_CAP),
            lambda_arn: "arn:aws:lambda:us-east-1:000000000000:function:firehose-transform:$LATEST"
                .to_owned(),
            region: "us-east-1".to_owned(),
            account: "000000000000".to_owned(),
            output_format: OutputFormat::Json,
            msk_cluster_arn: None,
            iceberg: None,
        }
    }

    /// The field answers carry payloads in, for this source.
    pub fn payload_field(&self) -> PayloadField {
        if self.msk_cluster_arn.is_some() {
            PayloadField::KafkaRecordValue
        } else {
            PayloadField::Data
        }
    }

    /// What writing a buffer needs of these settings.
    pub fn destination(&self) -> Destination<'_> {
        Destination {
            delivery_stream: &self.delivery_stream,
            output_format: self.output_format,
            region: &self.region,
            account: &self.account,
            output: Output::Delivered,
        }
    }

    /// How a failed invocation is tried again: `retries` more times, after a backoff.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1 + self.retries,
            base: self.retry_backoff.0,
            cap: self.retry_backoff.1,
        }
    }
}

/// What the delivery stream did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FirehoseStats {
    /// User records read from the stream (after de-aggregation).
    pub records_in: u64,
    /// Kinesis records read (an aggregated one counts once).
    pub kinesis_records: u64,
    pub invocations: u64,
    pub attempts: u64,
    /// Invocations that failed on every attempt; their records went to the error prefix.
    pub failed_batches: u64,
    pub ok: u64,
    pub dropped: u64,
    /// Records answered ProcessingFailed.
    pub processing_failed: u64,
    /// Records of failed batches.
    pub batch_failed: u64,
    pub deaggregation_failed: u64,
    /// Records Parquet conversion refused (in `format-conversion-failed/`).
    pub conversion_failed: u64,
    pub objects: u64,
    pub error_objects: u64,
    pub bytes_delivered: u64,
    /// Iceberg mode: snapshots committed, rows written and removed, records refused.
    pub iceberg_commits: u64,
    pub iceberg_rows_added: u64,
    pub iceberg_rows_removed: u64,
    pub iceberg_failed: u64,
    /// Iceberg mode: re-delivered records a table already held.
    pub iceberg_skipped: u64,
    /// Times the delivery stream started over from its checkpoints ([`LocalFirehose::restart`]).
    pub restarts: u64,
}

impl FirehoseStats {
    /// Records that ended under an error prefix.
    pub fn failed(&self) -> u64 {
        self.processing_failed
            + self.batch_failed
            + self.deaggregation_failed
            + self.conversion_failed
            + self.iceberg_failed
    }
}

/// The delivery stream: call [`LocalFirehose::poll`] as the stream fills, [`LocalFirehose::flush`] at the end.
pub struct LocalFirehose<'a, P, B = LocalBucket> {
    settings: FirehoseSettings,
    processor: &'a P,
    bucket: &'a B,
    /// Per shard, the sequence number of the last Kinesis record read into the buffer.
    read: BTreeMap<String, String>,
    /// Per shard, the sequence number of the last Kinesis record whose user records are all
    /// written to the bucket: where a restart resumes (the checkpoint).
    delivered: BTreeMap<String, String>,
    buffer: Vec<FirehoseRecord>,
    buffered_bytes: usize,
    buffer_started: Option<Instant>,
    errors: Vec<ErrorRecord>,
    stats: FirehoseStats,
    /// With an MSK-shaped source: per shard (partition), the next record's offset.
    msk_offsets: BTreeMap<String, u64>,
    /// Iceberg mode: the tables (opened at the first flush), the shard of every buffered
    /// record (by record id), and the records the tables refused.
    warehouse: Option<Warehouse>,
    origins: HashMap<String, std::sync::Arc<str>>,
    iceberg_errors: Vec<ErrorRecord>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl<'a, P: Processor, B: ObjectStore> LocalFirehose<'a, P, B> {
    pub fn new(settings: FirehoseSettings, processor: &'a P, bucket: &'a B) -> Self {
        LocalFirehose {
            settings,
            processor,
            bucket,
            read: BTreeMap::new(),
            delivered: BTreeMap::new(),
            buffer: Vec::new(),
            buffered_bytes: 0,
            buffer_started: None,
            errors: Vec::new(),
            stats: FirehoseStats::default(),
            msk_offsets: BTreeMap::new(),
            warehouse: None,
            origins: HashMap::new(),
            iceberg_errors: Vec::new(),
        }
    }

    pub fn stats(&self) -> &FirehoseStats {
        &self.stats
    }

    /// Resumes after the given per-shard sequence numbers (a checkpoint read back).
    pub fn resume(&mut self, checkpoints: BTreeMap<String, String>) {
        self.read.clone_from(&checkpoints);
        self.delivered = checkpoints;
    }

    /// Per shard, the last sequence number whose records are all in the bucket.
    pub fn checkpoints(&self) -> &BTreeMap<String, String> {
        &self.delivered
    }

    /// Starts over as a delivery stream restarted after a crash does: what was read but not
    /// delivered is forgotten and read again, from the last checkpoint; the tables are opened
    /// again from disk. The counts go on.
    pub fn restart(&mut self) {
        self.buffer.clear();
        self.buffered_bytes = 0;
        self.buffer_started = None;
        self.errors.clear();
        self.iceberg_errors.clear();
        self.origins.clear();
        self.warehouse = None;
        self.read.clone_from(&self.delivered);
        self.stats.restarts += 1;
    }

    /// Records read but not yet written (they are written by the next flush).
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Reads what is new on every shard (one GetRecords page each), in order, buffering it;
    /// invokes whenever the buffer reaches the size hint, or its oldest record has waited the
    /// interval. Returns the Kinesis records read: a caller drains a backlog by polling until
    /// it is 0, and can stop between polls.
    pub async fn poll(&mut self, stream: &impl ShardReader) -> io::Result<usize> {
        let mut read = 0;
        for shard_id in stream.shard_ids().await? {
            let after = self.read.get(&shard_id).cloned();
            let records = stream.read(&shard_id, after.as_deref()).await?;
            read += records.len();
            for r in records {
                self.take(&shard_id, &r);
                self.read.insert(shard_id.clone(), r.sequence_number);
                // Only between Kinesis records, so a checkpoint never falls inside an
                // aggregated record (a restart could not resume in its middle).
                if self.buffered_bytes >= self.settings.buffer_bytes {
                    self.flush().await?;
                }
            }
        }
        if self
            .buffer_started
            .is_some_and(|t| t.elapsed() >= self.settings.buffer_interval)
        {
            self.flush().await?;
        }
        Ok(read)
    }

    /// Buffers one Kinesis record's user records (or its error record if it cannot be
    /// de-aggregated).
    fn take(&mut self, shard_id: &str, r: &StreamRecord) {
        self.stats.kinesis_records += 1;
        let metadata = |pk: &str, sub: u64| KinesisRecordMetadata {
            shard_id: Some(shard_id.to_owned()),
            partition_key: Some(pk.to_owned()),
            approximate_arrival_timestamp: Some(r.arrival_ms),
            sequence_number: Some(r.sequence_number.clone()),
            subsequence_number: Some(sub),
        };
        match deaggregate(&r.partition_key, r.explicit_hash_key.as_deref(), &r.data) {
            Ok(users) => {
                for (sub, u) in users.into_iter().enumerate() {
                    let record_id = format!("{}{:08}", r.sequence_number, sub);
                    let record = if self.settings.msk_cluster_arn.is_some() {
                        let offset = self.msk_offsets.entry(shard_id.to_owned()).or_default();
                        *offset += 1;
                        FirehoseRecord {
                            record_id,
                            kafka_record_value: Some(BASE64.encode(&u.data)),
                            approximate_arrival_timestamp: Some(r.arrival_ms),
                            msk_record_metadata: Some(MskRecordMetadata {
                                offset: Some((*offset - 1).to_string()),
                                partition_id: Some(partition_of(shard_id)),
                                approximate_arrival_timestamp: Some(r.arrival_ms),
                            }),
                            ..FirehoseRecord::default()
                        }
                    } else {
                        FirehoseRecord {
                            record_id,
                            data: Some(BASE64.encode(&u.data)),
                            approximate_arrival_timestamp: Some(r.arrival_ms),
                            kinesis_record_metadata: Some(metadata(&u.partition_key, sub as u64)),
                            ..FirehoseRecord::default()
                        }
                    };
                    self.stats.records_in += 1;
                    if self.settings.iceberg.is_some() {
                        self.origins
                            .insert(record.record_id.clone(), shard_id.into());
                    }
                    self.buffer_started.get_or_insert_with(Instant::now);
                    self.buffered_bytes += u.data.len();
                    self.buffer.push(record);
                }
            }
            Err(e) => {
                // Never reaches the function: its bytes go to the error prefix as they are.
                self.stats.deaggregation_failed += 1;
                self.buffer_started.get_or_insert_with(Instant::now);
                let now = now_ms();
                self.errors.push(ErrorRecord {
                    attempts_made: 1,
                    arrival_timestamp: r.arrival_ms,
                    error_code: codes::DEAGGREGATION_FAILED.to_owned(),
                    error_message: format!("aggregated={}: {e}", is_aggregated(&r.data)),
                    attempt_ending_timestamp: now,
                    raw_data: BASE64.encode(&r.data),
                    lambda_arn: self.settings.lambda_arn.clone(),
                });
            }
        }
    }

    /// Invokes the function on everything buffered (in requests within 6 MB) and writes the
    /// results: one object of delivered records, one of error records.
    pub async fn flush(&mut self) -> io::Result<()> {
        let records = std::mem::take(&mut self.buffer);
        self.buffered_bytes = 0;
        self.buffer_started = None;
        let mut delivered = Delivered::default();
        for chunk in split_by_request_size(records, MAX_INVOCATION_BYTES) {
            self.invoke(chunk, &mut delivered).await;
        }
        let now = chrono::Utc::now();
        if self.settings.iceberg.is_some() {
            self.deliver_to_tables(&delivered.tables)?;
        }
        for (output, body) in [
            (Output::Delivered, delivered.data),
            (Output::Deletions, delivered.deletions),
        ] {
            if body.is_empty() {
                continue;
            }
            let destination = Destination {
                output,
                ..self.settings.destination()
            };
            let written = write_delivered(self.bucket, destination, now, body).await?;
            self.stats.objects += written.objects;
            self.stats.error_objects += written.error_objects;
            self.stats.bytes_delivered += written.bytes;
            self.stats.conversion_failed += written.conversion_failed;
        }
        let processing = std::mem::take(&mut self.errors);
        let iceberg = std::mem::take(&mut self.iceberg_errors);
        for (output, errors) in [
            (Output::ProcessingFailed, processing),
            (Output::IcebergFailed, iceberg),
        ] {
            self.write_errors(output, now, errors).await?;
        }
        self.origins.clear();
        // Everything read so far is now in the bucket (or the tables).
        self.delivered.clone_from(&self.read);
        Ok(())
    }

    /// One object of error records under `output`'s prefix (none when there are none).
    async fn write_errors(
        &mut self,
        output: Output,
        now: chrono::DateTime<chrono::Utc>,
        errors: Vec<ErrorRecord>,
    ) -> io::Result<()> {
        if errors.is_empty() {
            return Ok(());
        }
        let mut body = Vec::new();
        for e in errors {
            serde_json::to_writer(&mut body, &e).expect("serialising plain data");
            body.push(b'\n');
        }
        let stream = &self.settings.delivery_stream;
        let key = object_key(output, stream, now, uuid::Uuid::new_v4());
        self.bucket.put(&key, body).await?;
        self.stats.error_objects += 1;
        Ok(())
    }

    /// Iceberg mode: applies each table's records and commits them (the tables record the
    /// position read so far); records a table refuses become error records.
    fn deliver_to_tables(
        &mut self,
        tables: &BTreeMap<iceberg::TableId, Vec<iceberg::RowOp>>,
    ) -> io::Result<()> {
        let destination = self.settings.iceberg.as_ref().expect("Iceberg mode");
        if self.warehouse.is_none() {
            self.warehouse = Some(Warehouse::open(destination)?);
        }
        let warehouse = self.warehouse.as_mut().expect("opened above");
        let results = warehouse.apply(tables, &self.read)?;
        let now = now_ms();
        for (id, applied) in results {
            self.stats.iceberg_commits += u64::from(applied.committed);
            self.stats.iceberg_rows_added += applied.rows_added;
            self.stats.iceberg_rows_removed += applied.rows_removed;
            self.stats.iceberg_skipped += applied.skipped as u64;
            self.stats.iceberg_failed += applied.rejected.len() as u64;
            self.stats.bytes_delivered += applied.bytes_written;
            for r in applied.rejected {
                let line = &tables[&id][r.index].line;
                let message = format!("table {}.{}: {}", id.0, id.1, r.message);
                self.iceberg_errors.push(self.error_record(
                    r.code,
                    message,
                    BASE64.encode(line),
                    now,
                ));
            }
        }
        Ok(())
    }

    fn error_record(&self, code: &str, message: String, raw: String, now: i64) -> ErrorRecord {
        ErrorRecord {
            attempts_made: 1,
            arrival_timestamp: now,
            error_code: code.to_owned(),
            error_message: message,
            attempt_ending_timestamp: now,
            raw_data: raw,
            lambda_arn: self.settings.lambda_arn.clone(),
        }
    }

    /// Iceberg mode: where an `Ok` record goes, as Firehose routes it. A record without
    /// `otfMetadata` is inserted when the destination has one table, and refused otherwise.
    fn route(
        &mut self,
        r: &FirehoseRecord,
        data: Vec<u8>,
        otf: Option<Result<OtfMetadata, String>>,
        delivered: &mut Delivered,
    ) {
        use crate::iceberg::route::codes;
        let destination = self.settings.iceberg.as_ref().expect("Iceberg mode");
        let single = || match destination.tables.as_slice() {
            [only] => Some(OtfMetadata {
                database: only.database.clone(),
                table: only.table.clone(),
                operation: iceberg::Operation::Insert,
            }),
            _ => None,
        };
        let routed = match otf {
            Some(Ok(otf)) => Ok(otf),
            Some(Err(why)) => Err((codes::ROUTING_INVALID, why)),
            None => single().ok_or((
                codes::ROUTING_MISSING,
                "no metadata.otfMetadata, and the destination has several tables".to_owned(),
            )),
        };
        let routed = routed.and_then(|otf| {
            let known = destination
                .tables
                .iter()
                .any(|t| t.database == otf.database && t.table == otf.table);
            if known {
                Ok(otf)
            } else {
                let why = format!(
                    "{}.{} is not one of the destination's tables",
                    otf.database, otf.table
                );
                Err((codes::TABLE_NOT_CONFIGURED, why))
            }
        });
        match routed {
            Ok(otf) => {
                let origin = self.origins.get(&r.record_id).map(|shard| iceberg::Origin {
                    shard: shard.to_string(),
                    sequence: sequence_of(&r.record_id).to_owned(),
                });
                let op = iceberg::RowOp {
                    operation: otf.operation,
                    line: data,
                    origin,
                };
                delivered
                    .tables
                    .entry((otf.database, otf.table))
                    .or_default()
                    .push(op);
            }
            Err((code, why)) => {
                self.stats.iceberg_failed += 1;
                let e = self.error_record(code, why, BASE64.encode(&data), now_ms());
                self.iceberg_errors.push(e);
            }
        }
    }

    /// One batch: up to 1 + retries attempts; a batch that never gets a valid response goes,
    /// every record of it, to the error prefix.
    async fn invoke(&mut self, records: Vec<FirehoseRecord>, delivered: &mut Delivered) {
        if records.is_empty() {
            return;
        }
        self.stats.invocations += 1;
        let ids: Vec<String> = records.iter().map(|r| r.record_id.clone()).collect();
        let event = FirehoseEvent {
            invocation_id: Some(uuid::Uuid::new_v4().to_string()),
            delivery_stream_arn: Some(format!(
                "arn:aws:firehose:{}:{}:deliverystream/{}",
                self.settings.region, self.settings.account, self.settings.delivery_stream
            )),
            source_kinesis_stream_arn: None,
            source_msk_arn: self.settings.msk_cluster_arn.clone(),
            region: Some(self.settings.region.clone()),
            records,
        };
        let request = serde_json::to_vec(&event).expect("serialising plain data");
        let mut logic = InvokeLogic {
            processor: self.processor,
            request: &request,
            ids: &ids,
            field: self.settings.payload_field(),
            results: None,
        };
        let policy = self.settings.retry_policy();
        let limits = Limits {
            policy: &policy,
            deadline: tokio::time::Instant::now() + NO_DEADLINE,
            attempt_timeout: None,
        };
        let report = retry::run(&mut logic, (), limits, &mut fastrand::Rng::new()).await;
        self.stats.attempts += u64::from(report.attempts);
        let attempts = report.attempts;
        let last = match (report.ended, logic.results) {
            (Ended::Done, Some(results)) => {
                self.settle(&event.records, results, delivered);
                return;
            }
            (Ended::GaveUp { error, .. } | Ended::Exhausted { last: error, .. }, _)
            | (Ended::WaitTooLong { last: error, .. }, _) => error,
            (Ended::OutOfTime { last, .. }, _) => last.unwrap_or((
                codes::FUNCTION_ERROR,
                "no time left to invoke the function".to_owned(),
            )),
            (Ended::Done, None) => (
                codes::FUNCTION_ERROR,
                "the function's answer was lost".to_owned(),
            ),
        };
        self.stats.failed_batches += 1;
        self.stats.batch_failed += event.records.len() as u64;
        let now = now_ms();
        for r in &event.records {
            self.errors.push(ErrorRecord {
                attempts_made: attempts,
                arrival_timestamp: r.approximate_arrival_timestamp.unwrap_or(now),
                error_code: last.0.to_owned(),
                error_message: last.1.clone(),
                attempt_ending_timestamp: now,
                raw_data: r.payload(true).0.unwrap_or_default().to_owned(),
                lambda_arn: self.settings.lambda_arn.clone(),
            });
        }
    }

    fn settle(
        &mut self,
        records: &[FirehoseRecord],
        results: Vec<Answered>,
        delivered: &mut Delivered,
    ) {
        let now = now_ms();
        for (
            r,
            Answered {
                result,
                data,
                area,
                otf,
            },
        ) in records.iter().zip(results)
        {
            match result {
                RecordResult::Ok if self.settings.iceberg.is_some() => {
                    self.stats.ok += 1;
                    self.route(r, data, otf, delivered);
                }
                RecordResult::Ok => {
                    self.stats.ok += 1;
                    // Firehose writes records back to back: the newline is the transform's.
                    // Dynamic partitioning: the `area` key sends deletions to their own prefix.
                    match area.as_deref() {
                        Some(DELETIONS_AREA) => delivered.deletions.extend_from_slice(&data),
                        _ => delivered.data.extend_from_slice(&data),
                    }
                }
                RecordResult::Dropped => self.stats.dropped += 1,
                RecordResult::ProcessingFailed => {
                    self.stats.processing_failed += 1;
                    self.errors.push(ErrorRecord {
                        attempts_made: 1,
                        arrival_timestamp: r.approximate_arrival_timestamp.unwrap_or(now),
                        error_code: codes::PROCESSING_FAILED.to_owned(),
                        error_message: "The function answered the record ProcessingFailed"
                            .to_owned(),
                        attempt_ending_timestamp: now,
                        raw_data: r.payload(true).0.unwrap_or_default().to_owned(),
                        lambda_arn: self.settings.lambda_arn.clone(),
                    });
                }
            }
        }
    }
}

/// The local Firehose has no deadline of its own: it tries each batch as often as it is told.
const NO_DEADLINE: Duration = Duration::from_secs(100 * 365 * 24 * 3_600);

/// One batch's invocation as the retry driver runs it: an attempt counts as failed when the
/// function errs or its answer breaks Firehose's contract.
struct InvokeLogic<'a, P> {
    processor: &'a P,
    request: &'a [u8],
    ids: &'a [String],
    /// The field the source requires answers in.
    field: PayloadField,
    results: Option<Vec<Answered>>,
}

impl<P: Processor> RetryLogic for InvokeLogic<'_, P> {
    type Work = ();
    type Answer = Result<Vec<u8>, InvokeError>;
    /// Firehose's error code for the batch, and the message.
    type Error = (&'static str, String);

    async fn attempt(&mut self, _: &()) -> Self::Answer {
        self.processor.invoke(self.request.to_vec()).await
    }

    fn decide(
        &mut self,
        _: &(),
        answer: Result<Self::Answer, TimedOut>,
    ) -> Decision<(), (&'static str, String)> {
        let body = match answer {
            Ok(Ok(body)) => body,
            Ok(Err(e)) => return Decision::RetryAll((codes::FUNCTION_ERROR, e.to_string())),
            Err(t) => {
                let why = format!("the invocation timed out after {} ms", t.millis());
                return Decision::RetryAll((codes::FUNCTION_ERROR, why));
            }
        };
        match check_response_in(self.ids, &body, self.field) {
            Ok(results) => {
                self.results = Some(results);
                Decision::Done
            }
            Err(v) => Decision::RetryAll((v.code(), v.to_string())),
        }
    }
}

/// The Kinesis sequence number in a record id (the id is the number and 8 digits of
/// subsequence, as [`LocalFirehose::poll`] makes it).
fn sequence_of(record_id: &str) -> &str {
    &record_id[..record_id.len().saturating_sub(8)]
}

/// A Kafka partition number for a shard id (`shardId-000000000003` → `3`).
fn partition_of(shard_id: &str) -> String {
    let digits = shard_id.trim_start_matches(|c: char| !c.is_ascii_digit());
    digits
        .parse::<u64>()
        .map_or_else(|_| shard_id.to_owned(), |n| n.to_string())
}

/// Splits records, in order, into requests whose serialised event stays within `limit`.
fn split_by_request_size(records: Vec<FirehoseRecord>, limit: usize) -> Vec<Vec<FirehoseRecord>> {
    // Envelope fields (invocation id, ARNs, region) and brackets, with room to spare.
    const ENVELOPE: usize = 1_024;
    let mut out = Vec::new();
    let mut current = Vec::new();
    let mut used = ENVELOPE;
    for r in records {
        let size = serde_json::to_vec(&r).map_or(0, |v| v.len()) + 1;
        if !current.is_empty() && used + size > limit {
            out.push(std::mem::take(&mut current));
            used = ENVELOPE;
        }
        used += size;
        current.push(r);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// A function for tests: answers every record `Ok` with its data plus a newline, as the
/// transform ends each record.
#[cfg(test)]
pub(crate) struct Echo;

#[cfg(test)]
impl Processor for Echo {
    async fn invoke(&self, request: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
        Ok(answer_each(&request, |_| "Ok"))
    }
}

/// A test function's response: each record's data plus a newline, with the result
/// `result_of` gives for its data.
#[cfg(test)]
pub(crate) fn answer_each(request: &[u8], result_of: impl Fn(&[u8]) -> &'static str) -> Vec<u8> {
    let event: FirehoseEvent = serde_json::from_slice(request).unwrap();
    let records: Vec<serde_json::Value> = event
        .records
        .iter()
        .map(|r| {
            let mut line = BASE64.decode(r.data.as_deref().unwrap()).unwrap();
            let result = result_of(&line);
            line.push(b'\n');
            serde_json::json!({"recordId": r.record_id, "result": result, "data": BASE64.encode(line)})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "records": records })).unwrap()
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// A delivery stream's parts: a bucket in a new directory, a stream `s` of `shards` shards,
    /// and the default settings of a delivery stream `d`.
    fn delivery(
        shards: usize,
    ) -> (
        tempfile::TempDir,
        LocalBucket,
        LocalStream,
        FirehoseSettings,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let bucket = LocalBucket::new(dir.path());
        (
            dir,
            bucket,
            LocalStream::new("s", shards),
            FirehoseSettings::new("d"),
        )
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("r{i}")).collect()
    }

    #[test]
    fn a_valid_response_is_accepted_and_decoded() {
        let body = br#"{"records":[{"recordId":"r0","result":"Ok","data":"eyJhIjoxfQo="},{"recordId":"r1","result":"Dropped","data":""},{"recordId":"r2","result":"ProcessingFailed","data":"eA=="}]}"#;
        let out = check_response(&ids(3), body).unwrap();
        assert_eq!(
            (out[0].result, out[0].data.as_slice()),
            (RecordResult::Ok, b"{\"a\":1}\n".as_slice())
        );
        assert_eq!(out[1].result, RecordResult::Dropped);
        assert_eq!(out[2].result, RecordResult::ProcessingFailed);
    }

    #[test]
    fn every_breach_of_the_contract_is_caught() {
        let cases: [(&str, &str); 7] = [
            (r#"[]"#, "no records array"),
            (
                r#"{"records":[{"recordId":"r0","result":"Ok","data":"eA=="}]}"#,
                "2 sent",
            ),
            (
                r#"{"records":[{"recordId":"r1","result":"Ok","data":"eA=="},{"recordId":"r0","result":"Ok","data":"eA=="}]}"#,
                "same order",
            ),
            (
                r#"{"records":[{"recordId":"r0","result":"Ok","data":"eA=="},{"recordId":"r0","result":"Ok","data":"eA=="}]}"#,
                "expected \"r1\"",
            ),
            (
                r#"{"records":[{"recordId":"r0","result":"TransformedStateOk","data":"eA=="},{"recordId":"r1","result":"Ok","data":"eA=="}]}"#,
                "not Ok",
            ),
            (
                r#"{"records":[{"recordId":"r0","result":"Ok","data":"!!"},{"recordId":"r1","result":"Ok","data":"eA=="}]}"#,
                "base64",
            ),
            (
                r#"{"records":[{"recordId":"r0","result":"Ok"},{"recordId":"r1","result":"Ok","data":"eA=="}]}"#,
                "missing",
            ),
        ];
        for (body, needle) in cases {
            let err = check_response(&ids(2), body.as_bytes()).unwrap_err();
            assert!(err.to_string().contains(needle), "{body}: {err}");
        }
        let big = vec![b' '; MAX_INVOCATION_BYTES + 1];
        assert_eq!(
            check_response(&ids(2), &big).unwrap_err().code(),
            codes::RESPONSE_TOO_LARGE
        );
    }

    #[test]
    fn requests_are_split_to_stay_within_the_invocation_limit() {
        let records: Vec<FirehoseRecord> = (0..10)
            .map(|i| FirehoseRecord {
                record_id: i.to_string(),
                data: Some("A".repeat(1_000)),
                ..FirehoseRecord::default()
            })
            .collect();
        let chunks = split_by_request_size(records, 4_500);
        assert!(chunks.len() > 1);
        let order: Vec<String> = chunks
            .iter()
            .flatten()
            .map(|r| r.record_id.clone())
            .collect();
        assert_eq!(order, (0..10).map(|i| i.to_string()).collect::<Vec<_>>());
        for c in &chunks {
            let event = FirehoseEvent {
                records: c.clone(),
                ..FirehoseEvent::default()
            };
            assert!(serde_json::to_vec(&event).unwrap().len() <= 4_500);
        }
    }

    #[tokio::test]
    async fn the_buffer_is_flushed_when_its_interval_has_passed() {
        use ks_producer::{Entry, StreamSink as _};
        // GIVEN a delivery stream with a zero buffering interval and a large size hint
        let (dir, bucket, stream, mut settings) = delivery(2);
        settings.buffer_interval = Duration::ZERO;
        let mut firehose = LocalFirehose::new(settings, &Echo, &bucket);
        for round in 0..2 {
            let e = Entry {
                data: format!("{{\"round\":{round}}}").into_bytes(),
                partition_key: "k".into(),
                explicit_hash_key: None,
            };
            stream.put_records(&[&e]).await.unwrap();
            // WHEN it polls, without an explicit flush
            while firehose.poll(&stream).await.unwrap() > 0 {}
        }
        // THEN each poll delivered what it read: one object each, the records back to back
        let keys = bucket.keys().unwrap();
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert_eq!(firehose.stats().invocations, 2);
        let bodies: Vec<String> = keys
            .iter()
            .map(|k| std::fs::read_to_string(dir.path().join(k)).unwrap())
            .collect();
        assert!(
            bodies.contains(&"{\"round\":0}\n".to_owned())
                && bodies.contains(&"{\"round\":1}\n".to_owned()),
            "{bodies:?}"
        );
    }

    #[tokio::test]
    async fn an_msk_shaped_source_sends_kafka_record_values_and_requires_them_back() {
        use ks_producer::{Entry, StreamSink as _};
        // GIVEN a delivery stream whose source is shaped as an MSK cluster, with the real
        // transform (lexicon) as its processor
        let (dir, bucket, stream, mut settings) = delivery(2);
        settings.msk_cluster_arn = Some("arn:aws:kafka:us-east-1:000000000000:cluster/c/x".into());
        let processor = InProcess {
            analyzer: keywords(),
            settings: TransformSettings::default(),
            timeout: Duration::from_secs(60),
        };
        let mut firehose = LocalFirehose::new(settings, &processor, &bucket);
        for (i, text) in ["a great day", "a terrible day", "not json"]
            .iter()
            .enumerate()
        {
            let data = if i < 2 {
                serde_json::to_vec(&serde_json::json!({"text": text})).unwrap()
            } else {
                text.as_bytes().to_vec()
            };
            let e = Entry {
                data,
                partition_key: format!("k{i}"),
                explicit_hash_key: None,
            };
            stream.put_records(&[&e]).await.unwrap();
        }
        // WHEN it reads and flushes
        while firehose.poll(&stream).await.unwrap() > 0 {}
        firehose.flush().await.unwrap();
        // THEN the two JSON posts are delivered with sentiment and the text is an error record
        // holding its payload: the answers were in kafkaRecordValue, which the check required
        let stats = firehose.stats().clone();
        assert_eq!(
            (stats.records_in, stats.failed_batches),
            (3, 0),
            "{stats:?}"
        );
        let mut delivered = Vec::new();
        let mut failed = Vec::new();
        for key in bucket.keys().unwrap() {
            let body = std::fs::read_to_string(dir.path().join(&key)).unwrap();
            for line in body.lines() {
                if key.starts_with("processing-failed/") {
                    let e: ErrorRecord = serde_json::from_str(line).unwrap();
                    failed.push(BASE64.decode(&e.raw_data).unwrap());
                } else {
                    let v: serde_json::Value = serde_json::from_str(line).unwrap();
                    delivered.push(v["sentiment"]["label"].as_str().unwrap().to_owned());
                }
            }
        }
        delivered.sort();
        assert_eq!(delivered, ["NEGATIVE", "POSITIVE"]);
        assert_eq!(failed, [b"not json".to_vec()]);
        // AND an answer in `data` breaks the contract for this source
        let body = br#"{"records":[{"recordId":"r0","result":"Ok","data":"eA=="}]}"#;
        let err = check_response_in(&["r0".to_owned()], body, PayloadField::KafkaRecordValue)
            .unwrap_err();
        assert!(err.to_string().contains("kafkaRecordValue"), "{err}");
    }

    /// A local analyzer: "great" is positive, anything else negative.
    fn keywords() -> ks_transform::sentiment::Scripted<
        impl Fn(&[&str]) -> std::future::Ready<ks_transform::sentiment::Analysis> + Send + Sync,
    > {
        use ks_transform::sentiment::{Label, Scores, Scripted, Sentiment};
        Scripted::new("keywords", 25, false, |texts: &[&str]| {
            let label = |t: &str| {
                if t.contains("great") {
                    Label::Positive
                } else {
                    Label::Negative
                }
            };
            let scores = Scores::default();
            let answer = texts.iter().map(|t| {
                Ok(Sentiment {
                    label: label(t),
                    scores,
                })
            });
            std::future::ready(Ok(answer.collect()).into())
        })
    }

    /// Answers each record as its payload's `r` says: 0 Ok, 1 Dropped, 2 ProcessingFailed.
    struct Chooser;

    impl Processor for Chooser {
        async fn invoke(&self, request: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
            Ok(answer_each(&request, |data| {
                let v: serde_json::Value = serde_json::from_slice(data).unwrap();
                ["Ok", "Dropped", "ProcessingFailed"][v["r"].as_u64().unwrap() as usize]
            }))
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

        #[test]
        fn every_record_ends_exactly_once_where_its_result_sends_it(
            records in proptest::collection::vec((0u8..6, 1usize..3_000, 0u64..3), 1..120),
            shards in 1usize..5,
            buffer_bytes in 200usize..20_000,
            aggregate in proptest::bool::ANY,
        ) {
            use ks_producer::{Entry, StreamSink as _};
            // GIVEN records of random sizes and keys, each with the result it will get
            let entries: Vec<Entry> = records
                .iter()
                .enumerate()
                .map(|(n, (key, size, r))| Entry {
                    data: serde_json::to_vec(&serde_json::json!({"n": n, "r": r, "pad": "x".repeat(*size)})).unwrap(),
                    partition_key: format!("key-{key}"),
                    explicit_hash_key: None,
                })
                .collect();
            let units: Vec<Entry> = if aggregate {
                ks_producer::kpl::aggregate(&entries, 51_200).into_iter().map(|p| p.entry).collect()
            } else {
                entries.clone()
            };
            let (dir, bucket, stream, mut settings) = delivery(shards);
            settings.buffer_bytes = buffer_bytes;
            let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
            // WHEN they are put in requests of up to 50 and the delivery stream polls between them
            let stats = rt.block_on(async {
                let mut firehose = LocalFirehose::new(settings, &Chooser, &bucket);
                for chunk in units.chunks(50) {
                    stream.put_records(&chunk.iter().collect::<Vec<_>>()).await.unwrap();
                    while firehose.poll(&stream).await.unwrap() > 0 {}
                }
                firehose.flush().await.unwrap();
                firehose.stats().clone()
            });
            // THEN Ok records are delivered once, failed ones are error records once, dropped ones nowhere
            let mut delivered = vec![0u32; records.len()];
            let mut failed = vec![0u32; records.len()];
            for key in bucket.keys().unwrap() {
                let body = std::fs::read_to_string(dir.path().join(&key)).unwrap();
                for line in body.lines() {
                    if key.starts_with("processing-failed/") {
                        let e: ErrorRecord = serde_json::from_str(line).unwrap();
                        let v: serde_json::Value = serde_json::from_slice(&BASE64.decode(&e.raw_data).unwrap()).unwrap();
                        failed[v["n"].as_u64().unwrap() as usize] += 1;
                    } else {
                        let v: serde_json::Value = serde_json::from_str(line).unwrap();
                        delivered[v["n"].as_u64().unwrap() as usize] += 1;
                    }
                }
            }
            for (n, (_, _, r)) in records.iter().enumerate() {
                let expected = match r { 0 => (1, 0), 1 => (0, 0), _ => (0, 1) };
                proptest::prop_assert_eq!((delivered[n], failed[n]), expected, "record {}", n);
            }
            proptest::prop_assert_eq!(stats.records_in, records.len() as u64);
        }
    }

    /// Answers with the ids reversed: always a contract violation.
    struct Scrambler(Cell<u32>);

    impl Processor for Scrambler {
        async fn invoke(&self, request: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
            self.0.set(self.0.get() + 1);
            let event: FirehoseEvent = serde_json::from_slice(&request).unwrap();
            let records: Vec<serde_json::Value> = event
                .records
                .iter()
                .rev()
                .map(|r| serde_json::json!({"recordId": r.record_id, "result": "Ok", "data": r.data}))
                .collect();
            Ok(serde_json::to_vec(&serde_json::json!({ "records": records })).unwrap())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_whose_responses_break_the_contract_is_retried_then_sent_to_the_error_prefix() {
        // GIVEN a stream with three records and a function that scrambles the order
        let dir = tempfile::tempdir().unwrap();
        let bucket = LocalBucket::new(dir.path());
        let stream = LocalStream::new("s", 1);
        crate::stream::put_numbers(&stream, 0..3).await;
        let processor = Scrambler(Cell::new(0));
        let mut firehose = LocalFirehose::new(FirehoseSettings::new("d"), &processor, &bucket);
        // WHEN the delivery stream reads and flushes
        while firehose.poll(&stream).await.unwrap() > 0 {}
        let started = tokio::time::Instant::now();
        firehose.flush().await.unwrap();
        // THEN the function was tried 1 + 3 times, not back to back but within the backoff's
        // ceilings (1 + 2 + 4 s), and every record is an error record
        assert_eq!(processor.0.get(), 1 + DEFAULT_RETRIES);
        assert!(
            started.elapsed() <= Duration::from_secs(7),
            "{:?}",
            started.elapsed()
        );
        assert!(started.elapsed() > Duration::ZERO, "retried back to back");
        assert_eq!(firehose.stats().failed_batches, 1);
        let keys = bucket.keys().unwrap();
        assert_eq!(keys.len(), 1, "{keys:?}");
        assert!(keys[0].starts_with("processing-failed/"));
        let body = std::fs::read_to_string(dir.path().join(&keys[0])).unwrap();
        let errors: Vec<ErrorRecord> = body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(errors.len(), 3);
        for (n, e) in errors.iter().enumerate() {
            assert_eq!(e.attempts_made, 4);
            assert_eq!(e.error_code, codes::INVALID_RESPONSE);
            assert_eq!(
                BASE64.decode(&e.raw_data).unwrap(),
                format!("{{\"n\":{n}}}").as_bytes()
            );
        }
    }

    /// Answers as the transform does in an Iceberg stack: a post is an insert into posts, an
    /// `op` update an update, delete a delete on posts, account an insert into account_purges;
    /// `op` "noroute" comes back without otfMetadata, "fail" ProcessingFailed.
    struct Router;

    impl Processor for Router {
        async fn invoke(&self, request: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
            let event: FirehoseEvent = serde_json::from_slice(&request).unwrap();
            let records: Vec<serde_json::Value> = event
                .records
                .iter()
                .map(|r| {
                    let data = BASE64.decode(r.data.as_deref().unwrap()).unwrap();
                    let v: serde_json::Value = serde_json::from_slice(&data).unwrap();
                    let (table, operation) = match v["op"].as_str() {
                        Some("update") => ("posts", "update"),
                        Some("delete") => ("posts", "delete"),
                        Some("account") => ("account_purges", "insert"),
                        _ => ("posts", "insert"),
                    };
                    let mut line = data.clone();
                    line.push(b'\n');
                    let mut answer = serde_json::json!({"recordId": r.record_id, "result": "Ok",
                        "data": BASE64.encode(&line)});
                    match v["op"].as_str() {
                        Some("fail") => answer["result"] = "ProcessingFailed".into(),
                        Some("noroute") => {}
                        _ => {
                            answer["metadata"] = serde_json::json!({"otfMetadata": {
                                "destinationDatabaseName": "db", "destinationTableName": table,
                                "operation": operation}});
                        }
                    }
                    answer
                })
                .collect();
            Ok(serde_json::to_vec(&serde_json::json!({ "records": records })).unwrap())
        }
    }

    /// Puts each value with its `id` as partition key: what happens to one post stays in
    /// order (one shard), as the producer keys posts.
    async fn put_json(stream: &LocalStream, values: &[serde_json::Value]) {
        use ks_producer::{Entry, StreamSink as _};
        for (i, v) in values.iter().enumerate() {
            let e = Entry {
                data: serde_json::to_vec(v).unwrap(),
                partition_key: v["id"]
                    .as_str()
                    .map_or_else(|| format!("k{i}"), str::to_owned),
                explicit_hash_key: None,
            };
            stream.put_records(&[&e]).await.unwrap();
        }
    }

    fn live_texts(table: &crate::iceberg::Table) -> Vec<(String, String)> {
        let mut rows: Vec<(String, String)> = table
            .rows()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap_or("").to_owned(),
                    r["text"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        rows.sort();
        rows
    }

    #[tokio::test]
    async fn iceberg_mode_routes_by_otf_metadata_and_refused_records_go_to_the_error_output() {
        use serde_json::json;
        // GIVEN an Iceberg delivery stream (posts keyed by id, account purges) and a stream of
        // posts, an edit, a deletion, an account record, an unrouted and a failed record
        let (dir, bucket, stream, mut settings) = delivery(2);
        let warehouse = dir.path().join("warehouse");
        settings.iceberg = Some(IcebergDestination::posts_and_purges(
            &warehouse,
            "db",
            "posts",
            "account_purges",
        ));
        put_json(
            &stream,
            &[
                json!({"id": "1", "text": "one"}),
                json!({"id": "2", "text": "two"}),
                json!({"id": "3", "text": "three"}),
                json!({"op": "update", "id": "1", "text": "one v2"}),
                json!({"op": "delete", "id": "2"}),
                json!({"op": "account", "did": "did:plc:x", "active": false, "status": "deleted"}),
                json!({"op": "noroute", "id": "9"}),
                json!({"op": "fail", "id": "8"}),
            ],
        )
        .await;
        let mut firehose = LocalFirehose::new(settings.clone(), &Router, &bucket);
        // WHEN it reads and flushes
        while firehose.poll(&stream).await.unwrap() > 0 {}
        firehose.flush().await.unwrap();
        // THEN posts holds 1 (edited) and 3, the account record is in account_purges
        let tables = Warehouse::open(settings.iceberg.as_ref().unwrap()).unwrap();
        let posts = tables.table("db", "posts").unwrap();
        assert_eq!(
            live_texts(posts),
            [("1".into(), "one v2".into()), ("3".into(), "three".into())]
        );
        let purges = tables
            .table("db", "account_purges")
            .unwrap()
            .rows()
            .unwrap();
        assert_eq!(
            (purges.len(), purges[0]["did"].as_str()),
            (1, Some("did:plc:x"))
        );
        // AND the unrouted record is an Iceberg error record, the failed one a processing failure
        let keys: Vec<String> = bucket
            .keys()
            .unwrap()
            .into_iter()
            .filter(|k| !k.starts_with("warehouse/"))
            .collect();
        let read = |prefix: &str| -> Vec<ErrorRecord> {
            keys.iter()
                .filter(|k| k.starts_with(prefix))
                .flat_map(|k| {
                    std::fs::read_to_string(dir.path().join(k))
                        .unwrap()
                        .lines()
                        .map(|l| serde_json::from_str(l).unwrap())
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let iceberg_failed = read(crate::bucket::ICEBERG_FAILED_PREFIX);
        assert_eq!(iceberg_failed.len(), 1, "{keys:?}");
        assert_eq!(
            iceberg_failed[0].error_code,
            crate::iceberg::route::codes::ROUTING_MISSING
        );
        assert_eq!(read("processing-failed/").len(), 1, "{keys:?}");
        assert_eq!(keys.len(), 2, "nothing else in the bucket: {keys:?}");
        assert_eq!(firehose.stats().failed(), 2);
    }

    #[tokio::test]
    async fn an_injected_crash_before_a_commit_then_a_restart_neither_duplicates_nor_loses() {
        use crate::delivery::{CheckpointFile, RunOptions, Stopped, run};
        use serde_json::json;
        // GIVEN an Iceberg delivery stream whose 2nd commit crashes, and 30 posts, 5 edits and
        // 5 deletions, read in small buffers (several commits)
        let (dir, bucket, stream, mut settings) = delivery(2);
        let mut destination = IcebergDestination::posts_and_purges(
            dir.path().join("wh"),
            "db",
            "posts",
            "account_purges",
        );
        destination.fault = Some(crate::iceberg::FaultHook::crash_before_commit(2));
        settings.iceberg = Some(destination);
        settings.buffer_bytes = 300;
        let mut values: Vec<serde_json::Value> = (0..30)
            .map(|n| json!({"id": n.to_string(), "text": format!("post {n}")}))
            .collect();
        values
            .extend((0..5).map(
                |n| json!({"op": "update", "id": n.to_string(), "text": format!("edit {n}")}),
            ));
        values.extend((25..30).map(|n| json!({"op": "delete", "id": n.to_string()})));
        put_json(&stream, &values).await;
        let file = CheckpointFile::new(dir.path().join("cp.json"));
        let options = RunOptions {
            poll_interval: Duration::from_millis(1),
            exit_when_idle: Some(Duration::ZERO),
        };
        // WHEN it runs, crashes, and a new delivery stream resumes from the saved checkpoints
        let mut first = LocalFirehose::new(settings.clone(), &Router, &bucket);
        let err = run(
            &mut first,
            &stream,
            "s",
            &file,
            options,
            std::future::pending(),
            |_| {},
        )
        .await
        .unwrap_err();
        assert!(
            crate::iceberg::IcebergError::is_injected_crash(&err),
            "{err}"
        );
        let mut second = LocalFirehose::new(settings.clone(), &Router, &bucket);
        second.resume(file.load("s").unwrap());
        let why = run(
            &mut second,
            &stream,
            "s",
            &file,
            options,
            std::future::pending(),
            |_| {},
        )
        .await
        .unwrap();
        // THEN the table holds posts 0..25 once each, the first five edited
        assert_eq!(why, Stopped::Idle);
        let tables = Warehouse::open(settings.iceberg.as_ref().unwrap()).unwrap();
        let want: Vec<(String, String)> = {
            let mut w: Vec<(String, String)> = (0..25)
                .map(|n| {
                    (
                        n.to_string(),
                        if n < 5 {
                            format!("edit {n}")
                        } else {
                            format!("post {n}")
                        },
                    )
                })
                .collect();
            w.sort();
            w
        };
        assert_eq!(live_texts(tables.table("db", "posts").unwrap()), want);
    }
}
