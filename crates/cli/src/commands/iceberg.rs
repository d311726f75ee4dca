//! The Iceberg destination's flags, shared by `demo` and `firehose`, and the local account
//! purge (`purge --iceberg`, and the demo after its run): the local equivalent of the stack's
//! scheduled job that deletes, with Athena, the posts of every purged account.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::Args;
use ks_firehose_local::iceberg::{
    self, DEFAULT_DATABASE, DEFAULT_POSTS_TABLE, DEFAULT_PURGES_TABLE, FaultHook,
    IcebergDestination, TableConfig,
};
use ks_transform::route::{Destination as TransformDestination, IcebergTables};

/// The test hook's variable: the Nth table commit (1-based) stops after its files are written
/// and before it is published, as a crash there would; the delivery stream then starts over
/// from its checkpoints (the demo in-process; `firehose` exits with the error, for a restart).
pub const CRASH_BEFORE_COMMIT_VAR: &str = "KS_ICEBERG_CRASH_BEFORE_COMMIT";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DestinationArg {
    /// Objects in Firehose's S3 layout (NDJSON or Parquet).
    #[default]
    S3,
    /// Apache Iceberg tables in a local warehouse, routed by the transform's otfMetadata.
    Iceberg,
}

#[derive(Args, Debug, Clone)]
pub struct IcebergArgs {
    /// Where delivered records go: the bucket layout (default), or Iceberg tables (posts keyed
    /// by id, account purges) in --warehouse; error records stay in the bucket layout.
    #[arg(long, value_enum, default_value_t = DestinationArg::S3)]
    pub destination: DestinationArg,
    /// The Iceberg warehouse directory: tables at <warehouse>/<database>/<table>.
    #[arg(long)]
    pub warehouse: Option<PathBuf>,
    /// The Iceberg database (the transform's ICEBERG_DATABASE).
    #[arg(long, default_value = DEFAULT_DATABASE)]
    pub iceberg_database: String,
    /// The posts table (ICEBERG_POSTS_TABLE), unique key `id`.
    #[arg(long, default_value = DEFAULT_POSTS_TABLE)]
    pub iceberg_posts_table: String,
    /// The account purges table (ICEBERG_PURGES_TABLE), insert only.
    #[arg(long, default_value = DEFAULT_PURGES_TABLE)]
    pub iceberg_purges_table: String,
}

impl IcebergArgs {
    /// The Iceberg destination, if chosen; `default_warehouse` when --warehouse is absent.
    pub fn destination(
        &self,
        default_warehouse: Option<&Path>,
    ) -> Result<Option<IcebergDestination>, String> {
        if self.destination == DestinationArg::S3 {
            return Ok(None);
        }
        let warehouse = match (&self.warehouse, default_warehouse) {
            (Some(w), _) => w.clone(),
            (None, Some(d)) => d.to_path_buf(),
            (None, None) => return Err("--destination iceberg needs --warehouse".to_owned()),
        };
        for (flag, name) in [
            ("--iceberg-database", &self.iceberg_database),
            ("--iceberg-posts-table", &self.iceberg_posts_table),
            ("--iceberg-purges-table", &self.iceberg_purges_table),
        ] {
            ks_kernel::catalog::check_name(name).map_err(|e| format!("{flag}: {e}"))?;
        }
        let mut destination = IcebergDestination::posts_and_purges(
            warehouse,
            &self.iceberg_database,
            &self.iceberg_posts_table,
            &self.iceberg_purges_table,
        );
        destination.fault = crash_hook(std::env::var(CRASH_BEFORE_COMMIT_VAR).ok().as_deref())?;
        Ok(Some(destination))
    }

    /// What the in-process transform routes to for `destination`.
    pub fn transform_destination(&self) -> TransformDestination {
        match self.destination {
            DestinationArg::S3 => TransformDestination::S3,
            DestinationArg::Iceberg => TransformDestination::Iceberg(IcebergTables {
                database: self.iceberg_database.clone(),
                posts: self.iceberg_posts_table.clone(),
                purges: self.iceberg_purges_table.clone(),
            }),
        }
    }
}

/// [`CRASH_BEFORE_COMMIT_VAR`]'s value: unset, or a commit number from 1.
pub fn crash_hook(value: Option<&str>) -> Result<Option<std::sync::Arc<FaultHook>>, String> {
    let Some(v) = value else {
        return Ok(None);
    };
    match v.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(Some(FaultHook::crash_before_commit(n))),
        _ => Err(format!(
            "{CRASH_BEFORE_COMMIT_VAR}={v:?}: expected a commit number from 1"
        )),
    }
}

/// What a local account purge did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IcebergPurge {
    /// Accounts whose status purges their posts.
    pub accounts: u64,
    pub rows_removed: u64,
}

/// Deletes from the posts table every post of an account the purges table says is gone
/// (inactive with one of `statuses`), posted at or before that account record. Commits once
/// (copy-on-write of the files holding such posts); running it again removes nothing more.
pub fn purge_iceberg(
    destination: &IcebergDestination,
    statuses: &[String],
) -> Result<IcebergPurge, String> {
    let [posts, purges] = [0, 1].map(|i| destination.tables[i].clone());
    let table_dir = |t: &TableConfig| destination.warehouse.join(&t.database).join(&t.table);
    for t in [&posts, &purges] {
        let metadata = table_dir(t).join("metadata");
        if !metadata.is_dir() {
            return Err(format!(
                "{}: no Iceberg table there (run the pipeline with --destination iceberg first)",
                table_dir(t).display()
            ));
        }
    }
    let mut warehouse = iceberg::Warehouse::open(destination).map_err(|e| e.to_string())?;
    let purged = purged_accounts(&warehouse, &purges, statuses)?;
    let table = warehouse
        .table_mut(&posts.database, &posts.table)
        .expect("opened above");
    let rows_removed = table
        .delete_where(|row| {
            let Some(until) = row
                .get("did")
                .and_then(|d| d.as_str())
                .and_then(|d| purged.get(d))
            else {
                return false;
            };
            // A post stamped after the account record (a later reactivation) stays.
            row.get("time_us")
                .and_then(|t| t.as_u64())
                .is_none_or(|t| t <= *until)
        })
        .map_err(|e| e.to_string())?;
    Ok(IcebergPurge {
        accounts: purged.len() as u64,
        rows_removed,
    })
}

/// Per purged account, the latest time (µs) of a record that purges it.
fn purged_accounts(
    warehouse: &iceberg::Warehouse,
    purges: &TableConfig,
    statuses: &[String],
) -> Result<HashMap<String, u64>, String> {
    let table = warehouse
        .table(&purges.database, &purges.table)
        .expect("opened above");
    let mut purged: HashMap<String, u64> = HashMap::new();
    for row in table.rows().map_err(|e| e.to_string())? {
        let line = serde_json::to_string(&row).expect("plain JSON");
        let Ok(keys) = serde_json::from_str::<ks_purge::rules::Keys<'_>>(&line) else {
            continue;
        };
        if let Some(ks_purge::rules::Change::Purge { did, .. }) = keys.change(statuses) {
            let at = keys.time_us.unwrap_or(u64::MAX);
            let e = purged.entry(did).or_default();
            *e = (*e).max(at);
        }
    }
    Ok(purged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ks_firehose_local::iceberg::{Operation, RowOp, Warehouse};

    fn insert(line: &str) -> RowOp {
        RowOp {
            operation: Operation::Insert,
            line: line.as_bytes().to_vec(),
            origin: None,
        }
    }

    #[test]
    fn the_account_purge_removes_a_gone_account_s_earlier_posts_once() {
        // GIVEN posts of a (two before its deletion, one after), b (suspended) and c, and the
        // account records of a (deleted) and b (suspended)
        let dir = tempfile::tempdir().unwrap();
        let destination = IcebergDestination::posts_and_purges(dir.path(), "db", "posts", "purges");
        let mut warehouse = Warehouse::open(&destination).unwrap();
        let post = |id: &str, did: &str, t: u64| {
            insert(&format!(r#"{{"id":"{id}","did":"{did}","time_us":{t}}}"#))
        };
        let posts = vec![
            post("a1", "a", 1),
            post("a2", "a", 2),
            post("a3", "a", 9),
            post("b1", "b", 1),
            post("c1", "c", 1),
        ];
        let account = |did: &str, status: &str| {
            insert(&format!(
                r#"{{"op":"account","did":"{did}","active":false,"status":"{status}","time_us":5}}"#
            ))
        };
        let purges = vec![account("a", "deleted"), account("b", "suspended")];
        let id = |t: &str| ("db".to_owned(), t.to_owned());
        let batches =
            std::collections::BTreeMap::from([(id("posts"), posts), (id("purges"), purges)]);
        warehouse.apply(&batches, &Default::default()).unwrap();
        let statuses = ks_purge::PurgeSettings::local().account_statuses;
        // WHEN the purge runs, twice
        let first = purge_iceberg(&destination, &statuses).unwrap();
        let again = purge_iceberg(&destination, &statuses).unwrap();
        // THEN a's two earlier posts are gone, the rest stay; the second run removes nothing
        assert_eq!(
            first,
            IcebergPurge {
                accounts: 1,
                rows_removed: 2
            }
        );
        assert_eq!(again.rows_removed, 0);
        let warehouse = Warehouse::open(&destination).unwrap();
        let mut left: Vec<String> = warehouse
            .table("db", "posts")
            .unwrap()
            .rows()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["a3", "b1", "c1"]);
    }

    #[test]
    fn the_crash_hook_variable_is_checked() {
        assert!(crash_hook(None).unwrap().is_none());
        assert!(crash_hook(Some("2")).unwrap().is_some());
        let err = crash_hook(Some("0")).unwrap_err();
        assert!(err.contains(CRASH_BEFORE_COMMIT_VAR), "{err}");
    }
}
