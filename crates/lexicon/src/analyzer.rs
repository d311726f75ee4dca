//! VADER as a [`SentimentAnalyzer`], so the transform can use it as its `lexicon` backend.

use ks_transform::sentiment::{self, Analysis, Scores, SentimentAnalyzer};

use crate::Vader;

/// Local CPU work has no per-call cost, so batches only bound how long one future runs.
pub(crate) const LEXICON_BATCH_DOCUMENTS: usize = 500;

impl SentimentAnalyzer for Vader {
    fn model(&self) -> &'static str {
        "lexicon"
    }

    /// VADER's lexicon is English.
    fn supports_language(&self, language: &str) -> bool {
        language == "en"
    }

    fn max_batch_documents(&self) -> usize {
        LEXICON_BATCH_DOCUMENTS
    }

    fn is_remote(&self) -> bool {
        false
    }

    async fn analyze(&self, _language: &str, texts: &[&str]) -> Analysis {
        let scored = texts.iter().map(|t| Ok(to_core(self.sentiment(t))));
        Analysis::from(Ok(scored.collect()))
    }
}

pub(crate) fn to_core(s: crate::Sentiment) -> sentiment::Sentiment {
    sentiment::Sentiment {
        label: s.label,
        scores: Scores {
            positive: s.positive,
            negative: s.negative,
            neutral: s.neutral,
            mixed: s.mixed,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_each_text_in_order_with_the_same_label_as_vader() {
        let v = Vader::new();
        let out = v
            .analyze("en", &["I love it", "I hate it", "a chair"])
            .await
            .outcome
            .unwrap();
        let labels: Vec<_> = out.iter().map(|r| r.as_ref().unwrap().label).collect();
        assert_eq!(
            labels,
            [
                sentiment::Label::Positive,
                sentiment::Label::Negative,
                sentiment::Label::Neutral
            ]
        );
        assert!(v.supports_language("en") && !v.supports_language("de"));
    }
}
