//! The time an invocation has left, from the Runtime API's `Lambda-Runtime-Deadline-Ms`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 2001-09-09 in epoch milliseconds: no real deadline is earlier.
const PLAUSIBLE_EPOCH_MS: u64 = 1_000_000_000_000;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Time left before `deadline_ms`, less `margin`.
///
/// Lambda sends epoch milliseconds. `cargo lambda watch` (1.9) sends the timeout itself
/// (e.g. 600000), so a "deadline" before 2001 is read as time remaining; otherwise every local
/// run would find its time already up.
pub fn remaining(deadline_ms: u64, now_ms: u64, margin: Duration) -> Duration {
    let left = if deadline_ms < PLAUSIBLE_EPOCH_MS {
        Duration::from_millis(deadline_ms)
    } else {
        Duration::from_millis(deadline_ms.saturating_sub(now_ms))
    };
    left.saturating_sub(margin)
}

/// The Lambda deadline (`deadline_ms`, as the runtime gives it) as a local instant, less
/// `margin`: when an invocation's work must be done.
pub fn local_deadline(deadline_ms: u64, margin: Duration) -> tokio::time::Instant {
    tokio::time::Instant::now() + remaining(deadline_ms, now_ms(), margin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epoch_deadline_counts_from_now_less_the_margin() {
        let now = 1_795_334_400_000;
        assert_eq!(
            remaining(now + 30_000, now, Duration::from_secs(2)),
            Duration::from_secs(28)
        );
    }

    #[test]
    fn a_past_deadline_leaves_nothing() {
        let now = 1_795_334_400_000;
        assert_eq!(remaining(now - 5, now, Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn cargo_lambda_watch_sends_the_timeout_itself() {
        // GIVEN `cargo lambda watch`'s header (the function timeout, not an epoch time)
        // THEN it is read as time remaining
        let now = 1_795_334_400_000;
        assert_eq!(
            remaining(600_000, now, Duration::from_secs(2)),
            Duration::from_secs(598)
        );
    }
}
