//! CloudWatch Embedded Metric Format: one JSON log line that CloudWatch turns into metrics.
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use serde_json::{Map, Value, json};

/// Writes the document `to_emf` makes for `namespace`, `function_name` and the time now as one
/// line on stdout, where Lambda's log agent turns it into metrics.
pub fn emit(namespace: &str, function_name: &str, to_emf: impl FnOnce(&str, &str, u64) -> Value) {
    println!(
        "{}",
        to_emf(namespace, function_name, crate::deadline::now_ms())
    );
}

/// The units our metrics use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Bytes,
    Milliseconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Bytes => "Bytes",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// One EMF document being built: dimension values, then metrics.
#[derive(Debug, Clone)]
pub struct Emf {
    doc: Map<String, Value>,
    metrics: Vec<Value>,
}

impl Emf {
    /// A document with the dimension `FunctionName` (always present).
    pub fn new(function_name: &str) -> Self {
        let mut doc = Map::new();
        doc.insert("FunctionName".to_owned(), json!(function_name));
        Emf {
            doc,
            metrics: Vec::new(),
        }
    }

    /// Sets a dimension's value (or any other top-level property).
    pub fn property(mut self, name: &str, value: &str) -> Self {
        self.doc.insert(name.to_owned(), json!(value));
        self
    }

    /// Declares a metric and sets its value.
    pub fn metric(&mut self, name: &str, unit: Unit, value: u64) {
        self.metrics
            .push(json!({"Name": name, "Unit": unit.as_str()}));
        self.doc.insert(name.to_owned(), json!(value));
    }

    /// The finished document; `dimensions` are the dimension sets metrics are published under.
    pub fn finish(mut self, namespace: &str, dimensions: &[&[&str]], timestamp_ms: u64) -> Value {
        self.doc.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": dimensions,
                    "Metrics": self.metrics,
                }],
            }),
        );
        Value::Object(self.doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_metric_has_its_value_and_the_dimensions_are_set() {
        // GIVEN two metrics and a second dimension
        let mut emf = Emf::new("f").property("Source", "synthetic");
        emf.metric("RecordsIn", Unit::Count, 7);
        emf.metric("DurationMs", Unit::Milliseconds, 12);
        // WHEN finished
        let doc = emf.finish("NS", &[&["FunctionName"], &["FunctionName", "Source"]], 1);
        // THEN the declaration and the values agree
        let declared = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        assert_eq!(declared.len(), 2);
        assert_eq!(declared[1]["Unit"], "Milliseconds");
        assert_eq!(
            (doc["RecordsIn"].as_u64(), doc["DurationMs"].as_u64()),
            (Some(7), Some(12))
        );
        assert_eq!(doc["FunctionName"], "f");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"][1][1],
            "Source"
        );
        assert_eq!(doc["_aws"]["Timestamp"], 1);
    }
}
