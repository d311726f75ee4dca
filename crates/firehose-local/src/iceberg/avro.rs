//! Manifests and manifest lists: Avro object container files whose schemas carry Iceberg's
//! field ids (readers resolve fields by id). Only the fields this writer fills are in the
//! schemas; every field the spec requires is among them, the rest are optional.
//! <https://iceberg.apache.org/spec/#manifests>

use apache_avro::types::Value as Avro;
use apache_avro::{Reader, Schema, Writer};

use super::IcebergError;
use super::spec::{FORMAT_VERSION, SPEC_ID};

/// A manifest entry's status.
/// <https://iceberg.apache.org/spec/#manifest-entry-fields>
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Existing = 0,
    Added = 1,
    Deleted = 2,
}

/// A data file's `content`: this writer writes data only (copy-on-write).
const CONTENT_DATA: i32 = 0;

const MANIFEST_ENTRY_SCHEMA: &str = r#"{"type":"record","name":"manifest_entry","fields":[
 {"name":"status","type":"int","field-id":0},
 {"name":"snapshot_id","type":["null","long"],"default":null,"field-id":1},
 {"name":"sequence_number","type":["null","long"],"default":null,"field-id":3},
 {"name":"file_sequence_number","type":["null","long"],"default":null,"field-id":4},
 {"name":"data_file","type":{"type":"record","name":"r2","fields":[
  {"name":"content","type":"int","field-id":134},
  {"name":"file_path","type":"string","field-id":100},
  {"name":"file_format","type":"string","field-id":101},
  {"name":"partition","type":{"type":"record","name":"r102","fields":[]},"field-id":102},
  {"name":"record_count","type":"long","field-id":103},
  {"name":"file_size_in_bytes","type":"long","field-id":104}]},"field-id":2}]}"#;

const MANIFEST_FILE_SCHEMA: &str = r#"{"type":"record","name":"manifest_file","fields":[
 {"name":"manifest_path","type":"string","field-id":500},
 {"name":"manifest_length","type":"long","field-id":501},
 {"name":"partition_spec_id","type":"int","field-id":502},
 {"name":"content","type":"int","field-id":517},
 {"name":"sequence_number","type":"long","field-id":515},
 {"name":"min_sequence_number","type":"long","field-id":516},
 {"name":"added_snapshot_id","type":"long","field-id":503},
 {"name":"added_files_count","type":"int","field-id":504},
 {"name":"existing_files_count","type":"int","field-id":505},
 {"name":"deleted_files_count","type":"int","field-id":506},
 {"name":"added_rows_count","type":"long","field-id":512},
 {"name":"existing_rows_count","type":"long","field-id":513},
 {"name":"deleted_rows_count","type":"long","field-id":514}]}"#;

/// A data file of the table, as a manifest entry records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    /// A `file://` URI.
    pub path: String,
    pub record_count: i64,
    pub size: i64,
    /// The snapshot that added it, and its data sequence number.
    pub snapshot_id: i64,
    pub sequence_number: i64,
}

/// One manifest entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub status: Status,
    pub file: DataFile,
}

/// One manifest in a manifest list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestFile {
    pub path: String,
    pub length: i64,
    pub sequence_number: i64,
    pub min_sequence_number: i64,
    pub added_snapshot_id: i64,
    pub counts: [i32; 3],
    pub rows: [i64; 3],
}

fn schema(text: &str) -> Result<Schema, IcebergError> {
    Schema::parse_str(text).map_err(|e| IcebergError::Avro(e.to_string()))
}

fn avro_err(e: apache_avro::Error) -> IcebergError {
    IcebergError::Avro(e.to_string())
}

/// A manifest's bytes: `entries` under the table's schema and the (empty) partition spec.
pub fn write_manifest(entries: &[Entry], table_schema: &str) -> Result<Vec<u8>, IcebergError> {
    let schema = schema(MANIFEST_ENTRY_SCHEMA)?;
    let mut writer = Writer::new(&schema, Vec::new());
    for (key, value) in [
        ("schema", table_schema),
        ("schema-id", "0"),
        ("partition-spec", "[]"),
        ("partition-spec-id", &SPEC_ID.to_string()),
        ("format-version", &FORMAT_VERSION.to_string()),
        ("content", "data"),
    ] {
        writer
            .add_user_metadata(key.to_owned(), value)
            .map_err(avro_err)?;
    }
    for e in entries {
        let file = Avro::Record(vec![
            ("content".into(), Avro::Int(CONTENT_DATA)),
            ("file_path".into(), Avro::String(e.file.path.clone())),
            ("file_format".into(), Avro::String("PARQUET".into())),
            ("partition".into(), Avro::Record(Vec::new())),
            ("record_count".into(), Avro::Long(e.file.record_count)),
            ("file_size_in_bytes".into(), Avro::Long(e.file.size)),
        ]);
        let some_long = |v: i64| Avro::Union(1, Box::new(Avro::Long(v)));
        let record = Avro::Record(vec![
            ("status".into(), Avro::Int(e.status as i32)),
            ("snapshot_id".into(), some_long(e.file.snapshot_id)),
            ("sequence_number".into(), some_long(e.file.sequence_number)),
            (
                "file_sequence_number".into(),
                some_long(e.file.sequence_number),
            ),
            ("data_file".into(), file),
        ]);
        writer.append(record).map_err(avro_err)?;
    }
    writer.into_inner().map_err(avro_err)
}

/// A manifest list's bytes.
pub fn write_manifest_list(
    manifests: &[ManifestFile],
    snapshot_id: i64,
    parent: Option<i64>,
    sequence_number: i64,
) -> Result<Vec<u8>, IcebergError> {
    let schema = schema(MANIFEST_FILE_SCHEMA)?;
    let mut writer = Writer::new(&schema, Vec::new());
    let parent = parent.map_or_else(|| "null".to_owned(), |p| p.to_string());
    for (key, value) in [
        ("snapshot-id", snapshot_id.to_string()),
        ("parent-snapshot-id", parent),
        ("sequence-number", sequence_number.to_string()),
        ("format-version", FORMAT_VERSION.to_string()),
    ] {
        writer
            .add_user_metadata(key.to_owned(), value)
            .map_err(avro_err)?;
    }
    for m in manifests {
        let record = Avro::Record(vec![
            ("manifest_path".into(), Avro::String(m.path.clone())),
            ("manifest_length".into(), Avro::Long(m.length)),
            ("partition_spec_id".into(), Avro::Int(SPEC_ID)),
            ("content".into(), Avro::Int(CONTENT_DATA)),
            ("sequence_number".into(), Avro::Long(m.sequence_number)),
            (
                "min_sequence_number".into(),
                Avro::Long(m.min_sequence_number),
            ),
            ("added_snapshot_id".into(), Avro::Long(m.added_snapshot_id)),
            ("added_files_count".into(), Avro::Int(m.counts[0])),
            ("existing_files_count".into(), Avro::Int(m.counts[1])),
            ("deleted_files_count".into(), Avro::Int(m.counts[2])),
            ("added_rows_count".into(), Avro::Long(m.rows[0])),
            ("existing_rows_count".into(), Avro::Long(m.rows[1])),
            ("deleted_rows_count".into(), Avro::Long(m.rows[2])),
        ]);
        writer.append(record).map_err(avro_err)?;
    }
    writer.into_inner().map_err(avro_err)
}

/// The manifest paths of a manifest list.
pub fn read_manifest_list(bytes: &[u8]) -> Result<Vec<String>, IcebergError> {
    let reader = Reader::new(bytes).map_err(avro_err)?;
    let mut out = Vec::new();
    for value in reader {
        let value = value.map_err(avro_err)?;
        out.push(string(&value, "manifest_path")?);
    }
    Ok(out)
}

/// The entries of a manifest. An entry without a sequence number inherits the manifest's.
pub fn read_manifest(bytes: &[u8], inherited: (i64, i64)) -> Result<Vec<Entry>, IcebergError> {
    let reader = Reader::new(bytes).map_err(avro_err)?;
    let mut out = Vec::new();
    for value in reader {
        let value = value.map_err(avro_err)?;
        let status = match long(&value, "status")? {
            Some(0) => Status::Existing,
            Some(1) => Status::Added,
            _ => Status::Deleted,
        };
        let file = field(&value, "data_file")?;
        out.push(Entry {
            status,
            file: DataFile {
                path: string(file, "file_path")?,
                record_count: long(file, "record_count")?.unwrap_or_default(),
                size: long(file, "file_size_in_bytes")?.unwrap_or_default(),
                snapshot_id: long(&value, "snapshot_id")?.unwrap_or(inherited.0),
                sequence_number: long(&value, "sequence_number")?.unwrap_or(inherited.1),
            },
        });
    }
    Ok(out)
}

fn field<'a>(record: &'a Avro, name: &str) -> Result<&'a Avro, IcebergError> {
    let Avro::Record(fields) = record else {
        return Err(IcebergError::Avro(format!(
            "expected a record holding {name}"
        )));
    };
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .ok_or_else(|| IcebergError::Avro(format!("no field {name}")))
}

fn string(record: &Avro, name: &str) -> Result<String, IcebergError> {
    match field(record, name)? {
        Avro::String(s) => Ok(s.clone()),
        other => Err(IcebergError::Avro(format!("{name} is {other:?}"))),
    }
}

fn long(record: &Avro, name: &str) -> Result<Option<i64>, IcebergError> {
    let value = match field(record, name)? {
        Avro::Union(_, inner) => inner.as_ref(),
        v => v,
    };
    match value {
        Avro::Null => Ok(None),
        Avro::Long(v) => Ok(Some(*v)),
        Avro::Int(v) => Ok(Some(i64::from(*v))),
        other => Err(IcebergError::Avro(format!("{name} is {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_and_a_manifest_list_read_back_as_written() {
        // GIVEN an added and a deleted entry
        let file = |n: i64| DataFile {
            path: format!("file:///t/data/{n}.parquet"),
            record_count: n,
            size: 100 * n,
            snapshot_id: 7,
            sequence_number: n,
        };
        let entries = vec![
            Entry {
                status: Status::Added,
                file: file(1),
            },
            Entry {
                status: Status::Deleted,
                file: file(2),
            },
        ];
        // WHEN they are written and read back
        let bytes = write_manifest(&entries, "{}").unwrap();
        // THEN the entries are the same, and the header carries Iceberg's keys
        assert_eq!(read_manifest(&bytes, (0, 0)).unwrap(), entries);
        let reader = Reader::new(&bytes[..]).unwrap();
        assert_eq!(reader.user_metadata()["content"], b"data");
        let list = ManifestFile {
            path: "file:///t/metadata/m.avro".into(),
            length: bytes.len() as i64,
            sequence_number: 2,
            min_sequence_number: 1,
            added_snapshot_id: 7,
            counts: [1, 0, 1],
            rows: [1, 0, 2],
        };
        let bytes = write_manifest_list(&[list], 7, None, 2).unwrap();
        assert_eq!(
            read_manifest_list(&bytes).unwrap(),
            ["file:///t/metadata/m.avro"]
        );
    }
}
