//! The backend chosen by `SENTIMENT_BACKEND`, behind one type so the handler stays simple.

use ks_adapters::comprehend::ComprehendAnalyzer;
use ks_lexicon::Vader;
use ks_transform::sentiment::{BatchOutcome, SentimentAnalyzer};

pub enum Analyzer {
    Comprehend(ComprehendAnalyzer),
    Lexicon(Vader),
}

impl SentimentAnalyzer for Analyzer {
    fn model(&self) -> &'static str {
        match self {
            Analyzer::Comprehend(a) => a.model(),
            Analyzer::Lexicon(a) => a.model(),
        }
    }

    fn supports_language(&self, language: &str) -> bool {
        match self {
            Analyzer::Comprehend(a) => a.supports_language(language),
            Analyzer::Lexicon(a) => a.supports_language(language),
        }
    }

    fn max_batch_documents(&self) -> usize {
        match self {
            Analyzer::Comprehend(a) => a.max_batch_documents(),
            Analyzer::Lexicon(a) => a.max_batch_documents(),
        }
    }

    fn is_remote(&self) -> bool {
        match self {
            Analyzer::Comprehend(a) => a.is_remote(),
            Analyzer::Lexicon(a) => a.is_remote(),
        }
    }

    async fn analyze(&self, language: &str, texts: &[&str]) -> BatchOutcome {
        match self {
            Analyzer::Comprehend(a) => a.analyze(language, texts).await,
            Analyzer::Lexicon(a) => a.analyze(language, texts).await,
        }
    }
}
