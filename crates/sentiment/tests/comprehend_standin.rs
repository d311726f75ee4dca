//! The Comprehend adapter against the local stand-in, over the real awsJson1_1 wire protocol.

use std::time::Duration;

use ks_sentiment::comprehend::ComprehendAnalyzer;
use ks_testkit::With as _;
use ks_testkit::comprehend::{DOC_ERROR_MARKER, DOC_ERROR_ONCE_MARKER, Faults, StandIn};
use ks_testkit::local_sdk_config;
use ks_transform::record::{FirehoseEvent, RecordResult};
use ks_transform::sentiment::{CallError, Label, SentimentAnalyzer};
use ks_transform::transform::{TransformSettings, transform};
use tokio::time::Instant;

fn analyzer(server: &StandIn) -> ComprehendAnalyzer {
    let conf =
        ComprehendAnalyzer::configure(local_sdk_config!(aws_sdk_comprehend, server.url())).build();
    ComprehendAnalyzer::new(aws_sdk_comprehend::Client::from_conf(conf))
}

#[tokio::test]
async fn scores_each_document_at_its_index() {
    // GIVEN the stand-in and three documents
    let server = StandIn::start(Faults::default()).await.unwrap();
    let a = analyzer(&server);
    // WHEN analysed in one call
    let out = a
        .analyze("en", &["I love it", "I hate it", "it is a chair"])
        .await
        .outcome
        .unwrap();
    // THEN each answer matches its document
    let labels: Vec<Label> = out.iter().map(|r| r.as_ref().unwrap().label).collect();
    assert_eq!(labels, [Label::Positive, Label::Negative, Label::Neutral]);
    assert!((out[0].as_ref().unwrap().scores.positive - 0.9).abs() < 1e-6);
    assert_eq!(server.stats.calls(), 1);
    assert_eq!(
        server.stats.rejected(),
        0,
        "request was well-formed and signed"
    );
}

#[tokio::test]
async fn injected_latency_delays_every_answer_and_throttled_ones_too() {
    // GIVEN a stand-in that answers 30 ms after each request arrives, throttling the 2nd call
    let latency = Duration::from_millis(30);
    let server = StandIn::start(Faults::with(|f| {
        f.latency = latency;
        f.throttle_every = 2;
    }))
    .await
    .unwrap();
    let a = analyzer(&server);
    // WHEN called twice THEN neither answer, scored or throttled, comes sooner
    let started = std::time::Instant::now();
    assert!(a.analyze("en", &["fine"]).await.outcome.is_ok());
    assert!(started.elapsed() >= latency);
    let started = std::time::Instant::now();
    let err = a.analyze("en", &["fine"]).await.outcome.unwrap_err();
    assert!(matches!(err, CallError::Throttled(_)), "{err}");
    assert!(started.elapsed() >= latency);
}

#[tokio::test]
async fn limits_violations_are_permanent_errors() {
    let server = StandIn::start(Faults::default()).await.unwrap();
    let a = analyzer(&server);
    // GIVEN 26 documents THEN BatchSizeLimitExceeded, not retryable
    let many = vec!["x"; 26];
    let err = a.analyze("en", &many).await.outcome.unwrap_err();
    assert!(
        matches!(&err, CallError::Permanent(m) if m.contains("BatchSizeLimitExceededException")),
        "{err}"
    );
    assert!(!err.is_retryable());
    // GIVEN a document over 5,000 bytes THEN TextSizeLimitExceeded
    let big = "a".repeat(5_001);
    let err = a.analyze("en", &[big.as_str()]).await.outcome.unwrap_err();
    assert!(
        matches!(&err, CallError::Permanent(m) if m.contains("TextSizeLimitExceededException")),
        "{err}"
    );
    // GIVEN a language Comprehend cannot do THEN UnsupportedLanguage
    let err = a.analyze("nl", &["hallo"]).await.outcome.unwrap_err();
    assert!(
        matches!(&err, CallError::Permanent(m) if m.contains("UnsupportedLanguageException")),
        "{err}"
    );
}

#[tokio::test]
async fn throttling_and_server_errors_are_retryable() {
    let server = StandIn::start(Faults::with(|f| {
        f.throttle_first = 1;
        f.error_every = 2;
    }))
    .await
    .unwrap();
    let a = analyzer(&server);
    let err = a.analyze("en", &["x"]).await.outcome.unwrap_err();
    assert!(
        matches!(err, CallError::Throttled(ref m) if m.contains("ThrottlingException")),
        "{err}"
    );
    let err = a.analyze("en", &["x"]).await.outcome.unwrap_err();
    assert!(
        matches!(err, CallError::Transient(ref m) if m.contains("InternalServerException")),
        "{err}"
    );
    assert!(err.is_retryable());
    assert!(a.analyze("en", &["x"]).await.outcome.is_ok());
}

#[tokio::test]
async fn a_dead_endpoint_is_a_transient_error() {
    let server = StandIn::start(Faults::default()).await.unwrap();
    let a = analyzer(&server);
    drop(server);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let err = a.analyze("en", &["x"]).await.outcome.unwrap_err();
    assert!(matches!(err, CallError::Transient(_)), "{err}");
}

#[tokio::test]
async fn error_list_entries_are_per_document() {
    let server = StandIn::start(Faults::default()).await.unwrap();
    let a = analyzer(&server);
    let once = format!("good {DOC_ERROR_ONCE_MARKER}");
    let always = format!("bad {DOC_ERROR_MARKER}");
    let out = a
        .analyze("en", &["great", once.as_str(), always.as_str()])
        .await
        .outcome
        .unwrap();
    assert!(out[0].is_ok());
    let e1 = out[1].as_ref().unwrap_err();
    assert_eq!(e1.code, "INTERNAL_SERVER_ERROR");
    assert!(e1.retryable);
    let e2 = out[2].as_ref().unwrap_err();
    assert_eq!(e2.code, "INVALID_REQUEST");
    assert!(!e2.retryable);
}

fn event(texts: &[String]) -> FirehoseEvent {
    FirehoseEvent::of_payloads(
        texts
            .iter()
            .map(|t| serde_json::json!({ "text": t }).to_string()),
    )
}

#[tokio::test]
async fn the_transform_gets_every_sentiment_through_throttling_500s_and_slow_answers() {
    // GIVEN a stand-in that throttles every 3rd call, fails every 5th, is slow for the first 2
    let faults = Faults::with(|f| {
        f.throttle_every = 3;
        f.error_every = 5;
        f.slow_first = 2;
        f.slow_latency = Duration::from_millis(800);
    });
    let server = StandIn::start(faults).await.unwrap();
    let a = analyzer(&server);
    let mut texts: Vec<String> = (0..200).map(|i| format!("post {i} is great")).collect();
    texts.push(format!("flaky {DOC_ERROR_ONCE_MARKER}"));
    let settings = TransformSettings {
        call_timeout: Duration::from_millis(300),
        retry: ks_kernel::retry::RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(5),
            cap: Duration::from_millis(50),
        },
        ..TransformSettings::default()
    };
    // WHEN the batch is transformed
    let (resp, summary) = transform(
        &a,
        &settings,
        &event(&texts),
        Instant::now() + Duration::from_secs(30),
    )
    .await;
    // THEN every record has its sentiment, none over the limits, and retries were counted
    assert!(resp.records.iter().all(|r| r.result == RecordResult::Ok));
    assert_eq!(summary.sentiment_errors, 0, "{summary:?}");
    assert_eq!(summary.texts_analysed, 201);
    assert!(summary.retries >= 3, "{summary:?}");
    assert_eq!(server.stats.max_batch(), 25);
    assert_eq!(server.stats.rejected(), 0);
    assert_eq!(summary.sentiment_calls, server.stats.calls());
}
