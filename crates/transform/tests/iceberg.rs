//! An Iceberg stack (`DESTINATION=iceberg`): every answer names its table and operation in
//! `metadata.otfMetadata`, in the field names and values Firehose reads; records that cannot be
//! routed to a row fail alone; the response limit counts the routing metadata.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ks_transform::record::{FirehoseEvent, RecordResult, ResponseRecord};
use ks_transform::route::{Destination, IcebergTables};
use ks_transform::sentiment::{Analysis, Label, Scores, Scripted, Sentiment};
use ks_transform::transform::{NonJsonPolicy, TransformSettings, transform};
use serde_json::{Value, json};
use tokio::time::Instant;

/// Scores a text NEGATIVE when it says "awful", POSITIVE otherwise.
fn analyzer() -> Scripted<impl Fn(&[&str]) -> std::future::Ready<Analysis> + Send + Sync> {
    Scripted::new("scripted", 25, true, |texts: &[&str]| {
        let label = |t: &str| {
            if t.contains("awful") {
                Label::Negative
            } else {
                Label::Positive
            }
        };
        std::future::ready(Analysis::from(Ok(texts
            .iter()
            .map(|t| {
                Ok(Sentiment {
                    label: label(t),
                    scores: Scores::default(),
                })
            })
            .collect())))
    })
}

fn iceberg() -> TransformSettings {
    TransformSettings {
        destination: Destination::Iceberg(IcebergTables {
            database: "social_lake".into(),
            posts: "posts".into(),
            purges: "account_purges".into(),
        }),
        ..TransformSettings::default()
    }
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

const POST: &str = r#"{"id":"at://did:plc:a/app.bsky.feed.post/3k","did":"did:plc:a","text":"a lovely day","time_us":1}"#;
const EDIT: &str = r#"{"id":"at://did:plc:a/app.bsky.feed.post/3k","did":"did:plc:a","text":"an awful day","time_us":2,"op":"update"}"#;
const DELETE: &str = r#"{"op":"delete","id":"at://did:plc:a/app.bsky.feed.post/3k","did":"did:plc:a","rkey":"3k","collection":"app.bsky.feed.post","time_us":3,"source":"bluesky"}"#;
const ACCOUNT: &str = r#"{"op":"account","did":"did:plc:b","active":false,"status":"takendown","time_us":4,"source":"bluesky"}"#;
const CREATE: &str =
    r#"{"id":"at://did:plc:c/app.bsky.feed.post/3m","text":"good news","op":"create"}"#;
const NO_TEXT: &str =
    r#"{"id":"at://did:plc:c/app.bsky.feed.post/3n","did":"did:plc:c","text":"","time_us":5}"#;
const GARBAGE: &str = "not json at all";
const DELETE_WITHOUT_ID: &str = r#"{"op":"delete","did":"did:plc:a","rkey":"3k"}"#;
const ACCOUNT_WITHOUT_DID: &str = r#"{"op":"account","active":false}"#;
const POST_WITHOUT_ID: &str = r#"{"text":"who am I"}"#;
const UNKNOWN_OP: &str = r#"{"id":"x","text":"hello","op":"merge"}"#;

/// `metadata.otfMetadata` of an answer, as JSON, or `Value::Null` when there is none.
fn otf(r: &ResponseRecord) -> Value {
    serde_json::to_value(r).unwrap()["metadata"]["otfMetadata"].clone()
}

fn route(table: &str, operation: &str) -> Value {
    json!({"destinationDatabaseName":"social_lake","destinationTableName":table,"operation":operation})
}

#[tokio::test]
async fn every_kind_of_record_is_routed_to_its_table_and_operation() {
    // GIVEN an Iceberg stack and a batch of a post, its edit, its deletion, an account purge, a
    // post with "op":"create" and one without text
    let batch = FirehoseEvent::of_payloads([POST, EDIT, DELETE, ACCOUNT, CREATE, NO_TEXT]);
    // WHEN transformed
    let (resp, summary) = transform(&analyzer(), &iceberg(), &batch, deadline()).await;
    // THEN each is answered Ok with exactly the routing Firehose reads, and nothing else
    let expected = [
        route("posts", "insert"),
        route("posts", "update"),
        route("posts", "delete"),
        route("account_purges", "insert"),
        route("posts", "insert"),
        route("posts", "insert"),
    ];
    for (i, (r, want)) in resp.records.iter().zip(&expected).enumerate() {
        assert_eq!(r.result, RecordResult::Ok, "{i}");
        assert_eq!(&otf(r), want, "{i}");
        let metadata = serde_json::to_value(r).unwrap()["metadata"].clone();
        assert_eq!(
            metadata,
            json!({ "otfMetadata": want }),
            "{i}: no partition keys"
        );
    }
    let line = |i: usize| String::from_utf8(B64.decode(&resp.records[i].data).unwrap()).unwrap();
    let row = |i: usize| serde_json::from_str::<Value>(&line(i)).unwrap();
    // AND the post and its edit carry their own sentiment: the edit's new text scored anew
    assert_eq!(row(0)["sentiment"]["label"], "POSITIVE");
    assert_eq!(row(1)["sentiment"]["label"], "NEGATIVE");
    // AND the deletion and the purge go on byte for byte, unscored: Firehose matches the
    // deletion by its id, the purge job reads the purge's did
    assert_eq!(line(2), format!("{DELETE}\n"));
    assert_eq!(line(3), format!("{ACCOUNT}\n"));
    // AND the post without text is inserted as it came (NO_TEXT=deliver)
    assert_eq!(line(5), format!("{NO_TEXT}\n"));
    assert_eq!((summary.deletions, summary.no_text, summary.ok), (2, 1, 6));
}

#[tokio::test]
async fn a_record_that_cannot_be_routed_to_a_row_fails_alone() {
    // GIVEN an Iceberg stack, even one told to pass non-JSON through, and records no table row
    // can be made of, between two good posts
    let settings = TransformSettings {
        non_json: NonJsonPolicy::PassThrough,
        ..iceberg()
    };
    let batch = FirehoseEvent::of_payloads([
        POST,
        GARBAGE,
        DELETE_WITHOUT_ID,
        ACCOUNT_WITHOUT_DID,
        POST_WITHOUT_ID,
        UNKNOWN_OP,
        CREATE,
    ]);
    // WHEN transformed
    let (resp, summary) = transform(&analyzer(), &settings, &batch, deadline()).await;
    // THEN each of them is ProcessingFailed with its payload handed back and no routing, so
    // Firehose writes it under the error prefix; its neighbours are routed as ever
    let results: Vec<_> = resp.records.iter().map(|r| r.result).collect();
    use RecordResult::{Ok, ProcessingFailed as Failed};
    assert_eq!(results, [Ok, Failed, Failed, Failed, Failed, Failed, Ok]);
    for (r, input) in resp.records.iter().zip(&batch.records).skip(1).take(5) {
        assert_eq!(Some(&r.data), input.data.as_ref());
        assert!(r.metadata.is_none());
    }
    assert_eq!(otf(&resp.records[6]), route("posts", "insert"));
    assert_eq!(summary.failed, 5);
}

#[tokio::test]
async fn an_s3_stack_writes_no_routing_metadata() {
    // GIVEN the default destination (S3) with partition keys, and the same mixed batch
    let settings = TransformSettings {
        partition_keys: true,
        ..TransformSettings::default()
    };
    let batch = FirehoseEvent::of_payloads([POST, EDIT, DELETE, ACCOUNT, UNKNOWN_OP]);
    // WHEN transformed
    let (resp, _) = transform(&analyzer(), &settings, &batch, deadline()).await;
    // THEN each answer's metadata is the partition keys alone, and an unknown op is a post
    for r in &resp.records {
        assert_eq!(r.result, RecordResult::Ok);
        let metadata = serde_json::to_value(r).unwrap()["metadata"].clone();
        let keys: Vec<&str> = metadata
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(keys, ["partitionKeys"]);
    }
}

#[tokio::test]
async fn the_response_limit_counts_the_routing_metadata() {
    // GIVEN twenty routed records of ~300 bytes
    let payloads: Vec<String> = (0..20)
        .map(|i| {
            json!({"id": format!("at://did:plc:a/app.bsky.feed.post/{i}"), "text": "good ".repeat(50)})
                .to_string()
        })
        .collect();
    let batch = FirehoseEvent::of_payloads(&payloads);
    let (whole, _) = transform(&analyzer(), &iceberg(), &batch, deadline()).await;
    let exact = serde_json::to_vec(&whole).unwrap().len();
    // WHEN the ceiling is exactly the whole answer's size THEN every record fits
    let at = TransformSettings {
        max_response_bytes: exact,
        ..iceberg()
    };
    let (resp, summary) = transform(&analyzer(), &at, &batch, deadline()).await;
    assert_eq!((summary.ok, summary.over_response_limit), (20, 0));
    assert_eq!(serde_json::to_vec(&resp).unwrap().len(), exact);
    // AND one byte less, or far less, the answer stays within the ceiling, the overflow failed
    for limit in [exact - 1, exact / 2, exact / 5] {
        let tight = TransformSettings {
            max_response_bytes: limit,
            ..iceberg()
        };
        let (resp, summary) = transform(&analyzer(), &tight, &batch, deadline()).await;
        let size = serde_json::to_vec(&resp).unwrap().len();
        assert!(size <= limit, "{size} > {limit}");
        assert!(summary.over_response_limit > 0, "{limit}");
        assert_eq!(summary.ok + summary.failed, 20);
    }
}
