//! Pulls what is new from a source into a Kinesis Data Stream. `main.rs` wires this up; tests
//! and the benchmark drive [`State::handle`] and [`State::produce`] directly.

mod handler;
mod wiring;

pub use handler::{State, init_logging, overrides_from_event};
pub use wiring::{AnySource, AnyStore, InitError};
