//! Firehose data transformation with sentiment. `main.rs` wires this up; tests and benchmarks
//! drive [`State::handle`] directly.

mod analyzer;
mod handler;

pub use analyzer::Analyzer;
pub use handler::{State, init_logging};
