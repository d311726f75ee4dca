//! The local Iceberg tables, read by an independent reader: pyiceberg (pinned in
//! requirements-dev.txt, installed into `.venv` by `make venv`) through `tests/read_iceberg.py`.
//! When the venv's python or pyiceberg is missing the test fails with the reason: it never
//! passes by doing nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use ks_firehose_local::iceberg::{Operation, Origin, RowOp, Table, TableConfig};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// pyiceberg's view of a table: `read_iceberg.py`'s JSON.
pub fn pyiceberg_read(location: &Path) -> Value {
    let python = workspace_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} missing: this test needs the project's venv; run `make venv`",
        python.display()
    );
    let script = workspace_root().join("crates/firehose-local/tests/read_iceberg.py");
    let run = Command::new(&python)
        .arg(&script)
        .arg(location)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "read_iceberg.py failed (is pyiceberg installed? `make venv`): {}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_slice(&run.stdout).unwrap()
}

fn op(operation: Operation, line: String, seq: u32) -> RowOp {
    RowOp {
        operation,
        line: line.into_bytes(),
        origin: Some(Origin {
            shard: "shardId-000000000000".into(),
            sequence: seq.to_string(),
        }),
    }
}

fn post(id: u32, text: &str, label: &str) -> String {
    format!(
        r#"{{"id":"{id}","text":"{text}","did":"did:plc:a{id}","tags":["x"],"user":{{"id":"u","followers_count":3}},"sentiment":{{"label":"{label}","scores":{{"positive":0.5,"negative":0.25,"neutral":0.25,"mixed":0.0}},"model":"lexicon"}}}}"#
    )
}

#[test]
fn pyiceberg_sees_inserts_the_edits_new_text_and_sentiment_and_no_deleted_post() {
    // GIVEN a posts table (unique key id) with posts 1..=5, then a batch that edits 2 (new text
    // and sentiment), deletes 3 and 5, and adds 6
    let dir = tempfile::tempdir().unwrap();
    let config = TableConfig {
        database: "kinesis_sentiment".into(),
        table: "posts".into(),
        unique_keys: vec!["id".into()],
    };
    let mut table = Table::open_or_create(dir.path(), config).unwrap();
    let cp = |n: u32| BTreeMap::from([("shardId-000000000000".to_owned(), n.to_string())]);
    let first: Vec<RowOp> = (1..=5)
        .map(|n| op(Operation::Insert, post(n, "a fine day", "POSITIVE"), n))
        .collect();
    table.apply(&first, &cp(5), |_| Ok(())).unwrap();
    let second = vec![
        op(Operation::Update, post(2, "a terrible day", "NEGATIVE"), 6),
        op(
            Operation::Delete,
            r#"{"op":"delete","id":"3"}"#.to_owned(),
            7,
        ),
        op(Operation::Insert, post(6, "new", "NEUTRAL"), 8),
        op(
            Operation::Delete,
            r#"{"op":"delete","id":"5"}"#.to_owned(),
            9,
        ),
    ];
    table.apply(&second, &cp(9), |_| Ok(())).unwrap();
    // WHEN pyiceberg reads the table from its directory (version hint) and its metadata file
    for location in [table.dir().to_owned(), table.metadata_file()] {
        let read = pyiceberg_read(&location);
        // THEN it sees a v2 table whose live rows are 1, 2 (edited), 4 and 6
        assert_eq!(read["format_version"], 2, "{read}");
        assert_eq!(read["identifier_fields"], serde_json::json!(["id"]));
        assert_eq!(read["operation"], "overwrite");
        let mut rows: Vec<(String, String, String)> = read["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap().to_owned(),
                    r["text"].as_str().unwrap().to_owned(),
                    r["sentiment"]["label"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        rows.sort();
        let want = [
            ("1", "a fine day", "POSITIVE"),
            ("2", "a terrible day", "NEGATIVE"),
            ("4", "a fine day", "POSITIVE"),
            ("6", "new", "NEUTRAL"),
        ]
        .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
        assert_eq!(rows, want);
        // AND nested columns read through the name mapping
        let first = &read["rows"][0];
        assert_eq!(first["tags"], serde_json::json!(["x"]), "{first}");
        assert_eq!(first["user"]["followers_count"], 3, "{first}");
    }
}
