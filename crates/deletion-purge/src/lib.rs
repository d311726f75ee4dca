//! Applies what authors delete to the S3 data lake, on a schedule. `main.rs` wires this up;
//! tests drive [`State::handle`] and the [`s3::S3Bucket`] directly.
//!
//! # Layout
//! - [`handler`]: the settings ([`PurgeConfig`]), the cold start and one run: `ks_purge::purge`,
//!   the summary line, EMF, errors to `Diagnostic`.
//! - [`athena`]: Athena as the account purge's SQL engine (Iceberg stacks).
//! - [`s3`]: the data bucket as the engine's `Bucket`.

pub mod athena;
pub mod handler;
pub mod s3;

pub use handler::{HandlerError, PurgeConfig, State};
