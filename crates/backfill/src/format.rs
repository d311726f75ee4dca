//! Input formats, how one is chosen for an input, and what every reader yields.

use std::io::{self, BufRead};
use std::str::FromStr;

use super::array::JsonArray;
use super::csv::{CsvReader, Schema};
// Re-exported: the fuzz checks and other callers name a reader's items through here.
pub use super::item::{Item, ReadItems};
use super::jsonl::JsonLines;

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
}
