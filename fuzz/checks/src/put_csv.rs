//! The CSV reader (`ks_backfill::csv`): each row after the header is one item, a record only
//! when the row is as wide as the header, and then a JSON object (the transform reads it) of
//! the header's names in order, within the record limit, each value what the README's typing
//! rules make of its field (schema type, or inferred value by value). The same items whatever
//! the read buffer's size.
//!
//! The input: a record-limit byte, a buffer-size byte, two bytes of schema (a type or none for
//! each of the columns `a`, `b`, `c`, `d`, `e`), then the CSV.

use std::collections::HashMap;

use ks_backfill::csv::{ColumnType, CsvReader, Schema, is_json_number};
use ks_backfill::format::Item;

use crate::put_array::{assert_transform_reads, limit_and_buffer, read_both_ways};
use crate::util::{Input, json_string, serde_accepts, serde_member_list};

const TYPES: [Option<ColumnType>; 8] = [
    None,
    None,
    None,
    Some(ColumnType::String),
    Some(ColumnType::Integer),
    Some(ColumnType::Number),
    Some(ColumnType::Boolean),
    Some(ColumnType::Json),
];

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let (max, capacity) = limit_and_buffer(&mut input);
    let bits = u16::from_le_bytes([input.byte(), input.byte()]);
    let schema: HashMap<String, ColumnType> = ["a", "b", "c", "d", "e"]
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            TYPES[usize::from((bits >> (3 * i)) & 7)].map(|t| ((*name).to_owned(), t))
        })
        .collect();
    let schema = Schema(schema);
    let text = input.rest();
    let items = read_both_ways(
        text,
        capacity,
        |r| CsvReader::new(r, Some(schema.clone()), max),
        |r| CsvReader::new(r, Some(schema.clone()), max),
    );

    // The rows as the csv crate splits them (the reader's own parser: the oracle is about what
    // becomes of each row, not about CSV quoting).
    let mut rows = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text)
        .into_byte_records();
    let Some(Ok(header)) = rows.next() else {
        assert!(items.len() <= 1, "items without a header: {items:?}");
        return;
    };
    let names: Option<Vec<String>> = header
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let f = if i == 0 {
                f.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(f)
            } else {
                f
            };
            std::str::from_utf8(f)
                .ok()
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty())
        })
        .collect();
    // A header past the record limit is reported once and the input skipped: the reader
    // measures the row as read (fields joined by commas), a leading BOM counted or not.
    let joined = header.as_slice().len() + header.len().saturating_sub(1);
    let bom = usize::from(
        header
            .get(0)
            .is_some_and(|f| f.starts_with(b"\xEF\xBB\xBF")),
    ) * 3;
    if joined.saturating_sub(bom) > max
        || (joined > max && matches!(&items[..], [Item::Bad { line: 1, .. }]))
    {
        assert!(
            matches!(&items[..], [Item::Bad { line: 1, .. }]),
            "a header over the {max}-byte limit is one bad item: {items:?}"
        );
        return;
    }
    let names = match names {
        Some(n) if (1..n.len()).all(|i| !n[..i].contains(&n[i])) => n,
        _ => {
            assert!(
                matches!(&items[..], [Item::Bad { line: 1, .. }]),
                "a bad header is one bad item: {items:?}"
            );
            return;
        }
    };
    let rows: Vec<csv::ByteRecord> = rows.map(|r| r.expect("no I/O error")).collect();
    assert_eq!(items.len(), rows.len(), "one item per row");
    for (row, item) in rows.iter().zip(&items) {
        let Item::Record { data, .. } = item else {
            continue;
        };
        assert_eq!(
            row.len(),
            names.len(),
            "a record from a row of the wrong width"
        );
        assert!(data.len() <= max, "a record over the limit");
        assert_transform_reads(data);
        let text = std::str::from_utf8(data).expect("UTF-8");
        let members = serde_member_list(text).expect("a record is a JSON object");
        let keys: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, names, "keys are not the header's names in order");
        for ((name, value), field) in members.iter().zip(row.iter()) {
            let field = std::str::from_utf8(field).expect("a record's fields are UTF-8");
            check_value(schema.0.get(name).copied(), field, value);
        }
    }
}

/// A field's JSON as the typing rules say: `value` is what the reader wrote for `field`.
fn check_value(ty: Option<ColumnType>, field: &str, value: &str) {
    let t = field.trim();
    let as_string = || assert_eq!(value, json_string(field), "{field:?} as a string");
    match ty {
        Some(ColumnType::String) => as_string(),
        _ if t.is_empty() => assert_eq!(value, "null", "{field:?}"),
        None if t == "true" || t == "false" || is_json_number(t) => assert_eq!(value, t),
        None => as_string(),
        Some(ColumnType::Boolean) => assert_eq!(value, t.to_ascii_lowercase(), "{field:?}"),
        Some(ColumnType::Integer) => {
            assert!(
                is_json_number(value) && !value.contains(['.', 'e', 'E']),
                "{value}"
            );
            let digits = |s: &str| {
                let s = s.trim_start_matches('+');
                let (neg, d) = s.strip_prefix('-').map_or((false, s), |d| (true, d));
                let d = d.trim_start_matches('0');
                (neg && !d.is_empty(), d.to_owned())
            };
            assert_eq!(digits(value), digits(t), "{field:?} → {value}");
        }
        Some(ColumnType::Number) => {
            assert!(is_json_number(value), "{value}");
            assert_eq!(value, t.strip_prefix('+').unwrap_or(t), "{field:?}");
        }
        Some(ColumnType::Json) => {
            assert!(serde_accepts(value), "{value}");
            assert_eq!(value, t, "{field:?}");
        }
    }
}
