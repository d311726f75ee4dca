//! Athena as the purge's SQL engine ([`ks_purge::lake::Sql`]): StartQueryExecution in the
//! purge's workgroup, GetQueryExecution polled until the query ends, GetQueryResults (paged)
//! for a SELECT. Every call goes through the shared retry driver (ks-kernel) under the run's
//! deadline, its failures sorted by the shared classifier (ks-aws).

use std::future::Future;
use std::time::Duration;

use aws_sdk_athena::Client;
use aws_sdk_athena::types::{QueryExecutionState, ResultSet};
use ks_aws::errors::{ATHENA, HttpStatus, classify};
use ks_kernel::retry::{self, Decision, Ended, Limits, RetryLogic, RetryPolicy, TimedOut};
use ks_purge::lake::{Sql, SqlError};
use tokio::time::Instant;

/// How often a running query is asked about: from 200 ms, doubling to 5 s (full jitter).
pub const POLL: RetryPolicy = RetryPolicy {
    max_attempts: 8,
    base: Duration::from_millis(200),
    cap: Duration::from_secs(5),
};

/// The most one Athena call may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// Athena in one workgroup, until `deadline`.
#[derive(Debug, Clone)]
pub struct Athena {
    client: Client,
    workgroup: String,
    deadline: Instant,
}

impl Athena {
    pub fn new(client: Client, workgroup: &str, deadline: Instant) -> Self {
        Athena {
            client,
            workgroup: workgroup.to_owned(),
            deadline,
        }
    }

    fn limits(&self) -> Limits<'_> {
        Limits {
            policy: &POLL,
            deadline: self.deadline,
            attempt_timeout: Some(CALL_TIMEOUT),
        }
    }

    /// Starts `sql` and waits for it to succeed; its execution id.
    async fn run(&self, sql: &str) -> Result<String, SqlError> {
        let start = self
            .client
            .start_query_execution()
            .query_string(sql)
            .work_group(&self.workgroup);
        let started = call(self.limits(), "StartQueryExecution", || {
            start.clone().send()
        })
        .await?;
        let id = started
            .query_execution_id()
            .ok_or_else(|| permanent("StartQueryExecution answered no QueryExecutionId"))?
            .to_owned();
        let mut poll = Poll {
            client: &self.client,
            id: &id,
        };
        let report = retry::run(&mut poll, (), self.limits(), &mut fastrand::Rng::new()).await;
        match report.ended {
            Ended::Done => Ok(id),
            Ended::GaveUp { error, .. } => Err(error),
            Ended::Exhausted { last, .. } | Ended::WaitTooLong { last, .. } => Err(last),
            Ended::OutOfTime { last, .. } => Err(SqlError {
                message: format!(
                    "query {id} had not ended by the run's deadline{}",
                    last.map(|l| format!(": {}", l.message)).unwrap_or_default()
                ),
                retryable: true,
            }),
        }
    }
}

impl Sql for Athena {
    async fn rows(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>, SqlError> {
        let id = self.run(sql).await?;
        let mut rows = Vec::new();
        let mut token: Option<String> = None;
        let mut first_page = true;
        loop {
            let page = self
                .client
                .get_query_results()
                .query_execution_id(&id)
                .set_next_token(token.clone());
            let answer = call(self.limits(), "GetQueryResults", || page.clone().send()).await?;
            let set = answer
                .result_set
                .unwrap_or_else(|| ResultSet::builder().build());
            // A SELECT's first row is its column names.
            let skip = usize::from(first_page);
            first_page = false;
            rows.extend(set.rows().iter().skip(skip).map(|r| {
                r.data()
                    .iter()
                    .map(|d| d.var_char_value().map(str::to_owned))
                    .collect()
            }));
            token = answer.next_token;
            if token.is_none() {
                return Ok(rows);
            }
        }
    }

    async fn execute(&self, sql: &str) -> Result<(), SqlError> {
        self.run(sql).await.map(|_| ())
    }
}

fn permanent(message: impl Into<String>) -> SqlError {
    SqlError {
        message: message.into(),
        retryable: false,
    }
}

/// One Athena call, retried on throttling and transient failures within `limits`.
async fn call<T, E, R, F, Fut>(
    limits: Limits<'_>,
    what: &'static str,
    send: F,
) -> Result<T, SqlError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, aws_smithy_runtime_api::client::result::SdkError<E, R>>>,
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: HttpStatus + std::fmt::Debug,
{
    let mut logic = Once {
        send,
        what,
        got: None,
    };
    let report = retry::run(&mut logic, (), limits, &mut fastrand::Rng::new()).await;
    match (logic.got, report.ended) {
        (Some(answer), _) => Ok(answer),
        (None, Ended::GaveUp { error, .. }) => Err(error),
        (None, Ended::Exhausted { last, .. } | Ended::WaitTooLong { last, .. }) => Err(last),
        (None, _) => Err(SqlError {
            message: format!("{what}: no time left before the run's deadline"),
            retryable: true,
        }),
    }
}

struct Once<F, T> {
    send: F,
    what: &'static str,
    got: Option<T>,
}

impl<T, E, R, F, Fut> RetryLogic for Once<F, T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, aws_smithy_runtime_api::client::result::SdkError<E, R>>>,
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: HttpStatus + std::fmt::Debug,
{
    type Work = ();
    type Answer = Fut::Output;
    type Error = SqlError;

    fn attempt(&mut self, _: &()) -> impl Future<Output = Self::Answer> {
        (self.send)()
    }

    fn decide(&mut self, _: &(), answer: Result<Self::Answer, TimedOut>) -> Decision<(), SqlError> {
        let e = match answer {
            Ok(Ok(t)) => {
                self.got = Some(t);
                return Decision::Done;
            }
            Ok(Err(e)) => classify(&e, &ATHENA),
            Err(t) => ks_kernel::error::CallError::Timeout(t.millis()),
        };
        let error = SqlError {
            message: format!("{}: {}: {e}", self.what, e.code()),
            retryable: e.is_retryable(),
        };
        if error.retryable {
            Decision::RetryAll(error)
        } else {
            Decision::GiveUp(error)
        }
    }
}

/// GetQueryExecution until the query has ended: running is "ask again later", bounded by the
/// deadline alone; failed or cancelled is the query's own error, never retried.
struct Poll<'a> {
    client: &'a Client,
    id: &'a str,
}

type PollAnswer = Result<
    aws_sdk_athena::operation::get_query_execution::GetQueryExecutionOutput,
    aws_smithy_runtime_api::client::result::SdkError<
        aws_sdk_athena::operation::get_query_execution::GetQueryExecutionError,
        aws_smithy_runtime_api::http::Response,
    >,
>;

impl RetryLogic for Poll<'_> {
    type Work = ();
    type Answer = PollAnswer;
    type Error = SqlError;

    fn attempt(&mut self, _: &()) -> impl Future<Output = PollAnswer> {
        self.client
            .get_query_execution()
            .query_execution_id(self.id)
            .send()
    }

    fn decide(&mut self, _: &(), answer: Result<PollAnswer, TimedOut>) -> Decision<(), SqlError> {
        let out = match answer {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => {
                let e = classify(&e, &ATHENA);
                let error = SqlError {
                    message: format!("GetQueryExecution {}: {}: {e}", self.id, e.code()),
                    retryable: e.is_retryable(),
                };
                return if error.retryable {
                    Decision::RetryWhileTime((), error)
                } else {
                    Decision::GiveUp(error)
                };
            }
            Err(t) => {
                let message = format!(
                    "GetQueryExecution {}: timed out after {} ms",
                    self.id,
                    t.millis()
                );
                return Decision::RetryWhileTime(
                    (),
                    SqlError {
                        message,
                        retryable: true,
                    },
                );
            }
        };
        let status = out.query_execution().and_then(|q| q.status());
        match status.and_then(|s| s.state()) {
            Some(QueryExecutionState::Succeeded) => Decision::Done,
            Some(QueryExecutionState::Queued | QueryExecutionState::Running) | None => {
                let message = format!("query {} still running", self.id);
                Decision::RetryWhileTime(
                    (),
                    SqlError {
                        message,
                        retryable: true,
                    },
                )
            }
            Some(state) => {
                let why = status
                    .and_then(|s| s.state_change_reason())
                    .unwrap_or("no reason given");
                Decision::GiveUp(permanent(format!(
                    "query {} {}: {why}",
                    self.id,
                    state.as_str()
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_athena::operation::get_query_execution::GetQueryExecutionOutput;
    use aws_sdk_athena::types::{QueryExecution, QueryExecutionStatus};

    use super::*;

    fn answer(state: QueryExecutionState, reason: Option<&str>) -> GetQueryExecutionOutput {
        let status = QueryExecutionStatus::builder()
            .state(state)
            .set_state_change_reason(reason.map(str::to_owned))
            .build();
        GetQueryExecutionOutput::builder()
            .query_execution(QueryExecution::builder().status(status).build())
            .build()
    }

    #[test]
    fn a_query_is_polled_while_it_runs_and_its_own_failure_is_never_retried() {
        // GIVEN the poll of one query (deciding needs no call)
        let config = aws_sdk_athena::Config::builder()
            .behavior_version(aws_sdk_athena::config::BehaviorVersion::latest())
            .build();
        let client = Client::from_conf(config);
        let mut poll = Poll {
            client: &client,
            id: "q-1",
        };
        // WHEN it is QUEUED or RUNNING THEN it is asked again, bounded by the deadline alone
        for state in [QueryExecutionState::Queued, QueryExecutionState::Running] {
            assert!(matches!(
                poll.decide(&(), Ok(Ok(answer(state, None)))),
                Decision::RetryWhileTime(
                    (),
                    SqlError {
                        retryable: true,
                        ..
                    }
                )
            ));
        }
        // AND a call that timed out is asked again too
        let timed_out = TimedOut {
            after: Duration::from_secs(20),
        };
        assert!(matches!(
            poll.decide(&(), Err(timed_out)),
            Decision::RetryWhileTime(..)
        ));
        // AND SUCCEEDED ends the poll
        let done = poll.decide(&(), Ok(Ok(answer(QueryExecutionState::Succeeded, None))));
        assert_eq!(done, Decision::Done);
        // AND FAILED or CANCELLED gives up with the query's reason, not retryable
        for state in [QueryExecutionState::Failed, QueryExecutionState::Cancelled] {
            let reason = Some("ICEBERG_COMMIT_ERROR: conflict");
            let Decision::GiveUp(e) = poll.decide(&(), Ok(Ok(answer(state.clone(), reason))))
            else {
                panic!("{state:?} was not given up");
            };
            assert!(!e.retryable);
            assert!(
                e.message.contains("q-1") && e.message.contains("ICEBERG_COMMIT_ERROR"),
                "{e:?}"
            );
        }
    }
}
