//! What the checks share: cutting a fuzz input into control bytes and data, and oracles over
//! JSON text that do not go through the code under test.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

/// A fuzz input read front to back: control bytes first, then data.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }

    /// The next byte; 0 once the input is used up.
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// Up to `n` bytes.
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    /// The bytes up to the next `sep` (consumed, not returned), or the rest.
    pub fn until(&mut self, sep: u8) -> &'a [u8] {
        match self.data.iter().position(|&b| b == sep) {
            Some(i) => {
                let head = &self.data[..i];
                self.data = &self.data[i + 1..];
                head
            }
            None => self.take(self.data.len()),
        }
    }

    pub fn rest(self) -> &'a [u8] {
        self.data
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// Whether serde_json accepts `text` as one JSON text (any value, any depth).
pub fn serde_accepts(text: &str) -> bool {
    serde_json::from_str::<IgnoredAny>(text).is_ok()
}

/// JSON's white space (RFC 8259): what may stand between tokens.
pub fn is_json_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

pub fn all_json_ws(s: &[u8]) -> bool {
    s.iter().copied().all(is_json_ws)
}

/// A key's identity: its decoded text, or (for a key serde_json cannot decode, such as one with
/// a lone surrogate escape) its raw text, marked so it never equals a decoded name.
pub fn key_id(quoted: &str) -> String {
    serde_json::from_str::<String>(quoted).unwrap_or_else(|_| format!("\u{0}raw {quoted}"))
}

/// A JSON string literal for `s`.
pub fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a str serialises")
}

/// A top-level object's members as serde_json reads them, raw key and raw value, in order.
struct RawObject<'a>(Vec<(&'a str, &'a str)>);

impl<'de> Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = RawObject<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<&'de RawValue, &'de RawValue>()? {
                    out.push((k.get(), v.get()));
                }
                Ok(RawObject(out))
            }
        }
        d.deserialize_map(Members)
    }
}

/// serde_json's reading of a top-level object as key → the value's raw text, the last of
/// duplicate keys kept (as every JSON parser here keeps it); `None` if it is not one.
pub fn serde_members(text: &str) -> Option<BTreeMap<String, &str>> {
    let obj: RawObject<'_> = serde_json::from_str(text).ok()?;
    Some(obj.0.into_iter().map(|(k, v)| (key_id(k), v)).collect())
}

/// The same, every member in order, duplicates included.
pub fn serde_member_list(text: &str) -> Option<Vec<(String, &str)>> {
    let obj: RawObject<'_> = serde_json::from_str(text).ok()?;
    Some(obj.0.into_iter().map(|(k, v)| (key_id(k), v)).collect())
}

/// The deepest nesting of brackets in `text`, strings skipped, validity ignored: the depth any
/// valid prefix of it reaches is at most this.
pub fn bracket_depth(text: &[u8]) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0, false, false);
    for &b in text {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// `text` (valid JSON) with the white space between its tokens removed.
pub fn minify(text: &str) -> String {
    let (mut out, mut in_string, mut escaped) = (String::with_capacity(text.len()), false, false);
    for c in text.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            out.push(c);
            continue;
        }
        match c {
            ' ' | '\t' | '\n' | '\r' => {}
            '"' => {
                in_string = true;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// One current-thread runtime per thread, with time (the retry driver's timeouts need it).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    thread_local! {
        static RT: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a current-thread runtime");
    }
    RT.with(|rt| rt.block_on(f))
}

/// JSON equality with floats compared to within a few ulps: serde_json's default float parsing
/// is best-effort, so a float written and read back may move by one.
pub fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if x == y {
                return true;
            }
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs()),
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// The items of a page that must become records (`has_id`), after checking that `read` has
/// one record per such item (`what` names them) and rejected the others.
pub fn records_of<'a>(
    read: &ks_sources::http::pager::PageRead,
    items: &'a [serde_json::Value],
    has_id: impl Fn(&serde_json::Value) -> bool,
    what: &str,
) -> Vec<&'a serde_json::Value> {
    let good: Vec<_> = items.iter().filter(|i| has_id(i)).collect();
    assert_eq!(
        read.records.len(),
        good.len(),
        "one record per {what} with an id"
    );
    assert_eq!(
        read.rejected.len(),
        items.len() - good.len(),
        "the others rejected"
    );
    good
}
