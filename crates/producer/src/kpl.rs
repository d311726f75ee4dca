//! The KPL aggregated record format, so many small user records travel as one Kinesis record
//! that Firehose and the KCL de-aggregate: the magic `F3 89 9A C2`, a protobuf
//! `AggregatedRecord`, then the MD5 of the protobuf bytes.
//! <https://github.com/awslabs/amazon-kinesis-producer/blob/master/aggregation-format.md>
//!
//! ```text
//! message AggregatedRecord {
//!   repeated string partition_key_table     = 1;
//!   repeated string explicit_hash_key_table = 2;
//!   repeated Record records                 = 3;
//! }
//! message Record {
//!   required uint64 partition_key_index     = 1;
//!   optional uint64 explicit_hash_key_index = 2;
//!   required bytes  data                    = 3;
//!   repeated Tag    tags                    = 4;   // never written; skipped when read
//! }
//! ```

use std::collections::HashMap;

use md5::{Digest, Md5};

use super::Entry;

/// The first bytes of every aggregated record.
pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
/// MD5's digest length, appended after the protobuf message.
pub const DIGEST_BYTES: usize = 16;

const WIRE_VARINT: u8 = 0;
const WIRE_LEN: u8 = 2;

fn tag(field: u8, wire: u8) -> u8 {
    (field << 3) | wire
}

fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field's size: tag, length, bytes.
fn len_field(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

/// The size of one encoded `Record` message body.
fn record_body_len(pk_index: usize, ehk_index: Option<usize>, data_len: usize) -> usize {
    1 + varint_len(pk_index as u64)
        + ehk_index.map_or(0, |i| 1 + varint_len(i as u64))
        + len_field(data_len)
}

/// Collects user records into one aggregated record, tracking its exact encoded size.
#[derive(Debug, Default)]
pub struct Aggregate<'a> {
    pk_table: Vec<&'a str>,
    pk_index: HashMap<&'a str, usize>,
    ehk_table: Vec<&'a str>,
    ehk_index: HashMap<&'a str, usize>,
    records: Vec<(usize, Option<usize>, &'a [u8])>,
    /// Protobuf bytes so far.
    body: usize,
}

impl<'a> Aggregate<'a> {
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The bytes the Kinesis record would count: magic, protobuf, digest, and the outer
    /// partition key (the first user record's).
    pub fn size(&self) -> usize {
        MAGIC.len() + self.body + DIGEST_BYTES + self.pk_table.first().map_or(0, |k| k.len())
    }

    /// The size after adding `entry`, without adding it.
    pub fn size_with(&self, entry: &'a Entry) -> usize {
        let (body, outer_key) = self.growth(entry);
        MAGIC.len() + self.body + body + DIGEST_BYTES + outer_key
    }

    fn growth(&self, entry: &'a Entry) -> (usize, usize) {
        let pk = entry.partition_key.as_str();
        let mut body = 0;
        let pk_index = match self.pk_index.get(pk) {
            Some(&i) => i,
            None => {
                body += len_field(pk.len());
                self.pk_table.len()
            }
        };
        let ehk_index =
            entry
                .explicit_hash_key
                .as_deref()
                .map(|ehk| match self.ehk_index.get(ehk) {
                    Some(&i) => i,
                    None => {
                        body += len_field(ehk.len());
                        self.ehk_table.len()
                    }
                });
        body += len_field(record_body_len(pk_index, ehk_index, entry.data.len()));
        let outer_key = self.pk_table.first().map_or(pk.len(), |k| k.len());
        (body, outer_key)
    }

    pub fn push(&mut self, entry: &'a Entry) {
        let (growth, _) = self.growth(entry);
        self.body += growth;
        let pk = entry.partition_key.as_str();
        let pk_index = *self.pk_index.entry(pk).or_insert_with(|| {
            self.pk_table.push(pk);
            self.pk_table.len() - 1
        });
        let ehk_index = entry.explicit_hash_key.as_deref().map(|ehk| {
            *self.ehk_index.entry(ehk).or_insert_with(|| {
                self.ehk_table.push(ehk);
                self.ehk_table.len() - 1
            })
        });
        self.records.push((pk_index, ehk_index, &entry.data));
    }

    /// The aggregated Kinesis record: keyed by its first user record's partition key (and
    /// ExplicitHashKey, if any), as the KPL does.
    pub fn encode(&self) -> Entry {
        let mut body = Vec::with_capacity(self.body);
        for pk in &self.pk_table {
            body.push(tag(1, WIRE_LEN));
            put_varint(&mut body, pk.len() as u64);
            body.extend_from_slice(pk.as_bytes());
        }
        for ehk in &self.ehk_table {
            body.push(tag(2, WIRE_LEN));
            put_varint(&mut body, ehk.len() as u64);
            body.extend_from_slice(ehk.as_bytes());
        }
        for &(pk_index, ehk_index, data) in &self.records {
            body.push(tag(3, WIRE_LEN));
            put_varint(
                &mut body,
                record_body_len(pk_index, ehk_index, data.len()) as u64,
            );
            body.push(tag(1, WIRE_VARINT));
            put_varint(&mut body, pk_index as u64);
            if let Some(i) = ehk_index {
                body.push(tag(2, WIRE_VARINT));
                put_varint(&mut body, i as u64);
            }
            body.push(tag(3, WIRE_LEN));
            put_varint(&mut body, data.len() as u64);
            body.extend_from_slice(data);
        }
        debug_assert_eq!(
            body.len(),
            self.body,
            "size accounting matches the encoding"
        );
        let mut data = Vec::with_capacity(MAGIC.len() + body.len() + DIGEST_BYTES);
        data.extend_from_slice(&MAGIC);
        data.extend_from_slice(&body);
        data.extend_from_slice(&Md5::digest(&body));
        let first = self.records.first().map(|r| r.1).unwrap_or_default();
        Entry {
            data,
            partition_key: self
                .pk_table
                .first()
                .map(|k| (*k).to_owned())
                .unwrap_or_default(),
            explicit_hash_key: first.map(|i| self.ehk_table[i].to_owned()),
        }
    }
}

/// One Kinesis record to put and the user records (indices into the input) it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    pub entry: Entry,
    pub members: Vec<usize>,
}

/// Aggregates `entries` in order into records of at most `max_bytes` (outer key included).
/// A group of one, or a record too big to share, is sent as itself: every consumer reads a
/// plain record, and it saves the ~20 bytes of framing.
pub fn aggregate(entries: &[Entry], max_bytes: usize) -> Vec<Packed> {
    let mut out = Vec::new();
    let mut current = Aggregate::default();
    let mut members: Vec<usize> = Vec::new();
    let flush = |current: &mut Aggregate<'_>, members: &mut Vec<usize>, out: &mut Vec<Packed>| {
        match members.len() {
            0 => {}
            1 => out.push(Packed {
                entry: entries[members[0]].clone(),
                members: std::mem::take(members),
            }),
            _ => out.push(Packed {
                entry: current.encode(),
                members: std::mem::take(members),
            }),
        }
        *current = Aggregate::default();
    };
    for (i, entry) in entries.iter().enumerate() {
        if !current.is_empty() && current.size_with(entry) > max_bytes {
            flush(&mut current, &mut members, &mut out);
        }
        current.push(entry);
        members.push(i);
    }
    flush(&mut current, &mut members, &mut out);
    out
}

/// One user record read back from a Kinesis record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub partition_key: String,
    pub explicit_hash_key: Option<String>,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the MD5 digest does not match the message")]
    BadDigest,
    #[error("malformed protobuf at byte {offset}: {reason}")]
    Malformed { offset: usize, reason: &'static str },
    #[error("record {record} refers to {table} table entry {index}, which does not exist")]
    BadIndex {
        record: usize,
        table: &'static str,
        index: u64,
    },
}

/// Whether `data` is framed as an aggregated record (magic, room for a digest).
pub fn is_aggregated(data: &[u8]) -> bool {
    data.len() > MAGIC.len() + DIGEST_BYTES && data[..MAGIC.len()] == MAGIC
}

/// The user records in a Kinesis record: those of an aggregated record, or the record itself.
pub fn deaggregate(
    partition_key: &str,
    explicit_hash_key: Option<&str>,
    data: &[u8],
) -> Result<Vec<UserRecord>, DecodeError> {
    if !is_aggregated(data) {
        return Ok(vec![UserRecord {
            partition_key: partition_key.to_owned(),
            explicit_hash_key: explicit_hash_key.map(str::to_owned),
            data: data.to_vec(),
        }]);
    }
    let body = &data[MAGIC.len()..data.len() - DIGEST_BYTES];
    if Md5::digest(body).as_slice() != &data[data.len() - DIGEST_BYTES..] {
        return Err(DecodeError::BadDigest);
    }
    let mut pks: Vec<String> = Vec::new();
    let mut ehks: Vec<String> = Vec::new();
    let mut raw_records: Vec<(u64, Option<u64>, &[u8])> = Vec::new();
    let mut r = Reader { buf: body, pos: 0 };
    while !r.done() {
        let (field, wire) = r.key()?;
        match (field, wire) {
            (1, WIRE_LEN) => pks.push(r.string()?),
            (2, WIRE_LEN) => ehks.push(r.string()?),
            (3, WIRE_LEN) => {
                let bytes = r.bytes()?;
                raw_records.push(read_record(bytes, r.pos - bytes.len())?);
            }
            _ => r.skip(wire)?,
        }
    }
    raw_records
        .into_iter()
        .enumerate()
        .map(|(n, (pk, ehk, data))| {
            let partition_key = pks.get(pk as usize).cloned().ok_or(DecodeError::BadIndex {
                record: n,
                table: "partition key",
                index: pk,
            })?;
            let explicit_hash_key = match ehk {
                None => None,
                Some(i) => Some(ehks.get(i as usize).cloned().ok_or(DecodeError::BadIndex {
                    record: n,
                    table: "explicit hash key",
                    index: i,
                })?),
            };
            Ok(UserRecord {
                partition_key,
                explicit_hash_key,
                data: data.to_vec(),
            })
        })
        .collect()
}

fn read_record(buf: &[u8], base: usize) -> Result<(u64, Option<u64>, &[u8]), DecodeError> {
    let mut r = Reader { buf, pos: 0 };
    let (mut pk, mut ehk, mut data) = (None, None, None);
    while !r.done() {
        let (field, wire) = r.key().map_err(|e| e.shifted(base))?;
        match (field, wire) {
            (1, WIRE_VARINT) => pk = Some(r.varint().map_err(|e| e.shifted(base))?),
            (2, WIRE_VARINT) => ehk = Some(r.varint().map_err(|e| e.shifted(base))?),
            (3, WIRE_LEN) => data = Some(r.bytes().map_err(|e| e.shifted(base))?),
            _ => r.skip(wire).map_err(|e| e.shifted(base))?,
        }
    }
    let missing = |reason| DecodeError::Malformed {
        offset: base,
        reason,
    };
    Ok((
        pk.ok_or(missing("a record without partition_key_index"))?,
        ehk,
        data.ok_or(missing("a record without data"))?,
    ))
}

impl DecodeError {
    fn shifted(self, base: usize) -> Self {
        match self {
            DecodeError::Malformed { offset, reason } => DecodeError::Malformed {
                offset: offset + base,
                reason,
            },
            other => other,
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn err(&self, reason: &'static str) -> DecodeError {
        DecodeError::Malformed {
            offset: self.pos,
            reason,
        }
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| self.err("truncated varint"))?;
            self.pos += 1;
            v |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.err("varint longer than 10 bytes"))
    }

    fn key(&mut self) -> Result<(u64, u8), DecodeError> {
        let k = self.varint()?;
        Ok((k >> 3, (k & 7) as u8))
    }

    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.varint()? as usize;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| self.err("length past the end"))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let start = self.pos;
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| DecodeError::Malformed {
            offset: start,
            reason: "a key that is not UTF-8",
        })
    }

    fn skip(&mut self, wire: u8) -> Result<(), DecodeError> {
        match wire {
            0 => self.varint().map(|_| ()),
            1 => self.advance(8),
            2 => self.bytes().map(|_| ()),
            5 => self.advance(4),
            _ => Err(self.err("unsupported wire type")),
        }
    }

    fn advance(&mut self, n: usize) -> Result<(), DecodeError> {
        if self.pos + n > self.buf.len() {
            return Err(self.err("fixed-width field past the end"));
        }
        self.pos += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(pk: &str, ehk: Option<&str>, data: &[u8]) -> Entry {
        Entry {
            data: data.to_vec(),
            partition_key: pk.into(),
            explicit_hash_key: ehk.map(str::to_owned),
        }
    }

    #[test]
    fn round_trips_keys_hash_keys_and_data_in_order() {
        // GIVEN user records sharing and not sharing keys, some with hash keys
        let entries = vec![
            entry("alice", None, b"{\"n\":1}"),
            entry("bob", Some("12345"), b"{\"n\":2}"),
            entry("alice", Some("12345"), b""),
            entry("carol", Some("7"), &[0u8; 300]),
        ];
        let mut agg = Aggregate::default();
        for e in &entries {
            let predicted = agg.size_with(e);
            agg.push(e);
            assert_eq!(agg.size(), predicted);
        }
        // WHEN encoded and decoded
        let out = agg.encode();
        assert_eq!(out.size(), agg.size(), "size accounting is exact");
        assert_eq!(&out.data[..4], &MAGIC);
        assert_eq!(out.partition_key, "alice");
        assert_eq!(out.explicit_hash_key, None);
        let back = deaggregate(&out.partition_key, None, &out.data).unwrap();
        // THEN every user record comes back as it went in
        let expect: Vec<UserRecord> = entries
            .iter()
            .map(|e| UserRecord {
                partition_key: e.partition_key.clone(),
                explicit_hash_key: e.explicit_hash_key.clone(),
                data: e.data.clone(),
            })
            .collect();
        assert_eq!(back, expect);
    }

    #[test]
    fn the_encoding_matches_a_hand_assembled_message() {
        // GIVEN one record "k" -> "hi" plus a second sharing the key
        let a = entry("k", None, b"hi");
        let b = entry("k", None, b"!");
        let mut agg = Aggregate::default();
        agg.push(&a);
        agg.push(&b);
        let data = agg.encode().data;
        // THEN the protobuf is exactly: table "k", record {0, "hi"}, record {0, "!"}
        let body = [
            0x0A, 1, b'k', 0x1A, 6, 0x08, 0, 0x1A, 2, b'h', b'i', 0x1A, 5, 0x08, 0, 0x1A, 1, b'!',
        ];
        assert_eq!(&data[4..data.len() - 16], &body);
        assert_eq!(&data[data.len() - 16..], Md5::digest(body).as_slice());
    }

    #[test]
    fn plain_records_pass_through_and_corruption_is_caught() {
        let plain = deaggregate("pk", Some("5"), b"{\"a\":1}").unwrap();
        assert_eq!(
            plain,
            [UserRecord {
                partition_key: "pk".into(),
                explicit_hash_key: Some("5".into()),
                data: b"{\"a\":1}".to_vec()
            }]
        );
        let mut agg = Aggregate::default();
        let (a, b) = (entry("x", None, b"1"), entry("y", None, b"2"));
        agg.push(&a);
        agg.push(&b);
        let mut data = agg.encode().data;
        data[8] ^= 0xFF;
        assert_eq!(deaggregate("x", None, &data), Err(DecodeError::BadDigest));
        // A record pointing past the key table is refused even with a valid digest.
        let body = [0x0A, 1, b'k', 0x1A, 5, 0x08, 3, 0x1A, 1, b'!'];
        let mut bad = MAGIC.to_vec();
        bad.extend_from_slice(&body);
        bad.extend_from_slice(&Md5::digest(body));
        assert!(matches!(
            deaggregate("k", None, &bad),
            Err(DecodeError::BadIndex { index: 3, .. })
        ));
        // A truncated length is a clear error, not a panic.
        let body = [0x0A, 9, b'k'];
        let mut bad = MAGIC.to_vec();
        bad.extend_from_slice(&body);
        bad.extend_from_slice(&Md5::digest(body));
        assert!(matches!(
            deaggregate("k", None, &bad),
            Err(DecodeError::Malformed { .. })
        ));
    }

    #[test]
    fn aggregates_fill_up_to_the_cap_and_singletons_stay_plain() {
        // GIVEN 100 records of ~100 bytes and a 1,000-byte cap
        let entries: Vec<Entry> = (0..100)
            .map(|i| entry(&format!("key-{i}"), None, &[b'x'; 100]))
            .collect();
        let packed = aggregate(&entries, 1_000);
        // THEN each aggregate is within the cap, members are in order, all are carried once
        let mut seen: Vec<usize> = Vec::new();
        for p in &packed {
            assert!(p.entry.size() <= 1_000, "{}", p.entry.size());
            seen.extend(&p.members);
        }
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
        assert!(packed.len() <= 13, "{} aggregates", packed.len());
        // AND a record too big to share goes alone and unframed
        let big = vec![
            entry("a", None, &[1; 10]),
            entry("b", None, &[2; 2_000]),
            entry("c", None, &[3; 10]),
        ];
        let packed = aggregate(&big, 1_000);
        assert_eq!(packed.len(), 3);
        assert_eq!(packed[1].entry, big[1]);
        assert!(!is_aggregated(&packed[1].entry.data));
    }

    #[test]
    fn varints_cross_byte_boundaries() {
        for v in [0u64, 1, 127, 128, 300, 16_383, 16_384, u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v));
            assert_eq!(Reader { buf: &out, pos: 0 }.varint().unwrap(), v);
        }
    }
}
