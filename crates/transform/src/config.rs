//! The transform's settings, read once from the environment at cold start and validated.
//! Every variable is listed in the README; an invalid value stops the start with an error that
//! names the variable.

use std::time::Duration;

pub use ks_kernel::env::ConfigError;
use ks_kernel::env::{Env, RetryVars};

use crate::limits::COMPREHEND_MAX_DOCUMENT_BYTES;
use crate::text::{Pointer, normalize_language};
use crate::transform::{NoTextPolicy, NonJsonPolicy, OnSentimentError, TransformSettings};

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

/// The defaults of the settings that are not in [`TransformSettings`], written once.
pub const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_millis(2_000);
/// See [`DEFAULT_DEADLINE_MARGIN`].
pub const DEFAULT_METRICS_NAMESPACE: &str = "KinesisSentiment";

/// The variables of the analyzer's retry policy.
const RETRY_VARS: RetryVars = RetryVars {
    attempts: "COMPREHEND_MAX_ATTEMPTS",
    base: "COMPREHEND_BACKOFF_BASE_MS",
    cap: "COMPREHEND_BACKOFF_CAP_MS",
};

impl TransformConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let defaults = TransformSettings::default();
        let backend = env.choice(
            "SENTIMENT_BACKEND",
            Backend::Comprehend.as_str(),
            &[
                ("comprehend", Backend::Comprehend),
                ("lexicon", Backend::Lexicon),
            ],
        )?;
        let settings = TransformSettings {
            max_document_bytes: max_document_bytes(&env, backend, &defaults)?,
            concurrency: env.number("COMPREHEND_CONCURRENCY", defaults.concurrency, 1..=128)?,
            retry: env.retry(RETRY_VARS, &defaults.retry)?,
            call_timeout: env.millis(
                "COMPREHEND_TIMEOUT_MS",
                defaults.call_timeout,
                100..=300_000,
            )?,
            partition_keys: env.flag("PARTITION_KEYS", defaults.partition_keys)?,
            ..read_text_settings(&env, backend, defaults)?
        };
        Ok(TransformConfig {
            backend,
            settings: read_policies(&env, settings)?,
            deadline_margin: env.millis(
                "DEADLINE_MARGIN_MS",
                DEFAULT_DEADLINE_MARGIN,
                0..=600_000,
            )?,
            metrics_namespace: env
                .get("METRICS_NAMESPACE")
                .unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_owned()),
        })
    }
}

/// `MAX_DOCUMENT_BYTES`, whose ceiling depends on the backend.
fn max_document_bytes<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
    backend: Backend,
    defaults: &TransformSettings,
) -> Result<usize, ConfigError> {
    let ceiling = match backend {
        Backend::Comprehend => COMPREHEND_MAX_DOCUMENT_BYTES,
        Backend::Lexicon => LEXICON_MAX_DOCUMENT_BYTES,
    };
    env.number(
        "MAX_DOCUMENT_BYTES",
        defaults.max_document_bytes,
        1..=ceiling,
    )
}

/// Where the text and its language are, and the field the answer goes in.
fn read_text_settings<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
    backend: Backend,
    defaults: TransformSettings,
) -> Result<TransformSettings, ConfigError> {
    let text_pointers = match env.get("TEXT_POINTERS") {
        None => defaults.text_pointers.clone(),
        Some(v) => Pointer::parse_list(&v).map_err(|e| env.invalid("TEXT_POINTERS", e.1))?,
    };
    let language_pointers = match env.get("LANGUAGE_POINTER") {
        None => defaults.language_pointers.clone(),
        Some(v) => Pointer::parse_list(&v).map_err(|e| env.invalid("LANGUAGE_POINTER", e.1))?,
    };
    let default_language = match env.get("DEFAULT_LANGUAGE") {
        None => defaults.default_language,
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
    let field = env.get("SENTIMENT_FIELD").unwrap_or(defaults.field.clone());
    if field.is_empty() {
        return Err(env.invalid("SENTIMENT_FIELD", "must not be empty"));
    }
    Ok(TransformSettings {
        text_pointers,
        language_pointers,
        default_language,
        field,
        ..defaults
    })
}

/// What happens to records that cannot be scored, are not JSON, or have no text.
fn read_policies<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
    settings: TransformSettings,
) -> Result<TransformSettings, ConfigError> {
    Ok(TransformSettings {
        on_sentiment_error: env.choice(
            "ON_SENTIMENT_ERROR",
            settings.on_sentiment_error.as_str(),
            &[
                ("deliver", OnSentimentError::Deliver),
                ("fail", OnSentimentError::Fail),
            ],
        )?,
        non_json: env.choice(
            "NON_JSON",
            settings.non_json.as_str(),
            &[
                ("fail", NonJsonPolicy::Fail),
                ("pass", NonJsonPolicy::PassThrough),
            ],
        )?,
        no_text: env.choice(
            "NO_TEXT",
            settings.no_text.as_str(),
            &[
                ("deliver", NoTextPolicy::Deliver),
                ("drop", NoTextPolicy::Drop),
            ],
        )?,
        ..settings
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    fn load(vars: &[(&str, &str)]) -> Result<TransformConfig, ConfigError> {
        TransformConfig::from_lookup(ks_kernel::env::fixed(vars))
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
