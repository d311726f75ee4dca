//! What the transform asks of an Iceberg destination: `metadata.otfMetadata` =
//! `{destinationDatabaseName, destinationTableName, operation}`, `operation` one of `insert`,
//! `update`, `delete` (matched on the destination table's unique keys).
//! <https://docs.aws.amazon.com/firehose/latest/dev/apache-iceberg-format-input-record-different.html>

use serde_json::Value;

/// Error codes of records the Iceberg destination could not take (written under
/// [`crate::bucket::ICEBERG_FAILED_PREFIX`]). Firehose documents the error output, not these
/// codes: they are the local Firehose's own.
pub mod codes {
    /// An `Ok` record without `metadata.otfMetadata`, while several tables are configured.
    pub const ROUTING_MISSING: &str = "Iceberg.RoutingInformationMissing";
    /// `otfMetadata` without a database or table name, or with an unknown operation.
    pub const ROUTING_INVALID: &str = "Iceberg.InvalidRoutingInformation";
    /// The database and table are not among the destination's tables.
    pub const TABLE_NOT_CONFIGURED: &str = "Iceberg.TableNotConfigured";
    /// An update or delete on a table without unique keys, or a record lacking a key column.
    pub const UNIQUE_KEY_MISSING: &str = "Iceberg.UniqueKeyMissing";
    /// The record is not a JSON object, or a value does not fit its column.
    pub const SCHEMA_MISMATCH: &str = "Iceberg.SchemaMismatch";
}

/// A record's operation on its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Insert,
    Update,
    Delete,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Insert => "insert",
            Operation::Update => "update",
            Operation::Delete => "delete",
        }
    }
}

impl std::str::FromStr for Operation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "insert" => Ok(Operation::Insert),
            "update" => Ok(Operation::Update),
            "delete" => Ok(Operation::Delete),
            other => Err(format!(
                "operation {other:?} is not insert, update or delete"
            )),
        }
    }
}

/// A record's routing, as the transform answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtfMetadata {
    pub database: String,
    pub table: String,
    pub operation: Operation,
}

/// Reads `metadata.otfMetadata` of one response record: `None` when it has none, an error
/// (the message names the member) when it is malformed. A missing `operation` is an insert,
/// as when a JSONQuery expression gives none.
pub fn parse(record: &Value) -> Option<Result<OtfMetadata, String>> {
    let otf = record.pointer("/metadata/otfMetadata")?;
    Some(parse_otf(otf))
}

fn parse_otf(otf: &Value) -> Result<OtfMetadata, String> {
    let name = |member: &str| match otf.get(member) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(format!(
            "otfMetadata.{member} is missing or not a non-empty string"
        )),
    };
    let operation = match otf.get("operation") {
        None | Some(Value::Null) => Operation::Insert,
        Some(Value::String(s)) => s.parse()?,
        Some(other) => return Err(format!("otfMetadata.operation is {other}, not a string")),
    };
    Ok(OtfMetadata {
        database: name("destinationDatabaseName")?,
        table: name("destinationTableName")?,
        operation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn routing_is_read_with_firehose_s_member_names() {
        // GIVEN records answered with, without, and with broken otfMetadata
        let ok = json!({"metadata": {"otfMetadata": {"destinationDatabaseName": "db",
            "destinationTableName": "posts", "operation": "delete"}}});
        let none = json!({"metadata": {"partitionKeys": {}}});
        let bad_op = json!({"metadata": {"otfMetadata": {"destinationDatabaseName": "db",
            "destinationTableName": "posts", "operation": "upsert"}}});
        let no_table = json!({"metadata": {"otfMetadata": {"destinationDatabaseName": "db"}}});
        // WHEN they are parsed THEN each says what it is
        assert_eq!(
            parse(&ok).unwrap().unwrap(),
            OtfMetadata {
                database: "db".into(),
                table: "posts".into(),
                operation: Operation::Delete
            }
        );
        assert!(parse(&none).is_none());
        assert!(parse(&bad_op).unwrap().unwrap_err().contains("upsert"));
        let err = parse(&no_table).unwrap().unwrap_err();
        assert!(err.contains("destinationTableName"), "{err}");
    }
}
