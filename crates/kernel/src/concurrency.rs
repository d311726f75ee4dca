//! Adaptive concurrency: how many calls to one service may be in flight, found by AIMD
//! (additive increase, multiplicative decrease) as Vector's adaptive request concurrency and
//! TCP's congestion control find it. The limit grows by one for every window of answers that
//! used it fully without push-back, and halves when the service throttles — at most once per
//! window, judged by the calls started under the limit being cut, so a burst of throttled
//! answers to calls that were all in flight together counts once. It never exceeds the
//! configured ceiling, never drops below one, and is shared by every call of an invocation.
//!
//! Callers take a [`Permit`] before each call ([`AdaptiveLimit::acquire`]) and say how the call
//! went ([`Permit::done`]); a permit dropped without a word (a cancelled call) says nothing.

use std::sync::Mutex;

use tokio::sync::Notify;

/// How a call went, as the limit learns from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Answered without push-back.
    Healthy,
    /// The service asked us to slow down.
    Throttled,
    /// Neither (a timeout, a failure that says nothing about load).
    Neutral,
}

#[derive(Debug)]
struct State {
    limit: usize,
    in_flight: usize,
    /// Healthy answers, to calls that found the limit fully used, since the limit last changed.
    healthy: usize,
    /// Bumped at every decrease: a throttled answer to a call started before the last
    /// decrease says nothing about the limit that is in force now.
    epoch: u64,
    /// Telemetry: the lowest limit reached, and the decreases.
    lowest: usize,
    decreases: u64,
}

/// The shared limit.
#[derive(Debug)]
pub struct AdaptiveLimit {
    ceiling: usize,
    state: Mutex<State>,
    freed: Notify,
}

/// Leave to make one call; the slot is given back when it is dropped.
#[derive(Debug)]
pub struct Permit<'a> {
    limit: &'a AdaptiveLimit,
    epoch: u64,
    /// The call found every slot of the limit in use (including its own): only such calls
    /// show that the limit itself is healthy.
    saturated: bool,
}

impl AdaptiveLimit {
    /// A limit that starts at `ceiling` and never exceeds it (at least 1).
    pub fn new(ceiling: usize) -> Self {
        Self::starting_at(ceiling, ceiling)
    }

    /// A limit that starts at `initial` (clamped to 1..=ceiling).
    pub fn starting_at(initial: usize, ceiling: usize) -> Self {
        let ceiling = ceiling.max(1);
        let limit = initial.clamp(1, ceiling);
        AdaptiveLimit {
            ceiling,
            state: Mutex::new(State {
                limit,
                in_flight: 0,
                healthy: 0,
                epoch: 0,
                lowest: limit,
                decreases: 0,
            }),
            freed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The limit now.
    pub fn current(&self) -> usize {
        self.lock().limit
    }

    /// The lowest the limit has been, and how many times it was cut.
    pub fn low_water(&self) -> (usize, u64) {
        let s = self.lock();
        (s.lowest, s.decreases)
    }

    /// Waits for a free slot under the current limit.
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            // Registered before the check, so a slot freed in between still wakes us.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut s = self.lock();
                if s.in_flight < s.limit {
                    s.in_flight += 1;
                    return Permit {
                        limit: self,
                        epoch: s.epoch,
                        saturated: s.in_flight >= s.limit,
                    };
                }
            }
            freed.await;
        }
    }

    fn learn(&self, permit: &Permit<'_>, signal: Signal) {
        let mut s = self.lock();
        match signal {
            Signal::Throttled if permit.epoch == s.epoch => {
                s.limit = (s.limit / 2).max(1);
                s.healthy = 0;
                s.epoch += 1;
                s.decreases += 1;
                s.lowest = s.lowest.min(s.limit);
            }
            Signal::Healthy if permit.saturated && permit.epoch == s.epoch => {
                s.healthy += 1;
                // One more slot per window of answers as wide as the limit: +1 per round trip.
                if s.healthy >= s.limit && s.limit < self.ceiling {
                    s.limit += 1;
                    s.healthy = 0;
                }
            }
            _ => {}
        }
    }
}

impl Permit<'_> {
    /// Gives the slot back, saying how the call went.
    pub fn done(self, signal: Signal) {
        self.limit.learn(&self, signal);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.limit.lock().in_flight -= 1;
        self.limit.freed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::time::Instant;

    use super::*;

    /// A service of known capacity: a token bucket of `rate` calls a second (burst `burst`),
    /// each accepted call taking `latency`; a call beyond the quota is throttled at once.
    struct Service {
        rate: f64,
        burst: f64,
        latency: Duration,
        bucket: Mutex<(f64, Instant)>,
        calls: Mutex<(u64, u64)>,
    }

    impl Service {
        fn new(rate: f64, burst: f64, latency: Duration) -> Self {
            Service {
                rate,
                burst,
                latency,
                bucket: Mutex::new((burst, Instant::now())),
                calls: Mutex::new((0, 0)),
            }
        }

        async fn call(&self) -> Signal {
            let ok = {
                let mut b = self.bucket.lock().unwrap();
                let now = Instant::now();
                let tokens = (b.0 + (now - b.1).as_secs_f64() * self.rate).min(self.burst);
                *b = (if tokens >= 1.0 { tokens - 1.0 } else { tokens }, now);
                tokens >= 1.0
            };
            {
                let mut c = self.calls.lock().unwrap();
                c.0 += 1;
                if !ok {
                    c.1 += 1;
                }
            }
            if ok {
                tokio::time::sleep(self.latency).await;
                Signal::Healthy
            } else {
                Signal::Throttled
            }
        }
    }

    /// `workers` callers, each calling in a loop (a throttled one backs off 50 ms), for `secs`;
    /// the limit sampled every 100 ms.
    async fn drive(
        limit: Arc<AdaptiveLimit>,
        service: Arc<Service>,
        workers: usize,
        secs: u64,
    ) -> Vec<usize> {
        let end = Instant::now() + Duration::from_secs(secs);
        let mut tasks = Vec::new();
        for _ in 0..workers {
            let (limit, service) = (limit.clone(), service.clone());
            tasks.push(tokio::spawn(async move {
                while Instant::now() < end {
                    let permit = limit.acquire().await;
                    let signal = service.call().await;
                    permit.done(signal);
                    if signal == Signal::Throttled {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }));
        }
        let mut samples = Vec::new();
        while Instant::now() < end {
            tokio::time::sleep(Duration::from_millis(100)).await;
            samples.push(limit.current());
        }
        for t in tasks {
            t.await.unwrap();
        }
        samples
    }

    #[tokio::test(start_paused = true)]
    async fn the_limit_converges_to_a_quota_and_throttling_stays_rare() {
        // GIVEN a service that sustains 10 calls/s at 200 ms a call: 2 calls in flight at most,
        // and 32 callers allowed up to 32 in flight
        let service = Arc::new(Service::new(10.0, 20.0, Duration::from_millis(200)));
        let limit = Arc::new(AdaptiveLimit::new(32));
        // WHEN they call for a minute
        let samples = drive(limit.clone(), service.clone(), 32, 60).await;
        // THEN after the first seconds the limit stays near the capacity (2), not the ceiling
        let settled = &samples[50..];
        let mean = settled.iter().sum::<usize>() as f64 / settled.len() as f64;
        assert!(
            (1.0..=4.0).contains(&mean),
            "mean limit {mean}: {settled:?}"
        );
        assert!(settled.iter().all(|&l| l <= 6), "{settled:?}");
        // AND most calls got through: the service was asked at well under twice its capacity
        let (calls, throttled) = *service.calls.lock().unwrap();
        assert!(
            (throttled as f64) < 0.5 * calls as f64,
            "{throttled} of {calls} throttled"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_healthy_service_is_used_up_to_the_ceiling() {
        // GIVEN a service with room for 100 calls/s at 100 ms a call (10 in flight) and a
        // ceiling of 8 that starts at 1
        let service = Arc::new(Service::new(100.0, 100.0, Duration::from_millis(100)));
        let limit = Arc::new(AdaptiveLimit::starting_at(1, 8));
        // WHEN 16 callers call for 10 s
        let samples = drive(limit.clone(), service.clone(), 16, 10).await;
        // THEN the limit climbs to the ceiling and stays there, and nothing was throttled
        assert_eq!(samples.last(), Some(&8));
        assert!(samples.iter().all(|&l| l <= 8));
        assert_eq!(service.calls.lock().unwrap().1, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_throttles_from_one_window_halves_the_limit_once() {
        // GIVEN a limit of 8 with 8 calls in flight
        let limit = AdaptiveLimit::new(8);
        let mut permits = Vec::new();
        for _ in 0..8 {
            permits.push(limit.acquire().await);
        }
        // WHEN all 8 come back throttled
        for p in permits {
            p.done(Signal::Throttled);
        }
        // THEN the limit halved once, not eight times
        assert_eq!(limit.current(), 4);
        assert_eq!(limit.low_water(), (4, 1));
        // AND a throttled call started under the new limit halves it again
        limit.acquire().await.done(Signal::Throttled);
        assert_eq!(limit.current(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn no_more_than_the_limit_is_ever_in_flight() {
        // GIVEN a limit of 3 WHEN 10 tasks each hold a permit for 10 ms
        let limit = Arc::new(AdaptiveLimit::new(3));
        let peak = Arc::new(Mutex::new((0usize, 0usize)));
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (limit, peak) = (limit.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                let permit = limit.acquire().await;
                {
                    let mut p = peak.lock().unwrap();
                    p.0 += 1;
                    p.1 = p.1.max(p.0);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                peak.lock().unwrap().0 -= 1;
                permit.done(Signal::Neutral);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        // THEN at most 3 were in flight at once
        assert_eq!(peak.lock().unwrap().1, 3);
    }
}
