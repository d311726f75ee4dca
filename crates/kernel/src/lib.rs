//! The kernel: what the transform, the producer, the adapters and the Lambdas share, and nothing
//! that belongs to one of them.
//!
//! # Layout
//! - [`error`]: [`error::ErrorClass`] and [`error::CallError`], the one vocabulary for a failed
//!   call to anything outside (an analyzer, a stream, an HTTP server, a function).
//! - [`retry`]: [`retry::RetryPolicy`] (capped exponential backoff, full jitter) and the one
//!   retry driver, [`retry::run`], which owns attempts, the deadline, each attempt's timeout
//!   and the sleeps; callers supply a [`retry::RetryLogic`].
//! - [`concurrency`]: [`concurrency::AdaptiveLimit`], an AIMD concurrency limit shared by the
//!   calls of an invocation to one service (+1 while healthy, halved on throttling).
//! - [`deadline`]: the time an invocation has left.
//! - [`env`]: settings read once from the environment, with errors naming the variable.
//! - [`emf`]: CloudWatch Embedded Metric Format documents, and writing one out.
//! - [`log`]: JSON logs that keep the Lambda runtime's invocation span.
//! - [`time`]: RFC 3339 timestamps, read exactly.
//! - [`catalog`]: Glue Data Catalog database and table names, checked so they are safe in SQL.

pub mod catalog;
pub mod concurrency;
pub mod deadline;
pub mod emf;
pub mod env;
pub mod error;
pub mod log;
pub mod retry;
pub mod time;
