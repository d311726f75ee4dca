//! The Apache Iceberg destination of the local Firehose: records routed by the transform's
//! `otfMetadata` to tables of a warehouse on the local disk, written as real Iceberg (format v2)
//! tables that other engines read (the tests read them with pyiceberg).
//!
//! # Design: copy-on-write, not delete files
//! An update or delete matches rows by the table's unique keys. Iceberg has three ways to
//! apply it: equality-delete files, position-delete files (both merge-on-read) or rewriting
//! the data files that hold the rows (copy-on-write). This writer rewrites:
//! - equality deletes are unreadable by pyiceberg 0.12 (its scan raises on them) and by
//!   other readers too: a table carrying them is not one "every engine" reads;
//! - position deletes would need the same key → file index, and every reader to merge them;
//! - copy-on-write leaves plain data files: every reader reads them as they are.
//!
//! Cost: a batch that updates or deletes rows rewrites every live data file holding one of
//! them (write amplification: the size of those files), and the writer keeps, per table with
//! unique keys, a map from each live key to its file (built on open by reading the key columns
//! of every live file). Reads pay nothing. Within a batch, operations are folded per key (the
//! last wins), so a batch becomes one snapshot: one new data file plus the rewritten ones.
//!
//! # Layout
//! - [`route`]: `otfMetadata` and the operations, the error codes.
//! - [`table`]: one table: open or create, apply a batch, delete by predicate, atomic commits.
//! - [`avro`]: manifests and manifest lists. [`spec`]: the schema, name mapping, metadata file.
//! - [`Warehouse`]: the destination's tables, and the fault hook that stops a commit.

pub mod avro;
pub mod route;
pub mod spec;
pub mod table;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

pub use route::{Operation, OtfMetadata};
pub use table::{Applied, Origin, Rejected, RowOp, Table, TableConfig};

/// The local warehouse's database when none is given (the Glue database the stack names).
pub const DEFAULT_DATABASE: &str = crate::output::GLUE_DATABASE;
/// The tables' default names, as the transform's `ICEBERG_POSTS_TABLE` / `ICEBERG_PURGES_TABLE`.
pub use ks_kernel::catalog::{DEFAULT_POSTS_TABLE, DEFAULT_PURGES_TABLE};
/// The posts table's unique key.
pub const POSTS_UNIQUE_KEY: &str = "id";

#[derive(Debug, thiserror::Error)]
pub enum IcebergError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("Avro (manifest or manifest list): {0}")]
    Avro(String),
    #[error("table metadata {path}: {message}")]
    Metadata { path: PathBuf, message: String },
    #[error("Parquet data of {path}: {source}")]
    Parquet {
        path: String,
        source: ks_parquet::CodecError,
    },
    #[error("{path} exists: another writer committed this version first")]
    Conflict { path: PathBuf },
    #[error("injected crash before the commit of table {table} (the fault hook)")]
    InjectedCrash { table: String },
    #[error("{0} is not a table directory or metadata file (no metadata/vN.metadata.json)")]
    NotATable(PathBuf),
}

impl IcebergError {
    /// Whether an I/O error the local Firehose returned is the fault hook's crash.
    pub fn is_injected_crash(e: &std::io::Error) -> bool {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<IcebergError>())
            .is_some_and(|i| matches!(i, IcebergError::InjectedCrash { .. }))
    }
}

impl From<IcebergError> for std::io::Error {
    fn from(e: IcebergError) -> Self {
        std::io::Error::other(e)
    }
}

/// A test hook: the Nth commit attempt (counted over every table, 1-based) stops after its
/// files are written and before it is published, as a crash there would. Shared by clones, so
/// a delivery stream restarted in the same process does not crash again.
#[derive(Debug, Default)]
pub struct FaultHook {
    pub crash_before_commit: u32,
    attempts: AtomicU32,
}

impl FaultHook {
    pub fn crash_before_commit(n: u32) -> Arc<FaultHook> {
        Arc::new(FaultHook {
            crash_before_commit: n,
            attempts: AtomicU32::new(0),
        })
    }

    fn check(&self, table: &str) -> Result<(), IcebergError> {
        let attempt = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        if attempt == self.crash_before_commit {
            return Err(IcebergError::InjectedCrash {
                table: table.to_owned(),
            });
        }
        Ok(())
    }
}

/// The Iceberg destination: `IcebergDestinationConfiguration`'s tables, in a local warehouse.
#[derive(Debug, Clone)]
pub struct IcebergDestination {
    pub warehouse: PathBuf,
    pub tables: Vec<TableConfig>,
    pub fault: Option<Arc<FaultHook>>,
}

impl IcebergDestination {
    /// The routing contract's two tables: posts keyed by `id`, account purges insert-only.
    pub fn posts_and_purges(
        warehouse: impl Into<PathBuf>,
        database: &str,
        posts: &str,
        purges: &str,
    ) -> Self {
        let table = |name: &str, keys: &[&str]| TableConfig {
            database: database.to_owned(),
            table: name.to_owned(),
            unique_keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        };
        IcebergDestination {
            warehouse: warehouse.into(),
            tables: vec![table(posts, &[POSTS_UNIQUE_KEY]), table(purges, &[])],
            fault: None,
        }
    }
}

/// A table's name in the destination: database and table.
pub type TableId = (String, String);

/// The destination's tables, opened (or created) once.
pub struct Warehouse {
    tables: BTreeMap<TableId, Table>,
    fault: Option<Arc<FaultHook>>,
}

impl Warehouse {
    pub fn open(destination: &IcebergDestination) -> Result<Warehouse, IcebergError> {
        let mut tables = BTreeMap::new();
        for config in &destination.tables {
            let id = (config.database.clone(), config.table.clone());
            tables.insert(
                id,
                Table::open_or_create(&destination.warehouse, config.clone())?,
            );
        }
        Ok(Warehouse {
            tables,
            fault: destination.fault.clone(),
        })
    }

    pub fn table(&self, database: &str, table: &str) -> Option<&Table> {
        self.tables.get(&(database.to_owned(), table.to_owned()))
    }

    pub fn table_mut(&mut self, database: &str, table: &str) -> Option<&mut Table> {
        self.tables
            .get_mut(&(database.to_owned(), table.to_owned()))
    }

    pub fn contains(&self, id: &TableId) -> bool {
        self.tables.contains_key(id)
    }

    /// Applies each table's batch and commits it; tables are committed one after the other,
    /// each atomically.
    pub fn apply(
        &mut self,
        batches: &BTreeMap<TableId, Vec<RowOp>>,
        checkpoint: &BTreeMap<String, String>,
    ) -> Result<Vec<(TableId, Applied)>, IcebergError> {
        let mut out = Vec::new();
        for (id, ops) in batches {
            let Some(table) = self.tables.get_mut(id) else {
                continue;
            };
            let fault = self.fault.clone();
            let hook = move |name: &str| fault.as_ref().map_or(Ok(()), |f| f.check(name));
            out.push((id.clone(), table.apply(ops, checkpoint, hook)?));
        }
        Ok(out)
    }
}

/// Opens a table for reading from its directory, or from one of its metadata files.
pub fn open_table_at(path: &Path) -> Result<(table::Table, PathBuf), IcebergError> {
    let dir = if path.is_file() {
        path.parent()
            .and_then(Path::parent)
            .ok_or_else(|| IcebergError::NotATable(path.to_owned()))?
    } else {
        path
    };
    if table::current_version(&dir.join("metadata"))?.is_none() {
        return Err(IcebergError::NotATable(path.to_owned()));
    }
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let warehouse = dir.parent().and_then(Path::parent).unwrap_or(dir);
    let config = TableConfig {
        database: dir.parent().map(name).unwrap_or_default(),
        table: name(dir),
        unique_keys: Vec::new(),
    };
    let table = Table::open_or_create(warehouse, config)?;
    Ok((table, dir.to_owned()))
}
