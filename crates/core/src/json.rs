//! Byte-exact editing of a JSON object.
//!
//! The transform must hand back the producer's bytes untouched (key order, number formatting,
//! escapes, integers beyond f64) with one member added. Re-serialising a parsed value cannot
//! promise that, so we validate with serde_json and then locate the top-level members by
//! position and splice bytes.

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
    /// Whether this member's key, unescaped, is `name`.
    pub fn key_is(&self, src: &str, name: &str) -> bool {
        let raw = &src[self.key.clone()];
        if !self.key_escaped {
            return raw == name;
        }
        // The text was validated, so the quoted key always decodes.
        serde_json::from_str::<String>(&src[self.key.start - 1..self.key.end + 1])
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

impl Object {
    /// Validates `src` as JSON and, if it is an object, locates its top-level members.
    pub fn parse(src: &str) -> Result<Self, JsonError> {
        // Depth first: it is a cheap pass and keeps every later parse of a member inside
        // serde_json's recursion limit.
        check_depth(src.as_bytes(), MAX_JSON_NESTING_DEPTH)?;
        serde_json::from_str::<serde::de::IgnoredAny>(src)
            .map_err(|e| JsonError::Invalid(e.to_string()))?;
        let b = src.as_bytes();
        let open = skip_ws(b, 0);
        match b[open] {
            b'{' => {}
            b'[' => return Err(JsonError::NotAnObject("array")),
            b'"' => return Err(JsonError::NotAnObject("string")),
            b't' | b'f' => return Err(JsonError::NotAnObject("boolean")),
            b'n' => return Err(JsonError::NotAnObject("null")),
            _ => return Err(JsonError::NotAnObject("number")),
        }
        // From here on the text is known-valid JSON, so the scan only needs to respect
        // strings and brackets.
        let mut members = Vec::new();
        let mut pos = open + 1;
        loop {
            let segment_start = pos;
            let key_start = skip_ws(b, pos);
            if b[key_start] == b'}' {
                return Ok(Object {
                    open,
                    close: key_start,
                    members,
                });
            }
            let key_end = string_end(b, key_start);
            // Keys are compared in place: most have no escapes, so no allocation per member.
            let key = key_start + 1..key_end - 1;
            let key_escaped = src[key.clone()].contains('\\');
            let colon = skip_ws(b, key_end);
            let value_start = skip_ws(b, colon + 1);
            let value_end = value_end(b, value_start);
            let delim = skip_ws(b, value_end);
            members.push(Member {
                segment_start,
                key,
                key_escaped,
                value: value_start..value_end,
                segment_end: delim,
            });
            if b[delim] == b'}' {
                return Ok(Object {
                    open,
                    close: delim,
                    members,
                });
            }
            pos = delim + 1;
        }
    }

    /// The last member named `key` (JSON parsers keep the last of duplicate keys).
    pub fn get<'s>(&self, src: &'s str, key: &str) -> Option<&'s str> {
        self.members
            .iter()
            .rev()
            .find(|m| m.key_is(src, key))
            .map(|m| &src[m.value.clone()])
    }

    /// Writes `src` with every member named `name` removed and `"name":value_json` appended as
    /// the object's last member. Everything else, white space included, is copied as it was.
    pub fn write_with_member(&self, src: &str, name: &str, value_json: &str, out: &mut Vec<u8>) {
        let kept: Vec<&Member> = self
            .members
            .iter()
            .filter(|m| !m.key_is(src, name))
            .collect();
        out.extend_from_slice(&src.as_bytes()[..=self.open]);
        let mut tail_ws = &src[self.open + 1..self.close];
        for (i, m) in kept.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&src.as_bytes()[m.segment_start..m.value.end]);
            tail_ws = &src[m.value.end..m.segment_end];
        }
        if !kept.is_empty() {
            out.push(b',');
        } else if self.members.is_empty() {
            // `{ }`: keep the inner white space before the closing brace.
        } else {
            // Every member was the one replaced; its white space goes with it.
            tail_ws = "";
        }
        write_json_string(name, out);
        out.push(b':');
        out.extend_from_slice(value_json.as_bytes());
        out.extend_from_slice(tail_ws.as_bytes());
        out.extend_from_slice(&src.as_bytes()[self.close..]);
    }
}

/// Appends `s` as a JSON string literal.
pub fn write_json_string(s: &str, out: &mut Vec<u8>) {
    // Writing to a Vec cannot fail.
    serde_json::to_writer(&mut *out, s).expect("serialising a str to a Vec");
}

fn check_depth(b: &[u8], limit: usize) -> Result<(), JsonError> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i = string_end(b, i);
                continue;
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return Err(JsonError::TooDeep { limit });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// `b[start]` is an opening quote; returns the index just past the closing quote
/// (or the end of input for an unterminated string).
fn string_end(b: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// The index just past the value starting at `start` (valid JSON assumed).
fn value_end(b: &[u8], start: usize) -> usize {
    match b[start] {
        b'"' => string_end(b, start),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = start;
            while i < b.len() {
                match b[i] {
                    b'"' => {
                        i = string_end(b, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            b.len()
        }
        _ => {
            let mut i = start;
            while i < b.len() && !matches!(b[i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                i += 1;
            }
            i
        }
    }
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
}
