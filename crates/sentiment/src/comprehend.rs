//! Amazon Comprehend as a [`SentimentAnalyzer`]: one `BatchDetectSentiment` call per batch,
//! errors classified so the core's retry policy knows what to try again.
//! <https://docs.aws.amazon.com/comprehend/latest/APIReference/API_BatchDetectSentiment.html>

use aws_sdk_comprehend::Client;
use aws_sdk_comprehend::config::StalledStreamProtectionConfig;
use aws_sdk_comprehend::types::{LanguageCode, SentimentType};
use aws_smithy_types::retry::RetryConfig;
use tracing::Instrument as _;

use ks_aws::errors::{COMPREHEND, classify};
use ks_transform::limits::{COMPREHEND_MAX_BATCH_DOCUMENTS, COMPREHEND_SENTIMENT_LANGUAGES};
use ks_transform::sentiment::{
    Analysis, BatchOutcome, CallError, DocError, Label, Scores, Sentiment, SentimentAnalyzer,
};

pub use crate::comprehend_config::{ComprehendConfig, read_calls};

/// The `ErrorList` code worth sending again; the others describe the document itself.
const RETRYABLE_DOCUMENT_ERROR: &str = "INTERNAL_SERVER_ERROR";

#[derive(Debug, Clone)]
pub struct ComprehendAnalyzer {
    client: Client,
}

impl ComprehendAnalyzer {
    pub fn new(client: Client) -> Self {
        ComprehendAnalyzer { client }
    }

    /// Client settings for this analyzer. The SDK's own retries are turned off: the core
    /// retries with jitter, bounded by the Lambda deadline, and counts every call. So is the
    /// stalled-stream detector: bodies are a few KB and every call already has the core's
    /// timeout, so its per-call bookkeeping buys nothing.
    pub fn configure(
        builder: aws_sdk_comprehend::config::Builder,
    ) -> aws_sdk_comprehend::config::Builder {
        builder
            .retry_config(RetryConfig::disabled())
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
    }
}

impl SentimentAnalyzer for ComprehendAnalyzer {
    fn model(&self) -> &'static str {
        "comprehend"
    }

    fn supports_language(&self, language: &str) -> bool {
        COMPREHEND_SENTIMENT_LANGUAGES.contains(&language)
    }

    fn max_batch_documents(&self) -> usize {
        COMPREHEND_MAX_BATCH_DOCUMENTS
    }

    fn is_remote(&self) -> bool {
        true
    }

    async fn analyze(&self, language: &str, texts: &[&str]) -> Analysis {
        self.batch(language, texts).await.into()
    }
}

impl ComprehendAnalyzer {
    /// One `BatchDetectSentiment` call.
    async fn batch(&self, language: &str, texts: &[&str]) -> BatchOutcome {
        let call = self
            .client
            .batch_detect_sentiment()
            .language_code(LanguageCode::from(language))
            .set_text_list(Some(texts.iter().map(|t| (*t).to_owned()).collect()))
            .send();
        // The SDK's request pipeline (serialise, sign, parse) is CPU work: a task of its own
        // lets concurrent calls use every core instead of queueing on the caller's task.
        // Aborted if the caller gives up (its timeout), so no call outlives the invocation.
        let mut task = AbortOnDrop(tokio::spawn(call.in_current_span()));
        let output = (&mut task.0)
            .await
            .map_err(|e| CallError::Transient(format!("the call's task ended abnormally: {e}")))?
            .map_err(|e| classify(&e, &COMPREHEND))?;

        let mut answers: Vec<Option<Result<Sentiment, DocError>>> = vec![None; texts.len()];
        for item in output.result_list() {
            let Some(slot) = index(item.index(), texts.len()).and_then(|i| answers.get_mut(i))
            else {
                continue;
            };
            *slot = Some(to_sentiment(item.sentiment(), item.sentiment_score()));
        }
        for item in output.error_list() {
            let Some(slot) = index(item.index(), texts.len()).and_then(|i| answers.get_mut(i))
            else {
                continue;
            };
            let code = item.error_code().unwrap_or("UNKNOWN").to_owned();
            *slot = Some(Err(DocError {
                retryable: code == RETRYABLE_DOCUMENT_ERROR,
                service_failure: code == RETRYABLE_DOCUMENT_ERROR,
                message: item.error_message().unwrap_or_default().to_owned(),
                code,
            }));
        }
        Ok(answers
            .into_iter()
            .map(|a| {
                // A document in neither list: ask again rather than guess.
                a.unwrap_or_else(|| {
                    Err(DocError {
                        code: "MISSING_RESULT".to_owned(),
                        message:
                            "Comprehend answered neither a result nor an error for this document"
                                .to_owned(),
                        retryable: true,
                        service_failure: false,
                    })
                })
            })
            .collect())
    }
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn index(i: Option<i32>, len: usize) -> Option<usize> {
    i.and_then(|i| usize::try_from(i).ok()).filter(|&i| i < len)
}

fn to_sentiment(
    label: Option<&SentimentType>,
    scores: Option<&aws_sdk_comprehend::types::SentimentScore>,
) -> Result<Sentiment, DocError> {
    let bad = |what: &str| DocError {
        service_failure: false,
        code: "MALFORMED_RESULT".to_owned(),
        message: format!("Comprehend's result has {what}"),
        retryable: false,
    };
    let label = match label {
        Some(SentimentType::Positive) => Label::Positive,
        Some(SentimentType::Negative) => Label::Negative,
        Some(SentimentType::Neutral) => Label::Neutral,
        Some(SentimentType::Mixed) => Label::Mixed,
        Some(other) => return Err(bad(&format!("an unknown label {:?}", other.as_str()))),
        None => return Err(bad("no label")),
    };
    let s = scores.ok_or_else(|| bad("no scores"))?;
    // Comprehend's scores are f32: widen through their shortest decimal form, so 0.9 stays
    // 0.9 in the output instead of becoming 0.8999999761581421.
    // (ryu: the shortest form without the formatting machinery; 20,000 of these a batch.)
    let mut buf = ryu::Buffer::new();
    let mut f = |v: Option<f32>| {
        let v = v.unwrap_or(0.0);
        buf.format(v).parse::<f64>().unwrap_or(f64::from(v))
    };
    Ok(Sentiment {
        label,
        scores: Scores {
            positive: f(s.positive()),
            negative: f(s.negative()),
            neutral: f(s.neutral()),
            mixed: f(s.mixed()),
        },
    })
}
