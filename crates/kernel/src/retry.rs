//! Trying a call again: the policy (capped exponential backoff with full jitter, never past the
//! deadline; pure, so it is tested without waiting) and the one driver every caller goes
//! through ([`run`]). The driver owns the attempts, the deadline, each attempt's time limit and
//! the sleeps; a caller supplies only a [`RetryLogic`]: how to make one attempt, and what its
//! answer means ([`Decision`]).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included, among those the caller counts: a retry decided as
    /// [`Decision::RetryWhileTime`] is not counted (the deadline alone bounds it).
    pub max_attempts: u32,
    /// The backoff ceiling after the first failure.
    pub base: Duration,
    /// No backoff is longer than this.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base: Duration::from_millis(50),
            cap: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempts_made + 1`, given `jitter` drawn uniformly from [0, 1):
    /// uniform in [0, min(cap, base·2^(attempts_made-1))] ("full jitter").
    pub fn backoff(&self, attempts_made: u32, jitter: f64) -> Duration {
        let exp = attempts_made.saturating_sub(1).min(30);
        let ceiling = self.base.saturating_mul(1u32 << exp).min(self.cap);
        ceiling.mul_f64(jitter.clamp(0.0, 1.0))
    }

    /// `Some(wait)` if another attempt is allowed and its wait ends before `remaining` runs out.
    pub fn next_delay(
        &self,
        attempts_made: u32,
        remaining: Duration,
        jitter: f64,
    ) -> Option<Duration> {
        if attempts_made >= self.max_attempts {
            return None;
        }
        let wait = self.backoff(attempts_made, jitter);
        // An attempt that starts with no time left cannot finish either.
        (wait < remaining).then_some(wait)
    }
}

/// What one attempt's answer means, as the caller decides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<W, E> {
    /// Nothing is left to do.
    Done,
    /// Try the same work again after a backoff; `E` says why.
    RetryAll(E),
    /// Try again after a backoff with only what is left.
    RetryPartial(W, E),
    /// Part of the work was done: try the rest, counting attempts (and backoff) from the
    /// start again, so a request that keeps draining is bounded by the deadline alone.
    RetryProgress(W, E),
    /// Try what is left again after a backoff, bounded by the deadline alone: the service
    /// pushed back (throttling, a timeout, a 5xx), which says nothing against the work, so the
    /// attempt is not counted against `max_attempts`. The backoff grows with the run of such
    /// retries in a row, up to the policy's cap.
    RetryWhileTime(W, E),
    /// Try again after exactly this long (a server's `Retry-After`), if that fits before the
    /// deadline and attempts remain.
    RetryAfter(Duration, E),
    /// Stop: trying again cannot help.
    GiveUp(E),
}

/// An attempt that did not finish within its time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut {
    pub after: Duration,
}

impl TimedOut {
    pub fn millis(self) -> u64 {
        self.after.as_millis() as u64
    }
}

/// One kind of call, as the driver runs it.
pub trait RetryLogic {
    /// What is still to do: the whole request, or what a partial success left.
    type Work;
    /// What one attempt answered.
    type Answer;
    /// Why an attempt failed.
    type Error;

    /// Makes one attempt at `work`.
    fn attempt(&mut self, work: &Self::Work) -> impl Future<Output = Self::Answer>;

    /// What the answer to one attempt at `work` means (keeping any results it carries).
    fn decide(
        &mut self,
        work: &Self::Work,
        answer: Result<Self::Answer, TimedOut>,
    ) -> Decision<Self::Work, Self::Error>;
}

/// The bounds of one run.
#[derive(Debug, Clone, Copy)]
pub struct Limits<'a> {
    pub policy: &'a RetryPolicy,
    /// No attempt starts, and no wait ends, after this.
    pub deadline: Instant,
    /// The most one attempt may take (it is also cut at the deadline).
    pub attempt_timeout: Option<Duration>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended<W, E> {
    Done,
    /// The logic gave up on `work`.
    GaveUp {
        work: W,
        error: E,
    },
    /// Attempts ran out, or the next backoff would not end before the deadline.
    Exhausted {
        work: W,
        last: E,
    },
    /// No time was left to start an attempt; `last` is the previous attempt's error, if any.
    OutOfTime {
        work: W,
        last: Option<E>,
    },
    /// The server asked for a wait longer than the time left.
    WaitTooLong {
        work: W,
        wait: Duration,
        last: E,
    },
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report<W, E> {
    /// Attempts made, the first included.
    pub attempts: u32,
    pub ended: Ended<W, E>,
}

/// Attempts in all; the counted ones since the last [`Decision::RetryProgress`] (they bound
/// the retries and set the backoff); and the [`Decision::RetryWhileTime`] retries in a row
/// (they set that backoff only).
#[derive(Debug, Clone, Copy, Default)]
struct Count {
    all: u32,
    streak: u32,
    pushed_back: u32,
}

impl<W, E> Report<W, E> {
    /// Attempts after the first.
    pub fn retries(&self) -> u32 {
        self.attempts.saturating_sub(1)
    }
}

/// Runs `work` through `logic` until it is done, the logic gives up, attempts run out or the
/// deadline is near. `rng` draws the jitter.
pub async fn run<L: RetryLogic>(
    logic: &mut L,
    work: L::Work,
    limits: Limits<'_>,
    rng: &mut fastrand::Rng,
) -> Report<L::Work, L::Error> {
    let mut work = work;
    let mut n = Count::default();
    let mut last = None;
    loop {
        let remaining = limits.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            let ended = Ended::OutOfTime { work, last };
            return Report {
                attempts: n.all,
                ended,
            };
        }
        n.all += 1;
        n.streak += 1;
        let limit = limits
            .attempt_timeout
            .map_or(remaining, |t| t.min(remaining));
        let answer = tokio::time::timeout(limit, logic.attempt(&work))
            .await
            .map_err(|_| TimedOut { after: limit });
        let mut uncounted = false;
        let (wait, error) = match logic.decide(&work, answer) {
            Decision::Done => {
                return Report {
                    attempts: n.all,
                    ended: Ended::Done,
                };
            }
            Decision::GiveUp(error) => {
                let ended = Ended::GaveUp { work, error };
                return Report {
                    attempts: n.all,
                    ended,
                };
            }
            Decision::RetryAll(error) => (None, error),
            Decision::RetryPartial(rest, error) => {
                work = rest;
                (None, error)
            }
            Decision::RetryProgress(rest, error) => {
                work = rest;
                n.streak = 1;
                (None, error)
            }
            Decision::RetryAfter(wait, error) => (Some(wait), error),
            Decision::RetryWhileTime(rest, error) => {
                work = rest;
                n.streak -= 1;
                n.pushed_back += 1;
                uncounted = true;
                (None, error)
            }
        };
        if !uncounted {
            n.pushed_back = 0;
        }
        let remaining = limits.deadline.saturating_duration_since(Instant::now());
        let wait = match wait {
            None if uncounted => {
                let wait = limits.policy.backoff(n.pushed_back, rng.f64());
                (wait < remaining).then_some(wait)
            }
            Some(wait) if wait >= remaining => {
                let ended = Ended::WaitTooLong {
                    work,
                    wait,
                    last: error,
                };
                return Report {
                    attempts: n.all,
                    ended,
                };
            }
            Some(wait) if n.streak < limits.policy.max_attempts => Some(wait),
            Some(_) => None,
            None => limits.policy.next_delay(n.streak, remaining, rng.f64()),
        };
        let Some(wait) = wait else {
            let ended = Ended::Exhausted { work, last: error };
            return Report {
                attempts: n.all,
                ended,
            };
        };
        tracing::debug!(
            attempt = n.all,
            wait_ms = wait.as_millis() as u64,
            "retrying"
        );
        tokio::time::sleep(wait).await;
        last = Some(error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1_000),
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        // GIVEN the largest jitter WHEN attempts fail in a row THEN waits double, then stay capped
        let p = policy();
        let waits: Vec<u128> = (1..=6).map(|a| p.backoff(a, 1.0).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn jitter_scales_the_wait_down_to_zero() {
        let p = policy();
        assert_eq!(p.backoff(3, 0.0), Duration::ZERO);
        assert_eq!(p.backoff(3, 0.5), Duration::from_millis(200));
    }

    #[test]
    fn stops_after_max_attempts() {
        let p = policy();
        assert!(p.next_delay(4, Duration::from_secs(60), 0.5).is_some());
        assert_eq!(p.next_delay(5, Duration::from_secs(60), 0.5), None);
    }

    #[test]
    fn never_waits_past_the_deadline() {
        // GIVEN 150 ms left WHEN the next wait would be 400 ms THEN no retry
        let p = policy();
        assert_eq!(p.next_delay(3, Duration::from_millis(150), 1.0), None);
        assert_eq!(
            p.next_delay(1, Duration::from_millis(150), 1.0),
            Some(Duration::from_millis(100))
        );
    }

    #[test]
    fn huge_attempt_counts_do_not_overflow() {
        assert_eq!(
            policy().backoff(u32::MAX, 1.0),
            Duration::from_millis(1_000)
        );
    }

    /// Answers from a script, one per attempt (then `Ok` forever); records each attempt's work.
    struct Scripted {
        script: std::collections::VecDeque<Result<(), &'static str>>,
        seen: Vec<Vec<u32>>,
        latency: Duration,
        partial: bool,
        retry_after: Option<Duration>,
    }

    impl Scripted {
        fn new(script: &[Result<(), &'static str>]) -> Self {
            Scripted {
                script: script.iter().copied().collect(),
                seen: Vec::new(),
                latency: Duration::ZERO,
                partial: false,
                retry_after: None,
            }
        }
    }

    impl RetryLogic for Scripted {
        type Work = Vec<u32>;
        type Answer = Result<(), &'static str>;
        type Error = String;

        async fn attempt(&mut self, work: &Vec<u32>) -> Self::Answer {
            self.seen.push(work.clone());
            tokio::time::sleep(self.latency).await;
            self.script.pop_front().unwrap_or(Ok(()))
        }

        fn decide(
            &mut self,
            work: &Vec<u32>,
            answer: Result<Self::Answer, TimedOut>,
        ) -> Decision<Vec<u32>, String> {
            match answer {
                Err(t) => Decision::RetryAll(format!("timed out after {} ms", t.millis())),
                Ok(Ok(())) => Decision::Done,
                Ok(Err("fatal")) => Decision::GiveUp("fatal".into()),
                Ok(Err(e)) if self.partial => Decision::RetryPartial(work[1..].to_vec(), e.into()),
                Ok(Err(e)) => match self.retry_after {
                    Some(wait) => Decision::RetryAfter(wait, e.into()),
                    None => Decision::RetryAll(e.into()),
                },
            }
        }
    }

    /// Runs `logic` over `work` under the test policy, `secs` before the deadline, with jitter
    /// drawn from `seed`.
    async fn run_for<L: RetryLogic>(
        logic: &mut L,
        work: L::Work,
        secs: u64,
        seed: u64,
    ) -> Report<L::Work, L::Error> {
        let p = policy();
        run(
            logic,
            work,
            limits(&p, secs),
            &mut fastrand::Rng::with_seed(seed),
        )
        .await
    }

    /// Asserts the time since `start` is at most `ms` milliseconds.
    fn waited_at_most(start: Instant, ms: u64) {
        let waited = start.elapsed();
        assert!(waited <= Duration::from_millis(ms), "{waited:?}");
    }

    fn limits(p: &RetryPolicy, secs: u64) -> Limits<'_> {
        Limits {
            policy: p,
            deadline: Instant::now() + Duration::from_secs(secs),
            attempt_timeout: Some(Duration::from_secs(1)),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_driver_retries_until_done_within_the_backoff_ceilings() {
        // GIVEN a call that fails three times, then succeeds
        let mut logic = Scripted::new(&[Err("busy"), Err("busy"), Err("busy")]);
        let start = Instant::now();
        // WHEN run
        let report = run_for(&mut logic, vec![1, 2], 60, 1).await;
        // THEN it is done on the 4th attempt, having waited no longer than 100 + 200 + 400 ms
        assert_eq!((report.attempts, report.retries()), (4, 3));
        assert_eq!(report.ended, Ended::Done);
        waited_at_most(start, 700);
    }

    #[tokio::test(start_paused = true)]
    async fn a_partial_retry_sends_only_what_is_left() {
        // GIVEN a logic that keeps what succeeded and retries the rest
        let mut logic = Scripted::new(&[Err("some failed"), Err("some failed")]);
        logic.partial = true;
        // WHEN run
        let report = run_for(&mut logic, vec![1, 2, 3], 60, 2).await;
        // THEN each attempt carried only what the previous one left
        assert_eq!(report.ended, Ended::Done);
        assert_eq!(logic.seen, [vec![1, 2, 3], vec![2, 3], vec![3]]);
    }

    /// Delivers one item per attempt, and fails the rest: progress every time.
    struct Draining;

    impl RetryLogic for Draining {
        type Work = Vec<u32>;
        type Answer = ();
        type Error = String;

        async fn attempt(&mut self, _: &Vec<u32>) {}

        fn decide(
            &mut self,
            work: &Vec<u32>,
            _: Result<(), TimedOut>,
        ) -> Decision<Vec<u32>, String> {
            match work.len() {
                0 | 1 => Decision::Done,
                _ => Decision::RetryProgress(work[1..].to_vec(), "some throttled".into()),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn progress_starts_the_count_again_so_only_the_deadline_bounds_a_draining_run() {
        // GIVEN five attempts allowed and a request that drains one entry per attempt
        let work: Vec<u32> = (0..12).collect();
        // WHEN run
        let report = run_for(&mut Draining, work, 60, 8).await;
        // THEN it finishes after 12 attempts, past the five a run without progress gets
        assert_eq!((report.attempts, report.ended), (12, Ended::Done));
    }

    /// Pushed back (throttled) `pushed_back` times, then answers the rest invalidly `invalid`
    /// times, then succeeds.
    struct PushedBack {
        pushed_back: u32,
        invalid: u32,
        attempts: u32,
    }

    impl RetryLogic for PushedBack {
        type Work = Vec<u32>;
        type Answer = ();
        type Error = String;

        async fn attempt(&mut self, _: &Vec<u32>) {
            self.attempts += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }

        fn decide(
            &mut self,
            work: &Vec<u32>,
            _: Result<(), TimedOut>,
        ) -> Decision<Vec<u32>, String> {
            if self.pushed_back > 0 {
                self.pushed_back -= 1;
                Decision::RetryWhileTime(work.clone(), "throttled".into())
            } else if self.invalid > 0 {
                self.invalid -= 1;
                Decision::RetryAll("invalid answer".into())
            } else {
                Decision::Done
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn push_back_is_retried_while_time_remains_not_by_count() {
        // GIVEN five counted attempts allowed and a service that throttles 40 calls in a row
        let mut logic = PushedBack {
            pushed_back: 40,
            invalid: 0,
            attempts: 0,
        };
        let start = Instant::now();
        // WHEN run with a minute left
        let report = run_for(&mut logic, vec![1], 60, 9).await;
        // THEN it goes on past five attempts and is done on the 41st, every wait under the cap
        assert_eq!((report.attempts, &report.ended), (41, &Ended::Done));
        waited_at_most(start, 41 * 200 + 40 * 1_000);
    }

    #[tokio::test(start_paused = true)]
    async fn push_back_ends_at_the_deadline_and_nothing_runs_past_it() {
        // GIVEN a service that throttles for ever and 10 s left
        let mut logic = PushedBack {
            pushed_back: u32::MAX,
            invalid: 0,
            attempts: 0,
        };
        let p = policy();
        let l = limits(&p, 10);
        // WHEN run
        let report = run(&mut logic, vec![1], l, &mut fastrand::Rng::with_seed(10)).await;
        // THEN it kept trying until the deadline (far more than five attempts), then stopped
        assert!(report.attempts > 10, "{}", report.attempts);
        assert!(Instant::now() <= l.deadline);
        assert!(
            matches!(&report.ended, Ended::Exhausted { last, .. } | Ended::OutOfTime { last: Some(last), .. } if last == "throttled"),
            "{:?}",
            report.ended
        );
    }

    #[tokio::test(start_paused = true)]
    async fn invalid_answers_are_counted_apart_from_push_back() {
        // GIVEN 20 throttled attempts, then answers that are never valid
        let mut logic = PushedBack {
            pushed_back: 20,
            invalid: u32::MAX,
            attempts: 0,
        };
        let p = policy();
        // WHEN run with plenty of time
        let report = run_for(&mut logic, vec![1], 600, 11).await;
        // THEN the throttled attempts did not use up the five counted ones: 20 + 5 in all
        assert_eq!(report.attempts, 20 + p.max_attempts);
        assert!(matches!(&report.ended, Ended::Exhausted { last, .. } if last == "invalid answer"));
    }

    #[tokio::test(start_paused = true)]
    async fn giving_up_ends_the_run_at_once() {
        let mut logic = Scripted::new(&[Err("fatal")]);
        let report = run_for(&mut logic, vec![7], 60, 3).await;
        assert_eq!(report.attempts, 1);
        assert_eq!(
            report.ended,
            Ended::GaveUp {
                work: vec![7],
                error: "fatal".into()
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_run_out_with_the_last_error() {
        let mut logic = Scripted::new(&[Err("busy"); 10]);
        let p = policy();
        let report = run_for(&mut logic, vec![7], 60, 4).await;
        assert_eq!(report.attempts, p.max_attempts);
        assert_eq!(
            report.ended,
            Ended::Exhausted {
                work: vec![7],
                last: "busy".into()
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_call_times_out_and_nothing_runs_past_the_deadline() {
        // GIVEN calls that take 5 s, a 1 s attempt limit, plenty of attempts and 2.5 s in all
        let mut logic = Scripted::new(&[]);
        logic.latency = Duration::from_secs(5);
        let p = RetryPolicy {
            max_attempts: 50,
            ..policy()
        };
        let l = Limits {
            deadline: Instant::now() + Duration::from_millis(2_500),
            ..limits(&p, 0)
        };
        // WHEN run
        let report = run(&mut logic, vec![1], l, &mut fastrand::Rng::with_seed(5)).await;
        // THEN every attempt was cut at 1 s (or at the deadline) and the run stopped by the deadline
        assert!(
            Instant::now() <= l.deadline,
            "overran by {:?}",
            Instant::now() - l.deadline
        );
        match report.ended {
            Ended::Exhausted { last, .. }
            | Ended::OutOfTime {
                last: Some(last), ..
            } => {
                assert!(last.starts_with("timed out after"), "{last}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_asked_wait_is_kept_exactly_or_refused_when_it_does_not_fit() {
        // GIVEN a server that asks for 3 s once
        let mut logic = Scripted::new(&[Err("429")]);
        logic.retry_after = Some(Duration::from_secs(3));
        let start = Instant::now();
        let report = run_for(&mut logic, vec![1], 60, 6).await;
        // THEN the driver waited exactly 3 s and tried again
        assert_eq!(report.ended, Ended::Done);
        assert_eq!(start.elapsed(), Duration::from_secs(3));
        // GIVEN 2 s left and a server asking for 3 s THEN the run ends without waiting
        let mut logic = Scripted::new(&[Err("429")]);
        logic.retry_after = Some(Duration::from_secs(3));
        let report = run_for(&mut logic, vec![1], 2, 6).await;
        assert!(
            matches!(report.ended, Ended::WaitTooLong { wait, .. } if wait == Duration::from_secs(3))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_attempt_starts_after_the_deadline() {
        let mut logic = Scripted::new(&[]);
        let p = policy();
        let l = Limits {
            deadline: Instant::now(),
            ..limits(&p, 0)
        };
        let report = run(&mut logic, vec![1], l, &mut fastrand::Rng::with_seed(7)).await;
        assert_eq!(report.attempts, 0);
        assert_eq!(
            report.ended,
            Ended::OutOfTime {
                work: vec![1],
                last: None
            }
        );
        assert!(logic.seen.is_empty());
    }
}
