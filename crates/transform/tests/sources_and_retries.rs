//! The transform with an Amazon MSK source, payloads passed through or refused by kind, lenient
//! base64, and retries bounded by the deadline under an adaptive concurrency limit: each
//! guarantee under injected faults, over an in-memory analyzer.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ks_kernel::retry::RetryPolicy;
use ks_transform::record::{FirehoseEvent, FirehoseRecord, PayloadField, RecordResult};
use ks_transform::sentiment::{
    Analysis, CallError, DocError, Label, Scores, Sentiment, SentimentAnalyzer,
};
use ks_transform::transform::{NonJsonPolicy, TransformSettings, transform};
use serde_json::Value;
use tokio::time::Instant;

/// A service with a capacity: more than `capacity` calls in flight are throttled at once; the
/// first `throttle_first` calls are throttled whatever the load; `invalid` texts are never
/// answered validly (a model's malformed answer). Each accepted call takes `latency`.
struct Service {
    capacity: usize,
    throttle_first: usize,
    latency: Duration,
    in_flight: AtomicUsize,
    calls: AtomicUsize,
    throttled: AtomicUsize,
    peak: AtomicUsize,
    invalid: &'static str,
    seen: Mutex<Vec<usize>>,
}

impl Service {
    fn new(capacity: usize) -> Self {
        Service {
            capacity,
            throttle_first: 0,
            latency: Duration::from_millis(200),
            in_flight: AtomicUsize::new(0),
            calls: AtomicUsize::new(0),
            throttled: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            invalid: "\u{0}never",
            seen: Mutex::new(Vec::new()),
        }
    }
}

impl SentimentAnalyzer for Service {
    fn model(&self) -> &str {
        "svc"
    }
    fn supports_language(&self, _: &str) -> bool {
        true
    }
    fn max_batch_documents(&self) -> usize {
        5
    }
    fn is_remote(&self) -> bool {
        true
    }
    async fn analyze(&self, _: &str, texts: &[&str]) -> Analysis {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        self.seen.lock().unwrap().push(now);
        let outcome = if n <= self.throttle_first || now > self.capacity {
            self.throttled.fetch_add(1, Ordering::SeqCst);
            Err(CallError::Throttled("Rate exceeded".into()))
        } else {
            tokio::time::sleep(self.latency).await;
            Ok(texts
                .iter()
                .map(|t| {
                    if t.contains(self.invalid) {
                        return Err(DocError {
                            code: "INVALID_RESULT".into(),
                            message: "no label".into(),
                            retryable: true,
                            service_failure: false,
                        });
                    }
                    let label = if t.contains("good") {
                        Label::Positive
                    } else {
                        Label::Negative
                    };
                    Ok(Sentiment {
                        label,
                        scores: Scores::default(),
                    })
                })
                .collect())
        };
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        outcome.into()
    }
}

fn msk_record(id: &str, payload: &[u8]) -> FirehoseRecord {
    FirehoseRecord {
        record_id: id.to_owned(),
        kafka_record_value: Some(B64.encode(payload)),
        ..FirehoseRecord::default()
    }
}

fn record(id: &str, data: &str) -> FirehoseRecord {
    FirehoseRecord {
        record_id: id.to_owned(),
        data: Some(data.to_owned()),
        ..FirehoseRecord::default()
    }
}

fn posts(n: usize) -> FirehoseEvent {
    FirehoseEvent {
        records: (0..n)
            .map(|i| {
                let text = if i % 2 == 0 { "good" } else { "bad" };
                let post = format!(r#"{{"id":{i},"text":"{text} post {i}"}}"#);
                record(&i.to_string(), &B64.encode(post))
            })
            .collect(),
        ..FirehoseEvent::default()
    }
}

fn settings() -> TransformSettings {
    TransformSettings {
        concurrency: 8,
        retry: RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(50),
            cap: Duration::from_millis(2_000),
        },
        call_timeout: Duration::from_secs(10),
        ..TransformSettings::default()
    }
}

fn labels(resp: &ks_transform::record::FirehoseResponse) -> Vec<Value> {
    resp.records
        .iter()
        .map(|r| {
            let v: Value = serde_json::from_slice(&B64.decode(&r.data).unwrap()).unwrap();
            v["sentiment"]["label"].clone()
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn an_msk_record_is_scored_and_answered_in_kafka_record_value() {
    // GIVEN an MSK-sourced batch: two posts (one repeated), one text, with partition keys on
    let service = Service::new(8);
    let event = FirehoseEvent {
        source_msk_arn: Some("arn:aws:kafka:us-east-1:1:cluster/c/x".into()),
        records: vec![
            msk_record("a", br#"{"text":"good day"}"#),
            msk_record("b", b"plain text"),
            msk_record("c", br#"{"text":"good day"}"#),
        ],
        ..FirehoseEvent::default()
    };
    let s = TransformSettings {
        partition_keys: true,
        non_json: NonJsonPolicy::PassThrough,
        ..settings()
    };
    // WHEN transformed
    let (resp, summary) = transform(
        &service,
        &s,
        &event,
        Instant::now() + Duration::from_secs(60),
    )
    .await;
    // THEN every answer is in kafkaRecordValue, scored and deduplicated as any other
    let json = serde_json::to_value(&resp).unwrap();
    for r in json["records"].as_array().unwrap() {
        assert!(
            r.get("data").is_none() && r["kafkaRecordValue"].is_string(),
            "{r}"
        );
    }
    assert!(
        resp.records
            .iter()
            .all(|r| r.field == PayloadField::KafkaRecordValue)
    );
    assert_eq!((summary.texts_analysed, summary.deduplicated), (1, 1));
    let out = B64.decode(&resp.records[0].data).unwrap();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .ends_with("\"model\":\"svc\"}}\n")
    );
    assert_eq!(B64.decode(&resp.records[1].data).unwrap(), b"plain text");
    assert_eq!(
        resp.records[0].metadata.as_ref().unwrap().partition_keys["sentiment"],
        "POSITIVE"
    );
}

#[tokio::test(start_paused = true)]
async fn the_response_limit_counts_the_longer_field_name() {
    // GIVEN MSK records and a response limit that just fits them all answered in `data`
    let service = Service::new(8);
    let text = "not json ".repeat(30);
    let records: Vec<FirehoseRecord> = (0..4)
        .map(|i| msk_record(&i.to_string(), text.as_bytes()))
        .collect();
    let event = FirehoseEvent {
        records,
        ..FirehoseEvent::default()
    };
    let as_data = {
        let mut e = event.clone();
        for r in &mut e.records {
            r.data = r.kafka_record_value.take();
        }
        e
    };
    let s = TransformSettings {
        non_json: NonJsonPolicy::PassThrough,
        ..settings()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let (fits, _) = transform(&service, &s, &as_data, deadline).await;
    let limit = serde_json::to_vec(&fits).unwrap().len();
    // WHEN the same payloads come in kafkaRecordValue under that limit
    let s = TransformSettings {
        max_response_bytes: limit,
        ..s
    };
    let (resp, summary) = transform(&service, &s, &event, deadline).await;
    // THEN the answer still fits: a record that would not is failed, not the batch
    assert!(serde_json::to_vec(&resp).unwrap().len() <= limit);
    assert!(summary.over_response_limit >= 1, "{summary:?}");
}

/// The warnings a run logs, as the Lambdas' subscriber writes them.
fn logged_reasons(run: impl FnOnce()) -> Vec<String> {
    let out = ks_kernel::log::captured(run);
    let text = String::from_utf8(out).unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["fields"]["reason"].as_str().map(str::to_owned))
        .collect()
}

fn run_now(
    service: &Service,
    s: &TransformSettings,
    event: &FirehoseEvent,
) -> ks_transform::record::FirehoseResponse {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(transform(
        service,
        s,
        event,
        Instant::now() + Duration::from_secs(60),
    ))
    .0
}

#[test]
fn pass_leaves_every_non_json_payload_byte_for_byte_and_fail_names_decompression_for_gzip() {
    // GIVEN text, gzip (CloudWatch Logs subscription data), a JSON array and non-UTF-8 bytes
    let gzip = [
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x0a,
    ];
    let payloads: Vec<&[u8]> = vec![b"Hello World", &gzip, b"[1,2]\n", &[0xff, 0xfe, b'x']];
    let event = FirehoseEvent {
        records: payloads
            .iter()
            .enumerate()
            .map(|(i, p)| record(&i.to_string(), &B64.encode(p)))
            .collect(),
        ..FirehoseEvent::default()
    };
    let service = Service::new(8);
    // WHEN passed through
    let pass = TransformSettings {
        non_json: NonJsonPolicy::PassThrough,
        ..settings()
    };
    let resp = run_now(&service, &pass, &event);
    // THEN each comes back exactly as it came: nothing appended, not even `\n`
    for (r, p) in resp.records.iter().zip(&payloads) {
        assert_eq!(r.result, RecordResult::Ok);
        assert_eq!(B64.decode(&r.data).unwrap(), *p);
    }
    // WHEN failed instead
    let mut resp = None;
    let reasons = logged_reasons(|| resp = Some(run_now(&service, &settings(), &event)));
    // THEN each is ProcessingFailed with its payload, and the gzip one's reason names the
    // Decompression processor
    for (r, p) in resp.unwrap().records.iter().zip(&payloads) {
        assert_eq!(r.result, RecordResult::ProcessingFailed);
        assert_eq!(B64.decode(&r.data).unwrap(), *p);
    }
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(
        reasons[1].contains("gzip") && reasons[1].contains("Decompression processor"),
        "{reasons:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn over_padded_base64_is_read_and_every_answer_is_canonical() {
    // GIVEN a post over-padded as SAM's apachelog event is, a text spelled URL-safe, and
    // base64 that cannot be read unambiguously
    let event = FirehoseEvent {
        records: vec![
            record("0", &(B64.encode(r#"{"text":"good"}"#) + "==")),
            record("1", "eD4_"),
            record("2", "eA==eA=="),
            record("3", "not base64 at all!"),
        ],
        ..FirehoseEvent::default()
    };
    let service = Service::new(8);
    // WHEN transformed (non-JSON fails)
    let (resp, _) = transform(
        &service,
        &settings(),
        &event,
        Instant::now() + Duration::from_secs(60),
    )
    .await;
    // THEN the over-padded post is scored; the text fails with its bytes re-encoded canonically;
    // the unreadable ones fail with empty data, never their invalid text
    let r = &resp.records;
    assert_eq!(r[0].result, RecordResult::Ok);
    let post: Value = serde_json::from_slice(&B64.decode(&r[0].data).unwrap()).unwrap();
    assert_eq!(post["sentiment"]["label"], "POSITIVE");
    assert_eq!(
        (r[1].result, r[1].data.as_str()),
        (RecordResult::ProcessingFailed, "eD4/")
    );
    assert_eq!(
        (r[2].result, r[2].data.as_str()),
        (RecordResult::ProcessingFailed, "")
    );
    assert_eq!(
        (r[3].result, r[3].data.as_str()),
        (RecordResult::ProcessingFailed, "")
    );
}

#[tokio::test(start_paused = true)]
async fn throttling_is_retried_while_time_remains_not_by_count() {
    // GIVEN 3 attempts allowed per batch and a service that throttles its first 40 calls
    let mut service = Service::new(8);
    service.throttle_first = 40;
    let event = posts(20);
    let start = Instant::now();
    // WHEN transformed with a minute left
    let (resp, summary) = transform(
        &service,
        &settings(),
        &event,
        start + Duration::from_secs(60),
    )
    .await;
    // THEN every record is labelled, well past 3 attempts per batch, before the deadline
    assert!(labels(&resp).iter().all(Value::is_string), "{summary:?}");
    assert_eq!(summary.sentiment_errors, 0);
    assert!(summary.throttled >= 40, "{summary:?}");
    assert!(start.elapsed() < Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn throttling_for_ever_ends_at_the_deadline_with_every_record_answered() {
    // GIVEN a service that throttles every call, and 20 s left
    let mut service = Service::new(8);
    service.throttle_first = usize::MAX;
    let event = posts(10);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(20);
    // WHEN transformed
    let (resp, summary) = transform(&service, &settings(), &event, deadline).await;
    // THEN it kept trying until the deadline (not 3 attempts), then delivered each record marked
    assert!(Instant::now() <= deadline + Duration::from_millis(1));
    assert!(
        start.elapsed() >= Duration::from_secs(15),
        "{:?}",
        start.elapsed()
    );
    assert!(summary.sentiment_calls > 2 * 3, "{summary:?}");
    assert!(labels(&resp).iter().all(Value::is_null));
    assert_eq!(resp.records.len(), 10);
}

#[tokio::test(start_paused = true)]
async fn an_answer_never_valid_is_asked_again_at_most_max_attempts_counted_apart_from_throttles() {
    // GIVEN a service that throttles its first 10 calls, and one post it never answers validly
    let mut service = Service::new(8);
    service.throttle_first = 10;
    service.invalid = "cursed";
    let mut event = posts(1);
    event
        .records
        .push(record("x", &B64.encode(r#"{"text":"cursed post"}"#)));
    // WHEN transformed with plenty of time
    let (resp, summary) = transform(
        &service,
        &settings(),
        &event,
        Instant::now() + Duration::from_secs(600),
    )
    .await;
    // THEN the cursed post is given up after 3 re-asks (the throttles did not use them up), and
    // the other post is labelled
    let l = labels(&resp);
    assert_eq!(l[0], "POSITIVE");
    assert!(l[1].is_null());
    let v: Value = serde_json::from_slice(&B64.decode(&resp.records[1].data).unwrap()).unwrap();
    let why = v["sentiment"]["error"].as_str().unwrap();
    assert!(why.contains("INVALID_RESULT"), "{why}");
    assert_eq!(summary.throttled, 10);
    assert_eq!(summary.sentiment_calls, 10 + 3, "{summary:?}");
}

#[tokio::test(start_paused = true)]
async fn calls_in_flight_adapt_to_the_services_capacity() {
    // GIVEN a service that takes 2 calls at a time, a ceiling of 16, and 400 posts (80 calls)
    let service = Service::new(2);
    let s = TransformSettings {
        concurrency: 16,
        ..settings()
    };
    let event = posts(400);
    // WHEN transformed
    let (resp, summary) = transform(
        &service,
        &s,
        &event,
        Instant::now() + Duration::from_secs(300),
    )
    .await;
    // THEN every post is labelled, the limit came down to the capacity, and few calls were
    // throttled (hammering at 16 would have had most throttled)
    assert!(labels(&resp).iter().all(Value::is_string), "{summary:?}");
    assert!(summary.concurrency_low <= 2, "{summary:?}");
    let calls = service.calls.load(Ordering::SeqCst);
    let throttled = service.throttled.load(Ordering::SeqCst);
    assert!(throttled * 2 < calls, "{throttled} of {calls} throttled");
}
