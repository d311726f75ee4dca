//! Deletion and account records in a batch: delivered as they came, never scored, to their own
//! area; posts and edits beside them scored as ever.

use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ks_transform::record::{FirehoseEvent, RecordResult};
use ks_transform::sentiment::{Analysis, Label, Scores, Scripted, Sentiment};
use ks_transform::transform::{TransformSettings, transform};
use serde_json::Value;
use tokio::time::Instant;

/// Scores every text NEUTRAL and remembers in `asked` which texts it was asked about.
fn recording(
    asked: &Mutex<Vec<String>>,
) -> Scripted<impl Fn(&[&str]) -> std::future::Ready<Analysis> + Send + Sync + '_> {
    Scripted::new("recording", 25, true, move |texts: &[&str]| {
        asked
            .lock()
            .unwrap()
            .extend(texts.iter().map(|t| t.to_string()));
        let neutral = Sentiment {
            label: Label::Neutral,
            scores: Scores {
                neutral: 1.0,
                ..Scores::default()
            },
        };
        std::future::ready(Analysis::from(Ok(texts
            .iter()
            .map(|_| Ok(neutral))
            .collect())))
    })
}

fn event(payloads: &[&str]) -> FirehoseEvent {
    FirehoseEvent::of_payloads(payloads)
}

const POST: &str = r#"{"id":"at://did:plc:a/app.bsky.feed.post/3k","did":"did:plc:a","text":"first words","time_us":1}"#;
const EDIT: &str = r#"{"id":"at://did:plc:a/app.bsky.feed.post/3k","did":"did:plc:a","text":"second words","time_us":2,"op":"update"}"#;
const DELETE: &str = r#"{"op":"delete","id":"at://did:plc:a/app.bsky.feed.post/3k","did":"did:plc:a","rkey":"3k","collection":"app.bsky.feed.post","time_us":3,"source":"bluesky"}"#;
const ACCOUNT: &str = r#"{"op":"account","did":"did:plc:b","active":false,"status":"takendown","time_us":4,"source":"bluesky"}"#;
/// `op` that is not a deletion's, or not a plain string: a post like any other.
const OTHER_OP: &str = r#"{"text":"third words","op":"deleted?"}"#;
const PRETTY_DELETE: &str =
    "{\n  \"op\": \"delete\",\n  \"id\": \"at://x/app.bsky.feed.post/1\"\n}";

#[tokio::test]
async fn a_mixed_batch_scores_posts_and_edits_and_routes_deletions_unscored() {
    // GIVEN a batch of a post, its edit, its deletion, an account purge and two look-alikes,
    // with partition keys on
    let settings = TransformSettings {
        partition_keys: true,
        ..TransformSettings::default()
    };
    let asked = Mutex::default();
    let analyzer = recording(&asked);
    let batch = event(&[POST, EDIT, DELETE, ACCOUNT, OTHER_OP, PRETTY_DELETE]);
    // WHEN transformed
    let deadline = Instant::now() + Duration::from_secs(30);
    let (resp, summary) = transform(&analyzer, &settings, &batch, deadline).await;
    // THEN every record is answered Ok, in order, with its own id
    assert_eq!(resp.records.len(), 6);
    for (i, r) in resp.records.iter().enumerate() {
        assert_eq!(r.record_id, format!("r{i}"));
        assert_eq!(r.result, RecordResult::Ok, "{i}");
    }
    let line = |i: usize| String::from_utf8(B64.decode(&resp.records[i].data).unwrap()).unwrap();
    let keys = |i: usize| {
        resp.records[i]
            .metadata
            .as_ref()
            .unwrap()
            .partition_keys
            .clone()
    };
    // AND the post and its edit are scored, in the data area
    for i in [0, 1, 4] {
        let v: Value = serde_json::from_str(line(i).trim_end()).unwrap();
        assert_eq!(v["sentiment"]["label"], "NEUTRAL", "{i}");
        assert_eq!(keys(i)["area"], "data");
        assert_eq!(keys(i)["sentiment"], "NEUTRAL");
    }
    // AND the deletion and account records come back byte for byte, one line each, unscored,
    // in the deletions area
    assert_eq!(line(2), format!("{DELETE}\n"));
    assert_eq!(line(3), format!("{ACCOUNT}\n"));
    assert_eq!(
        line(5),
        "{  \"op\": \"delete\",  \"id\": \"at://x/app.bsky.feed.post/1\"}\n"
    );
    for i in [2, 3, 5] {
        assert_eq!(keys(i)["area"], "deletions", "{i}");
        assert_eq!(keys(i)["sentiment"], "NONE", "{i}");
    }
    // AND no text of a deletion was sent to the analyzer: only the posts', once each
    let mut asked = asked.lock().unwrap().clone();
    asked.sort();
    assert_eq!(asked, ["first words", "second words", "third words"]);
    assert_eq!(summary.deletions, 3);
    assert_eq!(summary.no_text, 0);
}

#[tokio::test]
async fn without_partition_keys_deletions_still_pass_unscored() {
    // GIVEN partition keys off WHEN a deletion is transformed
    let (resp, summary) = transform(
        &recording(&Mutex::default()),
        &TransformSettings::default(),
        &event(&[DELETE]),
        Instant::now() + Duration::from_secs(30),
    )
    .await;
    // THEN it is delivered as it came, with no metadata, and counted
    let r = &resp.records[0];
    assert_eq!(r.result, RecordResult::Ok);
    assert!(r.metadata.is_none());
    assert_eq!(
        B64.decode(&r.data).unwrap(),
        format!("{DELETE}\n").as_bytes()
    );
    assert_eq!(summary.deletions, 1);
}
