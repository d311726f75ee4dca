//! The purge on any object (`ks_purge::objects`): the bytes are read as an NDJSON object (and,
//! gzipped, as a `.gz` one) and filtered by a deletion, an account purge and an edit named from
//! the input itself. Against an oracle: the result is exactly the input's lines, in order, byte
//! for byte, less those whose JSON object (serde_json's reading) a rule takes; nothing is taken
//! from an object no rule concerns; deletion records read from the same bytes never panic.

use std::io::Write as _;

use ks_purge::objects::{self, Body};
use ks_purge::rules::{Change, Rules};
use serde_json::Value;

/// The oracle's reading of one line: `(id, did, time_us)` when it is a JSON object.
fn keys(line: &[u8]) -> Option<(Option<String>, Option<String>, Option<u64>)> {
    let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(line) else {
        return None;
    };
    let s = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_owned);
    Some((s("id"), s("did"), o.get("time_us").and_then(Value::as_u64)))
}

pub fn check(data: &[u8]) {
    // Rules named by the input: the first line's id is deleted, its did purged only when the
    // input's length is even, and an edit at time 1,000 of the second line's id.
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    let lines: Vec<&[u8]> = body.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    let first = lines.first().and_then(|l| keys(l));
    let second = lines.get(1).and_then(|l| keys(l));
    let mut rules = Rules::default();
    let deleted = first.as_ref().and_then(|k| k.0.clone());
    let purged = first
        .as_ref()
        .and_then(|k| k.1.clone())
        .filter(|_| data.len().is_multiple_of(2));
    let edited = second.as_ref().and_then(|k| k.0.clone());
    if let Some(id) = &deleted {
        rules.add(&Change::Delete { id: id.clone(), created_ms: None, at_ms: 0 });
    }
    if let Some(did) = &purged {
        rules.add(&Change::Purge { did: did.clone(), at_ms: 0 });
    }
    if let Some(id) = &edited {
        rules.add(&Change::Edit { id: id.clone(), created_ms: None, version_us: 1_000, at_ms: 0 });
    }
    let taken = |line: &[u8]| match keys(line) {
        None => false,
        Some((id, did, t)) => {
            (id.is_some() && id == deleted)
                || (did.is_some() && did == purged)
                || (id.is_some() && id == edited && t.is_some_and(|t| t < 1_000))
        }
    };
    let kept: Vec<&[u8]> = lines.iter().copied().filter(|l| !taken(l)).collect();
    let mut expected: Vec<u8> = Vec::new();
    for l in &kept {
        expected.extend_from_slice(l);
        expected.push(b'\n');
    }
    // WHEN filtered as a plain object
    let out = objects::filter("k", Body::Lines(data.to_vec()), &rules).expect("NDJSON never fails");
    match out.bytes {
        None => assert_eq!(kept.len(), lines.len(), "something was to go: {data:?}"),
        Some(b) => assert_eq!(b, expected, "{data:?}"),
    }
    assert_eq!(out.kept as usize, kept.len());
    // AND as a gzipped one, the same lines come back compressed
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).expect("into memory");
    let gz = gz.finish().expect("into memory");
    let opened = objects::open("k.gz", gz).expect("our own GZIP");
    let out = objects::filter("k.gz", opened, &rules).expect("NDJSON never fails");
    if let Some(b) = out.bytes.filter(|b| !b.is_empty()) {
        let Body::Lines(back) = objects::open("k.gz", b).expect("written as GZIP") else {
            panic!("lines")
        };
        assert_eq!(back, expected);
    }
    // AND any bytes as a deletions object or a GZIP object are read without a panic
    let _ = objects::changes_in(&Body::Lines(data.to_vec()), &["deleted".to_owned()]);
    let _ = objects::edits_in(&Body::Lines(data.to_vec()));
    let _ = objects::open("x.gz", data.to_vec());
    let _ = objects::written_at_ms(&String::from_utf8_lossy(data));
}
