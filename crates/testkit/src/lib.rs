//! The test kit: what the tests, benchmarks and local runs stand up in place of AWS. A
//! dev-dependency only: no shipped crate depends on it.
//!
//! # Layout
//! - [`comprehend`]: Comprehend's `BatchDetectSentiment` (awsJson1_1, real limits, injectable
//!   throttling / 500s / latency); also the `comprehend-standin` binary.
//! - [`bedrock`]: Bedrock Runtime `Converse` (restJson1, SigV4, request shape checked, tool
//!   answers from the keyword rule, injectable faults); also the `bedrock-standin` binary.
//! - [`jetstream`]: a Bluesky Jetstream instance over a real WebSocket (replay, filters, event
//!   kinds, clock skew between instances, injected closes, garbage, oversize frames, stalls);
//!   also the `jetstream-standin` binary.
//! - [`kinesis`]: Kinesis `PutRecords` with injected partial failures.
//! - [`mastodon`]: a Mastodon server's instance document and timelines, applying 4.5's
//!   `timelines_access` settings as its controllers do.
//! - [`readme`]: the READMEs' settings tables, for the tests that hold them to the code.
//! - [`quota`]: a token-bucket service quota both sentiment stand-ins can enforce.
//! - [`runtime_api`]: the Lambda Runtime API, so a function binary runs as Lambda runs it.
//! - [`aws`]: the region and test credentials of every local endpoint, for SDK clients
//!   ([`local_sdk_config!`], [`local_s3_client!`]) and spawned binaries.
//! - [`emulator`]: moto's server on a free loopback port, and stream helpers over it.
//! - [`proc`]: a child process run with its stdin given, and a process's `/proc/<pid>/status`
//!   fields (the benchmarks' peak RSS).
//! - [`serve`]: what every stand-in shares to run: a loopback listener, the server in the
//!   background, shutdown on drop; and the stand-in binaries' `[PORT]` argument and start line.

pub mod aws;
pub mod bedrock;
pub mod comprehend;
pub mod emulator;
pub mod jetstream;
pub mod kinesis;
pub mod mastodon;
pub mod proc;
pub mod quota;
pub mod readme;
pub mod runtime_api;
pub mod serve;

/// A stand-in's faults as the default with a change, in one expression:
/// `Faults::with(|f| f.throttle_every = 1)`. One copy of the struct-update set-up every fault
/// test would otherwise spell out.
pub trait With: Default {
    fn with(change: impl FnOnce(&mut Self)) -> Self {
        let mut value = Self::default();
        change(&mut value);
        value
    }
}

impl With for bedrock::Faults {}
impl With for comprehend::Faults {}
impl With for jetstream::Faults {}
impl With for kinesis::Faults {}
