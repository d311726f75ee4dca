//! From source records to PutRecords requests: the partition key and ExplicitHashKey of each
//! record, the per-record size check, and packing into requests under the count and byte caps.

use std::collections::HashMap;

use serde_json::Value;

use super::limits::{
    DEFAULT_MAX_RECORD_BYTES, EXPLICIT_HASH_KEY_MAX_DIGITS, PARTITION_KEY_MAX_CHARS,
    PUT_RECORDS_DEFAULT_REQUEST_BYTES, PUT_RECORDS_MAX_RECORDS,
};
use super::{Entry, SourceRecord};

/// The caps requests are packed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackLimits {
    /// Records a request (≤ 500).
    pub max_records: usize,
    /// Bytes a request, data and partition keys counted.
    pub max_request_bytes: usize,
    /// Bytes a record, data and partition key counted; larger records are rejected.
    pub max_record_bytes: usize,
}

impl Default for PackLimits {
    fn default() -> Self {
        PackLimits {
            max_records: PUT_RECORDS_MAX_RECORDS,
            max_request_bytes: PUT_RECORDS_DEFAULT_REQUEST_BYTES,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
        }
    }
}

/// Where a record's partition key and ExplicitHashKey come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keying {
    /// A JSON pointer into the record; `None`, or a missing/blank value, means the record id.
    pub partition_key: Option<String>,
    /// A JSON pointer to a decimal ExplicitHashKey; `None` sends none.
    pub explicit_hash_key: Option<String>,
}

/// Why a record is never sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("record {id} is {bytes} bytes (data + partition key); the limit is {limit}")]
    TooLarge {
        id: String,
        bytes: usize,
        limit: usize,
    },
    #[error("record {id}: explicit hash key {value:?} is not a decimal in [0, 2^128)")]
    BadExplicitHashKey { id: String, value: String },
}

/// Turns `record` into an entry, or says why it cannot be sent.
pub fn prepare(
    record: &SourceRecord,
    keying: &Keying,
    limits: &PackLimits,
) -> Result<Entry, Rejection> {
    let parsed: Option<Value> =
        if keying.partition_key.is_some() || keying.explicit_hash_key.is_some() {
            serde_json::from_slice(&record.data).ok()
        } else {
            None
        };
    let pick = |pointer: &Option<String>| -> Option<String> {
        let v = parsed.as_ref()?.pointer(pointer.as_deref()?)?;
        match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let key = pick(&keying.partition_key).unwrap_or_else(|| record.id.clone());
    let partition_key = truncate_chars(&key, PARTITION_KEY_MAX_CHARS).to_owned();
    let explicit_hash_key = match pick(&keying.explicit_hash_key) {
        None => None,
        Some(v) if valid_explicit_hash_key(&v) => Some(v),
        Some(v) => {
            return Err(Rejection::BadExplicitHashKey {
                id: record.id.clone(),
                value: v,
            });
        }
    };
    let entry = Entry {
        data: record.data.clone(),
        partition_key,
        explicit_hash_key,
    };
    if entry.size() > limits.max_record_bytes {
        return Err(Rejection::TooLarge {
            id: record.id.clone(),
            bytes: entry.size(),
            limit: limits.max_record_bytes,
        });
    }
    Ok(entry)
}

/// `0|([1-9]\d{0,38})` and below 2^128.
pub fn valid_explicit_hash_key(v: &str) -> bool {
    let shape = v == "0"
        || (!v.is_empty()
            && v.len() <= EXPLICIT_HASH_KEY_MAX_DIGITS
            && !v.starts_with('0')
            && v.bytes().all(|c| c.is_ascii_digit()));
    shape && v.parse::<u128>().is_ok()
}

fn truncate_chars(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// One entry to pack: its size and the partition keys whose order it must keep (an aggregated
/// record carries several).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackItem<'a> {
    pub size: usize,
    pub keys: Vec<&'a str>,
}

/// Packs items into requests (lists of item indices) sent one after another.
///
/// First fit under both caps, with one rule for order: an item goes into a later request than
/// any earlier item sharing one of its keys. A key then appears at most once per request, so
/// re-sending a request's failed entries can never put a record behind a newer one of its key.
/// With distinct keys this is plain first-fit, which meets the floor ⌈n / max_records⌉ when the
/// count cap binds. Items must each fit `max_request_bytes`.
pub fn pack(items: &[PackItem<'_>], limits: &PackLimits) -> Vec<Vec<usize>> {
    let mut requests: Vec<(Vec<usize>, usize)> = Vec::new();
    let mut last: HashMap<&str, usize> = HashMap::new();
    // Requests before this one are full by count: no need to look at them again.
    let mut first_open = 0;
    for (i, item) in items.iter().enumerate() {
        let after_keys = item
            .keys
            .iter()
            .filter_map(|k| last.get(k).map(|j| j + 1))
            .max()
            .unwrap_or(0);
        let mut j = first_open.max(after_keys);
        loop {
            if j == requests.len() {
                requests.push((Vec::new(), 0));
            }
            let (members, bytes) = &requests[j];
            if members.len() < limits.max_records
                && (members.is_empty() || bytes + item.size <= limits.max_request_bytes)
            {
                break;
            }
            j += 1;
        }
        requests[j].0.push(i);
        requests[j].1 += item.size;
        for k in &item.keys {
            last.insert(k, j);
        }
        while first_open < requests.len() && requests[first_open].0.len() >= limits.max_records {
            first_open += 1;
        }
    }
    requests.into_iter().map(|(members, _)| members).collect()
}

/// The fewest requests `sizes` could take: the count cap or the byte cap, whichever binds.
pub fn floor_requests(sizes: &[usize], limits: &PackLimits) -> usize {
    let by_count = sizes.len().div_ceil(limits.max_records);
    let by_bytes = sizes
        .iter()
        .sum::<usize>()
        .div_ceil(limits.max_request_bytes);
    by_count.max(by_bytes)
}

/// A record for tests: `id` and the JSON text `json`.
#[cfg(test)]
pub(crate) fn record(id: &str, json: &str) -> SourceRecord {
    SourceRecord {
        id: id.to_owned(),
        data: json.as_bytes().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(sizes: &[usize]) -> (Vec<String>, Vec<usize>) {
        (
            (0..sizes.len()).map(|i| format!("k{i}")).collect(),
            sizes.to_vec(),
        )
    }

    fn pack_sizes(sizes: &[usize], limits: &PackLimits) -> Vec<Vec<usize>> {
        let (keys, sizes) = items(sizes);
        let items: Vec<PackItem> = sizes
            .iter()
            .zip(&keys)
            .map(|(s, k)| PackItem {
                size: *s,
                keys: vec![k],
            })
            .collect();
        pack(&items, limits)
    }

    fn lens(requests: &[Vec<usize>]) -> Vec<usize> {
        requests.iter().map(Vec::len).collect()
    }

    #[test]
    fn exactly_500_records_fit_one_request_and_501_take_two() {
        let limits = PackLimits::default();
        assert_eq!(lens(&pack_sizes(&[10; 500], &limits)), [500]);
        assert_eq!(lens(&pack_sizes(&[10; 501], &limits)), [500, 1]);
        assert_eq!(lens(&pack_sizes(&[], &limits)), Vec::<usize>::new());
    }

    #[test]
    fn the_byte_cap_is_inclusive() {
        // GIVEN a 100-byte cap
        let limits = PackLimits {
            max_records: 500,
            max_request_bytes: 100,
            max_record_bytes: 100,
        };
        // WHEN records add up to exactly 100 THEN one request; one byte more THEN two
        assert_eq!(lens(&pack_sizes(&[40, 60], &limits)), [2]);
        assert_eq!(lens(&pack_sizes(&[40, 61], &limits)), [1, 1]);
        // AND a later small record fills an earlier gap (first fit)
        assert_eq!(pack_sizes(&[60, 60, 40], &limits), [vec![0, 2], vec![1]]);
    }

    #[test]
    fn a_key_appears_once_per_request_and_in_order() {
        // GIVEN three records of key a and one of b
        let limits = PackLimits::default();
        let keys = ["a", "a", "b", "a"];
        let items: Vec<PackItem> = keys
            .iter()
            .map(|k| PackItem {
                size: 1,
                keys: vec![k],
            })
            .collect();
        // WHEN packed THEN each "a" goes to a later request than the one before it
        assert_eq!(pack(&items, &limits), [vec![0, 2], vec![1], vec![3]]);
    }

    #[test]
    fn floor_is_whichever_cap_binds() {
        let limits = PackLimits {
            max_records: 500,
            max_request_bytes: 1_000,
            max_record_bytes: 1_000,
        };
        assert_eq!(floor_requests(&[1; 1_001], &limits), 3);
        assert_eq!(floor_requests(&[100; 25], &limits), 3);
    }

    #[test]
    fn the_record_limit_counts_data_and_key_and_is_inclusive() {
        // GIVEN a 20-byte record limit and a 2-byte id as key
        let limits = PackLimits {
            max_records: 500,
            max_request_bytes: 1_000,
            max_record_bytes: 20,
        };
        let keying = Keying::default();
        // WHEN data is 18 bytes THEN accepted; 19 bytes THEN rejected naming the sizes
        assert!(prepare(&record("r1", &"x".repeat(18)), &keying, &limits).is_ok());
        let err = prepare(&record("r2", &"x".repeat(19)), &keying, &limits).unwrap_err();
        assert_eq!(
            err,
            Rejection::TooLarge {
                id: "r2".into(),
                bytes: 21,
                limit: 20
            }
        );
        assert!(err.to_string().contains("21 bytes"));
    }

    #[test]
    fn keys_come_from_the_pointer_or_fall_back_to_the_id() {
        let limits = PackLimits::default();
        let keying = Keying {
            partition_key: Some("/user/id".into()),
            explicit_hash_key: Some("/ehk".into()),
        };
        let e = prepare(
            &record("1", r#"{"user":{"id":"alice"},"ehk":"42"}"#),
            &keying,
            &limits,
        )
        .unwrap();
        assert_eq!(
            (e.partition_key.as_str(), e.explicit_hash_key.as_deref()),
            ("alice", Some("42"))
        );
        let e = prepare(&record("2", r#"{"user":{"id":7}}"#), &keying, &limits).unwrap();
        assert_eq!((e.partition_key.as_str(), e.explicit_hash_key), ("7", None));
        let e = prepare(&record("3", r#"{"user":{"id":"  "}}"#), &keying, &limits).unwrap();
        assert_eq!(e.partition_key, "3");
        let long = format!(r#"{{"user":{{"id":"{}"}}}}"#, "é".repeat(300));
        let e = prepare(&record("4", &long), &keying, &limits).unwrap();
        assert_eq!(e.partition_key.chars().count(), 256);
        let err = prepare(&record("5", r#"{"ehk":"042"}"#), &keying, &limits).unwrap_err();
        assert!(matches!(err, Rejection::BadExplicitHashKey { .. }));
    }

    #[test]
    fn explicit_hash_keys_must_be_128_bit_decimals() {
        assert!(valid_explicit_hash_key("0"));
        assert!(valid_explicit_hash_key(
            "340282366920938463463374607431768211455"
        ));
        assert!(!valid_explicit_hash_key(
            "340282366920938463463374607431768211456"
        ));
        assert!(!valid_explicit_hash_key("01"));
        assert!(!valid_explicit_hash_key("-1"));
        assert!(!valid_explicit_hash_key(""));
    }
}
