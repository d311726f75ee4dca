//! Local stand-ins for the AWS pieces that have no emulator on a machine without Docker:
//! Comprehend's `BatchDetectSentiment` ([`comprehend`]) and the Lambda Runtime API
//! ([`runtime_api`]), which lets tests and benchmarks run a function binary as Lambda would.

pub mod comprehend;
pub mod kinesis;
pub mod runtime_api;
