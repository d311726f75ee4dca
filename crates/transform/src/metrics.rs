//! What one invocation did: the summary log line and its CloudWatch Embedded Metric Format twin.
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use std::collections::BTreeMap;

use ks_kernel::emf::{Emf, Unit};
use serde::Serialize;
use serde_json::Value;

/// Counts for one transform invocation.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub records_in: u64,
    pub ok: u64,
    pub dropped: u64,
    pub failed: u64,
    /// Distinct documents scored.
    pub texts_analysed: u64,
    /// Records that shared an earlier record's text and were not sent again.
    pub deduplicated: u64,
    pub no_text: u64,
    pub unsupported_language: u64,
    /// Records without a language tag whose language was identified from their text.
    pub languages_identified: u64,
    pub passed_through: u64,
    /// Deletion and account records, delivered to their own area unscored.
    pub deletions: u64,
    /// Distinct documents left without sentiment after retries.
    pub sentiment_errors: u64,
    pub over_response_limit: u64,
    /// Remote calls made (first attempts and retries), whatever the backend.
    pub sentiment_calls: u64,
    /// The same, when the backend is Comprehend (0 otherwise): the summary line's
    /// `comprehend_calls`, kept under that name for the queries written against it.
    pub comprehend_calls: u64,
    /// Calls the service answered by throttling.
    pub throttled: u64,
    /// The lowest the adaptive concurrency limit went (the configured concurrency if it was
    /// never cut; 0 when no remote call was made).
    pub concurrency_low: u64,
    pub retries: u64,
    /// Σ max(3, ⌈chars/100⌉) over the documents Comprehend scored.
    pub billed_units: u64,
    /// Bedrock Converse calls, and the tokens their `usage` reported.
    pub bedrock_calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// What this invocation's sentiment cost at list prices: Comprehend units, or Bedrock
    /// tokens at the model's prices (0 where none is known, and for the lexicon).
    pub estimated_cost_usd: f64,
    /// Records delivered per sentiment label.
    pub labels: BTreeMap<&'static str, u64>,
    pub elapsed_ms: u64,
    /// Why the sentiment model cannot be used at all, if a call said so: the invocation must
    /// then fail as a whole (it is the outcome, not a count, so it is not in the summary line).
    #[serde(skip)]
    pub model_unusable: Option<String>,
}

impl Summary {
    /// Adds a token-billed model's usage, and sets the estimated cost.
    pub fn add_usage(&mut self, usage: crate::sentiment::ModelUsage) {
        self.bedrock_calls += usage.calls;
        self.input_tokens += usage.input_tokens;
        self.output_tokens += usage.output_tokens;
        self.estimated_cost_usd =
            self.billed_units as f64 * crate::limits::COMPREHEND_USD_PER_UNIT + usage.cost_usd;
    }

    /// The EMF document for these counts: one line CloudWatch turns into metrics.
    pub fn to_emf(&self, namespace: &str, function_name: &str, timestamp_ms: u64) -> Value {
        let mut emf = Emf::new(function_name);
        for (name, value) in [
            ("RecordsIn", self.records_in),
            ("RecordsOk", self.ok),
            ("RecordsDropped", self.dropped),
            ("RecordsFailed", self.failed),
            ("TextsAnalysed", self.texts_analysed),
            ("TextsDeduplicated", self.deduplicated),
            ("RecordsWithoutText", self.no_text),
            ("UnsupportedLanguage", self.unsupported_language),
            ("LanguagesIdentified", self.languages_identified),
            ("PassedThrough", self.passed_through),
            ("DeletionRecords", self.deletions),
            ("SentimentErrors", self.sentiment_errors),
            ("OverResponseLimit", self.over_response_limit),
            ("ComprehendCalls", self.comprehend_calls),
            ("SentimentCalls", self.sentiment_calls),
            ("ThrottledCalls", self.throttled),
            ("ComprehendRetries", self.retries),
            ("ComprehendUnits", self.billed_units),
            ("BedrockCalls", self.bedrock_calls),
            ("InputTokens", self.input_tokens),
            ("OutputTokens", self.output_tokens),
        ] {
            emf.metric(name, Unit::Count, value);
        }
        for (label, name) in [
            ("POSITIVE", "SentimentPositive"),
            ("NEGATIVE", "SentimentNegative"),
            ("NEUTRAL", "SentimentNeutral"),
            ("MIXED", "SentimentMixed"),
        ] {
            let value = self.labels.get(label).copied().unwrap_or(0);
            emf.metric(name, Unit::Count, value);
        }
        emf.metric("DurationMs", Unit::Milliseconds, self.elapsed_ms);
        // In micro-dollars, a whole number CloudWatch sums exactly.
        let micro_usd = (self.estimated_cost_usd * 1e6).round() as u64;
        emf.metric("EstimatedCostMicroUSD", Unit::Count, micro_usd);
        emf.finish(namespace, &[&["FunctionName"]], timestamp_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_declares_every_metric_it_carries() {
        // GIVEN a summary WHEN rendered as EMF
        let mut s = Summary {
            records_in: 7,
            ok: 5,
            billed_units: 42,
            ..Summary::default()
        };
        s.labels.insert("POSITIVE", 3);
        let emf = s.to_emf("KinesisSentiment", "firehose-transform", 1_700_000_000_000);
        // THEN each declared metric has a numeric value at the top level
        let declared = emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        assert_eq!(declared.len(), 27);
        for m in declared {
            let name = m["Name"].as_str().unwrap();
            assert!(emf[name].is_u64(), "{name} has no value");
        }
        assert_eq!(emf["RecordsIn"], 7);
        assert_eq!(emf["ComprehendUnits"], 42);
        assert_eq!(emf["SentimentPositive"], 3);
        assert_eq!(emf["SentimentMixed"], 0);
        assert_eq!(emf["FunctionName"], "firehose-transform");
        assert_eq!(
            emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][0],
            "FunctionName"
        );
    }
}
