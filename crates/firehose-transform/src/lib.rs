//! Firehose data transformation with sentiment. `main.rs` wires this up; tests and benchmarks
//! drive [`State::handle`] directly.
//!
//! # Layout
//! - [`config`]: [`TransformConfig`], the function's settings composed of the backend's and the
//!   domain's, read once at cold start.
//! - [`registry`]: the one place that maps `SENTIMENT_BACKEND` to an analyzer.
//! - [`handler`]: the cold start ([`State::from_env`]) and one invocation ([`State::handle`]):
//!   the event onto `ks_transform::transform`, the summary line, EMF, errors to `Diagnostic`.
//! - `alloc`: mimalloc as the global allocator, tuned before `main`.

mod alloc;
pub mod config;
pub mod handler;
pub mod registry;

pub use config::TransformConfig;
pub use handler::{HandlerError, State};
pub use registry::{Analyzer, BackendConfig};
