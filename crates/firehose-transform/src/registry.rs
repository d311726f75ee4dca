//! The one place that maps `SENTIMENT_BACKEND` to an analyzer: each backend's settings are read
//! by the adapter that owns them, and every question about a backend (its model, languages,
//! billing, batch size) is answered by the analyzer itself. Adding a backend is its module in
//! `ks-sentiment` (or its own crate), one variant here and its README rows.

use ks_kernel::env::{ConfigError, Env};
use ks_lexicon::{LEXICON_MAX_DOCUMENT_BYTES, Lexicon};
use ks_sentiment::bedrock::{BedrockAnalyzer, BedrockConfig};
use ks_sentiment::comprehend::{self, ComprehendAnalyzer, ComprehendConfig};
use ks_transform::config::CallSettings;
use ks_transform::sentiment::{Analysis, SentimentAnalyzer};
use ks_transform::transform::TransformSettings;

/// `SENTIMENT_BACKEND`: which analyzer scores the texts, with its settings.
#[derive(Debug, Clone, PartialEq)]
pub enum BackendConfig {
    Comprehend(ComprehendConfig),
    Bedrock(BedrockConfig),
    /// Offline lexicon analysers, one per language; called through the same settings as
    /// Comprehend.
    Lexicon(CallSettings),
}

/// `SENTIMENT_BACKEND`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BackendKind {
    Comprehend,
    Lexicon,
    Bedrock,
}

impl BackendConfig {
    /// Reads `SENTIMENT_BACKEND`, then the chosen backend's own variables.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<'_, F>) -> Result<Self, ConfigError> {
        let kind = env.choice(
            "SENTIMENT_BACKEND",
            "comprehend",
            &[
                ("comprehend", BackendKind::Comprehend),
                ("lexicon", BackendKind::Lexicon),
                ("bedrock", BackendKind::Bedrock),
            ],
        )?;
        Ok(match kind {
            BackendKind::Comprehend => BackendConfig::Comprehend(ComprehendConfig::from_env(env)?),
            BackendKind::Bedrock => BackendConfig::Bedrock(BedrockConfig::from_env(env)?),
            BackendKind::Lexicon => {
                BackendConfig::Lexicon(comprehend::read_calls(env, LEXICON_MAX_DOCUMENT_BYTES)?)
            }
        })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            BackendConfig::Comprehend(_) => "comprehend",
            BackendConfig::Lexicon(_) => "lexicon",
            BackendConfig::Bedrock(_) => "bedrock",
        }
    }

    /// How the backend is called, as its variables say.
    pub fn calls(&self) -> CallSettings {
        match self {
            BackendConfig::Comprehend(c) => c.calls.clone(),
            BackendConfig::Bedrock(b) => b.calls.clone(),
            BackendConfig::Lexicon(calls) => calls.clone(),
        }
    }

    /// The analyzer. The endpoints follow aws-config's resolution, so
    /// `AWS_ENDPOINT_URL_COMPREHEND` and `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` reach local
    /// stand-ins.
    pub async fn build(&self, settings: &TransformSettings) -> Analyzer {
        match self {
            BackendConfig::Comprehend(_) => {
                let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                let conf =
                    ComprehendAnalyzer::configure(aws_sdk_comprehend::config::Builder::from(&sdk))
                        .build();
                Analyzer::Comprehend(ComprehendAnalyzer::new(
                    aws_sdk_comprehend::Client::from_conf(conf),
                ))
            }
            BackendConfig::Bedrock(b) => {
                let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                let conf =
                    BedrockAnalyzer::configure(aws_sdk_bedrockruntime::config::Builder::from(&sdk))
                        .build();
                Analyzer::Bedrock(BedrockAnalyzer::new(
                    aws_sdk_bedrockruntime::Client::from_conf(conf),
                    &b.model_id,
                    b.posts_per_call,
                ))
            }
            // The texts are already cut to MAX_DOCUMENT_BYTES; the analyzer's own cap agrees.
            BackendConfig::Lexicon(_) => Analyzer::Lexicon(Box::new(Lexicon::with_max_bytes(
                settings.max_document_bytes,
            ))),
        }
    }
}

/// The configured analyzer as one type, so the handler is not generic.
pub enum Analyzer {
    Comprehend(ComprehendAnalyzer),
    /// Boxed: one table slot per language, much larger than the clients beside it.
    Lexicon(Box<Lexicon>),
    Bedrock(BedrockAnalyzer),
}

/// Calls `$call` on whichever analyzer this is.
macro_rules! each {
    ($self:ident, $a:ident => $call:expr) => {
        match $self {
            Analyzer::Comprehend($a) => $call,
            Analyzer::Lexicon($a) => $call,
            Analyzer::Bedrock($a) => $call,
        }
    };
}

impl SentimentAnalyzer for Analyzer {
    fn model(&self) -> &str {
        each!(self, a => a.model())
    }

    fn model_for(&self, language: &str) -> &str {
        each!(self, a => a.model_for(language))
    }

    fn supports_language(&self, language: &str) -> bool {
        each!(self, a => a.supports_language(language))
    }

    fn any_language(&self) -> bool {
        each!(self, a => a.any_language())
    }

    fn bills_units(&self) -> bool {
        each!(self, a => a.bills_units())
    }

    fn max_batch_documents(&self) -> usize {
        each!(self, a => a.max_batch_documents())
    }

    fn is_remote(&self) -> bool {
        each!(self, a => a.is_remote())
    }

    async fn analyze(&self, language: &str, texts: &[&str]) -> Analysis {
        each!(self, a => a.analyze(language, texts).await)
    }
}
