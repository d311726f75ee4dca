//! The transform Lambda's settings, read once from the environment at cold start: the chosen
//! backend's (read by its adapter through the [registry](crate::registry)), the domain's own
//! ([`TransformSettings`]) and the function's (deadline margin, metrics). Every variable is
//! listed in the README; an invalid value stops the start with an error that names the
//! variable.

use std::time::Duration;

pub use ks_kernel::env::ConfigError;
use ks_kernel::env::Env;
use ks_transform::limits::COMPREHEND_SENTIMENT_LANGUAGES;
use ks_transform::transform::TransformSettings;

use crate::registry::BackendConfig;

#[derive(Debug, Clone)]
pub struct TransformConfig {
    pub backend: BackendConfig,
    pub settings: TransformSettings,
    /// Time kept back from the Lambda deadline to answer Firehose.
    pub deadline_margin: Duration,
    pub metrics_namespace: String,
}

/// The defaults of the settings that belong to the function rather than to one part, written
/// once.
pub const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_millis(2_000);

impl TransformConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let backend = BackendConfig::from_env(&env)?;
        let settings = TransformSettings::from_env(&env, backend.calls())?;
        // The analyser's own `supports_language` decides, per record, which texts it scores;
        // but a default Comprehend cannot read would leave every untagged text unscored.
        let comprehend = matches!(backend, BackendConfig::Comprehend(_));
        if comprehend && !COMPREHEND_SENTIMENT_LANGUAGES.contains(&settings.default_language) {
            return Err(env.invalid(
                "DEFAULT_LANGUAGE",
                "not a language Comprehend's sentiment API reads (ar, hi, ko, zh-TW, ja, zh, de, pt, en, it, fr, es)",
            ));
        }
        Ok(TransformConfig {
            backend,
            settings,
            deadline_margin: env.deadline_margin(DEFAULT_DEADLINE_MARGIN, 0..=600_000)?,
            metrics_namespace: env.metrics_namespace(),
        })
    }
}

#[cfg(test)]
mod tests {
    use ks_transform::text::Pointer;
    use ks_transform::transform::{NoTextPolicy, NonJsonPolicy, OnSentimentError};

    use super::*;
    fn load(vars: &[(&str, &str)]) -> Result<TransformConfig, ConfigError> {
        TransformConfig::from_lookup(ks_kernel::env::fixed(vars))
    }

    #[test]
    fn defaults_need_no_variables() {
        let c = load(&[]).unwrap();
        assert!(matches!(c.backend, BackendConfig::Comprehend(_)));
        assert_eq!(c.settings.default_language, "en");
        assert_eq!(c.settings.max_document_bytes, 5_000);
        assert_eq!(c.settings.concurrency, 8);
        assert_eq!(c.settings.field, "sentiment");
        assert_eq!(c.settings.text_pointers[0].as_str(), "/text");
        assert!(!c.settings.partition_keys);
    }

    #[test]
    fn given_the_lexicon_backend_when_the_default_language_is_not_english_then_it_loads() {
        // GIVEN the offline backend and a non-English default (it analyses several languages)
        // WHEN the settings are read
        let c = load(&[("SENTIMENT_BACKEND", "lexicon"), ("DEFAULT_LANGUAGE", "pt")]).unwrap();
        // THEN they are accepted: the analyser's own supports_language decides per record
        assert!(matches!(c.backend, BackendConfig::Lexicon(_)));
        assert_eq!(c.settings.default_language, "pt");
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
        assert!(matches!(c.backend, BackendConfig::Lexicon(_)));
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
            // A backend's settings are read when it is the one chosen.
            let backend = if var.starts_with("BEDROCK_") {
                "bedrock"
            } else {
                "comprehend"
            };
            // The variable under test first: the lookup takes the first match.
            let err = load(&[(var, value), ("SENTIMENT_BACKEND", backend)]).unwrap_err();
            assert_eq!(err.var, var);
            let msg = err.to_string();
            assert!(msg.contains(var) && msg.contains(needle), "{msg}");
        }
    }

    #[test]
    fn given_destination_iceberg_when_read_then_the_tables_are_the_defaults_or_those_set() {
        use ks_transform::route::{Destination, IcebergTables};
        // GIVEN DESTINATION=iceberg and only the database WHEN read THEN the default tables
        let c = load(&[
            ("DESTINATION", "iceberg"),
            ("ICEBERG_DATABASE", "social_lake"),
        ])
        .unwrap();
        let tables = |database: &str, posts: &str, purges: &str| {
            Destination::Iceberg(IcebergTables {
                database: database.into(),
                posts: posts.into(),
                purges: purges.into(),
            })
        };
        assert_eq!(
            c.settings.destination,
            tables("social_lake", "posts", "account_purges")
        );
        // AND with every table named, those names
        let c = load(&[
            ("DESTINATION", "Iceberg"),
            ("ICEBERG_DATABASE", "lake"),
            ("ICEBERG_POSTS_TABLE", "bsky_posts"),
            ("ICEBERG_PURGES_TABLE", "bsky_purges"),
        ])
        .unwrap();
        assert_eq!(
            c.settings.destination,
            tables("lake", "bsky_posts", "bsky_purges")
        );
        // AND unset, or s3, the stack is an S3 one whatever the ICEBERG_* say
        for vars in [
            &[][..],
            &[("DESTINATION", "s3"), ("ICEBERG_DATABASE", "Not A Name")][..],
        ] {
            assert_eq!(load(vars).unwrap().settings.destination, Destination::S3);
        }
    }

    #[test]
    fn given_destination_iceberg_when_a_setting_cannot_be_honoured_then_it_is_named() {
        let iceberg = [("DESTINATION", "iceberg"), ("ICEBERG_DATABASE", "lake")];
        for (var, value, needle) in [
            ("DESTINATION", "glue", "expected one of: s3, iceberg"),
            ("ICEBERG_DATABASE", "", "required when DESTINATION=iceberg"),
            ("ICEBERG_DATABASE", "Lake", "lowercase letter"),
            ("ICEBERG_POSTS_TABLE", "my-posts", "only lowercase letters"),
            (
                "ICEBERG_PURGES_TABLE",
                "purges;drop",
                "only lowercase letters",
            ),
            ("NON_JSON", "pass", "JSON rows only"),
            ("PARTITION_KEYS", "true", "partition spec"),
        ] {
            // GIVEN an Iceberg stack and one variable set badly (first: the lookup takes the
            // first match) WHEN read THEN the error names that variable and why
            let mut vars = vec![(var, value)];
            vars.extend(iceberg);
            let err = load(&vars).unwrap_err();
            assert_eq!(err.var, var, "{err}");
            assert!(err.to_string().contains(needle), "{err}");
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
        let BackendConfig::Bedrock(bedrock) = &c.backend else {
            panic!("not bedrock: {:?}", c.backend);
        };
        assert_eq!(bedrock.model_id, "us.amazon.nova-micro-v1:0");
        assert_eq!(bedrock.posts_per_call, 25);
        assert_eq!(c.settings.max_document_chars, Some(300));
        assert_eq!(c.settings.concurrency, 2);
        assert_eq!(c.settings.call_timeout, Duration::from_millis(5_000));
        assert_eq!(c.settings.retry.max_attempts, 3);
        // AND a cap for Comprehend is read as such
        let c = load(&[("MAX_DOCUMENT_CHARS", "500")]).unwrap();
        assert_eq!(c.settings.max_document_chars, Some(500));
    }
}
