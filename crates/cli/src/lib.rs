//! `kinesis-sentiment`: the command line over the project's engines. `main.rs` holds the flags
//! (clap) and nothing else; each command is a module here, and none holds domain logic.
//!
//! # Layout
//! - [`commands::demo`]: the whole pipeline in-process (synthetic posts, the producer's core,
//!   an in-process stream, the local Firehose, the lexicon transform) into a directory.
//! - [`commands::firehose`]: the local Firehose on real endpoints (Kinesis, Lambda Invoke, S3).
//! - [`commands::put`]: the terminal side of `put` (progress, Ctrl-C, summary, exit code).
//! - [`report`]: reads an output (a directory or a bucket) back and renders one HTML page.

pub mod commands;
pub mod report;
