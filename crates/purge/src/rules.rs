//! What a change takes away, line by line: a deleted post (by id), every post of a purged
//! account (by did), the earlier versions of an edited post (by id, older than the edit).
//! Pure: bytes in, a decision out.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

/// The characters of a TID, in order of value (atproto's base32-sortable alphabet).
const TID_ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";
/// A TID is 13 characters: 64 bits, of which the top is 0, then 53 bits of microseconds
/// since the epoch, then 10 bits of clock id. <https://atproto.com/specs/tid>
const TID_LEN: usize = 13;
const TID_CLOCK_BITS: u32 = 10;

/// The creation time (µs since the epoch) a Bluesky record key encodes, if it is a TID.
pub fn tid_micros(rkey: &str) -> Option<u64> {
    if rkey.len() != TID_LEN {
        return None;
    }
    let mut value: u64 = 0;
    for (i, b) in rkey.bytes().enumerate() {
        let digit = TID_ALPHABET.iter().position(|c| *c == b)? as u64;
        // The first character holds only the top 4 value bits (the sign bit is 0).
        if i == 0 && digit >= 16 {
            return None;
        }
        value = (value << 5) | digit;
    }
    Some(value >> TID_CLOCK_BITS)
}

/// The TID of a record created at `us` (µs since the epoch) by clock `clock` (its low 10
/// bits): what a Bluesky PDS writes as the rkey; [`tid_micros`] reads it back.
pub fn tid(us: u64, clock: u64) -> String {
    let value = ((us & ((1 << 53) - 1)) << TID_CLOCK_BITS) | (clock & 1023);
    (0..TID_LEN)
        .rev()
        .map(|i| TID_ALPHABET[((value >> (5 * i)) & 31) as usize] as char)
        .collect()
}

/// The creation time of the post `id` names: the TID of an `at://did/collection/rkey` URI.
pub fn created_micros(id: &str) -> Option<u64> {
    let rest = id.strip_prefix("at://")?;
    tid_micros(rest.rsplit('/').next()?)
}

/// A change read from the deletions area (or an edit from the data area).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A post its author deleted.
    Delete {
        id: String,
        /// When the post was created, if known (its TID, or the record's `created_at`).
        created_ms: Option<i64>,
        at_ms: i64,
    },
    /// An account whose status means its posts must go (`PURGE_ACCOUNT_STATUSES`).
    Purge { did: String, at_ms: i64 },
    /// A post edited at `version_us`: every earlier version goes.
    Edit {
        id: String,
        created_ms: Option<i64>,
        version_us: u64,
        at_ms: i64,
    },
}

/// The members of a record the purge reads; the rest of the line is never parsed.
#[derive(Debug, Deserialize)]
pub struct Keys<'a> {
    #[serde(default, borrow)]
    pub op: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub did: Option<Cow<'a, str>>,
    #[serde(default)]
    pub time_us: Option<u64>,
    #[serde(default, borrow)]
    pub created_at: Option<Cow<'a, str>>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default, borrow)]
    pub status: Option<Cow<'a, str>>,
}

impl Keys<'_> {
    /// A deletion record (`op` `delete` or `account`) as a change; `purge_statuses` are the
    /// account statuses whose posts go. `None` for anything else (a reactivation, a status
    /// that only hides).
    pub fn change(&self, purge_statuses: &[String]) -> Option<Change> {
        let at_ms = (self.time_us? / 1_000) as i64;
        match self.op.as_deref()? {
            "delete" => {
                let id = self.id.as_deref()?.to_owned();
                Some(Change::Delete {
                    created_ms: self.created_ms(&id),
                    id,
                    at_ms,
                })
            }
            "account" if self.active == Some(false) => {
                let did = self.did.as_deref().filter(|d| !d.is_empty())?;
                let status = self.status.as_deref()?;
                purge_statuses
                    .iter()
                    .any(|s| s == status)
                    .then(|| Change::Purge {
                        did: did.to_owned(),
                        at_ms,
                    })
            }
            _ => None,
        }
    }

    /// An edited post (`op` `update`) in the data area as a change.
    pub fn edit(&self) -> Option<Change> {
        if self.op.as_deref()? != "update" {
            return None;
        }
        let id = self.id.as_deref()?.to_owned();
        let version_us = self.time_us?;
        Some(Change::Edit {
            created_ms: self.created_ms(&id),
            id,
            version_us,
            at_ms: (version_us / 1_000) as i64,
        })
    }

    fn created_ms(&self, id: &str) -> Option<i64> {
        created_micros(id)
            .map(|us| (us / 1_000) as i64)
            .or_else(|| {
                let at = self.created_at.as_deref()?;
                chrono::DateTime::parse_from_rfc3339(at)
                    .ok()
                    .map(|t| t.timestamp_millis())
            })
    }
}

/// Why a line goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Deleted,
    Purged,
    Superseded,
}

/// The changes in force for one object: a line goes when any of them takes it.
#[derive(Debug, Default)]
pub struct Rules {
    deleted: HashSet<String>,
    purged: HashSet<String>,
    /// id → the newest edit's `time_us`: versions older than it go.
    newest: HashMap<String, u64>,
}

impl Rules {
    pub fn is_empty(&self) -> bool {
        self.deleted.is_empty() && self.purged.is_empty() && self.newest.is_empty()
    }

    pub fn add(&mut self, change: &Change) {
        match change {
            Change::Delete { id, .. } => {
                self.deleted.insert(id.clone());
            }
            Change::Purge { did, .. } => {
                self.purged.insert(did.clone());
            }
            Change::Edit { id, version_us, .. } => {
                let v = self.newest.entry(id.clone()).or_default();
                *v = (*v).max(*version_us);
            }
        }
    }

    /// Why the record with these keys goes, if it does.
    pub fn drops(&self, keys: &Keys<'_>) -> Option<Reason> {
        if let Some(id) = keys.id.as_deref() {
            if self.deleted.contains(id) {
                return Some(Reason::Deleted);
            }
            if let (Some(newest), Some(t)) = (self.newest.get(id), keys.time_us)
                && t < *newest
            {
                return Some(Reason::Superseded);
            }
        }
        match keys.did.as_deref() {
            Some(did) if self.purged.contains(did) => Some(Reason::Purged),
            _ => None,
        }
    }
}

/// A rule as the state keeps it between runs: the change, and how far it has been applied.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Watched {
    pub kind: WatchedKind,
    /// The post's id, or the account's did.
    pub key: String,
    /// Objects written before this (ms) cannot hold what it takes (0: any may).
    pub from_ms: i64,
    /// For an edit: versions older than this go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_us: Option<u64>,
    /// When the change happened (ms).
    pub at_ms: i64,
    /// The last object (written at, key) checked against it, in the purge's order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_through: Option<(i64, String)>,
    /// Whether it has taken a record yet (a deletion still waiting for its post is pending).
    #[serde(default)]
    pub applied: bool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum WatchedKind {
    Delete,
    Purge,
    Edit,
}

impl Watched {
    /// The change as a rule to watch, with objects from `skew_ms` before the post's creation.
    pub fn new(change: &Change, skew_ms: i64) -> Self {
        let from = |created: &Option<i64>| created.map_or(0, |c| (c - skew_ms).max(0));
        match change {
            Change::Delete {
                id,
                created_ms,
                at_ms,
            } => Watched::of(WatchedKind::Delete, id, from(created_ms), None, *at_ms),
            Change::Purge { did, at_ms } => Watched::of(WatchedKind::Purge, did, 0, None, *at_ms),
            Change::Edit {
                id,
                created_ms,
                version_us,
                at_ms,
            } => Watched::of(
                WatchedKind::Edit,
                id,
                from(created_ms),
                Some(*version_us),
                *at_ms,
            ),
        }
    }

    fn of(kind: WatchedKind, key: &str, from_ms: i64, version_us: Option<u64>, at_ms: i64) -> Self {
        Watched {
            kind,
            key: key.to_owned(),
            from_ms,
            version_us,
            at_ms,
            checked_through: None,
            applied: false,
        }
    }

    /// The change this rule stands for.
    pub fn change(&self) -> Change {
        match self.kind {
            WatchedKind::Delete => Change::Delete {
                id: self.key.clone(),
                created_ms: None,
                at_ms: self.at_ms,
            },
            WatchedKind::Purge => Change::Purge {
                did: self.key.clone(),
                at_ms: self.at_ms,
            },
            WatchedKind::Edit => Change::Edit {
                id: self.key.clone(),
                created_ms: None,
                version_us: self.version_us.unwrap_or(0),
                at_ms: self.at_ms,
            },
        }
    }

    /// Whether an object written at `(at_ms, key)` is still to be checked against it.
    pub fn applies_to(&self, at_ms: i64, key: &str) -> bool {
        at_ms >= self.from_ms
            && self
                .checked_through
                .as_ref()
                .is_none_or(|(t, k)| (at_ms, key) > (*t, k.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tid_decodes_to_its_creation_time() {
        // GIVEN TIDs made from known times and clock ids
        for (us, clock) in [
            (1_725_911_162_329_308u64, 0u64),
            (1_700_000_000_000_000, 1023),
            (1, 5),
        ] {
            let value = (us << TID_CLOCK_BITS) | clock;
            let tid: String = (0..TID_LEN)
                .rev()
                .map(|i| TID_ALPHABET[((value >> (5 * i)) & 31) as usize] as char)
                .collect();
            // WHEN decoded THEN the time comes back, and the encoder writes the same TID
            assert_eq!(tid_micros(&tid), Some(us), "{tid}");
            assert_eq!(super::tid(us, clock), tid);
        }
        // AND anything else is not a TID
        for bad in [
            "",
            "3l3qo2vuowo2",
            "3l3qo2vuowo2bb",
            "zzzzzzzzzzzzz",
            "3L3QO2VUOWO2B",
        ] {
            assert_eq!(tid_micros(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_real_bluesky_rkey_is_read_as_its_post_time() {
        // GIVEN an rkey from Jetstream's captured events and the post's createdAt (2024-09-09)
        let us = created_micros("at://did:plc:abc/app.bsky.feed.post/3l3qo2vuowo2b").unwrap();
        // THEN the TID's time is within a minute of the record's createdAt
        let created = chrono::DateTime::parse_from_rfc3339("2024-09-09T19:46:02.102Z").unwrap();
        let diff = us as i64 / 1_000 - created.timestamp_millis();
        assert!(diff.abs() < 60_000, "{diff} ms");
    }

    fn keys(line: &str) -> Keys<'_> {
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn each_change_takes_only_what_it_names() {
        // GIVEN a deletion, an account purge and an edit in force
        let mut rules = Rules::default();
        let statuses = vec!["deleted".to_owned(), "takendown".to_owned()];
        for line in [
            r#"{"op":"delete","id":"at://d1/app.bsky.feed.post/a","did":"d1","time_us":5000}"#,
            r#"{"op":"account","did":"d2","active":false,"status":"takendown","time_us":5000}"#,
        ] {
            rules.add(&keys(line).change(&statuses).unwrap());
        }
        rules.add(
            &keys(r#"{"op":"update","id":"at://d3/p/b","did":"d3","time_us":20}"#)
                .edit()
                .unwrap(),
        );
        // THEN each line goes for its reason, or stays
        let cases = [
            (
                r#"{"id":"at://d1/app.bsky.feed.post/a","did":"d1","time_us":1}"#,
                Some(Reason::Deleted),
            ),
            (
                r#"{"id":"at://d1/app.bsky.feed.post/z","did":"d1","time_us":1}"#,
                None,
            ),
            (r#"{"id":"x","did":"d2","time_us":1}"#, Some(Reason::Purged)),
            (
                r#"{"id":"at://d3/p/b","did":"d3","time_us":10}"#,
                Some(Reason::Superseded),
            ),
            (
                r#"{"id":"at://d3/p/b","did":"d3","time_us":20,"op":"update"}"#,
                None,
            ),
            (
                r#"{"id":"at://d3/p/b","did":"d3","time_us":30,"op":"update"}"#,
                None,
            ),
            (r#"{"text":"no id at all"}"#, None),
        ];
        for (line, want) in cases {
            assert_eq!(rules.drops(&keys(line)), want, "{line}");
        }
    }

    #[test]
    fn only_the_configured_statuses_purge_and_a_reactivation_never_does() {
        let statuses = vec!["deleted".to_owned(), "takendown".to_owned()];
        for (line, purges) in [
            (
                r#"{"op":"account","did":"d","active":false,"status":"deleted","time_us":1}"#,
                true,
            ),
            (
                r#"{"op":"account","did":"d","active":false,"status":"suspended","time_us":1}"#,
                false,
            ),
            (
                r#"{"op":"account","did":"d","active":false,"status":"deactivated","time_us":1}"#,
                false,
            ),
            (
                r#"{"op":"account","did":"d","active":true,"time_us":1}"#,
                false,
            ),
            (
                r#"{"op":"account","did":"","active":false,"status":"deleted","time_us":1}"#,
                false,
            ),
        ] {
            assert_eq!(keys(line).change(&statuses).is_some(), purges, "{line}");
        }
    }

    #[test]
    fn a_rule_applies_to_objects_from_its_post_and_past_its_last_check() {
        // GIVEN a deletion of a post created at 10 s, watched with a 1 s skew
        let change = Change::Delete {
            id: "p".into(),
            created_ms: Some(10_000),
            at_ms: 20_000,
        };
        let mut w = Watched::new(&change, 1_000);
        // THEN objects written before 9 s are not its business, later ones are
        assert!(!w.applies_to(8_999, "a"));
        assert!(w.applies_to(9_000, "a"));
        // AND once checked through an object, only later ones are
        w.checked_through = Some((15_000, "m".into()));
        assert!(!w.applies_to(15_000, "a"));
        assert!(w.applies_to(15_000, "n"));
        assert!(w.applies_to(15_001, "a"));
    }
}
