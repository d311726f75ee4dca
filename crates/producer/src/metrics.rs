//! What one producer invocation did: the summary log line's fields and their CloudWatch
//! Embedded Metric Format twin.
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use ks_kernel::emf::{Emf, Unit};
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProducerSummary {
    pub source: String,
    /// Records the source returned.
    pub fetched: u64,
    pub pages: u64,
    /// Records left after dedupe.
    pub new: u64,
    /// Repeated ids, and ids the cursor already covers.
    pub duplicates: u64,
    /// User records the stream accepted.
    pub put: u64,
    /// Records never sent: over the size limit or with an invalid hash key (each logged), and
    /// items the source returned without a usable id (logged by the source; not in `fetched`).
    pub rejected: u64,
    /// New records not delivered (retries ran out, or a permanent error).
    pub failed: u64,
    /// PutRecords calls beyond each request's first.
    pub retries: u64,
    pub put_records_calls: u64,
    /// Kinesis records accepted (fewer than `put` when aggregating).
    pub kinesis_records: u64,
    /// Bytes accepted, data and partition keys.
    pub bytes: u64,
    /// 25 KB PUT payload units the accepted records use.
    pub payload_units: u64,
    pub cursor_before: Option<String>,
    pub cursor_after: Option<String>,
    /// Why fetching stopped.
    pub stop: &'static str,
    /// Items read and not sent, by reason (see `Fetched::skipped`).
    pub skipped: std::collections::BTreeMap<&'static str, u64>,
    /// 1 when the fetch caught up with zero records: the source had nothing at all. A feed that
    /// is switched off often looks like this rather than like an error.
    pub source_empty: u64,
    /// Empty runs in a row seen by this warm process, this one included (0 after a run that
    /// was not empty). Set by the function, which outlives a run; a cold start begins at 0.
    pub empty_runs: u64,
    pub elapsed_ms: u64,
}

impl ProducerSummary {
    /// The EMF document for these counts: one line CloudWatch turns into metrics.
    pub fn to_emf(&self, namespace: &str, function_name: &str, timestamp_ms: u64) -> Value {
        let mut emf = Emf::new(function_name).property("Source", &self.source);
        for (name, unit, value) in [
            ("RecordsFetched", Unit::Count, self.fetched),
            ("PagesFetched", Unit::Count, self.pages),
            ("RecordsNew", Unit::Count, self.new),
            ("RecordsDuplicate", Unit::Count, self.duplicates),
            ("RecordsPut", Unit::Count, self.put),
            ("RecordsRejected", Unit::Count, self.rejected),
            ("RecordsFailed", Unit::Count, self.failed),
            ("PutRecordsRetries", Unit::Count, self.retries),
            ("PutRecordsCalls", Unit::Count, self.put_records_calls),
            ("KinesisRecords", Unit::Count, self.kinesis_records),
            ("BytesPut", Unit::Bytes, self.bytes),
            ("PayloadUnits", Unit::Count, self.payload_units),
            ("RecordsSkipped", Unit::Count, self.skipped.values().sum()),
            (
                "CursorAdvanced",
                Unit::Count,
                u64::from(self.cursor_after != self.cursor_before),
            ),
            ("SourceEmpty", Unit::Count, self.source_empty),
            ("InvocationFailed", Unit::Count, 0),
            ("DurationMs", Unit::Milliseconds, self.elapsed_ms),
        ] {
            emf.metric(name, unit, value);
        }
        emf.finish(
            namespace,
            &[&["FunctionName"], &["FunctionName", "Source"]],
            timestamp_ms,
        )
    }

    /// [`Self::to_emf`] for an invocation that ended in an error.
    pub fn to_emf_failed(&self, namespace: &str, function_name: &str, timestamp_ms: u64) -> Value {
        let mut doc = self.to_emf(namespace, function_name, timestamp_ms);
        doc["InvocationFailed"] = json!(1);
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_declares_every_metric_it_carries() {
        // GIVEN a summary WHEN rendered as EMF
        let s = ProducerSummary {
            source: "synthetic".into(),
            fetched: 10,
            put: 8,
            bytes: 5_600,
            cursor_before: Some("1".into()),
            cursor_after: Some("9".into()),
            ..ProducerSummary::default()
        };
        let emf = s.to_emf("KinesisSentiment", "stream-producer", 1_700_000_000_000);
        // THEN each declared metric has a numeric value at the top level
        let declared = emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        assert_eq!(declared.len(), 17);
        for m in declared {
            let name = m["Name"].as_str().unwrap();
            assert!(emf[name].is_u64(), "{name} has no value");
        }
        assert_eq!(emf["RecordsPut"], 8);
        assert_eq!(emf["BytesPut"], 5_600);
        assert_eq!(emf["CursorAdvanced"], 1);
        assert_eq!(emf["SourceEmpty"], 0);
        let empty = ProducerSummary {
            source_empty: 1,
            ..s.clone()
        };
        assert_eq!(empty.to_emf("N", "f", 0)["SourceEmpty"], 1);
        assert_eq!(emf["Source"], "synthetic");
        assert_eq!(s.to_emf_failed("N", "f", 0)["InvocationFailed"], 1);
    }
}
