//! The cold start (settings and the S3 client) and one scheduled run: the purge, one summary
//! line, one EMF document, errors to `Diagnostic`.

use std::time::Duration;

use ks_kernel::deadline::{local_deadline, now_ms};
use ks_kernel::emf;
use ks_kernel::env::{ConfigError, Env};
use ks_purge::{PurgeError, PurgeSettings, PurgeSummary, purge};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};

use crate::s3::S3Bucket;

/// The function's settings: the engine's, the bucket, and the function's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeConfig {
    pub bucket: String,
    pub settings: PurgeSettings,
    /// Time kept back from the Lambda deadline to save the state and log the summary.
    pub deadline_margin: Duration,
    pub metrics_namespace: String,
}

/// See [`PurgeConfig::deadline_margin`]: saving the state is one PutObject.
pub const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_secs(20);

impl PurgeConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        Ok(PurgeConfig {
            bucket: env
                .get("BUCKET")
                .ok_or_else(|| env.invalid("BUCKET", "required: the data bucket to purge"))?,
            settings: PurgeSettings::from_env(&env)?,
            deadline_margin: env.deadline_margin(DEFAULT_DEADLINE_MARGIN, 1_000..=600_000)?,
            metrics_namespace: env.metrics_namespace(),
        })
    }
}

/// Why a run failed (the schedule's retry and the function's Errors alarm then act).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct HandlerError(#[from] PurgeError);

impl ks_lambda::EdgeError for HandlerError {
    fn code(&self) -> &str {
        self.0.code()
    }

    fn is_retryable(&self) -> bool {
        self.0.is_retryable()
    }
}

ks_lambda::diagnostic_from!(HandlerError);

/// Everything built once per cold start.
pub struct State {
    pub bucket: S3Bucket,
    pub config: PurgeConfig,
    pub function_name: String,
}

impl State {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = PurgeConfig::from_lookup(|k| std::env::var(k).ok())?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let client = aws_sdk_s3::Client::from_conf(
            S3Bucket::configure(aws_sdk_s3::config::Builder::from(&sdk)).build(),
        );
        Ok(State {
            bucket: S3Bucket::new(client, &config.bucket),
            config,
            function_name: ks_lambda::function_name("deletion-purge"),
        })
    }

    /// One scheduled run; the input is not read.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, HandlerError> {
        let request_id = event.context.request_id.as_str();
        let deadline = local_deadline(event.context.deadline, self.config.deadline_margin);
        let result = purge(
            &self.bucket,
            &self.config.settings,
            now_ms() as i64,
            deadline,
        )
        .await;
        match result {
            Ok(summary) => {
                log_summary(&summary, request_id);
                emf::emit(
                    &self.config.metrics_namespace,
                    &self.function_name,
                    |namespace, function, now| summary.to_emf(namespace, function, now),
                );
                Ok(json!(summary))
            }
            Err(e) => {
                tracing::error!(request_id, code = e.code(), error = %e, "purge failed");
                Err(e.into())
            }
        }
    }
}

fn log_summary(s: &PurgeSummary, request_id: &str) {
    tracing::info!(
        request_id,
        objects_in_bucket = s.objects_in_bucket,
        objects_read = s.objects_read,
        objects_rewritten = s.objects_rewritten,
        objects_deleted = s.objects_deleted,
        objects_unreadable = s.objects_unreadable,
        deletions_read = s.deletions_read,
        account_purges_read = s.account_purges_read,
        edits_found = s.edits_found,
        records_removed = s.records_removed(),
        deletions_applied = s.deletions_applied,
        deletions_pending = s.deletions_pending,
        deletions_pending_too_long = s.deletions_pending_too_long,
        deletions_expired_unseen = s.deletions_expired_unseen,
        oldest_pending_s = s.oldest_pending_s,
        complete = s.complete,
        ms = s.elapsed_ms,
        "invocation summary"
    );
}
