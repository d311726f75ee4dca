//! What the local Firehose writes for a buffer of delivered records: the NDJSON as it is, or
//! (record format conversion, OutputFormat=parquet) one `.parquet` object plus the records that
//! did not convert under `format-conversion-failed/`.
//! <https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion.html>

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::bucket::{ObjectStore, Output, PARQUET_EXTENSION, object_key_with_extension};
use crate::parquet;

/// The delivery stream's output: the template's `OutputFormat` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// The transform's NDJSON, unchanged.
    #[default]
    Json,
    /// Converted to Apache Parquet with the Glue table's schema.
    Parquet,
}

impl OutputFormat {
    /// Every format, by the name the template and the command line use.
    pub const ALL: [(&'static str, OutputFormat); 2] = [
        ("json", OutputFormat::Json),
        ("parquet", OutputFormat::Parquet),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Json => "json",
            OutputFormat::Parquet => "parquet",
        }
    }
}

impl std::str::FromStr for OutputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        OutputFormat::ALL
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s))
            .map(|(_, f)| *f)
            .ok_or_else(|| format!("{s:?} is not an output format (json, parquet)"))
    }
}

impl std::fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of a `processing-failed/` object, as Firehose writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorRecord {
    pub attempts_made: u32,
    pub arrival_timestamp: i64,
    pub error_code: String,
    pub error_message: String,
    pub attempt_ending_timestamp: i64,
    /// The record's data as it was sent to the function (base64).
    pub raw_data: String,
    pub lambda_arn: String,
}

/// The Glue database and table the conversion reads its schema from (the template's defaults).
pub const GLUE_DATABASE: &str = "kinesis_sentiment";
pub const GLUE_TABLE: &str = "posts";

/// The Glue table an error record names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataCatalogTable {
    pub catalog_id: String,
    pub database_name: String,
    pub table_name: String,
    pub region: String,
    pub version_id: String,
    pub catalog_arn: String,
}

/// One line of a `format-conversion-failed/` object. Its shape differs from a Lambda
/// processing failure's: capitalised `ErrorCode` / `ErrorMessage`, the Glue table instead of a
/// function ARN. Written as the documentation shows; read also with the `lastErrorCode` /
/// `lastErrorMessage` names that delivered objects have been seen to carry.
/// <https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion-error-handling.html>
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversionErrorRecord {
    pub attempts_made: u32,
    pub arrival_timestamp: i64,
    #[serde(rename = "ErrorCode", alias = "lastErrorCode")]
    pub error_code: String,
    #[serde(rename = "ErrorMessage", alias = "lastErrorMessage")]
    pub error_message: String,
    pub attempt_ending_timestamp: i64,
    /// The record as the transform returned it (base64).
    pub raw_data: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_sequence_number: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_catalog_table: Option<DataCatalogTable>,
}

impl From<ConversionErrorRecord> for ErrorRecord {
    /// The report's one shape for failures; a conversion failure involves no function.
    fn from(r: ConversionErrorRecord) -> Self {
        ErrorRecord {
            attempts_made: r.attempts_made,
            arrival_timestamp: r.arrival_timestamp,
            error_code: r.error_code,
            error_message: r.error_message,
            attempt_ending_timestamp: r.attempt_ending_timestamp,
            raw_data: r.raw_data,
            lambda_arn: String::new(),
        }
    }
}

/// What one buffer became.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    pub objects: u64,
    pub error_objects: u64,
    /// Bytes of delivered objects.
    pub bytes: u64,
    /// Records that went to `format-conversion-failed/`.
    pub conversion_failed: u64,
}

/// What writing a buffer needs to know of the delivery stream.
#[derive(Debug, Clone, Copy)]
pub struct Destination<'a> {
    /// The delivery stream's name, which object names start with.
    pub delivery_stream: &'a str,
    pub output_format: OutputFormat,
    /// The Glue catalog's region and account, which conversion error records name.
    pub region: &'a str,
    pub account: &'a str,
    /// Where delivered records go: the data area, or the deletions area.
    pub output: Output,
}

/// Writes one buffer of delivered NDJSON in the stream's output format.
pub async fn write_delivered(
    bucket: &impl ObjectStore,
    settings: Destination<'_>,
    now: DateTime<Utc>,
    ndjson: Vec<u8>,
) -> std::io::Result<Written> {
    let stream = settings.delivery_stream;
    let key = |output, extension| {
        object_key_with_extension(output, stream, now, uuid::Uuid::new_v4(), extension)
    };
    if settings.output_format == OutputFormat::Json {
        let bytes = ndjson.len() as u64;
        bucket.put(&key(settings.output, ""), ndjson).await?;
        return Ok(Written {
            objects: 1,
            bytes,
            ..Written::default()
        });
    }
    let encoded = parquet::encode(&ndjson).map_err(std::io::Error::other)?;
    let mut written = Written::default();
    if let Some(body) = encoded.parquet {
        written.objects = 1;
        written.bytes = body.len() as u64;
        bucket
            .put(&key(settings.output, PARQUET_EXTENSION), body)
            .await?;
    }
    if !encoded.failures.is_empty() {
        // The buffer no longer knows each record's arrival: the flush time stands in for it.
        let at = now.timestamp_millis();
        let table = DataCatalogTable {
            catalog_id: settings.account.to_owned(),
            database_name: GLUE_DATABASE.to_owned(),
            table_name: GLUE_TABLE.to_owned(),
            region: settings.region.to_owned(),
            version_id: "0".to_owned(),
            catalog_arn: format!(
                "arn:aws:glue:{}:{}:catalog",
                settings.region, settings.account
            ),
        };
        let mut body = Vec::new();
        for f in &encoded.failures {
            let record = ConversionErrorRecord {
                attempts_made: 1,
                arrival_timestamp: at,
                error_code: f.code.to_owned(),
                error_message: f.message.clone(),
                attempt_ending_timestamp: at,
                raw_data: BASE64.encode(&f.raw),
                sequence_number: None,
                sub_sequence_number: None,
                data_catalog_table: Some(table.clone()),
            };
            serde_json::to_writer(&mut body, &record).expect("serialising plain data");
            body.push(b'\n');
        }
        bucket
            .put(&key(Output::FormatConversionFailed, ""), body)
            .await?;
        written.error_objects = 1;
        written.conversion_failed = encoded.failures.len() as u64;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bucket::LocalBucket;

    #[tokio::test]
    async fn a_parquet_buffer_writes_a_parquet_object_and_its_refused_records() {
        // GIVEN a Parquet delivery stream and a buffer with one record that does not convert
        let dir = tempfile::tempdir().unwrap();
        let bucket = LocalBucket::new(dir.path());
        let settings = Destination {
            delivery_stream: "d",
            output_format: OutputFormat::Parquet,
            region: "us-east-1",
            account: "000000000000",
            output: Output::Delivered,
        };
        let ndjson = b"{\"id\":\"1\"}\n{\"id\":\"2\",\"user\":7}\n";
        // WHEN it is written
        let written = write_delivered(&bucket, settings, Utc::now(), ndjson.to_vec())
            .await
            .unwrap();
        // THEN one .parquet object holds the good record; the other is an error record
        assert_eq!(
            (
                written.objects,
                written.error_objects,
                written.conversion_failed
            ),
            (1, 1, 1)
        );
        let keys = bucket.keys().unwrap();
        assert_eq!(keys.len(), 2, "{keys:?}");
        let (failed, delivered) = (&keys[1], &keys[0]);
        assert!(delivered.ends_with(".parquet"), "{delivered}");
        assert!(failed.starts_with("format-conversion-failed/"), "{failed}");
        let rows = parquet::decode(&std::fs::read(dir.path().join(delivered)).unwrap()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["id"], "1");
        let line = std::fs::read_to_string(dir.path().join(failed)).unwrap();
        let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(v["ErrorCode"], parquet::codes::MALFORMED_DATA);
        assert_eq!(v["dataCatalogTable"]["tableName"], GLUE_TABLE);
        let record: ConversionErrorRecord = serde_json::from_value(v).unwrap();
        assert_eq!(
            BASE64.decode(&record.raw_data).unwrap(),
            b"{\"id\":\"2\",\"user\":7}"
        );
    }

    #[test]
    fn error_records_read_with_either_spelling_of_the_code() {
        let line = r#"{"attemptsMade":1,"arrivalTimestamp":5,"lastErrorCode":"DataFormatConversion.MalformedData","lastErrorMessage":"m","attemptEndingTimestamp":6,"rawData":"","sequenceNumber":"49"}"#;
        let r: ConversionErrorRecord = serde_json::from_str(line).unwrap();
        assert_eq!(r.error_code, "DataFormatConversion.MalformedData");
        assert_eq!(r.sequence_number.as_deref(), Some("49"));
    }
}
