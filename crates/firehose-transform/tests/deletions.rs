//! The handler on `events/firehose-deletions-mixed.json`: a post, its edit, its deletion, an
//! account taken down and one reactivated, as the jetstream source sends them, with the stack's
//! partition keys. Posts and edits are scored into the data area; deletion and account records
//! come back byte for byte, unscored, to the deletions area.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use firehose_transform::{Analyzer, State, TransformConfig};
use ks_transform::record::{FirehoseEvent, RecordResult};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;

#[tokio::test]
async fn a_mixed_batch_of_posts_edits_deletions_and_account_records() {
    // GIVEN the lexicon backend with the stack's partition keys, and the mixed sample event
    let vars = [
        ("SENTIMENT_BACKEND", "lexicon"),
        ("LANGUAGE_POINTER", "/lang"),
        ("PARTITION_KEYS", "true"),
    ];
    let config = TransformConfig::from_lookup(ks_kernel::env::fixed(&vars)).unwrap();
    let state: &'static State = Box::leak(Box::new(State::new(
        Analyzer::Lexicon(Box::new(ks_lexicon::Lexicon::new())),
        config,
    )));
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/firehose-deletions-mixed.json"
    );
    let event: FirehoseEvent =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut ctx = Context::default();
    ctx.deadline = ks_kernel::deadline::now_ms() + 30_000;
    // WHEN handled
    let (resp, summary) = state
        .handle_with_summary(LambdaEvent::new(event.clone(), ctx))
        .await
        .unwrap();
    println!("{}", serde_json::to_string_pretty(&resp).unwrap());
    // THEN every record is answered Ok, in order
    assert_eq!(resp.records.len(), 5);
    let keys = |i: usize| {
        resp.records[i]
            .metadata
            .as_ref()
            .unwrap()
            .partition_keys
            .clone()
    };
    for (i, (input, r)) in event.records.iter().zip(&resp.records).enumerate() {
        assert_eq!(r.record_id, input.record_id);
        assert_eq!(r.result, RecordResult::Ok, "{i}");
        let out = B64.decode(&r.data).unwrap();
        let original = B64.decode(input.data.as_deref().unwrap()).unwrap();
        match i {
            // AND the post and its edit carry sentiment, the edit its own (the text changed)
            0 | 1 => {
                let v: Value = serde_json::from_slice(&out).unwrap();
                assert!(v["sentiment"]["label"].is_string(), "{v}");
                assert_eq!(keys(i)["area"], "data");
            }
            // AND the deletion and both account records are the original bytes and a newline
            _ => {
                assert_eq!(out, [original.as_slice(), b"\n"].concat(), "{i}");
                assert_eq!(keys(i)["area"], "deletions");
                assert_eq!(keys(i)["sentiment"], "NONE");
            }
        }
    }
    let label = |i: usize| {
        let v: Value = serde_json::from_slice(&B64.decode(&resp.records[i].data).unwrap()).unwrap();
        v["sentiment"]["label"].as_str().unwrap().to_owned()
    };
    assert_eq!(
        (label(0).as_str(), label(1).as_str()),
        ("POSITIVE", "NEGATIVE")
    );
    // AND only the two posts' texts were analysed; three records were deletions
    assert_eq!((summary.texts_analysed, summary.deletions), (2, 3));
}
