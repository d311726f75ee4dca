//! The purge's settings, read once from the environment (the Lambda) or given by the command
//! line (`kinesis-sentiment purge`); a bad value stops the start with an error naming the
//! variable.

use std::time::Duration;

use ks_kernel::env::{ConfigError, Env};

use crate::lake::{ATHENA_MAX_QUERY_BYTES, LakeSettings, LakeTables};

/// The deletions area's prefix: the transform's `area` partition key (`deletions`).
pub const DEFAULT_DELETIONS_PREFIX: &str = "deletions/";
/// The stack's data prefix (`data/`, before `YYYY/MM/DD/HH/`).
pub const DEFAULT_DATA_PREFIX: &str = "data/";
/// Where the purge keeps what it remembers between runs.
pub const DEFAULT_STATE_KEY: &str = "purge/state.json";
/// The folder of a local output directory that holds the purge's state, not output.
pub const LOCAL_STATE_DIR: &str = "purge/";
/// Account statuses whose posts are removed: a deleted account, and one the network took down.
/// `suspended` and `deactivated` can end (the account comes back with its posts), so they are
/// hidden by the `posts_live` view and not removed.
pub const DEFAULT_ACCOUNT_STATUSES: &str = "deleted,takendown";
/// See [`PurgeSettings::creation_skew`].
pub const DEFAULT_CREATION_SKEW: Duration = Duration::from_secs(10 * 60);
/// See [`PurgeSettings::watch`].
pub const DEFAULT_WATCH: Duration = Duration::from_secs(48 * 3_600);
/// See [`PurgeSettings::pending_alarm`].
pub const DEFAULT_PENDING_ALARM: Duration = Duration::from_secs(6 * 3_600);

/// What the engine needs to know of the bucket's layout and its policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeSettings {
    /// Where posts are (`data/` on the stack; empty for a local output directory).
    pub data_prefix: String,
    /// Where deletion and account records are.
    pub deletions_prefix: String,
    /// Prefixes under the data prefix that are not posts (the local layout's other areas).
    pub not_data: Vec<String>,
    pub state_key: String,
    pub account_statuses: Vec<String>,
    /// How long before a post's creation (its TID or `created_at`) an object may have been
    /// named and still hold it: clocks differ.
    pub creation_skew: Duration,
    /// How long each change keeps being checked against new objects, so a copy of a deleted
    /// post that arrives late (a producer's replay) goes too.
    pub watch: Duration,
    /// A deletion still waiting for its post for longer than this counts in
    /// `DeletionsPendingTooLong` (the stack's alarm).
    pub pending_alarm: Duration,
}

impl PurgeSettings {
    /// The layout `make demo` and `kinesis-sentiment firehose` write: posts at the top, every
    /// other area in its folder.
    pub fn local() -> Self {
        PurgeSettings {
            data_prefix: String::new(),
            not_data: vec![
                DEFAULT_DELETIONS_PREFIX.to_owned(),
                "processing-failed/".to_owned(),
                "format-conversion-failed/".to_owned(),
                "purge/".to_owned(),
            ],
            ..Self::stack()
        }
    }

    /// The stack's layout and policy, every setting at its default.
    pub fn stack() -> Self {
        PurgeSettings {
            data_prefix: DEFAULT_DATA_PREFIX.to_owned(),
            deletions_prefix: DEFAULT_DELETIONS_PREFIX.to_owned(),
            not_data: Vec::new(),
            state_key: DEFAULT_STATE_KEY.to_owned(),
            account_statuses: split(DEFAULT_ACCOUNT_STATUSES),
            creation_skew: DEFAULT_CREATION_SKEW,
            watch: DEFAULT_WATCH,
            pending_alarm: DEFAULT_PENDING_ALARM,
        }
    }

    /// Reads `DATA_PREFIX`, `DELETIONS_PREFIX`, `STATE_KEY` and the `PURGE_*` variables.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<'_, F>) -> Result<Self, ConfigError> {
        let d = Self::stack();
        let prefix = |var: &'static str, default: &str| -> Result<String, ConfigError> {
            let v = env.get(var).unwrap_or_else(|| default.to_owned());
            if v.starts_with('/') || (!v.is_empty() && !v.ends_with('/')) {
                return Err(env.invalid(var, "a key prefix: no leading '/', ending in '/'"));
            }
            Ok(v)
        };
        let statuses = split(
            &env.get("PURGE_ACCOUNT_STATUSES")
                .unwrap_or_else(|| DEFAULT_ACCOUNT_STATUSES.to_owned()),
        );
        Ok(PurgeSettings {
            data_prefix: prefix("DATA_PREFIX", &d.data_prefix)?,
            deletions_prefix: prefix("DELETIONS_PREFIX", &d.deletions_prefix)?,
            not_data: Vec::new(),
            state_key: env.get("STATE_KEY").unwrap_or(d.state_key),
            account_statuses: statuses,
            creation_skew: env.whole(
                "PURGE_CREATION_SKEW_MINUTES",
                d.creation_skew,
                MINUTE,
                0..=1_440,
            )?,
            watch: env.whole("PURGE_WATCH_HOURS", d.watch, HOUR, 1..=24 * 30)?,
            pending_alarm: env.whole(
                "PURGE_PENDING_ALARM_HOURS",
                d.pending_alarm,
                HOUR,
                1..=24 * 30,
            )?,
        })
    }
}

/// The table names used when their variables are unset (the transform's defaults too).
pub use ks_kernel::catalog::{DEFAULT_POSTS_TABLE, DEFAULT_PURGES_TABLE};

/// `DESTINATION`: `s3` (the default: the objects are purged) or `iceberg` (account purges are
/// applied with SQL to the tables `ICEBERG_DATABASE`, `ICEBERG_POSTS_TABLE` and
/// `ICEBERG_PURGES_TABLE` name); `None` for s3.
pub fn lake_from_env<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
    settings: &PurgeSettings,
) -> Result<Option<LakeSettings>, ConfigError> {
    let iceberg = env.choice("DESTINATION", "s3", &[("s3", false), ("iceberg", true)])?;
    if !iceberg {
        return Ok(None);
    }
    if env.get("ICEBERG_DATABASE").is_none() {
        return Err(env.invalid("ICEBERG_DATABASE", "required when DESTINATION=iceberg"));
    }
    let database = env.catalog_name("ICEBERG_DATABASE", "")?;
    let posts = env.catalog_name("ICEBERG_POSTS_TABLE", DEFAULT_POSTS_TABLE)?;
    let purges = env.catalog_name("ICEBERG_PURGES_TABLE", DEFAULT_PURGES_TABLE)?;
    let tables = LakeTables::new(&database, &posts, &purges)
        .map_err(|e| env.invalid("ICEBERG_DATABASE", e.to_string()))?;
    Ok(Some(LakeSettings {
        tables,
        account_statuses: settings.account_statuses.clone(),
        watch: settings.watch,
        max_query_bytes: ATHENA_MAX_QUERY_BYTES,
    }))
}

fn split(list: &str) -> Vec<String> {
    list.split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3_600);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bad_values_name_the_variable() {
        // GIVEN nothing set THEN the stack's layout and policy
        let s = PurgeSettings::from_env(&Env(&ks_kernel::env::fixed(&[]))).unwrap();
        assert_eq!(s, PurgeSettings::stack());
        assert_eq!(s.account_statuses, ["deleted", "takendown"]);
        // AND each bad value is refused by name
        for (var, value) in [
            ("DATA_PREFIX", "/data/"),
            ("DELETIONS_PREFIX", "deletions"),
            ("PURGE_WATCH_HOURS", "0"),
            ("PURGE_PENDING_ALARM_HOURS", "x"),
            ("PURGE_CREATION_SKEW_MINUTES", "100000"),
        ] {
            let err =
                PurgeSettings::from_env(&Env(&ks_kernel::env::fixed(&[(var, value)]))).unwrap_err();
            assert_eq!(err.var, var);
        }
    }

    #[test]
    fn given_destination_iceberg_the_lake_settings_are_read_and_checked() {
        let read = |vars: &[(&str, &str)]| {
            let lookup = ks_kernel::env::fixed(vars);
            let env = Env(&lookup);
            lake_from_env(&env, &PurgeSettings::from_env(&env).unwrap())
        };
        // GIVEN no DESTINATION, or s3 THEN no lake
        assert_eq!(read(&[]), Ok(None));
        assert_eq!(
            read(&[("DESTINATION", "s3"), ("ICEBERG_DATABASE", "X")]),
            Ok(None)
        );
        // GIVEN iceberg and a database THEN the default tables, the purge's statuses and watch
        let lake = read(&[("DESTINATION", "iceberg"), ("ICEBERG_DATABASE", "lake")])
            .unwrap()
            .unwrap();
        assert_eq!(
            lake.tables,
            LakeTables::new("lake", "posts", "account_purges").unwrap()
        );
        assert_eq!(lake.account_statuses, ["deleted", "takendown"]);
        assert_eq!(lake.watch, DEFAULT_WATCH);
        // AND bad or missing names are refused by variable
        for (var, value, needle) in [
            ("ICEBERG_DATABASE", "", "required when DESTINATION=iceberg"),
            ("ICEBERG_POSTS_TABLE", "Posts", "lowercase letter"),
            ("ICEBERG_PURGES_TABLE", "a b", "only lowercase"),
            ("DESTINATION", "lake", "expected one of: s3, iceberg"),
        ] {
            let err = read(&[
                (var, value),
                ("DESTINATION", "iceberg"),
                ("ICEBERG_DATABASE", "lake"),
            ])
            .unwrap_err();
            assert_eq!(err.var, var);
            assert!(err.to_string().contains(needle), "{err}");
        }
    }
}
