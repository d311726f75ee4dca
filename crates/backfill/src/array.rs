//! A JSON array read element by element, never whole: a small scanner finds each element's end
//! (tracking strings, escapes and the open brackets), so memory is one element at a time.
//! Whitespace outside strings is dropped as the element is copied, so a pretty-printed element
//! becomes one line (the pipeline writes NDJSON); everything else — key order, number literals,
//! escapes — is kept byte for byte. An element is then checked with serde_json.
//!
//! A bad element (invalid JSON inside balanced brackets, not an object) is reported and reading
//! goes on. A broken structure (a stray or mismatched bracket, a missing comma, an unclosed
//! array) leaves no safe place to resume: it is reported once and the rest of the input is not
//! read.

use std::io::{self, BufRead};

use super::format::{Item, ReadItems, check_object, sample};

/// The deepest an element may nest arrays and objects: serde_json's recursion limit, which the
/// pipeline's transform applies to every record too (`ks_transform::limits`), so a deeper record
/// could not be processed downstream. The scanner's stack of open brackets holds at most this
/// many; deeper brackets are only counted, so the element's end is still found and reading goes
/// on after it. (serde_json's `IgnoredAny`, which checks each element, does not enforce it.)
pub const MAX_JSON_NESTING_DEPTH: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the opening `[`.
    Start,
    /// After `[`: an element or `]`.
    First,
    /// After an element: `,` or `]`.
    AfterElement,
    /// After `,`: an element.
    Element,
    Done,
}

pub struct JsonArray<R> {
    r: R,
    /// The current line, 1-based.
    line: u64,
    state: State,
    buf: Vec<u8>,
    /// The open brackets of the element being read, innermost last, at most
    /// [`MAX_JSON_NESTING_DEPTH`]; `deeper` counts those past it.
    open: Vec<u8>,
    deeper: u64,
    max_record_bytes: usize,
    /// A broken structure was reported: nothing more is read.
    ended: bool,
    /// How many bytes of a leading UTF-8 BOM were read; `BOM.len()` once none can follow.
    bom: usize,
}

/// The UTF-8 byte order mark, which may open the input (and is not data).
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// What the scanner found where it expected an element.
enum Scan {
    Element {
        line: u64,
        too_long: bool,
        too_deep: bool,
    },
    Broken {
        line: u64,
        reason: String,
    },
}

impl<R: BufRead> JsonArray<R> {
    pub fn new(r: R, max_record_bytes: usize) -> Self {
        JsonArray {
            r,
            line: 1,
            state: State::Start,
            buf: Vec::new(),
            open: Vec::with_capacity(MAX_JSON_NESTING_DEPTH),
            deeper: 0,
            max_record_bytes,
            ended: false,
            bom: 0,
        }
    }

    /// Skips whitespace (and a BOM at the start); returns the next byte without consuming it.
    fn peek_significant(&mut self) -> io::Result<Option<u8>> {
        loop {
            let buf = self.r.fill_buf()?;
            if buf.is_empty() {
                if (1..BOM.len()).contains(&self.bom) {
                    self.bom = BOM.len();
                    return Ok(Some(BOM[0]));
                }
                return Ok(None);
            }
            let mut i = 0;
            while i < buf.len() {
                // A BOM can only be the input's first three bytes.
                if self.bom < BOM.len() {
                    if buf[i] == BOM[self.bom] {
                        self.bom += 1;
                        i += 1;
                        continue;
                    }
                    if self.bom > 0 {
                        // A BOM begun and not finished: the input is not UTF-8, so not JSON.
                        self.r.consume(i);
                        self.bom = BOM.len();
                        return Ok(Some(BOM[0]));
                    }
                    self.bom = BOM.len();
                }
                match buf[i] {
                    b'\n' => self.line += 1,
                    b' ' | b'\t' | b'\r' => {}
                    b => {
                        self.r.consume(i);
                        return Ok(Some(b));
                    }
                }
                i += 1;
            }
            let n = buf.len();
            self.r.consume(n);
        }
    }

    /// Copies one element into `buf` (whitespace outside strings dropped, at most the record
    /// limit kept) and consumes it.
    fn scan_element(&mut self) -> io::Result<Scan> {
        self.buf.clear();
        self.open.clear();
        self.deeper = 0;
        let start_line = self.line;
        let cap = self.max_record_bytes;
        let mut too_long = false;
        let mut too_deep = false;
        let mut in_string = false;
        let mut escaped = false;
        // A scalar element (a number, `true`, a string) ends at a delimiter at depth zero.
        let mut scalar_string_done = false;
        // White space was just dropped: between two bytes of scalar tokens it must stay (one
        // space), or `1 2` would become `12`, a valid number made of an invalid element.
        let mut gap = false;
        loop {
            let chunk = self.r.fill_buf()?;
            if chunk.is_empty() {
                return Ok(Scan::Broken {
                    line: start_line,
                    reason: format!(
                        "the input ends inside the element that starts on line {start_line}"
                    ),
                });
            }
            let mut used = 0;
            let mut end = false;
            for &b in chunk {
                // Lines are counted as bytes are consumed: a delimiter that ends a scalar is
                // left for the next peek, which counts it.
                if in_string {
                    used += 1;
                    if b == b'\n' {
                        self.line += 1;
                    }
                    keep(&mut self.buf, b, cap, &mut too_long);
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                        if self.open.is_empty() {
                            scalar_string_done = true;
                        }
                    }
                    continue;
                }
                let depth_zero = self.open.is_empty();
                match b {
                    b' ' | b'\t' | b'\r' | b'\n' if depth_zero && !self.buf.is_empty() => {
                        end = true;
                    }
                    b' ' | b'\t' | b'\r' | b'\n' => {
                        used += 1;
                        gap = true;
                        if b == b'\n' {
                            self.line += 1;
                        }
                    }
                    b',' | b']' | b'}' if depth_zero => {
                        if self.buf.is_empty() || b == b'}' {
                            return Ok(Scan::Broken {
                                line: self.line,
                                reason: format!(
                                    "unexpected '{}' on line {} where an element should start",
                                    b as char, self.line
                                ),
                            });
                        }
                        end = true;
                    }
                    _ if scalar_string_done => end = true,
                    b'"' => {
                        used += 1;
                        in_string = true;
                        keep(&mut self.buf, b, cap, &mut too_long);
                    }
                    b'{' | b'[' => {
                        used += 1;
                        if self.open.len() < MAX_JSON_NESTING_DEPTH {
                            self.open.push(b);
                        } else {
                            self.deeper += 1;
                            too_deep = true;
                        }
                        keep(&mut self.buf, b, cap, &mut too_long);
                    }
                    // Past the limit brackets are only counted: the element is refused anyway.
                    b'}' | b']' if self.deeper > 0 => {
                        used += 1;
                        self.deeper -= 1;
                        keep(&mut self.buf, b, cap, &mut too_long);
                    }
                    b'}' | b']' => {
                        used += 1;
                        let opener = if b == b'}' { b'{' } else { b'[' };
                        if self.open.pop() != Some(opener) {
                            return Ok(Scan::Broken {
                                line: self.line,
                                reason: format!(
                                    "mismatched '{}' on line {} in the element that starts on line {start_line}",
                                    b as char, self.line
                                ),
                            });
                        }
                        keep(&mut self.buf, b, cap, &mut too_long);
                        if self.open.is_empty() {
                            end = true;
                        }
                    }
                    _ => {
                        used += 1;
                        if gap && self.buf.last().is_some_and(|&p| in_token(p)) && in_token(b) {
                            keep(&mut self.buf, b' ', cap, &mut too_long);
                        }
                        keep(&mut self.buf, b, cap, &mut too_long);
                    }
                }
                if !matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
                    gap = false;
                }
                if end {
                    break;
                }
            }
            self.r.consume(used);
            if end {
                return Ok(Scan::Element {
                    line: start_line,
                    too_long,
                    too_deep,
                });
            }
        }
    }

    fn broken(&mut self, line: u64, reason: String) -> Option<io::Result<Item>> {
        self.state = State::Done;
        self.ended = true;
        Some(Ok(Item::Bad {
            line,
            reason: format!("{reason}; the rest of this input is not read"),
            raw: Vec::new(),
        }))
    }
}

/// Whether `b` can be part of a number or a literal (`true`, `false`, `null`).
fn in_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-')
}

fn keep(buf: &mut Vec<u8>, b: u8, cap: usize, too_long: &mut bool) {
    if buf.len() < cap {
        buf.push(b);
    } else {
        *too_long = true;
    }
}

impl<R: BufRead> ReadItems for JsonArray<R> {
    fn next_item(&mut self) -> Option<io::Result<Item>> {
        if self.ended {
            return None;
        }
        loop {
            let next = match self.peek_significant() {
                Ok(n) => n,
                Err(e) => return Some(Err(e)),
            };
            match (self.state, next) {
                (State::Done, None) => return None,
                (State::Done, Some(_)) => {
                    let line = self.line;
                    return self.broken(line, format!("data after the closing ']' on line {line}"));
                }
                (State::Start, Some(b'[')) => {
                    self.r.consume(1);
                    self.state = State::First;
                }
                (State::Start, None) => return None,
                (State::Start, Some(b)) => {
                    let line = self.line;
                    return self.broken(
                        line,
                        format!(
                            "expected a JSON array ('[') but found '{}' on line {line}",
                            b as char
                        ),
                    );
                }
                (State::First | State::AfterElement, Some(b']')) => {
                    self.r.consume(1);
                    self.state = State::Done;
                }
                (State::AfterElement, Some(b',')) => {
                    self.r.consume(1);
                    self.state = State::Element;
                }
                (_, None) => {
                    let line = self.line;
                    return self.broken(line, "the input ends before the array's ']'".to_owned());
                }
                (State::AfterElement, Some(b)) => {
                    let line = self.line;
                    return self.broken(
                        line,
                        format!(
                            "expected ',' or ']' but found '{}' on line {line}",
                            b as char
                        ),
                    );
                }
                (State::First | State::Element, Some(_)) => {
                    let scan = match self.scan_element() {
                        Ok(s) => s,
                        Err(e) => return Some(Err(e)),
                    };
                    self.state = State::AfterElement;
                    return match scan {
                        Scan::Broken { line, reason } => self.broken(line, reason),
                        Scan::Element {
                            line,
                            too_long: true,
                            ..
                        } => Some(Ok(Item::Bad {
                            line,
                            reason: format!(
                                "element larger than the {}-byte record limit",
                                self.max_record_bytes
                            ),
                            raw: sample(&self.buf),
                        })),
                        Scan::Element {
                            line,
                            too_deep: true,
                            ..
                        } => Some(Ok(Item::Bad {
                            line,
                            reason: format!(
                                "element nested deeper than {MAX_JSON_NESTING_DEPTH} levels"
                            ),
                            raw: sample(&self.buf),
                        })),
                        Scan::Element { line, .. } => Some(Ok(match check_object(&self.buf) {
                            Ok(()) => Item::Record {
                                line,
                                data: self.buf.clone(),
                            },
                            Err(reason) => Item::Bad {
                                line,
                                reason,
                                raw: sample(&self.buf),
                            },
                        })),
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all_with(text: &str, max: usize, capacity: usize) -> Vec<Item> {
        let r = std::io::BufReader::with_capacity(capacity, text.as_bytes());
        let mut a = JsonArray::new(r, max);
        std::iter::from_fn(|| a.next_item().map(Result::unwrap)).collect()
    }

    fn read_all(text: &str) -> Vec<Item> {
        read_all_with(text, 1_000, 8 * 1024)
    }

    fn rec(line: u64, data: &str) -> Item {
        Item::Record {
            line,
            data: data.as_bytes().to_vec(),
        }
    }

    fn bad_reason(item: &Item) -> (u64, &str) {
        match item {
            Item::Bad { line, reason, .. } => (*line, reason),
            other => panic!("expected a bad item, got {other:?}"),
        }
    }

    #[test]
    fn elements_stream_out_one_by_one_with_nested_and_escaped_strings() {
        // GIVEN a pretty-printed array whose strings hold brackets, commas, quotes and escapes
        let text = r#"[
  {"id": 1, "text": "a ] tricky, \"quoted\" } string \\", "tags": ["x", {"y": [1, 2.50e3]}]},
  {"id": 2,
   "text": "line\nbreak \u00e9 \\\" done"}
]
"#;
        // WHEN read, even through a 3-byte buffer (elements span many reads)
        for capacity in [3, 8 * 1024] {
            let items = read_all_with(text, 1_000, capacity);
            // THEN each element is one record, whitespace outside strings dropped, the rest as is
            assert_eq!(
                items,
                [
                    rec(
                        2,
                        r#"{"id":1,"text":"a ] tricky, \"quoted\" } string \\","tags":["x",{"y":[1,2.50e3]}]}"#
                    ),
                    rec(3, r#"{"id":2,"text":"line\nbreak \u00e9 \\\" done"}"#),
                ],
                "buffer of {capacity}"
            );
        }
    }

    #[test]
    fn bad_elements_are_reported_on_their_line_and_reading_goes_on() {
        let text = "[{\"a\":1},\n {\"a\":},\n 42,\n \"s\",\n {\"a\":2}]";
        let items = read_all(text);
        assert_eq!(items.len(), 5, "{items:?}");
        assert_eq!(items[0], rec(1, "{\"a\":1}"));
        let (line, reason) = bad_reason(&items[1]);
        assert_eq!(line, 2);
        assert!(reason.starts_with("invalid JSON"), "{reason}");
        assert_eq!(bad_reason(&items[2]), (3, "not a JSON object"));
        assert_eq!(bad_reason(&items[3]), (4, "not a JSON object"));
        assert_eq!(items[4], rec(5, "{\"a\":2}"));
    }

    #[test]
    fn a_broken_structure_is_reported_once_and_ends_the_input() {
        for (text, line, needle) in [
            ("[{\"a\":1},\n{\"a\":[1}]", 2, "mismatched '}'"),
            ("[{\"a\":1} {\"a\":2}]", 1, "expected ',' or ']'"),
            ("[{\"a\":1},\n{\"a\":1}", 2, "ends before the array's ']'"),
            ("[{\"a\":1},\n{\"a\":\"x", 2, "ends inside the element"),
            ("{\"a\":1}", 1, "expected a JSON array"),
            ("[{\"a\":1},]", 1, "unexpected ']'"),
            ("[{\"a\":1}]\n]", 2, "after the closing ']'"),
        ] {
            let items = read_all(text);
            let last = items.last().unwrap();
            let (l, reason) = bad_reason(last);
            assert!(
                reason.contains(needle) && reason.ends_with("is not read"),
                "{text:?}: {reason}"
            );
            assert_eq!(l, line, "{text:?}");
            assert!(
                items[..items.len() - 1]
                    .iter()
                    .all(|i| matches!(i, Item::Record { .. })),
                "{text:?}: {items:?}"
            );
        }
        assert!(read_all("[]").is_empty());
        assert!(read_all("  ").is_empty());
    }

    #[test]
    fn an_element_over_the_limit_is_rejected_and_the_next_one_read() {
        // GIVEN a 20-byte limit and a 5,000-byte element
        let big = format!("{{\"x\":\"{}\"}}", "y".repeat(5_000));
        let text = format!("[{big},\n{{\"a\":1}}]");
        let items = read_all_with(&text, 20, 64);
        let (line, reason) = bad_reason(&items[0]);
        assert_eq!(line, 1);
        assert!(reason.contains("20-byte"), "{reason}");
        assert_eq!(items[1], rec(2, "{\"a\":1}"));
    }

    #[test]
    fn an_element_nested_too_deep_is_rejected_and_the_next_one_read() {
        // GIVEN an element nested 100,000 levels deep, then a plain one
        let depth = 100_000;
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
        let text = format!("[{deep},\n{{\"b\":1}}]");
        // WHEN the array is read
        let r = std::io::BufReader::with_capacity(64, text.as_bytes());
        let mut a = JsonArray::new(r, 1_000_000);
        let first = a.next_item().unwrap().unwrap();
        // THEN the deep element is a bad record saying why, and the next one is read
        let (line, reason) = bad_reason(&first);
        assert_eq!(line, 1);
        assert!(reason.contains("nested deeper than 128 levels"), "{reason}");
        assert_eq!(a.next_item().unwrap().unwrap(), rec(2, "{\"b\":1}"));
        assert!(a.next_item().is_none());
        // AND the stack of open brackets never held more than the limit
        assert!(
            a.open.capacity() <= MAX_JSON_NESTING_DEPTH,
            "{}",
            a.open.capacity()
        );
        // AND the limit itself is allowed (serde_json then judges the element)
        let at_limit = format!(
            "[{}{}]",
            "[".repeat(MAX_JSON_NESTING_DEPTH),
            "]".repeat(MAX_JSON_NESTING_DEPTH)
        );
        let items = read_all(&at_limit);
        let (_, reason) = bad_reason(&items[0]);
        assert!(!reason.contains("nested deeper"), "{reason}");
    }

    #[test]
    fn an_unclosed_bracket_run_of_200_mb_keeps_memory_flat() {
        // GIVEN `[` then 200 MB of `[` that never close, made on the fly
        let input = crate::format::Generated::new(b"[", b'[', 200 * 1024 * 1024, b"");
        let mut a = JsonArray::new(std::io::BufReader::new(input), 1_048_576);
        // WHEN it is read
        let item = a.next_item().unwrap().unwrap();
        // THEN the input is reported as ending inside the element, once
        let (_, reason) = bad_reason(&item);
        assert!(reason.contains("ends inside the element"), "{reason}");
        assert!(a.next_item().is_none());
        // AND neither the element nor the bracket stack grew past its cap
        assert!(a.open.capacity() <= MAX_JSON_NESTING_DEPTH);
        assert!(a.buf.capacity() <= 2 * 1_048_576, "{}", a.buf.capacity());
    }

    #[test]
    fn white_space_that_separates_tokens_is_not_dropped() {
        // GIVEN elements whose white space splits a number or a literal (found by
        // fuzz/regressions/put_array/whitespace-joins-tokens: `3 1` was sent as `31`)
        let items = read_all("[{\"a\":3 1},{\"b\":tr ue},{\"c\":1 .5},\n{\"d\" : [ 1 , -2 ]}]");
        // WHEN read THEN those elements are bad, not joined, and valid ones are still minified
        for item in &items[..3] {
            let (line, reason) = bad_reason(item);
            assert_eq!(line, 1);
            assert!(reason.starts_with("invalid JSON"), "{reason}");
        }
        assert_eq!(items[3], rec(2, "{\"d\":[1,-2]}"));
    }

    #[test]
    fn only_a_whole_leading_bom_is_skipped() {
        // GIVEN a real BOM, then inputs with stray BOM bytes (found by
        // fuzz/regressions/put_array/stray-bom-bytes: they used to read as an empty array)
        assert_eq!(read_all("\u{feff}[{\"a\":1}]"), [rec(1, "{\"a\":1}")]);
        for text in [
            &b"\xbf"[..],
            b"\xef[{\"a\":1}]",
            b"\xef\xbb",
            b" \xef\xbb\xbf[]",
            b"\xbb\xef\xbf[]",
        ] {
            // WHEN read THEN the input is reported as not an array, once
            let r = std::io::BufReader::with_capacity(1, text);
            let mut a = JsonArray::new(r, 1_000);
            let items: Vec<Item> =
                std::iter::from_fn(|| a.next_item().map(Result::unwrap)).collect();
            assert!(
                matches!(&items[..], [Item::Bad { reason, .. }] if reason.contains("expected a JSON array")),
                "{text:?}: {items:?}"
            );
        }
    }

    #[test]
    fn scalars_end_at_their_delimiter() {
        // GIVEN scalars (rejected as non-objects) followed by objects on later lines
        let items = read_all("[1\n,true ,\n\"a,]\"\n,{\"b\":1}]");
        assert_eq!(bad_reason(&items[0]), (1, "not a JSON object"));
        assert_eq!(bad_reason(&items[1]), (2, "not a JSON object"));
        assert_eq!(bad_reason(&items[2]), (3, "not a JSON object"));
        assert_eq!(items[3], rec(4, "{\"b\":1}"));
    }
}
