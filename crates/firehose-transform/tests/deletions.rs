//! The handler on `events/firehose-deletions-mixed.json`: a post, its edit, its deletion, an
//! account taken down and one reactivated, as the jetstream source sends them, with the stack's
//! partition keys. Posts and edits are scored into the data area; deletion and account records
//! come back byte for byte, unscored, to the deletions area.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ks_transform::record::RecordResult;
use serde_json::Value;

#[tokio::test]
async fn a_mixed_batch_of_posts_edits_deletions_and_account_records() {
    // GIVEN the lexicon backend with the stack's partition keys, and the mixed sample event
    let vars = [
        ("SENTIMENT_BACKEND", "lexicon"),
        ("LANGUAGE_POINTER", "/lang"),
        ("PARTITION_KEYS", "true"),
    ];
    // WHEN handled
    let (event, resp, summary) =
        common::lexicon_handles(&vars, "firehose-deletions-mixed.json").await;
    println!("{}", serde_json::to_string_pretty(&resp).unwrap());
    // THEN every record is answered Ok, in order: the post and its edit scored (the edit its
    // own way: the text changed) into the data area; the deletion and both account records
    // the original bytes and a newline, unscored, into the deletions area
    let expected = [
        ("data", Some("POSITIVE")),
        ("data", Some("NEGATIVE")),
        ("deletions", None),
        ("deletions", None),
        ("deletions", None),
    ];
    assert_eq!(resp.records.len(), expected.len());
    for (i, (input, r)) in event.records.iter().zip(&resp.records).enumerate() {
        assert_eq!(
            (r.record_id.as_str(), r.result),
            (input.record_id.as_str(), RecordResult::Ok)
        );
        let out = B64.decode(&r.data).unwrap();
        let keys = &r.metadata.as_ref().unwrap().partition_keys;
        let (area, label) = expected[i];
        assert_eq!(keys["area"], area, "{i}");
        assert_eq!(keys["sentiment"], label.unwrap_or("NONE"), "{i}");
        match label {
            Some(label) => {
                let v: Value = serde_json::from_slice(&out).unwrap();
                assert_eq!(v["sentiment"]["label"], label, "{v}");
            }
            None => {
                let original = B64.decode(input.data.as_deref().unwrap()).unwrap();
                assert_eq!(out, [original.as_slice(), b"\n"].concat(), "{i}");
            }
        }
    }
    // AND only the two posts' texts were analysed; three records were deletions
    assert_eq!((summary.texts_analysed, summary.deletions), (2, 3));
}
