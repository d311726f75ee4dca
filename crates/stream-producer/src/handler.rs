//! One invocation: any JSON in (a scheduled-event envelope, or a Scheduler custom input that may
//! narrow the budget), one producer run, one summary log line and one EMF document out.

use std::sync::atomic::{AtomicU64, Ordering};

use aws_lambda_events::eventbridge::EventBridgeEvent;
use ks_kernel::deadline::{local_deadline, now_ms};
use ks_producer::Source;
use ks_producer::config::{ConfigError, Overrides};
use ks_producer::metrics::ProducerSummary;
use ks_producer::run::{Outcome, ProduceError, ProduceSettings, produce};
use ks_sources::kinesis::KinesisSink;
use ks_sources::ssm::SsmSecrets;
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::config::ProducerConfig;
use crate::registry::{AnySource, AnyStore, InitError};

/// Why an invocation failed (the schedule's retry policy and dead-letter queue then act).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The invocation's input has a bad override.
    #[error(transparent)]
    Input(#[from] ConfigError),
    #[error(transparent)]
    Produce(#[from] ProduceError),
}

impl ks_lambda::EdgeError for HandlerError {
    fn code(&self) -> &str {
        match self {
            HandlerError::Input(_) => "INPUT",
            HandlerError::Produce(p) => p.code(),
        }
    }

    /// Whether the same invocation may succeed later without a change of settings.
    fn is_retryable(&self) -> bool {
        match self {
            HandlerError::Input(_) => false,
            HandlerError::Produce(e) => e.is_retryable(),
        }
    }
}

// The runtime's error report: the type says whether a retry may help, e.g.
// `Retryable.DELIVERY` or `Permanent.INPUT`.
ks_lambda::diagnostic_from!(HandlerError);

/// Everything built once per cold start.
pub struct State {
    pub source: AnySource,
    pub store: AnyStore,
    pub sink: KinesisSink,
    pub config: ProducerConfig,
    pub function_name: String,
    /// Empty runs in a row seen by this process (see [`State::count_empty`]).
    empty_runs: AtomicU64,
}

impl State {
    /// Reads the settings, looks up secrets and builds the clients; a bad setting or a missing
    /// secret stops the cold start. Endpoints follow aws-config's resolution, so
    /// `AWS_ENDPOINT_URL_KINESIS` (etc.) reach local emulators.
    pub async fn from_env() -> Result<Self, InitError> {
        let config = ProducerConfig::from_env()?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let kinesis = aws_sdk_kinesis::Client::from_conf(
            KinesisSink::configure(aws_sdk_kinesis::config::Builder::from(&sdk)).build(),
        );
        let sink = KinesisSink::new(kinesis, &config.stream_name);
        let store = config.cursor.build(&sdk, config.cursor_timeout);
        let secrets = SsmSecrets::new(aws_sdk_ssm::Client::from_conf(
            SsmSecrets::configure(aws_sdk_ssm::config::Builder::from(&sdk)).build(),
        ));
        let source = config
            .source
            .build(
                config.cursor_key.clone(),
                config.start_position,
                &config.fetch,
                &secrets,
            )
            .await?;
        Ok(State::new(source, store, sink, config))
    }

    pub fn new(
        source: AnySource,
        store: AnyStore,
        sink: KinesisSink,
        config: ProducerConfig,
    ) -> Self {
        let function_name = ks_lambda::function_name("stream-producer");
        State {
            source,
            store,
            sink,
            config,
            function_name,
            empty_runs: AtomicU64::new(0),
        }
    }

    /// Counts this run into the streak of empty runs (any other run ends it) and returns the
    /// streak; from `SOURCE_EMPTY_WARN_RUNS` on, every further empty run logs a warning. The
    /// count lives as long as the warm process: a cold start begins at 0, which is why the
    /// stack's alarm on `SourceEmpty` is the durable check.
    pub fn count_empty(&self, empty: bool) -> u64 {
        if !empty {
            self.empty_runs.store(0, Ordering::Relaxed);
            return 0;
        }
        let runs = self.empty_runs.fetch_add(1, Ordering::Relaxed) + 1;
        if runs >= self.config.source_empty_warn_runs {
            tracing::warn!(
                source = self.source.name(),
                empty_runs = runs,
                warn_after = self.config.source_empty_warn_runs,
                hint = self.source.empty_hint(),
                "the source has given nothing, run after run"
            );
        }
        runs
    }

    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, HandlerError> {
        let request_id = event.context.request_id.clone();
        let (overrides, ignored) = match overrides_from_event(&event.payload) {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(request_id, error = %e, code = "INPUT", "invalid invocation input");
                return Err(e.into());
            }
        };
        let settings = overrides.apply(&self.config.settings);
        let mut outcome = self
            .produce(&settings, self.deadline(event.context.deadline))
            .await;
        outcome.summary.empty_runs = self.count_empty(outcome.summary.source_empty == 1);
        let failed = outcome.result.as_ref().err();
        log_summary(&outcome.summary, &request_id, &settings, &ignored, failed);
        let emf = match failed {
            None => outcome.summary.to_emf(
                &self.config.metrics_namespace,
                &self.function_name,
                now_ms(),
            ),
            Some(_) => outcome.summary.to_emf_failed(
                &self.config.metrics_namespace,
                &self.function_name,
                now_ms(),
            ),
        };
        println!("{emf}");
        match outcome.result {
            Ok(()) => Ok(json!(outcome.summary)),
            // Failing the invocation lets the schedule's retry policy and dead-letter queue act.
            Err(e) => Err(e.into()),
        }
    }

    /// One producer run with these settings, for tests and benchmarks.
    pub async fn produce(&self, settings: &ProduceSettings, deadline: Instant) -> Outcome {
        let mut rng = fastrand::Rng::new();
        produce(
            &self.source,
            &self.store,
            &self.sink,
            &self.config.cursor_key,
            settings,
            deadline,
            &mut rng,
        )
        .await
    }

    /// The Lambda deadline (epoch ms) as a local instant, less the margin kept for the checkpoint.
    fn deadline(&self, deadline_ms: u64) -> Instant {
        tracing::debug!(deadline_ms, now_ms = now_ms(), "invocation deadline");
        local_deadline(deadline_ms, self.config.deadline_margin)
    }
}

/// The overrides an invocation's input carries, and the input keys that were ignored. An
/// EventBridge envelope (a rule's scheduled event) carries them in `detail`; anything else
/// (Scheduler's custom input) at the top level.
pub fn overrides_from_event(payload: &Value) -> Result<(Overrides, Vec<String>), ConfigError> {
    let is_envelope = payload.get("detail-type").is_some() && payload.get("source").is_some();
    if is_envelope
        && let Ok(event) = serde_json::from_value::<EventBridgeEvent<Value>>(payload.clone())
    {
        return Overrides::from_input(&event.detail);
    }
    Overrides::from_input(payload)
}

fn log_summary(
    s: &ProducerSummary,
    request_id: &str,
    settings: &ProduceSettings,
    ignored: &[String],
    error: Option<&ProduceError>,
) {
    let cursor_before = s.cursor_before.as_deref().unwrap_or("");
    let cursor_after = s.cursor_after.as_deref().unwrap_or("");
    let ignored = ignored.join(",");
    // What was read and not sent, by reason (`{"update":3,"garbage":1}`), as a JSON object
    // Logs Insights can query (`fields.skipped.update`): the response carries it too, but a
    // scheduled invocation's response is seen by no one.
    let skipped = ks_kernel::log::object(&s.skipped);
    macro_rules! summary {
        ($level:ident, $($extra:tt)*) => {
            tracing::$level!(
                request_id,
                source = s.source.as_str(),
                fetched = s.fetched,
                pages = s.pages,
                new = s.new,
                duplicates = s.duplicates,
                put = s.put,
                rejected = s.rejected,
                failed = s.failed,
                retries = s.retries,
                put_records_calls = s.put_records_calls,
                kinesis_records = s.kinesis_records,
                bytes = s.bytes,
                payload_units = s.payload_units,
                cursor_before,
                cursor_after,
                stop = s.stop,
                source_empty = s.source_empty,
                empty_runs = s.empty_runs,
                skipped = %skipped,
                max_pages = settings.max_pages,
                max_records = settings.max_records,
                ignored_input_keys = ignored.as_str(),
                ms = s.elapsed_ms,
                $($extra)*
            )
        };
    }
    match error {
        None => summary!(info, "invocation summary"),
        Some(e) => summary!(error, code = e.code(), error = %e, "invocation summary"),
    }
}

#[cfg(test)]
mod tests {
    use ks_producer::deliver::DeliveryError;
    use ks_producer::{CursorError, SourceError};
    use lambda_runtime::Diagnostic;

    use super::*;

    #[test]
    fn the_summary_line_carries_skipped_as_a_json_object() {
        // GIVEN the Lambdas' log subscriber writing to memory, and a run that skipped records
        let mut s = ProducerSummary::default();
        s.skipped.insert("update", 3);
        s.skipped.insert("garbage", 1);
        // WHEN the summary is logged
        let out = ks_kernel::log::captured(|| {
            log_summary(&s, "req-1", &ProduceSettings::default(), &[], None);
        });
        // THEN the line's `skipped` is an object with a number per reason
        let line: Value = serde_json::from_slice(&out).unwrap();
        let skipped = &line["fields"]["skipped"];
        assert!(skipped.is_object(), "{line}");
        assert_eq!(skipped["update"], 3);
        assert_eq!(skipped["garbage"], 1);
        assert_eq!(line["fields"]["request_id"], "req-1");
    }

    #[test]
    fn the_runtime_is_told_whether_a_retry_may_help() {
        // GIVEN one failure of each kind WHEN reported to the runtime
        let cases = [
            (
                HandlerError::Input(ConfigError {
                    var: "max_pages",
                    value: "0".into(),
                    reason: "must be between 1 and 10000".into(),
                }),
                "Permanent.INPUT",
            ),
            (
                HandlerError::Produce(ProduceError::Cursor(CursorError::Conflict {
                    key: "k".into(),
                    expected: 3,
                })),
                "Retryable.CURSOR_CONFLICT",
            ),
            (
                HandlerError::Produce(ProduceError::Delivery {
                    undelivered: 2,
                    cause: DeliveryError::Exhausted {
                        pending: 2,
                        attempts: 8,
                        last: "throttled".into(),
                    },
                }),
                "Retryable.DELIVERY",
            ),
            (
                HandlerError::Produce(ProduceError::Delivery {
                    undelivered: 1,
                    cause: DeliveryError::Permanent {
                        entries: 1,
                        reason: "ValidationException".into(),
                    },
                }),
                "Permanent.DELIVERY",
            ),
            (
                HandlerError::Produce(ProduceError::Source(SourceError::Closed {
                    source_name: "mastodon:m.example".into(),
                    server: "https://m.example".into(),
                    reason: "refuses the federated timeline".into(),
                    ways_out: vec!["SOURCE=jetstream".into()],
                })),
                "Permanent.SOURCE",
            ),
        ];
        for (error, expected) in cases {
            let message = error.to_string();
            let d = Diagnostic::from(error);
            // THEN the error type says retryable or not, and the message is the error's
            assert_eq!(d.error_type, expected);
            assert_eq!(d.error_message, message);
        }
    }
}
