//! Firehose data transformation with sentiment. `main.rs` wires this up; tests and benchmarks
//! drive [`State::handle`] directly.
//!
//! # Layout
//! - [`handler`]: the cold start ([`State::from_env`]) and one invocation ([`State::handle`]):
//!   the event onto `ks_transform::transform`, the summary line, EMF, errors to `Diagnostic`.
//! - [`analyzer`]: the backend `SENTIMENT_BACKEND` chose, behind one type.
//! - `alloc`: mimalloc as the global allocator, tuned before `main`.

mod alloc;
pub mod analyzer;
pub mod handler;

pub use analyzer::Analyzer;
pub use handler::{HandlerError, State};
