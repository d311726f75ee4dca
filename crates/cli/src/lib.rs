//! `kinesis-sentiment`: the whole pipeline on one machine. The synthetic source feeds the
//! producer's core logic, which puts into an in-process Kinesis stream ([`stream`]); a local
//! Firehose ([`firehose`]) reads the shards, invokes the transform's core logic and writes a
//! directory laid out like the S3 bucket Firehose writes ([`bucket`]); [`report`] reads it back.
//! [`put`] backfills files into a real Kinesis stream with the producer's core logic.

pub mod bucket;
pub mod demo;
pub mod firehose;
pub mod put;
pub mod report;
pub mod stream;
