//! What every AWS adapter shares, and nothing domain-specific: both domains' adapters (the
//! producer's `ks-sources`, the transform's `ks-sentiment`) and the command-line tools depend
//! on it, so it depends on neither domain.
//!
//! # Layout
//! - [`errors`]: the one classifier of SDK errors, with each service's codes.
//! - this module: the timeouts of calls whose callers have no deadline of their own.

use std::time::Duration;

use aws_smithy_types::timeout::TimeoutConfig;

pub mod errors;

/// How long an S3 call may wait for its connection, and then for each read: a stalled
/// transfer fails instead of hanging, while a large object still streams for as long as it
/// keeps moving (an operation timeout would cut it off).
pub const S3_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// See [`S3_CONNECT_TIMEOUT`].
pub const S3_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// S3's timeouts (see [`S3_CONNECT_TIMEOUT`]), for the command-line tools' S3 clients.
pub fn s3_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(S3_CONNECT_TIMEOUT)
        .read_timeout(S3_READ_TIMEOUT)
        .build()
}
