//! The transform's settings, read once from the environment at cold start and validated.
//! Every variable is listed in the README; an invalid value stops the start with an error that
//! names the variable.

use std::time::Duration;

pub use ks_kernel::env::ConfigError;
use ks_kernel::env::{Env, RetryVars};

use crate::limits::{COMPREHEND_MAX_DOCUMENT_BYTES, COMPREHEND_MAX_DOCUMENT_CHARS};
use crate::text::{Pointer, normalize_language};
use crate::transform::{NoTextPolicy, NonJsonPolicy, OnSentimentError, TransformSettings};

/// Which analyzer scores the texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Comprehend,
    Lexicon,
    Bedrock,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Comprehend => "comprehend",
            Backend::Lexicon => "lexicon",
            Backend::Bedrock => "bedrock",
        }
    }
}

/// How the Bedrock backend calls its model (`BEDROCK_*`); read whatever the backend, used by
/// `bedrock` only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BedrockSettings {
    /// A model id or inference profile id (or ARN), as Converse takes it.
    pub model_id: String,
    pub posts_per_call: usize,
}

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

/// The most a lexicon (or Bedrock) document may be, in bytes: the lexicon runs locally, so the
/// cap only bounds CPU time; Bedrock's posts are cut by characters (`BEDROCK_MAX_CHARS`).
pub const LEXICON_MAX_DOCUMENT_BYTES: usize = 1_000_000;

#[derive(Debug, Clone)]
pub struct TransformConfig {
    pub backend: Backend,
    pub bedrock: BedrockSettings,
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
/// The same for Bedrock.
const BEDROCK_RETRY_VARS: RetryVars = RetryVars {
    attempts: "BEDROCK_MAX_ATTEMPTS",
    base: "BEDROCK_BACKOFF_BASE_MS",
    cap: "BEDROCK_BACKOFF_CAP_MS",
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
                ("bedrock", Backend::Bedrock),
            ],
        )?;
        let settings = TransformSettings {
            max_document_bytes: max_document_bytes(&env, backend, &defaults)?,
            partition_keys: env.flag("PARTITION_KEYS", defaults.partition_keys)?,
            ..read_text_settings(&env, backend, defaults.clone())?
        };
        let settings = match backend {
            Backend::Bedrock => read_bedrock_calls(&env, settings)?,
            Backend::Comprehend | Backend::Lexicon => TransformSettings {
                max_document_chars: env
                    .optional_number("MAX_DOCUMENT_CHARS", 1..=COMPREHEND_MAX_DOCUMENT_CHARS)?,
                concurrency: env.number("COMPREHEND_CONCURRENCY", defaults.concurrency, 1..=128)?,
                retry: env.retry(RETRY_VARS, &defaults.retry)?,
                call_timeout: env.millis(
                    "COMPREHEND_TIMEOUT_MS",
                    defaults.call_timeout,
                    100..=300_000,
                )?,
                ..settings
            },
        };
        Ok(TransformConfig {
            backend,
            bedrock: BedrockSettings {
                model_id: env
                    .get("BEDROCK_MODEL_ID")
                    .unwrap_or_else(|| DEFAULT_BEDROCK_MODEL_ID.to_owned()),
                posts_per_call: env.number(
                    "BEDROCK_POSTS_PER_CALL",
                    DEFAULT_BEDROCK_POSTS_PER_CALL,
                    1..=MAX_BEDROCK_POSTS_PER_CALL,
                )?,
            },
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

/// The Bedrock backend's per-call settings: its own names, defaults and ranges.
fn read_bedrock_calls<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
    settings: TransformSettings,
) -> Result<TransformSettings, ConfigError> {
    if env.get("MAX_DOCUMENT_CHARS").is_some() {
        return Err(env.invalid(
            "MAX_DOCUMENT_CHARS",
            "caps what Comprehend bills; the bedrock backend reads BEDROCK_MAX_CHARS",
        ));
    }
    Ok(TransformSettings {
        max_document_chars: Some(env.number(
            "BEDROCK_MAX_CHARS",
            DEFAULT_BEDROCK_MAX_CHARS,
            1..=MAX_BEDROCK_MAX_CHARS,
        )?),
        concurrency: env.number("BEDROCK_CONCURRENCY", DEFAULT_BEDROCK_CONCURRENCY, 1..=64)?,
        retry: env.retry(BEDROCK_RETRY_VARS, &settings.retry)?,
        call_timeout: env.millis(
            "BEDROCK_TIMEOUT_MS",
            DEFAULT_BEDROCK_TIMEOUT,
            1_000..=300_000,
        )?,
        ..settings
    })
}

/// `MAX_DOCUMENT_BYTES`, whose ceiling depends on the backend.
fn max_document_bytes<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
    backend: Backend,
    defaults: &TransformSettings,
) -> Result<usize, ConfigError> {
    let ceiling = match backend {
        Backend::Comprehend => COMPREHEND_MAX_DOCUMENT_BYTES,
        Backend::Lexicon | Backend::Bedrock => LEXICON_MAX_DOCUMENT_BYTES,
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
            ("MAX_DOCUMENT_CHARS", "5001", "between 1 and 5000"),
            ("MAX_DOCUMENT_CHARS", "0", "between 1 and 5000"),
            ("BEDROCK_POSTS_PER_CALL", "201", "between 1 and 200"),
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
        let err = load(&[
            ("SENTIMENT_BACKEND", "bedrock"),
            ("MAX_DOCUMENT_CHARS", "500"),
        ])
        .unwrap_err();
        assert_eq!(err.var, "MAX_DOCUMENT_CHARS");
        let err =
            load(&[("SENTIMENT_BACKEND", "bedrock"), ("BEDROCK_MAX_CHARS", "0")]).unwrap_err();
        assert_eq!(err.var, "BEDROCK_MAX_CHARS");
    }

    #[test]
    fn the_bedrock_backend_reads_its_own_settings() {
        // GIVEN SENTIMENT_BACKEND=bedrock and its settings
        let c = load(&[
            ("SENTIMENT_BACKEND", "bedrock"),
            ("BEDROCK_MODEL_ID", "us.amazon.nova-micro-v1:0"),
            ("BEDROCK_POSTS_PER_CALL", "25"),
            ("BEDROCK_MAX_CHARS", "300"),
            ("BEDROCK_CONCURRENCY", "2"),
            ("BEDROCK_TIMEOUT_MS", "5000"),
            ("BEDROCK_MAX_ATTEMPTS", "3"),
            ("COMPREHEND_CONCURRENCY", "99"),
        ])
        .unwrap();
        // THEN they are used, and Comprehend's are not
        assert_eq!(c.backend, Backend::Bedrock);
        assert_eq!(c.bedrock.model_id, "us.amazon.nova-micro-v1:0");
        assert_eq!(c.bedrock.posts_per_call, 25);
        assert_eq!(c.settings.max_document_chars, Some(300));
        assert_eq!(c.settings.concurrency, 2);
        assert_eq!(c.settings.call_timeout, Duration::from_millis(5_000));
        assert_eq!(c.settings.retry.max_attempts, 3);
        // AND a cap for Comprehend is read as such
        let c = load(&[("MAX_DOCUMENT_CHARS", "500")]).unwrap();
        assert_eq!(c.settings.max_document_chars, Some(500));
    }
}
