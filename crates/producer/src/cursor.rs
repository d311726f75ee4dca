//! Cursor logic: how ids are ordered, which fetched records are new, and how far the cursor may
//! move once some of them are delivered. Also an in-memory [`CursorStore`] for tests and demos.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use super::{Cursor, CursorError, CursorStore, SourceRecord};

/// A record id as it is ordered. Ids of one kind compare by what they mean: all-digit ids
/// (Mastodon's, most APIs') as numbers of any length, RFC 3339 timestamps as instants (any
/// offset, any fraction), anything else as bytes (ULIDs, zero-padded ids). Ids of different
/// kinds compare by kind (numbers, then timestamps, then the rest), so the order is total
/// over every string, which `sort_by` requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdKey<'a> {
    /// Significant digits: fewer is smaller, then digit by digit.
    Number(usize, &'a str),
    /// Nanoseconds since the epoch.
    Time(i128),
    Text(&'a str),
}

impl<'a> IdKey<'a> {
    pub fn of(id: &'a str) -> Self {
        if !id.is_empty() && id.bytes().all(|c| c.is_ascii_digit()) {
            let digits = id.trim_start_matches('0');
            return IdKey::Number(digits.len(), digits);
        }
        match ks_kernel::time::rfc3339_nanos(id) {
            Some(ns) => IdKey::Time(ns),
            None => IdKey::Text(id),
        }
    }

    /// Several records may share a timestamp id: they are told apart by their content.
    pub fn is_shared(self) -> bool {
        matches!(self, IdKey::Time(_))
    }
}

/// Orders record ids (see [`IdKey`]): a total order.
pub fn id_cmp(a: &str, b: &str) -> Ordering {
    IdKey::of(a).cmp(&IdKey::of(b))
}

/// A record's identity: its id's key, and for a timestamp id (which several records can
/// share) a hash of its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordKey<'a> {
    pub id: IdKey<'a>,
    pub content: Option<u64>,
}

impl<'a> RecordKey<'a> {
    pub fn of(record: &'a SourceRecord) -> Self {
        let id = IdKey::of(&record.id);
        RecordKey {
            id,
            content: id.is_shared().then(|| content_hash(&record.data)),
        }
    }
}

/// The first 8 bytes of the MD5 of `data`: stable across versions and machines, which a
/// cursor written by one invocation and read by the next needs.
pub fn content_hash(data: &[u8]) -> u64 {
    use md5::{Digest as _, Md5};
    let digest = Md5::digest(data);
    u64::from_be_bytes(digest[..8].try_into().expect("an MD5 is 16 bytes"))
}

/// A cursor's position: the id of the last delivered record and, when that id is a
/// timestamp, the content hashes of the records delivered at exactly that timestamp (so one
/// fetched later in the same second is still new). Written as `<id>#<hash>,<hash>…` for
/// timestamps, as the bare id otherwise; a bare timestamp (an older cursor) has no hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub id: String,
    pub delivered_at_id: Vec<u64>,
}

/// Between a timestamp and its hashes; no RFC 3339 timestamp contains it.
const HASHES_AFTER: char = '#';

impl Position {
    pub fn parse(position: &str) -> Self {
        let bare = || Position {
            id: position.to_owned(),
            delivered_at_id: Vec::new(),
        };
        let Some((id, hashes)) = position.rsplit_once(HASHES_AFTER) else {
            return bare();
        };
        if !IdKey::of(id).is_shared() {
            return bare();
        }
        let parsed: Option<Vec<u64>> = hashes
            .split(',')
            .map(|h| {
                (h.len() == 16)
                    .then(|| u64::from_str_radix(h, 16).ok())
                    .flatten()
            })
            .collect();
        match parsed {
            Some(delivered_at_id) => Position {
                id: id.to_owned(),
                delivered_at_id,
            },
            None => bare(),
        }
    }

    pub fn render(&self) -> String {
        if self.delivered_at_id.is_empty() {
            return self.id.clone();
        }
        let hashes: Vec<String> = self
            .delivered_at_id
            .iter()
            .map(|h| format!("{h:016x}"))
            .collect();
        format!("{}{HASHES_AFTER}{}", self.id, hashes.join(","))
    }

    /// Whether the record is at or before this position (already delivered).
    pub fn covers(&self, record: &RecordKey<'_>) -> bool {
        match record.id.cmp(&IdKey::of(&self.id)) {
            Ordering::Less => true,
            Ordering::Greater => false,
            Ordering::Equal => match record.content {
                Some(h) => self.delivered_at_id.contains(&h),
                None => true,
            },
        }
    }
}

/// The id part of a stored cursor: what a source is asked for records newer than.
pub fn cursor_id(position: &str) -> String {
    Position::parse(position).id
}

/// The records worth delivering, oldest first, and how many were dropped as duplicates.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Deduped {
    pub new: Vec<SourceRecord>,
    /// At or before the cursor (already delivered), or an identity seen earlier in this fetch.
    pub duplicates: u64,
}

/// Sorts `records` oldest first and drops those the cursor covers and repeats of a record
/// (the first copy is kept): the same id, or for timestamp ids the same id and bytes.
pub fn dedupe(mut records: Vec<SourceRecord>, cursor: Option<&str>) -> Deduped {
    let before = records.len();
    let cursor = cursor.map(Position::parse);
    // Stable, so the first copy of a repeated record stays first; records sharing a
    // timestamp are ordered by content, as the cursor's hashes expect.
    records.sort_by(|a, b| RecordKey::of(a).cmp(&RecordKey::of(b)));
    let mut keep = vec![false; records.len()];
    {
        let mut seen: HashSet<RecordKey<'_>> = HashSet::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            let key = RecordKey::of(r);
            keep[i] = cursor.as_ref().is_none_or(|c| !c.covers(&key)) && seen.insert(key);
        }
    }
    let mut keep = keep.into_iter();
    records.retain(|_| keep.next().unwrap_or(false));
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

/// The position to write after an invocation, or `None` to leave the cursor alone: the last
/// record of the settled prefix, if it is past `before`. `records` are as [`dedupe`] left
/// them.
pub fn next_position(
    records: &[SourceRecord],
    settled: &[bool],
    before: Option<&str>,
) -> Option<String> {
    let end = settled_prefix_end(settled)?;
    let last = RecordKey::of(&records[end]);
    let before = before.map(Position::parse);
    if let Some(b) = &before
        && b.covers(&last)
    {
        return None;
    }
    let mut next = Position {
        id: records[end].id.clone(),
        delivered_at_id: Vec::new(),
    };
    if last.id.is_shared() {
        // Every settled record at this timestamp, and those the cursor already had.
        if let Some(b) = before.filter(|b| IdKey::of(&b.id) == last.id) {
            next.delivered_at_id = b.delivered_at_id;
        }
        for r in records[..=end].iter().rev().map(RecordKey::of) {
            if r.id != last.id {
                break;
            }
            next.delivered_at_id.extend(r.content);
        }
        next.delivered_at_id.sort_unstable();
        next.delivered_at_id.dedup();
    }
    Some(next.render())
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
    use crate::batch::record;

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
    fn the_order_is_total_over_mixed_id_shapes() {
        // GIVEN the page that made the old order panic in sort_by: digits and digits with
        // letters, plus timestamps with and without fractions and offsets
        let mut page: Vec<String> = vec!["18".into(), "18a".into()];
        page.extend((1..=22).rev().filter(|n| *n != 18).map(|n| n.to_string()));
        page.extend(
            [
                "2025-01-01T00:00:00Z",
                "2025-01-01T00:00:00.5Z",
                "2025-01-01T01:00:00+01:00",
                "1a",
                "10",
                "2",
                "007",
            ]
            .map(String::from),
        );
        // WHEN sorted THEN nothing panics, and the laws of a total order hold for every triple
        page.sort_by(|a, b| id_cmp(a, b));
        for a in &page {
            for b in &page {
                assert_eq!(id_cmp(a, b), id_cmp(b, a).reverse(), "{a} {b}");
                for c in &page {
                    if id_cmp(a, b).is_le() && id_cmp(b, c).is_le() {
                        assert!(id_cmp(a, c).is_le(), "{a} <= {b} <= {c}");
                    }
                }
            }
        }
        // AND the old cycle "2" < "10" < "1a" < "2" is broken: numbers come before text
        assert!(
            id_cmp("2", "10").is_lt() && id_cmp("10", "1a").is_lt() && id_cmp("2", "1a").is_lt()
        );
        // AND timestamps compare as instants: a fraction after the whole second, offsets normalised
        assert!(id_cmp("2025-01-01T00:00:00Z", "2025-01-01T00:00:00.5Z").is_lt());
        assert!(id_cmp("2025-01-01T01:00:00+01:00", "2025-01-01T00:00:00Z").is_eq());
    }

    #[test]
    fn records_sharing_a_timestamp_are_all_delivered_and_the_cursor_remembers_which() {
        // GIVEN three posts in the same second, one of them fetched twice
        let t = "2025-06-01T12:00:00Z";
        let page = vec![
            record(t, "{\"a\":1}"),
            record(t, "{\"b\":2}"),
            record(t, "{\"a\":1}"),
            record("2025-06-01T11:59:59.9Z", "{\"c\":3}"),
        ];
        // WHEN deduplicated without a cursor
        let d = dedupe(page, None);
        // THEN the distinct posts stay (the repeat goes), oldest first
        assert_eq!(d.new.len(), 3);
        assert_eq!(d.duplicates, 1);
        assert_eq!(d.new[0].id, "2025-06-01T11:59:59.9Z");
        // WHEN only the first two of them are delivered
        let pos = next_position(&d.new, &[true, true, false], None).unwrap();
        // THEN the cursor is the shared timestamp with the one delivered post at it
        let parsed = Position::parse(&pos);
        assert_eq!(parsed.id, t);
        assert_eq!(parsed.delivered_at_id.len(), 1);
        // AND a later fetch in the same second brings back exactly what is not delivered yet
        let again = vec![
            record(t, "{\"a\":1}"),
            record(t, "{\"b\":2}"),
            record(t, "{\"d\":4}"),
        ];
        let d2 = dedupe(again, Some(&pos));
        assert_eq!(d2.new.len(), 2, "{:?}", d2.new);
        assert_eq!(d2.duplicates, 1);
        // AND once those are delivered the cursor holds all three posts of that second
        let pos2 = next_position(&d2.new, &[true, true], Some(&pos)).unwrap();
        assert_eq!(Position::parse(&pos2).delivered_at_id.len(), 3);
        assert_eq!(
            cursor_id(&pos2),
            t,
            "the source is asked for the timestamp alone"
        );
        // AND nothing new leaves the cursor alone
        assert_eq!(next_position(&[], &[], Some(&pos2)), None);
    }

    #[test]
    fn positions_read_back_what_they_wrote_and_old_cursors_still_work() {
        let p = Position {
            id: "2025-06-01T12:00:00Z".into(),
            delivered_at_id: vec![1, u64::MAX],
        };
        assert_eq!(Position::parse(&p.render()), p);
        // A bare timestamp (written before hashes were kept) has none; a text id with '#' is an id.
        assert_eq!(
            Position::parse("2025-06-01T12:00:00Z").delivered_at_id,
            Vec::<u64>::new()
        );
        assert_eq!(
            Position::parse("issue#0000000000000001").id,
            "issue#0000000000000001"
        );
        assert_eq!(
            Position::parse("2025-06-01T12:00:00Z#zz").id,
            "2025-06-01T12:00:00Z#zz"
        );
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
            next_position(&records, &[true, false, true], None).as_deref(),
            Some("1")
        );
        // GIVEN all delivered THEN it moves to the last
        assert_eq!(
            next_position(&records, &[true, true, true], Some("0")).as_deref(),
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
