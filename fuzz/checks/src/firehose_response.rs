//! The local Firehose's check of a function's answer
//! (`ks_firehose_local::firehose::check_response`) on any bytes, with each record's Iceberg
//! routing (`metadata.otfMetadata`): never a panic; an accepted answer has one result per
//! record; a record's routing is read exactly when the oracle (serde_json) finds an
//! `otfMetadata`, and is valid exactly when its database and table names are non-empty strings
//! and its operation is absent, null, or one of `insert`, `update`, `delete`.

use ks_firehose_local::firehose::check_response;
use ks_firehose_local::iceberg::Operation;
use serde_json::Value;

/// The oracle: `None` without otfMetadata; else the routing's (database, table, operation).
fn oracle(record: &Value) -> Option<Option<(String, String, Operation)>> {
    let otf = record.pointer("/metadata/otfMetadata")?;
    let name = |k: &str| match otf.get(k) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let operation = match otf.get("operation") {
        None | Some(Value::Null) => Some(Operation::Insert),
        Some(Value::String(s)) if s == "insert" => Some(Operation::Insert),
        Some(Value::String(s)) if s == "update" => Some(Operation::Update),
        Some(Value::String(s)) if s == "delete" => Some(Operation::Delete),
        _ => None,
    };
    let (Some(database), Some(table), Some(operation)) =
        (name("destinationDatabaseName"), name("destinationTableName"), operation)
    else {
        return Some(None);
    };
    Some(Some((database, table, operation)))
}

pub fn check(data: &[u8]) {
    let parsed: Option<Value> = serde_json::from_slice(data).ok();
    let records: Vec<Value> = parsed
        .as_ref()
        .and_then(|v| v.get("records"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // The answer's own ids, so that a well-formed answer is accepted.
    let ids: Vec<String> = records
        .iter()
        .map(|r| r.get("recordId").and_then(Value::as_str).unwrap_or("").to_owned())
        .collect();
    let Ok(answers) = check_response(&ids, data) else {
        return;
    };
    assert_eq!(answers.len(), records.len());
    for (answer, record) in answers.iter().zip(&records) {
        let got = answer.otf.as_ref().map(|r| {
            r.as_ref()
                .ok()
                .map(|o| (o.database.clone(), o.table.clone(), o.operation))
        });
        assert_eq!(got, oracle(record), "{record}");
    }
}
