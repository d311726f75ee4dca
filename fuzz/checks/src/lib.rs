//! The property each fuzz target checks, one module per target. A check takes the fuzz input's
//! bytes and panics when a property is violated; it returns quietly for inputs it has nothing to
//! say about. The cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`, nightly) are one line each that
//! call a check, and `tests/replay.rs` (stable, part of `make test`) runs the same checks over
//! every file under `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/`.
//!
//! # Layout
//! - [`json_splice`]: the transform's one-pass JSON scan and byte-exact splice, against serde_json.
//! - [`firehose_event`]: our Firehose event model on any bytes, then the whole transform.
//! - [`transform`]: the whole transform (lexicon analyzer) on batches built from the input:
//!   every record answered once, in order, with the contract's result.
//! - [`kpl`]: KPL de-aggregation on any bytes and on framed messages; aggregation round trips.
//! - [`put_csv`], [`put_jsonl`], [`put_array`]: the `put` readers, each against an oracle and
//!   against itself through a tiny read buffer.
//! - [`mastodon_page`], [`http_json_page`]: the HTTP sources' page parsing.
//! - [`jetstream_frame`]: a Jetstream frame read into a post or a skip, and the stored position.
//! - [`bedrock_answer`]: the validation of a Bedrock model's tool answer.
//! - [`link_header`]: `Link` (RFC 8288) and `Retry-After` header parsing.
//! - [`id_cmp`]: the record-id order is a total order.
//! - [`util`]: input cutting and the JSON oracles the checks share.

pub mod bedrock_answer;
pub mod firehose_event;
pub mod http_json_page;
pub mod id_cmp;
pub mod jetstream_frame;
pub mod json_splice;
pub mod kpl;
pub mod link_header;
pub mod mastodon_page;
pub mod put_array;
pub mod put_csv;
pub mod put_jsonl;
pub mod transform;
pub mod util;

/// A target's check: panics when the input violates a property.
pub type Check = fn(&[u8]);

/// Every target by name, as `fuzz/Cargo.toml` names its binaries and the corpus its folders.
pub const TARGETS: &[(&str, Check)] = &[
    ("bedrock_answer", bedrock_answer::check),
    ("firehose_event", firehose_event::check),
    ("http_json_page", http_json_page::check),
    ("id_cmp", id_cmp::check),
    ("jetstream_frame", jetstream_frame::check),
    ("json_splice", json_splice::check),
    ("kpl", kpl::check),
    ("link_header", link_header::check),
    ("mastodon_page", mastodon_page::check),
    ("put_array", put_array::check),
    ("put_csv", put_csv::check),
    ("put_jsonl", put_jsonl::check),
    ("transform", transform::check),
];
