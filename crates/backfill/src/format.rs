//! Input formats, how one is chosen for an input, and what every reader yields.

use std::io::{self, BufRead};
use std::str::FromStr;

use super::array::JsonArray;
use super::csv::{CsvReader, Schema};
use super::jsonl::JsonLines;

/// One input record as read: the JSON to put, or why that record cannot be put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Record {
        /// The 1-based line where the record starts.
        line: u64,
        data: Vec<u8>,
    },
    Bad {
        line: u64,
        reason: String,
        /// The record's text as read (cut to [`RAW_SAMPLE_BYTES`]), for the rejects file.
        raw: Vec<u8>,
    },
}

/// How much of a bad record's text goes to the rejects file.
pub const RAW_SAMPLE_BYTES: usize = 64 * 1024;

/// A bad record's text for the rejects file, cut to [`RAW_SAMPLE_BYTES`].
pub fn sample(raw: &[u8]) -> Vec<u8> {
    raw[..raw.len().min(RAW_SAMPLE_BYTES)].to_vec()
}

/// A source of [`Item`]s. An `Err` is an I/O failure of the input itself: the run stops.
/// A reader that meets a structural error it cannot resynchronise after (a JSON array with a
/// stray bracket) yields one [`Item::Bad`] saying so and then ends.
pub trait ReadItems {
    fn next_item(&mut self) -> Option<io::Result<Item>>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
    JsonArray,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "jsonl" | "ndjson" | "json-lines" => Ok(Format::JsonLines),
            "json" | "json-array" | "array" => Ok(Format::JsonArray),
            other => Err(format!(
                "unknown format {other:?}: use csv, jsonl (JSON Lines) or json (a JSON array)"
            )),
        }
    }
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::JsonLines => "jsonl",
            Format::JsonArray => "json",
        }
    }

    /// The format an input's name says, if it says one. `.json` is not decisive: files named so
    /// hold either an array or JSON Lines, so [`sniff`] decides.
    pub fn from_name(name: &str) -> Option<Format> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".csv") {
            Some(Format::Csv)
        } else if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
            Some(Format::JsonLines)
        } else {
            None
        }
    }
}

/// Looks at the first significant byte without consuming it: `[` is a JSON array, `{` JSON
/// Lines, anything else CSV. Only the reader's buffer is read, so no input is lost.
pub fn sniff<R: BufRead>(r: &mut R) -> io::Result<Format> {
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(Format::JsonLines);
        }
        let skip = buf
            .iter()
            .position(|b| !(b.is_ascii_whitespace() || matches!(b, 0xEF | 0xBB | 0xBF)));
        match skip {
            Some(i) => {
                return Ok(match buf[i] {
                    b'[' => Format::JsonArray,
                    b'{' => Format::JsonLines,
                    _ => Format::Csv,
                });
            }
            // All whitespace: drop it (it is not data in any format) and look further.
            None => {
                let n = buf.len();
                r.consume(n);
            }
        }
    }
}

/// The reader for `format` over `r`.
pub fn reader<'a, R: BufRead + 'a>(
    format: Format,
    r: R,
    schema: Option<&Schema>,
    max_record_bytes: usize,
) -> Box<dyn ReadItems + 'a> {
    match format {
        Format::Csv => Box::new(CsvReader::new(r, schema.cloned(), max_record_bytes)),
        Format::JsonLines => Box::new(JsonLines::new(r, max_record_bytes)),
        Format::JsonArray => Box::new(JsonArray::new(r, max_record_bytes)),
    }
}

/// Checks that `data` is one JSON object; the reason says what is wrong otherwise. Objects only:
/// the partition-key pointer and the pipeline's transform both need one.
pub fn check_object(data: &[u8]) -> Result<(), String> {
    // JSON is UTF-8 (RFC 8259 §8.1), and serde_json does not check the strings it skips: a
    // record with invalid UTF-8 in a string would be sent, and the transform would fail it.
    let text = std::str::from_utf8(data).map_err(|e| format!("invalid JSON: not UTF-8 ({e})"))?;
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        return Err(format!("invalid JSON: {e}"));
    }
    if data.first() != Some(&b'{') {
        return Err("not a JSON object".to_owned());
    }
    Ok(())
}

/// Inputs made on the fly for the memory tests: `head`, then `len` copies of `fill`, then
/// `tail`, without ever holding more than one read's worth.
#[cfg(test)]
pub(crate) struct Generated {
    pub head: Vec<u8>,
    pub fill: u8,
    pub len: u64,
    pub tail: Vec<u8>,
    pub at: u64,
}

#[cfg(test)]
impl Generated {
    pub fn new(head: &[u8], fill: u8, len: u64, tail: &[u8]) -> Self {
        Generated {
            head: head.to_vec(),
            fill,
            len,
            tail: tail.to_vec(),
            at: 0,
        }
    }
}

#[cfg(test)]
impl io::Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (head, fill) = (self.head.len() as u64, self.len);
        let total = head + fill + self.tail.len() as u64;
        let mut n = 0;
        while n < buf.len() && self.at < total {
            let at = self.at;
            let run = if at < head {
                let rest = &self.head[at as usize..];
                let k = rest.len().min(buf.len() - n);
                buf[n..n + k].copy_from_slice(&rest[..k]);
                k
            } else if at < head + fill {
                let k = ((head + fill - at) as usize).min(buf.len() - n);
                buf[n..n + k].fill(self.fill);
                k
            } else {
                let rest = &self.tail[(at - head - fill) as usize..];
                let k = rest.len().min(buf.len() - n);
                buf[n..n + k].copy_from_slice(&rest[..k]);
                k
            };
            n += run;
            self.at += run as u64;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_decide_csv_and_jsonl_and_content_decides_the_rest() {
        assert_eq!(Format::from_name("a/b.CSV"), Some(Format::Csv));
        assert_eq!(Format::from_name("x.ndjson"), Some(Format::JsonLines));
        assert_eq!(Format::from_name("x.json"), None);
        let sniffed = |s: &str| sniff(&mut s.as_bytes()).unwrap();
        assert_eq!(sniffed("  \n[{\"a\":1}]"), Format::JsonArray);
        assert_eq!(sniffed("\u{feff}{\"a\":1}\n"), Format::JsonLines);
        assert_eq!(sniffed("id,text\n1,hi\n"), Format::Csv);
        assert!("parquet".parse::<Format>().is_err());
    }

    #[test]
    fn sniffing_consumes_nothing_but_leading_whitespace() {
        // GIVEN a reader whose buffer is two bytes, so the data spans several buffers
        let data = b"   \n  [1]";
        let mut r = std::io::BufReader::with_capacity(2, &data[..]);
        assert_eq!(sniff(&mut r).unwrap(), Format::JsonArray);
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut r, &mut rest).unwrap();
        assert_eq!(rest, "[1]");
    }

    #[test]
    fn a_record_that_is_not_utf8_is_not_json() {
        // GIVEN an object whose string holds a byte that is not UTF-8 (serde_json skips strings
        // without checking them; found by fuzz/regressions/put_jsonl/not-utf8-accepted)
        // WHEN checked THEN it is refused, so `put` never sends what the transform would fail
        let err = check_object(b"{\"a\":\"\xff\"}").unwrap_err();
        assert!(err.starts_with("invalid JSON: not UTF-8"), "{err}");
    }

    #[test]
    fn only_objects_pass() {
        assert!(check_object(br#"{"a":[1,2]}"#).is_ok());
        assert_eq!(check_object(b"[1]").unwrap_err(), "not a JSON object");
        assert!(
            check_object(br#"{"a":}"#)
                .unwrap_err()
                .contains("invalid JSON")
        );
    }
}
