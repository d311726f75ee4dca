//! What the purge remembers between runs, as one JSON object in the bucket: which objects it has
//! read, and every change it still watches with how far it got.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::rules::Watched;

/// Objects of one area that were read, so a later run reads only new ones. Firehose names an
/// object by the time it starts writing it, so one named earlier can still appear: objects
/// within [`Seen::OVERLAP_MS`] of the newest read are remembered by key.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Seen {
    /// The newest write time read (ms).
    pub newest_ms: i64,
    /// Keys read that were written within the overlap before `newest_ms`.
    pub recent: BTreeSet<String>,
}

impl Seen {
    /// Longer than Firehose's longest buffering (900 s) and its retries of a delivery.
    pub const OVERLAP_MS: i64 = 2 * 3_600_000;

    pub fn is_new(&self, at_ms: i64, key: &str) -> bool {
        at_ms > self.newest_ms - Self::OVERLAP_MS && !self.recent.contains(key)
    }

    pub fn mark(&mut self, at_ms: i64, key: &str) {
        self.newest_ms = self.newest_ms.max(at_ms);
        self.recent.insert(key.to_owned());
    }

    /// Forgets keys too old to matter.
    pub fn trim(&mut self, written_at: impl Fn(&str) -> Option<i64>) {
        let floor = self.newest_ms - Self::OVERLAP_MS;
        self.recent
            .retain(|k| written_at(k).is_some_and(|t| t > floor));
    }
}

/// The purge's state.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct State {
    pub deletions_seen: Seen,
    pub data_seen: Seen,
    pub watched: Vec<Watched>,
}
