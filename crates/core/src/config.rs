//! The transform's settings, read once from the environment at cold start and validated.
//! Every variable is listed in the README; an invalid value stops the start with an error that
//! names the variable.

use std::str::FromStr;
use std::time::Duration;

use crate::limits::COMPREHEND_MAX_DOCUMENT_BYTES;
use crate::retry::RetryPolicy;
use crate::text::{Pointer, normalize_language};
use crate::transform::{NoTextPolicy, NonJsonPolicy, OnSentimentError, TransformSettings};

/// A setting that cannot be used, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {var}={value:?}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub reason: String,
}

/// Which analyzer scores the texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Comprehend,
    Lexicon,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Comprehend => "comprehend",
            Backend::Lexicon => "lexicon",
        }
    }
}

/// The most a lexicon document may be: it runs locally, so the cap only bounds CPU time.
pub const LEXICON_MAX_DOCUMENT_BYTES: usize = 1_000_000;

#[derive(Debug, Clone)]
pub struct TransformConfig {
    pub backend: Backend,
    pub settings: TransformSettings,
    /// Time kept back from the Lambda deadline to answer Firehose.
    pub deadline_margin: Duration,
    pub metrics_namespace: String,
}

impl TransformConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let backend = env.choice(
            "SENTIMENT_BACKEND",
            "comprehend",
            &[
                ("comprehend", Backend::Comprehend),
                ("lexicon", Backend::Lexicon),
            ],
        )?;
        let max_bytes_limit = match backend {
            Backend::Comprehend => COMPREHEND_MAX_DOCUMENT_BYTES,
            Backend::Lexicon => LEXICON_MAX_DOCUMENT_BYTES,
        };
        let text_pointers = env
            .get("TEXT_POINTERS")
            .map_or_else(|| Pointer::parse_list("/text"), |v| Pointer::parse_list(&v))
            .map_err(|e| env.invalid("TEXT_POINTERS", e.1))?;
        let language_pointers = match env.get("LANGUAGE_POINTER") {
            None => Vec::new(),
            Some(v) => Pointer::parse_list(&v).map_err(|e| env.invalid("LANGUAGE_POINTER", e.1))?,
        };
        let default_language = match env.get("DEFAULT_LANGUAGE") {
            None => "en",
            Some(v) => normalize_language(&v).ok_or_else(|| {
                env.invalid("DEFAULT_LANGUAGE", "not a language Comprehend's sentiment API supports (ar, hi, ko, zh-TW, ja, zh, de, pt, en, it, fr, es)")
            })?,
        };
        if backend == Backend::Lexicon && default_language != "en" {
            return Err(env.invalid(
                "DEFAULT_LANGUAGE",
                "the lexicon backend analyses English only",
            ));
        }
        let field = env
            .get("SENTIMENT_FIELD")
            .unwrap_or_else(|| "sentiment".to_owned());
        if field.is_empty() {
            return Err(env.invalid("SENTIMENT_FIELD", "must not be empty"));
        }
        let base = env.number("COMPREHEND_BACKOFF_BASE_MS", 50, 1..=60_000)?;
        let cap = env.number("COMPREHEND_BACKOFF_CAP_MS", 2_000, 1..=300_000)?;
        if cap < base {
            return Err(env.invalid(
                "COMPREHEND_BACKOFF_CAP_MS",
                "must not be below COMPREHEND_BACKOFF_BASE_MS",
            ));
        }
        let settings = TransformSettings {
            text_pointers,
            language_pointers,
            default_language,
            max_document_bytes: env.number(
                "MAX_DOCUMENT_BYTES",
                COMPREHEND_MAX_DOCUMENT_BYTES as u64,
                1..=max_bytes_limit as u64,
            )? as usize,
            concurrency: env.number("COMPREHEND_CONCURRENCY", 8, 1..=128)? as usize,
            retry: RetryPolicy {
                max_attempts: env.number("COMPREHEND_MAX_ATTEMPTS", 6, 1..=50)? as u32,
                base: Duration::from_millis(base),
                cap: Duration::from_millis(cap),
            },
            call_timeout: Duration::from_millis(env.number(
                "COMPREHEND_TIMEOUT_MS",
                10_000,
                100..=300_000,
            )?),
            on_sentiment_error: env.choice(
                "ON_SENTIMENT_ERROR",
                "deliver",
                &[
                    ("deliver", OnSentimentError::Deliver),
                    ("fail", OnSentimentError::Fail),
                ],
            )?,
            non_json: env.choice(
                "NON_JSON",
                "fail",
                &[
                    ("fail", NonJsonPolicy::Fail),
                    ("pass", NonJsonPolicy::PassThrough),
                ],
            )?,
            no_text: env.choice(
                "NO_TEXT",
                "deliver",
                &[
                    ("deliver", NoTextPolicy::Deliver),
                    ("drop", NoTextPolicy::Drop),
                ],
            )?,
            field,
            partition_keys: env.flag("PARTITION_KEYS", false)?,
            ..TransformSettings::default()
        };
        Ok(TransformConfig {
            backend,
            settings,
            deadline_margin: Duration::from_millis(env.number(
                "DEADLINE_MARGIN_MS",
                2_000,
                0..=600_000,
            )?),
            metrics_namespace: env
                .get("METRICS_NAMESPACE")
                .unwrap_or_else(|| "KinesisSentiment".to_owned()),
        })
    }
}

/// Reads variables, treating empty values as unset (templates often pass ""). Shared by every
/// function's config so they validate and word their errors alike.
pub(crate) struct Env<'a, F: Fn(&str) -> Option<String>>(pub(crate) &'a F);

impl<F: Fn(&str) -> Option<String>> Env<'_, F> {
    pub(crate) fn get(&self, var: &str) -> Option<String> {
        (self.0)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn invalid(&self, var: &'static str, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            var,
            value: self.get(var).unwrap_or_default(),
            reason: reason.into(),
        }
    }

    pub(crate) fn number<T>(
        &self,
        var: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let Some(raw) = self.get(var) else {
            return Ok(default);
        };
        let n: T = raw
            .parse()
            .map_err(|_| self.invalid(var, "not a whole number"))?;
        if !range.contains(&n) {
            return Err(self.invalid(
                var,
                format!("must be between {} and {}", range.start(), range.end()),
            ));
        }
        Ok(n)
    }

    pub(crate) fn choice<T: Copy>(
        &self,
        var: &'static str,
        default: &str,
        options: &[(&str, T)],
    ) -> Result<T, ConfigError> {
        let raw = self
            .get(var)
            .unwrap_or_else(|| default.to_owned())
            .to_ascii_lowercase();
        options
            .iter()
            .find(|(name, _)| *name == raw)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
                self.invalid(var, format!("expected one of: {}", names.join(", ")))
            })
    }

    /// `true` or `false`.
    pub(crate) fn flag(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        self.choice(
            var,
            if default { "true" } else { "false" },
            &[("false", false), ("true", true)],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<TransformConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TransformConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_need_no_variables() {
        let c = load(&[]).unwrap();
        assert_eq!(c.backend, Backend::Comprehend);
        assert_eq!(c.settings.default_language, "en");
        assert_eq!(c.settings.max_document_bytes, 5_000);
        assert_eq!(c.settings.concurrency, 8);
        assert_eq!(c.settings.field, "sentiment");
        assert_eq!(c.settings.text_pointers[0].as_str(), "/text");
        assert!(!c.settings.partition_keys);
    }

    #[test]
    fn every_setting_is_read() {
        let c = load(&[
            ("SENTIMENT_BACKEND", "Lexicon"),
            ("TEXT_POINTERS", "/extended_tweet/full_text, /text"),
            ("LANGUAGE_POINTER", "/lang,/language"),
            ("MAX_DOCUMENT_BYTES", "20000"),
            ("COMPREHEND_CONCURRENCY", "16"),
            ("COMPREHEND_MAX_ATTEMPTS", "3"),
            ("COMPREHEND_TIMEOUT_MS", "500"),
            ("ON_SENTIMENT_ERROR", "fail"),
            ("NON_JSON", "pass"),
            ("NO_TEXT", "drop"),
            ("SENTIMENT_FIELD", "mood"),
            ("PARTITION_KEYS", "true"),
            ("DEADLINE_MARGIN_MS", "100"),
            ("METRICS_NAMESPACE", "X"),
        ])
        .unwrap();
        assert_eq!(c.backend, Backend::Lexicon);
        assert_eq!(c.settings.text_pointers.len(), 2);
        let langs: Vec<&str> = c
            .settings
            .language_pointers
            .iter()
            .map(Pointer::as_str)
            .collect();
        assert_eq!(langs, ["/lang", "/language"]);
        assert_eq!(c.settings.max_document_bytes, 20_000);
        assert_eq!(c.settings.concurrency, 16);
        assert_eq!(c.settings.retry.max_attempts, 3);
        assert_eq!(c.settings.call_timeout, Duration::from_millis(500));
        assert_eq!(c.settings.on_sentiment_error, OnSentimentError::Fail);
        assert_eq!(c.settings.non_json, NonJsonPolicy::PassThrough);
        assert_eq!(c.settings.no_text, NoTextPolicy::Drop);
        assert_eq!(c.settings.field, "mood");
        assert!(c.settings.partition_keys);
        assert_eq!(c.deadline_margin, Duration::from_millis(100));
        assert_eq!(c.metrics_namespace, "X");
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value, needle) in [
            (
                "SENTIMENT_BACKEND",
                "vader",
                "expected one of: comprehend, lexicon",
            ),
            ("MAX_DOCUMENT_BYTES", "6000", "between 1 and 5000"),
            ("MAX_DOCUMENT_BYTES", "lots", "not a whole number"),
            ("COMPREHEND_CONCURRENCY", "0", "between 1 and 128"),
            ("TEXT_POINTERS", "text", "start with '/'"),
            ("LANGUAGE_POINTER", "lang", "start with '/'"),
            ("DEFAULT_LANGUAGE", "nl", "not a language"),
            ("ON_SENTIMENT_ERROR", "ignore", "deliver, fail"),
            ("PARTITION_KEYS", "yes", "false, true"),
        ] {
            let err = load(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var);
            let msg = err.to_string();
            assert!(msg.contains(var) && msg.contains(needle), "{msg}");
        }
    }

    #[test]
    fn cross_checks_are_enforced() {
        let err = load(&[
            ("COMPREHEND_BACKOFF_BASE_MS", "500"),
            ("COMPREHEND_BACKOFF_CAP_MS", "100"),
        ])
        .unwrap_err();
        assert_eq!(err.var, "COMPREHEND_BACKOFF_CAP_MS");
        let err =
            load(&[("SENTIMENT_BACKEND", "lexicon"), ("DEFAULT_LANGUAGE", "de")]).unwrap_err();
        assert_eq!(err.var, "DEFAULT_LANGUAGE");
    }
}
