//! The property each fuzz target checks, one module per target. A check takes the fuzz input's
//! bytes and panics when a property is violated; it returns quietly for inputs it has nothing to
//! say about. The cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`, nightly) are one line each that
//! call a check, and `tests/replay.rs` (stable, part of `make test`) runs the same checks over
//! every file under `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/`.
//!
//! # Layout
//! - [`json_splice`]: the transform's one-pass JSON scan and byte-exact splice, against serde_json.
//! - [`firehose_event`]: our Firehose event model on any bytes, then the whole transform.
//! - [`firehose_response`]: the local Firehose's check of a function's answer, and its Iceberg
//!   routing (`otfMetadata`) against serde_json.
//! - [`transform`]: the whole transform (lexicon analyzer) on batches built from the input:
//!   every record answered once, in order, with the contract's result.
//! - [`kpl`]: KPL de-aggregation on any bytes and on framed messages; aggregation round trips.
//! - [`put_csv`], [`put_jsonl`], [`put_array`]: the `put` readers, each against an oracle and
//!   against itself through a tiny read buffer.
//! - [`mastodon_page`], [`http_json_page`]: the HTTP sources' page parsing.
//! - [`jetstream_frame`]: a Jetstream frame read into a post or a skip, and the stored position.
//! - [`bedrock_answer`]: the validation of a Bedrock model's tool answer.
//! - [`lexicon`]: every language of the lexicon backend on any text: well-formed scores;
//!   Japanese segmentation loses nothing.
//! - [`link_header`]: `Link` (RFC 8288) and `Retry-After` header parsing.
//! - [`id_cmp`]: the record-id order is a total order.
//! - [`purge_object`]: the purge's filtering of any object (NDJSON, GZIP) against an oracle.
//! - [`util`]: input cutting and the JSON oracles the checks share.

/// Declares each target's module and lists it in [`TARGETS`] under its module's name: one list,
/// so a new target cannot be declared and forgotten by the replay.
macro_rules! targets {
    ($($target:ident),+ $(,)?) => {
        $(pub mod $target;)+

        /// Every target by name, as `fuzz/Cargo.toml` names its binaries and the corpus its
        /// folders.
        pub const TARGETS: &[(&str, Check)] = &[$((stringify!($target), $target::check)),+];
    };
}

targets!(
    bedrock_answer,
    firehose_event,
    firehose_response,
    http_json_page,
    id_cmp,
    jetstream_frame,
    json_splice,
    kpl,
    lexicon,
    link_header,
    mastodon_page,
    purge_object,
    put_array,
    put_csv,
    put_jsonl,
    transform,
);

pub mod util;

/// A target's check: panics when the input violates a property.
pub type Check = fn(&[u8]);
