//! The producer domain's own settings, read once from the environment at cold start: what one
//! run may do ([`ProduceSettings`]: packing, keying, delivery, budgets), where a source with no
//! cursor yet starts ([`StartPosition`]), what one invocation may narrow ([`Overrides`]), and
//! the embedded default source's ([`SyntheticConfig`]).
//! Each source, sink and cursor store reads its own settings in its adapter (`ks-sources`); the
//! Lambda composes them. A bad value stops the start with an error naming the variable.

use serde_json::Value;

use super::batch::{Keying, PackLimits};
use super::deliver::DeliverySettings;
use super::limits::{
    KPL_DEFAULT_AGGREGATION_MAX_BYTES, PUT_RECORDS_MAX_RECORDS,
    PUT_RECORDS_MAX_REQUEST_BYTES_CEILING,
};
use super::run::ProduceSettings;
pub use ks_kernel::env::ConfigError;
use ks_kernel::env::{Env, RetryVars};

/// `START_POSITION`: where a source with no cursor yet starts, like Kinesis' `LATEST` and
/// `TRIM_HORIZON` shard iterators. Once a source has a cursor, the cursor decides. The
/// synthetic source ignores it: with no cursor it starts at its first post.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StartPosition {
    /// What is newest now: Mastodon's newest page; an http-json API's first page only.
    #[default]
    Latest,
    /// The oldest the source serves, read forward within the budget: Mastodon from `min_id=0`;
    /// an http-json API from its first page through `next`.
    Oldest,
}

impl StartPosition {
    /// The values `START_POSITION` takes.
    pub const CHOICES: [(&'static str, StartPosition); 2] = [
        (StartPosition::Latest.as_str(), StartPosition::Latest),
        (StartPosition::Oldest.as_str(), StartPosition::Oldest),
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            StartPosition::Latest => "latest",
            StartPosition::Oldest => "oldest",
        }
    }
}

const PUT_RETRY_VARS: RetryVars = RetryVars {
    attempts: "PUT_MAX_ATTEMPTS",
    base: "PUT_BACKOFF_BASE_MS",
    cap: "PUT_BACKOFF_CAP_MS",
};
/// Request packing: the byte and record caps, and KPL aggregation.
fn read_limits<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
) -> Result<(PackLimits, Option<usize>), ConfigError> {
    let defaults = PackLimits::default();
    let max_request_bytes = env.number(
        "MAX_REQUEST_BYTES",
        defaults.max_request_bytes,
        1_024..=PUT_RECORDS_MAX_REQUEST_BYTES_CEILING,
    )?;
    let max_record_bytes = env.number(
        "MAX_RECORD_BYTES",
        defaults.max_record_bytes,
        1..=PUT_RECORDS_MAX_REQUEST_BYTES_CEILING,
    )?;
    if max_record_bytes > max_request_bytes {
        return Err(env.invalid("MAX_RECORD_BYTES", "must not exceed MAX_REQUEST_BYTES"));
    }
    let aggregation = if env.flag("AGGREGATION", false)? {
        let cap = env.number(
            "AGGREGATION_MAX_BYTES",
            KPL_DEFAULT_AGGREGATION_MAX_BYTES,
            64..=PUT_RECORDS_MAX_REQUEST_BYTES_CEILING,
        )?;
        if cap > max_record_bytes {
            return Err(env.invalid("AGGREGATION_MAX_BYTES", "must not exceed MAX_RECORD_BYTES"));
        }
        Some(cap)
    } else {
        None
    };
    let limits = PackLimits {
        max_records: env.number(
            "MAX_RECORDS_PER_REQUEST",
            defaults.max_records,
            1..=PUT_RECORDS_MAX_RECORDS,
        )?,
        max_request_bytes,
        max_record_bytes,
    };
    Ok((limits, aggregation))
}

impl ProduceSettings {
    /// Reads what one run may do: packing, keying, delivery and budgets.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<'_, F>) -> Result<Self, ConfigError> {
        let defaults = ProduceSettings::default();
        let (limits, aggregation) = read_limits(env)?;
        Ok(ProduceSettings {
            limits,
            keying: Keying {
                partition_key: env.pointer("PARTITION_KEY_POINTER")?,
                explicit_hash_key: env.pointer("EXPLICIT_HASH_KEY_POINTER")?,
            },
            aggregation,
            delivery: DeliverySettings {
                retry: env.retry(PUT_RETRY_VARS, &defaults.delivery.retry)?,
                call_timeout: env.millis(
                    "PUT_TIMEOUT_MS",
                    defaults.delivery.call_timeout,
                    100..=300_000,
                )?,
            },
            max_pages: env.number("MAX_PAGES", defaults.max_pages, 1..=10_000)?,
            max_records: env.number("MAX_RECORDS", defaults.max_records, 1..=1_000_000)?,
            put_reserve: env.millis("PUT_RESERVE_MS", defaults.put_reserve, 0..=900_000)?,
        })
    }
}

/// Settings one invocation's input may narrow (EventBridge Scheduler custom input, or a rule's
/// constant input): `{"max_pages": 2, "max_records": 100}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub max_pages: Option<u32>,
    pub max_records: Option<usize>,
}

/// The input keys [`Overrides`] reads.
pub const OVERRIDE_KEYS: [&str; 2] = ["max_pages", "max_records"];

impl Overrides {
    /// Reads overrides from an invocation's input. Anything that is not an object has none; keys
    /// it does not know are returned so they can be logged. A known key with a bad value is an
    /// error naming it.
    pub fn from_input(input: &Value) -> Result<(Overrides, Vec<String>), ConfigError> {
        let Some(obj) = input.as_object() else {
            return Ok((Overrides::default(), Vec::new()));
        };
        let number = |key: &'static str, max: u64| -> Result<Option<u64>, ConfigError> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_u64().filter(|n| (1..=max).contains(n)).map(Some).ok_or_else(|| ConfigError {
                    var: key,
                    value: v.to_string(),
                    reason: format!("the invocation input's {key} must be a whole number between 1 and {max}"),
                }),
            }
        };
        let overrides = Overrides {
            max_pages: number("max_pages", 10_000)?.map(|n| n as u32),
            max_records: number("max_records", 1_000_000)?.map(|n| n as usize),
        };
        let ignored = obj
            .keys()
            .filter(|k| !OVERRIDE_KEYS.contains(&k.as_str()))
            .cloned()
            .collect();
        Ok((overrides, ignored))
    }

    pub fn apply(&self, settings: &ProduceSettings) -> ProduceSettings {
        ProduceSettings {
            max_pages: self.max_pages.unwrap_or(settings.max_pages),
            max_records: self.max_records.unwrap_or(settings.max_records),
            ..settings.clone()
        }
    }
}

/// The synthetic source's settings (`SOURCE=synthetic`, the embedded default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticConfig {
    pub seed: u64,
    pub per_invocation: usize,
    pub rate_per_sec: u32,
    /// `SYNTHETIC_DELETE_EVERY`: every Nth item deletes an earlier post (0: none).
    pub delete_every: u64,
}

/// The synthetic source's defaults, written once.
pub const DEFAULT_SYNTHETIC_SEED: u64 = 42;
/// See [`DEFAULT_SYNTHETIC_SEED`].
pub const DEFAULT_SYNTHETIC_PER_INVOCATION: usize = 500;

impl SyntheticConfig {
    /// Reads `SYNTHETIC_SEED`, `SYNTHETIC_PER_INVOCATION` and `SYNTHETIC_RATE_PER_SEC`.
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &ks_kernel::env::Env<'_, F>,
    ) -> Result<Self, ks_kernel::env::ConfigError> {
        Ok(SyntheticConfig {
            seed: env.number("SYNTHETIC_SEED", DEFAULT_SYNTHETIC_SEED, 0..=u64::MAX)?,
            per_invocation: env.number(
                "SYNTHETIC_PER_INVOCATION",
                DEFAULT_SYNTHETIC_PER_INVOCATION,
                1..=1_000_000,
            )?,
            rate_per_sec: env.number(
                "SYNTHETIC_RATE_PER_SEC",
                crate::synthetic::DEFAULT_RATE_PER_SEC,
                1..=1_000_000,
            )?,
            delete_every: match env.number(
                "SYNTHETIC_DELETE_EVERY",
                crate::synthetic::DEFAULT_DELETE_EVERY,
                0..=1_000_000,
            )? {
                1 => return Err(env.invalid("SYNTHETIC_DELETE_EVERY", "0 (none) or at least 2")),
                n => n,
            },
        })
    }

    /// The cursor's key when `CURSOR_KEY` is unset: one cursor per seed.
    pub fn cursor_key(&self) -> String {
        format!("synthetic:{}", self.seed)
    }

    /// The source these settings describe, named `name` in logs and as its cursor's key.
    pub fn source(&self, name: String) -> crate::synthetic::SyntheticSource {
        crate::synthetic::SyntheticSource {
            name,
            seed: self.seed,
            per_invocation: self.per_invocation,
            rate_per_sec: self.rate_per_sec,
            delete_every: self.delete_every,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn produce_settings_default_when_nothing_is_set() {
        // GIVEN no variables WHEN read THEN the settings are the defaults
        let read = ProduceSettings::from_env(&Env(&ks_kernel::env::fixed(&[]))).unwrap();
        assert_eq!(read, ProduceSettings::default());
    }

    #[test]
    fn overrides_narrow_only_what_they_name() {
        // GIVEN an input with one override WHEN applied
        let (o, ignored) = Overrides::from_input(&json!({"max_pages": 2, "x": 1})).unwrap();
        let applied = o.apply(&ProduceSettings::default());
        // THEN that one changes, the rest stays, and the unknown key is reported
        assert_eq!(applied.max_pages, 2);
        assert_eq!(applied.max_records, ProduceSettings::default().max_records);
        assert_eq!(ignored, ["x"]);
    }
}
