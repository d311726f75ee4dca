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

use super::item::{Item, ReadItems, check_object, sample};

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
    /// The element being read.
    el: Element,
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
            el: Element::new(max_record_bytes),
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

    /// Copies one element into `el.buf` (whitespace outside strings dropped, at most the
    /// record limit kept) and consumes it.
    fn scan_element(&mut self) -> io::Result<Scan> {
        self.el.start(self.line);
        loop {
            let chunk = self.r.fill_buf()?;
            if chunk.is_empty() {
                let line = self.el.start_line;
                return Ok(Scan::Broken {
                    line,
                    reason: format!("the input ends inside the element that starts on line {line}"),
                });
            }
            let (used, end) = match self.el.take(chunk, &mut self.line) {
                Ok(taken) => taken,
                Err(reason) => {
                    let line = self.line;
                    return Ok(Scan::Broken { line, reason });
                }
            };
            self.r.consume(used);
            if end {
                return Ok(self.el.scanned());
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

/// What one byte of an element did.
enum Step {
    /// Consumed; the element goes on.
    Kept,
    /// Consumed, and it closed the element.
    Closed,
    /// Not consumed: it follows the element (a delimiter after a scalar).
    Ended,
}

/// One element being copied, and the scanner's state within it.
struct Element {
    buf: Vec<u8>,
    /// The open brackets, innermost last, at most [`MAX_JSON_NESTING_DEPTH`]; `deeper` counts
    /// those past it.
    open: Vec<u8>,
    deeper: u64,
    max_record_bytes: usize,
    start_line: u64,
    too_long: bool,
    too_deep: bool,
    in_string: bool,
    escaped: bool,
    /// A scalar element (a number, `true`, a string) ends at a delimiter at depth zero.
    scalar_string_done: bool,
    /// White space was just dropped: between two bytes of scalar tokens it must stay (one
    /// space), or `1 2` would become `12`, a valid number made of an invalid element.
    gap: bool,
}

impl Element {
    fn new(max_record_bytes: usize) -> Self {
        Element {
            buf: Vec::new(),
            open: Vec::with_capacity(MAX_JSON_NESTING_DEPTH),
            deeper: 0,
            max_record_bytes,
            start_line: 0,
            too_long: false,
            too_deep: false,
            in_string: false,
            escaped: false,
            scalar_string_done: false,
            gap: false,
        }
    }

    /// Forgets the last element; the next starts on `line`.
    fn start(&mut self, line: u64) {
        self.buf.clear();
        self.open.clear();
        self.deeper = 0;
        self.start_line = line;
        self.too_long = false;
        self.too_deep = false;
        self.in_string = false;
        self.escaped = false;
        self.scalar_string_done = false;
        self.gap = false;
    }

    /// What the finished element is.
    fn scanned(&self) -> Scan {
        Scan::Element {
            line: self.start_line,
            too_long: self.too_long,
            too_deep: self.too_deep,
        }
    }

    /// Takes the bytes of `chunk` that belong to the element. Returns how many it consumed and
    /// whether the element ended, or why the structure is broken.
    #[inline]
    fn take(&mut self, chunk: &[u8], line: &mut u64) -> Result<(usize, bool), String> {
        let mut used = 0;
        for &b in chunk {
            let step = if self.in_string {
                self.string_byte(b)
            } else {
                self.structural_byte(b, *line)?
            };
            if matches!(step, Step::Ended) {
                return Ok((used, true));
            }
            // Lines are counted as bytes are consumed: a delimiter that ends a scalar is left
            // for the next peek, which counts it.
            used += 1;
            if b == b'\n' {
                *line += 1;
            }
            if matches!(step, Step::Closed) {
                return Ok((used, true));
            }
        }
        Ok((used, false))
    }

    /// A byte inside a string: kept as it is.
    #[inline]
    fn string_byte(&mut self, b: u8) -> Step {
        self.keep(b);
        if self.escaped {
            self.escaped = false;
        } else if b == b'\\' {
            self.escaped = true;
        } else if b == b'"' {
            self.in_string = false;
            if self.open.is_empty() {
                self.scalar_string_done = true;
            }
        }
        Step::Kept
    }

    /// A byte outside strings: white space, a bracket, a delimiter or part of a scalar.
    #[inline]
    fn structural_byte(&mut self, b: u8, line: u64) -> Result<Step, String> {
        let depth_zero = self.open.is_empty();
        let step = match b {
            b' ' | b'\t' | b'\r' | b'\n' if depth_zero && !self.buf.is_empty() => Step::Ended,
            b' ' | b'\t' | b'\r' | b'\n' => {
                self.gap = true;
                return Ok(Step::Kept);
            }
            b',' | b']' | b'}' if depth_zero => {
                if self.buf.is_empty() || b == b'}' {
                    return Err(format!(
                        "unexpected '{}' on line {line} where an element should start",
                        b as char
                    ));
                }
                Step::Ended
            }
            _ if self.scalar_string_done => Step::Ended,
            b'"' => {
                self.in_string = true;
                self.keep(b);
                Step::Kept
            }
            b'{' | b'[' => {
                if self.open.len() < MAX_JSON_NESTING_DEPTH {
                    self.open.push(b);
                } else {
                    self.deeper += 1;
                    self.too_deep = true;
                }
                self.keep(b);
                Step::Kept
            }
            // Past the limit brackets are only counted: the element is refused anyway.
            b'}' | b']' if self.deeper > 0 => {
                self.deeper -= 1;
                self.keep(b);
                Step::Kept
            }
            b'}' | b']' => self.close(b, line)?,
            _ => {
                if self.gap && self.buf.last().is_some_and(|&p| in_token(p)) && in_token(b) {
                    self.keep(b' ');
                }
                self.keep(b);
                Step::Kept
            }
        };
        self.gap = false;
        Ok(step)
    }

    /// A closing bracket: it must match the innermost open one.
    #[inline]
    fn close(&mut self, b: u8, line: u64) -> Result<Step, String> {
        let opener = if b == b'}' { b'{' } else { b'[' };
        if self.open.pop() != Some(opener) {
            return Err(format!(
                "mismatched '{}' on line {line} in the element that starts on line {}",
                b as char, self.start_line
            ));
        }
        self.keep(b);
        Ok(if self.open.is_empty() {
            Step::Closed
        } else {
            Step::Kept
        })
    }

    /// Keeps `b` while the element is within the record limit.
    #[inline]
    fn keep(&mut self, b: u8) {
        if self.buf.len() < self.max_record_bytes {
            self.buf.push(b);
        } else {
            self.too_long = true;
        }
    }
}

/// What the array's punctuation said comes next.
enum Next {
    /// Punctuation was consumed: look again.
    Again,
    /// The input ended where it may.
    End,
    /// An element starts here.
    Element,
    /// The structure is broken, for this reason.
    Broken(String),
}

impl<R: BufRead> JsonArray<R> {
    /// Reads the punctuation around elements (`[`, `,`, `]`), given the next byte.
    fn punctuation(&mut self, next: Option<u8>) -> Next {
        let line = self.line;
        match (self.state, next) {
            (State::Done | State::Start, None) => Next::End,
            (State::Done, Some(_)) => {
                Next::Broken(format!("data after the closing ']' on line {line}"))
            }
            (State::Start, Some(b'[')) => self.consume(State::First),
            (State::Start, Some(b)) => Next::Broken(format!(
                "expected a JSON array ('[') but found '{}' on line {line}",
                b as char
            )),
            (State::First | State::AfterElement, Some(b']')) => self.consume(State::Done),
            (State::AfterElement, Some(b',')) => self.consume(State::Element),
            (_, None) => Next::Broken("the input ends before the array's ']'".to_owned()),
            (State::AfterElement, Some(b)) => Next::Broken(format!(
                "expected ',' or ']' but found '{}' on line {line}",
                b as char
            )),
            (State::First | State::Element, Some(_)) => Next::Element,
        }
    }

    /// Consumes the punctuation byte peeked at, which leads to `state`.
    fn consume(&mut self, state: State) -> Next {
        self.r.consume(1);
        self.state = state;
        Next::Again
    }

    /// Reads the element that starts here.
    fn element(&mut self) -> Option<io::Result<Item>> {
        let scan = match self.scan_element() {
            Ok(s) => s,
            Err(e) => return Some(Err(e)),
        };
        self.state = State::AfterElement;
        match scan {
            Scan::Broken { line, reason } => self.broken(line, reason),
            Scan::Element {
                line,
                too_long,
                too_deep,
            } => Some(Ok(self.el.item(line, too_long, too_deep))),
        }
    }
}

impl Element {
    /// The element read: a record, or why it cannot be one.
    fn item(&self, line: u64, too_long: bool, too_deep: bool) -> Item {
        let reason = if too_long {
            format!(
                "element larger than the {}-byte record limit",
                self.max_record_bytes
            )
        } else if too_deep {
            format!("element nested deeper than {MAX_JSON_NESTING_DEPTH} levels")
        } else {
            match check_object(&self.buf) {
                Ok(()) => {
                    return Item::Record {
                        line,
                        data: self.buf.clone(),
                    };
                }
                Err(reason) => reason,
            }
        };
        Item::Bad {
            line,
            reason,
            raw: sample(&self.buf),
        }
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
            match self.punctuation(next) {
                Next::Again => {}
                Next::End => return None,
                Next::Element => return self.element(),
                Next::Broken(reason) => {
                    let line = self.line;
                    return self.broken(line, reason);
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
            a.el.open.capacity() <= MAX_JSON_NESTING_DEPTH,
            "{}",
            a.el.open.capacity()
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
        let input = crate::item::Generated::new(b"[", b'[', 200 * 1024 * 1024, b"");
        let mut a = JsonArray::new(std::io::BufReader::new(input), 1_048_576);
        // WHEN it is read
        let item = a.next_item().unwrap().unwrap();
        // THEN the input is reported as ending inside the element, once
        let (_, reason) = bad_reason(&item);
        assert!(reason.contains("ends inside the element"), "{reason}");
        assert!(a.next_item().is_none());
        // AND neither the element nor the bracket stack grew past its cap
        assert!(a.el.open.capacity() <= MAX_JSON_NESTING_DEPTH);
        assert!(
            a.el.buf.capacity() <= 2 * 1_048_576,
            "{}",
            a.el.buf.capacity()
        );
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
