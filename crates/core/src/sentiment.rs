//! What a sentiment analyzer answers, and the trait the adapters implement.

use std::future::Future;

use serde::Serialize;

/// The overall sentiment of one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Label {
    Positive,
    Negative,
    Neutral,
    Mixed,
}

impl Label {
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Positive => "POSITIVE",
            Label::Negative => "NEGATIVE",
            Label::Neutral => "NEUTRAL",
            Label::Mixed => "MIXED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "POSITIVE" => Some(Label::Positive),
            "NEGATIVE" => Some(Label::Negative),
            "NEUTRAL" => Some(Label::Neutral),
            "MIXED" => Some(Label::Mixed),
            _ => None,
        }
    }
}

/// Confidence per label, each in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Scores {
    pub positive: f64,
    pub negative: f64,
    pub neutral: f64,
    pub mixed: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sentiment {
    pub label: Label,
    pub scores: Scores,
}

/// One document the analyzer could not score (Comprehend's `ErrorList` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocError {
    pub code: String,
    pub message: String,
    /// Worth sending again in a later call (an internal error, not a bad document).
    pub retryable: bool,
}

/// A failed call, classified so the caller knows whether to try again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalyzerError {
    #[error("throttled: {0}")]
    Throttled(String),
    #[error("transient failure: {0}")]
    Transient(String),
    #[error("timed out after {0} ms")]
    Timeout(u64),
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl AnalyzerError {
    pub fn is_retryable(&self) -> bool {
        !matches!(self, AnalyzerError::Permanent(_))
    }

    /// A short code for logs and the record's error marker.
    pub fn code(&self) -> &'static str {
        match self {
            AnalyzerError::Throttled(_) => "THROTTLED",
            AnalyzerError::Transient(_) => "TRANSIENT",
            AnalyzerError::Timeout(_) => "TIMEOUT",
            AnalyzerError::Permanent(_) => "PERMANENT",
        }
    }
}

/// The answer for each document of a call, in the order they were given.
pub type BatchOutcome = Result<Vec<Result<Sentiment, DocError>>, AnalyzerError>;

/// Scores batches of texts that share one language.
pub trait SentimentAnalyzer: Send + Sync {
    /// The `model` written next to each result: `comprehend` or `lexicon`.
    fn model(&self) -> &'static str;

    /// Whether a (normalised, Comprehend-style) language code can be analysed.
    fn supports_language(&self, language: &str) -> bool;

    /// The most documents one call may carry.
    fn max_batch_documents(&self) -> usize;

    /// Whether each call is a billed, remote request (counted as calls and units).
    fn is_remote(&self) -> bool;

    /// Scores `texts`; the answer has exactly one entry per text, in order.
    fn analyze(&self, language: &str, texts: &[&str]) -> impl Future<Output = BatchOutcome> + Send;
}
