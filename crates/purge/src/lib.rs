//! The purge engine: what a responsible lake does with what its authors delete. Objects in a
//! bucket are immutable, so every deleted post, every post of a purged account and every
//! earlier version of an edited post is removed by rewriting the objects that hold them: one
//! object at a time (memory bounded by one object), each replaced at once (a crash leaves the
//! old object or the new one), every other record byte for byte (Parquet: value for value),
//! and only the objects that can hold what goes are read (a Bluesky rkey is a TID that says
//! when its post was created; objects Firehose named earlier cannot hold it). Running it again
//! changes nothing. No AWS SDK: the deletion-purge Lambda brings the S3 bucket, the command
//! line a local directory.
//!
//! # Layout
//! - [`rules`]: changes (a deletion, an account purge, an edit), TIDs, and what a change takes.
//! - [`objects`]: one object's write time, format (NDJSON, GZIP, Parquet), changes and filtering.
//! - [`store`]: the [`store::Bucket`] trait and [`store::LocalDir`].
//! - [`state`]: what a run remembers for the next.
//! - [`run`]: [`run::purge`], one run in phases.
//! - [`lake`]: an Iceberg stack's account purges, applied with SQL (Athena) over a [`lake::Sql`].
//! - [`config`]: [`config::PurgeSettings`]; [`metrics`]: the summary and its EMF document.

pub mod config;
pub mod lake;
pub mod metrics;
pub mod objects;
pub mod rules;
pub mod run;
pub mod state;
pub mod store;

pub use config::PurgeSettings;
pub use metrics::PurgeSummary;
pub use run::{PurgeError, purge};
pub use store::{Bucket, LocalDir};
