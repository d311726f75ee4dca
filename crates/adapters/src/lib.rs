//! The stream producer's adapters: each implements a ks-core trait over a real service, and each
//! is tested against a real local endpoint (moto, a stand-in, or an HTTP server in the test).
//!
//! - [`kinesis::KinesisSink`]: `StreamSink` over Kinesis `PutRecords`.
//! - [`dynamodb::DynamoCursorStore`], [`file::FileCursorStore`]: `CursorStore`s.
//! - [`secrets::SsmSecrets`]: secrets from SSM Parameter Store, and Secrets Manager through it.
//! - [`mastodon::MastodonSource`], [`http_json::HttpJsonSource`]: `Source`s over HTTP, sharing
//!   the bounded fetcher in [`http`].

pub mod dynamodb;
pub mod emulator;
pub mod file;
pub mod html;
pub mod http;
pub mod http_json;
pub mod kinesis;
pub mod mastodon;
pub mod secrets;

/// The SDK's Display is terse ("dispatch failure"); the source chain says why.
pub fn describe<E: std::error::Error>(err: &E) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
