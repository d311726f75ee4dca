//! The producer end to end over in-memory adapters, under random inputs and random failures:
//! every input record is put exactly once or reported, keys keep their order, and the cursor
//! never passes an undelivered record.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use ks_producer::batch::{Keying, PackLimits};
use ks_producer::cursor::{MemoryCursorStore, Position, RecordKey};
use ks_producer::kpl::deaggregate;
use ks_producer::run::{ProduceError, ProduceSettings, produce};
use ks_producer::synthetic::GivenSource;
use ks_producer::{CallError, CursorStore, Entry, EntryOutcome, SourceRecord, StreamSink};
use proptest::prelude::*;
use serde_json::Value;
use tokio::time::Instant;

/// Fails each entry with a fixed probability (ProvisionedThroughputExceeded), and sometimes a
/// whole call; keeps the accepted entries in arrival order.
struct Flaky {
    rng: Mutex<fastrand::Rng>,
    fail_percent: u32,
    accepted: Mutex<Vec<Entry>>,
}

impl StreamSink for Flaky {
    async fn put_records(&self, entries: &[&Entry]) -> Result<Vec<EntryOutcome>, CallError> {
        let mut rng = self.rng.lock().unwrap();
        if rng.u32(..100) < self.fail_percent / 4 {
            return Err(CallError::Transient("HTTP 500".into()));
        }
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            if rng.u32(..100) < self.fail_percent {
                let code = if rng.bool() {
                    "ProvisionedThroughputExceededException"
                } else {
                    "InternalFailure"
                };
                out.push(EntryOutcome::Failed {
                    code: code.into(),
                    message: "injected".into(),
                });
            } else {
                self.accepted.lock().unwrap().push((*e).clone());
                out.push(EntryOutcome::Accepted {
                    shard_id: "shardId-000000000000".into(),
                    sequence_number: "1".into(),
                });
            }
        }
        Ok(out)
    }
}

/// Ids of every shape a source may send, from a small pool so repeats happen: digits (with
/// leading zeros), digits with letters, timestamps with and without fractions and offsets.
fn id_of_choice(choice: u32) -> String {
    let n = choice % 40;
    match choice % 5 {
        0 => n.to_string(),
        1 => format!("00{n}"),
        2 => format!("{n}a"),
        3 => format!("2025-06-01T12:00:{:02}Z", n % 7),
        _ => format!("2025-06-01T12:00:0{}.{}+00:00", n % 7, n % 3),
    }
}

fn record(choice: u32, serial: u8, key: u8, pad: usize) -> SourceRecord {
    let id = id_of_choice(choice);
    // `serial` from a small range: some records share an id and all their bytes (a repeat),
    // some share a timestamp id but not their bytes (two posts of the same second).
    let data = format!(
        r#"{{"id":"{id}","n":{serial},"user":"u{key}","pad":"{}"}}"#,
        "x".repeat(pad)
    );
    SourceRecord {
        id,
        data: data.into_bytes(),
    }
}

fn inputs() -> impl Strategy<Value = Vec<SourceRecord>> {
    // Sizes straddle a 300-byte record limit.
    prop::collection::vec((0u32..200, 0u8..3, 0u8..6, 0usize..320), 0..300).prop_map(|v| {
        v.into_iter()
            .map(|(choice, serial, key, pad)| record(choice, serial, key, pad))
            .collect()
    })
}

/// The record an accepted payload is: its id is inside it.
fn source_record(data: &[u8]) -> SourceRecord {
    let v: Value = serde_json::from_slice(data).unwrap();
    SourceRecord {
        id: v["id"].as_str().unwrap().to_owned(),
        data: data.to_vec(),
    }
}

/// What `MAX_RECORD_BYTES` refuses: data and partition key over the limit (the Kinesis rule).
fn too_large(r: &SourceRecord, by_user: bool, limit: usize) -> bool {
    let v: Value = serde_json::from_slice(&r.data).unwrap();
    let key = if by_user {
        v["user"].as_str().unwrap().to_owned()
    } else {
        r.id.clone()
    };
    r.data.len() + key.len() > limit
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, ..ProptestConfig::default() })]

    #[test]
    fn every_record_is_put_exactly_once_or_reported(
        records in inputs(),
        fail_percent in 0u32..60,
        max_records in 1usize..20,
        aggregate in any::<bool>(),
        by_user in any::<bool>(),
        attempts in 1u32..12,
        seed in any::<u64>(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        rt.block_on(async {
            // GIVEN random records of mixed id shapes, limits, keys and a stream failing
            // entries at random
            let sink = Flaky { rng: Mutex::new(fastrand::Rng::with_seed(seed)), fail_percent, accepted: Mutex::default() };
            let store = MemoryCursorStore::default();
            let mut settings = ProduceSettings {
                limits: PackLimits { max_records, max_request_bytes: 2_000, max_record_bytes: 300 },
                keying: Keying { partition_key: by_user.then(|| "/user".to_owned()), explicit_hash_key: None },
                aggregation: aggregate.then_some(1_000),
                ..ProduceSettings::default()
            };
            settings.delivery.retry.max_attempts = attempts;
            // A record is a repeat when its identity (what the cursor tells apart) is.
            let mut distinct: HashMap<RecordKey<'_>, &SourceRecord> = HashMap::new();
            for r in &records {
                distinct.entry(RecordKey::of(r)).or_insert(r);
            }

            // WHEN one invocation runs
            let out = produce(&GivenSource::new("given", records.clone()), &store, &sink, "k", &settings, Instant::now() + Duration::from_secs(600), &mut fastrand::Rng::with_seed(seed)).await;

            // THEN each distinct record is accepted at most once, and accepted + rejected +
            // failed account for all of them
            let mut accepted: Vec<(String, SourceRecord)> = Vec::new();
            for e in sink.accepted.lock().unwrap().iter() {
                for u in deaggregate(&e.partition_key, None, &e.data).unwrap() {
                    accepted.push((u.partition_key, source_record(&u.data)));
                }
            }
            let mut seen = HashSet::new();
            for (_, r) in &accepted {
                let key = RecordKey::of(r);
                prop_assert!(seen.insert(key), "{} accepted twice", r.id);
                prop_assert!(distinct.contains_key(&key));
                prop_assert!(!too_large(r, by_user, 300), "a record over the limit was sent");
            }
            let rejected: HashSet<RecordKey<'_>> = distinct.iter().filter(|(_, r)| too_large(r, by_user, 300)).map(|(k, _)| *k).collect();
            let s = &out.summary;
            prop_assert_eq!(s.new as usize, distinct.len());
            prop_assert_eq!(s.put as usize, seen.len());
            prop_assert_eq!(s.rejected as usize, rejected.len());
            prop_assert_eq!(s.put + s.rejected + s.failed, s.new);
            match &out.result {
                // AND when the run succeeds, every record is accepted or rejected
                Ok(()) => prop_assert_eq!(seen.len() + rejected.len(), distinct.len()),
                Err(ProduceError::Delivery { undelivered, .. }) => prop_assert_eq!(*undelivered, s.failed),
                Err(e) => prop_assert!(false, "unexpected error {e}"),
            }

            // AND each key's records were accepted oldest first
            let mut last: HashMap<&str, RecordKey<'_>> = HashMap::new();
            for (key, r) in &accepted {
                let this = RecordKey::of(r);
                if let Some(prev) = last.insert(key, this) {
                    prop_assert!(prev < this, "key {key}: {prev:?} then {this:?}");
                }
            }

            // AND the cursor never passes a record that was neither accepted nor rejected
            if let Some(cursor) = store.load("k").await.unwrap() {
                let position = Position::parse(&cursor.position);
                for key in distinct.keys() {
                    if position.covers(key) {
                        prop_assert!(seen.contains(key) || rejected.contains(key), "cursor {} passed undelivered {key:?}", cursor.position);
                    }
                }
            }
            Ok(())
        })?;
    }
}
