//! What a sentiment analyzer answers, the trait the adapters implement, and a scripted one.

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

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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
    /// The service failed on its side for this document (a 5xx of its own): retried while
    /// time remains, like a throttled call. Otherwise a retryable error is an answer that was
    /// not valid (a model's malformed answer), asked again at most `*_MAX_ATTEMPTS` times.
    pub service_failure: bool,
}

/// A failed call: the kernel's one vocabulary for failures of anything outside.
pub use ks_kernel::error::CallError;

/// The answer for each document of a call, in the order they were given.
pub type BatchOutcome = Result<Vec<Result<Sentiment, DocError>>, CallError>;

/// One call's answer and what it spent: the usage travels with the answer, so a backend keeps
/// no counters between calls and an invocation's usage is the sum of its calls'.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub outcome: BatchOutcome,
    pub usage: ModelUsage,
}

impl From<BatchOutcome> for Analysis {
    /// An answer that cost nothing billed by the token.
    fn from(outcome: BatchOutcome) -> Self {
        Analysis {
            outcome,
            usage: ModelUsage::default(),
        }
    }
}

/// What a token-billed model spent, summed over calls.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ModelUsage {
    pub calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// At the list prices the adapter knows for its model; 0 when it knows none.
    pub cost_usd: f64,
}

impl ModelUsage {
    pub fn add(&mut self, other: ModelUsage) {
        self.calls += other.calls;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cost_usd += other.cost_usd;
    }
}

/// Scores batches of texts that share one language.
pub trait SentimentAnalyzer: Send + Sync {
    /// The `model` written next to each result: `comprehend`, `lexicon`, `bedrock:<model id>`.
    fn model(&self) -> &str;

    /// The `model` written next to a result in `language`, for a backend that has one model per
    /// language (`lexicon:pt-leia`); the others answer [`model`](Self::model) for every one.
    fn model_for(&self, language: &str) -> &str {
        let _ = language;
        self.model()
    }

    /// Whether a (normalised, Comprehend-style) language code can be analysed.
    fn supports_language(&self, language: &str) -> bool;

    /// Reads every language: texts are not grouped by language, nor skipped for one.
    fn any_language(&self) -> bool {
        false
    }

    /// Billed per Comprehend unit (the summary's `billed_units`).
    fn bills_units(&self) -> bool {
        self.is_remote()
    }

    /// The most documents one call may carry.
    fn max_batch_documents(&self) -> usize;

    /// Whether each call is a billed, remote request (counted as calls and units).
    fn is_remote(&self) -> bool;

    /// Scores `texts`; the answer has exactly one entry per text, in order, and says what the
    /// call spent. [`CallError::Unusable`] ends the invocation's calls to this analyzer.
    fn analyze(&self, language: &str, texts: &[&str]) -> impl Future<Output = Analysis> + Send;
}

/// An analyzer whose answers a function gives: the stand-in backend of tests and examples. It
/// reads every language; `answer` is called once per batch with its texts.
pub struct Scripted<F> {
    model: &'static str,
    max_batch_documents: usize,
    is_remote: bool,
    answer: F,
}

impl<F, Fut> Scripted<F>
where
    F: Fn(&[&str]) -> Fut + Send + Sync,
    Fut: Future<Output = Analysis> + Send,
{
    /// The bounds are here as well as on the impl so that a closure `answer` is read as taking
    /// texts of any lifetime.
    pub fn new(
        model: &'static str,
        max_batch_documents: usize,
        is_remote: bool,
        answer: F,
    ) -> Self {
        Scripted {
            model,
            max_batch_documents,
            is_remote,
            answer,
        }
    }
}

impl<F, Fut> SentimentAnalyzer for Scripted<F>
where
    F: Fn(&[&str]) -> Fut + Send + Sync,
    Fut: Future<Output = Analysis> + Send,
{
    fn model(&self) -> &str {
        self.model
    }
    fn supports_language(&self, _: &str) -> bool {
        true
    }
    fn max_batch_documents(&self) -> usize {
        self.max_batch_documents
    }
    fn is_remote(&self) -> bool {
        self.is_remote
    }
    fn analyze(&self, _: &str, texts: &[&str]) -> impl Future<Output = Analysis> + Send {
        (self.answer)(texts)
    }
}
