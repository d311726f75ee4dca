//! The Firehose data-transformation event and response, modelled here rather than taken from
//! `aws_lambda_events`: its `data` field is decoded by serde, so one record with bad base64
//! would fail the whole event, and its docs name result strings Firehose rejects.
//! <https://docs.aws.amazon.com/firehose/latest/dev/data-transformation.html>

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_stream_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_kinesis_stream_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub records: Vec<FirehoseRecord>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseRecord {
    pub record_id: String,
    /// Base64 as received; decoded per record so a bad one fails alone.
    #[serde(default)]
    pub data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_arrival_timestamp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinesis_record_metadata: Option<KinesisRecordMetadata>,
}

/// Present when the delivery stream reads from a Kinesis data stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisRecordMetadata {
    #[serde(default)]
    pub shard_id: Option<String>,
    #[serde(default)]
    pub partition_key: Option<String>,
    #[serde(default)]
    pub approximate_arrival_timestamp: Option<i64>,
    #[serde(default)]
    pub sequence_number: Option<String>,
    #[serde(default)]
    pub subsequence_number: Option<u64>,
}

/// The only three strings Firehose accepts as a record's `result`.
/// <https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-status-model.html>
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RecordResult {
    Ok,
    Dropped,
    ProcessingFailed,
}

impl RecordResult {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordResult::Ok => "Ok",
            RecordResult::Dropped => "Dropped",
            RecordResult::ProcessingFailed => "ProcessingFailed",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FirehoseResponse {
    pub records: Vec<ResponseRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseRecord {
    pub record_id: String,
    pub result: RecordResult,
    pub data: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ResponseMetadata>,
}

/// Keys for Firehose dynamic partitioning (`!{partitionKeyFromLambda:key}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseMetadata {
    pub partition_keys: BTreeMap<String, String>,
}

/// Counts bytes that would be written, to size a response without building it twice.
pub(crate) struct ByteCounter(pub usize);

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
pub(crate) fn json_len<T: Serialize + ?Sized>(value: &T) -> usize {
    let mut counter = ByteCounter(0);
    // Serialising plain data into a counter cannot fail.
    serde_json::to_writer(&mut counter, value).expect("serialising to a byte counter");
    counter.0
}

/// {"recordId":…,"result":"…","data":"…"} without the values.
const RECORD_FIXED_LEN: usize = r#"{"recordId":,"result":"","data":""}"#.len();

impl ResponseRecord {
    /// The length of `{"recordId":…,"result":"ProcessingFailed","data":""}`: a record's smallest answer.
    pub fn failed_len(record_id: &str) -> usize {
        RECORD_FIXED_LEN
            + crate::json::string_len(record_id)
            + RecordResult::ProcessingFailed.as_str().len()
    }

    /// This record's exact length in the serialised response. `data_is_base64` says the data
    /// is known to be base64 (which JSON never escapes), so it need not be scanned.
    pub fn json_len(&self, data_is_base64: bool) -> usize {
        self.json_lens(data_is_base64).1
    }

    /// This record's smallest answer's length ([`ResponseRecord::failed_len`]) and its own
    /// length ([`ResponseRecord::json_len`]), measuring the record id once.
    pub fn json_lens(&self, data_is_base64: bool) -> (usize, usize) {
        let failed = Self::failed_len(&self.record_id);
        let metadata = self
            .metadata
            .as_ref()
            .map_or(0, |m| r#","metadata":"#.len() + json_len(m));
        let data = if data_is_base64 {
            self.data.len()
        } else {
            crate::json::string_len(&self.data) - 2
        };
        let full = failed - RecordResult::ProcessingFailed.as_str().len()
            + self.result.as_str().len()
            + data
            + metadata;
        (failed, full)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_serialise_to_the_strings_firehose_accepts() {
        for (r, s) in [
            (RecordResult::Ok, "\"Ok\""),
            (RecordResult::Dropped, "\"Dropped\""),
            (RecordResult::ProcessingFailed, "\"ProcessingFailed\""),
        ] {
            assert_eq!(serde_json::to_string(&r).unwrap(), s);
        }
    }

    #[test]
    fn computed_length_matches_serialised_length() {
        let mut keys = BTreeMap::new();
        keys.insert("sentiment".to_owned(), "POSITIVE".to_owned());
        for metadata in [
            None,
            Some(ResponseMetadata {
                partition_keys: keys,
            }),
        ] {
            let r = ResponseRecord {
                record_id: "id\"with\\escapes\u{1}".into(),
                result: RecordResult::ProcessingFailed,
                data: "eyJhIjoxfQo=".into(),
                metadata,
            };
            assert_eq!(r.json_len(false), serde_json::to_vec(&r).unwrap().len());
            assert_eq!(
                r.json_lens(false),
                (ResponseRecord::failed_len(&r.record_id), r.json_len(false))
            );
            // Data that needs escapes is measured escaped.
            let odd = ResponseRecord {
                data: "not \"base64\"\n".into(),
                ..r.clone()
            };
            assert_eq!(odd.json_len(false), serde_json::to_vec(&odd).unwrap().len());
            let failed = ResponseRecord {
                data: String::new(),
                metadata: None,
                ..r.clone()
            };
            assert_eq!(
                ResponseRecord::failed_len(&r.record_id),
                serde_json::to_vec(&failed).unwrap().len()
            );
        }
    }

    #[test]
    fn a_record_without_data_still_parses() {
        let e: FirehoseEvent = serde_json::from_str(
            r#"{"records":[{"recordId":"1"},{"recordId":"2","data":"eA=="}]}"#,
        )
        .unwrap();
        assert_eq!(e.records[0].data, None);
        assert_eq!(e.records[1].data.as_deref(), Some("eA=="));
    }
}
