//! The backend chosen by `SENTIMENT_BACKEND`, behind one type so the handler stays simple.

use ks_adapters::bedrock::BedrockAnalyzer;
use ks_adapters::comprehend::ComprehendAnalyzer;
use ks_lexicon::Vader;
use ks_transform::sentiment::{BatchOutcome, ModelUsage, SentimentAnalyzer};

pub enum Analyzer {
    Comprehend(ComprehendAnalyzer),
    Lexicon(Vader),
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

impl Analyzer {
    /// Why the invocation must fail as a whole, if the model cannot be used (Bedrock only).
    pub fn take_fatal(&self) -> Option<String> {
        match self {
            Analyzer::Bedrock(a) => a.take_fatal(),
            Analyzer::Comprehend(_) | Analyzer::Lexicon(_) => None,
        }
    }
}

impl SentimentAnalyzer for Analyzer {
    fn model(&self) -> &str {
        each!(self, a => a.model())
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

    fn take_usage(&self) -> ModelUsage {
        each!(self, a => a.take_usage())
    }

    fn max_batch_documents(&self) -> usize {
        each!(self, a => a.max_batch_documents())
    }

    fn is_remote(&self) -> bool {
        each!(self, a => a.is_remote())
    }

    async fn analyze(&self, language: &str, texts: &[&str]) -> BatchOutcome {
        each!(self, a => a.analyze(language, texts).await)
    }
}
