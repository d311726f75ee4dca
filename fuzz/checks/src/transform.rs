//! The whole transform (`ks_transform::transform::transform`, lexicon analyzer) on a batch
//! built from the input, and the contract every answer keeps:
//! - every record comes back exactly once, in order, with its `recordId`, and the summary's
//!   counts add up;
//! - each result is the one the README promises for its payload: `ProcessingFailed` with the
//!   original data (no data, bad base64, too deep; not UTF-8 / not JSON / not an object unless
//!   `NON_JSON=pass`), `Dropped` (no text with `NO_TEXT=drop`), `Ok` passed through byte for
//!   byte, nothing appended (`NON_JSON=pass`), `Ok` unchanged but for its line breaks, as one line
//!   (no text, unsupported language), or `Ok` as one line with exactly one sentiment member added
//!   to the original bytes (line breaks aside);
//! - partition keys name the added label (or `NONE`), and the response fits the limit whenever
//!   its smallest form does;
//! - on an Iceberg stack (`DESTINATION=iceberg`), every `Ok` answer routes its record by its
//!   `op` (`otfMetadata`: the posts table's insert / update / delete, the purges table's
//!   insert), and a record that cannot be a row (not JSON, an unknown `op`, no `id` / `did`)
//!   fails; deletion and account records (`op` `delete` / `account`) are never scored;
//! - every answer's payload is canonical base64 (a failed record's is the original payload
//!   re-encoded, or empty when it was not base64), in the field the record came in.
//!
//! The input: two control bytes (settings), then records separated by `0xFF` (never in UTF-8);
//! a record starting `0xFE` has no data, `0xFD` sends its bytes as the base64 text itself (so
//! usually bad base64), `0xFC` gets a record id that needs escapes, `0xFB` comes in
//! `kafkaRecordValue` (an MSK source).

use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ks_lexicon::Vader;
use ks_transform::limits::{FIREHOSE_MAX_RESPONSE_BYTES, MAX_JSON_NESTING_DEPTH};
use ks_transform::metrics::Summary;
use ks_transform::record::{
    FirehoseEvent, FirehoseRecord, FirehoseResponse, RecordResult, ResponseMetadata,
    ResponseRecord,
};
use ks_transform::route::{Destination, IcebergTables, Operation};
use ks_transform::text::{Pointer, normalize_language};
use ks_transform::transform::{NoTextPolicy, NonJsonPolicy, TransformSettings, transform};
use serde_json::Value;

use crate::json_splice::plus_member;
use crate::util::{Input, bracket_depth, serde_accepts};

/// Records per batch at most: enough for batching, deduplication and the response limit.
const MAX_RECORDS: usize = 64;

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let settings = settings(input.byte(), input.byte());
    let mut records = Vec::new();
    while !input.is_empty() && records.len() < MAX_RECORDS {
        let chunk = input.until(0xFF);
        let i = records.len();
        let (record_id, data) = match chunk.split_first() {
            Some((0xFE, _)) => (i.to_string(), None),
            Some((0xFD, rest)) => (
                i.to_string(),
                Some(String::from_utf8_lossy(rest).into_owned()),
            ),
            Some((0xFC, rest)) => (format!("id \"{i}\"\\\u{1}é"), Some(BASE64.encode(rest))),
            Some((0xFB, rest)) => {
                records.push(FirehoseRecord {
                    record_id: i.to_string(),
                    kafka_record_value: Some(BASE64.encode(rest)),
                    ..FirehoseRecord::default()
                });
                continue;
            }
            _ => (i.to_string(), Some(BASE64.encode(chunk))),
        };
        records.push(FirehoseRecord {
            record_id,
            data,
            ..FirehoseRecord::default()
        });
    }
    let event = FirehoseEvent {
        records,
        ..FirehoseEvent::default()
    };
    run_and_check(&event, &settings);
}

/// The settings two control bytes choose.
fn settings(a: u8, b: u8) -> TransformSettings {
    let pointers = |specs: &[&str]| -> Vec<Pointer> {
        specs
            .iter()
            .map(|s| Pointer::parse(s).expect("a valid pointer"))
            .collect()
    };
    let (text_pointers, language_pointers) = match a >> 6 {
        0 => (pointers(&["/text"]), vec![]),
        1 => (pointers(&["/extended_tweet/full_text", "/text"]), vec![]),
        2 => (pointers(&["/a~1b", "/text"]), vec![]),
        _ => (pointers(&["/text"]), pointers(&["/lang", "/user/lang"])),
    };
    let field = ["sentiment", "text", "s\"é\n", "lang"][usize::from((a >> 4) & 3)];
    TransformSettings {
        text_pointers,
        language_pointers,
        max_document_bytes: [5_000, 1, 7, 64][usize::from(b & 3)],
        concurrency: 1 + usize::from((b >> 2) & 3),
        partition_keys: a & 1 != 0,
        no_text: if a & 2 != 0 {
            NoTextPolicy::Drop
        } else {
            NoTextPolicy::Deliver
        },
        non_json: if a & 4 != 0 {
            NonJsonPolicy::PassThrough
        } else {
            NonJsonPolicy::Fail
        },
        field: field.to_owned(),
        destination: if a & 8 != 0 {
            Destination::Iceberg(IcebergTables {
                database: "lake".to_owned(),
                posts: "posts".to_owned(),
                purges: "account_purges".to_owned(),
            })
        } else {
            Destination::S3
        },
        max_response_bytes: match b >> 4 {
            12 => 150,
            13 => 400,
            14 => 1_000,
            15 => 3_000,
            _ => FIREHOSE_MAX_RESPONSE_BYTES,
        },
        call_timeout: Duration::from_secs(60),
        ..TransformSettings::default()
    }
}

fn vader() -> &'static Vader {
    static VADER: OnceLock<Vader> = OnceLock::new();
    VADER.get_or_init(Vader::new)
}

/// Runs the transform on `event` and checks every answer against the contract.
pub fn run_and_check(event: &FirehoseEvent, settings: &TransformSettings) {
    let (resp, summary) = crate::util::block_on(async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
        transform(vader(), settings, event, deadline).await
    });
    check_response(event, settings, &resp, &summary);
}

/// What the contract says a record's answer must be.
#[derive(Debug, PartialEq)]
enum Expect {
    Failed,
    Dropped,
    /// Not JSON, passed through (`NON_JSON=pass`): the bytes as they were.
    Passed,
    /// JSON delivered without sentiment: the bytes less their line breaks.
    Unchanged,
    Scored,
    /// The oracle cannot tell (serde_json cannot read the payload into a `Value`, or it nests
    /// near the limit): only the generic properties are checked.
    Unknown,
}

fn check_response(
    event: &FirehoseEvent,
    settings: &TransformSettings,
    resp: &FirehoseResponse,
    summary: &Summary,
) {
    assert_eq!(
        resp.records.len(),
        event.records.len(),
        "one answer per record"
    );
    let count = |r: RecordResult| resp.records.iter().filter(|x| x.result == r).count() as u64;
    assert_eq!(summary.records_in, event.records.len() as u64);
    assert_eq!(
        (summary.ok, summary.dropped, summary.failed),
        (
            count(RecordResult::Ok),
            count(RecordResult::Dropped),
            count(RecordResult::ProcessingFailed)
        ),
        "the summary's counts"
    );
    // The response fits whenever its smallest form does.
    let smallest = r#"{"records":[]}"#.len()
        + event.records.len().saturating_sub(1)
        + event
            .records
            .iter()
            .map(|r| ResponseRecord::failed_len_in(&r.record_id, r.payload(event.from_msk()).1))
            .sum::<usize>();
    let size = serde_json::to_vec(resp)
        .expect("a response serialises")
        .len();
    if smallest <= settings.max_response_bytes {
        assert!(
            size <= settings.max_response_bytes,
            "response of {size} bytes over the {} limit",
            settings.max_response_bytes
        );
    }
    for (i, (input, answer)) in event.records.iter().zip(&resp.records).enumerate() {
        assert_eq!(answer.record_id, input.record_id, "record {i}'s id");
        let cut = answer.result == RecordResult::ProcessingFailed
            && answer.data.is_empty()
            && summary.over_response_limit > 0;
        if cut {
            assert!(answer.metadata.is_none());
            continue;
        }
        assert_eq!(
            answer.field,
            input.payload(event.from_msk()).1,
            "record {i} is answered in the field it came in"
        );
        check_record(i, input, answer, settings);
    }
}

fn check_record(i: usize, input: &FirehoseRecord, answer: &ResponseRecord, s: &TransformSettings) {
    // The transform's own base64 decoder is base64-simd; where the base64 crate (stricter about
    // trailing bits) refuses, the oracle says nothing about the payload.
    let text = input.payload(false).0;
    let payload = text.map(|d| BASE64.decode(d).ok());
    let expect = match &payload {
        None => Expect::Failed,
        Some(None) => Expect::Unknown,
        Some(Some(p)) => expect(p, s),
    };
    let got = match answer.result {
        RecordResult::ProcessingFailed => {
            // The original payload, canonical; or nothing where it was not base64 at all.
            match &payload {
                Some(Some(p)) => assert_eq!(
                    answer.data,
                    BASE64.encode(p),
                    "record {i}: a failed record's data is the original"
                ),
                _ => assert!(
                    answer.data.is_empty()
                        || BASE64.encode(BASE64.decode(&answer.data).unwrap()) == answer.data,
                    "record {i}: a failed record's data is not canonical base64"
                ),
            }
            assert!(
                answer.metadata.is_none(),
                "record {i}: metadata on a failure"
            );
            Expect::Failed
        }
        RecordResult::Dropped => {
            assert_eq!(s.no_text, NoTextPolicy::Drop, "record {i} dropped");
            assert!(
                answer.data.is_empty(),
                "record {i}: a dropped record has data"
            );
            Expect::Dropped
        }
        RecordResult::Ok => {
            let out = BASE64
                .decode(&answer.data)
                .expect("an Ok record's data is base64");
            assert_eq!(BASE64.encode(&out), answer.data, "record {i}: not canonical");
            let Some(Some(p)) = &payload else {
                return;
            };
            // One `\n` ends every JSON line. A JSON payload loses its line breaks (white space
            // between tokens, never inside strings) so it is one NDJSON line; what is passed
            // through as not JSON keeps every byte and gets nothing added.
            let passed = out == *p;
            if !passed {
                assert!(out.ends_with(b"\n"), "record {i}: no closing newline");
            }
            let body = if out.ends_with(b"\n") {
                &out[..out.len() - 1]
            } else {
                &out[..]
            };
            let one_line: Vec<u8> = p
                .iter()
                .copied()
                .filter(|b| !matches!(b, b'\n' | b'\r'))
                .collect();
            let kind = if expect == Expect::Passed && passed {
                Expect::Passed
            } else if expect != Expect::Scored && out.ends_with(b"\n") && body == &one_line[..] {
                Expect::Unchanged
            } else if expect == Expect::Unknown && passed {
                Expect::Passed
            } else {
                Expect::Scored
            };
            let label = if kind == Expect::Scored {
                assert!(
                    !body.contains(&b'\n') && !body.contains(&b'\r'),
                    "record {i}: not one line"
                );
                let before = std::str::from_utf8(&one_line).expect("a scored payload is UTF-8");
                let after = std::str::from_utf8(body).expect("the output is UTF-8");
                scored_label(plus_member(before, after, &s.field))
            } else {
                "NONE".to_owned()
            };
            check_metadata(i, answer.metadata.as_ref(), &label, p, s);
            kind
        }
    };
    if expect != Expect::Unknown {
        assert_eq!(got, expect, "record {i}: {:?}", input.data);
    }
}

/// An `Ok` answer's metadata: partition keys naming the label when asked for, the route its
/// `op` gives on an Iceberg stack, nothing else.
fn check_metadata(
    i: usize,
    metadata: Option<&ResponseMetadata>,
    label: &str,
    payload: &[u8],
    s: &TransformSettings,
) {
    let iceberg = matches!(s.destination, Destination::Iceberg(_));
    let Some(m) = metadata else {
        assert!(
            !s.partition_keys && !iceberg,
            "record {i}: no metadata with partition_keys={} on {}",
            s.partition_keys,
            s.destination.as_str()
        );
        return;
    };
    if s.partition_keys {
        assert_eq!(
            m.partition_keys.get("sentiment").map(String::as_str),
            Some(label),
            "record {i}"
        );
    } else {
        assert!(m.partition_keys.is_empty(), "record {i}: {m:?}");
    }
    match (&m.otf_metadata, iceberg) {
        (None, false) => {}
        (Some(otf), true) => {
            assert_eq!(otf.destination_database_name, "lake", "record {i}");
            // The payload's own `op`, read by serde_json (when it can be read into a `Value`).
            let op = serde_json::from_slice::<Value>(payload).ok().map(|v| v.get("op").cloned());
            if let Some(op) = op {
                let want = match op.as_ref().and_then(Value::as_str) {
                    None | Some("create") => ("posts", Operation::Insert),
                    Some("update") => ("posts", Operation::Update),
                    Some("delete") => ("posts", Operation::Delete),
                    Some("account") => ("account_purges", Operation::Insert),
                    Some(other) => panic!("record {i}: routed with an unknown op {other:?}"),
                };
                assert_eq!(
                    (otf.destination_table_name.as_str(), otf.operation),
                    want,
                    "record {i}"
                );
            }
        }
        (otf, _) => panic!(
            "record {i}: otfMetadata {otf:?} on {}",
            s.destination.as_str()
        ),
    }
}

/// What a record is by its `op`, as the README says: no `op` or `create` a post, `update` an
/// edit, `delete` / `account` a deletion, anything else another (a post on an S3 stack);
/// `Kind::Other` too on an Iceberg stack when the row's key (`id`, `did` for an account) is
/// not a non-empty string. `None` where the transform reads the raw `op` and serde_json the
/// unescaped one, and they may differ (a backslash in the payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Post,
    Deletion,
    Other,
}

fn kind_of(text: &str, v: &Value, iceberg: bool) -> Option<Kind> {
    let op = v.get("op");
    if op.is_some() && text.contains('\\') {
        return None;
    }
    let (kind, key) = match op.map(|o| o.as_str()) {
        None | Some(Some("create" | "update")) => (Kind::Post, "id"),
        Some(Some("delete")) => (Kind::Deletion, "id"),
        Some(Some("account")) => (Kind::Deletion, "did"),
        Some(_) => (Kind::Other, "id"),
    };
    let keyed = v
        .get(key)
        .and_then(Value::as_str)
        .is_some_and(|k| !k.is_empty());
    Some(if iceberg && !keyed { Kind::Other } else { kind })
}

/// The label of a lexicon sentiment field, checked for its shape.
fn scored_label(field: &str) -> String {
    let v: Value = serde_json::from_str(field).expect("the sentiment field is JSON");
    assert_eq!(v["model"], "lexicon", "{field}");
    let scores: f64 = ["positive", "negative", "neutral", "mixed"]
        .iter()
        .map(|k| v["scores"][k].as_f64().expect("four scores"))
        .sum();
    assert!(
        (scores - 1.0).abs() < 1e-6,
        "scores sum to {scores}: {field}"
    );
    let label = v["label"].as_str().expect("a label").to_owned();
    assert!(
        matches!(
            label.as_str(),
            "POSITIVE" | "NEGATIVE" | "NEUTRAL" | "MIXED"
        ),
        "{field}"
    );
    label
}

/// The README's decision for one decoded payload, reached without the transform's code
/// (serde_json and RFC 6901 pointers; only the language tag's normalisation is the transform's).
fn expect(p: &[u8], s: &TransformSettings) -> Expect {
    let iceberg = matches!(s.destination, Destination::Iceberg(_));
    // An Iceberg table takes JSON rows only, whatever NON_JSON says.
    let not_json = if s.non_json == NonJsonPolicy::PassThrough && !iceberg {
        Expect::Passed
    } else {
        Expect::Failed
    };
    if bracket_depth(p) >= MAX_JSON_NESTING_DEPTH {
        return Expect::Unknown;
    }
    let Ok(text) = std::str::from_utf8(p) else {
        return not_json;
    };
    if !serde_accepts(text) {
        return not_json;
    }
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        // Numbers out of f64's range, lone surrogates in strings: valid, but no `Value`.
        return Expect::Unknown;
    };
    if !v.is_object() {
        return not_json;
    }
    match kind_of(text, &v, iceberg) {
        Some(Kind::Other) if iceberg => return Expect::Failed,
        Some(Kind::Deletion) => return Expect::Unchanged,
        Some(_) => {}
        None => return Expect::Unknown,
    }
    let first_text = |pointers: &[Pointer]| {
        pointers
            .iter()
            .filter_map(|ptr| v.pointer(ptr.as_str()).and_then(Value::as_str))
            .find(|t| !t.trim().is_empty())
    };
    if first_text(&s.text_pointers).is_none() {
        return match s.no_text {
            NoTextPolicy::Deliver => Expect::Unchanged,
            NoTextPolicy::Drop => Expect::Dropped,
        };
    }
    let language = match first_text(&s.language_pointers) {
        Some(tag) => normalize_language(tag),
        None => Some(s.default_language),
    };
    if language == Some("en") {
        Expect::Scored
    } else {
        Expect::Unchanged
    }
}
