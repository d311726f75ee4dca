//! Where a Jetstream reader is, as the cursor store keeps it: the `time_us` of the newest post
//! delivered, and the posts delivered within the replay window before it.
//!
//! Why a window: `time_us` is per instance (another instance stamps the same post a little
//! differently), may repeat, and is not strictly ordered. So each run reconnects a margin
//! before the newest delivered post and drops what it already delivered, by the post's
//! identity rather than its time. Written as `v1;t=<time_us>;d=<hash>:<age>,…` (`hash`: the
//! first 8 bytes of the MD5 of the post's `at://` URI, hex; `age`: µs before `t`).

use std::collections::HashMap;

/// The prefix of every position this module writes.
const VERSION: &str = "v1";
/// The most posts the window remembers (the newest); ~40 bytes each in the cursor record,
/// well inside DynamoDB's 400 KB item.
pub const MAX_WINDOW_POSTS: usize = 5_000;

/// A parsed position.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Position {
    /// The newest delivered post's `time_us`; `None` before the first delivery.
    pub time_us: Option<u64>,
    /// Delivered posts in the window: their URI hash and `time_us`.
    pub delivered: HashMap<u64, u64>,
}

/// Why a stored position was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Jetstream position ({0}): {1:?}")]
pub struct PositionError(pub &'static str, pub String);

impl Position {
    pub fn parse(s: &str) -> Result<Self, PositionError> {
        let bad = |why| PositionError(why, s.chars().take(80).collect());
        let mut parts = s.split(';');
        if parts.next() != Some(VERSION) {
            return Err(bad("no v1 prefix"));
        }
        let t: u64 = parts
            .next()
            .and_then(|p| p.strip_prefix("t="))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad("no t=<time_us>"))?;
        let mut delivered = HashMap::new();
        let d = parts
            .next()
            .and_then(|p| p.strip_prefix("d="))
            .unwrap_or("");
        for entry in d.split(',').filter(|e| !e.is_empty()) {
            let (h, age) = entry
                .split_once(':')
                .ok_or_else(|| bad("a window entry without its age"))?;
            let h = u64::from_str_radix(h, 16).map_err(|_| bad("a window hash is not hex"))?;
            let age: u64 = age
                .parse()
                .map_err(|_| bad("a window age is not a number"))?;
            delivered.insert(h, t.saturating_sub(age));
        }
        Ok(Position {
            time_us: Some(t),
            delivered,
        })
    }

    pub fn render(&self) -> Option<String> {
        let t = self.time_us?;
        let mut entries: Vec<(u64, u64)> = self.delivered.iter().map(|(&h, &at)| (h, at)).collect();
        entries.sort_unstable_by_key(|&(h, at)| (std::cmp::Reverse(at), h));
        let d: Vec<String> = entries
            .iter()
            .map(|(h, at)| format!("{h:016x}:{}", t.saturating_sub(*at)))
            .collect();
        Some(format!("{VERSION};t={t};d={}", d.join(",")))
    }

    /// Whether the post with this URI was delivered (within the window).
    pub fn has(&self, uri: &str) -> bool {
        self.delivered.contains_key(&uri_hash(uri))
    }

    /// The position once these posts (`uri`, `time_us`) are delivered too, remembering those
    /// within `window_us` of the newest, at most [`MAX_WINDOW_POSTS`].
    pub fn after<'a>(
        &self,
        posts: impl IntoIterator<Item = (&'a str, u64)>,
        window_us: u64,
    ) -> Self {
        let mut next = self.clone();
        for (uri, t) in posts {
            next.time_us = Some(next.time_us.map_or(t, |n| n.max(t)));
            next.delivered.insert(uri_hash(uri), t);
        }
        if let Some(t) = next.time_us {
            let oldest = t.saturating_sub(window_us);
            next.delivered.retain(|_, at| *at >= oldest);
        }
        if next.delivered.len() > MAX_WINDOW_POSTS {
            let mut times: Vec<u64> = next.delivered.values().copied().collect();
            times.sort_unstable_by(|a, b| b.cmp(a));
            let keep_from = times[MAX_WINDOW_POSTS - 1];
            next.delivered.retain(|_, at| *at >= keep_from);
        }
        next
    }
}

/// A post's identity in the window.
pub fn uri_hash(uri: &str) -> u64 {
    ks_producer::cursor::content_hash(uri.as_bytes())
}

/// The record id the producer orders by: `time_us` (16 digits, so byte order is time order),
/// then the URI. Unique per post and instance.
pub fn record_id(time_us: u64, uri: &str) -> String {
    format!("{time_us:016}:{uri}")
}

/// The `time_us` and URI back from a [`record_id`].
pub fn parse_record_id(id: &str) -> Option<(u64, &str)> {
    let (t, uri) = id.split_once(':')?;
    Some((t.parse().ok()?, uri))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_round_trips_and_forgets_what_left_the_window() {
        // GIVEN posts delivered over 10 s WHEN the position moves with a 5 s window
        let p = Position::default().after(
            [
                ("at://a", 1_000_000),
                ("at://b", 7_000_000),
                ("at://c", 11_000_000),
            ],
            5_000_000,
        );
        // THEN the newest time is kept and only posts within 5 s of it are remembered
        assert_eq!(p.time_us, Some(11_000_000));
        assert!(!p.has("at://a") && p.has("at://b") && p.has("at://c"));
        let back = Position::parse(&p.render().unwrap()).unwrap();
        assert_eq!(back, p);
        // AND a post older than the newest still counts as delivered
        let q = p.after([("at://late", 9_000_000)], 5_000_000);
        assert_eq!(q.time_us, Some(11_000_000));
        assert!(q.has("at://late"));
    }

    #[test]
    fn bad_positions_are_refused_with_the_reason() {
        for bad in [
            "",
            "12345",
            "v1;t=x",
            "v1;t=5;d=zz:1",
            "v1;t=5;d=00000000000000aa",
        ] {
            assert!(Position::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Position::parse("v1;t=5;d=").unwrap().time_us, Some(5));
    }

    #[test]
    fn record_ids_sort_by_time_then_uri() {
        let a = record_id(999, "at://z");
        let b = record_id(1_000, "at://a");
        assert!(a < b);
        assert_eq!(parse_record_id(&b), Some((1_000, "at://a")));
    }

    #[test]
    fn the_window_is_capped() {
        let uris: Vec<String> = (0..MAX_WINDOW_POSTS + 10)
            .map(|i| format!("at://{i}"))
            .collect();
        let p = Position::default().after(
            uris.iter().enumerate().map(|(i, u)| (u.as_str(), i as u64)),
            u64::MAX,
        );
        assert_eq!(p.delivered.len(), MAX_WINDOW_POSTS);
        assert!(p.has(&uris[MAX_WINDOW_POSTS + 9]) && !p.has(&uris[0]));
    }
}
