//! Amazon Comprehend as a [`SentimentAnalyzer`]: one `BatchDetectSentiment` call per batch,
//! errors classified so the core's retry policy knows what to try again.
//! <https://docs.aws.amazon.com/comprehend/latest/APIReference/API_BatchDetectSentiment.html>

use aws_sdk_comprehend::Client;
use aws_sdk_comprehend::config::StalledStreamProtectionConfig;
use aws_sdk_comprehend::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_comprehend::operation::batch_detect_sentiment::BatchDetectSentimentError;
use aws_sdk_comprehend::types::{LanguageCode, SentimentType};
use aws_smithy_types::retry::RetryConfig;
use ks_core::limits::{COMPREHEND_MAX_BATCH_DOCUMENTS, COMPREHEND_SENTIMENT_LANGUAGES};
use ks_core::sentiment::{
    AnalyzerError, BatchOutcome, DocError, Label, Scores, Sentiment, SentimentAnalyzer,
};

/// Error codes Comprehend uses for throttling, across its APIs.
const THROTTLING_CODES: [&str; 4] = [
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
];

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

    async fn analyze(&self, language: &str, texts: &[&str]) -> BatchOutcome {
        let call = self
            .client
            .batch_detect_sentiment()
            .language_code(LanguageCode::from(language))
            .set_text_list(Some(texts.iter().map(|t| (*t).to_owned()).collect()))
            .send();
        // The SDK's request pipeline (serialise, sign, parse) is CPU work: a task of its own
        // lets concurrent calls use every core instead of queueing on the caller's task.
        // Aborted if the caller gives up (its timeout), so no call outlives the invocation.
        let mut task = AbortOnDrop(tokio::spawn(call));
        let output = (&mut task.0)
            .await
            .map_err(|e| {
                AnalyzerError::Transient(format!("the call's task ended abnormally: {e}"))
            })?
            .map_err(classify)?;

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

/// Sorts an SDK failure into throttled, transient (worth retrying) or permanent.
pub fn classify<R>(err: SdkError<BatchDetectSentimentError, R>) -> AnalyzerError
where
    R: HttpStatus + std::fmt::Debug,
{
    match &err {
        SdkError::TimeoutError(_) => AnalyzerError::Timeout(0),
        SdkError::DispatchFailure(e) if e.is_user() => AnalyzerError::Permanent(describe(&err)),
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            AnalyzerError::Transient(describe(&err))
        }
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            let message = format!(
                "{}: {}",
                e.code().unwrap_or("Unknown"),
                e.message().unwrap_or_default()
            );
            if e.code().is_some_and(|c| THROTTLING_CODES.contains(&c)) || ctx.raw().status() == 429
            {
                AnalyzerError::Throttled(message)
            } else if e.is_internal_server_exception() || ctx.raw().status() >= 500 {
                AnalyzerError::Transient(message)
            } else {
                AnalyzerError::Permanent(message)
            }
        }
        _ => AnalyzerError::Permanent(describe(&err)),
    }
}

/// The status of a raw response, so [`classify`] can be tested with any response type.
pub trait HttpStatus {
    fn status(&self) -> u16;
}

impl HttpStatus for aws_smithy_runtime_api::http::Response {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
}

fn describe<E: std::error::Error>(err: &E) -> String {
    // The SDK's Display is terse ("dispatch failure"); the source chain says why.
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
