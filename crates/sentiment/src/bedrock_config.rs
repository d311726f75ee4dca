//! The Bedrock backend's settings (`SENTIMENT_BACKEND=bedrock`, `BEDROCK_*`) and their reading.

use std::time::Duration;

use ks_kernel::env::{ConfigError, Env, RetryVars};
use ks_transform::config::CallSettings;
use ks_transform::transform::TransformSettings;

/// Amazon Nova Micro, on demand: the cheapest model that follows a forced tool call.
pub const DEFAULT_BEDROCK_MODEL_ID: &str = "amazon.nova-micro-v1:0";
/// Posts per Converse call: the instruction and the tool schema are paid once per call, so
/// more posts amortise them; the answer grows with the posts, and a call that fails costs them
/// all. See the README's cost table.
pub const DEFAULT_BEDROCK_POSTS_PER_CALL: usize = 40;
/// The most posts one call may carry: the answer (~30 output tokens a post) must stay well
/// inside the smallest supported model's output limit (Nova Micro: 10,000 tokens).
pub const MAX_BEDROCK_POSTS_PER_CALL: usize = 200;
/// Characters of each post sent to Bedrock: a post is ≤ 300 graphemes, a review more.
pub const DEFAULT_BEDROCK_MAX_CHARS: usize = 1_000;
/// The most characters a post may be given (about 2,500 tokens).
pub const MAX_BEDROCK_MAX_CHARS: usize = 10_000;
/// Converse calls in flight, and each one's time limit (the answer is generated: slower than
/// Comprehend's).
pub const DEFAULT_BEDROCK_CONCURRENCY: usize = 4;
/// See [`DEFAULT_BEDROCK_CONCURRENCY`].
pub const DEFAULT_BEDROCK_TIMEOUT: Duration = Duration::from_millis(30_000);
/// The most a Bedrock document may be in bytes before `BEDROCK_MAX_CHARS` cuts it.
pub const BEDROCK_MAX_DOCUMENT_BYTES: usize = 1_000_000;

/// The variables of Bedrock's retry policy.
const RETRY_VARS: RetryVars = RetryVars {
    attempts: "BEDROCK_MAX_ATTEMPTS",
    base: "BEDROCK_BACKOFF_BASE_MS",
    cap: "BEDROCK_BACKOFF_CAP_MS",
};

/// The Bedrock backend's settings (`SENTIMENT_BACKEND=bedrock`, `BEDROCK_*`).
#[derive(Debug, Clone, PartialEq)]
pub struct BedrockConfig {
    /// A model id or inference profile id (or ARN), as Converse takes it.
    pub model_id: String,
    pub posts_per_call: usize,
    pub calls: CallSettings,
}

impl BedrockConfig {
    /// Reads the `BEDROCK_*` variables; Comprehend's billing cap is refused, not ignored.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<'_, F>) -> Result<Self, ConfigError> {
        if env.get("MAX_DOCUMENT_CHARS").is_some() {
            return Err(env.invalid(
                "MAX_DOCUMENT_CHARS",
                "caps what Comprehend bills; the bedrock backend reads BEDROCK_MAX_CHARS",
            ));
        }
        let defaults = TransformSettings::default();
        let calls = CallSettings {
            max_document_bytes_ceiling: BEDROCK_MAX_DOCUMENT_BYTES,
            max_document_chars: Some(env.number(
                "BEDROCK_MAX_CHARS",
                DEFAULT_BEDROCK_MAX_CHARS,
                1..=MAX_BEDROCK_MAX_CHARS,
            )?),
            concurrency: env.number("BEDROCK_CONCURRENCY", DEFAULT_BEDROCK_CONCURRENCY, 1..=64)?,
            retry: env.retry(RETRY_VARS, &defaults.retry)?,
            call_timeout: env.millis(
                "BEDROCK_TIMEOUT_MS",
                DEFAULT_BEDROCK_TIMEOUT,
                1_000..=300_000,
            )?,
        };
        Ok(BedrockConfig {
            model_id: env
                .get("BEDROCK_MODEL_ID")
                .unwrap_or_else(|| DEFAULT_BEDROCK_MODEL_ID.to_owned()),
            posts_per_call: env.number(
                "BEDROCK_POSTS_PER_CALL",
                DEFAULT_BEDROCK_POSTS_PER_CALL,
                1..=MAX_BEDROCK_POSTS_PER_CALL,
            )?,
            calls,
        })
    }
}
