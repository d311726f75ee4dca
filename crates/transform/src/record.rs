//! The Firehose data-transformation event and response, modelled here rather than taken from
//! `aws_lambda_events`: its `data` field is decoded by serde, so one record with bad base64
//! would fail the whole event, and its docs name result strings Firehose rejects.
//! <https://docs.aws.amazon.com/firehose/latest/dev/data-transformation.html>

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::json;
use crate::route::OtfMetadata;

/// The event. Only `records` and each record's `recordId` are required: everything else is
/// metadata, read leniently (see [`lenient`]), and can never fail the invocation or a record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseEvent {
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub invocation_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub delivery_stream_arn: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub source_kinesis_stream_arn: Option<String>,
    /// Present when the delivery stream reads from an Amazon MSK cluster.
    #[serde(
        rename = "sourceMSKArn",
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub source_msk_arn: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub region: Option<String>,
    pub records: Vec<FirehoseRecord>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseRecord {
    pub record_id: String,
    /// Base64 as received; decoded per record so a bad one fails alone. Anything but a string
    /// reads as absent, and the record fails alone.
    #[serde(default, deserialize_with = "lenient::text")]
    pub data: Option<String>,
    /// Epoch milliseconds.
    #[serde(
        default,
        deserialize_with = "lenient::epoch_ms",
        skip_serializing_if = "Option::is_none"
    )]
    pub approximate_arrival_timestamp: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::metadata",
        skip_serializing_if = "Option::is_none"
    )]
    pub kinesis_record_metadata: Option<KinesisRecordMetadata>,
    /// The payload (base64) when the source is an Amazon MSK cluster, in place of `data`; the
    /// answer must then carry it in `kafkaRecordValue` too.
    #[serde(
        default,
        deserialize_with = "lenient::text",
        skip_serializing_if = "Option::is_none"
    )]
    pub kafka_record_value: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::metadata",
        skip_serializing_if = "Option::is_none"
    )]
    pub msk_record_metadata: Option<MskRecordMetadata>,
}

/// Which field carries a record's payload, in the event and in the answer.
/// <https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-status-model.html>
/// ("For Amazon MSK": `kafkaRecordValue` instead of `data`, both ways).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum PayloadField {
    /// `data`: direct PUT and Kinesis data stream sources.
    #[default]
    Data,
    /// `kafkaRecordValue`: an Amazon MSK source.
    KafkaRecordValue,
}

impl PayloadField {
    pub fn as_str(self) -> &'static str {
        match self {
            PayloadField::Data => "data",
            PayloadField::KafkaRecordValue => "kafkaRecordValue",
        }
    }
}

impl FirehoseRecord {
    /// The payload's base64 and the field it came in. `data` wins when it is a string; a
    /// record came from MSK if it has a `kafkaRecordValue` string, or no `data` but MSK
    /// metadata (itself, or the event's `sourceMSKArn`), so even a record whose payload cannot
    /// be read is answered in the field its source requires.
    pub fn payload(&self, event_from_msk: bool) -> (Option<&str>, PayloadField) {
        match (&self.data, &self.kafka_record_value) {
            (Some(data), _) => (Some(data), PayloadField::Data),
            (None, Some(value)) => (Some(value), PayloadField::KafkaRecordValue),
            (None, None) if event_from_msk || self.msk_record_metadata.is_some() => {
                (None, PayloadField::KafkaRecordValue)
            }
            (None, None) => (None, PayloadField::Data),
        }
    }
}

impl FirehoseEvent {
    /// Whether the event says its source is an Amazon MSK cluster.
    pub fn from_msk(&self) -> bool {
        self.source_msk_arn.is_some()
    }

    /// An event of `payloads` as a Kinesis-fed delivery stream sends them: records `r0`, `r1`,
    /// …, each payload base64 in `data`. For tests and tools that build events by hand.
    pub fn of_payloads<P: AsRef<[u8]>>(payloads: impl IntoIterator<Item = P>) -> Self {
        use base64::Engine as _;
        let records = payloads
            .into_iter()
            .enumerate()
            .map(|(i, p)| FirehoseRecord {
                record_id: format!("r{i}"),
                data: Some(base64::engine::general_purpose::STANDARD.encode(p)),
                ..FirehoseRecord::default()
            })
            .collect();
        FirehoseEvent {
            records,
            ..FirehoseEvent::default()
        }
    }
}

/// Present when the delivery stream reads from an Amazon MSK cluster. AWS's own fixtures
/// (aws-lambda-java-libs) write `offset` and `partitionId` as strings; Kafka's are numbers:
/// both are read, as text, and a value of any other shape reads as absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MskRecordMetadata {
    #[serde(default, deserialize_with = "lenient::string")]
    pub offset: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub partition_id: Option<String>,
    /// Epoch milliseconds.
    #[serde(default, deserialize_with = "lenient::epoch_ms")]
    pub approximate_arrival_timestamp: Option<i64>,
}

/// Present when the delivery stream reads from a Kinesis data stream. AWS's own samples write
/// these fields in several shapes (the Firehose docs: an ISO timestamp and `""` for the
/// subsequence number; `sam local generate-event`: a numeric string), so each is read leniently
/// and a value of any other shape reads as absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisRecordMetadata {
    #[serde(default, deserialize_with = "lenient::string")]
    pub shard_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub partition_key: Option<String>,
    /// Epoch milliseconds.
    #[serde(default, deserialize_with = "lenient::epoch_ms")]
    pub approximate_arrival_timestamp: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub sequence_number: Option<String>,
    #[serde(default, deserialize_with = "lenient::unsigned")]
    pub subsequence_number: Option<u64>,
}

/// Readers that take a value of any JSON shape and never fail: what they cannot use reads as
/// `None`. Visitors, not an intermediate `Value`, so a well-formed event costs nothing extra.
pub mod lenient {
    use std::fmt;

    use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

    /// What a lenient visitor makes of each JSON shape.
    trait Read: Sized {
        fn number(_: f64) -> Option<Self> {
            None
        }
        fn integer(n: i128) -> Option<Self> {
            Self::number(n as f64)
        }
        fn text(_: &str) -> Option<Self> {
            None
        }
    }

    struct Lenient<T>(std::marker::PhantomData<T>);

    impl<'de, T: Read> Visitor<'de> for Lenient<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
            Ok(T::integer(i128::from(n)))
        }
        fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
            Ok(T::integer(i128::from(n)))
        }
        fn visit_f64<E>(self, n: f64) -> Result<Self::Value, E> {
            Ok(T::number(n))
        }
        fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
            Ok(T::text(s))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }

    impl Read for String {
        fn integer(n: i128) -> Option<Self> {
            Some(n.to_string())
        }
        fn text(s: &str) -> Option<Self> {
            Some(s.to_owned())
        }
    }

    /// Whole, non-negative numbers, or strings of digits; `""` is absent.
    impl Read for u64 {
        fn integer(n: i128) -> Option<Self> {
            u64::try_from(n).ok()
        }
        fn text(s: &str) -> Option<Self> {
            s.trim().parse().ok()
        }
    }

    /// Epoch milliseconds: a number (seconds with a fraction if it is too small to be
    /// milliseconds, as Kinesis' own events write them), a numeric string, or an ISO 8601 /
    /// RFC 3339 timestamp.
    struct EpochMs(i64);

    /// Below this a number is taken as seconds: as milliseconds it would be March 1973, as
    /// seconds it is the year 5138.
    const SECONDS_BELOW: f64 = 1e11;
    /// Above this (the year 318857 in milliseconds) a number is no timestamp at all.
    const MS_ABOVE: f64 = 1e16;

    impl Read for EpochMs {
        fn number(n: f64) -> Option<Self> {
            if !(0.0..=MS_ABOVE).contains(&n) {
                return None;
            }
            let ms = if n < SECONDS_BELOW { n * 1_000.0 } else { n };
            Some(EpochMs(ms as i64))
        }
        fn text(s: &str) -> Option<Self> {
            let s = s.trim();
            match s.parse::<f64>() {
                Ok(n) => Self::number(n),
                Err(_) => {
                    ks_kernel::time::rfc3339_nanos(s).map(|ns| EpochMs((ns / 1_000_000) as i64))
                }
            }
        }
    }

    /// A string, and nothing else.
    struct Text(String);

    impl Read for Text {
        fn text(s: &str) -> Option<Self> {
            Some(Text(s.to_owned()))
        }
    }

    pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(
            d.deserialize_any(Lenient::<Text>(std::marker::PhantomData))?
                .map(|t| t.0),
        )
    }

    /// A string, or a number written as one.
    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(Lenient::<String>(std::marker::PhantomData))
    }

    pub fn unsigned<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        d.deserialize_any(Lenient::<u64>(std::marker::PhantomData))
    }

    pub fn epoch_ms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Ok(
            d.deserialize_any(Lenient::<EpochMs>(std::marker::PhantomData))?
                .map(|t| t.0),
        )
    }

    /// The metadata object, or `None` for a value of any other shape.
    pub fn metadata<'de, D: Deserializer<'de>, T: serde::Deserialize<'de>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        struct Meta<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de>> Visitor<'de> for Meta<T> {
            type Value = Option<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let d = de::value::MapAccessDeserializer::new(map);
                serde::Deserialize::deserialize(d).map(Some)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(None)
            }
        }
        d.deserialize_any(Meta(std::marker::PhantomData))
    }
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

/// One record's answer. Its payload is written under `data`, or under `kafkaRecordValue` for
/// a record that came in that field ([`ResponseRecord::field`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseRecord {
    pub record_id: String,
    pub result: RecordResult,
    /// The payload's base64, whichever field it is written in.
    #[serde(alias = "kafkaRecordValue")]
    pub data: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ResponseMetadata>,
    /// The field `data` is written in.
    #[serde(skip)]
    pub field: PayloadField,
}

impl Serialize for ResponseRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let fields = 3 + usize::from(self.metadata.is_some());
        let mut r = s.serialize_struct("ResponseRecord", fields)?;
        r.serialize_field("recordId", &self.record_id)?;
        r.serialize_field("result", &self.result)?;
        match self.field {
            PayloadField::Data => r.serialize_field("data", &self.data)?,
            PayloadField::KafkaRecordValue => r.serialize_field("kafkaRecordValue", &self.data)?,
        }
        if let Some(m) = &self.metadata {
            r.serialize_field("metadata", m)?;
        }
        r.end()
    }
}

/// Where Firehose puts the record: keys for dynamic partitioning
/// (`!{partitionKeyFromLambda:key}`) on an S3 stack, the table and operation on an Iceberg one.
/// Each is written only when it says something.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseMetadata {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub partition_keys: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otf_metadata: Option<OtfMetadata>,
}

/// {"recordId":…,"result":"…","data":"…"} without the values.
const RECORD_FIXED_LEN: usize = r#"{"recordId":,"result":"","data":""}"#.len();

impl ResponseRecord {
    /// The length of `{"recordId":…,"result":"ProcessingFailed","data":""}`: a record's smallest answer.
    pub fn failed_len(record_id: &str) -> usize {
        Self::failed_len_in(record_id, PayloadField::Data)
    }

    /// [`ResponseRecord::failed_len`] with the payload in `field` (`kafkaRecordValue` is the
    /// longer name, and it counts against the 6 MB).
    pub fn failed_len_in(record_id: &str, field: PayloadField) -> usize {
        RECORD_FIXED_LEN - "data".len()
            + field.as_str().len()
            + json::string_len(record_id)
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
        let failed = Self::failed_len_in(&self.record_id, self.field);
        let metadata = self
            .metadata
            .as_ref()
            .map_or(0, |m| r#","metadata":"#.len() + json::json_len(m));
        let data = if data_is_base64 {
            self.data.len()
        } else {
            json::string_len(&self.data) - 2
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
        let otf = crate::route::OtfMetadata {
            destination_database_name: "lake".into(),
            destination_table_name: "account_purges".into(),
            operation: crate::route::Operation::Delete,
        };
        for metadata in [
            None,
            Some(ResponseMetadata {
                partition_keys: keys.clone(),
                otf_metadata: None,
            }),
            Some(ResponseMetadata {
                partition_keys: BTreeMap::new(),
                otf_metadata: Some(otf.clone()),
            }),
            Some(ResponseMetadata {
                partition_keys: keys,
                otf_metadata: Some(otf),
            }),
        ] {
            for field in [PayloadField::Data, PayloadField::KafkaRecordValue] {
                let r = ResponseRecord {
                    record_id: "id\"with\\escapes\u{1}".into(),
                    result: RecordResult::ProcessingFailed,
                    data: "eyJhIjoxfQo=".into(),
                    metadata: metadata.clone(),
                    field,
                };
                assert_eq!(r.json_len(false), serde_json::to_vec(&r).unwrap().len());
                assert_eq!(
                    r.json_lens(false),
                    (
                        ResponseRecord::failed_len_in(&r.record_id, field),
                        r.json_len(false)
                    )
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
                    ResponseRecord::failed_len_in(&r.record_id, field),
                    serde_json::to_vec(&failed).unwrap().len()
                );
            }
        }
    }

    #[test]
    fn an_msk_record_is_read_from_and_answered_in_kafka_record_value() {
        // GIVEN an event in the shape of AWS's MSK-source fixtures (aws-lambda-java-libs):
        // offsets and partitions as strings, then as numbers, then as junk
        let event = r#"{"invocationId":"i","sourceMSKArn":"arn:aws:kafka:us-east-1:1:cluster/c/x",
          "deliveryStreamArn":"arn:aws:firehose:us-east-1:1:deliverystream/d","region":"us-east-1",
          "records":[
            {"recordId":"a","approximateArrivalTimestamp":1716369573887,
             "mskRecordMetadata":{"offset":"0","partitionId":"1","approximateArrivalTimestamp":1716369573887},
             "kafkaRecordValue":"eA=="},
            {"recordId":"b","mskRecordMetadata":{"offset":42,"partitionId":3,"approximateArrivalTimestamp":"2024-05-22T09:19:33.887Z"},
             "kafkaRecordValue":"eQ=="},
            {"recordId":"c","mskRecordMetadata":[1,2],"kafkaRecordValue":7},
            {"recordId":"d","mskRecordMetadata":{"offset":{"x":1},"partitionId":null}}
          ]}"#;
        // WHEN parsed
        let e: FirehoseEvent = serde_json::from_str(event).unwrap();
        // THEN every record is there, the metadata read where it is usable
        assert!(e.from_msk());
        let m0 = e.records[0].msk_record_metadata.clone().unwrap();
        assert_eq!(
            (
                m0.offset.as_deref(),
                m0.partition_id.as_deref(),
                m0.approximate_arrival_timestamp
            ),
            (Some("0"), Some("1"), Some(1_716_369_573_887))
        );
        let m1 = e.records[1].msk_record_metadata.clone().unwrap();
        assert_eq!(
            (
                m1.offset.as_deref(),
                m1.partition_id.as_deref(),
                m1.approximate_arrival_timestamp
            ),
            (Some("42"), Some("3"), Some(1_716_369_573_887))
        );
        assert_eq!(e.records[2].msk_record_metadata, None);
        assert_eq!(
            e.records[3].msk_record_metadata.clone().unwrap().offset,
            None
        );
        // AND the payload is found in kafkaRecordValue, and any record of the event is answered there
        let fields: Vec<_> = e.records.iter().map(|r| r.payload(e.from_msk())).collect();
        assert_eq!(
            fields,
            [
                (Some("eA=="), PayloadField::KafkaRecordValue),
                (Some("eQ=="), PayloadField::KafkaRecordValue),
                (None, PayloadField::KafkaRecordValue),
                (None, PayloadField::KafkaRecordValue),
            ]
        );
        // AND an answer in that field serialises under its name
        let answer = ResponseRecord {
            record_id: "a".into(),
            result: RecordResult::Ok,
            data: "eA==".into(),
            metadata: None,
            field: PayloadField::KafkaRecordValue,
        };
        let json = serde_json::to_string(&answer).unwrap();
        assert_eq!(
            json,
            r#"{"recordId":"a","result":"Ok","kafkaRecordValue":"eA=="}"#
        );
        let back: ResponseRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back.data, "eA==");
    }

    #[test]
    fn metadata_in_any_shape_aws_documents_is_read_and_nothing_else_fails_the_event() {
        // GIVEN the shapes AWS's own samples use: numbers (Rust and Go types), numeric strings
        // (`sam local generate-event`), an ISO timestamp and "" (the Firehose docs), and junk
        let event = r#"{"invocationId":7,"records":[
            {"recordId":"a","data":"eA==","approximateArrivalTimestamp":1495072949453,
             "kinesisRecordMetadata":{"shardId":"shardId-000000000000","partitionKey":"k",
               "approximateArrivalTimestamp":1495072949453,"sequenceNumber":"4954","subsequenceNumber":0}},
            {"recordId":"b","data":"eA==","approximateArrivalTimestamp":"1495072949453",
             "kinesisRecordMetadata":{"subsequenceNumber":"123456","approximateArrivalTimestamp":1428537600.5}},
            {"recordId":"c","data":"eA==","approximateArrivalTimestamp":"2012-04-23T18:25:43.511Z",
             "kinesisRecordMetadata":{"subsequenceNumber":"","approximateArrivalTimestamp":"2012-04-23T19:25:43+01:00","extra":{"x":[1]}}},
            {"recordId":"d","data":12,"approximateArrivalTimestamp":{"no":1},
             "kinesisRecordMetadata":"not an object","unknown":true},
            {"recordId":"e","approximateArrivalTimestamp":-5,
             "kinesisRecordMetadata":{"shardId":5,"subsequenceNumber":-1,"approximateArrivalTimestamp":"soon"}}
        ]}"#;
        // WHEN parsed
        let e: FirehoseEvent = serde_json::from_str(event).unwrap();
        // THEN every record is there and each usable value was read
        let ids: Vec<&str> = e.records.iter().map(|r| r.record_id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c", "d", "e"]);
        assert_eq!(e.invocation_id.as_deref(), Some("7"));
        let ts: Vec<Option<i64>> = e
            .records
            .iter()
            .map(|r| r.approximate_arrival_timestamp)
            .collect();
        assert_eq!(
            ts,
            [
                Some(1_495_072_949_453),
                Some(1_495_072_949_453),
                Some(1_335_205_543_511),
                None,
                None
            ]
        );
        let meta = |i: usize| e.records[i].kinesis_record_metadata.clone();
        assert_eq!(meta(0).unwrap().subsequence_number, Some(0));
        assert_eq!(meta(1).unwrap().subsequence_number, Some(123_456));
        assert_eq!(
            meta(1).unwrap().approximate_arrival_timestamp,
            Some(1_428_537_600_500)
        );
        assert_eq!(meta(2).unwrap().subsequence_number, None);
        assert_eq!(
            meta(2).unwrap().approximate_arrival_timestamp,
            Some(1_335_205_543_000)
        );
        assert_eq!(meta(3), None);
        assert_eq!(
            e.records[3].data, None,
            "a data field that is not a string fails that record alone"
        );
        let m4 = meta(4).unwrap();
        assert_eq!(
            (
                m4.shard_id.as_deref(),
                m4.subsequence_number,
                m4.approximate_arrival_timestamp
            ),
            (Some("5"), None, None)
        );
    }

    #[test]
    fn rfc3339_timestamps_are_read_exactly() {
        let ms = |s: &str| {
            let e: FirehoseEvent = serde_json::from_str(&format!(
                r#"{{"records":[{{"recordId":"x","approximateArrivalTimestamp":"{s}"}}]}}"#
            ))
            .unwrap();
            e.records[0].approximate_arrival_timestamp
        };
        assert_eq!(ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(ms("2012-04-23T18:25:43.511Z"), Some(1_335_205_543_511));
        assert_eq!(ms("2012-04-23T20:25:43.511+02:00"), Some(1_335_205_543_511));
        assert_eq!(ms("2012-04-23T18:25:43"), None);
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
