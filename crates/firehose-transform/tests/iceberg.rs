//! The handler on `events/firehose-iceberg-mixed.json` with `DESTINATION=iceberg`: a post, its
//! edit, its deletion, an account taken down, a post without text and a payload that is no JSON.
//! Each answer's `metadata.otfMetadata` is checked field by field against the names and values
//! of the Firehose docs ("Route incoming records to different Iceberg tables").

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ks_transform::record::RecordResult;
use serde_json::{Value, json};

#[tokio::test]
async fn a_mixed_batch_is_routed_to_the_iceberg_tables_the_environment_names() {
    // GIVEN the lexicon backend on an Iceberg stack whose tables the environment names, and the
    // mixed sample event
    let vars = [
        ("SENTIMENT_BACKEND", "lexicon"),
        ("LANGUAGE_POINTER", "/lang"),
        ("DESTINATION", "iceberg"),
        ("ICEBERG_DATABASE", "social_lake"),
        ("ICEBERG_POSTS_TABLE", "bsky_posts"),
        ("ICEBERG_PURGES_TABLE", "bsky_purges"),
    ];
    // WHEN handled, and the answer serialised as the runtime sends it to Firehose
    let (event, resp, summary) =
        common::lexicon_handles(&vars, "firehose-iceberg-mixed.json").await;
    let wire: Value = serde_json::to_value(&resp).unwrap();
    println!("{}", serde_json::to_string_pretty(&wire).unwrap());
    // THEN each record is answered in order, with exactly these three fields under otfMetadata
    let routed = |table: &str, op: &str| {
        json!({"otfMetadata": {"destinationDatabaseName": "social_lake",
            "destinationTableName": table, "operation": op}})
    };
    let expected = [
        (
            "01-post",
            "Ok",
            routed("bsky_posts", "insert"),
            Some("POSITIVE"),
        ),
        (
            "02-edit",
            "Ok",
            routed("bsky_posts", "update"),
            Some("NEGATIVE"),
        ),
        ("03-delete", "Ok", routed("bsky_posts", "delete"), None),
        ("04-account", "Ok", routed("bsky_purges", "insert"), None),
        ("05-no-text", "Ok", routed("bsky_posts", "insert"), None),
        ("06-garbage", "ProcessingFailed", Value::Null, None),
    ];
    let records = wire["records"].as_array().unwrap();
    assert_eq!(records.len(), expected.len());
    for ((r, input), (id, result, metadata, label)) in
        records.iter().zip(&event.records).zip(expected)
    {
        assert_eq!(
            (r["recordId"].as_str(), r["result"].as_str()),
            (Some(id), Some(result))
        );
        assert_eq!(r["metadata"], metadata, "{id}");
        let out = B64.decode(r["data"].as_str().unwrap()).unwrap();
        let original = B64.decode(input.data.as_deref().unwrap()).unwrap();
        match (label, result) {
            // A scored post: its row carries the label the text deserves.
            (Some(label), _) => {
                let row: Value = serde_json::from_slice(&out).unwrap();
                assert_eq!(row["sentiment"]["label"], label, "{id}");
            }
            // A deletion, a purge, a post without text: the row as it came, one line.
            (None, "Ok") => assert_eq!(out, [original.as_slice(), b"\n"].concat(), "{id}"),
            // A failure hands its payload back for the error prefix.
            (None, _) => assert_eq!(out, original, "{id}"),
        }
    }
    // AND the summary counts them
    assert_eq!(
        (
            summary.ok,
            summary.failed,
            summary.deletions,
            summary.no_text
        ),
        (5, 1, 2, 1)
    );
    assert_eq!(resp.records[5].result, RecordResult::ProcessingFailed);
}
