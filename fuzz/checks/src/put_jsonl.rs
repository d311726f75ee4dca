//! The JSON Lines reader (`ks_backfill::jsonl`), against a line-splitting oracle: the same
//! records (trimmed lines that are JSON objects, BOM dropped on line 1), the same bad lines,
//! on the same line numbers, whatever the read buffer's size; every record it yields is one
//! the transform reads as an object.

use ks_backfill::format::Item;
use ks_backfill::jsonl::JsonLines;

use crate::put_array::{assert_transform_reads, read_input};

pub fn check(data: &[u8]) {
    let (text, max, items) = read_input!(data, |r, max| JsonLines::new(r, max));
    assert_eq!(
        summarise(&items),
        oracle(text, max),
        "{:?}",
        String::from_utf8_lossy(text)
    );
    for item in &items {
        if let Item::Record { data, .. } = item {
            assert_transform_reads(data);
        }
    }
}

/// An item as the oracle predicts it: a record's line and bytes, or a bad line's number.
#[derive(Debug, PartialEq)]
enum Seen {
    Record(u64, Vec<u8>),
    Bad(u64),
}

fn summarise(items: &[Item]) -> Vec<Seen> {
    items
        .iter()
        .map(|i| match i {
            Item::Record { line, data } => Seen::Record(*line, data.clone()),
            Item::Bad { line, .. } => Seen::Bad(*line),
        })
        .collect()
}

fn oracle(text: &[u8], max: usize) -> Vec<Seen> {
    let mut lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    if text.is_empty() || text.ends_with(b"\n") {
        lines.pop();
    }
    let mut out = Vec::new();
    for (i, line) in lines.into_iter().enumerate() {
        let n = i as u64 + 1;
        // A line is read with a cap of the record limit plus CRLF.
        if line.len() >= max + 2 {
            out.push(Seen::Bad(n));
            continue;
        }
        let line = if n == 1 {
            line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
        } else {
            line
        };
        let t = line.trim_ascii();
        if t.is_empty() {
            continue;
        }
        let object = std::str::from_utf8(t).is_ok_and(crate::util::serde_accepts) && t[0] == b'{';
        out.push(if object {
            Seen::Record(n, t.to_vec())
        } else {
            Seen::Bad(n)
        });
    }
    out
}
