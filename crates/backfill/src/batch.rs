//! From a stream of entries to PutRecords requests, a request's worth at a time, with the
//! producer's own packing ([`pack`]) and KPL aggregation ([`aggregate`]); and the bookkeeping of
//! which input records are settled, so a stop can say exactly where to resume.

use std::collections::BTreeSet;

use ks_producer::Entry;
use ks_producer::batch::{PackItem, PackLimits, pack};
use ks_producer::kpl::aggregate;

/// One PutRecords request: Kinesis records and, for each, the input records it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub entries: Vec<Entry>,
    /// Per entry, the indices of the input records in it (one, or several when aggregated).
    pub members: Vec<Vec<u64>>,
    /// Per entry, the bytes of user data in it (the input records' JSON).
    pub data_bytes: Vec<u64>,
}

impl Request {
    pub fn bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.size() as u64).sum()
    }
}

/// Gathers entries until they fill a request, then packs them.
///
/// Without aggregation a request closes at the count cap or before the entry that would pass
/// the byte cap, so each close makes exactly one full request (unless records share partition
/// keys: [`pack`] keeps a key once per request, so same-key records spread over requests).
/// With aggregation the aggregated size is only known after encoding, so entries are gathered
/// past one request's bytes and packed, and the last, partly filled request's records are
/// carried into the next gathering rather than sent half empty.
pub struct Gatherer {
    limits: PackLimits,
    /// KPL aggregation cap on one aggregated record's bytes; `None` sends records as they are.
    aggregation: Option<usize>,
    entries: Vec<Entry>,
    indices: Vec<u64>,
    bytes: usize,
}

/// With aggregation, entries gathered before packing: enough for a full request of small
/// records, while bounding the per-entry overhead held at once.
const AGGREGATED_GATHER_FACTOR: usize = 64;

impl Gatherer {
    pub fn new(limits: PackLimits, aggregation: Option<usize>) -> Self {
        Gatherer {
            limits,
            aggregation,
            entries: Vec::new(),
            indices: Vec::new(),
            bytes: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds input record `index` as `entry`; returns the requests that are ready.
    pub fn push(&mut self, index: u64, entry: Entry) -> Vec<Request> {
        let size = entry.size();
        let full = match self.aggregation {
            None => {
                self.entries.len() >= self.limits.max_records
                    || (!self.entries.is_empty()
                        && self.bytes + size > self.limits.max_request_bytes)
            }
            // Aggregation framing adds a little to each record: gather a bit beyond one
            // request's bytes so the first packed request is full.
            Some(_) => {
                self.entries.len() >= self.limits.max_records * AGGREGATED_GATHER_FACTOR
                    || self.bytes
                        >= self.limits.max_request_bytes + self.limits.max_request_bytes / 8
            }
        };
        let ready = if full { self.take(false) } else { Vec::new() };
        self.bytes += size;
        self.entries.push(entry);
        self.indices.push(index);
        ready
    }

    /// Everything gathered, as requests (at the end of the input).
    pub fn finish(&mut self) -> Vec<Request> {
        self.take(true)
    }

    fn take(&mut self, last: bool) -> Vec<Request> {
        let entries = std::mem::take(&mut self.entries);
        let indices = std::mem::take(&mut self.indices);
        self.bytes = 0;
        if entries.is_empty() {
            return Vec::new();
        }
        let data_len: Vec<u64> = entries.iter().map(|e| e.data.len() as u64).collect();
        // Units: what becomes one Kinesis record, with the positions (in `entries`) it carries.
        let (units, members): (Vec<Option<Entry>>, Vec<Vec<usize>>) = match self.aggregation {
            Some(cap) => aggregate(&entries, cap)
                .into_iter()
                .map(|p| (Some(p.entry), p.members))
                .unzip(),
            None => (Vec::new(), (0..entries.len()).map(|i| vec![i]).collect()),
        };
        let mut requests = {
            let items: Vec<PackItem> = members
                .iter()
                .enumerate()
                .map(|(u, m)| PackItem {
                    size: units
                        .get(u)
                        .and_then(Option::as_ref)
                        .unwrap_or(&entries[u])
                        .size(),
                    keys: m
                        .iter()
                        .map(|&i| entries[i].partition_key.as_str())
                        .collect(),
                })
                .collect();
            pack(&items, &self.limits)
        };
        // A partly filled last request waits for more records, unless the input has ended.
        let carried = if !last && requests.len() > 1 {
            requests.pop()
        } else {
            None
        };
        // Entries move into requests, never copied: memory holds each byte once.
        let (mut units, mut raw): (Vec<Option<Entry>>, Vec<Option<Entry>>) = if units.is_empty() {
            (entries.into_iter().map(Some).collect(), Vec::new())
        } else {
            (units, entries.into_iter().map(Some).collect())
        };
        let out = requests
            .iter()
            .map(|request| {
                let mut r = Request {
                    entries: Vec::with_capacity(request.len()),
                    members: Vec::with_capacity(request.len()),
                    data_bytes: Vec::with_capacity(request.len()),
                };
                for &u in request {
                    r.entries
                        .push(units[u].take().expect("each unit is sent once"));
                    r.data_bytes
                        .push(members[u].iter().map(|&m| data_len[m]).sum());
                    r.members
                        .push(members[u].iter().map(|&m| indices[m]).collect());
                }
                r
            })
            .collect();
        if let Some(carried) = carried {
            // Back in input order, so same-key records keep their order.
            let mut positions: Vec<usize> =
                carried.iter().flat_map(|&u| members[u].clone()).collect();
            positions.sort_unstable();
            let source = if raw.is_empty() { &mut units } else { &mut raw };
            for m in positions {
                let entry = source[m].take().expect("each record is carried once");
                self.bytes += entry.size();
                self.entries.push(entry);
                self.indices.push(indices[m]);
            }
        }
        out
    }
}

/// Which input records are settled (accepted by the stream, or written to the rejects file),
/// and the length of the settled prefix: what `--skip` must pass over to resume.
#[derive(Debug, Clone, Default)]
pub struct Settled {
    /// Every record before this index is settled.
    prefix: u64,
    /// Settled records after the prefix (there are gaps before them).
    beyond: BTreeSet<u64>,
}

impl Settled {
    /// Starts after `skip` records, which an earlier run settled.
    pub fn starting_at(skip: u64) -> Self {
        Settled {
            prefix: skip,
            beyond: BTreeSet::new(),
        }
    }

    pub fn settle(&mut self, index: u64) {
        if index < self.prefix {
            return;
        }
        self.beyond.insert(index);
        while self.beyond.remove(&self.prefix) {
            self.prefix += 1;
        }
    }

    /// Records from the start of the input that are all settled: resume with `--skip` this.
    pub fn prefix(&self) -> u64 {
        self.prefix
    }

    /// Settled records past the prefix: a resume sends them again.
    pub fn beyond(&self) -> u64 {
        self.beyond.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ks_producer::kpl::deaggregate;
    use ks_producer::limits::KPL_DEFAULT_AGGREGATION_MAX_BYTES;

    fn entry(key: &str, bytes: usize) -> Entry {
        Entry {
            data: vec![b'x'; bytes],
            partition_key: key.to_owned(),
            explicit_hash_key: None,
        }
    }

    fn all_members(requests: &[Request]) -> Vec<u64> {
        requests
            .iter()
            .flat_map(|r| r.members.iter().flatten().copied())
            .collect()
    }

    #[test]
    fn plain_records_close_a_request_at_500_or_at_the_byte_cap() {
        // GIVEN 1,201 records with distinct keys
        let mut g = Gatherer::new(PackLimits::default(), None);
        let mut requests = Vec::new();
        for i in 0..1_201u64 {
            requests.extend(g.push(i, entry(&format!("k{i}"), 100)));
        }
        requests.extend(g.finish());
        // THEN 500 + 500 + 201, the floor, in input order
        let sizes: Vec<usize> = requests.iter().map(|r| r.entries.len()).collect();
        assert_eq!(sizes, [500, 500, 201]);
        assert_eq!(all_members(&requests), (0..1_201).collect::<Vec<_>>());
        // AND by bytes: 10 records of 1 KiB under a 4 KiB cap make 4 + 4 + 2... of 3 (key included)
        let limits = PackLimits {
            max_request_bytes: 4 * 1024,
            ..PackLimits::default()
        };
        let mut g = Gatherer::new(limits, None);
        let mut requests = Vec::new();
        for i in 0..10u64 {
            requests.extend(g.push(i, entry(&format!("k{i}"), 1_000)));
        }
        requests.extend(g.finish());
        assert!(requests.iter().all(|r| r.bytes() <= 4 * 1024));
        let sizes: Vec<usize> = requests.iter().map(|r| r.entries.len()).collect();
        assert_eq!(sizes, [4, 4, 2]);
    }

    #[test]
    fn aggregated_requests_are_full_and_carry_every_record_once() {
        // GIVEN 40,000 records of 200 bytes (8 MB): more than one 5 MiB request
        let mut g = Gatherer::new(
            PackLimits::default(),
            Some(KPL_DEFAULT_AGGREGATION_MAX_BYTES),
        );
        let mut requests = Vec::new();
        for i in 0..40_000u64 {
            requests.extend(g.push(i, entry(&format!("k{i}"), 200)));
        }
        let before_finish = requests.len();
        requests.extend(g.finish());
        // THEN every request is within the caps, all but the last nearly full
        for r in &requests {
            assert!(r.entries.len() <= 500);
            assert!(r.bytes() <= 5 * 1024 * 1024);
        }
        for r in &requests[..before_finish] {
            assert!(r.bytes() > 4 * 1024 * 1024, "{}", r.bytes());
        }
        // AND de-aggregated, each input record appears once
        let mut seen = all_members(&requests);
        seen.sort_unstable();
        assert_eq!(seen, (0..40_000).collect::<Vec<_>>());
        let users: usize = requests
            .iter()
            .flat_map(|r| &r.entries)
            .map(|e| deaggregate(&e.partition_key, None, &e.data).unwrap().len())
            .sum();
        assert_eq!(users, 40_000);
        assert_eq!(requests.len(), 2, "8 MB in two requests, the floor");
    }

    #[test]
    fn records_of_one_key_keep_their_order_across_requests() {
        // GIVEN records alternating two keys with aggregation off
        let mut g = Gatherer::new(PackLimits::default(), None);
        let mut requests = Vec::new();
        for i in 0..6u64 {
            requests.extend(g.push(i, entry(if i % 2 == 0 { "a" } else { "b" }, 10)));
        }
        requests.extend(g.finish());
        // THEN each request holds a key at most once, and each key's records go in order
        let mut order: Vec<(String, u64)> = Vec::new();
        for r in &requests {
            let keys: BTreeSet<&str> = r.entries.iter().map(|e| e.partition_key.as_str()).collect();
            assert_eq!(keys.len(), r.entries.len());
            for (e, m) in r.entries.iter().zip(&r.members) {
                order.push((e.partition_key.clone(), m[0]));
            }
        }
        let a: Vec<u64> = order
            .iter()
            .filter(|(k, _)| k == "a")
            .map(|x| x.1)
            .collect();
        assert_eq!(a, [0, 2, 4]);
    }

    #[test]
    fn the_settled_prefix_stops_at_the_first_gap() {
        // GIVEN a run resumed after 10 records
        let mut s = Settled::starting_at(10);
        assert_eq!(s.prefix(), 10);
        // WHEN records 10, 12, 13 settle THEN the prefix is 11 and two lie beyond it
        for i in [10, 12, 13] {
            s.settle(i);
        }
        assert_eq!((s.prefix(), s.beyond()), (11, 2));
        // AND when the gap fills, the prefix runs to the end
        s.settle(11);
        assert_eq!((s.prefix(), s.beyond()), (14, 0));
        s.settle(3);
        assert_eq!(s.prefix(), 14, "already skipped");
    }
}
