//! `kinesis-sentiment`: the whole pipeline on one machine. The synthetic source feeds the
//! producer's core logic, which puts into an in-process Kinesis stream ([`stream`]); a local
//! Firehose ([`firehose`]) reads the shards, invokes the transform's core logic and writes a
//! directory laid out like the S3 bucket Firehose writes ([`bucket`]); [`report`] reads it back.
//! The same local Firehose runs against real endpoints ([`delivery`], and [`aws`] with the `aws`
//! feature): a Kinesis stream, a function behind the Lambda Invoke API, a bucket.
//! [`put`] backfills files into a real Kinesis stream with the producer's core logic.

#[cfg(feature = "aws")]
pub mod aws;
pub mod bucket;
pub mod delivery;
pub mod demo;
pub mod firehose;
pub mod output;
pub mod parquet;
#[cfg(feature = "aws")]
pub mod put;
pub mod report;
pub mod stream;
