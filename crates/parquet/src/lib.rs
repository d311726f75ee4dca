//! The enriched record as Apache Parquet, the way Firehose's record format conversion writes it
//! (OutputFormat=parquet): one Arrow schema mirroring the Glue table `posts` of
//! infra/template.yaml, [`encode`] for a buffer of delivered NDJSON and [`decode`] for the report.
//!
//! Firehose deserialises each record with the OpenX JSON SerDe against the Glue table's columns,
//! then serialises with the Parquet SerDe. [`encode`] follows the SerDe's documented behaviour:
//! a member the table lacks is ignored, a column the record lacks is null, keys match columns
//! case-insensitively, and a record whose values do not fit the column types is not written but
//! returned as a [`Failure`] (Firehose writes those under `format-conversion-failed/`).
//! <https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion.html>
//! <https://docs.aws.amazon.com/firehose/latest/APIReference/API_OpenXJsonSerDe.html>
//!
//! A crate of its own: the local Firehose writes with it, the purge rewrites with it, the
//! report reads with it, and none of them needs the others to.

/// Firehose appends this to the name of an object it converted to Parquet.
pub const PARQUET_EXTENSION: &str = ".parquet";

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray as _;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, ListArray, RecordBatch, StringArray,
    StructArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{ArrowError, DataType, Field, Fields, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::basic::Compression;
use parquet::file::properties::{WriterProperties, WriterVersion};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The column of the sentiment struct: the transform's default `SENTIMENT_FIELD`, and the
/// template's `SentimentField` default.
pub const SENTIMENT_COLUMN: &str = "sentiment";

/// ParquetSerDe's default codec is SNAPPY.
/// <https://docs.aws.amazon.com/firehose/latest/APIReference/API_ParquetSerDe.html>
pub const COMPRESSION: Compression = Compression::SNAPPY;
/// ParquetSerDe's default page size, 1 MiB (same page).
pub const PAGE_SIZE_BYTES: usize = 1024 * 1024;
/// ParquetSerDe's default writer version, V1 (same page).
pub const WRITER_VERSION: WriterVersion = WriterVersion::PARQUET_1_0;

/// The first and last four bytes of every Parquet file.
pub const MAGIC: &[u8; 4] = b"PAR1";

/// Error codes of records that could not be converted. The conversion error page documents the
/// error record's fields but not the codes; these are the codes Firehose writes.
/// <https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion-error-handling.html>
pub mod codes {
    /// The record is not JSON.
    pub const PARSE_ERROR: &str = "DataFormatConversion.ParseError";
    /// The record is JSON but not an object, is empty, or a value does not fit its column.
    pub const MALFORMED_DATA: &str = "DataFormatConversion.MalformedData";
}

fn text(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn bigint(name: &str) -> Field {
    Field::new(name, DataType::Int64, true)
}

fn double(name: &str) -> Field {
    Field::new(name, DataType::Float64, true)
}

/// The enriched record: the producer's post (the synthetic source's fields, Mastodon's
/// `language` and `content`, Bluesky's `did`, `rkey`, `cid`, `time_us`, `langs`, `reply_to`), then the member the transform adds. Every column is nullable: a
/// record without a member reads as null, as in the Glue table.
pub fn schema() -> SchemaRef {
    let user = Fields::from(vec![
        text("id"),
        text("username"),
        text("display_name"),
        bigint("followers_count"),
        bigint("following_count"),
    ]);
    let scores = Fields::from(vec![
        double("positive"),
        double("negative"),
        double("neutral"),
        double("mixed"),
    ]);
    let sentiment = Fields::from(vec![
        text("label"),
        Field::new("scores", DataType::Struct(scores), true),
        text("model"),
        text("error"),
    ]);
    Arc::new(Schema::new(vec![
        text("id"),
        text("created_at"),
        text("lang"),
        text("language"),
        text("text"),
        text("content"),
        text("url"),
        Field::new("user", DataType::Struct(user), true),
        // Strings: Mastodon's tag objects read as their JSON text, the synthetic tags as is.
        Field::new("tags", DataType::new_list(DataType::Utf8, true), true),
        bigint("replies_count"),
        bigint("reblogs_count"),
        bigint("favourites_count"),
        Field::new("sensitive", DataType::Boolean, true),
        text("visibility"),
        // Bluesky's (the jetstream source): `id` is the post's at:// URI.
        text("did"),
        text("rkey"),
        text("cid"),
        bigint("time_us"),
        Field::new("langs", DataType::new_list(DataType::Utf8, true), true),
        text("reply_to"),
        text("source"),
        // What an author changed (the jetstream source's edits, deletions and account
        // records): `update` on an edited post; `delete` and `account` records go to the
        // deletions area, converted with this schema like every record.
        text("op"),
        text("collection"),
        Field::new("active", DataType::Boolean, true),
        text("status"),
        Field::new(SENTIMENT_COLUMN, DataType::Struct(sentiment), true),
    ]))
}

/// The Glue (Hive DDL) spelling of an Arrow type of [`schema`], e.g. `struct<label:string,…>`.
pub fn glue_type(data_type: &DataType) -> Option<String> {
    Some(match data_type {
        DataType::Utf8 => "string".to_owned(),
        DataType::Int64 => "bigint".to_owned(),
        DataType::Float64 => "double".to_owned(),
        DataType::Boolean => "boolean".to_owned(),
        DataType::List(item) => format!("array<{}>", glue_type(item.data_type())?),
        DataType::Struct(fields) => {
            let members = fields
                .iter()
                .map(|f| Some(format!("{}:{}", f.name(), glue_type(f.data_type())?)))
                .collect::<Option<Vec<_>>>()?;
            format!("struct<{}>", members.join(","))
        }
        _ => return None,
    })
}

/// The Glue table's columns as (name, type), in order.
pub fn glue_columns() -> Vec<(String, String)> {
    schema()
        .fields()
        .iter()
        .map(|f| {
            let t = glue_type(f.data_type()).expect("the schema uses Glue-expressible types only");
            (f.name().clone(), t)
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("building the Arrow batch: {0}")]
    Arrow(#[from] ArrowError),
    #[error("Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("column {column}: Arrow type {data_type} is not one the enriched record uses")]
    Unsupported { column: String, data_type: DataType },
}

/// A record [`encode`] could not convert; Firehose writes it to the error prefix as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Its position among the buffer's records (0-based).
    pub index: usize,
    pub raw: Vec<u8>,
    pub code: &'static str,
    pub message: String,
}

/// One buffer, converted.
#[derive(Debug, Clone, Default)]
pub struct Encoded {
    /// The Parquet file, or `None` when no record converted (Firehose writes no empty object).
    pub parquet: Option<Vec<u8>>,
    pub rows: usize,
    pub failures: Vec<Failure>,
}

/// A value checked against its column's type.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Struct(Vec<Cell>),
    List(Vec<Cell>),
}

/// Why a value does not fit its column.
struct Mismatch(String);

fn kind(raw: &str) -> &'static str {
    match raw.as_bytes().first() {
        Some(b'"') => "string",
        Some(b'{') => "object",
        Some(b'[') => "array",
        Some(b't' | b'f') => "boolean",
        Some(b'n') => "null",
        _ => "number",
    }
}

fn mismatch(path: &str, data_type: &DataType, raw: &str) -> Mismatch {
    let glue = glue_type(data_type).unwrap_or_else(|| data_type.to_string());
    let mut shown: String = raw.chars().take(40).collect();
    if shown.len() < raw.len() {
        shown.push('…');
    }
    Mismatch(format!(
        "Data does not match the schema: column {path} is {glue}, the record has a {} ({shown})",
        kind(raw)
    ))
}

/// Members by lower-cased name (the OpenX SerDe's CaseInsensitive defaults to true); a later
/// duplicate wins.
fn members(raw: &str) -> Result<HashMap<String, &RawValue>, serde_json::Error> {
    let pairs: HashMap<String, &RawValue> = serde_json::from_str(raw)?;
    Ok(pairs
        .into_iter()
        .map(|(k, v)| (k.to_lowercase(), v))
        .collect())
}

fn struct_cells(raw: &str, fields: &Fields, path: &str) -> Result<Vec<Cell>, Mismatch> {
    let members = members(raw).map_err(|e| Mismatch(format!("{path}: {e}")))?;
    fields
        .iter()
        .map(|f| {
            let child = if path.is_empty() {
                f.name().clone()
            } else {
                format!("{path}.{}", f.name())
            };
            match members.get(&f.name().to_lowercase()) {
                Some(v) => cell(v.get(), f.data_type(), &child),
                None => Ok(Cell::Null),
            }
        })
        .collect()
}

/// Reads one JSON value (its exact text, so big integers and number spelling survive into
/// string columns) as a value of `data_type`.
fn cell(raw: &str, data_type: &DataType, path: &str) -> Result<Cell, Mismatch> {
    let raw = raw.trim();
    let k = kind(raw);
    if k == "null" {
        return Ok(Cell::Null);
    }
    let unquoted = || serde_json::from_str::<String>(raw).ok();
    let fail = || mismatch(path, data_type, raw);
    match data_type {
        DataType::Utf8 => Ok(Cell::Str(match k {
            "string" => unquoted().ok_or_else(fail)?,
            // A number, boolean, object or array in a string column reads as its JSON text.
            _ => raw.to_owned(),
        })),
        DataType::Int64 => {
            let digits = match k {
                "number" => raw.to_owned(),
                "string" => unquoted().ok_or_else(fail)?.trim().to_owned(),
                _ => return Err(fail()),
            };
            digits.parse().map(Cell::Int).map_err(|_| fail())
        }
        DataType::Float64 => {
            let number = match k {
                "number" => raw.to_owned(),
                "string" => unquoted().ok_or_else(fail)?.trim().to_owned(),
                _ => return Err(fail()),
            };
            match number.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(Cell::Float(x)),
                _ => Err(fail()),
            }
        }
        DataType::Boolean => match (k, raw) {
            ("boolean", "true") => Ok(Cell::Bool(true)),
            ("boolean", "false") => Ok(Cell::Bool(false)),
            ("string", _) => match unquoted().map(|s| s.to_ascii_lowercase()).as_deref() {
                Some("true") => Ok(Cell::Bool(true)),
                Some("false") => Ok(Cell::Bool(false)),
                _ => Err(fail()),
            },
            _ => Err(fail()),
        },
        DataType::Struct(fields) if k == "object" => {
            struct_cells(raw, fields, path).map(Cell::Struct)
        }
        DataType::List(item) if k == "array" => {
            let items: Vec<&RawValue> =
                serde_json::from_str(raw).map_err(|e| Mismatch(format!("{path}: {e}")))?;
            items
                .iter()
                .enumerate()
                .map(|(i, v)| cell(v.get(), item.data_type(), &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()
                .map(Cell::List)
        }
        _ => Err(fail()),
    }
}

/// Checks one record against the schema: its cells, one per column, or why it fails.
fn row(line: &[u8], fields: &Fields) -> Result<Vec<Cell>, (&'static str, String)> {
    let Ok(line) = std::str::from_utf8(line) else {
        return Err((codes::PARSE_ERROR, "The record is not UTF-8.".to_owned()));
    };
    if line.trim().is_empty() {
        return Err((
            codes::MALFORMED_DATA,
            "The record is empty or only whitespace.".to_owned(),
        ));
    }
    let value: &RawValue = serde_json::from_str(line)
        .map_err(|e| (codes::PARSE_ERROR, format!("The record is not JSON: {e}")))?;
    if kind(value.get()) != "object" {
        return Err((
            codes::MALFORMED_DATA,
            format!("The record is a JSON {}, not an object.", kind(value.get())),
        ));
    }
    struct_cells(value.get(), fields, "").map_err(|Mismatch(m)| (codes::MALFORMED_DATA, m))
}

/// One Arrow array of `data_type` from its cells (already checked against that type).
fn build(data_type: &DataType, cells: Vec<Cell>) -> Result<ArrayRef, CodecError> {
    Ok(match data_type {
        DataType::Utf8 => Arc::new(StringArray::from_iter(cells.into_iter().map(|c| match c {
            Cell::Str(s) => Some(s),
            _ => None,
        }))),
        DataType::Int64 => Arc::new(Int64Array::from_iter(cells.into_iter().map(|c| match c {
            Cell::Int(x) => Some(x),
            _ => None,
        }))),
        DataType::Float64 => Arc::new(Float64Array::from_iter(cells.into_iter().map(
            |c| match c {
                Cell::Float(x) => Some(x),
                _ => None,
            },
        ))),
        DataType::Boolean => Arc::new(BooleanArray::from_iter(cells.into_iter().map(
            |c| match c {
                Cell::Bool(x) => Some(x),
                _ => None,
            },
        ))),
        DataType::Struct(fields) => {
            let mut children: Vec<Vec<Cell>> = vec![Vec::with_capacity(cells.len()); fields.len()];
            let mut valid = Vec::with_capacity(cells.len());
            for c in cells {
                match c {
                    Cell::Struct(members) => {
                        valid.push(true);
                        for (child, m) in children.iter_mut().zip(members) {
                            child.push(m);
                        }
                    }
                    _ => {
                        valid.push(false);
                        for child in &mut children {
                            child.push(Cell::Null);
                        }
                    }
                }
            }
            let arrays = fields
                .iter()
                .zip(children)
                .map(|(f, cells)| build(f.data_type(), cells))
                .collect::<Result<Vec<_>, _>>()?;
            Arc::new(StructArray::try_new(
                fields.clone(),
                arrays,
                Some(NullBuffer::from(valid)),
            )?)
        }
        DataType::List(item) => {
            let mut lengths = Vec::with_capacity(cells.len());
            let mut valid = Vec::with_capacity(cells.len());
            let mut values = Vec::new();
            for c in cells {
                match c {
                    Cell::List(items) => {
                        valid.push(true);
                        lengths.push(items.len());
                        values.extend(items);
                    }
                    _ => {
                        valid.push(false);
                        lengths.push(0);
                    }
                }
            }
            Arc::new(ListArray::try_new(
                item.clone(),
                OffsetBuffer::from_lengths(lengths),
                build(item.data_type(), values)?,
                Some(NullBuffer::from(valid)),
            )?)
        }
        other => {
            return Err(CodecError::Unsupported {
                column: String::new(),
                data_type: other.clone(),
            });
        }
    })
}

/// The writer settings of Firehose's Parquet SerDe defaults.
fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(COMPRESSION)
        .set_data_page_size_limit(PAGE_SIZE_BYTES)
        .set_writer_version(WRITER_VERSION)
        .build()
}

/// Converts a buffer of delivered NDJSON (one record a line, as the transform writes them) to
/// one Parquet file of [`schema`]; records that do not convert come back as failures.
pub fn encode(ndjson: &[u8]) -> Result<Encoded, CodecError> {
    let schema = schema();
    let mut lines: Vec<&[u8]> = ndjson.split(|b| *b == b'\n').collect();
    // The transform ends every record with a newline: the piece after the last is no record.
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let mut rows = Vec::with_capacity(lines.len());
    let mut failures = Vec::new();
    for (index, line) in lines.into_iter().enumerate() {
        match row(line, schema.fields()) {
            Ok(cells) => rows.push(Cell::Struct(cells)),
            Err((code, message)) => failures.push(Failure {
                index,
                raw: line.to_vec(),
                code,
                message,
            }),
        }
    }
    if rows.is_empty() {
        return Ok(Encoded {
            parquet: None,
            rows: 0,
            failures,
        });
    }
    let n = rows.len();
    let root = build(&DataType::Struct(schema.fields().clone()), rows)?;
    let batch = RecordBatch::try_new(schema.clone(), root.as_struct().columns().to_vec())?;
    let mut out = Vec::new();
    // No Arrow schema in the footer: Firehose writes plain Parquet, and readers must cope.
    let options = ArrowWriterOptions::new()
        .with_properties(writer_properties())
        .with_skip_arrow_metadata(true);
    let mut writer = ArrowWriter::try_new_with_options(&mut out, schema, options)?;
    writer.write(&batch)?;
    writer.close()?;
    Ok(Encoded {
        parquet: Some(out),
        rows: n,
        failures,
    })
}

fn json(column: &str, array: &dyn Array, i: usize) -> Result<Value, CodecError> {
    if array.is_null(i) {
        return Ok(Value::Null);
    }
    Ok(match array.data_type() {
        DataType::Utf8 => Value::from(array.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => Value::from(array.as_string::<i64>().value(i)),
        DataType::Int64 => Value::from(array.as_primitive::<Int64Type>().value(i)),
        DataType::Int32 => Value::from(array.as_primitive::<Int32Type>().value(i)),
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(i)),
        DataType::Float32 => float(f64::from(array.as_primitive::<Float32Type>().value(i))),
        DataType::Boolean => Value::from(array.as_boolean().value(i)),
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let mut obj = Map::new();
            for (f, child) in fields.iter().zip(s.columns()) {
                let path = format!("{column}.{}", f.name());
                obj.insert(f.name().clone(), json(&path, child.as_ref(), i)?);
            }
            Value::Object(obj)
        }
        DataType::List(_) => {
            let items = array.as_list::<i32>().value(i);
            (0..items.len())
                .map(|j| json(column, items.as_ref(), j))
                .collect::<Result<Vec<_>, _>>()?
                .into()
        }
        other => {
            return Err(CodecError::Unsupported {
                column: column.to_owned(),
                data_type: other.clone(),
            });
        }
    })
}

fn float(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// Reads a Parquet file back as JSON objects, one per row, every column present (null where
/// the record had no value). Any schema of the types above reads, not only [`schema`].
pub fn decode(parquet: &[u8]) -> Result<Vec<Map<String, Value>>, CodecError> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::copy_from_slice(parquet))?
        .build()?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch?;
        let schema = batch.schema();
        for i in 0..batch.num_rows() {
            let mut obj = Map::new();
            for (f, column) in schema.fields().iter().zip(batch.columns()) {
                obj.insert(f.name().clone(), json(f.name(), column.as_ref(), i)?);
            }
            rows.push(obj);
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enriched(id: &str, label: &str) -> String {
        format!(
            r#"{{"id":"{id}","text":"hi","user":{{"id":"9","followers_count":3}},"tags":["a","b"],"sensitive":false,"sentiment":{{"label":"{label}","scores":{{"positive":0.75,"negative":0.125,"neutral":0.125,"mixed":0.0}},"model":"lexicon"}}}}"#
        )
    }

    #[test]
    fn records_round_trip_with_missing_members_null_and_extra_members_ignored() {
        // GIVEN two enriched records, one with a member the table lacks
        let a = enriched("1", "POSITIVE");
        let b = enriched("2", "NEGATIVE").replacen('{', r#"{"extra":{"deep":[1,2]},"#, 1);
        let ndjson = format!("{a}\n{b}\n");
        // WHEN they are encoded and decoded
        let encoded = encode(ndjson.as_bytes()).unwrap();
        assert_eq!(encoded.rows, 2);
        assert!(encoded.failures.is_empty(), "{:?}", encoded.failures);
        let bytes = encoded.parquet.unwrap();
        assert_eq!(&bytes[..4], MAGIC);
        assert_eq!(&bytes[bytes.len() - 4..], MAGIC);
        let rows = decode(&bytes).unwrap();
        // THEN every column is there, absent ones null, the extra member gone
        assert_eq!(rows.len(), 2);
        let r = &rows[1];
        assert_eq!(r.len(), schema().fields().len());
        assert!(!r.contains_key("extra"));
        assert_eq!(r["id"], "2");
        assert_eq!(r["lang"], Value::Null);
        assert_eq!(r["user"]["followers_count"], 3);
        assert_eq!(r["user"]["username"], Value::Null);
        assert_eq!(r["tags"], serde_json::json!(["a", "b"]));
        assert_eq!(r["sensitive"], false);
        assert_eq!(r["sentiment"]["label"], "NEGATIVE");
        assert_eq!(r["sentiment"]["scores"]["positive"], 0.75);
        assert_eq!(r["sentiment"]["error"], Value::Null);
    }

    #[test]
    fn a_bluesky_post_fills_its_columns() {
        // GIVEN an enriched record as the jetstream source writes it
        let line = r#"{"cid":"bafyrei","created_at":"2026-12-02T10:00:00.000Z","did":"did:plc:abc","id":"at://did:plc:abc/app.bsky.feed.post/3k","lang":"en","langs":["en","pt"],"reply_to":null,"rkey":"3k","source":"bluesky","tags":["rust"],"text":"so good","time_us":1733133600000001,"url":"https://bsky.app/profile/did:plc:abc/post/3k","sentiment":{"label":"POSITIVE","model":"lexicon"}}"#;
        // WHEN it is encoded and read back
        let encoded = encode(line.as_bytes()).unwrap();
        assert!(encoded.failures.is_empty(), "{:?}", encoded.failures);
        let r = &decode(&encoded.parquet.unwrap()).unwrap()[0];
        // THEN each of its fields is in a column of its own type
        assert_eq!(r["id"], "at://did:plc:abc/app.bsky.feed.post/3k");
        assert_eq!(r["did"], "did:plc:abc");
        assert_eq!(r["rkey"], "3k");
        assert_eq!(r["cid"], "bafyrei");
        assert_eq!(r["time_us"], 1_733_133_600_000_001_i64);
        assert_eq!(r["langs"], serde_json::json!(["en", "pt"]));
        assert_eq!(r["reply_to"], Value::Null);
        assert_eq!(r["source"], "bluesky");
        assert_eq!(r["sentiment"]["label"], "POSITIVE");
    }

    #[test]
    fn values_convert_as_the_openx_serde_does() {
        // GIVEN keys in another case, numbers for strings, strings for numbers and booleans,
        // an integer beyond 64 bits and a tag object
        let line = r#"{"ID":1991874630000000000123,"Replies_Count":"12","sensitive":"TRUE","tags":[{"name":"x"}],"sentiment":{"label":null,"error":"THROTTLED: x","model":"comprehend"}}"#;
        // WHEN it is encoded and read back
        let encoded = encode(line.as_bytes()).unwrap();
        assert!(encoded.failures.is_empty(), "{:?}", encoded.failures);
        let r = &decode(&encoded.parquet.unwrap()).unwrap()[0];
        // THEN each value is the column's type, the big integer's digits kept exactly
        assert_eq!(r["id"], "1991874630000000000123");
        assert_eq!(r["replies_count"], 12);
        assert_eq!(r["sensitive"], true);
        assert_eq!(r["tags"], serde_json::json!([r#"{"name":"x"}"#]));
        assert_eq!(r["sentiment"]["label"], Value::Null);
        assert_eq!(r["sentiment"]["error"], "THROTTLED: x");
        assert_eq!(r["sentiment"]["scores"], Value::Null);
    }

    #[test]
    fn records_that_do_not_fit_fail_alone_with_firehose_codes() {
        // GIVEN good records around five that cannot convert
        let good = enriched("1", "POSITIVE");
        let lines = [
            good.as_str(),
            r#"{"id":"2","replies_count":"many"}"#,
            r#"{"id":"3","user":"someone"}"#,
            r#"{"id":"4","sentiment":{"scores":{"positive":[1]}}}"#,
            "not json",
            "[1,2]",
            "",
            good.as_str(),
        ];
        let ndjson = format!("{}\n", lines.join("\n"));
        // WHEN the buffer is encoded
        let encoded = encode(ndjson.as_bytes()).unwrap();
        // THEN the good ones are rows; each bad one is a failure with its bytes and a reason
        assert_eq!(encoded.rows, 2);
        let got: Vec<(usize, &str)> = encoded.failures.iter().map(|f| (f.index, f.code)).collect();
        assert_eq!(
            got,
            vec![
                (1, codes::MALFORMED_DATA),
                (2, codes::MALFORMED_DATA),
                (3, codes::MALFORMED_DATA),
                (4, codes::PARSE_ERROR),
                (5, codes::MALFORMED_DATA),
                (6, codes::MALFORMED_DATA),
            ]
        );
        assert_eq!(encoded.failures[0].raw, lines[1].as_bytes());
        for (i, says) in [
            (0, "replies_count is bigint"),
            (2, "sentiment.scores.positive is double"),
        ] {
            let message = &encoded.failures[i].message;
            assert!(message.contains(says), "{message}");
        }
        assert_eq!(decode(&encoded.parquet.unwrap()).unwrap().len(), 2);
    }

    #[test]
    fn a_buffer_with_no_convertible_record_writes_no_file() {
        let encoded = encode(b"nope\n").unwrap();
        assert_eq!(encoded.parquet, None);
        assert_eq!(encoded.failures.len(), 1);
    }

    /// The Glue columns of `PostsTable` in the template, read from its one-line entries.
    fn template_columns() -> Vec<(String, String)> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");
        let template = std::fs::read_to_string(path).unwrap();
        let table = template
            .split("\n  PostsTable:\n")
            .nth(1)
            .expect("the template has PostsTable");
        let columns = table
            .split("\n          Columns:\n")
            .nth(1)
            .expect("PostsTable has Columns");
        columns
            .lines()
            .map(str::trim)
            .take_while(|l| l.starts_with("- {"))
            .map(|l| {
                let body = l
                    .strip_prefix("- { Name: ")
                    .and_then(|l| l.strip_suffix(" }"))
                    .unwrap_or_else(|| panic!("one-line column entry: {l}"));
                let (name, glue) = body.split_once(", Type: ").unwrap();
                let name = if name == "!Ref SentimentField" {
                    SENTIMENT_COLUMN
                } else {
                    name
                };
                (name.to_owned(), glue.trim_matches('"').to_owned())
            })
            .collect()
    }

    #[test]
    fn the_glue_table_in_the_template_and_the_arrow_schema_agree() {
        // GIVEN the template's PostsTable columns (SentimentField at its default)
        let template = template_columns();
        // THEN they are the Arrow schema's columns, names, order and types
        assert_eq!(template, glue_columns());
        assert!(template.iter().any(|(n, t)| n == "sentiment"
            && t == "struct<label:string,scores:struct<positive:double,negative:double,neutral:double,mixed:double>,model:string,error:string>"));
    }
}
