//! `--rate`: a ceiling on what `put` sends per second, in Kinesis records or in bytes, so a
//! backfill can stay under a stream's shard limits (1 MB/s or 1,000 records/s per shard in:
//! <https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html>).
//!
//! The limiter keeps a "theoretical arrival time": every request pushes it forward by its size
//! divided by the rate, and the next request waits for it. One request may be larger than one
//! second's allowance (500 records at 100/s); what follows then waits longer, so the average over
//! any long run is the rate. Pure arithmetic over instants, so it is tested without sleeping.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use tokio::time::Instant;

/// The slowest `--rate`: one Kinesis record (or byte) a day. A slower rate is a typo, not a
/// plan; at this one a full request of 500 records waits 500 days, far inside what a `Duration`
/// and an `Instant` hold (byte rates this slow reach the limiter's ceiling of a century).
pub const MIN_RATE_PER_SEC: f64 = 1.0 / 86_400.0;

/// The longest the limiter ever makes a request wait, whatever rate it was built with
/// (a [`Rate`] made without the parser): a century. Keeps `Instant` arithmetic from overflowing.
const MAX_WAIT: Duration = Duration::from_secs(100 * 365 * 86_400);

/// What a rate counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// Kinesis records a second (an aggregated record counts once, as Kinesis meters it).
    Records(f64),
    /// Bytes a second, data and partition keys counted (as Kinesis meters them).
    Bytes(f64),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid --rate {given:?}: {reason} (examples: 1000 records/s as `1000`, `1MB/s`, `512KiB/s`)"
)]
pub struct RateError {
    pub given: String,
    pub reason: &'static str,
}

impl FromStr for Rate {
    type Err = RateError;

    fn from_str(s: &str) -> Result<Rate, RateError> {
        let err = |reason| RateError {
            given: s.to_owned(),
            reason,
        };
        let t = s.trim();
        let t = t.strip_suffix("/s").unwrap_or(t).trim();
        // A sign is read as part of the number, so `-5` is refused as below zero.
        let split = t
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && "+-".contains(c))))
            .map_or(t.len(), |(i, _)| i);
        let (number, unit) = t.split_at(split);
        let value: f64 = number.parse().map_err(|_| err("not a number"))?;
        if value.is_nan() || value <= 0.0 {
            return Err(err("must be greater than zero"));
        }
        // Decimal units as Kinesis states its shard limit (1 MB = 10^6 bytes); binary ones too.
        let per = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "r" | "rec" | "records" => None,
            "b" => Some(1.0),
            "kb" => Some(1e3),
            "mb" => Some(1e6),
            "gb" => Some(1e9),
            "kib" => Some(1024.0),
            "mib" => Some(1024.0 * 1024.0),
            "gib" => Some(1024.0 * 1024.0 * 1024.0),
            _ => {
                return Err(err(
                    "unknown unit; use records, B, KB, MB, GB, KiB, MiB or GiB",
                ));
            }
        };
        let rate = value * per.unwrap_or(1.0);
        if !rate.is_finite() {
            return Err(err("too large"));
        }
        if rate < MIN_RATE_PER_SEC {
            return Err(err(
                "below the slowest rate, one record or byte a day (0.0000116)",
            ));
        }
        Ok(match per {
            None => Rate::Records(rate),
            Some(_) => Rate::Bytes(rate),
        })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rate::Records(r) => write!(f, "{r} records/s"),
            Rate::Bytes(b) => write!(f, "{:.3} MB/s", b / 1e6),
        }
    }
}

/// Paces requests to a [`Rate`]; with none, never waits.
#[derive(Debug, Clone)]
pub struct Limiter {
    rate: Option<Rate>,
    /// When the next request may start.
    next: Option<Instant>,
}

impl Limiter {
    pub fn new(rate: Option<Rate>) -> Limiter {
        Limiter { rate, next: None }
    }

    /// When the next request may be sent (`now` or earlier means at once).
    pub fn ready_at(&self, now: Instant) -> Instant {
        self.next.map_or(now, |n| n.max(now))
    }

    /// Books a request of `records` Kinesis records and `bytes` bytes sent at `now`.
    pub fn charge(&mut self, now: Instant, records: u64, bytes: u64) {
        let cost = match self.rate {
            None => return,
            Some(Rate::Records(r)) => records as f64 / r,
            Some(Rate::Bytes(b)) => bytes as f64 / b,
        };
        // Saturating: a rate below the parser's floor (or NaN) waits the longest, never panics.
        let wait = Duration::try_from_secs_f64(cost)
            .unwrap_or(MAX_WAIT)
            .min(MAX_WAIT);
        // A century past a monotonic clock's reading cannot overflow an `Instant`.
        self.next = Some(self.ready_at(now) + wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_as_records_or_bytes() {
        assert_eq!("1000".parse(), Ok(Rate::Records(1000.0)));
        assert_eq!("250 records/s".parse(), Ok(Rate::Records(250.0)));
        assert_eq!("1MB/s".parse(), Ok(Rate::Bytes(1e6)));
        assert_eq!("0.5 mb/s".parse(), Ok(Rate::Bytes(5e5)));
        assert_eq!("512KiB/s".parse(), Ok(Rate::Bytes(524_288.0)));
        let err = "1 furlong/s".parse::<Rate>().unwrap_err();
        assert!(err.to_string().contains("unknown unit"), "{err}");
        assert!("0".parse::<Rate>().is_err());
        assert!("fast".parse::<Rate>().is_err());
    }

    #[test]
    fn absurd_rates_are_refused_with_an_error_naming_the_flag() {
        let huge = "9".repeat(400);
        let huge_gb = format!("{}GB/s", "9".repeat(305));
        for (given, reason) in [
            ("0.0000000000000000001", "slowest"),
            ("0.00001", "slowest"),
            ("0", "greater than zero"),
            ("0.0", "greater than zero"),
            ("-5", "greater than zero"),
            ("-1MB/s", "greater than zero"),
            ("NaN", "not a number"),
            ("inf", "not a number"),
            ("", "not a number"),
            (huge.as_str(), "too large"),
            (huge_gb.as_str(), "too large"),
        ] {
            // WHEN an absurd --rate is parsed THEN it is an error that names the flag and why
            let err = given.parse::<Rate>().unwrap_err().to_string();
            assert!(err.starts_with("invalid --rate"), "{given}: {err}");
            assert!(err.contains(reason), "{given}: {err}");
        }
        // AND the slowest rate is accepted, in records and in bytes
        assert!("0.0000116".parse::<Rate>().is_ok());
        assert!("0.0000116B/s".parse::<Rate>().is_ok());
    }

    #[test]
    fn the_limiter_saturates_instead_of_overflowing_for_any_rate() {
        // GIVEN rates built without the parser, down to the smallest positive float
        for rate in [
            Rate::Records(1e-19),
            Rate::Bytes(f64::MIN_POSITIVE),
            Rate::Records(5e-324),
        ] {
            let mut l = Limiter::new(Some(rate));
            let t0 = Instant::now();
            // WHEN a full request is charged, twice
            l.charge(t0, 500, 10 * 1024 * 1024);
            l.charge(l.ready_at(t0), 500, 10 * 1024 * 1024);
            // THEN the next request waits, a long time, and nothing panicked
            assert!(
                l.ready_at(t0) - t0 >= Duration::from_secs(86_400),
                "{rate:?}"
            );
        }
    }

    #[test]
    fn without_a_rate_nothing_waits() {
        let mut l = Limiter::new(None);
        let t = Instant::now();
        l.charge(t, 500, 5_000_000);
        assert_eq!(l.ready_at(t), t);
    }

    #[test]
    fn records_are_paced_to_the_rate_on_average() {
        // GIVEN 1,000 records/s and requests of 500 records sent as soon as allowed
        let mut l = Limiter::new(Some(Rate::Records(1000.0)));
        let t0 = Instant::now();
        let mut now = t0;
        for _ in 0..10 {
            now = l.ready_at(now);
            l.charge(now, 500, 0);
        }
        // THEN the first goes at once, and the 10th starts 4.5 s in: 5,000 records in 5 s
        assert_eq!(now - t0, Duration::from_millis(4_500));
        assert_eq!(l.ready_at(now) - t0, Duration::from_secs(5));
    }

    #[test]
    fn a_request_bigger_than_a_second_makes_the_next_wait_longer() {
        // GIVEN 1 MB/s and a 3 MB request
        let mut l = Limiter::new(Some(Rate::Bytes(1e6)));
        let t0 = Instant::now();
        l.charge(t0, 1, 3_000_000);
        // THEN the next request waits 3 s
        assert_eq!(l.ready_at(t0) - t0, Duration::from_secs(3));
    }

    #[test]
    fn idle_time_is_not_saved_up_as_a_burst() {
        // GIVEN 100 records/s, one request, then 10 s of nothing
        let mut l = Limiter::new(Some(Rate::Records(100.0)));
        let t0 = Instant::now();
        l.charge(t0, 100, 0);
        let later = t0 + Duration::from_secs(10);
        // WHEN two requests of 100 follow THEN the first goes at once and the second a second later
        assert_eq!(l.ready_at(later), later);
        l.charge(later, 100, 0);
        assert_eq!(l.ready_at(later) - later, Duration::from_secs(1));
    }
}
