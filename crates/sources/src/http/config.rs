//! How the HTTP sources fetch (`FETCH_*`, `MAX_RESPONSE_BYTES`): the bounded fetcher's settings.

use std::time::Duration;

use ks_kernel::env::{ConfigError, Env, RetryVars};
use ks_kernel::retry::RetryPolicy;

/// How HTTP sources fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchSettings {
    pub timeout: Duration,
    pub max_response_bytes: usize,
    pub retry: RetryPolicy,
}

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            timeout: Duration::from_secs(10),
            max_response_bytes: 5 * 1024 * 1024,
            retry: RetryPolicy {
                max_attempts: 4,
                base: Duration::from_millis(200),
                cap: Duration::from_secs(5),
            },
        }
    }
}

const FETCH_RETRY_VARS: RetryVars = RetryVars {
    attempts: "FETCH_MAX_ATTEMPTS",
    base: "FETCH_BACKOFF_BASE_MS",
    cap: "FETCH_BACKOFF_CAP_MS",
};

impl FetchSettings {
    /// Reads `FETCH_*` and `MAX_RESPONSE_BYTES`.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<'_, F>) -> Result<Self, ConfigError> {
        let defaults = FetchSettings::default();
        Ok(FetchSettings {
            timeout: env.millis("FETCH_TIMEOUT_MS", defaults.timeout, 100..=300_000)?,
            max_response_bytes: env.number(
                "MAX_RESPONSE_BYTES",
                defaults.max_response_bytes,
                1_024..=256 * 1024 * 1024,
            )?,
            retry: env.retry(FETCH_RETRY_VARS, &defaults.retry)?,
        })
    }
}
