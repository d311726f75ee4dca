//! The local Firehose's ends on AWS or an emulator, through the SDK: a Kinesis stream's shards
//! ([`KinesisReader`]), a bucket ([`S3Store`]) and a function invoked through the Lambda Invoke
//! API ([`LambdaProcessor`]: a deployed function, or `cargo lambda watch`, which serves the same
//! API for the real binary).

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::Mutex;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_kinesis::types::ShardIteratorType;
use aws_smithy_types::byte_stream::ByteStream;
use ks_kernel::error::describe;

use crate::firehose::{GET_RECORDS_MAX, InvokeError, ObjectStore, Processor, ShardReader};
use crate::stream::StreamRecord;

fn io_error(what: String) -> io::Error {
    io::Error::other(what)
}

/// The shared SDK configuration: region, credentials and endpoints from the usual places
/// (`AWS_REGION`, `AWS_PROFILE`, `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_KINESIS`, ...).
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// The most one Kinesis call (ListShards, GetShardIterator, GetRecords of at most 10 MB)
/// may take, its retries included.
pub const KINESIS_CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A Kinesis client; `endpoint` overrides the configured one (an emulator).
pub fn kinesis_client(config: &SdkConfig, endpoint: Option<&str>) -> aws_sdk_kinesis::Client {
    let mut builder = aws_sdk_kinesis::config::Builder::from(config).timeout_config(
        aws_smithy_types::timeout::TimeoutConfig::builder()
            .operation_timeout(KINESIS_CALL_TIMEOUT)
            .build(),
    );
    if let Some(url) = endpoint {
        builder = builder.endpoint_url(url);
    }
    aws_sdk_kinesis::Client::from_conf(builder.build())
}

/// An S3 client; with an explicit endpoint (an emulator) it uses path-style addressing, which
/// local endpoints need (no per-bucket host names on loopback).
pub fn s3_client(config: &SdkConfig, endpoint: Option<&str>) -> aws_sdk_s3::Client {
    let mut builder =
        aws_sdk_s3::config::Builder::from(config).timeout_config(ks_aws::s3_timeouts());
    if let Some(url) = endpoint {
        builder = builder.endpoint_url(url).force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// A Lambda client; `endpoint` is e.g. `cargo lambda watch`'s invoke address. The SDK's own
/// retries are off (the delivery stream retries and counts attempts, as Firehose does) and an
/// invocation that has not answered within `timeout` counts as a failed attempt.
pub fn lambda_client(
    config: &SdkConfig,
    endpoint: Option<&str>,
    timeout: std::time::Duration,
) -> aws_sdk_lambda::Client {
    let mut builder = aws_sdk_lambda::config::Builder::from(config)
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .timeout_config(
            aws_smithy_types::timeout::TimeoutConfig::builder()
                .operation_attempt_timeout(timeout)
                .build(),
        );
    if let Some(url) = endpoint {
        builder = builder.endpoint_url(url);
    }
    aws_sdk_lambda::Client::from_conf(builder.build())
}

/// Where to start a shard that has no checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// The oldest record still in the stream.
    TrimHorizon,
    /// Only records put after the reader starts.
    Latest,
}

/// What the reader remembers of a shard: the iterator that continues after `after`.
#[derive(Debug, Clone)]
struct Position {
    after: Option<String>,
    /// `None` once the shard is closed (resharded) and read to its end.
    iterator: Option<String>,
}

/// Reads a stream's shards with GetShardIterator and GetRecords, keeping each shard's iterator
/// between calls (GetShardIterator is limited to 5 calls per second per shard). After a
/// reshard, parent and child shards are read side by side (no wait for the parent's end), so
/// one key's order across the reshard is not guaranteed.
/// <https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetShardIterator.html>
pub struct KinesisReader {
    client: aws_sdk_kinesis::Client,
    stream: String,
    start: StartAt,
    positions: Mutex<HashMap<String, Position>>,
}

impl KinesisReader {
    pub fn new(client: aws_sdk_kinesis::Client, stream: &str, start: StartAt) -> Self {
        KinesisReader {
            client,
            stream: stream.to_owned(),
            start,
            positions: Mutex::new(HashMap::new()),
        }
    }

    async fn iterator(&self, shard: &str, after: Option<&str>) -> io::Result<Option<String>> {
        let request = self
            .client
            .get_shard_iterator()
            .stream_name(&self.stream)
            .shard_id(shard);
        let request = match (after, self.start) {
            (Some(seq), _) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(seq),
            (None, StartAt::TrimHorizon) => {
                request.shard_iterator_type(ShardIteratorType::TrimHorizon)
            }
            (None, StartAt::Latest) => request.shard_iterator_type(ShardIteratorType::Latest),
        };
        let out = request.send().await.map_err(|e| {
            io_error(format!(
                "GetShardIterator of {}/{shard}: {}",
                self.stream,
                describe(&e)
            ))
        })?;
        Ok(out.shard_iterator)
    }
}

impl ShardReader for KinesisReader {
    async fn shard_ids(&self) -> io::Result<Vec<String>> {
        let mut ids = Vec::new();
        let mut token: Option<String> = None;
        loop {
            // ListShards takes the stream name only on the first page.
            let request = match &token {
                Some(t) => self.client.list_shards().next_token(t),
                None => self.client.list_shards().stream_name(&self.stream),
            };
            let out = request.send().await.map_err(|e| {
                io_error(format!("ListShards of {}: {}", self.stream, describe(&e)))
            })?;
            ids.extend(out.shards().iter().map(|s| s.shard_id().to_owned()));
            token = out.next_token;
            if token.is_none() {
                return Ok(ids);
            }
        }
    }

    async fn read(&self, shard: &str, after: Option<&str>) -> io::Result<Vec<StreamRecord>> {
        let known = self
            .positions
            .lock()
            .expect("lock")
            .get(shard)
            .filter(|p| p.after.as_deref() == after)
            .cloned();
        let iterator = match known {
            Some(p) => p.iterator,
            None => self.iterator(shard, after).await?,
        };
        let Some(mut iterator) = iterator else {
            return Ok(Vec::new());
        };
        let mut expired_once = false;
        let out = loop {
            match self
                .client
                .get_records()
                .shard_iterator(&iterator)
                .limit(GET_RECORDS_MAX as i32)
                .send()
                .await
            {
                Ok(out) => break out,
                // Iterators expire after 5 minutes; a new one from the same position is equivalent.
                Err(e)
                    if !expired_once
                        && e.as_service_error()
                            .is_some_and(|s| s.is_expired_iterator_exception()) =>
                {
                    expired_once = true;
                    match self.iterator(shard, after).await? {
                        Some(i) => iterator = i,
                        None => return Ok(Vec::new()),
                    }
                }
                Err(e) => {
                    return Err(io_error(format!(
                        "GetRecords of {}/{shard}: {}",
                        self.stream,
                        describe(&e)
                    )));
                }
            }
        };
        let records: Vec<StreamRecord> = out
            .records
            .into_iter()
            .map(|r| StreamRecord {
                arrival_ms: r
                    .approximate_arrival_timestamp
                    .and_then(|t| t.to_millis().ok())
                    .unwrap_or_else(|| chrono::Utc::now().timestamp_millis()),
                partition_key: r.partition_key.unwrap_or_default(),
                explicit_hash_key: None,
                data: r.data.into_inner(),
                sequence_number: r.sequence_number,
            })
            .collect();
        let after = records
            .last()
            .map(|r| r.sequence_number.clone())
            .or_else(|| after.map(str::to_owned));
        self.positions.lock().expect("lock").insert(
            shard.to_owned(),
            Position {
                after,
                iterator: out.next_shard_iterator,
            },
        );
        Ok(records)
    }
}

/// A bucket, with a prefix for delivered objects and one for error records, like a delivery
/// stream's `Prefix` and `ErrorOutputPrefix`.
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    error_prefix: String,
}

impl S3Store {
    /// `prefix` goes in front of delivered objects' `YYYY/MM/DD/HH/...` keys and `error_prefix`
    /// in front of `processing-failed/...` keys.
    pub fn new(client: aws_sdk_s3::Client, bucket: &str, prefix: &str, error_prefix: &str) -> Self {
        S3Store {
            client,
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            error_prefix: error_prefix.to_owned(),
        }
    }
}

impl S3Store {
    /// Where deletions go: `deletions/` beside a `…data/` prefix (the stack's layout), else a
    /// `deletions/` folder under the prefix, so two delivery streams with their own prefixes
    /// keep their deletions apart.
    pub fn deletions_prefix(&self) -> String {
        match self.prefix.strip_suffix("data/") {
            Some(parent) => format!("{parent}{}", crate::bucket::DELETIONS_PREFIX),
            None => format!("{}{}", self.prefix, crate::bucket::DELETIONS_PREFIX),
        }
    }
}

impl ObjectStore for S3Store {
    async fn put(&self, key: &str, body: Vec<u8>) -> io::Result<()> {
        // Delivered keys start with the year; error outputs with their type's folder; deletions
        // with their area, beside the data as the stack's `!{partitionKeyFromLambda:area}/`
        // prefix puts them (see [`S3Store::deletions_prefix`]).
        let full = if key.starts_with(|c: char| c.is_ascii_digit()) {
            format!("{}{key}", self.prefix)
        } else if let Some(rest) = key.strip_prefix(crate::bucket::DELETIONS_PREFIX) {
            format!("{}{rest}", self.deletions_prefix())
        } else {
            format!("{}{key}", self.error_prefix)
        };
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&full)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| {
                io_error(format!(
                    "PutObject s3://{}/{full}: {}",
                    self.bucket,
                    describe(&e)
                ))
            })?;
        Ok(())
    }
}

/// What [`download`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Downloaded {
    /// Objects written under the directory.
    pub copied: usize,
    /// Objects not copied, because their key (relative to the prefix) cannot be a path under the
    /// directory (`..`, `//`, a trailing `/`…; see [`key_path`](crate::bucket::key_path)): why, one
    /// each, naming the key.
    pub refused: Vec<String>,
}

/// Copies every object under `s3://bucket/prefix` into `dir`, keys relative to the prefix, so
/// the report reads them like a local output directory. A stack's `data/` and `errors/` levels
/// are dropped, so its bucket reads like the local layout. A key that is not a plain relative
/// path is not fetched and nothing is written for it (it is listed in [`Downloaded::refused`]):
/// whoever can write to the bucket cannot write outside `dir`.
pub async fn download(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    dir: &Path,
) -> io::Result<Downloaded> {
    let local = crate::bucket::LocalBucket::new(dir);
    let mut done = Downloaded::default();
    let mut listing = ks_s3::Listing::new(client, bucket, prefix);
    while let Some(page) = listing.next_page().await {
        let page = page.map_err(|e| io_error(e.to_string()))?;
        for object in &page {
            let key = object.key.as_str();
            let relative = key
                .strip_prefix(prefix)
                .unwrap_or(key)
                .trim_start_matches('/');
            let relative = relative
                .strip_prefix("data/")
                .or_else(|| relative.strip_prefix("errors/"))
                .unwrap_or(relative);
            if let Err(e) = crate::bucket::key_path(dir, relative) {
                done.refused.push(format!("s3://{bucket}/{key}: {e}"));
                continue;
            }
            let body = client
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| io_error(format!("GetObject s3://{bucket}/{key}: {}", describe(&e))))?
                .body
                .collect()
                .await
                .map_err(|e| io_error(format!("reading s3://{bucket}/{key}: {e}")))?
                .into_bytes();
            local.put(relative, &body)?;
            done.copied += 1;
        }
    }
    Ok(done)
}

/// Invokes a function synchronously (RequestResponse) through the Lambda Invoke API.
/// <https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html>
pub struct LambdaProcessor {
    client: aws_sdk_lambda::Client,
    function: String,
}

impl LambdaProcessor {
    pub fn new(client: aws_sdk_lambda::Client, function: &str) -> Self {
        LambdaProcessor {
            client,
            function: function.to_owned(),
        }
    }
}

impl Processor for LambdaProcessor {
    async fn invoke(&self, request: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
        let out = self
            .client
            .invoke()
            .function_name(&self.function)
            .payload(aws_sdk_lambda::primitives::Blob::new(request))
            .send()
            .await
            .map_err(|e| {
                // The status and body say more than the SDK's "unhandled error".
                let raw = e.raw_response().map_or_else(String::new, |r| {
                    let body = r.body().bytes().unwrap_or_default();
                    let body = String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned();
                    format!(" (HTTP {}: {body})", r.status().as_u16())
                });
                InvokeError(format!("Invoke {}: {}{raw}", self.function, describe(&e)))
            })?;
        let payload = out.payload.map(|p| p.into_inner()).unwrap_or_default();
        // A function error is still HTTP 200; the header says the payload is an error report.
        if let Some(kind) = out.function_error {
            return Err(InvokeError(format!(
                "{} answered a function error ({kind}): {}",
                self.function,
                String::from_utf8_lossy(&payload)
            )));
        }
        Ok(payload)
    }
}
