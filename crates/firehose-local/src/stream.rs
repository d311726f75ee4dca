//! An in-process Kinesis data stream: shards own contiguous hash-key ranges, a record goes to the
//! shard whose range holds the MD5 of its partition key (or its ExplicitHashKey), and each shard
//! hands out increasing sequence numbers.
//! <https://docs.aws.amazon.com/kinesis/latest/dev/key-concepts.html>

use std::sync::Mutex;

use md5::{Digest as _, Md5};

use ks_producer::limits::{PARTITION_KEY_MAX_CHARS, PUT_RECORDS_MAX_RECORDS};
use ks_producer::{CallError, Entry, EntryOutcome, StreamSink};

/// One record as GetRecords returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRecord {
    pub partition_key: String,
    pub explicit_hash_key: Option<String>,
    pub data: Vec<u8>,
    pub sequence_number: String,
    /// Milliseconds since the epoch, when the stream accepted the record.
    pub arrival_ms: i64,
}

#[derive(Debug)]
struct Shard {
    id: String,
    /// Inclusive range of 128-bit hash keys.
    start: u128,
    end: u128,
    records: Vec<StreamRecord>,
}

/// The stream; shared by reference between the producer (writes) and the Firehose (reads).
#[derive(Debug)]
pub struct LocalStream {
    name: String,
    shards: Mutex<Vec<Shard>>,
    clock: fn() -> i64,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The 128-bit hash key Kinesis maps a partition key to.
pub fn hash_key(partition_key: &str) -> u128 {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(Md5::digest(partition_key.as_bytes()).as_slice());
    u128::from_be_bytes(bytes)
}

impl LocalStream {
    /// A stream of `shards` shards splitting the hash-key space evenly, as CreateStream does.
    pub fn new(name: &str, shards: usize) -> Self {
        let n = shards.max(1) as u128;
        let width = u128::MAX / n;
        let shards = (0..n)
            .map(|i| Shard {
                id: format!("shardId-{i:012}"),
                start: i * width + i,
                end: if i + 1 == n {
                    u128::MAX
                } else {
                    (i + 1) * width + i
                },
                records: Vec::new(),
            })
            .collect();
        LocalStream {
            name: name.to_owned(),
            shards: Mutex::new(shards),
            clock: now_ms,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The shard ids, in order.
    pub fn shard_ids(&self) -> Vec<String> {
        self.shards
            .lock()
            .expect("lock")
            .iter()
            .map(|s| s.id.clone())
            .collect()
    }

    /// Each shard's (start, end) hash-key range, in order.
    pub fn ranges(&self) -> Vec<(u128, u128)> {
        self.shards
            .lock()
            .expect("lock")
            .iter()
            .map(|s| (s.start, s.end))
            .collect()
    }

    /// Up to `max` records of shard `shard` from position `from` (a shard iterator, simplified).
    pub fn read(&self, shard: usize, from: usize, max: usize) -> Vec<StreamRecord> {
        let shards = self.shards.lock().expect("lock");
        shards
            .get(shard)
            .map(|s| s.records.iter().skip(from).take(max).cloned().collect())
            .unwrap_or_default()
    }

    /// Up to `max` records of the shard named `shard_id` after sequence number `after` (from the
    /// oldest when `None`): GetRecords with an AFTER_SEQUENCE_NUMBER iterator, simplified.
    pub fn read_after(&self, shard_id: &str, after: Option<&str>, max: usize) -> Vec<StreamRecord> {
        let shards = self.shards.lock().expect("lock");
        let Some(shard) = shards.iter().find(|s| s.id == shard_id) else {
            return Vec::new();
        };
        // Sequence numbers are fixed-width and increasing within a shard.
        let from = after.map_or(0, |seq| {
            shard
                .records
                .partition_point(|r| r.sequence_number.as_str() <= seq)
        });
        shard.records.iter().skip(from).take(max).cloned().collect()
    }

    fn route(shards: &[Shard], key: u128) -> usize {
        shards
            .iter()
            .position(|s| key >= s.start && key <= s.end)
            .unwrap_or(shards.len() - 1)
    }
}

impl StreamSink for LocalStream {
    async fn put_records(&self, entries: &[&Entry]) -> Result<Vec<EntryOutcome>, CallError> {
        if entries.is_empty() || entries.len() > PUT_RECORDS_MAX_RECORDS {
            return Err(CallError::Permanent(format!(
                "ValidationException: a PutRecords request carries 1 to {PUT_RECORDS_MAX_RECORDS} records, not {}",
                entries.len()
            )));
        }
        let arrival_ms = (self.clock)();
        let mut shards = self.shards.lock().expect("lock");
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            let chars = e.partition_key.chars().count();
            if chars == 0 || chars > PARTITION_KEY_MAX_CHARS {
                return Err(CallError::Permanent(format!(
                    "ValidationException: partition key of {chars} characters (1 to {PARTITION_KEY_MAX_CHARS})"
                )));
            }
            let key = match &e.explicit_hash_key {
                Some(k) => k.parse::<u128>().map_err(|_| {
                    CallError::Permanent(format!("ValidationException: explicit hash key {k:?}"))
                })?,
                None => hash_key(&e.partition_key),
            };
            let i = Self::route(&shards, key);
            let shard = &mut shards[i];
            // 56 digits like real sequence numbers; increasing within a shard.
            let sequence_number = format!("49{i:04}{:050}", shard.records.len());
            shard.records.push(StreamRecord {
                partition_key: e.partition_key.clone(),
                explicit_hash_key: e.explicit_hash_key.clone(),
                data: e.data.clone(),
                sequence_number: sequence_number.clone(),
                arrival_ms,
            });
            out.push(EntryOutcome::Accepted {
                shard_id: shard.id.clone(),
                sequence_number,
            });
        }
        Ok(out)
    }
}

/// Puts `{"n":n}` for each `n` of `range`, keyed `k{n}`: numbered records for tests.
#[cfg(test)]
pub(crate) async fn put_numbers(stream: &LocalStream, range: std::ops::Range<u32>) {
    let entries: Vec<Entry> = range
        .map(|n| Entry {
            data: format!("{{\"n\":{n}}}").into_bytes(),
            partition_key: format!("k{n}"),
            explicit_hash_key: None,
        })
        .collect();
    stream
        .put_records(&entries.iter().collect::<Vec<_>>())
        .await
        .unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(pk: &str, ehk: Option<&str>) -> Entry {
        Entry {
            data: b"{}".to_vec(),
            partition_key: pk.to_owned(),
            explicit_hash_key: ehk.map(str::to_owned),
        }
    }

    #[test]
    fn shards_split_the_hash_key_space_evenly_and_without_gaps() {
        for n in 1..=7 {
            let ranges = LocalStream::new("s", n).ranges();
            assert_eq!(ranges[0].0, 0);
            assert_eq!(ranges[n - 1].1, u128::MAX);
            for w in ranges.windows(2) {
                assert_eq!(w[0].1 + 1, w[1].0);
            }
        }
        // Two shards split exactly at 2^127, as Kinesis does.
        assert_eq!(LocalStream::new("s", 2).ranges()[1].0, 1u128 << 127);
    }

    #[tokio::test]
    async fn records_go_to_the_shard_holding_the_md5_of_their_partition_key() {
        // GIVEN a four-shard stream
        let stream = LocalStream::new("s", 4);
        let ranges = stream.ranges();
        // WHEN records are put with partition keys, and one with an explicit hash key
        let entries: Vec<Entry> = (0..50).map(|i| entry(&format!("key-{i}"), None)).collect();
        let refs: Vec<&Entry> = entries.iter().collect();
        let out = stream.put_records(&refs).await.unwrap();
        let pinned = entry("anything", Some("0"));
        let pinned_out = stream.put_records(&[&pinned]).await.unwrap();
        // THEN each lands in the range holding MD5(key), with increasing sequence numbers per shard
        for (e, o) in entries.iter().zip(&out) {
            let EntryOutcome::Accepted { shard_id, .. } = o else {
                panic!("{o:?}")
            };
            let i: usize = shard_id.trim_start_matches("shardId-").parse().unwrap();
            let h = hash_key(&e.partition_key);
            assert!(h >= ranges[i].0 && h <= ranges[i].1);
        }
        assert!(
            matches!(&pinned_out[0], EntryOutcome::Accepted { shard_id, .. } if shard_id == "shardId-000000000000")
        );
        for shard in 0..4 {
            let seqs: Vec<String> = stream
                .read(shard, 0, 1_000)
                .into_iter()
                .map(|r| r.sequence_number)
                .collect();
            assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        }
        let total: usize = (0..4).map(|s| stream.read(s, 0, 1_000).len()).sum();
        assert_eq!(total, 51);
    }

    #[test]
    fn md5_hash_key_matches_a_known_value() {
        // MD5("") = d41d8cd98f00b204e9800998ecf8427e
        assert_eq!(hash_key(""), 0xd41d8cd98f00b204e9800998ecf8427e);
    }
}
