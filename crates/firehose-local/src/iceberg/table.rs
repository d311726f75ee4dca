//! One Iceberg table on the local disk: `<warehouse>/<database>/<table>/{data,metadata}`.
//! Opening reads the current snapshot's live data files (and, for a table with unique keys,
//! which file holds each key); [`Table::apply`] folds a batch of operations per key, rewrites
//! the data files that hold a key the batch changes (copy-on-write), writes one new data file,
//! and commits one snapshot.
//!
//! A commit writes everything new under fresh names first (data files, the manifest, the
//! manifest list, `vN+1.metadata.json.<uuid>.tmp`), then publishes the metadata file with a
//! hard link that fails if `vN+1.metadata.json` exists (no commit overwrites another), then
//! points `version-hint.text` at it (replaced by rename). A crash before the link leaves only
//! files no metadata names (orphans); readers take the highest `vN.metadata.json`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::IcebergError;
use super::avro::{self, DataFile, Entry, ManifestFile, Status};
use super::route::{Operation, codes};
use super::spec::{
    CHECKPOINT_PROPERTY, Snapshot, SnapshotLogEntry, SnapshotRef, TOMBSTONES_PROPERTY,
    TableMetadata,
};

/// The file naming the current metadata version (the Hadoop catalog's convention, which
/// pyiceberg's `StaticTable` also reads).
pub const VERSION_HINT: &str = "version-hint.text";

/// A destination table: `DestinationTableConfiguration` of the Iceberg destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableConfig {
    pub database: String,
    pub table: String,
    /// Columns that identify a row: what updates and deletes match on (none: insert only).
    pub unique_keys: Vec<String>,
}

/// Where a record came from in the source stream: its shard and sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub shard: String,
    pub sequence: String,
}

/// One routed record.
#[derive(Debug, Clone)]
pub struct RowOp {
    pub operation: Operation,
    /// The record's JSON (its trailing newline optional).
    pub line: Vec<u8>,
    pub origin: Option<Origin>,
}

/// A record the table refused, by its index in the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub index: usize,
    pub code: &'static str,
    pub message: String,
}

/// What one [`Table::apply`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Records already in the table (a re-delivered batch): skipped.
    pub skipped: usize,
    pub rows_added: u64,
    pub rows_removed: u64,
    pub files_added: u64,
    pub files_removed: u64,
    pub bytes_written: u64,
    pub rejected: Vec<Rejected>,
    /// Whether a snapshot was committed.
    pub committed: bool,
}

/// A key's state at the end of a batch: the record holding it (an op index) or gone (`None`),
/// and that record's event time.
#[derive(Debug, Clone, Copy)]
struct Final {
    op: Option<usize>,
    time: u64,
}

type Finals = HashMap<String, Final>;

/// A batch's new rows, encoded.
struct NewRows {
    parquet: Option<(Vec<u8>, i64)>,
    failed: Vec<(usize, String)>,
    keys: Vec<(String, u64)>,
}

/// The tombstones of a commit: the file they were written to, and the tombstones.
type Tombstones = (String, HashMap<String, u64>);

/// A live key: the file holding its row, and the row's event time.
#[derive(Debug, Clone)]
struct Held {
    path: Arc<str>,
    time: u64,
}

/// What a commit changes.
#[derive(Debug, Default)]
struct Change {
    /// New files, with the keys (and event times) of their rows.
    added: Vec<(DataFile, Vec<(String, u64)>)>,
    removed: HashSet<String>,
    rows_removed: u64,
    bytes_written: u64,
}

pub struct Table {
    config: TableConfig,
    dir: PathBuf,
    metadata: TableMetadata,
    version: u64,
    live: Vec<DataFile>,
    /// Keyed tables: which live file holds each key.
    index: HashMap<String, Held>,
    /// Keyed tables: deleted keys and when they were deleted (event time), so that a version
    /// of a post read after its deletion (records of one post on different shards) stays out.
    tombstones: HashMap<String, u64>,
}

impl Table {
    /// Opens the table under `warehouse`, creating it (empty, version 1) if it does not exist.
    pub fn open_or_create(warehouse: &Path, config: TableConfig) -> Result<Table, IcebergError> {
        let dir = warehouse.join(&config.database).join(&config.table);
        let meta_dir = dir.join("metadata");
        let (metadata, version) = match current_version(&meta_dir)? {
            Some(v) => (read_metadata(&metadata_path(&meta_dir, v))?, v),
            None => {
                create_dir(&dir.join("data"))?;
                create_dir(&meta_dir)?;
                let location = file_uri(&std::path::absolute(&dir).map_err(io_at(&dir))?);
                let schema = ks_parquet::schema();
                let metadata =
                    TableMetadata::new(location, schema.fields(), &config.unique_keys, now_ms());
                publish(&meta_dir, 1, &metadata)?;
                (metadata, 1)
            }
        };
        let live = live_files(&metadata)?;
        let mut table = Table {
            config,
            dir,
            metadata,
            version,
            live,
            index: HashMap::new(),
            tombstones: HashMap::new(),
        };
        table.build_index()?;
        table.tombstones = read_tombstones(&table.metadata)?;
        Ok(table)
    }

    pub fn config(&self) -> &TableConfig {
        &self.config
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn metadata(&self) -> &TableMetadata {
        &self.metadata
    }

    /// The current metadata file.
    pub fn metadata_file(&self) -> PathBuf {
        metadata_path(&self.dir.join("metadata"), self.version)
    }

    pub fn live_files(&self) -> &[DataFile] {
        &self.live
    }

    /// Every live row.
    pub fn rows(&self) -> Result<Vec<Map<String, Value>>, IcebergError> {
        let mut out = Vec::new();
        for f in &self.live {
            out.extend(read_rows(&f.path)?);
        }
        Ok(out)
    }

    fn build_index(&mut self) -> Result<(), IcebergError> {
        if self.config.unique_keys.is_empty() {
            return Ok(());
        }
        for f in &self.live {
            let path: Arc<str> = Arc::from(f.path.as_str());
            for row in read_rows(&f.path)? {
                if let Some(key) = key_of(&row, &self.config.unique_keys) {
                    let time = event_time(&row);
                    self.index.insert(
                        key,
                        Held {
                            path: path.clone(),
                            time,
                        },
                    );
                }
            }
        }
        Ok(())
    }

    /// Applies a batch of routed records and commits them as one snapshot, recording
    /// `checkpoint` (the source position the batch reaches) in its summary. Records at or
    /// below the position the table already holds are skipped: a batch delivered again after a
    /// crash changes nothing it already changed. `before_commit` runs after every file is
    /// written, just before the commit is published (the fault hook).
    pub fn apply(
        &mut self,
        ops: &[RowOp],
        checkpoint: &BTreeMap<String, String>,
        before_commit: impl FnOnce(&str) -> Result<(), IcebergError>,
    ) -> Result<Applied, IcebergError> {
        let mut applied = Applied::default();
        let held = self.metadata.checkpoint();
        let mut active: Vec<bool> = ops
            .iter()
            .map(|op| !op.origin.as_ref().is_some_and(|o| is_held(&held, o)))
            .collect();
        applied.skipped = active.iter().filter(|a| !**a).count();
        let (finals, batch) = loop {
            let (finals, appends) = self.plan(ops, &mut active, &mut applied.rejected);
            let batch = self.encode_new(ops, &finals, &appends)?;
            if batch.failed.is_empty() {
                break (finals, batch);
            }
            for (index, message) in batch.failed {
                active[index] = false;
                let code = codes::SCHEMA_MISMATCH;
                applied.rejected.push(Rejected {
                    index,
                    code,
                    message,
                });
            }
        };
        let tombstones = self.new_tombstones(&finals);
        if finals.is_empty() && batch.parquet.is_none() && tombstones.is_empty() {
            return Ok(applied);
        }
        let mut change = self.rewrite_keys(&finals)?;
        if let Some((parquet, rows)) = &batch.parquet {
            let file = self.write_data_file(parquet, *rows)?;
            change.bytes_written += file.size as u64;
            change.added.push((file, batch.keys));
        }
        if change.added.is_empty() && change.removed.is_empty() && tombstones.is_empty() {
            return Ok(applied);
        }
        let tombstones = self.write_tombstones(tombstones)?;
        before_commit(&self.config.table)?;
        applied.rows_added = change
            .added
            .iter()
            .map(|(f, _)| f.record_count as u64)
            .sum();
        applied.rows_removed = change.rows_removed;
        applied.files_added = change.added.len() as u64;
        applied.files_removed = change.removed.len() as u64;
        applied.bytes_written = change.bytes_written;
        self.commit(change, checkpoint, tombstones)?;
        applied.committed = true;
        Ok(applied)
    }

    /// The batch's deletions merged into the table's tombstones (empty if it deletes nothing).
    fn new_tombstones(&self, finals: &Finals) -> HashMap<String, u64> {
        let deleted: Vec<(&String, u64)> = finals
            .iter()
            .filter(|(_, f)| f.op.is_none())
            .map(|(k, f)| (k, f.time))
            .collect();
        if deleted.is_empty() {
            return HashMap::new();
        }
        let mut all = self.tombstones.clone();
        for (k, t) in deleted {
            let e = all.entry(k.clone()).or_default();
            *e = (*e).max(t);
        }
        all
    }

    /// Writes every tombstone to a new file the snapshot names; `None`: the snapshot keeps
    /// the previous file.
    fn write_tombstones(
        &self,
        tombstones: HashMap<String, u64>,
    ) -> Result<Option<Tombstones>, IcebergError> {
        if tombstones.is_empty() {
            return Ok(None);
        }
        let path = self
            .dir
            .join("metadata")
            .join(format!("tombstones-{}.json", uuid::Uuid::new_v4()));
        let body = serde_json::to_vec(&tombstones).expect("plain map");
        std::fs::write(&path, body).map_err(io_at(&path))?;
        let uri = file_uri(&std::path::absolute(&path).map_err(io_at(&path))?);
        Ok(Some((uri, tombstones)))
    }

    /// Deletes every live row `matches` selects (copy-on-write) and commits; the rows removed.
    pub fn delete_where(
        &mut self,
        matches: impl Fn(&Map<String, Value>) -> bool,
    ) -> Result<u64, IcebergError> {
        let mut change = Change::default();
        for f in self.live.clone() {
            self.rewrite_file(&f, &|row| !matches(row), &mut change)?;
        }
        if change.removed.is_empty() {
            return Ok(0);
        }
        let removed = change.rows_removed;
        let checkpoint = self.metadata.checkpoint();
        self.commit(change, &checkpoint, None)?;
        Ok(removed)
    }

    /// Folds the batch per unique key (the last operation on a key wins; an insert of a key
    /// the table holds replaces it, so the key stays unique); a table without keys appends.
    fn plan(
        &self,
        ops: &[RowOp],
        active: &mut [bool],
        rejected: &mut Vec<Rejected>,
    ) -> (Finals, Vec<usize>) {
        let keys = &self.config.unique_keys;
        let mut finals = Finals::new();
        let mut appends = Vec::new();
        for (index, op) in ops.iter().enumerate() {
            if !active[index] {
                continue;
            }
            let refuse = |code, message: String| Rejected {
                index,
                code,
                message,
            };
            let row: Option<Map<String, Value>> = serde_json::from_slice(&op.line).ok();
            let Some(row) = row else {
                rejected.push(refuse(
                    codes::SCHEMA_MISMATCH,
                    "the record is not a JSON object".to_owned(),
                ));
                active[index] = false;
                continue;
            };
            if keys.is_empty() {
                if op.operation == Operation::Insert {
                    appends.push(index);
                } else {
                    let why = format!(
                        "{} needs unique keys; table {} has none",
                        op.operation.as_str(),
                        self.config.table
                    );
                    rejected.push(refuse(codes::UNIQUE_KEY_MISSING, why));
                    active[index] = false;
                }
                continue;
            }
            let Some(key) = key_of(&row, keys) else {
                let why = format!(
                    "the record lacks the unique key {keys:?} of table {}",
                    self.config.table
                );
                rejected.push(refuse(codes::UNIQUE_KEY_MISSING, why));
                active[index] = false;
                continue;
            };
            let state = Final {
                op: (op.operation != Operation::Delete).then_some(index),
                time: event_time(&row),
            };
            // A version older than one already read (read later, from another shard) loses.
            if finals.get(&key).is_none_or(|prev| prev.time <= state.time) {
                finals.insert(key, state);
            }
        }
        finals.retain(|key, f| f.op.is_none() || !self.is_stale(key, f.time));
        (finals, appends)
    }

    /// Whether a version of `key` at `time` is older than what the table holds: a later
    /// version, or a deletion at or after it.
    fn is_stale(&self, key: &str, time: u64) -> bool {
        self.tombstones
            .get(key)
            .is_some_and(|deleted| *deleted >= time)
            || self.index.get(key).is_some_and(|held| held.time > time)
    }

    /// Encodes the batch's new rows (the final record of each key, and appends) as one
    /// Parquet file; records that do not fit the schema come back in `failed`.
    fn encode_new(
        &self,
        ops: &[RowOp],
        finals: &Finals,
        appends: &[usize],
    ) -> Result<NewRows, IcebergError> {
        let mut puts: Vec<usize> = finals
            .values()
            .filter_map(|f| f.op)
            .chain(appends.iter().copied())
            .collect();
        puts.sort_unstable();
        let mut body = Vec::new();
        for &i in &puts {
            let line = ops[i].line.strip_suffix(b"\n").unwrap_or(&ops[i].line);
            body.extend_from_slice(line);
            body.push(b'\n');
        }
        let encoded = ks_parquet::encode(&body).map_err(|source| IcebergError::Parquet {
            path: self.dir.display().to_string(),
            source,
        })?;
        let failed: Vec<(usize, String)> = encoded
            .failures
            .iter()
            .map(|f| (puts[f.index], f.message.clone()))
            .collect();
        let keys = if self.config.unique_keys.is_empty() || !failed.is_empty() {
            Vec::new()
        } else {
            puts.iter()
                .filter_map(|&i| serde_json::from_slice::<Map<String, Value>>(&ops[i].line).ok())
                .filter_map(|row| Some((key_of(&row, &self.config.unique_keys)?, event_time(&row))))
                .collect()
        };
        let parquet = encoded.parquet.map(|p| (p, encoded.rows as i64));
        Ok(NewRows {
            parquet,
            failed,
            keys,
        })
    }

    /// Rewrites every live file holding a key the batch changes, without those keys' rows.
    fn rewrite_keys(&self, finals: &Finals) -> Result<Change, IcebergError> {
        let mut change = Change::default();
        let holders: HashSet<&str> = finals
            .keys()
            .filter_map(|k| self.index.get(k))
            .map(|held| &*held.path)
            .collect();
        let keys = &self.config.unique_keys;
        for f in self
            .live
            .iter()
            .filter(|f| holders.contains(f.path.as_str()))
        {
            let keep = |row: &Map<String, Value>| {
                key_of(row, keys).is_none_or(|k| !finals.contains_key(&k))
            };
            self.rewrite_file(f, &keep, &mut change)?;
        }
        Ok(change)
    }

    /// Replaces `f` by a file of the rows `keep` keeps (none if it keeps none).
    fn rewrite_file(
        &self,
        f: &DataFile,
        keep: &dyn Fn(&Map<String, Value>) -> bool,
        change: &mut Change,
    ) -> Result<(), IcebergError> {
        let rows = read_rows(&f.path)?;
        let total = rows.len();
        let kept: Vec<&Map<String, Value>> = rows.iter().filter(|r| keep(r)).collect();
        if kept.len() == total {
            return Ok(());
        }
        change.removed.insert(f.path.clone());
        change.rows_removed += (total - kept.len()) as u64;
        if kept.is_empty() {
            return Ok(());
        }
        let mut body = Vec::new();
        for row in &kept {
            serde_json::to_writer(&mut body, row).expect("serialising plain data");
            body.push(b'\n');
        }
        let parquet_err = |source| IcebergError::Parquet {
            path: f.path.clone(),
            source,
        };
        let encoded = ks_parquet::encode(&body).map_err(parquet_err)?;
        let Some(parquet) = encoded.parquet else {
            return Ok(());
        };
        let file = self.write_data_file(&parquet, encoded.rows as i64)?;
        let keys = kept
            .iter()
            .filter_map(|r| Some((key_of(r, &self.config.unique_keys)?, event_time(r))))
            .collect();
        change.bytes_written += file.size as u64;
        change.added.push((file, keys));
        Ok(())
    }

    fn write_data_file(&self, parquet: &[u8], rows: i64) -> Result<DataFile, IcebergError> {
        let path = self
            .dir
            .join("data")
            .join(format!("{}.parquet", uuid::Uuid::new_v4()));
        std::fs::write(&path, parquet).map_err(io_at(&path))?;
        let path = file_uri(&std::path::absolute(&path).map_err(io_at(&path))?);
        Ok(DataFile {
            path,
            record_count: rows,
            size: parquet.len() as i64,
            // Set at commit.
            snapshot_id: 0,
            sequence_number: 0,
        })
    }

    /// Writes the manifest, the manifest list and the next metadata file, and publishes it.
    fn commit(
        &mut self,
        change: Change,
        checkpoint: &BTreeMap<String, String>,
        tombstones: Option<Tombstones>,
    ) -> Result<(), IcebergError> {
        let snapshot_id = new_snapshot_id();
        let sequence = self.metadata.last_sequence_number + 1;
        let added: Vec<DataFile> = change
            .added
            .iter()
            .map(|(f, _)| DataFile {
                snapshot_id,
                sequence_number: sequence,
                ..f.clone()
            })
            .collect();
        let mut entries = Vec::new();
        for f in &self.live {
            let status = if change.removed.contains(&f.path) {
                Status::Deleted
            } else {
                Status::Existing
            };
            let snapshot_id = if status == Status::Deleted {
                snapshot_id
            } else {
                f.snapshot_id
            };
            entries.push(Entry {
                status,
                file: DataFile {
                    snapshot_id,
                    ..f.clone()
                },
            });
        }
        entries.extend(added.iter().map(|f| Entry {
            status: Status::Added,
            file: f.clone(),
        }));
        let list = self.write_manifests(&entries, snapshot_id, sequence)?;
        let mut snapshot = self.snapshot(&entries, snapshot_id, sequence, list, checkpoint);
        let previous = self
            .metadata
            .current_snapshot()
            .and_then(|s| s.summary.get(TOMBSTONES_PROPERTY));
        if let Some(uri) = tombstones.as_ref().map(|(uri, _)| uri).or(previous) {
            snapshot
                .summary
                .insert(TOMBSTONES_PROPERTY.to_owned(), uri.clone());
        }
        let next = self.next_metadata(snapshot);
        publish(&self.dir.join("metadata"), self.version + 1, &next)?;
        self.version += 1;
        self.metadata = next;
        self.live.retain(|f| !change.removed.contains(&f.path));
        self.index
            .retain(|_, held| !change.removed.contains(&*held.path));
        for (f, (_, keys)) in added.iter().zip(change.added) {
            let path: Arc<str> = Arc::from(f.path.as_str());
            for (k, time) in keys {
                self.index.insert(
                    k,
                    Held {
                        path: path.clone(),
                        time,
                    },
                );
            }
        }
        if let Some((_, all)) = tombstones {
            self.tombstones = all;
        }
        self.live.extend(added);
        Ok(())
    }

    fn write_manifests(
        &self,
        entries: &[Entry],
        snapshot_id: i64,
        sequence: i64,
    ) -> Result<String, IcebergError> {
        let meta_dir = self.dir.join("metadata");
        let manifest = avro::write_manifest(entries, &self.metadata.schema().to_string())?;
        let manifest_path = meta_dir.join(format!("{}-m0.avro", uuid::Uuid::new_v4()));
        std::fs::write(&manifest_path, &manifest).map_err(io_at(&manifest_path))?;
        let count = |s: Status| entries.iter().filter(move |e| e.status == s);
        let counts =
            [Status::Added, Status::Existing, Status::Deleted].map(|s| count(s).count() as i32);
        let rows = [Status::Added, Status::Existing, Status::Deleted]
            .map(|s| count(s).map(|e| e.file.record_count).sum());
        let min_sequence = entries
            .iter()
            .filter(|e| e.status != Status::Deleted)
            .map(|e| e.file.sequence_number)
            .min()
            .unwrap_or(sequence);
        let file = ManifestFile {
            path: file_uri(&std::path::absolute(&manifest_path).map_err(io_at(&manifest_path))?),
            length: manifest.len() as i64,
            sequence_number: sequence,
            min_sequence_number: min_sequence,
            added_snapshot_id: snapshot_id,
            counts,
            rows,
        };
        let parent = self.metadata.current_snapshot_id;
        let list = avro::write_manifest_list(&[file], snapshot_id, parent, sequence)?;
        let list_path = meta_dir.join(format!(
            "snap-{snapshot_id}-1-{}.avro",
            uuid::Uuid::new_v4()
        ));
        std::fs::write(&list_path, &list).map_err(io_at(&list_path))?;
        Ok(file_uri(
            &std::path::absolute(&list_path).map_err(io_at(&list_path))?,
        ))
    }

    fn snapshot(
        &self,
        entries: &[Entry],
        snapshot_id: i64,
        sequence: i64,
        manifest_list: String,
        checkpoint: &BTreeMap<String, String>,
    ) -> Snapshot {
        let sum = |s: Status| {
            entries
                .iter()
                .filter(|e| e.status == s)
                .map(|e| e.file.record_count)
                .sum::<i64>()
        };
        let files = |s: Status| entries.iter().filter(|e| e.status == s).count();
        let (added, deleted) = (files(Status::Added), files(Status::Deleted));
        let operation = match (added, deleted) {
            (_, 0) => "append",
            (0, _) => "delete",
            _ => "overwrite",
        };
        let live = files(Status::Added) + files(Status::Existing);
        let summary = BTreeMap::from([
            ("operation".to_owned(), operation.to_owned()),
            ("added-data-files".to_owned(), added.to_string()),
            ("deleted-data-files".to_owned(), deleted.to_string()),
            ("added-records".to_owned(), sum(Status::Added).to_string()),
            (
                "deleted-records".to_owned(),
                sum(Status::Deleted).to_string(),
            ),
            ("total-data-files".to_owned(), live.to_string()),
            ("total-delete-files".to_owned(), "0".to_owned()),
            (
                "total-records".to_owned(),
                (sum(Status::Added) + sum(Status::Existing)).to_string(),
            ),
            (
                CHECKPOINT_PROPERTY.to_owned(),
                serde_json::to_string(checkpoint).expect("plain map"),
            ),
        ]);
        Snapshot {
            snapshot_id,
            parent_snapshot_id: self.metadata.current_snapshot_id,
            sequence_number: sequence,
            timestamp_ms: now_ms(),
            manifest_list,
            summary,
            schema_id: self.metadata.current_schema_id,
        }
    }

    fn next_metadata(&self, snapshot: Snapshot) -> TableMetadata {
        let mut next = self.metadata.clone();
        let now = snapshot.timestamp_ms;
        next.metadata_log.push(super::spec::MetadataLogEntry {
            timestamp_ms: self.metadata.last_updated_ms,
            metadata_file: file_uri(
                &std::path::absolute(self.metadata_file()).unwrap_or_else(|_| self.metadata_file()),
            ),
        });
        next.last_sequence_number = snapshot.sequence_number;
        next.last_updated_ms = now;
        next.current_snapshot_id = Some(snapshot.snapshot_id);
        next.refs.insert(
            "main".to_owned(),
            SnapshotRef {
                snapshot_id: snapshot.snapshot_id,
                kind: "branch".to_owned(),
            },
        );
        next.snapshot_log.push(SnapshotLogEntry {
            timestamp_ms: now,
            snapshot_id: snapshot.snapshot_id,
        });
        next.snapshots.push(snapshot);
        next
    }
}

/// A row's event time: its `time_us` (the source's), 0 when it has none.
fn event_time(row: &Map<String, Value>) -> u64 {
    row.get("time_us").and_then(Value::as_u64).unwrap_or(0)
}

/// The tombstones the current snapshot names.
fn read_tombstones(metadata: &TableMetadata) -> Result<HashMap<String, u64>, IcebergError> {
    let Some(uri) = metadata
        .current_snapshot()
        .and_then(|s| s.summary.get(TOMBSTONES_PROPERTY))
    else {
        return Ok(HashMap::new());
    };
    let bytes = read_uri(uri)?;
    serde_json::from_slice(&bytes).map_err(|e| IcebergError::Metadata {
        path: path_of(uri),
        message: e.to_string(),
    })
}

/// Whether the table already holds the record at `origin`.
fn is_held(held: &BTreeMap<String, String>, origin: &Origin) -> bool {
    held.get(&origin.shard)
        .is_some_and(|h| sequence_le(&origin.sequence, h))
}

/// Kinesis sequence numbers are decimal strings: shorter is smaller.
fn sequence_le(a: &str, b: &str) -> bool {
    (a.len(), a) <= (b.len(), b)
}

/// A row's unique key (the key columns' JSON values), if every key column has a value.
pub fn key_of(row: &Map<String, Value>, keys: &[String]) -> Option<String> {
    let mut out = String::new();
    for k in keys {
        match row.get(k) {
            None | Some(Value::Null) => return None,
            Some(v) => {
                out.push_str(&v.to_string());
                out.push('\u{1f}');
            }
        }
    }
    Some(out)
}

/// The live data files of the current snapshot.
pub fn live_files(metadata: &TableMetadata) -> Result<Vec<DataFile>, IcebergError> {
    let Some(snapshot) = metadata.current_snapshot() else {
        return Ok(Vec::new());
    };
    let list = read_uri(&snapshot.manifest_list)?;
    let mut live = Vec::new();
    for manifest in avro::read_manifest_list(&list)? {
        let inherited = (snapshot.snapshot_id, snapshot.sequence_number);
        for e in avro::read_manifest(&read_uri(&manifest)?, inherited)? {
            if e.status != Status::Deleted {
                live.push(e.file);
            }
        }
    }
    Ok(live)
}

/// The rows of one data file.
pub fn read_rows(uri: &str) -> Result<Vec<Map<String, Value>>, IcebergError> {
    let bytes = read_uri(uri)?;
    ks_parquet::decode(&bytes).map_err(|source| IcebergError::Parquet {
        path: uri.to_owned(),
        source,
    })
}

fn read_uri(uri: &str) -> Result<Vec<u8>, IcebergError> {
    let path = path_of(uri);
    std::fs::read(&path).map_err(io_at(&path))
}

/// The local path of a `file://` URI (or of a plain path).
pub fn path_of(uri: &str) -> PathBuf {
    PathBuf::from(uri.strip_prefix("file://").unwrap_or(uri))
}

pub fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

pub fn metadata_path(meta_dir: &Path, version: u64) -> PathBuf {
    meta_dir.join(format!("v{version}.metadata.json"))
}

/// The current version: the hint's, or higher if a commit published a newer file but did not
/// get to move the hint.
pub fn current_version(meta_dir: &Path) -> Result<Option<u64>, IcebergError> {
    let hint = meta_dir.join(VERSION_HINT);
    let mut version = match std::fs::read_to_string(&hint) {
        Ok(text) => text.trim().parse::<u64>().ok(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(IcebergError::Io {
                path: hint,
                source: e,
            });
        }
    };
    if version.is_none() && metadata_path(meta_dir, 1).exists() {
        version = Some(1);
    }
    while let Some(v) = version {
        if !metadata_path(meta_dir, v + 1).exists() {
            break;
        }
        version = Some(v + 1);
    }
    Ok(version)
}

pub fn read_metadata(path: &Path) -> Result<TableMetadata, IcebergError> {
    let bytes = std::fs::read(path).map_err(io_at(path))?;
    serde_json::from_slice(&bytes).map_err(|e| IcebergError::Metadata {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Publishes `metadata` as version `version`: written whole to a temporary file, synced, then
/// linked to its name (which fails if that version exists), then the hint moved to it.
fn publish(meta_dir: &Path, version: u64, metadata: &TableMetadata) -> Result<(), IcebergError> {
    let target = metadata_path(meta_dir, version);
    let tmp = meta_dir.join(format!(
        "v{version}.metadata.json.{}.tmp",
        uuid::Uuid::new_v4()
    ));
    let body = serde_json::to_vec_pretty(metadata).expect("plain data");
    write_synced(&tmp, &body)?;
    let linked = std::fs::hard_link(&tmp, &target);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(IcebergError::Conflict { path: target });
        }
        Err(e) => {
            return Err(IcebergError::Io {
                path: target,
                source: e,
            });
        }
    }
    let hint_tmp = meta_dir.join(format!(".{VERSION_HINT}.{}.tmp", uuid::Uuid::new_v4()));
    write_synced(&hint_tmp, version.to_string().as_bytes())?;
    let hint = meta_dir.join(VERSION_HINT);
    std::fs::rename(&hint_tmp, &hint).map_err(io_at(&hint))
}

fn write_synced(path: &Path, body: &[u8]) -> Result<(), IcebergError> {
    let mut f = std::fs::File::create(path).map_err(io_at(path))?;
    f.write_all(body).map_err(io_at(path))?;
    f.sync_all().map_err(io_at(path))
}

fn create_dir(path: &Path) -> Result<(), IcebergError> {
    std::fs::create_dir_all(path).map_err(io_at(path))
}

fn io_at(path: &Path) -> impl Fn(std::io::Error) -> IcebergError + '_ {
    move |source| IcebergError::Io {
        path: path.to_owned(),
        source,
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A positive random snapshot id.
fn new_snapshot_id() -> i64 {
    (uuid::Uuid::new_v4().as_u128() as u64 >> 1) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posts() -> TableConfig {
        TableConfig {
            database: "db".into(),
            table: "posts".into(),
            unique_keys: vec!["id".into()],
        }
    }

    fn op(operation: Operation, line: &str, seq: u32) -> RowOp {
        RowOp {
            operation,
            line: line.as_bytes().to_vec(),
            origin: Some(Origin {
                shard: "s0".into(),
                sequence: seq.to_string(),
            }),
        }
    }

    fn texts(table: &Table) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = table
            .rows()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap().to_owned(),
                    r["text"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        out.sort();
        out
    }

    fn cp(seq: u32) -> BTreeMap<String, String> {
        BTreeMap::from([("s0".to_owned(), seq.to_string())])
    }

    #[test]
    fn inserts_updates_and_deletes_by_key_survive_a_reopen() {
        // GIVEN a new posts table and a batch of three posts
        let dir = tempfile::tempdir().unwrap();
        let mut table = Table::open_or_create(dir.path(), posts()).unwrap();
        let first = [1, 2, 3].map(|n| {
            op(
                Operation::Insert,
                &format!(r#"{{"id":"{n}","text":"v1"}}"#),
                n,
            )
        });
        table.apply(&first, &cp(3), |_| Ok(())).unwrap();
        // WHEN a second batch edits 1, deletes 2, inserts 4 then deletes it, and lacks a key once
        let second = [
            op(Operation::Update, r#"{"id":"1","text":"v2"}"#, 4),
            op(Operation::Delete, r#"{"id":"2","op":"delete"}"#, 5),
            op(Operation::Insert, r#"{"id":"4","text":"v1"}"#, 6),
            op(Operation::Delete, r#"{"id":"4"}"#, 7),
            op(Operation::Delete, r#"{"text":"no id"}"#, 8),
        ];
        let applied = table.apply(&second, &cp(8), |_| Ok(())).unwrap();
        // THEN 1 carries its edit, 2 and 4 are gone, the keyless record is refused
        let want = vec![
            ("1".to_owned(), "v2".to_owned()),
            ("3".to_owned(), "v1".to_owned()),
        ];
        assert_eq!(texts(&table), want);
        assert_eq!(applied.rejected.len(), 1, "{applied:?}");
        assert_eq!(applied.rejected[0].code, codes::UNIQUE_KEY_MISSING);
        assert_eq!(applied.rows_removed, 2, "{applied:?}");
        // AND a reopened table reads the same, at version 3 with the checkpoint
        let again = Table::open_or_create(dir.path(), posts()).unwrap();
        assert_eq!(texts(&again), want);
        assert_eq!(again.version, 3);
        assert_eq!(again.metadata().checkpoint(), cp(8));
    }

    #[test]
    fn a_crash_before_the_commit_leaves_orphans_and_a_retry_applies_the_batch_once() {
        // GIVEN a table holding post 1
        let dir = tempfile::tempdir().unwrap();
        let mut table = Table::open_or_create(dir.path(), posts()).unwrap();
        table
            .apply(
                &[op(Operation::Insert, r#"{"id":"1","text":"a"}"#, 1)],
                &cp(1),
                |_| Ok(()),
            )
            .unwrap();
        let batch = [
            op(Operation::Insert, r#"{"id":"2","text":"b"}"#, 2),
            op(Operation::Update, r#"{"id":"1","text":"a2"}"#, 3),
        ];
        // WHEN the next commit crashes after writing its files
        let crash = |t: &str| {
            Err(IcebergError::InjectedCrash {
                table: t.to_owned(),
            })
        };
        let err = table.apply(&batch, &cp(3), crash).unwrap_err();
        assert!(matches!(err, IcebergError::InjectedCrash { .. }), "{err}");
        // THEN a reader still sees the old table; new files exist but nothing names them
        let reopened = Table::open_or_create(dir.path(), posts()).unwrap();
        assert_eq!(texts(&reopened), [("1".to_owned(), "a".to_owned())]);
        let data_files = std::fs::read_dir(dir.path().join("db/posts/data"))
            .unwrap()
            .count();
        assert!(
            data_files > reopened.live_files().len(),
            "no orphan written"
        );
        // WHEN the batch is delivered again, twice (the second as after a crash past the commit)
        let mut table = reopened;
        table.apply(&batch, &cp(3), |_| Ok(())).unwrap();
        let repeat = table.apply(&batch, &cp(3), |_| Ok(())).unwrap();
        // THEN it is applied once: no duplicate, nothing lost
        assert_eq!(
            texts(&table),
            [
                ("1".to_owned(), "a2".to_owned()),
                ("2".to_owned(), "b".to_owned())
            ]
        );
        assert_eq!((repeat.skipped, repeat.committed), (2, false));
    }

    #[test]
    fn a_post_or_edit_read_after_its_deletion_or_a_newer_edit_stays_out() {
        // GIVEN a table where post 1 (time 10) was deleted at time 30 before it was ever read,
        // and post 2 (time 10) was edited at time 20
        let dir = tempfile::tempdir().unwrap();
        let mut table = Table::open_or_create(dir.path(), posts()).unwrap();
        let first = [
            op(Operation::Delete, r#"{"id":"1","time_us":30}"#, 1),
            op(
                Operation::Insert,
                r#"{"id":"2","text":"v1","time_us":10}"#,
                2,
            ),
            op(
                Operation::Update,
                r#"{"id":"2","text":"v2","time_us":20}"#,
                3,
            ),
        ];
        table.apply(&first, &cp(3), |_| Ok(())).unwrap();
        // WHEN post 1 and the older version of 2 are read later (another shard), after a reopen
        let mut table = Table::open_or_create(dir.path(), posts()).unwrap();
        let late = [
            op(
                Operation::Insert,
                r#"{"id":"1","text":"v1","time_us":10}"#,
                4,
            ),
            op(
                Operation::Insert,
                r#"{"id":"2","text":"v1","time_us":10}"#,
                5,
            ),
        ];
        table.apply(&late, &cp(5), |_| Ok(())).unwrap();
        // THEN the deleted post stays gone and the edit stays
        assert_eq!(texts(&table), [("2".to_owned(), "v2".to_owned())]);
    }
}
