//! Pulls what is new from a source into a Kinesis Data Stream. `main.rs` wires this up; tests
//! and the benchmark drive [`State::handle`] and [`State::produce`] directly.
//!
//! # Layout
//! - [`handler`]: the cold start ([`State::from_env`]: settings, clients, secrets, the source)
//!   and one invocation ([`State::handle`]): input overrides, `ks_producer::run::produce`, the
//!   summary line, EMF, errors to `Diagnostic`.
//! - [`wiring`]: the configured source and cursor store as one type each.

pub mod handler;
pub mod wiring;

pub use handler::{HandlerError, State, overrides_from_event};
pub use wiring::{AnySource, AnyStore, InitError};
