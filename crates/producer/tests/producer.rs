//! The producer end to end over in-memory adapters, under random inputs and random failures:
//! every input record is put exactly once or reported, keys keep their order, and the cursor
//! never passes an undelivered record.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use ks_producer::batch::{Keying, PackLimits};
use ks_producer::cursor::{MemoryCursorStore, id_cmp};
use ks_producer::kpl::deaggregate;
use ks_producer::run::{ProduceError, ProduceSettings, produce};
use ks_producer::{
    CallError, CursorStore, Entry, EntryOutcome, FetchBudget, Fetched, Source, SourceError,
    SourceRecord, Stop, StreamSink,
};
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

struct Given(Vec<SourceRecord>);

impl Source for Given {
    fn name(&self) -> &str {
        "given"
    }
    async fn fetch(
        &self,
        _cursor: Option<&str>,
        _budget: FetchBudget,
    ) -> Result<Fetched, SourceError> {
        Ok(Fetched {
            records: self.0.clone(),
            pages: 1,
            stop: Stop::CaughtUp,
            connects_to_cursor: true,
            error: None,
        })
    }
}

fn record(id: u32, key: u8, pad: usize) -> SourceRecord {
    let data = format!(
        r#"{{"id":"{id}","user":"u{key}","pad":"{}"}}"#,
        "x".repeat(pad)
    );
    SourceRecord {
        id: id.to_string(),
        data: data.into_bytes(),
    }
}

fn inputs() -> impl Strategy<Value = Vec<SourceRecord>> {
    // Ids from a small range so repeats happen; sizes straddle a 300-byte record limit.
    prop::collection::vec((0u32..400, 0u8..6, 0usize..320), 0..300).prop_map(|v| {
        v.into_iter()
            .map(|(id, key, pad)| record(id, key, pad))
            .collect()
    })
}

fn id_of(data: &[u8]) -> String {
    let v: Value = serde_json::from_slice(data).unwrap();
    v["id"].as_str().unwrap().to_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

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
            // GIVEN random records, limits, keys and a stream failing entries at random
            let sink = Flaky { rng: Mutex::new(fastrand::Rng::with_seed(seed)), fail_percent, accepted: Mutex::default() };
            let store = MemoryCursorStore::default();
            let mut settings = ProduceSettings {
                limits: PackLimits { max_records, max_request_bytes: 2_000, max_record_bytes: 300 },
                keying: Keying { partition_key: by_user.then(|| "/user".to_owned()), explicit_hash_key: None },
                aggregation: aggregate.then_some(1_000),
                ..ProduceSettings::default()
            };
            settings.delivery.retry.max_attempts = attempts;
            let distinct: HashSet<String> = records.iter().map(|r| r.id.clone()).collect();

            // WHEN one invocation runs
            let out = produce(&Given(records.clone()), &store, &sink, "k", &settings, Instant::now() + Duration::from_secs(600), &mut fastrand::Rng::with_seed(seed)).await;

            // THEN each distinct record is accepted at most once, and accepted + rejected +
            // failed account for all of them
            let mut accepted: Vec<(String, String)> = Vec::new();
            for e in sink.accepted.lock().unwrap().iter() {
                for u in deaggregate(&e.partition_key, None, &e.data).unwrap() {
                    accepted.push((u.partition_key, id_of(&u.data)));
                }
            }
            let mut seen = HashSet::new();
            for (_, id) in &accepted {
                prop_assert!(seen.insert(id.clone()), "{id} accepted twice");
                prop_assert!(distinct.contains(id));
            }
            let rejected: HashSet<String> = out.rejections.iter().map(|r| match r {
                ks_producer::batch::Rejection::TooLarge { id, .. } | ks_producer::batch::Rejection::BadExplicitHashKey { id, .. } => id.clone(),
            }).collect();
            prop_assert!(seen.is_disjoint(&rejected), "a rejected record was sent");
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
            let mut last: HashMap<&str, &str> = HashMap::new();
            for (key, id) in &accepted {
                if let Some(prev) = last.insert(key, id) {
                    prop_assert!(id_cmp(prev, id).is_lt(), "key {key}: {prev} then {id}");
                }
            }

            // AND the cursor never passes a record that was neither accepted nor rejected
            if let Some(cursor) = store.load("k").await.unwrap() {
                for id in &distinct {
                    if id_cmp(id, &cursor.position).is_le() {
                        prop_assert!(seen.contains(id) || rejected.contains(id), "cursor {} passed undelivered {id}", cursor.position);
                    }
                }
            }
            Ok(())
        })?;
    }
}
