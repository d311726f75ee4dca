//! A service quota as AWS enforces one: a token bucket per account and region, refilled at a
//! steady rate up to a burst. A call that finds the bucket empty is throttled at once; the
//! stand-ins answer it `ThrottlingException` before doing any work.

use std::sync::Mutex;
use std::time::Instant;

/// The quota to enforce: `per_second` calls sustained, `burst` at most at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    pub per_second: f64,
    pub burst: f64,
}

/// A stand-in's counters that also hold its quota's bucket, made at the first call.
pub trait Metered {
    fn bucket(&self) -> &std::sync::OnceLock<TokenBucket>;

    /// The count of calls throttled.
    fn throttled(&self) -> &std::sync::atomic::AtomicU64;

    /// The bucket enforcing `quota` (the same one for every call of the stand-in).
    fn quota(&self, quota: Quota) -> &TokenBucket {
        self.bucket().get_or_init(|| TokenBucket::new(quota))
    }

    /// Whether this call is over `quota` (no quota: never), counting it as throttled if so.
    fn over_quota(&self, quota: Option<Quota>) -> bool {
        let over = quota.is_some_and(|q| !self.quota(q).try_take());
        if over {
            self.throttled()
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        over
    }
}

/// [`Metered`] for a stand-in's stats whose `bucket` and `throttled` fields hold the quota's
/// state: `crate::metered!(Stats);`.
#[macro_export]
macro_rules! metered {
    ($stats:ty) => {
        impl $crate::quota::Metered for $stats {
            fn bucket(&self) -> &std::sync::OnceLock<$crate::quota::TokenBucket> {
                &self.bucket
            }

            fn throttled(&self) -> &std::sync::atomic::AtomicU64 {
                &self.throttled
            }
        }
    };
}

/// The bucket's state; starts full.
#[derive(Debug)]
pub struct TokenBucket {
    quota: Quota,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    pub fn new(quota: Quota) -> Self {
        TokenBucket {
            quota,
            state: Mutex::new((quota.burst, Instant::now())),
        }
    }

    /// Takes one token if there is one: `true` when the call is within the quota.
    pub fn try_take(&self) -> bool {
        self.try_take_at(Instant::now())
    }

    /// [`TokenBucket::try_take`] at `now` (for tests).
    pub fn try_take_at(&self, now: Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, last) = *state;
        let refilled = (tokens
            + now.saturating_duration_since(last).as_secs_f64() * self.quota.per_second)
            .min(self.quota.burst);
        let (left, ok) = if refilled >= 1.0 {
            (refilled - 1.0, true)
        } else {
            (refilled, false)
        };
        *state = (left, now.max(last));
        ok
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_full_bucket_serves_its_burst_then_the_rate() {
        // GIVEN 10 calls/s with a burst of 20
        let bucket = TokenBucket::new(Quota {
            per_second: 10.0,
            burst: 20.0,
        });
        let t0 = Instant::now();
        // WHEN 25 calls arrive at once THEN 20 pass
        let passed = (0..25).filter(|_| bucket.try_take_at(t0)).count();
        assert_eq!(passed, 20);
        // AND one second later 10 more pass, and no more
        let t1 = t0 + Duration::from_secs(1);
        let passed = (0..25).filter(|_| bucket.try_take_at(t1)).count();
        assert_eq!(passed, 10);
    }
}
