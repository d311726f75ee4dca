//! The Iceberg table format (v2) as far as this writer uses it: the table schema derived from
//! the posts table's Arrow schema, the name mapping that lets readers find those columns in
//! Parquet files written without field ids, and the table metadata file.
//! <https://iceberg.apache.org/spec/>

use std::collections::BTreeMap;

use arrow_schema::{DataType, Fields};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The table format version written: v2 has row-level deletes and sequence numbers.
pub const FORMAT_VERSION: u8 = 2;
/// The one schema, partition spec and sort order a table here has.
pub const SCHEMA_ID: i32 = 0;
pub const SPEC_ID: i32 = 0;
/// An unpartitioned table's last partition field id (the spec starts partition ids at 1000).
pub const LAST_PARTITION_ID: i32 = 999;
/// Table property: how readers map Parquet columns without field ids to the schema's fields.
/// <https://iceberg.apache.org/spec/#column-projection>
pub const NAME_MAPPING_PROPERTY: &str = "schema.name-mapping.default";
/// Snapshot summary property: per shard, the last source sequence number this table holds.
/// A re-delivered record at or below it is already in the table.
pub const CHECKPOINT_PROPERTY: &str = "kinesis-sentiment.checkpoint";
/// Snapshot summary property: the file of deleted keys (and when they were deleted) that keeps
/// a version of a post read after its deletion out of the table. Readers need not know it.
pub const TOMBSTONES_PROPERTY: &str = "kinesis-sentiment.tombstones";

/// The Iceberg schema (fields with ids) and its name mapping, from an Arrow schema.
pub fn iceberg_schema(fields: &Fields, unique_keys: &[String]) -> (Value, Value, i32) {
    let mut next = 0;
    let (mut fields_json, mapping) = convert_fields(fields, &mut next);
    // Identifier fields must be required (pyiceberg refuses the schema otherwise): a record
    // without its key never reaches the table.
    for f in fields_json.iter_mut() {
        if unique_keys.iter().any(|k| f["name"] == k.as_str()) {
            f["required"] = Value::Bool(true);
        }
    }
    let identifier_ids: Vec<i32> = unique_keys
        .iter()
        .filter_map(|k| fields.iter().position(|f| f.name() == k))
        .map(|i| fields_json[i]["id"].as_i64().unwrap_or_default() as i32)
        .collect();
    let schema = json!({
        "type": "struct",
        "schema-id": SCHEMA_ID,
        "identifier-field-ids": identifier_ids,
        "fields": fields_json,
    });
    (schema, Value::Array(mapping), next)
}

/// Ids are given level by level (a struct's fields, then what they hold), as Iceberg does.
fn convert_fields(fields: &Fields, next: &mut i32) -> (Vec<Value>, Vec<Value>) {
    let ids: Vec<i32> = fields
        .iter()
        .map(|_| {
            *next += 1;
            *next
        })
        .collect();
    let mut out = Vec::with_capacity(fields.len());
    let mut mapping = Vec::with_capacity(fields.len());
    for (field, id) in fields.iter().zip(ids) {
        let (ty, children) = convert_type(field.data_type(), next);
        out.push(json!({
            "id": id,
            "name": field.name(),
            "required": !field.is_nullable(),
            "type": ty,
        }));
        let mut entry = json!({"field-id": id, "names": [field.name()]});
        if let Some(children) = children {
            entry["fields"] = Value::Array(children);
        }
        mapping.push(entry);
    }
    (out, mapping)
}

fn convert_type(data_type: &DataType, next: &mut i32) -> (Value, Option<Vec<Value>>) {
    match data_type {
        DataType::Struct(fields) => {
            let (fields_json, mapping) = convert_fields(fields, next);
            (
                json!({"type": "struct", "fields": fields_json}),
                Some(mapping),
            )
        }
        DataType::List(item) => {
            *next += 1;
            let id = *next;
            let (element, children) = convert_type(item.data_type(), next);
            // Arrow names a list's element `item`; the spec's name is `element`.
            let mut entry = json!({"field-id": id, "names": ["element", item.name()]});
            if let Some(children) = children {
                entry["fields"] = Value::Array(children);
            }
            let ty = json!({
                "type": "list",
                "element-id": id,
                "element": element,
                "element-required": !item.is_nullable(),
            });
            (ty, Some(vec![entry]))
        }
        other => (Value::String(primitive(other).to_owned()), None),
    }
}

fn primitive(data_type: &DataType) -> &'static str {
    match data_type {
        DataType::Boolean => "boolean",
        DataType::Int32 => "int",
        DataType::Int64 => "long",
        DataType::Float32 => "float",
        DataType::Float64 => "double",
        // The posts schema has nothing else; strings stand for anything new.
        _ => "string",
    }
}

/// A snapshot as the metadata file lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Snapshot {
    pub snapshot_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_snapshot_id: Option<i64>,
    pub sequence_number: i64,
    pub timestamp_ms: i64,
    pub manifest_list: String,
    pub summary: BTreeMap<String, String>,
    pub schema_id: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SnapshotLogEntry {
    pub timestamp_ms: i64,
    pub snapshot_id: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct MetadataLogEntry {
    pub timestamp_ms: i64,
    pub metadata_file: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SnapshotRef {
    pub snapshot_id: i64,
    #[serde(rename = "type")]
    pub kind: String,
}

/// A table metadata file (`vN.metadata.json`), format v2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct TableMetadata {
    pub format_version: u8,
    pub table_uuid: String,
    pub location: String,
    pub last_sequence_number: i64,
    pub last_updated_ms: i64,
    pub last_column_id: i32,
    pub schemas: Vec<Value>,
    pub current_schema_id: i32,
    pub partition_specs: Vec<Value>,
    pub default_spec_id: i32,
    pub last_partition_id: i32,
    pub properties: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_snapshot_id: Option<i64>,
    #[serde(default)]
    pub refs: BTreeMap<String, SnapshotRef>,
    #[serde(default)]
    pub snapshots: Vec<Snapshot>,
    #[serde(default)]
    pub snapshot_log: Vec<SnapshotLogEntry>,
    #[serde(default)]
    pub metadata_log: Vec<MetadataLogEntry>,
    pub sort_orders: Vec<Value>,
    pub default_sort_order_id: i32,
}

impl TableMetadata {
    /// A new, empty, unpartitioned table at `location` (a `file://` URI).
    pub fn new(location: String, fields: &Fields, unique_keys: &[String], now_ms: i64) -> Self {
        let (schema, mapping, last_column_id) = iceberg_schema(fields, unique_keys);
        TableMetadata {
            format_version: FORMAT_VERSION,
            table_uuid: uuid::Uuid::new_v4().to_string(),
            location,
            last_sequence_number: 0,
            last_updated_ms: now_ms,
            last_column_id,
            schemas: vec![schema],
            current_schema_id: SCHEMA_ID,
            partition_specs: vec![json!({"spec-id": SPEC_ID, "fields": []})],
            default_spec_id: SPEC_ID,
            last_partition_id: LAST_PARTITION_ID,
            properties: BTreeMap::from([
                (NAME_MAPPING_PROPERTY.to_owned(), mapping.to_string()),
                ("write.format.default".to_owned(), "parquet".to_owned()),
                ("format-version".to_owned(), FORMAT_VERSION.to_string()),
            ]),
            current_snapshot_id: None,
            refs: BTreeMap::new(),
            snapshots: Vec::new(),
            snapshot_log: Vec::new(),
            metadata_log: Vec::new(),
            sort_orders: vec![json!({"order-id": 0, "fields": []})],
            default_sort_order_id: 0,
        }
    }

    pub fn current_snapshot(&self) -> Option<&Snapshot> {
        let id = self.current_snapshot_id?;
        self.snapshots.iter().find(|s| s.snapshot_id == id)
    }

    /// The schema as JSON (written into every manifest's header).
    pub fn schema(&self) -> &Value {
        &self.schemas[0]
    }

    /// The source position the current snapshot holds records up to, per shard.
    pub fn checkpoint(&self) -> BTreeMap<String, String> {
        self.current_snapshot()
            .and_then(|s| s.summary.get(CHECKPOINT_PROPERTY))
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_gets_its_own_id_and_the_unique_key_is_the_identifier() {
        // GIVEN the posts table's Arrow schema
        let schema = ks_parquet::schema();
        // WHEN it becomes an Iceberg schema with `id` as unique key
        let (iceberg, mapping, last) = iceberg_schema(schema.fields(), &["id".to_owned()]);
        // THEN ids are 1..=last, each once, `id` is field 1 and the identifier
        let text = iceberg.to_string();
        let mut ids: Vec<i64> = Vec::new();
        collect_ids(&iceberg, &mut ids);
        ids.sort_unstable();
        assert_eq!(ids, (1..=i64::from(last)).collect::<Vec<_>>(), "{text}");
        assert_eq!(iceberg["fields"][0]["name"], "id");
        assert_eq!(iceberg["identifier-field-ids"], json!([1]));
        // AND the name mapping names the list elements both ways
        assert!(
            mapping
                .to_string()
                .contains(r#""names":["element","item"]"#)
        );
    }

    fn collect_ids(v: &Value, out: &mut Vec<i64>) {
        match v {
            Value::Object(m) => {
                for key in ["id", "element-id"] {
                    if let Some(id) = m.get(key).and_then(Value::as_i64) {
                        out.push(id);
                    }
                }
                m.values().for_each(|v| collect_ids(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| collect_ids(v, out)),
            _ => {}
        }
    }
}
