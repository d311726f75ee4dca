//! Pulls what is new from a source into a Kinesis Data Stream. `main.rs` wires this up; tests
//! and the benchmark drive [`State::handle`] and [`State::produce`] directly.
//!
//! # Layout
//! - [`config`]: [`ProducerConfig`], the function's settings composed of the domain's, the
//!   chosen source's and cursor store's, read once at cold start.
//! - [`registry`]: the one place that maps `SOURCE` and `CURSOR_STORE` to an adapter.
//! - [`handler`]: the cold start ([`State::from_env`]: settings, clients, secrets, the source)
//!   and one invocation ([`State::handle`]): input overrides, `ks_producer::run::produce`, the
//!   summary line, EMF, errors to `Diagnostic`.

pub mod config;
pub mod handler;
pub mod registry;

pub use config::ProducerConfig;
pub use handler::{HandlerError, State, overrides_from_event};
pub use registry::{AnySource, AnyStore, CursorConfig, InitError, SourceConfig};
