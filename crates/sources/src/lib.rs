//! The producer's adapters: each implements one of `ks_producer`'s traits over a real service,
//! owns its settings (struct, defaults, env reader, limits) and is tested against a real local
//! endpoint (moto, a stand-in of the test kit, or an HTTP server in the test). This crate never
//! sees the transform: the crate graph keeps the two domains apart in every build.
//!
//! # Layout
//! - [`jetstream`]: Bluesky's Jetstream as a `Source` over a WebSocket (`JETSTREAM_*`).
//! - [`http`]: the bounded fetcher (`FETCH_*`) and the Mastodon (`MASTODON_*`) and http-json
//!   (`HTTP_JSON_*`) `Source`s.
//! - [`kinesis`]: `StreamSink` over Kinesis `PutRecords`.
//! - [`dynamodb`], [`file`]: `CursorStore`s (`CURSOR_TABLE`, `CURSOR_DIR`).
//! - [`ssm`]: secrets from SSM Parameter Store, and Secrets Manager through it.

#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "file")]
pub mod file;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "jetstream")]
pub mod jetstream;
/// Without the WebSocket client: the settings, frame and position reading alone (pure), for the
/// fuzz target and the offline demo build.
#[cfg(all(feature = "jetstream-frame", not(feature = "jetstream")))]
pub mod jetstream {
    pub mod config;
    pub mod event;
    pub mod position;

    pub use config::{DEFAULT_JETSTREAM_COLLECTIONS, DEFAULT_JETSTREAM_URL, JetstreamConfig};
}
#[cfg(feature = "kinesis")]
pub mod kinesis;
#[cfg(feature = "ssm")]
pub mod ssm;
pub mod url;
