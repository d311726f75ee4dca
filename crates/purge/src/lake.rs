//! Account purges on an Iceberg stack (`DESTINATION=iceberg`): Firehose applies each post's
//! deletion itself (the transform routes it as a `delete` on the posts table's unique key), but
//! an account purge is not one row, so the transform inserts it into the purges table and this
//! module applies it with SQL: `DELETE FROM <db>.<posts> WHERE did IN (…)`, which Athena runs
//! as a row-level delete on an Iceberg table. No AWS SDK: a [`Sql`] engine (Athena in the
//! deletion-purge Lambda) runs the statements this module writes.
//!
//! One run:
//! 1. read every row of the purges table (`did`, `active`, `status`, `time_us`);
//! 2. per account, its latest row (largest `time_us`) decides: inactive with a status in
//!    `account_statuses` is a purge;
//! 3. delete the posts of every such account, in statements under Athena's query-size limit;
//! 4. remove the rows read whose `time_us` is older than the watch window, per account up to the
//!    newest row read of it, so a row that arrived meanwhile is never removed unread.
//!
//! Why rows are kept for the watch window rather than removed at once: a post of a purged
//! account can reach the table after the purge (a producer's replay, Firehose's retries), and
//! each run deletes it again while the account's row is kept. The cost is one DELETE per run
//! for each account purged in the last `watch`.

use std::collections::HashMap;
use std::time::Duration;

use ks_kernel::catalog;

/// The most bytes one query string may have: StartQueryExecution's `QueryString`, "Maximum
/// length of 262144" (<https://docs.aws.amazon.com/athena/latest/APIReference/API_StartQueryExecution.html>).
pub const ATHENA_MAX_QUERY_BYTES: usize = 262_144;

/// The longest DID the AT Protocol allows: "limited to 2 KB"
/// (<https://atproto.com/specs/did>, "Restrictions").
pub const DID_MAX_BYTES: usize = 2_048;

/// Where the account purges are and where they apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeTables {
    pub database: String,
    pub posts: String,
    pub purges: String,
}

impl LakeTables {
    /// The tables, each name checked as a Glue Data Catalog name (so it is safe unquoted).
    pub fn new(database: &str, posts: &str, purges: &str) -> Result<Self, LakeError> {
        for name in [database, posts, purges] {
            catalog::check_name(name).map_err(|why| LakeError::Name {
                name: name.to_owned(),
                why,
            })?;
        }
        Ok(LakeTables {
            database: database.to_owned(),
            posts: posts.to_owned(),
            purges: purges.to_owned(),
        })
    }

    fn posts(&self) -> String {
        format!("{}.{}", self.database, self.posts)
    }

    fn purges(&self) -> String {
        format!("{}.{}", self.database, self.purges)
    }
}

/// What the purge of an Iceberg stack needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeSettings {
    pub tables: LakeTables,
    /// Statuses whose posts are removed (see `config::DEFAULT_ACCOUNT_STATUSES`).
    pub account_statuses: Vec<String>,
    /// How long an applied row is kept, so late posts of its account go too.
    pub watch: Duration,
    /// The most bytes one statement may have; [`ATHENA_MAX_QUERY_BYTES`] unless a test wants
    /// a smaller one.
    pub max_query_bytes: usize,
}

/// A decentralized identifier, checked: `did:<method>:<id>` with the characters the AT
/// Protocol allows (<https://atproto.com/specs/did>), so it can be quoted into SQL as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Did(String);

impl Did {
    pub fn parse(s: &str) -> Result<Did, String> {
        let bad = |why: &str| format!("{s:?} is not a DID: {why}");
        if s.len() > DID_MAX_BYTES {
            return Err(bad("longer than 2 KB"));
        }
        let rest = s
            .strip_prefix("did:")
            .ok_or_else(|| bad("no \"did:\" prefix"))?;
        let (method, id) = rest.split_once(':').ok_or_else(|| bad("no method"))?;
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(bad("its method is not lowercase letters"));
        }
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b".-_:%".contains(&b);
        if id.is_empty() || !id.bytes().all(allowed) {
            return Err(bad("its identifier has characters a DID cannot have"));
        }
        if id.ends_with(':') || id.ends_with('%') {
            return Err(bad("it ends with ':' or '%'"));
        }
        Ok(Did(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The DID as a SQL string literal. A checked DID has no quote; doubling any anyway keeps
    /// the literal sound whatever the checks become.
    pub fn quoted(&self) -> String {
        format!("'{}'", self.0.replace('\'', "''"))
    }
}

/// One row of the purges table, as the engine answers it (text or NULL per column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeRow {
    pub did: Option<String>,
    pub active: Option<String>,
    pub status: Option<String>,
    pub time_us: Option<String>,
}

/// The statement that reads the purges table, its columns in [`PurgeRow`]'s order.
pub fn select_purges(tables: &LakeTables) -> String {
    format!(
        "SELECT did, active, status, time_us FROM {}",
        tables.purges()
    )
}

/// What one run does with the rows it read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Accounts whose posts are deleted, sorted.
    pub purge: Vec<Did>,
    /// Accounts whose rows are removed, each up to the newest `time_us` read of it.
    pub expire: Vec<(Did, i64)>,
    /// Rows whose `did` is not a DID, or whose `time_us` is not a number: left as they are.
    pub unusable: Vec<String>,
}

/// Decides the run from the rows read, at `now_us` (microseconds since the epoch).
pub fn plan(rows: &[PurgeRow], settings: &LakeSettings, now_us: i64) -> Plan {
    // Per account: (newest time_us, its row's active and status).
    let mut latest: HashMap<Did, (i64, Option<&str>, Option<&str>)> = HashMap::new();
    let mut unusable = Vec::new();
    for row in rows {
        let did = row.did.as_deref().unwrap_or_default();
        let parsed = Did::parse(did).and_then(|parsed| {
            let time = row
                .time_us
                .as_deref()
                .and_then(|t| t.trim().parse::<i64>().ok());
            time.map(|t| (parsed, t))
                .ok_or_else(|| format!("{did:?}: time_us {:?} is not a number", row.time_us))
        });
        let (did, time) = match parsed {
            Ok(p) => p,
            Err(why) => {
                unusable.push(why);
                continue;
            }
        };
        let entry = latest.entry(did).or_insert((i64::MIN, None, None));
        if time >= entry.0 {
            *entry = (time, row.active.as_deref(), row.status.as_deref());
        }
    }
    let cutoff = now_us.saturating_sub(settings.watch.as_micros() as i64);
    let mut plan = Plan {
        unusable,
        ..Plan::default()
    };
    for (did, (time, active, status)) in latest {
        let inactive = active.is_some_and(|a| a.eq_ignore_ascii_case("false"));
        let purging = status.is_some_and(|s| settings.account_statuses.iter().any(|p| p == s));
        if inactive && purging {
            plan.purge.push(did.clone());
        }
        if time < cutoff {
            plan.expire.push((did, time));
        }
    }
    plan.purge.sort();
    plan.expire.sort();
    plan
}

/// `DELETE FROM <db>.<posts> WHERE did IN (…)` for `dids`, as few statements as fit in
/// `max_bytes` each.
pub fn delete_posts(
    tables: &LakeTables,
    dids: &[Did],
    max_bytes: usize,
) -> Result<Vec<String>, LakeError> {
    let head = format!("DELETE FROM {} WHERE did IN (", tables.posts());
    chunked(&head, ", ", ")", dids.iter().map(Did::quoted), max_bytes)
}

/// `DELETE FROM <db>.<purges> WHERE (did = … AND time_us <= …) OR …` for the rows applied.
pub fn expire_purges(
    tables: &LakeTables,
    rows: &[(Did, i64)],
    max_bytes: usize,
) -> Result<Vec<String>, LakeError> {
    let head = format!("DELETE FROM {} WHERE ", tables.purges());
    let clauses = rows
        .iter()
        .map(|(did, time)| format!("(did = {} AND time_us <= {time})", did.quoted()));
    chunked(&head, " OR ", "", clauses, max_bytes)
}

/// Statements of `head`, items joined by `sep`, then `tail`, each at most `max_bytes`.
fn chunked(
    head: &str,
    sep: &str,
    tail: &str,
    items: impl Iterator<Item = String>,
    max_bytes: usize,
) -> Result<Vec<String>, LakeError> {
    let mut out = Vec::new();
    let mut current = String::new();
    for item in items {
        let fixed = head.len() + tail.len();
        if fixed + item.len() > max_bytes {
            return Err(LakeError::TooLong { max_bytes, item });
        }
        if !current.is_empty() && fixed + current.len() + sep.len() + item.len() > max_bytes {
            out.push(format!("{head}{current}{tail}"));
            current.clear();
        }
        if !current.is_empty() {
            current.push_str(sep);
        }
        current.push_str(&item);
    }
    if !current.is_empty() {
        out.push(format!("{head}{current}{tail}"));
    }
    Ok(out)
}

/// A SQL engine: runs a statement to its end (Athena: start, poll, read the results).
pub trait Sql {
    /// Runs a query and answers its rows (no header), each column as text or NULL.
    fn rows(
        &self,
        sql: &str,
    ) -> impl std::future::Future<Output = Result<Vec<Vec<Option<String>>>, SqlError>>;
    /// Runs a statement that answers no rows.
    fn execute(&self, sql: &str) -> impl std::future::Future<Output = Result<(), SqlError>>;
}

/// A statement that did not succeed, as the engine says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SqlError {
    pub message: String,
    /// Whether a later run may succeed where this one failed (throttling, a timeout).
    pub retryable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LakeError {
    #[error("invalid table name {name:?}: {why}")]
    Name { name: String, why: &'static str },
    #[error("one item does not fit in a statement of {max_bytes} bytes: {item:.80}")]
    TooLong { max_bytes: usize, item: String },
    #[error("{what}: {error}")]
    Sql { what: &'static str, error: SqlError },
}

impl LakeError {
    pub fn code(&self) -> &'static str {
        match self {
            LakeError::Name { .. } => "InvalidName",
            LakeError::TooLong { .. } => "StatementTooLong",
            LakeError::Sql { .. } => "QueryFailed",
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, LakeError::Sql { error, .. } if error.retryable)
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LakeSummary {
    pub purge_rows_read: u64,
    pub accounts_purged: u64,
    pub purge_rows_unusable: u64,
    pub accounts_expired: u64,
    pub statements: u64,
}

impl LakeSummary {
    /// The EMF document: `AccountPurgesRead` is the S3 purge's metric of the same meaning, so
    /// the dashboard's purge widget reads either stack.
    pub fn to_emf(
        &self,
        namespace: &str,
        function_name: &str,
        timestamp_ms: u64,
    ) -> serde_json::Value {
        use ks_kernel::emf::{Emf, Unit};
        let mut emf = Emf::new(function_name);
        for (name, value) in [
            ("AccountPurgesRead", self.purge_rows_read),
            ("AccountsPurged", self.accounts_purged),
            ("AccountPurgesUnusable", self.purge_rows_unusable),
            ("AccountPurgesExpired", self.accounts_expired),
            ("PurgeStatements", self.statements),
        ] {
            emf.metric(name, Unit::Count, value);
        }
        emf.finish(namespace, &[&["FunctionName"]], timestamp_ms)
    }
}

/// One run over `sql` at `now_us`: read, delete the posts, then the rows applied. A failed
/// statement stops the run before any row is removed that it has not applied.
pub async fn purge_accounts<S: Sql>(
    sql: &S,
    settings: &LakeSettings,
    now_us: i64,
) -> Result<LakeSummary, LakeError> {
    let err = |what| move |error| LakeError::Sql { what, error };
    let rows = sql
        .rows(&select_purges(&settings.tables))
        .await
        .map_err(err("reading the purges table"))?;
    let rows: Vec<PurgeRow> = rows.into_iter().map(row_of).collect();
    let plan = plan(&rows, settings, now_us);
    for why in &plan.unusable {
        tracing::warn!(reason = %why, "account purge row left unapplied");
    }
    let deletes = delete_posts(&settings.tables, &plan.purge, settings.max_query_bytes)?;
    let expires = expire_purges(&settings.tables, &plan.expire, settings.max_query_bytes)?;
    for statement in &deletes {
        sql.execute(statement)
            .await
            .map_err(err("deleting purged accounts' posts"))?;
    }
    for statement in &expires {
        sql.execute(statement)
            .await
            .map_err(err("removing applied purge rows"))?;
    }
    Ok(LakeSummary {
        purge_rows_read: rows.len() as u64,
        accounts_purged: plan.purge.len() as u64,
        purge_rows_unusable: plan.unusable.len() as u64,
        accounts_expired: plan.expire.len() as u64,
        statements: 1 + (deletes.len() + expires.len()) as u64,
    })
}

fn row_of(mut columns: Vec<Option<String>>) -> PurgeRow {
    columns.resize(4, None);
    let mut c = columns.into_iter();
    PurgeRow {
        did: c.next().flatten(),
        active: c.next().flatten(),
        status: c.next().flatten(),
        time_us: c.next().flatten(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn settings(max_query_bytes: usize) -> LakeSettings {
        LakeSettings {
            tables: LakeTables::new("lake", "posts", "account_purges").unwrap(),
            account_statuses: vec!["deleted".into(), "takendown".into()],
            watch: Duration::from_secs(48 * 3_600),
            max_query_bytes,
        }
    }

    fn row(did: &str, active: &str, status: Option<&str>, time_us: i64) -> Vec<Option<String>> {
        vec![
            Some(did.into()),
            Some(active.into()),
            status.map(str::to_owned),
            Some(time_us.to_string()),
        ]
    }

    const HOUR_US: i64 = 3_600_000_000;
    const NOW: i64 = 1_000 * HOUR_US;

    /// Answers the SELECT with `rows` and records every statement.
    struct Recorded {
        rows: Vec<Vec<Option<String>>>,
        ran: Mutex<Vec<String>>,
        fail_on: Option<&'static str>,
    }

    impl Sql for Recorded {
        async fn rows(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>, SqlError> {
            self.ran.lock().unwrap().push(sql.to_owned());
            Ok(self.rows.clone())
        }
        async fn execute(&self, sql: &str) -> Result<(), SqlError> {
            self.ran.lock().unwrap().push(sql.to_owned());
            match self.fail_on {
                Some(needle) if sql.contains(needle) => Err(SqlError {
                    message: "FAILED: ICEBERG_COMMIT_ERROR".into(),
                    retryable: true,
                }),
                _ => Ok(()),
            }
        }
    }

    #[test]
    fn dids_are_checked_and_quoted() {
        // GIVEN DIDs of both methods Bluesky uses, and strings that are not DIDs
        for ok in [
            "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
            "did:web:example.com",
            "did:web:localhost%3A8080",
        ] {
            assert_eq!(Did::parse(ok).unwrap().quoted(), format!("'{ok}'"));
        }
        // WHEN checked THEN each bad one says why
        for (bad, needle) in [
            ("plc:abc", "prefix"),
            ("did:plc", "no method"),
            ("did:PLC:abc", "method"),
            ("did:plc:abc' OR '1'='1", "characters"),
            ("did:plc:", "characters"),
            ("did:plc:abc:", "ends with"),
        ] {
            assert!(Did::parse(bad).unwrap_err().contains(needle), "{bad}");
        }
        assert!(
            Did::parse(&format!("did:plc:{}", "a".repeat(2_048)))
                .unwrap_err()
                .contains("2 KB")
        );
    }

    #[test]
    fn the_latest_row_of_each_account_decides_and_old_rows_expire() {
        // GIVEN an account taken down, one deleted then back, one suspended, one deleted long
        // ago, and a row that names no DID
        let rows: Vec<PurgeRow> = [
            row("did:plc:gone", "false", Some("takendown"), NOW - HOUR_US),
            row("did:plc:back", "false", Some("deleted"), NOW - 3 * HOUR_US),
            row("did:plc:back", "true", None, NOW - 2 * HOUR_US),
            row("did:plc:paused", "false", Some("suspended"), NOW - HOUR_US),
            row("did:plc:old", "false", Some("deleted"), NOW - 50 * HOUR_US),
            row("not a did", "false", Some("deleted"), NOW),
        ]
        .into_iter()
        .map(row_of)
        .collect();
        // WHEN planned
        let plan = plan(&rows, &settings(ATHENA_MAX_QUERY_BYTES), NOW);
        // THEN the taken-down and the long-deleted accounts are purged, not the one that came
        // back nor the suspended one
        let dids = |v: &[Did]| v.iter().map(|d| d.as_str().to_owned()).collect::<Vec<_>>();
        assert_eq!(dids(&plan.purge), ["did:plc:gone", "did:plc:old"]);
        // AND only the row older than the watch window is removed, up to its own time
        assert_eq!(
            plan.expire,
            [(Did::parse("did:plc:old").unwrap(), NOW - 50 * HOUR_US)]
        );
        // AND the row without a DID is left and reported
        assert_eq!(plan.unusable.len(), 1);
    }

    #[test]
    fn statements_stay_under_the_limit_and_name_every_account_once() {
        // GIVEN 5,000 DIDs of 32 bytes and Athena's limit, then a tiny limit
        let dids: Vec<Did> = (0..5_000)
            .map(|i| Did::parse(&format!("did:plc:{i:024}")).unwrap())
            .collect();
        let tables = settings(0).tables;
        for max in [ATHENA_MAX_QUERY_BYTES, 200] {
            // WHEN the DELETEs are written
            let statements = delete_posts(&tables, &dids, max).unwrap();
            // THEN each fits, and together they name each DID exactly once
            assert!(statements.iter().all(|s| s.len() <= max));
            assert!(statements.iter().all(
                |s| s.starts_with("DELETE FROM lake.posts WHERE did IN (") && s.ends_with(')')
            ));
            let named: Vec<&str> = statements
                .iter()
                .flat_map(|s| s.matches("did:plc:"))
                .collect();
            assert_eq!(named.len(), dids.len());
            let quoted: usize = statements.iter().map(|s| s.matches('\'').count()).sum();
            assert_eq!(quoted, 2 * dids.len());
            if max == ATHENA_MAX_QUERY_BYTES {
                assert_eq!(statements.len(), 1 + 5_000 * 36 / ATHENA_MAX_QUERY_BYTES);
            }
        }
        // AND a DID that cannot fit alone is an error, not a truncated statement
        assert!(matches!(
            delete_posts(&tables, &dids[..1], 40),
            Err(LakeError::TooLong { .. })
        ));
        // AND nothing to purge writes no statement
        assert!(delete_posts(&tables, &[], 100).unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_run_deletes_the_posts_then_the_applied_rows() {
        // GIVEN a purges table with a taken-down account seen long ago and one seen just now
        let sql = Recorded {
            rows: vec![
                row("did:plc:old", "false", Some("deleted"), NOW - 60 * HOUR_US),
                row("did:plc:new", "false", Some("takendown"), NOW - HOUR_US),
            ],
            ran: Mutex::default(),
            fail_on: None,
        };
        // WHEN a run goes
        let summary = purge_accounts(&sql, &settings(ATHENA_MAX_QUERY_BYTES), NOW)
            .await
            .unwrap();
        // THEN it read, deleted both accounts' posts, then removed the old row only, in order
        assert_eq!(
            *sql.ran.lock().unwrap(),
            [
                "SELECT did, active, status, time_us FROM lake.account_purges".to_owned(),
                "DELETE FROM lake.posts WHERE did IN ('did:plc:new', 'did:plc:old')".to_owned(),
                format!(
                    "DELETE FROM lake.account_purges WHERE (did = 'did:plc:old' AND time_us <= {})",
                    NOW - 60 * HOUR_US
                ),
            ]
        );
        assert_eq!(
            (
                summary.accounts_purged,
                summary.accounts_expired,
                summary.statements
            ),
            (2, 1, 3)
        );
        // AND its EMF document carries the counts under the purge's names
        let emf = summary.to_emf("Ns", "deletion-purge", 0);
        assert_eq!(
            (
                emf["AccountPurgesRead"].as_u64(),
                emf["AccountsPurged"].as_u64()
            ),
            (Some(2), Some(2))
        );
        assert_eq!(emf["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Ns");
    }

    #[tokio::test]
    async fn a_failed_delete_removes_no_row() {
        // GIVEN an engine whose DELETE on the posts fails
        let sql = Recorded {
            rows: vec![row(
                "did:plc:old",
                "false",
                Some("deleted"),
                NOW - 60 * HOUR_US,
            )],
            ran: Mutex::default(),
            fail_on: Some("lake.posts"),
        };
        // WHEN a run goes THEN it fails, retryably, before touching the purges table
        let err = purge_accounts(&sql, &settings(ATHENA_MAX_QUERY_BYTES), NOW)
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert!(
            err.to_string().contains("deleting purged accounts' posts"),
            "{err}"
        );
        assert!(
            !sql.ran
                .lock()
                .unwrap()
                .iter()
                .any(|s| s.contains("DELETE FROM lake.account_purges"))
        );
    }
}
