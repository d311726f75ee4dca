//! The local Firehose's Parquet, read by an independent reader: pyarrow (pinned in
//! requirements-dev.txt, installed into `.venv` by `make venv`) through
//! `tests/read_parquet.py`. When the venv's python or pyarrow is missing the test fails with the
//! reason (`make venv` installs them): it never passes by doing nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use ks_firehose_local::parquet::{encode, glue_columns};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The venv's python with pyarrow importable; the test fails with the reason otherwise.
fn python_with_pyarrow() -> PathBuf {
    let python = workspace_root().join(".venv/bin/python");
    let usable = python.exists()
        && Command::new(&python)
            .args(["-c", "import pyarrow"])
            .status()
            .is_ok_and(|s| s.success());
    assert!(
        usable,
        "pyarrow not importable with {}: this test needs the project's venv; run `make venv`",
        python.display()
    );
    python
}

/// Three enriched records: every column set (unicode, escapes, extreme numbers), a sparse one
/// with the error form of the sentiment member and a member the table lacks, and explicit nulls.
const RECORDS: [&str; 3] = [
    r#"{"id":"110000000000000001","created_at":"2025-01-01T00:00:00.500Z","lang":"en","text":"Café crème 😀 — \"quoted\"\ttab","content":"<p>x</p>","url":"https://social.example/@anna1/1","user":{"id":"900001","username":"anna1","display_name":"Anna","followers_count":9223372036854775807,"following_count":0},"tags":["café","日本語"],"replies_count":1,"reblogs_count":-2,"favourites_count":3,"sensitive":false,"visibility":"public","did":"did:plc:abc","rkey":"3k","cid":"bafyrei","time_us":1733133600000001,"langs":["en","pt"],"reply_to":"at://did:plc:x/app.bsky.feed.post/1","source":"synthetic","sentiment":{"label":"POSITIVE","scores":{"positive":0.1234567890123456789,"negative":1e-300,"neutral":0.30000000000000004,"mixed":0},"model":"lexicon"}}"#,
    r#"{"id":"2","language":"ja","text":"\u65e5\u672c\u8a9e","tags":[],"sensitive":null,"unknown":{"a":[1]},"sentiment":{"label":null,"error":"THROTTLED: slow down","model":"comprehend"}}"#,
    r#"{"id":"3","tags":null,"user":null,"sentiment":null}"#,
];

#[test]
fn pyarrow_reads_the_schema_and_values_encode_wrote() {
    let python = python_with_pyarrow();
    // GIVEN a Parquet file encoded from known enriched records
    let ndjson = format!("{}\n", RECORDS.join("\n"));
    let encoded = encode(ndjson.as_bytes()).unwrap();
    assert!(encoded.failures.is_empty(), "{:?}", encoded.failures);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("posts.parquet");
    std::fs::write(&file, encoded.parquet.unwrap()).unwrap();
    // WHEN pyarrow reads it
    let script = workspace_root().join("crates/cli/tests/read_parquet.py");
    let run = Command::new(&python)
        .arg(&script)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let read: Value = serde_json::from_slice(&run.stdout).unwrap();

    // THEN the columns are the Glue table's, in order, with the same (nested) types, nullable
    let expected_columns: Vec<Value> = glue_columns()
        .into_iter()
        .map(|(name, glue)| json!([name, glue, true]))
        .collect();
    assert_eq!(read["columns"], Value::Array(expected_columns));
    // AND compressed as Firehose's Parquet SerDe does by default, with writer version 1
    assert_eq!(read["codecs"], json!(["SNAPPY"]));
    assert_eq!(read["format_version"], "1.0");
    // AND every value is as written: unicode and escapes, 64-bit extremes, floats bit for bit,
    // absent members and explicit nulls as null, unknown members gone
    let rows = read["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0],
        json!({
            "id": "110000000000000001",
            "created_at": "2025-01-01T00:00:00.500Z",
            "lang": "en",
            "language": null,
            "text": "Café crème 😀 — \"quoted\"\ttab",
            "content": "<p>x</p>",
            "url": "https://social.example/@anna1/1",
            "user": {
                "id": "900001",
                "username": "anna1",
                "display_name": "Anna",
                "followers_count": i64::MAX,
                "following_count": 0
            },
            "tags": ["café", "日本語"],
            "replies_count": 1,
            "reblogs_count": -2,
            "favourites_count": 3,
            "sensitive": false,
            "visibility": "public",
            "did": "did:plc:abc",
            "rkey": "3k",
            "cid": "bafyrei",
            "time_us": 1_733_133_600_000_001_i64,
            "langs": ["en", "pt"],
            "reply_to": "at://did:plc:x/app.bsky.feed.post/1",
            "source": "synthetic",
            "op": null,
            "collection": null,
            "active": null,
            "status": null,
            "sentiment": {
                "label": "POSITIVE",
                "scores": {
                    "positive": 0.123_456_789_012_345_68,
                    "negative": 1e-300,
                    "neutral": 0.300_000_000_000_000_04,
                    "mixed": 0.0
                },
                "model": "lexicon",
                "error": null
            }
        })
    );
    let nulls = |except: Value| {
        let mut row = serde_json::Map::new();
        for (name, _) in glue_columns() {
            row.insert(name, Value::Null);
        }
        for (k, v) in except.as_object().unwrap() {
            row.insert(k.clone(), v.clone());
        }
        Value::Object(row)
    };
    assert_eq!(
        rows[1],
        nulls(json!({
            "id": "2",
            "language": "ja",
            "text": "日本語",
            "tags": [],
            "sentiment": {"label": null, "scores": null, "model": "comprehend", "error": "THROTTLED: slow down"}
        }))
    );
    assert_eq!(rows[2], nulls(json!({"id": "3"})));
}
