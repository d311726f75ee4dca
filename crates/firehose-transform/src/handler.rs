//! One invocation: Firehose batch in, transformed batch out, one summary line and EMF metrics.

use std::sync::Arc;

use ks_kernel::deadline::local_deadline;
use ks_kernel::emf;
use ks_transform::metrics::Summary;
use ks_transform::record::{FirehoseEvent, FirehoseResponse};
use ks_transform::transform::transform;
use lambda_runtime::LambdaEvent;
use tokio::time::Instant;
use tracing::Instrument as _;

use crate::config::{ConfigError, TransformConfig};
use crate::registry::Analyzer;

/// Why an invocation failed as a whole (Firehose then retries the batch). The transform itself
/// never fails: every record is answered, bad ones as `ProcessingFailed`.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("the transform task ended abnormally: {0}")]
    TaskFailed(#[from] tokio::task::JoinError),
    /// The sentiment model cannot be used at all (access not enabled, no such model): marking
    /// every record would hide it, so the invocation fails and Firehose keeps the batch.
    #[error("{0}")]
    ModelUnusable(String),
}

impl ks_lambda::EdgeError for HandlerError {
    fn code(&self) -> &str {
        match self {
            HandlerError::TaskFailed(_) => "TaskFailed",
            HandlerError::ModelUnusable(_) => "ModelUnusable",
        }
    }

    /// Whether Firehose's retry of the batch may succeed.
    fn is_retryable(&self) -> bool {
        match self {
            HandlerError::TaskFailed(_) => true,
            HandlerError::ModelUnusable(_) => false,
        }
    }
}

// The runtime's error report: the type says whether a retry may help, e.g.
// `Retryable.TaskFailed`.
ks_lambda::diagnostic_from!(HandlerError);

/// Everything built once per cold start.
pub struct State {
    pub analyzer: Analyzer,
    pub config: TransformConfig,
    pub function_name: String,
}

impl State {
    /// Reads the settings and builds the backend's client; a bad setting stops the cold start.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = TransformConfig::from_env()?;
        let analyzer = config.backend.build(&config.settings).await;
        Ok(State::new(analyzer, config))
    }

    pub fn new(analyzer: Analyzer, config: TransformConfig) -> Self {
        let function_name = ks_lambda::function_name("firehose-transform");
        State {
            analyzer,
            config,
            function_name,
        }
    }

    pub async fn handle(
        &'static self,
        event: LambdaEvent<FirehoseEvent>,
    ) -> Result<FirehoseResponse, HandlerError> {
        self.handle_with_summary(event)
            .await
            .map(|(response, _)| response)
    }

    /// [`State::handle`], also returning the invocation's summary (for tests and benchmarks).
    pub async fn handle_with_summary(
        &'static self,
        event: LambdaEvent<FirehoseEvent>,
    ) -> Result<(FirehoseResponse, Summary), HandlerError> {
        let deadline = self.deadline(event.context.deadline);
        let (response, summary) = self
            .transform_on_worker(Arc::new(event.payload), deadline)
            .await?;
        if let Some(why) = summary.model_unusable {
            tracing::error!(request_id = event.context.request_id.as_str(), error = %why, "the sentiment model cannot be used");
            return Err(HandlerError::ModelUnusable(why));
        }
        log_summary(
            &summary,
            event.context.request_id.as_str(),
            self.analyzer_model(),
        );
        emf::emit(
            &self.config.metrics_namespace,
            &self.function_name,
            |namespace, function, now| summary.to_emf(namespace, function, now),
        );
        Ok((response, summary))
    }

    /// The transform as [`State::handle`] runs it: as a task on a runtime worker. The
    /// runtime's main future is polled on a thread of its own, so every Comprehend answer would
    /// cost a wake-up of that thread; on a worker, the answer wakes the transform where it
    /// arrives.
    pub async fn transform_on_worker(
        &'static self,
        event: Arc<FirehoseEvent>,
        deadline: Instant,
    ) -> Result<(FirehoseResponse, Summary), tokio::task::JoinError> {
        // The task carries the invocation's span, so its warnings name the request.
        let task = async move { self.transform(&event, deadline).await };
        tokio::spawn(task.in_current_span()).await
    }

    /// The transform alone, for tests and benchmarks.
    pub async fn transform(
        &self,
        event: &FirehoseEvent,
        deadline: Instant,
    ) -> (FirehoseResponse, Summary) {
        transform(&self.analyzer, &self.config.settings, event, deadline).await
    }

    fn analyzer_model(&self) -> &str {
        use ks_transform::sentiment::SentimentAnalyzer as _;
        self.analyzer.model()
    }

    /// The Lambda deadline (epoch ms) as a local instant, less the margin kept to answer.
    fn deadline(&self, deadline_ms: u64) -> Instant {
        local_deadline(deadline_ms, self.config.deadline_margin)
    }
}

/// The invocation's one summary line. `labels` is a JSON object (`fields.labels.POSITIVE` in
/// Logs Insights). Calls are counted under the backend's name: `comprehend_calls` (Comprehend
/// only, the name kept for existing queries) or `bedrock_calls`; `sentiment_calls` counts
/// every backend's.
fn log_summary(s: &Summary, request_id: &str, model: &str) {
    let labels = ks_kernel::log::object(&s.labels);
    tracing::info!(
        request_id,
        model,
        records_in = s.records_in,
        ok = s.ok,
        dropped = s.dropped,
        failed = s.failed,
        texts_analysed = s.texts_analysed,
        deduplicated = s.deduplicated,
        no_text = s.no_text,
        unsupported_language = s.unsupported_language,
        languages_identified = s.languages_identified,
        passed_through = s.passed_through,
        deletions = s.deletions,
        sentiment_errors = s.sentiment_errors,
        over_response_limit = s.over_response_limit,
        sentiment_calls = s.sentiment_calls,
        comprehend_calls = s.comprehend_calls,
        throttled = s.throttled,
        concurrency_low = s.concurrency_low,
        retries = s.retries,
        billed_units = s.billed_units,
        bedrock_calls = s.bedrock_calls,
        input_tokens = s.input_tokens,
        output_tokens = s.output_tokens,
        estimated_cost_usd = s.estimated_cost_usd,
        labels = %labels,
        ms = s.elapsed_ms,
        "invocation summary"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logged(s: &Summary) -> serde_json::Value {
        let line = ks_kernel::log::captured(|| log_summary(s, "req-1", "m"));
        serde_json::from_slice(&line).unwrap()
    }

    #[test]
    fn the_summary_line_carries_labels_as_a_json_object() {
        // GIVEN a summary with labels WHEN logged through the Lambdas' subscriber
        let mut s = Summary::default();
        s.labels.insert("POSITIVE", 3);
        s.labels.insert("NEGATIVE", 1);
        let line = logged(&s);
        // THEN `labels` is an object of numbers, queryable by path
        let labels = &line["fields"]["labels"];
        assert!(labels.is_object(), "{line}");
        assert_eq!(
            (labels["POSITIVE"].as_u64(), labels["NEGATIVE"].as_u64()),
            (Some(3), Some(1))
        );
    }

    #[test]
    fn bedrock_calls_are_not_reported_as_comprehend_calls() {
        // GIVEN a Bedrock invocation's summary (its calls are sentiment and Bedrock calls)
        let s = Summary {
            sentiment_calls: 7,
            bedrock_calls: 7,
            ..Summary::default()
        };
        // WHEN logged
        let fields = &logged(&s)["fields"];
        // THEN comprehend_calls says 0, and the calls are under their own names
        assert_eq!(fields["comprehend_calls"], 0);
        assert_eq!(fields["bedrock_calls"], 7);
        assert_eq!(fields["sentiment_calls"], 7);
    }
}
