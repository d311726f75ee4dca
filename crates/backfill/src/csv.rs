//! CSV with a header row: each row becomes a JSON object whose keys are the header's names, in
//! the header's order. Parsing (quotes, embedded newlines and commas, CRLF) is `csv_core`'s, the
//! `csv` crate's parser, driven here so that no row is ever held past the record limit: a row
//! whose fields (joined by commas) exceed it is parsed on and dropped, only counted, and becomes
//! a bad record; reading resumes at the next row. A quote that is never closed makes the rest of
//! the input one field, so one bad row. Held per row: at most the limit's bytes of fields and the
//! header's width plus one field ends, whatever the input.
//!
//! Types come from `--schema` (a JSON object of column → `string` | `integer` | `number` |
//! `boolean` | `json`) and, for columns it does not name, from each value on its own: `true` /
//! `false` → boolean, a JSON number literal → number (its text kept, so no precision is lost),
//! an empty field → null, anything else → string. Per-value inference needs no look-ahead and no
//! memory beyond the row; its cost is that one column may mix types across rows (an id column
//! with `42` and `42a`), which a schema pins down. A value that does not fit its schema type
//! makes the row a bad record naming the column. Columns the schema names that a file lacks are
//! ignored, so one schema can serve several files.

use std::collections::{HashMap, HashSet};
use std::io::{self, BufRead};
use std::path::Path;

use serde::Deserialize;

use super::item::{Item, RAW_SAMPLE_BYTES, ReadItems, sample};

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

/// The largest `--schema` file read: far beyond any real one (a column name and a type word per
/// column), small enough that a wrong path (a dump, `/dev/zero`) is refused, not read whole.
pub const MAX_SCHEMA_BYTES: u64 = 1024 * 1024;

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
    #[error("the schema {path} is over {MAX_SCHEMA_BYTES} bytes")]
    TooLarge { path: String },
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
        use std::io::Read as _;
        let shown = path.display().to_string();
        let io = |source| SchemaError::Io {
            path: shown.clone(),
            source,
        };
        let mut text = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_SCHEMA_BYTES + 1).read_to_end(&mut text))
            .map_err(io)?;
        if text.len() as u64 > MAX_SCHEMA_BYTES {
            return Err(SchemaError::TooLarge { path: shown });
        }
        serde_json::from_slice(&text)
            .map(Schema)
            .map_err(|source| SchemaError::Invalid {
                path: shown,
                source,
            })
    }
}

/// One row as parsed: its fields' bytes end to end and where each field ends.
#[derive(Debug, Default)]
struct Row {
    fields: Vec<u8>,
    ends: Vec<usize>,
    /// Bytes written to `fields`, and fields complete in `ends`.
    bytes: usize,
    len: usize,
    /// The 1-based line the row starts on.
    line: u64,
}

impl Row {
    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends[..self.len].iter().map(move |&end| {
            let field = &self.fields[start..end];
            start = end;
            field
        })
    }

    /// The row's fields joined by commas (the separators a parse keeps no trace of), lower bound
    /// while the row is still being read.
    fn joined_len(&self) -> usize {
        self.bytes + self.len.saturating_sub(1)
    }
}

/// What [`Rows::read`] found.
#[derive(Debug, PartialEq, Eq)]
enum Read {
    /// A row within the limits, in the [`Row`].
    Row,
    /// A row past a limit: the [`Row`] holds its start, the rest was only counted.
    TooLarge {
        bytes: u64,
        fields: u64,
    },
    End,
}

/// Space a row past its limits is parsed into and dropped.
const SCRATCH_BYTES: usize = 8 * 1024;
const SCRATCH_FIELDS: usize = 256;

/// CSV rows read with `csv_core` into buffers that never grow past the limits given.
struct Rows<R> {
    core: csv_core::Reader,
    input: R,
    done: bool,
    scratch: Vec<u8>,
    scratch_ends: Vec<usize>,
    /// The input's first bytes, read before anything is parsed so a leading UTF-8 BOM is
    /// dropped here, whatever the read buffer's size; `None` until then.
    head: Option<Vec<u8>>,
    /// Whether `core` has been given input: the first call gets one byte, so `csv_core`'s own
    /// BOM stripping (which works only when the buffer holds the whole BOM, and takes a buffer
    /// of exactly the BOM for the end of input) never acts.
    fed: bool,
}

impl<R: BufRead> Rows<R> {
    fn new(input: R) -> Self {
        Rows {
            // RFC 4180 with `csv`'s defaults: `,`, `"` doubled inside quotes, any of CR, LF and
            // CRLF ending a row; a UTF-8 BOM at the start is dropped.
            core: csv_core::Reader::new(),
            input,
            done: false,
            scratch: vec![0; SCRATCH_BYTES],
            scratch_ends: vec![0; SCRATCH_FIELDS],
            head: None,
            fed: false,
        }
    }

    /// Reads the input's first three bytes (fewer at its end) and drops them if they are a BOM.
    fn read_head(&mut self) -> io::Result<Vec<u8>> {
        let mut head = Vec::with_capacity(3);
        while head.len() < 3 {
            let buf = self.input.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            let n = buf.len().min(3 - head.len());
            head.extend_from_slice(&buf[..n]);
            self.input.consume(n);
        }
        if head == b"\xEF\xBB\xBF" {
            head.clear();
        }
        Ok(head)
    }

    /// Reads the next row into `row`: at most `max_bytes` of fields joined by commas and
    /// `max_fields` fields are kept; past either the row is read to its end and only counted.
    fn read(&mut self, row: &mut Row, max_bytes: usize, max_fields: usize) -> io::Result<Read> {
        (row.bytes, row.len, row.line) = (0, 0, self.core.line());
        if self.done {
            return Ok(Read::End);
        }
        let caps = Caps::new(max_bytes, max_fields);
        // Once past a limit: the bytes and fields counted beyond what `row` holds.
        let mut past: Past = None;
        if self.head.is_none() {
            self.head = Some(self.read_head()?);
        }
        loop {
            let res = self.feed(row, &mut past)?;
            if past.is_none() && (row.joined_len() > max_bytes || row.len > max_fields) {
                past = Some((0, 0));
            }
            let end = res == csv_core::ReadRecordResult::End;
            if let Some(read) = row.settle(res, &mut past, &caps) {
                self.done |= end;
                return Ok(read);
            }
        }
    }

    /// Gives `csv_core` the next input (the head first, and one byte on the first call), its
    /// output going into `row` within the limits and into the scratch buffers past them, and
    /// counts what it wrote.
    fn feed(&mut self, row: &mut Row, past: &mut Past) -> io::Result<csv_core::ReadRecordResult> {
        let head = self.head.as_mut().expect("head read");
        let from_head = !head.is_empty();
        let input: &[u8] = if from_head {
            head
        } else {
            self.input.fill_buf()?
        };
        let input = if self.fed {
            input
        } else {
            &input[..input.len().min(1)]
        };
        self.fed = true;
        let (res, nin, nout, nend) = match past {
            None => self.core.read_record(
                input,
                &mut row.fields[row.bytes..],
                &mut row.ends[row.len..],
            ),
            Some(_) => self
                .core
                .read_record(input, &mut self.scratch, &mut self.scratch_ends),
        };
        if from_head {
            head.drain(..nin);
        } else {
            self.input.consume(nin);
        }
        match past {
            None => (row.bytes, row.len) = (row.bytes + nout, row.len + nend),
            Some((bytes, fields)) => {
                (*bytes, *fields) = (*bytes + nout as u64, *fields + nend as u64)
            }
        }
        Ok(res)
    }
}

/// Once a row is past a limit: the bytes and fields counted beyond what the row holds.
type Past = Option<(u64, u64)>;

/// How far a row's buffers may grow while the row is within the limits.
struct Caps {
    field_bytes: usize,
    ends: usize,
}

impl Caps {
    fn new(max_bytes: usize, max_fields: usize) -> Self {
        // One of slack past what fits: `csv_core` reports a full buffer before it looks at the
        // next byte, so a row of exactly the limit (`max_bytes` bytes; as many as `max_bytes`
        // + 1 fields) fills its buffers without being past it. `max_fields` is already one more
        // than a row may have.
        Caps {
            field_bytes: max_bytes.saturating_add(1),
            ends: max_fields.min(max_bytes.saturating_add(2)),
        }
    }
}

impl Row {
    /// What `csv_core`'s answer means for the row: a full buffer grows (or the row is past
    /// the limit), and at the row's or the input's end, what was read.
    fn settle(
        &mut self,
        res: csv_core::ReadRecordResult,
        past: &mut Past,
        caps: &Caps,
    ) -> Option<Read> {
        use csv_core::ReadRecordResult as R;
        match res {
            R::InputEmpty => None,
            R::OutputFull if past.is_none() => {
                if self.fields.len() >= caps.field_bytes {
                    *past = Some((0, 0));
                } else {
                    grow(&mut self.fields, caps.field_bytes);
                }
                None
            }
            R::OutputEndsFull if past.is_none() => {
                if self.ends.len() >= caps.ends {
                    *past = Some((0, 0));
                } else {
                    grow(&mut self.ends, caps.ends);
                }
                None
            }
            R::OutputFull | R::OutputEndsFull => None,
            R::Record | R::End => Some(match *past {
                None if res == R::End => Read::End,
                None => Read::Row,
                Some((bytes, fields)) => {
                    let fields = self.len as u64 + fields;
                    Read::TooLarge {
                        bytes: self.bytes as u64 + bytes + fields.saturating_sub(1),
                        fields,
                    }
                }
            }),
        }
    }
}

/// Doubles a buffer (from 64 entries), never past `max` entries; called below `max`.
fn grow<T: Default + Clone>(buf: &mut Vec<T>, max: usize) {
    let len = (buf.len() * 2).max(64).min(max.max(1));
    buf.reserve_exact(len - buf.len());
    buf.resize(len, T::default());
}

pub struct CsvReader<R> {
    rows: Rows<R>,
    schema: Schema,
    /// Per column: its name as a JSON string (quoted, escaped) and its type, if the schema has one.
    columns: Option<Vec<(String, Option<ColumnType>)>>,
    row: Row,
    out: Vec<u8>,
    max_record_bytes: usize,
    done: bool,
}

impl<R: BufRead> CsvReader<R> {
    pub fn new(r: R, schema: Option<Schema>, max_record_bytes: usize) -> Self {
        CsvReader {
            rows: Rows::new(r),
            schema: schema.unwrap_or_default(),
            columns: None,
            row: Row::default(),
            out: Vec::new(),
            max_record_bytes,
            done: false,
        }
    }

    /// Reads the header row. `Err(reason)` when the input cannot be read as CSV with a header.
    fn read_header(&mut self) -> io::Result<Result<(), (u64, String)>> {
        match self
            .rows
            .read(&mut self.row, self.max_record_bytes, usize::MAX)?
        {
            Read::End => {
                self.done = true;
                return Ok(Ok(()));
            }
            Read::TooLarge { bytes, .. } => {
                return Ok(Err((
                    self.row.line,
                    format!(
                        "the header row is {bytes} bytes, over the {}-byte record limit",
                        self.max_record_bytes
                    ),
                )));
            }
            Read::Row => {}
        }
        let line = self.row.line;
        let mut names: Vec<String> = Vec::with_capacity(self.row.len);
        let mut seen = HashSet::with_capacity(self.row.len);
        for (i, field) in self.row.iter().enumerate() {
            let field = if i == 0 {
                field.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(field)
            } else {
                field
            };
            let Ok(name) = std::str::from_utf8(field) else {
                return Ok(Err((line, format!("header column {} is not UTF-8", i + 1))));
            };
            let name = name.trim();
            if name.is_empty() {
                return Ok(Err((line, format!("header column {} has no name", i + 1))));
            }
            if !seen.insert(name) {
                return Ok(Err((line, format!("header names column {name:?} twice"))));
            }
            names.push(name.to_owned());
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
        // Rows are held to the header's width plus one: what the header needed is not kept.
        self.row.ends.truncate(self.row.len + 1);
        self.row.ends.shrink_to_fit();
        Ok(Ok(()))
    }

    /// The current row as a JSON object in `out`, or why it cannot be one.
    fn row_to_json(&mut self) -> Result<(), String> {
        let columns = self.columns.as_ref().expect("header read");
        if self.row.len != columns.len() {
            return Err(format!(
                "{} fields; the header has {}",
                self.row.len,
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

    /// Bytes the reader holds for the row being read (its buffers' capacity).
    #[cfg(test)]
    fn held(&self) -> usize {
        self.row.fields.capacity()
            + self.row.ends.capacity() * std::mem::size_of::<usize>()
            + self.out.capacity()
    }
}

/// The row's fields as read, joined by commas, for the rejects file; for a row past the limit,
/// what was kept of it, the field it stopped in included.
fn raw_row(row: &Row, max_bytes: usize) -> Vec<u8> {
    let kept = row.ends[..row.len].last().copied().unwrap_or(0);
    let partial = (row.bytes > kept).then(|| &row.fields[kept..row.bytes]);
    let mut raw = Vec::new();
    for (i, f) in row.iter().chain(partial).enumerate() {
        if raw.len() >= RAW_SAMPLE_BYTES {
            break;
        }
        if i > 0 {
            raw.push(b',');
        }
        raw.extend_from_slice(f);
    }
    // A row past the limit holds at least `max_bytes` of it, more or less beyond depending on
    // where the read buffer ended: the sample stops at the limit, so it is the same either way.
    raw.truncate(max_bytes);
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
        let width = self.columns.as_ref().map_or(0, Vec::len);
        let read = match self
            .rows
            .read(&mut self.row, self.max_record_bytes, width + 1)
        {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        let line = self.row.line;
        match read {
            Read::End => {
                self.done = true;
                None
            }
            Read::TooLarge { bytes, fields } => Some(Ok(Item::Bad {
                line,
                reason: if bytes > self.max_record_bytes as u64 {
                    format!(
                        "the row is {bytes} bytes, over the {}-byte record limit",
                        self.max_record_bytes
                    )
                } else {
                    format!("{fields} fields; the header has {width}")
                },
                raw: raw_row(&self.row, self.max_record_bytes),
            })),
            Read::Row => Some(Ok(match self.row_to_json() {
                Ok(()) => Item::Record {
                    line,
                    data: self.out.clone(),
                },
                Err(reason) => Item::Bad {
                    line,
                    reason,
                    raw: raw_row(&self.row, self.max_record_bytes),
                },
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
    fn a_row_of_exactly_the_limit_is_within_it() {
        // GIVEN a header and a row of exactly 8 bytes each, and an 8-byte limit (a fuzz finding:
        // a full buffer was taken for a row past the limit)
        for capacity in [1, 3, 16] {
            let text = "abcdefgh\n\"1234\"\n";
            let input = io::BufReader::with_capacity(capacity, text.as_bytes());
            let mut r = CsvReader::new(input, None, 8);
            // WHEN they are read
            let items: Vec<Item> =
                std::iter::from_fn(|| r.next_item().map(Result::unwrap)).collect();
            // THEN the header is read and the row is judged by its JSON, not refused as a row
            let [
                Item::Bad {
                    line: 2, reason, ..
                },
            ] = &items[..]
            else {
                panic!("{items:?}")
            };
            assert!(reason.starts_with("the row's JSON is"), "{reason}");
        }
    }

    #[test]
    fn a_leading_bom_is_dropped_whatever_the_read_buffer() {
        // GIVEN a BOM before a quoted header (a fuzz finding: a 3-byte buffer holding exactly
        // the BOM read as the end of the input, and a 1- or 2-byte one kept it)
        let text = "\u{feff}\"id\",text\n1,hi\n";
        for capacity in 1..=16 {
            // WHEN it is read through a buffer of that size
            let input = io::BufReader::with_capacity(capacity, text.as_bytes());
            let mut r = CsvReader::new(input, None, 1_000);
            let items: Vec<Item> =
                std::iter::from_fn(|| r.next_item().map(Result::unwrap)).collect();
            // THEN the header is `id`, `text` and the one row a record
            assert_eq!(
                items,
                [Item::Record {
                    line: 2,
                    data: br#"{"id":1,"text":"hi"}"#.to_vec()
                }],
                "{capacity}-byte buffer"
            );
        }
    }

    #[test]
    fn a_rejected_rows_sample_does_not_depend_on_the_read_buffer() {
        // GIVEN a row over an 8-byte limit (a fuzz finding: the sample held what the last read
        // happened to copy)
        let text = "a,b,c,d\n8,4.5,1,true\n";
        let raws: Vec<Vec<u8>> = (1..=16)
            .map(|capacity| {
                // WHEN it is read through buffers of 1 to 16 bytes
                let input = io::BufReader::with_capacity(capacity, text.as_bytes());
                let mut r = CsvReader::new(input, None, 8);
                match r.next_item().unwrap().unwrap() {
                    Item::Bad { raw, .. } => raw,
                    other => panic!("{other:?}"),
                }
            })
            .collect();
        // THEN the sample is the row up to the limit every time
        assert!(raws.iter().all(|r| r == b"8,4.5,1,"), "{raws:?}");
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
    fn an_unterminated_200_mb_field_is_one_rejected_row_and_memory_stays_flat() {
        // GIVEN `id,text`, then a row whose quoted field opens and runs 200 MB to the end
        let cap = 1_048_576;
        let input = crate::item::Generated::new(b"id,text\n1,\"", b'x', 200 * 1024 * 1024, b"");
        let mut r = CsvReader::new(io::BufReader::new(input), None, cap);
        // WHEN it is read
        let item = r.next_item().unwrap().unwrap();
        // THEN the row is rejected on its line, saying it is over the limit
        let Item::Bad { line, reason, raw } = &item else {
            panic!("expected a bad row, got a record")
        };
        assert_eq!(*line, 2);
        assert!(
            reason.contains("over the 1048576-byte record limit"),
            "{reason}"
        );
        assert!(raw.starts_with(b"1,xxx") && raw.len() <= RAW_SAMPLE_BYTES);
        // AND the input ends there
        assert!(r.next_item().is_none());
        // AND the reader never held more than the limit and a constant
        assert!(r.held() <= cap + 64 * 1024, "{} bytes held", r.held());
    }

    #[test]
    fn rows_over_the_limit_are_rejected_and_reading_resumes_at_the_next_row() {
        // GIVEN a 20-byte limit, a row of 41 bytes, one with a long quoted multi-line field, one
        // of 10,000 fields, and good rows between them
        let wide = ",".repeat(9_999);
        let text = format!(
            "a,b\n1,{}\n2,3\n4,\"{}\n{}\"\n5,6\n{wide}\n7,8\n",
            "x".repeat(39),
            "y".repeat(30),
            "z".repeat(30)
        );
        let mut r = CsvReader::new(io::BufReader::with_capacity(16, text.as_bytes()), None, 20);
        let items: Vec<Item> = std::iter::from_fn(|| r.next_item().map(Result::unwrap)).collect();
        // THEN each big row is one bad record with its line, and the rows after it are read
        let bad = |i: usize| match &items[i] {
            Item::Bad { line, reason, .. } => (*line, reason.clone()),
            other => panic!("expected a bad row, got {other:?}"),
        };
        assert_eq!(items.len(), 6, "{items:?}");
        assert_eq!(
            bad(0),
            (
                2,
                "the row is 41 bytes, over the 20-byte record limit".to_owned()
            )
        );
        assert_eq!(json_of(&items[1]), json!({"a":2,"b":3}));
        assert_eq!(bad(2).0, 4);
        assert_eq!(json_of(&items[3]), json!({"a":5,"b":6}));
        assert!(matches!(items[3], Item::Record { line: 6, .. }));
        assert_eq!(bad(4).0, 7);
        assert_eq!(json_of(&items[5]), json!({"a":7,"b":8}));
        // AND a wide row within the byte limit says how wide it is
        let mut r = CsvReader::new("a,b\n1,2,3,4,5\n".as_bytes(), None, 1_000);
        let Some(Ok(Item::Bad { reason, raw, .. })) = r.next_item() else {
            panic!()
        };
        assert_eq!(reason, "5 fields; the header has 2");
        assert_eq!(raw, b"1,2,3");
        // AND the field ends held stay at the header's width plus one
        assert!(r.row.ends.capacity() <= 3, "{}", r.row.ends.capacity());
    }

    #[test]
    fn a_header_over_the_limit_is_reported_and_the_input_skipped() {
        let text = format!("{}\n1\n", "h".repeat(50));
        let mut r = CsvReader::new(text.as_bytes(), None, 20);
        let Some(Ok(Item::Bad { line, reason, .. })) = r.next_item() else {
            panic!()
        };
        assert_eq!(line, 1);
        assert!(
            reason.contains("header row is 50 bytes") && reason.ends_with("is not read"),
            "{reason}"
        );
        assert!(r.next_item().is_none());
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
    fn a_schema_file_over_the_limit_is_refused_without_reading_it_whole() {
        // GIVEN a schema file one byte over the limit (a valid JSON object, padded)
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        let padding = " ".repeat(MAX_SCHEMA_BYTES as usize - 12);
        std::fs::write(&p, format!("{{\"id\":\"json\"}}{padding}")).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), MAX_SCHEMA_BYTES + 1);
        // WHEN it is loaded THEN the error names the file and the limit
        let err = Schema::load(&p).unwrap_err().to_string();
        assert!(err.contains("s.json") && err.contains("1048576"), "{err}");
        // AND /dev/zero, which never ends, is refused the same way
        if Path::new("/dev/zero").exists() {
            let err = Schema::load(Path::new("/dev/zero"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("1048576"), "{err}");
        }
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
