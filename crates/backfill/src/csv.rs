//! CSV with a header row: each row becomes a JSON object whose keys are the header's names, in
//! the header's order. Parsing (quotes, embedded newlines and commas, CRLF) is the `csv` crate's.
//!
//! Types come from `--schema` (a JSON object of column → `string` | `integer` | `number` |
//! `boolean` | `json`) and, for columns it does not name, from each value on its own: `true` /
//! `false` → boolean, a JSON number literal → number (its text kept, so no precision is lost),
//! an empty field → null, anything else → string. Per-value inference needs no look-ahead and no
//! memory beyond the row; its cost is that one column may mix types across rows (an id column
//! with `42` and `42a`), which a schema pins down. A value that does not fit its schema type
//! makes the row a bad record naming the column. Columns the schema names that a file lacks are
//! ignored, so one schema can serve several files.

use std::collections::HashMap;
use std::io::{self, BufRead};
use std::path::Path;

use serde::Deserialize;

use super::format::{Item, ReadItems, sample};

/// A column's type in a `--schema` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    String,
    Integer,
    Number,
    Boolean,
    /// The field holds JSON (an array, an object…), embedded as is.
    Json,
}

/// Column name → type, read from `--schema FILE`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema(pub HashMap<String, ColumnType>);

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("reading the schema {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the schema {path} is not a JSON object of column → type (string, integer, number, boolean, json): {source}"
    )]
    Invalid {
        path: String,
        source: serde_json::Error,
    },
}

impl Schema {
    pub fn load(path: &Path) -> Result<Schema, SchemaError> {
        let shown = path.display().to_string();
        let text = std::fs::read(path).map_err(|source| SchemaError::Io {
            path: shown.clone(),
            source,
        })?;
        serde_json::from_slice(&text)
            .map(Schema)
            .map_err(|source| SchemaError::Invalid {
                path: shown,
                source,
            })
    }
}

pub struct CsvReader<R> {
    rows: csv::Reader<R>,
    schema: Schema,
    /// Per column: its name as a JSON string (quoted, escaped) and its type, if the schema has one.
    columns: Option<Vec<(String, Option<ColumnType>)>>,
    row: csv::ByteRecord,
    out: Vec<u8>,
    max_record_bytes: usize,
    done: bool,
}

impl<R: BufRead> CsvReader<R> {
    pub fn new(r: R, schema: Option<Schema>, max_record_bytes: usize) -> Self {
        CsvReader {
            // Headers are read here, not by the crate, so the header's problems are reported
            // like any other; flexible, so a short or long row is a bad record, not an error
            // that ends the file.
            rows: csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(r),
            schema: schema.unwrap_or_default(),
            columns: None,
            row: csv::ByteRecord::new(),
            out: Vec::new(),
            max_record_bytes,
            done: false,
        }
    }

    /// Reads the header row. `Err(reason)` when the input cannot be read as CSV with a header.
    fn read_header(&mut self) -> io::Result<Result<(), (u64, String)>> {
        let mut header = csv::ByteRecord::new();
        match self.rows.read_byte_record(&mut header) {
            Ok(false) => {
                self.done = true;
                return Ok(Ok(()));
            }
            Ok(true) => {}
            Err(e) => return into_io(e).map(|(line, reason)| Err((line, reason))),
        }
        let mut names: Vec<String> = Vec::with_capacity(header.len());
        for (i, field) in header.iter().enumerate() {
            let field = if i == 0 {
                field.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(field)
            } else {
                field
            };
            let Ok(name) = std::str::from_utf8(field) else {
                return Ok(Err((1, format!("header column {} is not UTF-8", i + 1))));
            };
            let name = name.trim().to_owned();
            if name.is_empty() {
                return Ok(Err((1, format!("header column {} has no name", i + 1))));
            }
            if names.contains(&name) {
                return Ok(Err((1, format!("header names column {name:?} twice"))));
            }
            names.push(name);
        }
        self.columns = Some(
            names
                .into_iter()
                .map(|n| {
                    let ty = self.schema.0.get(&n).copied();
                    (serde_json::to_string(&n).expect("a string serialises"), ty)
                })
                .collect(),
        );
        Ok(Ok(()))
    }

    /// The current row as a JSON object in `out`, or why it cannot be one.
    fn row_to_json(&mut self) -> Result<(), String> {
        let columns = self.columns.as_ref().expect("header read");
        if self.row.len() != columns.len() {
            return Err(format!(
                "{} fields; the header has {}",
                self.row.len(),
                columns.len()
            ));
        }
        self.out.clear();
        self.out.push(b'{');
        for (i, ((key, ty), field)) in columns.iter().zip(self.row.iter()).enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.out.extend_from_slice(key.as_bytes());
            self.out.push(b':');
            let text = std::str::from_utf8(field)
                .map_err(|_| format!("column {key}: the value is not UTF-8"))?;
            write_value(&mut self.out, *ty, text).map_err(|e| format!("column {key}: {e}"))?;
        }
        self.out.push(b'}');
        if self.out.len() > self.max_record_bytes {
            return Err(format!(
                "the row's JSON is {} bytes; the record limit is {}",
                self.out.len(),
                self.max_record_bytes
            ));
        }
        Ok(())
    }
}

/// A csv error: I/O errors end the run; parse errors become a bad row at their line.
fn into_io(e: csv::Error) -> io::Result<(u64, String)> {
    let line = e.position().map_or(0, |p| p.line());
    if !e.is_io_error() {
        return Ok((line, e.to_string()));
    }
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Err(io),
        _ => unreachable!("is_io_error checked"),
    }
}

/// The row's fields as read, joined by commas, for the rejects file.
fn raw_row(row: &csv::ByteRecord) -> Vec<u8> {
    let mut raw = Vec::new();
    for (i, f) in row.iter().enumerate() {
        if i > 0 {
            raw.push(b',');
        }
        raw.extend_from_slice(f);
    }
    sample(&raw)
}

impl<R: BufRead> ReadItems for CsvReader<R> {
    fn next_item(&mut self) -> Option<io::Result<Item>> {
        if self.done {
            return None;
        }
        if self.columns.is_none() {
            match self.read_header() {
                Err(e) => return Some(Err(e)),
                Ok(Err((line, reason))) => {
                    // Without a header no row can be named: the file is reported and skipped.
                    self.done = true;
                    return Some(Ok(Item::Bad {
                        line,
                        reason: format!("{reason}; the rest of this input is not read"),
                        raw: Vec::new(),
                    }));
                }
                Ok(Ok(())) if self.done => return None,
                Ok(Ok(())) => {}
            }
        }
        match self.rows.read_byte_record(&mut self.row) {
            Ok(false) => {
                self.done = true;
                None
            }
            Ok(true) => {
                let line = self.row.position().map_or(0, |p| p.line());
                Some(Ok(match self.row_to_json() {
                    Ok(()) => Item::Record {
                        line,
                        data: self.out.clone(),
                    },
                    Err(reason) => Item::Bad {
                        line,
                        reason,
                        raw: raw_row(&self.row),
                    },
                }))
            }
            Err(e) => Some(into_io(e).map(|(line, reason)| Item::Bad {
                line,
                reason,
                raw: Vec::new(),
            })),
        }
    }
}

/// Writes `text` as JSON of type `ty` (`None`: inferred from the value itself).
pub fn write_value(out: &mut Vec<u8>, ty: Option<ColumnType>, text: &str) -> Result<(), String> {
    let t = text.trim();
    match ty {
        Some(ColumnType::String) => write_string(out, text),
        None if t.is_empty() => out.extend_from_slice(b"null"),
        None if t == "true" || t == "false" => out.extend_from_slice(t.as_bytes()),
        None if is_json_number(t) => out.extend_from_slice(t.as_bytes()),
        None => write_string(out, text),
        Some(_) if t.is_empty() => out.extend_from_slice(b"null"),
        Some(ColumnType::Boolean) => match t.to_ascii_lowercase().as_str() {
            "true" => out.extend_from_slice(b"true"),
            "false" => out.extend_from_slice(b"false"),
            _ => return Err(format!("{t:?} is not a boolean (true or false)")),
        },
        Some(ColumnType::Integer) => {
            let digits = t.strip_prefix('+').unwrap_or(t);
            let (sign, digits) = match digits.strip_prefix('-') {
                Some(d) => ("-", d),
                None => ("", digits),
            };
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("{t:?} is not an integer"));
            }
            // Leading zeros are not JSON; the digits are kept, so integers of any size survive.
            let digits = digits.trim_start_matches('0');
            if digits.is_empty() {
                out.push(b'0');
            } else {
                out.extend_from_slice(sign.as_bytes());
                out.extend_from_slice(digits.as_bytes());
            }
        }
        Some(ColumnType::Number) => {
            let n = t.strip_prefix('+').unwrap_or(t);
            if !is_json_number(n) {
                return Err(format!("{t:?} is not a number"));
            }
            out.extend_from_slice(n.as_bytes());
        }
        Some(ColumnType::Json) => {
            if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(t) {
                return Err(format!("not JSON: {e}"));
            }
            out.extend_from_slice(t.as_bytes());
        }
    }
    Ok(())
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
}

/// Whether `s` is exactly a JSON number: `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`.
pub fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn read_all(text: &str, schema: Option<Schema>) -> Vec<Item> {
        let mut r = CsvReader::new(text.as_bytes(), schema, 1_000);
        std::iter::from_fn(|| r.next_item().map(Result::unwrap)).collect()
    }

    fn json_of(item: &Item) -> Value {
        match item {
            Item::Record { data, .. } => serde_json::from_slice(data).unwrap(),
            other => panic!("expected a record, got {other:?}"),
        }
    }

    fn schema(pairs: &[(&str, ColumnType)]) -> Schema {
        Schema(pairs.iter().map(|(k, t)| ((*k).to_owned(), *t)).collect())
    }

    #[test]
    fn values_are_typed_one_by_one_without_a_schema() {
        // GIVEN a header and rows mixing numbers, booleans, blanks, text and CSV quoting
        let text = "id,price,ok,note,zip\n\
                    1,2.50,true,\"hello, \"\"world\"\"\",01234\n\
                    18446744073709551617,-1e3,false,,12\n\
                    x7,NaN,True,\"two\nlines\",\n";
        let items = read_all(text, None);
        assert_eq!(items.len(), 3);
        // THEN numbers keep their literal text, leading-zero codes stay strings, blanks are null
        assert_eq!(
            items[0],
            Item::Record {
                line: 2,
                data: br#"{"id":1,"price":2.50,"ok":true,"note":"hello, \"world\"","zip":"01234"}"#
                    .to_vec()
            }
        );
        let Item::Record { data, .. } = &items[1] else {
            panic!()
        };
        assert!(
            std::str::from_utf8(data)
                .unwrap()
                .starts_with(r#"{"id":18446744073709551617,"price":-1e3,"ok":false,"note":null"#)
        );
        // AND what is not exactly a JSON literal stays a string
        assert_eq!(
            json_of(&items[2]),
            json!({"id":"x7","price":"NaN","ok":"True","note":"two\nlines","zip":null})
        );
    }

    #[test]
    fn a_schema_fixes_the_types_and_a_value_that_does_not_fit_is_a_bad_row() {
        let s = schema(&[
            ("id", ColumnType::String),
            ("n", ColumnType::Integer),
            ("ok", ColumnType::Boolean),
            ("tags", ColumnType::Json),
            ("x", ColumnType::Number),
        ]);
        let text = "id,n,ok,tags,x,free\n\
                    007,+0042,TRUE,\"[1,\"\"a\"\"]\",+1.5,3\n\
                    8,,,,,\n\
                    9,4.5,true,[],1,\n";
        let items = read_all(text, Some(s));
        assert_eq!(
            json_of(&items[0]),
            json!({"id":"007","n":42,"ok":true,"tags":[1,"a"],"x":1.5,"free":3})
        );
        assert_eq!(
            json_of(&items[1]),
            json!({"id":"8","n":null,"ok":null,"tags":null,"x":null,"free":null})
        );
        assert!(
            matches!(&items[2], Item::Bad { line: 4, reason, .. } if reason == "column \"n\": \"4.5\" is not an integer"),
            "{:?}",
            items[2]
        );
    }

    #[test]
    fn rows_of_the_wrong_width_are_bad_with_their_line_and_reading_goes_on() {
        let text = "a,b\n1,2\n1,2,3\n\"multi\nline\"\n5,6\n";
        let items = read_all(text, None);
        assert_eq!(items.len(), 4);
        assert!(
            matches!(&items[1], Item::Bad { line: 3, reason, raw } if reason == "3 fields; the header has 2" && raw == b"1,2,3")
        );
        assert!(matches!(&items[2], Item::Bad { line: 4, .. }));
        assert_eq!(json_of(&items[3]), json!({"a":5,"b":6}));
        assert!(matches!(items[3], Item::Record { line: 6, .. }));
    }

    #[test]
    fn header_problems_are_reported_once() {
        let items = read_all("a,a\n1,2\n", None);
        assert!(
            matches!(&items[..], [Item::Bad { line: 1, reason, .. }] if reason.contains("\"a\" twice"))
        );
        // One schema may serve several files: a column a file lacks is not an error.
        let items = read_all("a,b\n1,2\n", Some(schema(&[("c", ColumnType::Integer)])));
        assert_eq!(json_of(&items[0]), json!({"a":1,"b":2}));
        assert!(read_all("", None).is_empty());
        assert!(read_all("a,b\n", None).is_empty());
    }

    #[test]
    fn schemas_load_from_json_and_name_bad_types() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        std::fs::write(&p, r#"{"id":"integer","tags":"json"}"#).unwrap();
        let s = Schema::load(&p).unwrap();
        assert_eq!(s.0["id"], ColumnType::Integer);
        std::fs::write(&p, r#"{"id":"int"}"#).unwrap();
        let err = Schema::load(&p).unwrap_err().to_string();
        assert!(err.contains("unknown variant `int`"), "{err}");
    }

    #[test]
    fn json_numbers_are_recognised_exactly() {
        for ok in ["0", "-0", "12", "1.5", "-1e3", "2E+10", "0.001"] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in ["", "-", "01", "1.", ".5", "1e", "+1", "0x10", "NaN", "1 2"] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }
}
