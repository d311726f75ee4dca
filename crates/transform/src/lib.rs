//! The transform's domain: one Firehose data-transformation batch in, one answer per record
//! out, each payload's bytes kept and one sentiment member spliced in. Free of the AWS SDK and
//! the Lambda runtime: adapters implement [`sentiment::SentimentAnalyzer`], the Lambda crate
//! maps its event onto [`transform::transform`].
//!
//! # Layout
//! - [`record`]: the Firehose event and response, parsed record by record.
//! - [`payload`]: a payload's base64, read as leniently as is unambiguous and answered
//!   canonically; gzip payloads recognised.
//! - [`json`]: the one-pass validating JSON scan and the byte-exact splice.
//! - [`text`]: JSON pointers to the text and language, truncation, language codes.
//! - [`language`]: the language of a record without a tag, identified from its text.
//! - [`plan`]: the table of distinct documents and their batches.
//! - [`sentiment`]: what an analyzer answers, the trait adapters implement, and
//!   [`sentiment::Scripted`], an analyzer whose answers a function gives (tests).
//! - [`route`]: where a record goes on an Iceberg stack: its table and operation
//!   (`otfMetadata`), by its `op`.
//! - [`transform`]: one batch, end to end, within the response limit.
//! - [`config`]: the domain's own settings ([`transform::TransformSettings`] from the
//!   environment) and [`config::CallSettings`], what a backend reads for its calls.
//! - [`metrics`]: the invocation's [`metrics::Summary`] and its EMF document.
//! - [`limits`]: Firehose's and Comprehend's limits, each citing its page.

pub mod config;
pub mod json;
pub mod language;
pub mod limits;
pub mod metrics;
pub mod payload;
pub mod plan;
pub mod record;
pub mod route;
pub mod sentiment;
pub mod text;
pub mod transform;
