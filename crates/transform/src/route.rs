//! Where a record goes when the delivery stream writes Apache Iceberg tables: each answer
//! names its table and operation in `metadata.otfMetadata`, and Firehose applies it, matching
//! updates and deletes on the table's unique keys.
//! <https://docs.aws.amazon.com/firehose/latest/dev/apache-iceberg-format-input-record-different.html>
//! ("Provide routing information to Firehose with Lambda function").
//!
//! | record (its `op`)              | table   | operation | must carry |
//! |--------------------------------|---------|-----------|------------|
//! | a post (none, or `create`)     | posts   | `insert`  | `id`       |
//! | an edit (`update`), re-scored  | posts   | `update`  | `id`       |
//! | a deletion (`delete`)          | posts   | `delete`  | `id`       |
//! | an account's change (`account`)| purges  | `insert`  | `did`      |
//!
//! A deletion's payload goes on unchanged: Firehose finds the row by the unique key `id` and
//! reads nothing else of it. An account purge is not one row of the posts table (it removes
//! every post of a DID), so it lands in its own table, where the scheduled purge job finds it
//! and applies it with Athena. A record without its key is failed (`ProcessingFailed`, so it
//! reaches the error prefix): a post row without `id` could never be updated or deleted.

use serde::{Deserialize, Serialize};

use crate::json::ObjectRef;
use crate::transform::Area;

/// The top-level member that says what a record does (the producer's edit, deletion and
/// account records carry one; a new post has none).
pub const OP_MEMBER: &str = "op";

/// The posts table's unique key, as the template declares it (`UniqueKeys`).
pub const POST_KEY: &str = "id";

/// An account record's key: the account whose posts a purge removes.
pub const ACCOUNT_KEY: &str = "did";

/// The table names used when their variables are unset.
pub use ks_kernel::catalog::{DEFAULT_POSTS_TABLE, DEFAULT_PURGES_TABLE};

/// Where the delivery stream writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Destination {
    /// S3 objects (NDJSON): no routing metadata, partition keys if asked for.
    #[default]
    S3,
    /// Iceberg tables: every answer carries `otfMetadata`.
    Iceberg(IcebergTables),
}

impl Destination {
    /// The setting's value that chooses this.
    pub fn as_str(&self) -> &'static str {
        match self {
            Destination::S3 => "s3",
            Destination::Iceberg(_) => "iceberg",
        }
    }
}

/// The tables records are routed to, names checked as Glue Data Catalog names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcebergTables {
    pub database: String,
    /// Posts, edits and deletions: unique key [`POST_KEY`].
    pub posts: String,
    /// Account records, applied later by the purge job.
    pub purges: String,
}

impl IcebergTables {
    /// The routing answer for a record of `kind`.
    pub fn route(&self, kind: Kind) -> OtfMetadata {
        let (table, operation) = match kind {
            Kind::Post => (&self.posts, Operation::Insert),
            Kind::Edit => (&self.posts, Operation::Update),
            Kind::Delete => (&self.posts, Operation::Delete),
            Kind::Account => (&self.purges, Operation::Insert),
        };
        OtfMetadata {
            destination_database_name: self.database.clone(),
            destination_table_name: table.clone(),
            operation,
        }
    }
}

/// What Firehose does with a routed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Insert,
    Update,
    Delete,
}

/// `metadata.otfMetadata` of one answer, in the field names Firehose reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OtfMetadata {
    pub destination_database_name: String,
    pub destination_table_name: String,
    pub operation: Operation,
}

/// What a record is, by its `op`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A new post: no `op`, or `create`.
    Post,
    /// An edited post (`update`): scored again, it replaces the row.
    Edit,
    /// A post its author deleted (`delete`).
    Delete,
    /// An account's change of status (`account`): a purge when it is no longer active.
    Account,
}

impl Kind {
    /// The kind a record's `op` names; `Err` with the value when it names none.
    pub fn of(text: &str, obj: &ObjectRef<'_>) -> Result<Kind, String> {
        let Some(raw) = obj.get(text, OP_MEMBER) else {
            return Ok(Kind::Post);
        };
        // The producer writes `op` as a plain JSON string, without escapes.
        match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            Some("create") => Ok(Kind::Post),
            Some("update") => Ok(Kind::Edit),
            Some("delete") => Ok(Kind::Delete),
            Some("account") => Ok(Kind::Account),
            _ => Err(raw.to_owned()),
        }
    }

    /// Whether the record takes something away, so it is delivered as it is, never scored.
    pub fn is_deletion(self) -> bool {
        matches!(self, Kind::Delete | Kind::Account)
    }

    /// Where an S3 stack with partition keys writes it.
    pub fn area(self) -> Area {
        if self.is_deletion() {
            Area::Deletions
        } else {
            Area::Data
        }
    }

    /// The member its table matches it by.
    pub fn key(self) -> &'static str {
        match self {
            Kind::Account => ACCOUNT_KEY,
            Kind::Post | Kind::Edit | Kind::Delete => POST_KEY,
        }
    }

    /// Checks that the record carries its key as a non-empty string; why not, if it does not.
    pub fn check_key(self, text: &str, obj: &ObjectRef<'_>) -> Result<(), String> {
        let key = self.key();
        match obj.get(text, key) {
            Some(raw) if raw.starts_with('"') && raw.len() > 2 => Ok(()),
            Some(_) => Err(format!(
                "its \"{key}\" is not a non-empty string: an Iceberg row is matched by it"
            )),
            None => Err(format!(
                "it has no \"{key}\": an Iceberg row is matched by it"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables() -> IcebergTables {
        IcebergTables {
            database: "lake".into(),
            posts: "posts".into(),
            purges: "account_purges".into(),
        }
    }

    fn kind(json: &str) -> Result<Kind, String> {
        let mut members = Vec::new();
        let obj = ObjectRef::parse(json, &mut members).unwrap();
        Kind::of(json, &obj)
    }

    #[test]
    fn each_kind_is_read_from_op_and_routed_to_its_table_and_operation() {
        // GIVEN a record of each kind
        let cases = [
            (r#"{"id":"a"}"#, Kind::Post, "posts", "insert"),
            (r#"{"id":"a","op":"create"}"#, Kind::Post, "posts", "insert"),
            (r#"{"id":"a","op":"update"}"#, Kind::Edit, "posts", "update"),
            (
                r#"{"op":"delete","id":"a"}"#,
                Kind::Delete,
                "posts",
                "delete",
            ),
            (
                r#"{"op":"account","did":"d"}"#,
                Kind::Account,
                "account_purges",
                "insert",
            ),
        ];
        for (json, want, table, op) in cases {
            // WHEN its kind is read and routed
            let k = kind(json).unwrap();
            let meta = serde_json::to_value(tables().route(k)).unwrap();
            // THEN the answer names the database, the table and the operation, in Firehose's words
            assert_eq!(k, want, "{json}");
            assert_eq!(
                meta,
                serde_json::json!({"destinationDatabaseName":"lake",
                    "destinationTableName":table,"operation":op}),
                "{json}"
            );
        }
    }

    #[test]
    fn an_op_that_names_nothing_known_is_an_error_with_its_value() {
        // GIVEN ops that are not ours WHEN read THEN each is refused with the raw value
        assert_eq!(kind(r#"{"op":"merge"}"#), Err("\"merge\"".into()));
        assert_eq!(kind(r#"{"op":7}"#), Err("7".into()));
        assert_eq!(kind(r#"{"op":"UPDATE"}"#), Err("\"UPDATE\"".into()));
    }

    #[test]
    fn a_record_must_carry_its_key_as_a_non_empty_string() {
        let check = |json: &str| {
            let mut members = Vec::new();
            let obj = ObjectRef::parse(json, &mut members).unwrap();
            Kind::of(json, &obj).unwrap().check_key(json, &obj)
        };
        // GIVEN records with and without their key WHEN checked THEN only a non-empty string passes
        assert_eq!(check(r#"{"op":"delete","id":"at://x"}"#), Ok(()));
        assert_eq!(check(r#"{"op":"account","did":"did:plc:x"}"#), Ok(()));
        assert!(
            check(r#"{"op":"delete"}"#)
                .unwrap_err()
                .contains("no \"id\"")
        );
        assert!(
            check(r#"{"op":"delete","id":""}"#)
                .unwrap_err()
                .contains("non-empty")
        );
        assert!(check(r#"{"id":null}"#).unwrap_err().contains("non-empty"));
        assert!(
            check(r#"{"op":"account","id":"x"}"#)
                .unwrap_err()
                .contains("no \"did\"")
        );
    }
}
