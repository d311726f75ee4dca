//! KPL de-aggregation (`ks_producer::kpl`) on outside bytes, and aggregation round trips:
//! - any bytes: never a panic; what is not framed as an aggregate comes back as itself;
//! - a framed message (the input's protobuf, with the magic and its real MD5, so the decoder
//!   gets past the digest): what it decodes re-encodes to a record that decodes the same, and
//!   whose size the encoder predicted;
//! - entries built from the input: `aggregate` keeps them in order, each once, within the size
//!   cap, and every packed record de-aggregates to exactly its members.
//!
//! The first byte chooses: `% 3 == 0` raw bytes, `1` a framed message, `2` entries.

use ks_producer::Entry;
use ks_producer::kpl::{
    Aggregate, DIGEST_BYTES, MAGIC, UserRecord, aggregate, deaggregate, is_aggregated,
};
use md5::{Digest as _, Md5};

use crate::util::Input;

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    match input.byte() % 3 {
        0 => raw(input.rest()),
        1 => {
            let body = input.rest();
            let mut framed = MAGIC.to_vec();
            framed.extend_from_slice(body);
            framed.extend_from_slice(&Md5::digest(body));
            raw(&framed);
        }
        _ => round_trip(input),
    }
}

fn raw(data: &[u8]) {
    let decoded = deaggregate("outer", Some("7"), data);
    if !is_aggregated(data) {
        let itself = UserRecord {
            partition_key: "outer".to_owned(),
            explicit_hash_key: Some("7".to_owned()),
            data: data.to_vec(),
        };
        assert_eq!(decoded, Ok(vec![itself]), "a plain record is not itself");
        return;
    }
    assert!(data.len() > MAGIC.len() + DIGEST_BYTES);
    let Ok(records) = decoded else {
        return;
    };
    if records.is_empty() {
        return;
    }
    let entries: Vec<Entry> = records
        .iter()
        .map(|r| Entry {
            data: r.data.clone(),
            partition_key: r.partition_key.clone(),
            explicit_hash_key: r.explicit_hash_key.clone(),
        })
        .collect();
    let mut agg = Aggregate::default();
    for e in &entries {
        let predicted = agg.size_with(e);
        agg.push(e);
        assert_eq!(agg.size(), predicted, "size_with predicted another size");
    }
    let out = agg.encode();
    assert_eq!(
        out.size(),
        agg.size(),
        "the encoded size is not the one accounted"
    );
    let back = deaggregate(
        &out.partition_key,
        out.explicit_hash_key.as_deref(),
        &out.data,
    )
    .expect("a record we encoded decodes");
    assert_eq!(back, records, "re-encoding changed the user records");
}

/// Up to 40 entries: each a key (from a small alphabet, so keys repeat), maybe a hash key, and
/// data; then `aggregate` under a cap the input chooses.
fn round_trip(mut input: Input<'_>) {
    let cap = 40 + usize::from(input.byte()) * 8;
    let mut entries = Vec::new();
    while !input.is_empty() && entries.len() < 40 {
        let k = input.byte();
        let partition_key = ["a", "bb", "", "é", "key-with-length"][usize::from(k % 5)].to_owned();
        let explicit_hash_key = match (k >> 3) % 3 {
            0 => None,
            1 => Some("340282366920938463463374607431768211455".to_owned()),
            _ => Some(format!("{}", k)),
        };
        let len = usize::from(input.byte());
        let data = input.take(len).to_vec();
        entries.push(Entry {
            data,
            partition_key,
            explicit_hash_key,
        });
    }
    let packed = aggregate(&entries, cap);
    let order: Vec<usize> = packed.iter().flat_map(|p| p.members.clone()).collect();
    assert_eq!(
        order,
        (0..entries.len()).collect::<Vec<_>>(),
        "members out of order or lost"
    );
    for p in &packed {
        assert!(!p.members.is_empty(), "an empty packed record");
        if p.members.len() == 1 {
            assert_eq!(
                p.entry, entries[p.members[0]],
                "a singleton is not sent as itself"
            );
            continue;
        }
        assert!(
            p.entry.size() <= cap,
            "an aggregate of {} bytes over the {cap} cap",
            p.entry.size()
        );
        let first = &entries[p.members[0]];
        assert_eq!(p.entry.partition_key, first.partition_key);
        assert_eq!(p.entry.explicit_hash_key, first.explicit_hash_key);
        let back = deaggregate(&p.entry.partition_key, None, &p.entry.data).expect("decodes");
        let expected: Vec<UserRecord> = p
            .members
            .iter()
            .map(|&i| UserRecord {
                partition_key: entries[i].partition_key.clone(),
                explicit_hash_key: entries[i].explicit_hash_key.clone(),
                data: entries[i].data.clone(),
            })
            .collect();
        assert_eq!(
            back, expected,
            "an aggregate does not decode to its members"
        );
    }
}
