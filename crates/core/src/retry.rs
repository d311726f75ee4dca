//! When to try a failed call again: capped exponential backoff with full jitter, never past the
//! deadline. Pure, so it is tested without waiting.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
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
}
