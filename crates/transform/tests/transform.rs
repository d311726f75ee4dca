//! The transform of one Firehose batch, over a scriptable in-memory analyzer.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ks_transform::language::LanguageDetection;
use ks_transform::record::{FirehoseEvent, FirehoseRecord, RecordResult};
use ks_transform::sentiment::{
    Analysis, BatchOutcome, CallError, DocError, Label, Scores, Sentiment, SentimentAnalyzer,
};
use ks_transform::text::Pointer;
use ks_transform::transform::{
    NoTextPolicy, NonJsonPolicy, OnSentimentError, TransformSettings, transform,
};
use proptest::prelude::*;
use serde_json::Value;
use tokio::time::Instant;

/// Scores "good" texts POSITIVE, others NEUTRAL; fails the calls it is told to.
#[derive(Default)]
struct Fake {
    script: Mutex<VecDeque<CallError>>,
    calls: AtomicUsize,
    batches: Mutex<Vec<(String, Vec<String>)>>,
    latency: Duration,
    languages: Option<Vec<&'static str>>,
}

impl Fake {
    fn failing(errors: Vec<CallError>) -> Self {
        Fake {
            script: Mutex::new(errors.into()),
            ..Fake::default()
        }
    }
}

impl SentimentAnalyzer for Fake {
    fn model(&self) -> &'static str {
        "fake"
    }
    fn supports_language(&self, language: &str) -> bool {
        self.languages
            .as_ref()
            .is_none_or(|l| l.contains(&language))
    }
    fn max_batch_documents(&self) -> usize {
        25
    }
    fn is_remote(&self) -> bool {
        true
    }
    async fn analyze(&self, language: &str, texts: &[&str]) -> Analysis {
        self.answer(language, texts).await.into()
    }
}

impl Fake {
    /// The scripted answer: a queued error first, else a result per text.
    async fn answer(&self, language: &str, texts: &[&str]) -> BatchOutcome {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.batches.lock().unwrap().push((
            language.to_owned(),
            texts.iter().map(|t| t.to_string()).collect(),
        ));
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        if let Some(e) = self.script.lock().unwrap().pop_front() {
            return Err(e);
        }
        Ok(texts
            .iter()
            .map(|t| {
                if t.contains("undocumentable") {
                    return Err(DocError {
                        code: "INVALID_REQUEST".into(),
                        message: "bad doc".into(),
                        retryable: false,
                        service_failure: false,
                    });
                }
                let label = if t.contains("good") {
                    Label::Positive
                } else {
                    Label::Neutral
                };
                Ok(Sentiment {
                    label,
                    scores: Scores {
                        positive: 0.75,
                        negative: 0.125,
                        neutral: 0.125,
                        mixed: 0.0,
                    },
                })
            })
            .collect())
    }
}

fn record(id: &str, payload: &[u8]) -> FirehoseRecord {
    FirehoseRecord {
        record_id: id.into(),
        data: Some(B64.encode(payload)),
        ..FirehoseRecord::default()
    }
}

fn event(records: Vec<FirehoseRecord>) -> FirehoseEvent {
    FirehoseEvent {
        records,
        ..FirehoseEvent::default()
    }
}

fn later() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

fn decoded(data: &str) -> String {
    String::from_utf8(B64.decode(data).unwrap()).unwrap()
}

#[tokio::test]
async fn adds_sentiment_at_the_end_and_keeps_the_original_bytes() {
    // GIVEN a post with odd formatting, a big integer and escapes
    let payload = br#"{"id":123456789012345678901,"text":"a good day \ud83d\ude00","n":1.0E2}"#;
    let fake = Fake::default();
    // WHEN transformed
    let (resp, summary) = transform(
        &fake,
        &TransformSettings::default(),
        &event(vec![record("r1", payload)]),
        later(),
    )
    .await;
    // THEN the bytes are kept, the field is last, and one newline ends the line
    let r = &resp.records[0];
    assert_eq!(r.result, RecordResult::Ok);
    assert_eq!(
        decoded(&r.data),
        r#"{"id":123456789012345678901,"text":"a good day \ud83d\ude00","n":1.0E2,"sentiment":{"label":"POSITIVE","scores":{"positive":0.75,"negative":0.125,"neutral":0.125,"mixed":0.0},"model":"fake"}}"#
            .to_owned()
            + "\n"
    );
    assert_eq!(
        (summary.ok, summary.texts_analysed, summary.sentiment_calls),
        (1, 1, 1)
    );
    assert_eq!(summary.billed_units, 3);
}

#[tokio::test]
async fn every_failure_kind_fails_alone_with_its_neighbours_delivered() {
    // GIVEN one good record between every kind of bad one
    let deep = format!(
        "{{\"text\":\"x\",\"a\":{}{}}}",
        "[".repeat(300),
        "]".repeat(300)
    );
    let mut records = vec![
        record("ok1", br#"{"text":"good"}"#),
        FirehoseRecord {
            record_id: "b64".into(),
            data: Some("%%%not base64".into()),
            ..Default::default()
        },
        FirehoseRecord {
            record_id: "nodata".into(),
            data: None,
            ..Default::default()
        },
        record("utf8", b"{\"text\":\"\xff\xfe\"}"),
        record("notjson", b"hello world"),
        record("array", b"[1,2]"),
        record("deep", deep.as_bytes()),
    ];
    records.push(record("ok2", br#"{"text":"fine"}"#));
    let fake = Fake::default();
    // WHEN transformed
    let (resp, summary) = transform(
        &fake,
        &TransformSettings::default(),
        &event(records),
        later(),
    )
    .await;
    // THEN ids come back in order, the good ones Ok, every bad one ProcessingFailed
    let got: Vec<(&str, RecordResult)> = resp
        .records
        .iter()
        .map(|r| (r.record_id.as_str(), r.result))
        .collect();
    use RecordResult::*;
    assert_eq!(
        got,
        [
            ("ok1", Ok),
            ("b64", ProcessingFailed),
            ("nodata", ProcessingFailed),
            ("utf8", ProcessingFailed),
            ("notjson", ProcessingFailed),
            ("array", ProcessingFailed),
            ("deep", ProcessingFailed),
            ("ok2", Ok)
        ]
    );
    // Failed records carry their original payload back, canonical base64; one that is not
    // base64 at all carries nothing (its invalid text is never echoed).
    assert_eq!(resp.records[1].data, "");
    assert_eq!(decoded(&resp.records[4].data), "hello world");
    assert_eq!((summary.ok, summary.failed, summary.records_in), (2, 6, 8));
}

#[tokio::test]
async fn non_json_can_pass_through_unchanged() {
    let settings = TransformSettings {
        non_json: NonJsonPolicy::PassThrough,
        ..Default::default()
    };
    let records = vec![
        record("a", b"plain text"),
        record("b", b"[1]\n"),
        record("c", b"\xff"),
    ];
    let (resp, summary) = transform(&Fake::default(), &settings, &event(records), later()).await;
    assert!(resp.records.iter().all(|r| r.result == RecordResult::Ok));
    // Byte for byte as they came: nothing appended.
    assert_eq!(decoded(&resp.records[0].data), "plain text");
    assert_eq!(decoded(&resp.records[1].data), "[1]\n");
    assert_eq!(B64.decode(&resp.records[2].data).unwrap(), b"\xff");
    assert_eq!(summary.passed_through, 3);
}

#[tokio::test]
async fn records_without_text_are_delivered_unchanged_or_dropped() {
    let records = vec![
        record("a", br#"{"text":""}"#),
        record("b", br#"{"user":"x"}"#),
        record("c", br#"{"text":7}"#),
    ];
    let (resp, summary) = transform(
        &Fake::default(),
        &TransformSettings::default(),
        &event(records.clone()),
        later(),
    )
    .await;
    assert!(resp.records.iter().all(|r| r.result == RecordResult::Ok));
    assert_eq!(decoded(&resp.records[1].data), "{\"user\":\"x\"}\n");
    assert_eq!((summary.no_text, summary.sentiment_calls), (3, 0));

    let settings = TransformSettings {
        no_text: NoTextPolicy::Drop,
        ..Default::default()
    };
    let (resp, summary) = transform(&Fake::default(), &settings, &event(records), later()).await;
    assert!(
        resp.records
            .iter()
            .all(|r| r.result == RecordResult::Dropped)
    );
    assert_eq!(summary.dropped, 3);
}

#[tokio::test]
async fn a_record_without_a_language_tag_is_grouped_by_its_identified_language() {
    // GIVEN an analyzer of en, pt and de, a tagged record, and two untagged ones: a long
    // Portuguese text and a two-word one the identifier cannot be sure of
    let pt = "Hoje o dia está lindo e eu estou muito feliz com a minha família e os meus amigos";
    let records = vec![
        record("tagged", br#"{"text":"Guten Morgen zusammen","lang":"de"}"#),
        record("pt", format!(r#"{{"text":"{pt}"}}"#).as_bytes()),
        record("short", br#"{"text":"ok sim"}"#),
    ];
    let settings = TransformSettings {
        language_pointers: Pointer::parse_list("/lang").unwrap(),
        ..Default::default()
    };
    let fake = Fake {
        languages: Some(vec!["en", "pt", "de"]),
        ..Fake::default()
    };
    // WHEN transformed with the default (reliable) identification
    let (_, summary) = transform(&fake, &settings, &event(records.clone()), later()).await;
    // THEN the tag decides the first, the identifier the second, the default language the third
    let mut batches: Vec<(String, Vec<String>)> = fake.batches.lock().unwrap().clone();
    batches.sort();
    let expected = [
        ("de".to_owned(), vec!["Guten Morgen zusammen".to_owned()]),
        ("en".to_owned(), vec!["ok sim".to_owned()]),
        ("pt".to_owned(), vec![pt.to_owned()]),
    ];
    assert_eq!(batches, expected);
    assert_eq!(summary.languages_identified, 1);

    // AND with identification off, every untagged text is in the default language
    let fake = Fake {
        languages: Some(vec!["en", "pt", "de"]),
        ..Fake::default()
    };
    let off = TransformSettings {
        language_detection: LanguageDetection::Off,
        ..settings
    };
    let (_, summary) = transform(&fake, &off, &event(records), later()).await;
    let languages: Vec<String> = fake
        .batches
        .lock()
        .unwrap()
        .iter()
        .map(|b| b.0.clone())
        .collect();
    assert!(
        languages.iter().all(|l| l == "de" || l == "en"),
        "{languages:?}"
    );
    assert_eq!(summary.languages_identified, 0);
}

#[tokio::test]
async fn identical_texts_are_sent_once_and_batches_respect_language_and_size() {
    // GIVEN 60 records with 30 distinct English texts, and 2 Spanish ones, languages by pointer
    let mut records = Vec::new();
    for i in 0..60 {
        records.push(record(
            &format!("en{i}"),
            format!(r#"{{"text":"text {}","lang":"en-US"}}"#, i % 30).as_bytes(),
        ));
    }
    records.push(record("es", br#"{"text":"hola","lang":"es"}"#));
    records.push(record("sv", br#"{"text":"hej","lang":"sv"}"#));
    records.push(record("nolang", br#"{"text":"text 0"}"#));
    let settings = TransformSettings {
        language_pointers: Pointer::parse_list("/language,/lang").unwrap(),
        ..Default::default()
    };
    let fake = Fake::default();
    // WHEN transformed
    let (resp, summary) = transform(&fake, &settings, &event(records), later()).await;
    // THEN 30 English texts go in 2 calls (25 + 5), Spanish in its own, Swedish (no backend reads it) is not sent
    let mut batches: Vec<(String, usize)> = fake
        .batches
        .lock()
        .unwrap()
        .iter()
        .map(|(l, t)| (l.clone(), t.len()))
        .collect();
    batches.sort();
    assert_eq!(
        batches,
        [
            ("en".to_owned(), 5),
            ("en".to_owned(), 25),
            ("es".to_owned(), 1)
        ]
    );
    assert_eq!(
        summary.deduplicated, 31,
        "30 repeats plus the record without a language"
    );
    assert_eq!(summary.unsupported_language, 1);
    assert_eq!(summary.texts_analysed, 31);
    // The Swedish record is delivered without sentiment; every other record has it.
    for r in &resp.records {
        let line = decoded(&r.data);
        assert_eq!(
            line.contains("\"sentiment\""),
            r.record_id != "sv",
            "{line}"
        );
    }
}

#[tokio::test]
async fn long_texts_are_truncated_on_a_character_boundary() {
    let text = "é".repeat(4_000); // 8,000 bytes
    let payload = serde_json::json!({ "text": text }).to_string();
    let fake = Fake::default();
    let settings = TransformSettings {
        max_document_bytes: 1_001,
        ..Default::default()
    };
    transform(
        &fake,
        &settings,
        &event(vec![record("a", payload.as_bytes())]),
        later(),
    )
    .await;
    let sent = &fake.batches.lock().unwrap()[0].1[0];
    assert_eq!(sent.len(), 1_000);
    assert_eq!(sent.chars().count(), 500);
}

#[tokio::test(start_paused = true)]
async fn throttling_is_retried_until_it_succeeds() {
    // GIVEN an analyzer that throttles twice, then answers
    let fake = Fake::failing(vec![
        CallError::Throttled("slow down".into()),
        CallError::Transient("500".into()),
    ]);
    let (resp, summary) = transform(
        &fake,
        &TransformSettings::default(),
        &event(vec![record("a", br#"{"text":"good"}"#)]),
        later(),
    )
    .await;
    // THEN the record gets its sentiment after two retries
    assert!(decoded(&resp.records[0].data).contains("POSITIVE"));
    assert_eq!(
        (
            summary.sentiment_calls,
            summary.retries,
            summary.sentiment_errors
        ),
        (3, 2, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn permanent_errors_are_not_retried_and_marked_or_failed_by_policy() {
    let input = event(vec![record("a", br#"{"text":"good","sentiment":"old"}"#)]);
    // GIVEN a permanent failure and the default policy
    let fake = Fake::failing(vec![CallError::Permanent("AccessDenied".into())]);
    let (resp, summary) = transform(&fake, &TransformSettings::default(), &input, later()).await;
    // THEN one call, and the record is delivered with an error marker replacing the old field
    assert_eq!(summary.sentiment_calls, 1);
    let line = decoded(&resp.records[0].data);
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["sentiment"]["label"], Value::Null);
    assert!(
        v["sentiment"]["error"]
            .as_str()
            .unwrap()
            .contains("AccessDenied")
    );
    assert_eq!(line.matches("\"sentiment\"").count(), 1);
    assert_eq!(resp.records[0].result, RecordResult::Ok);

    // GIVEN the fail policy THEN the record is ProcessingFailed
    let settings = TransformSettings {
        on_sentiment_error: OnSentimentError::Fail,
        ..Default::default()
    };
    let fake = Fake::failing(vec![CallError::Permanent("AccessDenied".into())]);
    let (resp, _) = transform(&fake, &settings, &input, later()).await;
    assert_eq!(resp.records[0].result, RecordResult::ProcessingFailed);
}

#[tokio::test(start_paused = true)]
async fn throttling_is_retried_past_the_attempt_limit_while_time_remains() {
    // GIVEN 6 attempts allowed and a service that throttles 20 calls in a row
    let errors = (0..20)
        .map(|_| CallError::Throttled("busy".into()))
        .collect();
    let fake = Fake::failing(errors);
    // WHEN transformed with time to spare
    let (resp, summary) = transform(
        &fake,
        &TransformSettings::default(),
        &event(vec![record("a", br#"{"text":"x"}"#)]),
        later(),
    )
    .await;
    // THEN the throttles are not counted: the 21st call labels the record
    assert_eq!(summary.sentiment_calls, 21);
    assert_eq!(summary.throttled, 20);
    assert_eq!(summary.sentiment_errors, 0);
    assert!(decoded(&resp.records[0].data).contains("\"label\":\"NEUTRAL\""));
}

#[tokio::test(start_paused = true)]
async fn never_works_past_the_deadline() {
    // GIVEN calls that take 400 ms and always throttle, and 1 s to the deadline
    let errors = (0..50)
        .map(|_| CallError::Throttled("busy".into()))
        .collect();
    let fake = Fake {
        latency: Duration::from_millis(400),
        ..Fake::failing(errors)
    };
    let start = Instant::now();
    let deadline = start + Duration::from_secs(1);
    let (resp, summary) = transform(
        &fake,
        &TransformSettings::default(),
        &event(vec![record("a", br#"{"text":"x"}"#)]),
        deadline,
    )
    .await;
    // THEN it gives up in time and the record is still answered
    assert!(
        Instant::now() <= deadline,
        "finished {:?} after start",
        Instant::now() - start
    );
    assert_eq!(resp.records.len(), 1);
    assert_eq!(summary.sentiment_errors, 1);
}

#[tokio::test(start_paused = true)]
async fn slow_calls_time_out_and_are_retried() {
    let fake = Fake {
        latency: Duration::from_secs(30),
        ..Fake::default()
    };
    let settings = TransformSettings {
        call_timeout: Duration::from_millis(200),
        ..Default::default()
    };
    // GIVEN calls that never answer within their 200 ms limit WHEN transformed
    let start = Instant::now();
    let deadline = later();
    let (resp, summary) = transform(
        &fake,
        &settings,
        &event(vec![record("a", br#"{"text":"x"}"#)]),
        deadline,
    )
    .await;
    // THEN each timeout is retried (not counted against the 6 attempts) until the deadline
    assert!(summary.sentiment_calls > 6, "{summary:?}");
    assert_eq!(summary.sentiment_errors, 1);
    assert!(Instant::now() <= deadline && start.elapsed() > Duration::from_secs(1));
    assert!(decoded(&resp.records[0].data).contains("TIMEOUT"));
}

#[tokio::test]
async fn per_document_errors_affect_only_their_record() {
    let records = vec![
        record("a", br#"{"text":"good"}"#),
        record("b", br#"{"text":"undocumentable"}"#),
    ];
    let (resp, summary) = transform(
        &Fake::default(),
        &TransformSettings::default(),
        &event(records),
        later(),
    )
    .await;
    assert!(decoded(&resp.records[0].data).contains("POSITIVE"));
    assert!(decoded(&resp.records[1].data).contains("INVALID_REQUEST: bad doc"));
    assert_eq!(
        summary.sentiment_calls, 1,
        "a document error is not retried"
    );
}

#[tokio::test]
async fn partition_keys_carry_the_label_or_none() {
    let settings = TransformSettings {
        partition_keys: true,
        ..Default::default()
    };
    let records = vec![
        record("a", br#"{"text":"good"}"#),
        record("b", br#"{"x":1}"#),
        record("c", b"nope"),
    ];
    let (resp, _) = transform(&Fake::default(), &settings, &event(records), later()).await;
    let keys: Vec<Option<String>> = resp
        .records
        .iter()
        .map(|r| {
            r.metadata
                .as_ref()
                .map(|m| m.partition_keys["sentiment"].clone())
        })
        .collect();
    assert_eq!(keys, [Some("POSITIVE".into()), Some("NONE".into()), None]);
}

#[tokio::test]
async fn the_response_never_exceeds_the_limit() {
    // GIVEN 10 records of ~1 KB and a 6 KB response ceiling
    let text = "good ".repeat(200);
    let records: Vec<_> = (0..10)
        .map(|i| {
            record(
                &format!("r{i}"),
                format!(r#"{{"text":"{text}{i}"}}"#).as_bytes(),
            )
        })
        .collect();
    let settings = TransformSettings {
        max_response_bytes: 6_000,
        ..Default::default()
    };
    let (resp, summary) = transform(&Fake::default(), &settings, &event(records), later()).await;
    // THEN the serialised response fits, every record is answered, the overflow is failed
    let size = serde_json::to_vec(&resp).unwrap().len();
    assert!(size <= 6_000, "{size}");
    assert_eq!(resp.records.len(), 10);
    assert!(summary.over_response_limit > 0);
    assert_eq!(summary.ok + summary.failed, 10);
    let first_failed = resp
        .records
        .iter()
        .position(|r| r.result == RecordResult::ProcessingFailed)
        .unwrap();
    assert!(
        resp.records[first_failed..]
            .iter()
            .all(|r| r.result == RecordResult::ProcessingFailed)
    );
}

#[tokio::test]
async fn a_payload_ending_in_a_newline_gets_no_second_one() {
    let (resp, _) = transform(
        &Fake::default(),
        &TransformSettings::default(),
        &event(vec![record("a", b"{\"text\":\"good\"}\n")]),
        later(),
    )
    .await;
    let line = decoded(&resp.records[0].data);
    assert!(line.ends_with("}\n") && !line.ends_with("\n\n"), "{line:?}");
}

#[tokio::test]
async fn a_pretty_printed_payload_becomes_exactly_one_line_and_nothing_else_changes() {
    // GIVEN payloads with line breaks between tokens (CRLF and LF), an escaped newline inside
    // a string, with a text to score and without one
    let scored = b"{\r\n  \"text\": \"so good\",\r\n  \"note\": \"a\\nb\",\n  \"n\": 1.50\n}\n";
    let unscored = b"{\n  \"id\": 12345678901234567890123,\n  \"tags\": [\n    \"x\"\n  ]\n}";
    let input = event(vec![record("a", scored), record("b", unscored)]);
    // WHEN transformed
    let (resp, _) = transform(
        &Fake::default(),
        &TransformSettings::default(),
        &input,
        later(),
    )
    .await;
    // THEN each is one line: the original bytes without their line breaks, then the member
    let a = decoded(&resp.records[0].data);
    let kept = "{  \"text\": \"so good\",  \"note\": \"a\\nb\",  \"n\": 1.50,\"sentiment\":{\"label\":\"POSITIVE\"";
    assert!(a.starts_with(kept), "{a:?}");
    assert!(a.ends_with("\"model\":\"fake\"}}\n"), "{a:?}");
    let b = decoded(&resp.records[1].data);
    assert_eq!(
        b,
        "{  \"id\": 12345678901234567890123,  \"tags\": [    \"x\"  ]}\n"
    );
    for line in [a, b] {
        assert_eq!(line.matches('\n').count(), 1, "{line:?}");
        assert!(!line.contains('\r'));
    }
}

fn arb_payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // Pretty-printed, as an http-json API or a backfilled file may send it.
        "[a-z !\n]{0,40}".prop_map(|t| serde_json::to_string_pretty(
            &serde_json::json!({ "text": t, "a": [1, {"b": null}] })
        )
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes()),
        "[a-z !]{0,40}".prop_map(|t| serde_json::json!({ "text": t }).to_string().into_bytes()),
        "\\PC{0,40}".prop_map(|t| serde_json::json!({ "text": t, "n": 1 })
            .to_string()
            .into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..40),
        // Repeated texts: records finished from an answer that came back while the batch was
        // still being read, and records waiting together for one answer.
        prop::sample::select(vec!["good", "so good", "meh"])
            .prop_map(|t| serde_json::json!({ "text": t }).to_string().into_bytes()),
        Just(b"[]".to_vec()),
        Just(b"{\"text\":\"good\",\"sentiment\":{}}".to_vec()),
    ]
}

fn arb_record() -> impl Strategy<Value = FirehoseRecord> {
    (arb_payload(), any::<bool>()).prop_map(|(payload, corrupt)| {
        let mut data = B64.encode(payload);
        if corrupt {
            data.push('*');
        }
        FirehoseRecord {
            record_id: String::new(),
            data: Some(data),
            ..Default::default()
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// For any mix of valid and invalid records, every recordId comes back exactly once, in
    /// order; every Ok record decodes to one newline-terminated line; nothing panics. Batches
    /// run past the 64 records after which the first calls go out.
    #[test]
    fn every_record_comes_back_exactly_once_in_order(mut records in proptest::collection::vec(arb_record(), 0..300)) {
        for (i, r) in records.iter_mut().enumerate() {
            r.record_id = format!("id-{i}");
        }
        let input = event(records);
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let (resp, summary) = rt.block_on(transform(&Fake::default(), &TransformSettings::default(), &input, later()));
        let ids: Vec<&str> = resp.records.iter().map(|r| r.record_id.as_str()).collect();
        let expected: Vec<&str> = input.records.iter().map(|r| r.record_id.as_str()).collect();
        prop_assert_eq!(ids, expected);
        prop_assert_eq!(summary.ok + summary.failed + summary.dropped, input.records.len() as u64);
        for (r, input) in resp.records.iter().zip(&input.records).filter(|(r, _)| r.result == RecordResult::Ok) {
            let bytes = B64.decode(&r.data).unwrap();
            prop_assert!(bytes.ends_with(b"\n"));
            prop_assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), 1);
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            let original: Value = serde_json::from_slice(&B64.decode(input.data.as_ref().unwrap()).unwrap()).unwrap();
            let has_text = original["text"].as_str().is_some_and(|t| !t.trim().is_empty());
            prop_assert_eq!(v["sentiment"].get("label").is_some(), has_text);
        }
    }
}

#[tokio::test]
async fn a_character_cap_bounds_what_each_long_text_bills() {
    // GIVEN two 2,000-character reviews (one of them multi-byte) and a 500-character cap
    let long_ascii = format!("good {}", "x".repeat(1_995));
    let long_utf8 = "é".repeat(2_000);
    let records = vec![
        record(
            "a",
            serde_json::json!({ "text": long_ascii })
                .to_string()
                .as_bytes(),
        ),
        record(
            "b",
            serde_json::json!({ "text": long_utf8 })
                .to_string()
                .as_bytes(),
        ),
    ];
    let capped = TransformSettings {
        max_document_chars: Some(500),
        max_document_bytes: 5_000,
        ..TransformSettings::default()
    };
    let fake = Fake::default();
    // WHEN transformed with and without the cap
    let (_, with_cap) = transform(&fake, &capped, &event(records.clone()), later()).await;
    let (_, without) = transform(
        &fake,
        &TransformSettings::default(),
        &event(records),
        later(),
    )
    .await;
    // THEN each capped text was sent as its first 500 characters, billed 5 units, not 20 and 25
    let sent = fake.batches.lock().unwrap()[0].1.clone();
    assert!(
        sent.iter().all(|t| t.chars().count() == 500),
        "{:?}",
        sent.iter().map(|t| t.chars().count()).collect::<Vec<_>>()
    );
    assert_eq!(with_cap.billed_units, 5 + 5);
    // (the é text is 4,000 bytes: under the 5,000-byte cap, so 2,000 characters too)
    assert_eq!(without.billed_units, 20 + 20);
    assert!((with_cap.estimated_cost_usd - 10.0 * 0.0001).abs() < 1e-12);
}

/// A record an Iceberg stack may see: any `op` (ours, another, none), with or without its key,
/// with or without text; or any bytes at all.
fn arb_routed_payload() -> impl Strategy<Value = Vec<u8>> {
    let op = prop::sample::select(vec![
        None,
        Some("create"),
        Some("update"),
        Some("delete"),
        Some("account"),
        Some("merge"),
    ]);
    let routed = (op, any::<bool>(), "[a-z ]{0,12}").prop_map(|(op, keyed, text)| {
        let mut v = serde_json::json!({ "text": text });
        if keyed {
            v["id"] = "at://did:plc:a/app.bsky.feed.post/1".into();
            v["did"] = "did:plc:a".into();
        }
        if let Some(op) = op {
            v["op"] = op.into();
        }
        v.to_string().into_bytes()
    });
    prop_oneof![3 => routed, 1 => proptest::collection::vec(any::<u8>(), 0..20)]
}

/// The table and operation the docs' table in `route` gives a payload; `None`: it must fail.
fn expected_route(payload: &[u8]) -> Option<(&'static str, &'static str)> {
    let v: Value = serde_json::from_slice(payload).ok()?;
    let (table, op, key) = match v.get("op").and_then(Value::as_str) {
        None | Some("create") => ("posts", "insert", "id"),
        Some("update") => ("posts", "update", "id"),
        Some("delete") => ("posts", "delete", "id"),
        Some("account") => ("account_purges", "insert", "did"),
        Some(_) => return None,
    };
    v.get(key)?.as_str().filter(|k| !k.is_empty())?;
    Some((table, op))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    /// On an Iceberg stack too, every recordId comes back exactly once, in order; each record
    /// is routed by its `op` to its table, or fails when no row could be matched by it.
    #[test]
    fn every_record_comes_back_exactly_once_routed_on_an_iceberg_stack(
        payloads in proptest::collection::vec(arb_routed_payload(), 0..200)
    ) {
        use ks_transform::route::{Destination, IcebergTables};
        let settings = TransformSettings {
            destination: Destination::Iceberg(IcebergTables {
                database: "lake".into(),
                posts: "posts".into(),
                purges: "account_purges".into(),
            }),
            ..TransformSettings::default()
        };
        let input = FirehoseEvent::of_payloads(&payloads);
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let (resp, summary) = rt.block_on(transform(&Fake::default(), &settings, &input, later()));
        let ids: Vec<&str> = resp.records.iter().map(|r| r.record_id.as_str()).collect();
        let expected: Vec<&str> = input.records.iter().map(|r| r.record_id.as_str()).collect();
        prop_assert_eq!(ids, expected);
        prop_assert_eq!(summary.ok + summary.failed + summary.dropped, payloads.len() as u64);
        for (r, payload) in resp.records.iter().zip(&payloads) {
            let wire = serde_json::to_value(r).unwrap();
            match expected_route(payload) {
                Some((table, op)) => {
                    prop_assert_eq!(r.result, RecordResult::Ok);
                    prop_assert_eq!(
                        &wire["metadata"],
                        &serde_json::json!({"otfMetadata": {"destinationDatabaseName": "lake",
                            "destinationTableName": table, "operation": op}})
                    );
                }
                None => {
                    prop_assert_eq!(r.result, RecordResult::ProcessingFailed);
                    prop_assert!(wire.get("metadata").is_none());
                }
            }
        }
    }
}
