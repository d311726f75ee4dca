//! A local Kinesis Data Firehose delivery stream with a Lambda processor: the engine the demo
//! runs in-process and `kinesis-sentiment firehose` runs on real endpoints.
//!
//! # Layout
//! - [`firehose`]: the traits ([`firehose::ShardReader`], [`firehose::Processor`]),
//!   buffering by Firehose's hints, invocation with retries, the response-contract check, and
//!   the error records.
//! - [`delivery`]: the poll loop, stopping cleanly, and per-shard checkpoints.
//! - [`output`]: writing what was delivered, NDJSON or Parquet ([`parquet`]), and the error
//!   records' shapes.
//! - [`bucket`]: Firehose's key layout, [`bucket::ObjectStore`], and a directory laid out like
//!   a bucket.
//! - [`iceberg`]: the Apache Iceberg destination (Iceberg mode): `otfMetadata` routing, insert,
//!   update and delete by unique key, atomic commits to a local warehouse. Updates and deletes
//!   are copy-on-write (readable by every engine, pyiceberg included, unlike equality deletes):
//!   the cost is a rewrite of each data file holding a changed row, and a key → file map.
//! - [`stream`]: the in-process Kinesis stream (a `StreamSink` and a `ShardReader`).
//! - [`aws`] (feature `aws`): the SDK's Kinesis reader, the Lambda Invoke processor, the S3 store.

#[cfg(feature = "aws")]
pub mod aws;
pub mod bucket;
pub mod delivery;
pub mod firehose;
pub mod iceberg;
pub mod output;
/// The posts table's Parquet codec (`ks-parquet`).
pub use ks_parquet as parquet;
pub mod stream;
