//! One PutRecords request through to the end: send, keep what was accepted, send only the failed
//! entries again (throttled or internal failures). The kernel's retry driver does the waiting
//! (capped, fully jittered backoff, never past the deadline); this module decides. The attempt
//! limit counts attempts in a row that settle nothing: while entries keep going in, the request
//! is tried until the deadline, so a throttled tail is not given up (and re-sent with the
//! whole batch by the next invocation) while time remains.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use ks_kernel::retry::{self, Ended, Limits, RetryLogic, RetryPolicy, TimedOut};

use super::{CallError, Entry, EntryOutcome, RETRYABLE_ENTRY_CODES, StreamSink};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliverySettings {
    pub retry: RetryPolicy,
    /// The most one PutRecords call may take.
    pub call_timeout: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            retry: RetryPolicy {
                max_attempts: 8,
                base: Duration::from_millis(100),
                cap: Duration::from_secs(5),
            },
            call_timeout: Duration::from_secs(10),
        }
    }
}

/// Why some entries of a request were not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    #[error(
        "{pending} entries still failing after {attempts} attempts (retries exhausted or deadline near): {last}"
    )]
    Exhausted {
        pending: usize,
        attempts: u32,
        last: String,
    },
    #[error("permanent failure for {entries} entries: {reason}")]
    Permanent { entries: usize, reason: String },
}

/// How one request went.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestReport {
    /// Per entry, whether the stream accepted it.
    pub accepted: Vec<bool>,
    /// Calls made: the first and every retry.
    pub calls: u64,
    pub retries: u64,
    pub error: Option<DeliveryError>,
}

/// What one call's answer means for the entries it carried (`pending`: their indices).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub accepted: Vec<usize>,
    /// Worth sending again.
    pub retry: Vec<usize>,
    /// Never to be sent again, with the reason.
    pub failed: Vec<(usize, String)>,
}

/// Sorts a call's answer into accepted, retry and failed. Pure, so it is tested on its own.
pub fn decide(pending: &[usize], answer: &Result<Vec<EntryOutcome>, CallError>) -> Decision {
    let mut d = Decision {
        accepted: Vec::new(),
        retry: Vec::new(),
        failed: Vec::new(),
    };
    match answer {
        Err(e) if e.is_retryable() => d.retry = pending.to_vec(),
        Err(e) => d.failed = pending.iter().map(|&i| (i, e.to_string())).collect(),
        Ok(outcomes) if outcomes.len() != pending.len() => {
            // The stream's answer cannot be matched to entries: nothing can be known to be
            // delivered, and guessing could skip a record, so all are tried again.
            d.retry = pending.to_vec();
        }
        Ok(outcomes) => {
            for (&i, outcome) in pending.iter().zip(outcomes) {
                match outcome {
                    EntryOutcome::Accepted { .. } => d.accepted.push(i),
                    EntryOutcome::Failed { code, .. }
                        if RETRYABLE_ENTRY_CODES.contains(&code.as_str()) =>
                    {
                        d.retry.push(i)
                    }
                    EntryOutcome::Failed { code, message } => {
                        d.failed.push((i, format!("{code}: {message}")))
                    }
                }
            }
        }
    }
    d
}

fn describe(answer: &Result<Vec<EntryOutcome>, CallError>, pending: usize) -> String {
    match answer {
        Err(e) => e.to_string(),
        Ok(outcomes) if outcomes.len() != pending => {
            format!(
                "the stream answered {} outcomes for {pending} entries",
                outcomes.len()
            )
        }
        Ok(outcomes) => outcomes
            .iter()
            .find_map(|o| match o {
                EntryOutcome::Failed { code, message } => Some(format!("{code}: {message}")),
                EntryOutcome::Accepted { .. } => None,
            })
            .unwrap_or_default(),
    }
}

/// One request as the retry driver runs it: the work is the indices still to deliver.
struct PutLogic<'a, S> {
    sink: &'a S,
    entries: &'a [&'a Entry],
    accepted: Vec<bool>,
    failed: Vec<(usize, String)>,
}

impl<S: StreamSink> RetryLogic for PutLogic<'_, S> {
    type Work = Vec<usize>;
    type Answer = Result<Vec<EntryOutcome>, CallError>;
    type Error = String;

    async fn attempt(&mut self, pending: &Vec<usize>) -> Self::Answer {
        let batch: Vec<&Entry> = pending.iter().map(|&i| self.entries[i]).collect();
        self.sink.put_records(&batch).await
    }

    fn decide(
        &mut self,
        pending: &Vec<usize>,
        answer: Result<Self::Answer, TimedOut>,
    ) -> retry::Decision<Vec<usize>, String> {
        let answer = answer.unwrap_or_else(|t| Err(CallError::Timeout(t.millis())));
        let d = decide(pending, &answer);
        for &i in &d.accepted {
            self.accepted[i] = true;
        }
        let settled_none = d.accepted.is_empty() && d.failed.is_empty();
        self.failed.extend(d.failed);
        let why = describe(&answer, pending.len());
        match (d.retry.is_empty(), settled_none) {
            (true, _) => retry::Decision::Done,
            // Nothing settled: this attempt counts toward the limit.
            (false, true) => retry::Decision::RetryPartial(d.retry, why),
            // Some entries went in: keep going with the rest while time remains.
            (false, false) => retry::Decision::RetryProgress(d.retry, why),
        }
    }
}

/// Delivers `entries` as one request and its retries. `rng` draws the jitter.
pub async fn deliver<S: StreamSink>(
    sink: &S,
    entries: &[&Entry],
    settings: &DeliverySettings,
    deadline: Instant,
    rng: &mut fastrand::Rng,
) -> RequestReport {
    let mut logic = PutLogic {
        sink,
        entries,
        accepted: vec![false; entries.len()],
        failed: Vec::new(),
    };
    let limits = Limits {
        policy: &settings.retry,
        deadline,
        attempt_timeout: Some(settings.call_timeout),
    };
    let run = retry::run(&mut logic, (0..entries.len()).collect(), limits, rng).await;
    let (attempts, retries) = (run.attempts, run.retries());
    let error = match run.ended {
        Ended::Done => None,
        Ended::Exhausted { work, last }
        | Ended::GaveUp { work, error: last }
        | Ended::WaitTooLong { work, last, .. } => Some(DeliveryError::Exhausted {
            pending: work.len(),
            attempts,
            last,
        }),
        Ended::OutOfTime { work, .. } => Some(DeliveryError::Exhausted {
            pending: work.len(),
            attempts,
            last: "no time left before the deadline".to_owned(),
        }),
    };
    let error = error.or_else(|| {
        let first = logic.failed.first()?;
        Some(DeliveryError::Permanent {
            entries: logic.failed.len(),
            reason: first.1.clone(),
        })
    });
    RequestReport {
        accepted: logic.accepted,
        calls: u64::from(attempts),
        retries: u64::from(retries),
        error,
    }
}

/// One call's answer from a [`MemorySink`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Entry `i` is accepted when `mask[i]` is true or the mask ends before it; the others fail
    /// as throttled.
    Entries(Vec<bool>),
    /// The whole call fails.
    Fail(CallError),
}

/// A stream in memory, for tests of what drives a [`StreamSink`]: it answers the next calls
/// as scripted, then accepts everything, and keeps what it accepted.
#[derive(Default)]
pub struct MemorySink {
    /// Every accepted entry, in order.
    pub accepted: Mutex<Vec<Entry>>,
    /// How many calls were made.
    pub calls: Mutex<u64>,
    /// The next calls' answers, in order.
    pub script: Mutex<VecDeque<Answer>>,
    /// When set, every call fails so, whatever the script says.
    pub always_fail: Option<CallError>,
    /// Called with the call's number before it answers (to cancel a run mid-way).
    pub on_call: Option<Box<dyn Fn(u64) + Send + Sync>>,
}

impl MemorySink {
    /// A sink whose every call fails with `error`.
    pub fn failing(error: CallError) -> Self {
        MemorySink {
            always_fail: Some(error),
            ..MemorySink::default()
        }
    }

    fn answer(&self) -> Answer {
        if let Some(e) = &self.always_fail {
            return Answer::Fail(e.clone());
        }
        let next = self.script.lock().expect("script lock").pop_front();
        next.unwrap_or(Answer::Entries(Vec::new()))
    }
}

impl StreamSink for MemorySink {
    async fn put_records(&self, entries: &[&Entry]) -> Result<Vec<EntryOutcome>, CallError> {
        let n = {
            let mut calls = self.calls.lock().expect("calls lock");
            *calls += 1;
            *calls
        };
        if let Some(f) = &self.on_call {
            f(n);
        }
        // Let other tasks run, as a network call would.
        tokio::task::yield_now().await;
        let mask = match self.answer() {
            Answer::Fail(e) => return Err(e),
            Answer::Entries(mask) => mask,
        };
        let mut accepted = self.accepted.lock().expect("accepted lock");
        let accept = mask.into_iter().chain(std::iter::repeat(true));
        Ok(entries
            .iter()
            .zip(accept)
            .map(|(e, ok)| {
                if !ok {
                    return EntryOutcome::Failed {
                        code: "ProvisionedThroughputExceededException".into(),
                        message: "scripted".into(),
                    };
                }
                accepted.push((*e).clone());
                EntryOutcome::Accepted {
                    shard_id: "shardId-000000000000".into(),
                    sequence_number: accepted.len().to_string(),
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;

    fn ok() -> EntryOutcome {
        EntryOutcome::Accepted {
            shard_id: "shardId-000000000000".into(),
            sequence_number: "1".into(),
        }
    }

    fn fail(code: &str) -> EntryOutcome {
        EntryOutcome::Failed {
            code: code.into(),
            message: "injected".into(),
        }
    }

    #[test]
    fn only_throttled_and_internal_failures_are_sent_again() {
        // GIVEN an answer with each kind of outcome
        let answer = Ok(vec![
            ok(),
            fail("ProvisionedThroughputExceededException"),
            fail("InternalFailure"),
            fail("KMSAccessDenied"),
        ]);
        // WHEN decided
        let d = decide(&[10, 11, 12, 13], &answer);
        // THEN accepted, retried and failed are told apart by entry
        assert_eq!(d.accepted, [10]);
        assert_eq!(d.retry, [11, 12]);
        assert_eq!(d.failed, [(13, "KMSAccessDenied: injected".to_owned())]);
    }

    #[test]
    fn whole_call_errors_retry_everything_unless_permanent() {
        let d = decide(&[1, 2], &Err(CallError::Throttled("slow down".into())));
        assert_eq!(d.retry, [1, 2]);
        let d = decide(&[1, 2], &Err(CallError::Timeout(10)));
        assert_eq!(d.retry, [1, 2]);
        let d = decide(
            &[1, 2],
            &Err(CallError::Permanent("ResourceNotFoundException".into())),
        );
        assert!(d.retry.is_empty());
        assert_eq!(d.failed.len(), 2);
        // An answer of the wrong length proves nothing was delivered: retry all.
        let d = decide(&[1, 2], &Ok(vec![ok()]));
        assert_eq!((d.accepted.len(), d.retry.len()), (0, 2));
    }

    /// One scripted answer, given the number of entries in the call.
    type Answer = Box<dyn Fn(usize) -> Result<Vec<EntryOutcome>, CallError> + Send>;

    /// Answers from a script, one per call; records what each call carried.
    #[derive(Default)]
    struct Scripted {
        script: Mutex<VecDeque<Answer>>,
        calls: Mutex<Vec<Vec<Vec<u8>>>>,
        latency: Duration,
    }

    impl Scripted {
        fn then(
            self,
            f: impl Fn(usize) -> Result<Vec<EntryOutcome>, CallError> + Send + 'static,
        ) -> Self {
            self.script.lock().unwrap().push_back(Box::new(f));
            self
        }
    }

    impl StreamSink for Scripted {
        async fn put_records(&self, entries: &[&Entry]) -> Result<Vec<EntryOutcome>, CallError> {
            self.calls
                .lock()
                .unwrap()
                .push(entries.iter().map(|e| e.data.clone()).collect());
            if !self.latency.is_zero() {
                tokio::time::sleep(self.latency).await;
            }
            let next = self.script.lock().unwrap().pop_front();
            match next {
                Some(f) => f(entries.len()),
                None => Ok(vec![ok(); entries.len()]),
            }
        }
    }

    /// Asserts the time since `start` is at most `ms` milliseconds.
    fn waited_at_most(start: Instant, ms: u64) {
        let waited = start.elapsed();
        assert!(waited <= Duration::from_millis(ms), "{waited:?}");
    }

    fn entries(n: usize) -> Vec<Entry> {
        (0..n)
            .map(|i| Entry {
                data: vec![i as u8],
                partition_key: format!("k{i}"),
                explicit_hash_key: None,
            })
            .collect()
    }

    fn settings(max_attempts: u32) -> DeliverySettings {
        DeliverySettings {
            retry: RetryPolicy {
                max_attempts,
                base: Duration::from_millis(100),
                cap: Duration::from_millis(800),
            },
            call_timeout: Duration::from_secs(1),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn failed_entries_alone_are_resent_after_a_jittered_backoff() {
        // GIVEN a stream that throttles the 2nd and 4th of four entries once
        let sink = Scripted::default().then(|_| {
            Ok(vec![
                ok(),
                fail("ProvisionedThroughputExceededException"),
                ok(),
                fail("InternalFailure"),
            ])
        });
        let e = entries(4);
        let refs: Vec<&Entry> = e.iter().collect();
        let start = Instant::now();
        // WHEN delivered
        let report = deliver(
            &sink,
            &refs,
            &settings(5),
            start + Duration::from_secs(60),
            &mut fastrand::Rng::with_seed(7),
        )
        .await;
        // THEN all are accepted with one retry carrying just the two failed entries
        assert_eq!(report.accepted, [true; 4]);
        assert_eq!((report.calls, report.retries, report.error), (2, 1, None));
        assert_eq!(sink.calls.lock().unwrap()[1], [vec![1u8], vec![3u8]]);
        // AND the wait was within the first backoff ceiling (full jitter: 0..=100 ms)
        waited_at_most(start, 100);
    }

    #[tokio::test(start_paused = true)]
    async fn waits_grow_exponentially_up_to_the_cap() {
        // GIVEN a stream that throttles everything five times
        let mut sink = Scripted::default();
        for _ in 0..5 {
            sink = sink.then(|n| Err(CallError::Throttled(format!("{n} entries"))));
        }
        let e = entries(1);
        let refs: Vec<&Entry> = e.iter().collect();
        let start = Instant::now();
        // WHEN delivered
        let mut rng = fastrand::Rng::with_seed(1);
        let report = deliver(
            &sink,
            &refs,
            &settings(10),
            start + Duration::from_secs(60),
            &mut rng,
        )
        .await;
        // THEN it succeeds on the 6th call, no wait longer than its ceiling (100, 200, 400, 800, 800 ms)
        assert_eq!((report.calls, report.retries), (6, 5));
        assert_eq!(report.accepted, [true]);
        waited_at_most(start, 2_300);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_when_attempts_run_out() {
        let mut sink = Scripted::default();
        for _ in 0..10 {
            sink = sink.then(|n| Ok(vec![fail("ProvisionedThroughputExceededException"); n]));
        }
        let e = entries(3);
        let refs: Vec<&Entry> = e.iter().collect();
        let report = deliver(
            &sink,
            &refs,
            &settings(3),
            Instant::now() + Duration::from_secs(60),
            &mut fastrand::Rng::with_seed(3),
        )
        .await;
        assert_eq!(report.calls, 3);
        assert_eq!(report.accepted, [false; 3]);
        let err = report.error.unwrap();
        assert!(
            matches!(&err, DeliveryError::Exhausted { pending: 3, attempts: 3, last } if last.contains("ProvisionedThroughputExceeded")),
            "{err}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn never_waits_or_calls_past_the_deadline() {
        // GIVEN a slow stream (400 ms a call) that always throttles, and 1 s until the deadline
        let mut sink = Scripted {
            latency: Duration::from_millis(400),
            ..Scripted::default()
        };
        for _ in 0..50 {
            sink = sink.then(|_| Err(CallError::Throttled("Rate exceeded".into())));
        }
        let e = entries(2);
        let refs: Vec<&Entry> = e.iter().collect();
        let start = Instant::now();
        let deadline = start + Duration::from_secs(1);
        // WHEN delivered with plenty of attempts allowed
        let report = deliver(
            &sink,
            &refs,
            &settings(50),
            deadline,
            &mut fastrand::Rng::with_seed(9),
        )
        .await;
        // THEN it stops by the deadline with an error, not after 50 attempts
        assert!(
            Instant::now() <= deadline,
            "overran by {:?}",
            Instant::now() - deadline
        );
        assert!(report.calls <= 3, "{report:?}");
        assert!(matches!(
            report.error,
            Some(DeliveryError::Exhausted { .. })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_call_times_out_and_is_retried() {
        // GIVEN a stream whose calls take 5 s, with a 1 s call timeout
        let sink = Scripted {
            latency: Duration::from_secs(5),
            ..Scripted::default()
        };
        let e = entries(1);
        let refs: Vec<&Entry> = e.iter().collect();
        let report = deliver(
            &sink,
            &refs,
            &settings(2),
            Instant::now() + Duration::from_secs(60),
            &mut fastrand::Rng::with_seed(2),
        )
        .await;
        // THEN both attempts time out and the error says so
        assert_eq!(report.calls, 2);
        let err = report.error.unwrap();
        assert!(err.to_string().contains("timed out after 1000 ms"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn permanently_failed_entries_are_reported_not_retried() {
        let sink = Scripted::default().then(|_| Ok(vec![ok(), fail("ValidationException")]));
        let e = entries(2);
        let refs: Vec<&Entry> = e.iter().collect();
        let report = deliver(
            &sink,
            &refs,
            &settings(5),
            Instant::now() + Duration::from_secs(60),
            &mut fastrand::Rng::with_seed(2),
        )
        .await;
        assert_eq!(report.accepted, [true, false]);
        assert_eq!(report.calls, 1);
        assert!(matches!(
            report.error,
            Some(DeliveryError::Permanent { entries: 1, .. })
        ));
    }
}
