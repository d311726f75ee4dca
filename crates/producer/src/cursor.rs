//! Cursor logic: how ids are ordered, which fetched records are new, and how far the cursor may
//! move once some of them are delivered. Also an in-memory [`CursorStore`] for tests and demos.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use super::{Cursor, CursorError, CursorStore, SourceRecord};

/// Orders record ids: two all-digit ids (Mastodon's, most APIs') compare as numbers of any
/// length; anything else compares as strings (ISO timestamps, ULIDs, zero-padded ids).
pub fn id_cmp(a: &str, b: &str) -> Ordering {
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if numeric(a) && numeric(b) {
        let a = a.trim_start_matches('0');
        let b = b.trim_start_matches('0');
        a.len().cmp(&b.len()).then_with(|| a.cmp(b))
    } else {
        a.cmp(b)
    }
}

/// The records worth delivering, oldest first, and how many were dropped as duplicates.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Deduped {
    pub new: Vec<SourceRecord>,
    /// At or before the cursor (already delivered), or an id seen earlier in this fetch.
    pub duplicates: u64,
}

/// Sorts `records` oldest first and drops those at or before `cursor` and repeated ids (the
/// first copy is kept).
pub fn dedupe(mut records: Vec<SourceRecord>, cursor: Option<&str>) -> Deduped {
    let before = records.len();
    // Stable, so the first copy of a repeated id stays first.
    records.sort_by(|a, b| id_cmp(&a.id, &b.id));
    let mut seen: HashSet<String> = HashSet::with_capacity(records.len());
    records.retain(|r| {
        cursor.is_none_or(|c| id_cmp(&r.id, c) == Ordering::Greater) && seen.insert(r.id.clone())
    });
    Deduped {
        duplicates: (before - records.len()) as u64,
        new: records,
    }
}

/// The index of the last record of the longest settled prefix (`settled[i]`: delivered, or
/// rejected for good), or `None` when the first record is not settled.
pub fn settled_prefix_end(settled: &[bool]) -> Option<usize> {
    settled
        .iter()
        .position(|s| !s)
        .unwrap_or(settled.len())
        .checked_sub(1)
}

/// The position to write after an invocation, or `None` to leave the cursor alone: the id of the
/// last record of the settled prefix, if it is past `before`.
pub fn next_position<'a>(
    records: &'a [SourceRecord],
    settled: &[bool],
    before: Option<&str>,
) -> Option<&'a str> {
    let end = settled_prefix_end(settled)?;
    let id = records[end].id.as_str();
    before
        .is_none_or(|b| id_cmp(id, b) == Ordering::Greater)
        .then_some(id)
}

/// Cursors in memory, with the same conditional-write rule as the durable stores.
#[derive(Debug, Default)]
pub struct MemoryCursorStore {
    cursors: Mutex<HashMap<String, Cursor>>,
}

impl MemoryCursorStore {
    pub fn get(&self, key: &str) -> Option<Cursor> {
        self.cursors.lock().expect("lock").get(key).cloned()
    }
}

impl CursorStore for MemoryCursorStore {
    async fn load(&self, key: &str) -> Result<Option<Cursor>, CursorError> {
        Ok(self.get(key))
    }

    async fn save(
        &self,
        key: &str,
        expected: Option<&Cursor>,
        position: &str,
    ) -> Result<Cursor, CursorError> {
        let mut cursors = self.cursors.lock().expect("lock");
        if cursors.get(key) != expected {
            return Err(CursorError::Conflict {
                key: key.to_owned(),
                expected: expected.map_or(0, |c| c.version),
            });
        }
        let next = Cursor {
            position: position.to_owned(),
            version: expected.map_or(1, |c| c.version + 1),
        };
        cursors.insert(key.to_owned(), next.clone());
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str) -> SourceRecord {
        SourceRecord {
            id: id.to_owned(),
            data: format!("{{\"id\":\"{id}\"}}").into_bytes(),
        }
    }

    fn ids(records: &[SourceRecord]) -> Vec<&str> {
        records.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn numeric_ids_compare_as_numbers_others_as_strings() {
        assert_eq!(id_cmp("9", "10"), Ordering::Less);
        assert_eq!(
            id_cmp("113000000000000001", "99999999999999999"),
            Ordering::Greater
        );
        assert_eq!(id_cmp("007", "7"), Ordering::Equal);
        assert_eq!(
            id_cmp("2025-01-02T00:00:00Z", "2025-01-10T00:00:00Z"),
            Ordering::Less
        );
        assert_eq!(id_cmp("b", "a10"), Ordering::Greater);
    }

    #[test]
    fn dedupe_sorts_and_drops_repeats_and_what_the_cursor_covers() {
        // GIVEN a newest-first page with a repeated id and ids at/before the cursor
        let page = vec![
            rec("105"),
            rec("104"),
            rec("104"),
            rec("103"),
            rec("100"),
            rec("99"),
        ];
        // WHEN deduplicated against cursor 100
        let d = dedupe(page, Some("100"));
        // THEN only newer, distinct ids remain, oldest first
        assert_eq!(ids(&d.new), ["103", "104", "105"]);
        assert_eq!(d.duplicates, 3);
    }

    #[test]
    fn without_a_cursor_only_repeats_are_duplicates() {
        let d = dedupe(vec![rec("2"), rec("1"), rec("2")], None);
        assert_eq!(ids(&d.new), ["1", "2"]);
        assert_eq!(d.duplicates, 1);
    }

    #[test]
    fn the_cursor_moves_only_over_the_settled_prefix() {
        let records = vec![rec("1"), rec("2"), rec("3")];
        // GIVEN the second record undelivered THEN the cursor stops at the first
        assert_eq!(
            next_position(&records, &[true, false, true], None),
            Some("1")
        );
        // GIVEN all delivered THEN it moves to the last
        assert_eq!(
            next_position(&records, &[true, true, true], Some("0")),
            Some("3")
        );
        // GIVEN the first undelivered THEN it stays
        assert_eq!(
            next_position(&records, &[false, true, true], Some("0")),
            None
        );
        // GIVEN nothing new THEN it stays
        assert_eq!(next_position(&[], &[], Some("0")), None);
        // GIVEN a position not past the stored one THEN it stays
        assert_eq!(
            next_position(&records, &[true, true, true], Some("3")),
            None
        );
    }

    #[tokio::test]
    async fn a_stale_writer_cannot_move_the_cursor() {
        // GIVEN two invocations that read the same cursor
        let store = MemoryCursorStore::default();
        let first = store.save("s", None, "10").await.unwrap();
        assert_eq!(
            first,
            Cursor {
                position: "10".into(),
                version: 1
            }
        );
        let read_a = store.load("s").await.unwrap();
        let read_b = store.load("s").await.unwrap();
        // WHEN both try to advance it
        store.save("s", read_a.as_ref(), "20").await.unwrap();
        let err = store.save("s", read_b.as_ref(), "15").await.unwrap_err();
        // THEN the second is refused and the first's position stands
        assert!(
            matches!(err, CursorError::Conflict { expected: 1, .. }),
            "{err}"
        );
        assert_eq!(
            store.get("s").unwrap(),
            Cursor {
                position: "20".into(),
                version: 2
            }
        );
        // AND creating a cursor that already exists is a conflict too
        assert!(store.save("s", None, "30").await.is_err());
    }
}
