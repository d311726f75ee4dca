//! The Comprehend backend's settings (`SENTIMENT_BACKEND=comprehend`, `COMPREHEND_*`,
//! `MAX_DOCUMENT_CHARS`) and their reading.

use ks_kernel::env::{ConfigError, Env, RetryVars};
use ks_transform::config::CallSettings;
use ks_transform::limits::{COMPREHEND_MAX_DOCUMENT_BYTES, COMPREHEND_MAX_DOCUMENT_CHARS};
use ks_transform::transform::TransformSettings;

/// The variables of Comprehend's retry policy.
const RETRY_VARS: RetryVars = RetryVars {
    attempts: "COMPREHEND_MAX_ATTEMPTS",
    base: "COMPREHEND_BACKOFF_BASE_MS",
    cap: "COMPREHEND_BACKOFF_CAP_MS",
};

/// The Comprehend backend's settings (`SENTIMENT_BACKEND=comprehend`).
#[derive(Debug, Clone, PartialEq)]
pub struct ComprehendConfig {
    pub calls: CallSettings,
}

impl ComprehendConfig {
    /// Reads `MAX_DOCUMENT_CHARS` and the `COMPREHEND_*` variables.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<'_, F>) -> Result<Self, ConfigError> {
        Ok(ComprehendConfig {
            calls: read_calls(env, COMPREHEND_MAX_DOCUMENT_BYTES)?,
        })
    }
}

/// `MAX_DOCUMENT_CHARS` and the `COMPREHEND_*` call settings, with `ceiling` as the most
/// `MAX_DOCUMENT_BYTES` may be. The lexicon backend is configured by the same variables.
pub fn read_calls<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
    ceiling: usize,
) -> Result<CallSettings, ConfigError> {
    let defaults = TransformSettings::default();
    Ok(CallSettings {
        max_document_bytes_ceiling: ceiling,
        max_document_chars: env
            .optional_number("MAX_DOCUMENT_CHARS", 1..=COMPREHEND_MAX_DOCUMENT_CHARS)?,
        concurrency: env.number("COMPREHEND_CONCURRENCY", defaults.concurrency, 1..=128)?,
        retry: env.retry(RETRY_VARS, &defaults.retry)?,
        call_timeout: env.millis(
            "COMPREHEND_TIMEOUT_MS",
            defaults.call_timeout,
            100..=300_000,
        )?,
    })
}
