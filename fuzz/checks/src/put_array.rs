//! The JSON array reader (`ks_backfill::array`), differential against serde_json: an input
//! serde_json reads as an array of objects (after an optional BOM; empty or blank input is no
//! records) is read as exactly those objects, white space outside strings dropped and every
//! other byte kept, with nothing reported bad; an input it does not read that way has at least
//! one bad item. Whatever the read buffer's size the items are the same, a structural error is
//! the last item, lines never go backwards, and every record is one the transform reads.

use std::io::{self, BufReader};

use ks_backfill::array::JsonArray;
use ks_backfill::format::{Item, ReadItems};
use ks_transform::json::{JsonError, Object};
use serde_json::value::RawValue;

use crate::util::{Input, all_json_ws, minify};

/// Record limits the readers are tried with: tiny (most records too big), small, the CLI's.
pub const LIMITS: [usize; 4] = [8, 40, 1_000, 1_048_576];

/// The fuzz input's text (after the limit's and the buffer's bytes), its record limit and the
/// items `open` reads from it, whole and through the small buffer alike ([`read_both_ways`]).
/// A macro: `open` is called with two reader types.
macro_rules! read_input {
    ($data:expr, |$r:ident, $max:ident| $open:expr) => {{
        let mut input = $crate::util::Input::new($data);
        let ($max, capacity) = $crate::put_array::limit_and_buffer(&mut input);
        let text = input.rest();
        let items = $crate::put_array::read_both_ways(text, capacity, |$r| $open, |$r| $open);
        (text, $max, items)
    }};
}
pub(crate) use read_input;

pub fn check(data: &[u8]) {
    let (text, max, items) = read_input!(data, |r, max| JsonArray::new(r, max));
    let mut last_line = 0;
    for (i, item) in items.iter().enumerate() {
        let line = match item {
            Item::Record { line, data } => {
                assert_transform_reads(data);
                *line
            }
            Item::Bad { line, reason, .. } => {
                if reason.ends_with("the rest of this input is not read") {
                    assert_eq!(i, items.len() - 1, "items after a broken structure");
                }
                *line
            }
        };
        assert!(line >= last_line, "line {line} after line {last_line}");
        last_line = line;
    }
    let all_good = items.iter().all(|i| matches!(i, Item::Record { .. }));
    match oracle(text, max) {
        Some(expected) => {
            let got: Vec<&[u8]> = items
                .iter()
                .filter_map(|i| match i {
                    Item::Record { data, .. } => Some(&data[..]),
                    Item::Bad { .. } => None,
                })
                .collect();
            assert!(
                all_good,
                "bad items in an array serde_json reads: {items:?}"
            );
            let expected: Vec<&[u8]> = expected.iter().map(|e| e.as_bytes()).collect();
            assert_eq!(got, expected, "records differ from serde_json's elements");
        }
        None => assert!(
            !all_good,
            "every item good, but serde_json does not read an array of objects within the limit: {:?} → {items:?}",
            String::from_utf8_lossy(text)
        ),
    }
}

/// The records serde_json sees: each element minified, or `None` when the input is not an
/// array of objects each within `max` bytes (minified).
fn oracle(text: &[u8], max: usize) -> Option<Vec<String>> {
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    if all_json_ws(text) {
        return Some(Vec::new());
    }
    let elements: Vec<&RawValue> = serde_json::from_slice(text).ok()?;
    let out: Vec<String> = elements.iter().map(|e| minify(e.get())).collect();
    out.iter()
        .all(|e| e.starts_with('{') && e.len() <= max)
        .then_some(out)
}

/// Every item a reader yields; I/O never fails on a byte slice.
/// The record limit and the read buffer's size (1 to 16 bytes) the input picks, from its next
/// two bytes.
pub fn limit_and_buffer(input: &mut Input) -> (usize, usize) {
    let max = LIMITS[usize::from(input.byte() % LIMITS.len() as u8)];
    let capacity = 1 + usize::from(input.byte() % 16);
    (max, capacity)
}

/// The items read from `text` whole, after checking that reading it through a `capacity`-byte
/// buffer gives the same: a reader's answer must not depend on how its input arrives.
pub fn read_both_ways<'a, W: ReadItems, S: ReadItems>(
    text: &'a [u8],
    capacity: usize,
    whole: impl FnOnce(&'a [u8]) -> W,
    small: impl FnOnce(BufReader<&'a [u8]>) -> S,
) -> Vec<Item> {
    let items = read_all(&mut whole(text));
    let through_small = read_all(&mut small(BufReader::with_capacity(capacity, text)));
    assert_eq!(
        items, through_small,
        "a {capacity}-byte buffer reads otherwise"
    );
    items
}

pub fn read_all(r: &mut dyn ReadItems) -> Vec<Item> {
    std::iter::from_fn(|| {
        r.next_item()
            .map(|i: io::Result<Item>| i.expect("no I/O error"))
    })
    .collect()
}

/// What `put` sends, the transform must read as a JSON object (or refuse only for nesting).
pub fn assert_transform_reads(data: &[u8]) {
    let text = std::str::from_utf8(data).unwrap_or_else(|e| {
        panic!(
            "put accepted a record that is not UTF-8 ({e}): {:?}",
            String::from_utf8_lossy(data)
        )
    });
    match Object::parse(text) {
        Ok(_) | Err(JsonError::TooDeep { .. }) => {}
        Err(e) => panic!("put accepted a record the transform refuses ({e}): {text:?}"),
    }
}
