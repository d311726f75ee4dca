//! Adapters: each implements a domain trait over a real service, one module per service, and
//! each is tested against a real local endpoint (moto, a stand-in of the test kit, or an HTTP
//! server in the test). One feature per service.
//!
//! # Layout
//! - [`aws::errors`]: the one classifier of AWS SDK errors, with each service's codes.
//! - [`comprehend`]: `SentimentAnalyzer` over Comprehend `BatchDetectSentiment`.
//! - [`bedrock`]: `SentimentAnalyzer` over Bedrock `Converse`, many posts a call;
//!   [`bedrock_answer`]: its instruction, tool schema and answer validation (pure).
//! - [`kinesis`]: `StreamSink` over Kinesis `PutRecords`.
//! - [`dynamodb`], [`file`]: `CursorStore`s.
//! - [`ssm`]: secrets from SSM Parameter Store, and Secrets Manager through it.
//! - [`http`]: the bounded fetcher and the Mastodon and http-json `Source`s.
//! - [`jetstream`]: Bluesky's Jetstream as a `Source` over a WebSocket.

pub mod aws;
#[cfg(feature = "bedrock")]
pub mod bedrock;
#[cfg(feature = "bedrock-answer")]
pub mod bedrock_answer;
#[cfg(feature = "comprehend")]
pub mod comprehend;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "file")]
pub mod file;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "jetstream")]
pub mod jetstream;
/// Without the WebSocket client: the frame and position reading alone (pure), for the fuzz target.
#[cfg(all(feature = "jetstream-frame", not(feature = "jetstream")))]
pub mod jetstream {
    pub mod event;
    pub mod position;
}
#[cfg(feature = "kinesis")]
pub mod kinesis;
#[cfg(feature = "ssm")]
pub mod ssm;

pub use ks_kernel::error::describe;
