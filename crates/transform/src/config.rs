//! The transform domain's own settings, read once from the environment at cold start: where
//! the text and its language are, the field the answer goes in, what happens to records that
//! cannot be scored, and dynamic partitioning. How the backend is called ([`CallSettings`]) is
//! read by the backend's adapter under its own variables; the Lambda composes the two. Every
//! variable is listed in the README; an invalid value stops the start with an error that names
//! the variable.

use std::time::Duration;

pub use ks_kernel::env::ConfigError;
use ks_kernel::env::Env;
use ks_kernel::retry::RetryPolicy;

use crate::language::LanguageDetection;
use crate::route::{DEFAULT_POSTS_TABLE, DEFAULT_PURGES_TABLE, Destination, IcebergTables};
use crate::text::{Pointer, normalize_language};
use crate::transform::{NoTextPolicy, NonJsonPolicy, OnSentimentError, TransformSettings};

/// How the configured backend is called and how much of each text it is given, as that
/// backend's own variables say (`COMPREHEND_*`, `BEDROCK_*`, `MAX_DOCUMENT_CHARS`).
#[derive(Debug, Clone, PartialEq)]
pub struct CallSettings {
    /// The most `MAX_DOCUMENT_BYTES` may be for this backend.
    pub max_document_bytes_ceiling: usize,
    pub max_document_chars: Option<usize>,
    pub concurrency: usize,
    pub retry: RetryPolicy,
    pub call_timeout: Duration,
}

impl TransformSettings {
    /// Reads the domain's own variables; `calls` are the backend's.
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &Env<'_, F>,
        calls: CallSettings,
    ) -> Result<Self, ConfigError> {
        let defaults = TransformSettings::default();
        let settings = TransformSettings {
            max_document_bytes: env.number(
                "MAX_DOCUMENT_BYTES",
                defaults.max_document_bytes,
                1..=calls.max_document_bytes_ceiling,
            )?,
            partition_keys: env.flag("PARTITION_KEYS", defaults.partition_keys)?,
            destination: read_destination(env)?,
            max_document_chars: calls.max_document_chars,
            concurrency: calls.concurrency,
            retry: calls.retry,
            call_timeout: calls.call_timeout,
            ..read_text_settings(env, defaults.clone())?
        };
        check_destination(env, read_policies(env, settings)?)
    }
}

/// `DESTINATION`, and on an Iceberg stack the tables records are routed to.
fn read_destination<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
) -> Result<Destination, ConfigError> {
    #[derive(Clone, Copy)]
    enum Choice {
        S3,
        Iceberg,
    }
    let choice = env.choice(
        "DESTINATION",
        Destination::default().as_str(),
        &[("s3", Choice::S3), ("iceberg", Choice::Iceberg)],
    )?;
    if let Choice::S3 = choice {
        return Ok(Destination::S3);
    }
    if env.get("ICEBERG_DATABASE").is_none() {
        return Err(env.invalid("ICEBERG_DATABASE", "required when DESTINATION=iceberg"));
    }
    Ok(Destination::Iceberg(IcebergTables {
        database: env.catalog_name("ICEBERG_DATABASE", "")?,
        posts: env.catalog_name("ICEBERG_POSTS_TABLE", DEFAULT_POSTS_TABLE)?,
        purges: env.catalog_name("ICEBERG_PURGES_TABLE", DEFAULT_PURGES_TABLE)?,
    }))
}

/// Refuses settings an Iceberg stack cannot honour: rows are JSON, and Firehose partitions an
/// Iceberg table by its own partition spec, not by keys from the transform.
fn check_destination<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
    settings: TransformSettings,
) -> Result<TransformSettings, ConfigError> {
    if let Destination::Iceberg(_) = settings.destination {
        if settings.non_json == NonJsonPolicy::PassThrough {
            return Err(env.invalid(
                "NON_JSON",
                "\"pass\" cannot be used with DESTINATION=iceberg: an Iceberg table takes JSON rows only",
            ));
        }
        if settings.partition_keys {
            return Err(env.invalid(
                "PARTITION_KEYS",
                "cannot be used with DESTINATION=iceberg: the table's partition spec partitions it",
            ));
        }
    }
    Ok(settings)
}

/// Where the text and its language are, and the field the answer goes in.
fn read_text_settings<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
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
            env.invalid("DEFAULT_LANGUAGE", "not a language any backend reads (ar, hi, ko, zh-TW, ja, zh, de, pt, en, it, fr, es, nl)")
        })?,
    };
    let language_detection = env.choice(
        "LANGUAGE_DETECTION",
        defaults.language_detection.as_str(),
        &[
            ("off", LanguageDetection::Off),
            ("reliable", LanguageDetection::Reliable),
            ("best", LanguageDetection::Best),
        ],
    )?;
    let field = env.get("SENTIMENT_FIELD").unwrap_or(defaults.field.clone());
    if field.is_empty() {
        return Err(env.invalid("SENTIMENT_FIELD", "must not be empty"));
    }
    Ok(TransformSettings {
        text_pointers,
        language_pointers,
        default_language,
        language_detection,
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
