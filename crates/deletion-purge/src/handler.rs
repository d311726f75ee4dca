//! The cold start (settings and the S3 client) and one scheduled run: the purge, one summary
//! line, one EMF document, errors to `Diagnostic`. On an Iceberg stack (`DESTINATION=iceberg`)
//! a run applies the account purges with Athena instead (`ks_purge::lake`); Firehose itself
//! applies each post's deletion there.

use std::time::Duration;

use ks_kernel::deadline::{local_deadline, now_ms};
use ks_kernel::emf;
use ks_kernel::env::{ConfigError, Env};
use ks_purge::config::lake_from_env;
use ks_purge::lake::{LakeError, LakeSettings, LakeSummary, purge_accounts};
use ks_purge::{PurgeError, PurgeSettings, PurgeSummary, purge};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};

use crate::athena::Athena;
use crate::s3::S3Bucket;

/// The function's settings: the engine's, the bucket, and the function's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeConfig {
    pub bucket: String,
    pub settings: PurgeSettings,
    /// On an Iceberg stack: the tables, and the Athena workgroup the statements run in.
    pub lake: Option<(LakeSettings, String)>,
    /// Time kept back from the Lambda deadline to save the state and log the summary.
    pub deadline_margin: Duration,
    pub metrics_namespace: String,
}

/// See [`PurgeConfig::deadline_margin`]: saving the state is one PutObject.
pub const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_secs(20);

impl PurgeConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let settings = PurgeSettings::from_env(&env)?;
        let lake = match lake_from_env(&env, &settings)? {
            None => None,
            Some(lake) => {
                let workgroup = env.get("ATHENA_WORKGROUP").ok_or_else(|| {
                    env.invalid("ATHENA_WORKGROUP", "required when DESTINATION=iceberg")
                })?;
                Some((lake, workgroup))
            }
        };
        Ok(PurgeConfig {
            bucket: env
                .get("BUCKET")
                .ok_or_else(|| env.invalid("BUCKET", "required: the data bucket to purge"))?,
            settings,
            lake,
            deadline_margin: env.deadline_margin(DEFAULT_DEADLINE_MARGIN, 1_000..=600_000)?,
            metrics_namespace: env.metrics_namespace(),
        })
    }
}

/// Why a run failed (the schedule's retry and the function's Errors alarm then act).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Objects(#[from] PurgeError),
    #[error(transparent)]
    Lake(#[from] LakeError),
}

impl ks_lambda::EdgeError for HandlerError {
    fn code(&self) -> &str {
        match self {
            HandlerError::Objects(e) => e.code(),
            HandlerError::Lake(e) => e.code(),
        }
    }

    fn is_retryable(&self) -> bool {
        match self {
            HandlerError::Objects(e) => e.is_retryable(),
            HandlerError::Lake(e) => e.is_retryable(),
        }
    }
}

ks_lambda::diagnostic_from!(HandlerError);

/// Everything built once per cold start.
pub struct State {
    pub bucket: S3Bucket,
    /// Athena, on an Iceberg stack.
    pub athena: Option<aws_sdk_athena::Client>,
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
        let athena = config
            .lake
            .is_some()
            .then(|| aws_sdk_athena::Client::new(&sdk));
        Ok(State {
            bucket: S3Bucket::new(client, &config.bucket),
            athena,
            config,
            function_name: ks_lambda::function_name("deletion-purge"),
        })
    }

    /// One scheduled run; the input is not read.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, HandlerError> {
        let request_id = event.context.request_id.as_str();
        let deadline = local_deadline(event.context.deadline, self.config.deadline_margin);
        if let (Some((lake, workgroup)), Some(client)) = (&self.config.lake, &self.athena) {
            let athena = Athena::new(client.clone(), workgroup, deadline);
            // Boxed: the two runs' futures nested in one are deeper than rustc lays out.
            return Box::pin(self.handle_lake(&athena, lake, request_id)).await;
        }
        let result = purge(
            &self.bucket,
            &self.config.settings,
            now_ms() as i64,
            deadline,
        )
        .await;
        self.finish(
            result.map_err(Into::into),
            request_id,
            log_summary,
            PurgeSummary::to_emf,
        )
    }

    /// A run's answer: its summary logged and emitted as metrics, or its error logged.
    fn finish<S: serde::Serialize>(
        &self,
        result: Result<S, HandlerError>,
        request_id: &str,
        log: fn(&S, &str),
        to_emf: fn(&S, &str, &str, u64) -> Value,
    ) -> Result<Value, HandlerError> {
        match result {
            Ok(summary) => {
                log(&summary, request_id);
                emf::emit(
                    &self.config.metrics_namespace,
                    &self.function_name,
                    |namespace, function, now| to_emf(&summary, namespace, function, now),
                );
                Ok(json!(summary))
            }
            Err(e) => {
                let code = ks_lambda::EdgeError::code(&e).to_owned();
                tracing::error!(request_id, code, error = %e, "purge failed");
                Err(e)
            }
        }
    }
}

impl State {
    /// One run on an Iceberg stack: the account purges, applied over `sql`.
    pub async fn handle_lake<S: ks_purge::lake::Sql>(
        &self,
        sql: &S,
        lake: &LakeSettings,
        request_id: &str,
    ) -> Result<Value, HandlerError> {
        let now_us = now_ms() as i64 * 1_000;
        let result = purge_accounts(sql, lake, now_us).await;
        self.finish(
            result.map_err(Into::into),
            request_id,
            log_lake_summary,
            LakeSummary::to_emf,
        )
    }
}

fn log_lake_summary(s: &LakeSummary, request_id: &str) {
    tracing::info!(
        request_id,
        purge_rows_read = s.purge_rows_read,
        accounts_purged = s.accounts_purged,
        purge_rows_unusable = s.purge_rows_unusable,
        accounts_expired = s.accounts_expired,
        statements = s.statements,
        "invocation summary"
    );
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
