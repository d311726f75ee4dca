//! Byte-exact editing of a JSON object.
//!
//! The transform must hand back the producer's bytes untouched (key order, number formatting,
//! escapes, integers beyond f64) with one member added. Re-serialising a parsed value cannot
//! promise that, so one pass validates the text (as strictly as serde_json) and locates the
//! top-level members by position, and the edit splices bytes.

use std::ops::Range;

use crate::limits::MAX_JSON_NESTING_DEPTH;

/// Why a payload cannot be edited as a JSON object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    #[error("JSON nesting deeper than {limit} levels")]
    TooDeep { limit: usize },
    #[error("not JSON: {0}")]
    Invalid(String),
    #[error("JSON {0} is not an object")]
    NotAnObject(&'static str),
}

/// A top-level member's place in the source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Just after the preceding `{` or `,`: includes the member's leading white space.
    pub segment_start: usize,
    /// The key's text between its quotes, as written.
    pub key: Range<usize>,
    /// Whether the key has escapes (then it must be decoded to compare it).
    pub key_escaped: bool,
    /// The value's bytes.
    pub value: Range<usize>,
    /// The following `,` or `}`: the member's trailing white space ends here.
    pub segment_end: usize,
}

impl Member {
    /// Whether this member's key, unescaped, is `name`. `src` is the text it was found in.
    pub fn key_is(&self, src: &[u8], name: &str) -> bool {
        let raw = &src[self.key.clone()];
        if !self.key_escaped {
            return raw == name.as_bytes();
        }
        // The text was validated, so the quoted key always decodes.
        serde_json::from_slice::<String>(&src[self.key.start - 1..self.key.end + 1])
            .is_ok_and(|k| k == name)
    }
}

/// The top-level object of a validated JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// Position of the opening `{`.
    pub open: usize,
    /// Position of the closing `}`.
    pub close: usize,
    pub members: Vec<Member>,
}

/// An [`Object`] whose members live in a buffer the caller reuses from record to record, so a
/// batch of thousands of records does not allocate a member list for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectRef<'m> {
    pub open: usize,
    pub close: usize,
    pub members: &'m [Member],
}

impl Object {
    /// Validates `src` as JSON and, if it is an object, locates its top-level members.
    pub fn parse(src: &str) -> Result<Self, JsonError> {
        let mut members = Vec::new();
        let (open, close) = scan(src, &mut members)?;
        Ok(Object {
            open,
            close,
            members,
        })
    }

    pub fn as_ref(&self) -> ObjectRef<'_> {
        ObjectRef {
            open: self.open,
            close: self.close,
            members: &self.members,
        }
    }

    /// See [`ObjectRef::get`].
    pub fn get<'s>(&self, src: &'s str, key: &str) -> Option<&'s str> {
        self.as_ref().get(src, key)
    }

    /// See [`ObjectRef::write_with_member`].
    pub fn write_with_member(&self, src: &str, name: &str, value_json: &str, out: &mut Vec<u8>) {
        self.as_ref().write_with_member(src, name, value_json, out)
    }
}

impl<'m> ObjectRef<'m> {
    /// [`Object::parse`], with the members written into `members` (cleared first).
    pub fn parse(src: &str, members: &'m mut Vec<Member>) -> Result<Self, JsonError> {
        members.clear();
        let (open, close) = scan(src, members)?;
        Ok(ObjectRef {
            open,
            close,
            members,
        })
    }

    /// The last member named `key` (JSON parsers keep the last of duplicate keys).
    pub fn get<'s>(&self, src: &'s str, key: &str) -> Option<&'s str> {
        self.members
            .iter()
            .rev()
            .find(|m| m.key_is(src.as_bytes(), key))
            .map(|m| &src[m.value.clone()])
    }

    /// How to add the member `name` later, once its value is known. In the common case (no
    /// member has that name yet) the answer is a position, so nothing of the object is kept.
    pub fn edit(&self, src: &str, name: &str) -> Edit {
        if self.members.iter().any(|m| m.key_is(src.as_bytes(), name)) {
            return Edit::Replace(Object {
                open: self.open,
                close: self.close,
                members: self.members.to_vec(),
            });
        }
        match self.members.last() {
            Some(last) => Edit::Insert {
                at: last.value.end,
                comma: true,
            },
            // `{ }`: the member goes first; the inner white space stays before the brace.
            None => Edit::Insert {
                at: self.open + 1,
                comma: false,
            },
        }
    }

    /// Writes `src` with every member named `name` removed and `"name":value_json` appended as
    /// the object's last member. Everything else, white space included, is copied as it was.
    pub fn write_with_member(&self, src: &str, name: &str, value_json: &str, out: &mut Vec<u8>) {
        self.edit(src, name)
            .write(src.as_bytes(), name, value_json.as_bytes(), out)
    }
}

/// Where and how a member is added to one object (see [`ObjectRef::edit`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// No member has the name: `,"name":value` goes right after the last value (no comma in
    /// an empty object), so every original byte stays where it was.
    Insert { at: usize, comma: bool },
    /// Members with the name exist: the object is rebuilt without them.
    Replace(Object),
}

impl Edit {
    /// Writes `src` edited, as [`ObjectRef::write_with_member`] does. `src` is the text the
    /// edit was planned on, as bytes: the edit only copies ranges of it.
    pub fn write(&self, src: &[u8], name: &str, value_json: &[u8], out: &mut Vec<u8>) {
        match self {
            Edit::Insert { at, comma } => insert(src, *at, *comma, name, value_json, out),
            Edit::Replace(obj) => replace(obj, src, name, value_json, out),
        }
    }
}

fn insert(src: &[u8], at: usize, comma: bool, name: &str, value_json: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&src[..at]);
    if comma {
        out.push(b',');
    }
    write_json_string(name, out);
    out.push(b':');
    out.extend_from_slice(value_json);
    out.extend_from_slice(&src[at..]);
}

fn replace(obj: &Object, src: &[u8], name: &str, value_json: &[u8], out: &mut Vec<u8>) {
    let kept: Vec<&Member> = obj
        .members
        .iter()
        .filter(|m| !m.key_is(src, name))
        .collect();
    out.extend_from_slice(&src[..=obj.open]);
    let mut tail_ws = &src[obj.open + 1..obj.close];
    for (i, m) in kept.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&src[m.segment_start..m.value.end]);
        tail_ws = &src[m.value.end..m.segment_end];
    }
    if !kept.is_empty() {
        out.push(b',');
    } else {
        // Every member was the one replaced; its white space goes with it.
        tail_ws = b"";
    }
    write_json_string(name, out);
    out.push(b':');
    out.extend_from_slice(value_json);
    out.extend_from_slice(tail_ws);
    out.extend_from_slice(&src[obj.close..]);
}

/// Counts bytes that would be written, to size a response without building it twice.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The serialised length of `value` as JSON.
pub(crate) fn json_len<T: serde::Serialize + ?Sized>(value: &T) -> usize {
    let mut counter = ByteCounter(0);
    // Serialising plain data into a counter cannot fail.
    serde_json::to_writer(&mut counter, value).expect("serialising to a byte counter");
    counter.0
}

/// The length of `s` as a JSON string literal, quotes included, without writing it.
pub fn string_len(s: &str) -> usize {
    if skip_plain_string_bytes(s.as_bytes(), 0) == s.len() {
        // Nothing to escape: the common case, found eight bytes a step.
        return s.len() + 2;
    }
    json_len(s)
}

/// Appends `s` as a JSON string literal.
pub fn write_json_string(s: &str, out: &mut Vec<u8>) {
    // Writing to a Vec cannot fail.
    serde_json::to_writer(&mut *out, s).expect("serialising a str to a Vec");
}

/// Validates `src` as one JSON text (RFC 8259, as serde_json reads it, nesting at most
/// [`MAX_JSON_NESTING_DEPTH`]) in a single pass, pushing the top-level members onto `members`.
/// Returns the top-level object's braces.
///
/// One pass instead of serde_json's validation plus a second scan for positions: this runs over
/// every byte of every record, and strings (most of a payload) are skipped eight bytes a step.
fn scan(src: &str, members: &mut Vec<Member>) -> Result<(usize, usize), JsonError> {
    let b = src.as_bytes();
    let top = skip_ws(b, 0);
    let mut s = Scanner {
        b,
        i: top,
        depth: 0,
        objects: 0,
        top_close: 0,
    };
    // Each turn reads one value at `s.i`, then every `,` `]` `}` that follows it, until the
    // next value starts (or the text ends).
    loop {
        if s.depth == 1
            && let Some(m) = members.last_mut()
        {
            m.value.start = s.i;
        }
        if s.value(members)? {
            continue;
        }
        if s.after_value(members)? {
            return s.top_level(top);
        }
    }
}

impl Member {
    /// A member whose segment starts at `segment_start`; the rest is filled in as it is read.
    fn at(segment_start: usize) -> Self {
        Member {
            segment_start,
            key: 0..0,
            key_escaped: false,
            value: 0..0,
            segment_end: 0,
        }
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
    /// Bit `d` is set when the container at depth `d + 1` is an object: depth is capped at
    /// 128, so the whole stack fits in one integer.
    objects: u128,
    /// Position of the top-level container's closing bracket, once read.
    top_close: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn in_object(&self) -> bool {
        self.depth > 0 && self.objects & (1 << (self.depth - 1)) != 0
    }

    fn open(&mut self, object: bool) -> Result<(), JsonError> {
        if self.depth == MAX_JSON_NESTING_DEPTH {
            return Err(JsonError::TooDeep {
                limit: MAX_JSON_NESTING_DEPTH,
            });
        }
        let bit = 1u128 << self.depth;
        if object {
            self.objects |= bit;
        } else {
            self.objects &= !bit;
        }
        self.depth += 1;
        Ok(())
    }

    /// Steps over the `}` or `]` at `i`, noting the top-level one's place.
    #[inline(always)]
    fn close(&mut self) {
        if self.depth == 1 {
            self.top_close = self.i;
        }
        self.i += 1;
        self.depth -= 1;
    }

    // `scan`'s phases are forced inline: it runs over every byte of every record, and the
    // split is for reading, not for calls.

    /// Reads the value at `i`. Returns `true` when it opened a container with content: the
    /// next turn reads its first value.
    #[inline(always)]
    fn value(&mut self, members: &mut Vec<Member>) -> Result<bool, JsonError> {
        match self.peek() {
            Some(b'{') => return self.open_object(members),
            Some(b'[') => return self.open_array(),
            Some(b'"') => {
                self.string()?;
            }
            Some(b't') => self.literal(b"true")?,
            Some(b'f') => self.literal(b"false")?,
            Some(b'n') => self.literal(b"null")?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(_) => return Err(self.error("expected a value")),
            None => return Err(self.error("the text ended where a value was expected")),
        }
        Ok(false)
    }

    /// The `{` at `i` and, unless the object is empty, its first key (a top-level member's
    /// place is recorded from its start).
    #[inline(always)]
    fn open_object(&mut self, members: &mut Vec<Member>) -> Result<bool, JsonError> {
        self.open(true)?;
        let open = self.i;
        self.i = skip_ws(self.b, self.i + 1);
        if self.peek() == Some(b'}') {
            self.close();
            return Ok(false);
        }
        if self.depth == 1 {
            members.push(Member::at(open + 1));
        }
        self.key(members)?;
        Ok(true)
    }

    /// The `[` at `i`, and its `]` at once if it is empty.
    #[inline(always)]
    fn open_array(&mut self) -> Result<bool, JsonError> {
        self.open(false)?;
        self.i = skip_ws(self.b, self.i + 1);
        if self.peek() == Some(b']') {
            self.close();
            return Ok(false);
        }
        Ok(true)
    }

    /// After a value: every `}` and `]` that follows it, up to the `,` (and an object's next
    /// key) before the next value. Returns whether the text's one value has ended.
    #[inline(always)]
    fn after_value(&mut self, members: &mut Vec<Member>) -> Result<bool, JsonError> {
        while self.depth > 0 {
            // Only the top-level object is at depth 1 with members: a value there just ended.
            let mut top_member = None;
            if self.depth == 1
                && let Some(m) = members.last_mut()
            {
                m.value.end = self.i;
                top_member = Some(m);
            }
            self.i = skip_ws(self.b, self.i);
            match (self.peek(), self.in_object()) {
                (Some(b','), true) => {
                    if let Some(m) = top_member {
                        m.segment_end = self.i;
                        members.push(Member::at(self.i + 1));
                    }
                    self.i = skip_ws(self.b, self.i + 1);
                    self.key(members)?;
                    return Ok(false);
                }
                (Some(b','), false) => {
                    self.i = skip_ws(self.b, self.i + 1);
                    return Ok(false);
                }
                (Some(b'}'), true) | (Some(b']'), false) => {
                    if let Some(m) = top_member {
                        m.segment_end = self.i;
                    }
                    self.close();
                }
                (_, true) => return Err(self.error("expected ',' or '}' after an object member")),
                (_, false) => return Err(self.error("expected ',' or ']' after an array element")),
            }
        }
        Ok(true)
    }

    /// The text's one value has ended: only white space may follow, and it must be an object.
    fn top_level(&self, top: usize) -> Result<(usize, usize), JsonError> {
        let rest = skip_ws(self.b, self.i);
        if rest != self.b.len() {
            return Err(self.error_at(rest, "characters after the JSON value"));
        }
        match self.b[top] {
            b'{' => Ok((top, self.top_close)),
            b'[' => Err(JsonError::NotAnObject("array")),
            b'"' => Err(JsonError::NotAnObject("string")),
            b't' | b'f' => Err(JsonError::NotAnObject("boolean")),
            b'n' => Err(JsonError::NotAnObject("null")),
            _ => Err(JsonError::NotAnObject("number")),
        }
    }

    /// A member's key and its colon, leaving `i` at the value. At depth 1 the key's place is
    /// recorded in the member just pushed.
    fn key(&mut self, members: &mut [Member]) -> Result<(), JsonError> {
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a string key"));
        }
        let start = self.i;
        let escaped = self.string()?;
        if self.depth == 1
            && let Some(m) = members.last_mut()
        {
            m.key = start + 1..self.i - 1;
            m.key_escaped = escaped;
        }
        self.i = skip_ws(self.b, self.i);
        if self.peek() != Some(b':') {
            return Err(self.error("expected ':' after a key"));
        }
        self.i = skip_ws(self.b, self.i + 1);
        Ok(())
    }

    /// A string starting at the quote at `i`; leaves `i` just past the closing quote. Returns
    /// whether it had escapes.
    fn string(&mut self) -> Result<bool, JsonError> {
        let b = self.b;
        let mut i = self.i + 1;
        let mut escaped = false;
        loop {
            i = skip_plain_string_bytes(b, i);
            match b.get(i) {
                Some(b'"') => {
                    self.i = i + 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    escaped = true;
                    match b.get(i + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                        Some(b'u') => {
                            let hex = b.get(i + 2..i + 6);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                return Err(self.error_at(i, "invalid \\u escape in a string"));
                            }
                            i += 6;
                        }
                        _ => return Err(self.error_at(i, "invalid escape in a string")),
                    }
                }
                Some(_) => return Err(self.error_at(i, "control character in a string")),
                None => return Err(self.error_at(b.len(), "the text ended inside a string")),
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), JsonError> {
        if !self.b[self.i..].starts_with(word) {
            return Err(self.error("invalid literal"));
        }
        self.i += word.len();
        Ok(())
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Result<(), JsonError> {
        let b = self.b;
        let start = self.i;
        let mut i = start;
        if b[i] == b'-' {
            i += 1;
        }
        let digits = |mut i: usize| {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        match b.get(i) {
            Some(b'0') => {
                i += 1;
                if b.get(i).is_some_and(u8::is_ascii_digit) {
                    return Err(self.error_at(start, "invalid number (leading zero)"));
                }
            }
            Some(b'1'..=b'9') => i = digits(i + 1),
            _ => return Err(self.error_at(start, "invalid number")),
        }
        if b.get(i) == Some(&b'.') {
            let end = digits(i + 1);
            if end == i + 1 {
                return Err(self.error_at(start, "invalid number (no digit after '.')"));
            }
            i = end;
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let end = digits(i);
            if end == i {
                return Err(self.error_at(start, "invalid number (no digit in the exponent)"));
            }
            i = end;
        }
        self.i = i;
        Ok(())
    }

    fn error(&self, what: &str) -> JsonError {
        self.error_at(self.i, what)
    }

    fn error_at(&self, at: usize, what: &str) -> JsonError {
        JsonError::Invalid(format!("{what} at byte {at}"))
    }
}

/// The first index at or after `i` holding `"`, `\` or a control character (or the end).
/// Eight bytes a step: a byte is flagged when it equals `"` or `\` or is below 0x20; the
/// lowest flag is exact (borrows only reach bytes above a true match).
fn skip_plain_string_bytes(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    const QUOTE: u64 = u64::from_ne_bytes([b'"'; 8]);
    const BACKSLASH: u64 = u64::from_ne_bytes([b'\\'; 8]);
    const SPACE: u64 = u64::from_ne_bytes([0x20; 8]);
    while let Some(chunk) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
        let flags = zero(w ^ QUOTE) | zero(w ^ BACKSLASH) | (w.wrapping_sub(SPACE) & !w & HIGH);
        if flags != 0 {
            return i + (flags.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && !matches!(b[i], b'"' | b'\\' | 0..=0x1f) {
        i += 1;
    }
    i
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(src: &str, value: &str) -> String {
        let obj = Object::parse(src).unwrap();
        let mut out = Vec::new();
        obj.write_with_member(src, "sentiment", value, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn appends_member_preserving_every_original_byte() {
        // GIVEN a payload with odd spacing, escapes, big integers and exotic numbers
        let src = r#"{ "id" : 12345678901234567890123, "text":"caf\u00e9 \"ok\"", "x":1.50e+3 }"#;
        // WHEN the member is added
        let out = add(src, "{}");
        // THEN the original bytes are untouched and the member is last
        assert_eq!(
            out,
            r#"{ "id" : 12345678901234567890123, "text":"caf\u00e9 \"ok\"", "x":1.50e+3,"sentiment":{} }"#
        );
    }

    #[test]
    fn replaces_an_existing_member_wherever_it_stands() {
        // GIVEN payloads already carrying the field first, in the middle, last, or twice
        // WHEN the member is added THEN each earlier copy is gone and one new copy is last
        assert_eq!(
            add(r#"{"sentiment":1,"a":2}"#, "9"),
            r#"{"a":2,"sentiment":9}"#
        );
        assert_eq!(
            add(r#"{"a":1,"sentiment":1,"b":2}"#, "9"),
            r#"{"a":1,"b":2,"sentiment":9}"#
        );
        assert_eq!(
            add(r#"{"a":1,"sentiment":[1,{"x":"}"}]}"#, "9"),
            r#"{"a":1,"sentiment":9}"#
        );
        assert_eq!(
            add(r#"{"sentiment":1,"a":2,"sentiment":3}"#, "9"),
            r#"{"a":2,"sentiment":9}"#
        );
        assert_eq!(add(r#"{"sentiment":1}"#, "9"), r#"{"sentiment":9}"#);
        // An escaped key is the same key.
        assert_eq!(
            add(r#"{"sent\u0069ment":1,"a":2}"#, "9"),
            r#"{"a":2,"sentiment":9}"#
        );
    }

    #[test]
    fn handles_empty_and_pretty_printed_objects() {
        assert_eq!(add("{}", "9"), r#"{"sentiment":9}"#);
        assert_eq!(add(" { } \n", "9"), " {\"sentiment\":9 } \n");
        assert_eq!(
            add("{\n  \"a\": 1\n}\n", "9"),
            "{\n  \"a\": 1,\"sentiment\":9\n}\n"
        );
    }

    #[test]
    fn rejects_what_is_not_an_object_with_a_reason() {
        assert_eq!(Object::parse("[1]"), Err(JsonError::NotAnObject("array")));
        assert_eq!(Object::parse("42"), Err(JsonError::NotAnObject("number")));
        assert_eq!(
            Object::parse("\"s\""),
            Err(JsonError::NotAnObject("string"))
        );
        assert!(matches!(
            Object::parse("{\"a\":}"),
            Err(JsonError::Invalid(_))
        ));
        assert!(matches!(Object::parse("{} {}"), Err(JsonError::Invalid(_))));
        assert!(matches!(Object::parse(""), Err(JsonError::Invalid(_))));
    }

    #[test]
    fn refuses_nesting_past_the_limit_but_not_brackets_inside_strings() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert_eq!(Object::parse(&deep), Err(JsonError::TooDeep { limit: 128 }));
        let fine = format!("{{\"a\":\"{}\"}}", "[".repeat(200));
        assert!(Object::parse(&fine).is_ok());
    }

    #[test]
    fn get_returns_the_last_duplicate_raw() {
        let src = r#"{"t":"a","n":{"x":1},"t":"b"}"#;
        let obj = Object::parse(src).unwrap();
        assert_eq!(obj.get(src, "t"), Some("\"b\""));
        assert_eq!(obj.get(src, "n"), Some(r#"{"x":1}"#));
        assert_eq!(obj.get(src, "missing"), None);
    }

    #[test]
    fn string_lengths_count_escapes_as_serde_json_writes_them() {
        for s in [
            "",
            "plain",
            "é😀",
            "q\"uote",
            "back\\slash",
            "nl\n tab\t",
            "\u{1}\u{1f}",
            "\u{7f}",
        ] {
            assert_eq!(
                string_len(s),
                serde_json::to_string(s).unwrap().len(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn edits_keep_white_space_before_commas() {
        // GIVEN members with white space before their commas
        // WHEN the member is added THEN that white space stays where it was
        assert_eq!(
            add("{\"a\":1 ,\"b\" : [2] \n}", "9"),
            "{\"a\":1 ,\"b\" : [2],\"sentiment\":9 \n}"
        );
    }

    #[test]
    fn lone_surrogate_escapes_are_accepted_as_serde_json_accepts_them() {
        // Validation accepts them (serde_json does when it skips a string); picking a text out
        // of such a string is what fails, later, as "no text".
        assert!(Object::parse(r#"{"a":"\ud800"}"#).is_ok());
        assert!(serde_json::from_str::<serde::de::IgnoredAny>(r#"{"a":"\ud800"}"#).is_ok());
    }

    #[test]
    fn invalid_json_is_refused_with_what_and_where() {
        let cases = [
            ("", "the text ended where a value was expected at byte 0"),
            ("{\"a\":01}", "invalid number (leading zero) at byte 5"),
            (
                "{\"a\":1.}",
                "invalid number (no digit after '.') at byte 5",
            ),
            ("{\"a\":\"x\\q\"}", "invalid escape in a string at byte 7"),
            (
                "{\"a\":\"\u{1}\"}",
                "control character in a string at byte 6",
            ),
            ("{\"a\":1,}", "expected a string key at byte 7"),
            ("{\"a\" 1}", "expected ':' after a key at byte 5"),
            (
                "{\"a\":1 \"b\":2}",
                "expected ',' or '}' after an object member at byte 7",
            ),
            (
                "[1 2]",
                "expected ',' or ']' after an array element at byte 3",
            ),
            ("{\"a\":tru}", "invalid literal at byte 5"),
            ("{} x", "characters after the JSON value at byte 3"),
            ("{\"a\":\"abc", "the text ended inside a string at byte 9"),
        ];
        for (src, why) in cases {
            assert_eq!(
                Object::parse(src),
                Err(JsonError::Invalid(why.to_owned())),
                "{src:?}"
            );
        }
    }

    mod differential {
        //! The scanner against serde_json: the same texts accepted, and what it locates agrees
        //! with what serde_json parses.
        use super::super::*;
        use proptest::prelude::*;
        use serde_json::Value;

        fn ws() -> impl Strategy<Value = String> {
            prop::sample::select(vec!["", "", "", " ", "\n", " \t", "\r\n  "])
                .prop_map(str::to_owned)
        }

        fn string_lit() -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                "[a-z ]{0,6}",
                "[^\"\\\\\\x00-\\x1f]{0,3}",
                prop::sample::select(vec![
                    "\\\"",
                    "\\\\",
                    "\\/",
                    "\\b",
                    "\\f",
                    "\\n",
                    "\\r",
                    "\\t",
                    "\\u00e9",
                    "\\uD83D\\uDE00",
                    "{",
                    "}",
                    "[",
                    "]",
                    ",",
                    ":",
                ])
                .prop_map(str::to_owned),
            ];
            prop::collection::vec(piece, 0..5).prop_map(|p| format!("\"{}\"", p.concat()))
        }

        fn number_lit() -> impl Strategy<Value = String> {
            prop::sample::select(vec![
                "0",
                "-0",
                "7",
                "-12",
                "12345678901234567890123",
                "1.5",
                "-0.25",
                "1e9",
                "2E-3",
                "6.02e+23",
                "1.50e+3",
                "0.0",
            ])
            .prop_map(str::to_owned)
        }

        fn value() -> impl Strategy<Value = String> {
            let leaf = prop_oneof![
                string_lit(),
                number_lit(),
                prop::sample::select(vec!["true", "false", "null"]).prop_map(str::to_owned),
            ];
            leaf.prop_recursive(5, 48, 6, |inner| {
                prop_oneof![
                    prop::collection::vec((ws(), inner.clone(), ws()), 0..5).prop_map(|items| {
                        let items: Vec<String> = items
                            .into_iter()
                            .map(|(a, v, b)| format!("{a}{v}{b}"))
                            .collect();
                        format!("[{}]", items.join(","))
                    }),
                    prop::collection::vec((ws(), string_lit(), ws(), ws(), inner, ws()), 0..5)
                        .prop_map(|members| {
                            let members: Vec<String> = members
                                .into_iter()
                                .map(|(a, k, b, c, v, d)| format!("{a}{k}{b}:{c}{v}{d}"))
                                .collect();
                            format!("{{{}}}", members.join(","))
                        }),
                ]
            })
        }

        fn object() -> impl Strategy<Value = String> {
            (
                ws(),
                prop::collection::vec((string_lit(), value()), 0..6),
                ws(),
            )
                .prop_map(|(a, members, b)| {
                    let members: Vec<String> = members
                        .into_iter()
                        .map(|(k, v)| format!("{k}:{v}"))
                        .collect();
                    format!("{a}{{{}}}{b}", members.join(","))
                })
        }

        /// A text that is often almost JSON: a valid one with one character changed.
        fn mutated() -> impl Strategy<Value = String> {
            let junk = prop::sample::select(vec![
                "", "{", "}", "[", "]", "\"", ",", ":", "\\", "0", "1", "-", ".", "e", "+", "t",
                "n", "u", "x", " ", "\u{1}", "\u{7f}", "é",
            ]);
            (
                prop_oneof![object(), value()],
                any::<prop::sample::Index>(),
                junk,
                any::<bool>(),
            )
                .prop_map(|(text, at, junk, insert)| {
                    let mut chars: Vec<char> = text.chars().collect();
                    let i = at.index(chars.len() + 1);
                    if insert || i == chars.len() {
                        chars.splice(i..i, junk.chars());
                    } else {
                        chars.splice(i..=i, junk.chars());
                    }
                    chars.into_iter().collect()
                })
        }

        fn serde_accepts(src: &str) -> bool {
            serde_json::from_str::<serde::de::IgnoredAny>(src).is_ok()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn accepts_exactly_what_serde_json_accepts(src in prop_oneof![mutated(), object(), value()]) {
                let ours = Object::parse(&src);
                let accepted = !matches!(ours, Err(JsonError::Invalid(_)));
                prop_assert_eq!(accepted, serde_accepts(&src), "{:?}: {:?}", src, ours);
                let is_object = src.trim_start().starts_with('{');
                prop_assert_eq!(ours.is_ok(), accepted && is_object);
            }

            #[test]
            fn members_are_located_exactly(src in object()) {
                let obj = Object::parse(&src).unwrap();
                // The segments and the commas between them rebuild the object's inside.
                let inside: Vec<&str> =
                    obj.members.iter().map(|m| &src[m.segment_start..m.segment_end]).collect();
                if obj.members.is_empty() {
                    prop_assert!(src[obj.open + 1..obj.close].trim().is_empty());
                } else {
                    prop_assert_eq!(inside.join(","), &src[obj.open + 1..obj.close]);
                }
                // Each key and value is a JSON text of its own, and the last of each key is
                // the value serde_json keeps.
                let parsed: Value = serde_json::from_str(&src).unwrap();
                for m in &obj.members {
                    let key: String =
                        serde_json::from_str(&src[m.key.start - 1..m.key.end + 1]).unwrap();
                    prop_assert_eq!(m.key_escaped, src[m.key.clone()].contains('\\'));
                    let value: Value = serde_json::from_str(&src[m.value.clone()]).unwrap();
                    prop_assert_eq!(
                        obj.get(&src, &key).map(|raw| serde_json::from_str::<Value>(raw).unwrap()),
                        parsed.get(&key).cloned()
                    );
                    prop_assert!(src[m.value.end..m.segment_end].trim().is_empty());
                    let _ = value;
                }
            }

            #[test]
            fn an_added_member_is_the_only_change(src in object()) {
                let obj = Object::parse(&src).unwrap();
                let mut out = Vec::new();
                obj.write_with_member(&src, "sentiment", r#"{"label":"NEUTRAL"}"#, &mut out);
                let mut expected: Value = serde_json::from_str(&src).unwrap();
                expected
                    .as_object_mut()
                    .unwrap()
                    .insert("sentiment".into(), serde_json::json!({"label": "NEUTRAL"}));
                let got: Value = serde_json::from_slice(&out).unwrap();
                prop_assert_eq!(got, expected);
                if let Edit::Insert { at, .. } = obj.as_ref().edit(&src, "sentiment") {
                    // Nothing replaced: the original bytes are all there, in order.
                    let out = String::from_utf8(out).unwrap();
                    prop_assert!(out.starts_with(&src[..at]) && out.ends_with(&src[at..]));
                }
            }
        }
    }
}
