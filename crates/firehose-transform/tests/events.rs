//! The handler driven by the sample events in `events/`, against the Comprehend stand-in.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use firehose_transform::TransformConfig;
use firehose_transform::{Analyzer, State};
use ks_sentiment::comprehend::ComprehendAnalyzer;
use ks_testkit::With as _;
use ks_testkit::comprehend::{Faults, StandIn};
use ks_testkit::local_sdk_config;
use ks_transform::record::{FirehoseEvent, FirehoseResponse, RecordResult};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;

fn sample(name: &str) -> String {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The function's state, as `main` keeps it: for the life of the process.
fn state(server: &StandIn, vars: &[(&str, &str)]) -> &'static State {
    let config = TransformConfig::from_lookup(ks_kernel::env::fixed(vars)).unwrap();
    let conf =
        ComprehendAnalyzer::configure(local_sdk_config!(aws_sdk_comprehend, server.url())).build();
    Box::leak(Box::new(State::new(
        Analyzer::Comprehend(ComprehendAnalyzer::new(
            aws_sdk_comprehend::Client::from_conf(conf),
        )),
        config,
    )))
}

/// The Comprehend stand-in, and a state reading the samples' texts (the long form first) and
/// languages.
async fn sample_state() -> (StandIn, &'static State) {
    let server = StandIn::start(Faults::default()).await.unwrap();
    let state = state(
        &server,
        &[
            ("TEXT_POINTERS", "/extended_tweet/full_text,/text"),
            ("LANGUAGE_POINTER", "/lang"),
        ],
    );
    (server, state)
}

/// The handler, driven as the runtime drives it: a `LambdaEvent` of the event's JSON with a
/// deadline 30 s away.
async fn run(
    state: &'static State,
    event: &str,
) -> (
    FirehoseEvent,
    FirehoseResponse,
    ks_transform::metrics::Summary,
) {
    let payload: FirehoseEvent = serde_json::from_str(event).unwrap();
    let mut ctx = Context::default();
    ctx.request_id = "req-1".to_owned();
    ctx.deadline = ks_kernel::deadline::now_ms() + 30_000;
    let (resp, summary) = state
        .handle_with_summary(LambdaEvent::new(payload.clone(), ctx))
        .await
        .unwrap();
    (payload, resp, summary)
}

fn line(data: &str) -> String {
    String::from_utf8(B64.decode(data).unwrap()).unwrap()
}

#[tokio::test]
async fn social_posts_all_come_back_with_sentiment_byte_exact() {
    // GIVEN the sample Firehose event of social posts from a Kinesis source
    let (server, state) = sample_state().await;
    // WHEN handled
    let (event, resp, summary) = run(state, &sample("firehose-social-posts.json")).await;
    // THEN every record is Ok, in order, the original bytes prefix the line, sentiment is last
    assert_eq!(resp.records.len(), event.records.len());
    for (input, output) in event.records.iter().zip(&resp.records) {
        assert_eq!(input.record_id, output.record_id);
        assert_eq!(output.result, RecordResult::Ok);
        let original =
            String::from_utf8(B64.decode(input.data.as_ref().unwrap()).unwrap()).unwrap();
        let out = line(&output.data);
        let head = &original[..original.len() - 1];
        assert!(out.starts_with(head), "original bytes kept");
        assert!(
            out[head.len()..].starts_with(",\"sentiment\":{\"label\":"),
            "{out}"
        );
        assert!(out.ends_with("\"model\":\"comprehend\"}}\n"));
    }
    assert_eq!(summary.texts_analysed, 20);
    // Six languages in the sample: one call each (all ≤ 25 documents).
    assert_eq!(summary.sentiment_calls, 7);
    assert_eq!(server.stats.calls(), 7);
    assert!(summary.billed_units >= 60);
    // The long-form text was used where present.
    assert!(line(&resp.records[3].data).contains("\"label\":\"POSITIVE\""));
}

#[tokio::test]
async fn edge_cases_each_get_the_documented_outcome() {
    // GIVEN the sample event with every failure kind
    let (server, state) = sample_state().await;
    // WHEN handled
    let (_, resp, summary) = run(state, &sample("firehose-edge-cases.json")).await;
    let by_id: HashMap<&str, (&RecordResult, String)> = resp
        .records
        .iter()
        .map(|r| {
            (
                r.record_id.as_str(),
                (
                    &r.result,
                    if r.result == RecordResult::Ok {
                        line(&r.data)
                    } else {
                        String::new()
                    },
                ),
            )
        })
        .collect();
    // THEN the broken ones fail alone
    for id in [
        "bad-base64",
        "bad-utf8",
        "not-json",
        "not-an-object",
        "too-deep",
    ] {
        assert_eq!(by_id[id].0, &RecordResult::ProcessingFailed, "{id}");
    }
    // AND the rest are delivered, with or without sentiment as documented
    let sentiment = |id: &str| -> Option<Value> {
        let v: Value = serde_json::from_str(&by_id[id].1).unwrap();
        v.get("sentiment").cloned()
    };
    for id in [
        "no-text",
        "blank-text",
        "non-string-text",
        "unsupported-language",
    ] {
        assert_eq!(by_id[id].0, &RecordResult::Ok, "{id}");
        assert_eq!(sentiment(id), None, "{id}");
    }
    for id in [
        "ok-plain",
        "already-has-sentiment",
        "ends-with-newline",
        "byte-exact",
        "huge-text",
        "nested-text",
    ] {
        assert_eq!(by_id[id].0, &RecordResult::Ok, "{id}");
        assert!(sentiment(id).unwrap()["label"].is_string(), "{id}");
    }
    assert_eq!(
        by_id["already-has-sentiment"]
            .1
            .matches("\"sentiment\"")
            .count(),
        1
    );
    assert!(
        by_id["ends-with-newline"].1.ends_with("}}\n")
            && !by_id["ends-with-newline"].1.ends_with("\n\n")
    );
    assert!(by_id["byte-exact"].1.starts_with(
        r#"{ "id" : 123456789012345678901234567890, "text" : "caf\u00e9 \"quoted\" \ud83d\ude00", "x": 1.50E+3,"sentiment":"#
    ));
    assert!(by_id["byte-exact"].1.ends_with("} }\n"));
    assert_eq!(sentiment("nested-text").unwrap()["label"], "POSITIVE");
    assert_eq!(
        (
            summary.failed,
            summary.no_text,
            summary.unsupported_language
        ),
        (5, 3, 1)
    );
    assert_eq!(
        server.stats.rejected(),
        0,
        "the 10,000-byte text was truncated before sending"
    );
}

#[tokio::test]
async fn our_response_is_what_aws_lambda_events_expects_and_our_events_are_real_shapes() {
    use aws_lambda_events::event::firehose::{KinesisFirehoseEvent, KinesisFirehoseResponse};
    let server = StandIn::start(Faults::default()).await.unwrap();
    let state = state(&server, &[("PARTITION_KEYS", "true")]);
    let social = sample("firehose-social-posts.json");
    // The sample is a real Firehose event shape: the crate's own model parses it.
    let theirs: KinesisFirehoseEvent = serde_json::from_str(&social).unwrap();
    assert_eq!(theirs.records.len(), 20);
    // That model fails the whole event on one bad record, which is why we parse records ourselves.
    assert!(
        serde_json::from_str::<KinesisFirehoseEvent>(&sample("firehose-edge-cases.json")).is_err()
    );
    let (_, resp, _) = run(state, &social).await;
    let parsed: KinesisFirehoseResponse =
        serde_json::from_slice(&serde_json::to_vec(&resp).unwrap()).unwrap();
    assert_eq!(parsed.records.len(), 20);
    assert_eq!(parsed.records[0].result.as_deref(), Some("Ok"));
    assert!(
        parsed.records[0]
            .metadata
            .partition_keys
            .contains_key("sentiment")
    );
}

#[tokio::test]
async fn the_fail_policy_sends_unscorable_records_to_processing_failed() {
    // GIVEN Comprehend always throttling, the fail policy, and 2 s of the 30 s deadline left
    // to work in (a margin of 28 s)
    let server = StandIn::start(Faults::with(|f| f.throttle_every = 1))
        .await
        .unwrap();
    let state = state(
        &server,
        &[
            ("ON_SENTIMENT_ERROR", "fail"),
            ("COMPREHEND_MAX_ATTEMPTS", "3"),
            ("COMPREHEND_BACKOFF_BASE_MS", "1"),
            ("COMPREHEND_BACKOFF_CAP_MS", "100"),
            ("DEADLINE_MARGIN_MS", "28000"),
            ("LANGUAGE_DETECTION", "off"),
        ],
    );
    let (event, resp, summary) = run(state, &sample("firehose-social-posts.json")).await;
    assert!(
        resp.records
            .iter()
            .all(|r| r.result == RecordResult::ProcessingFailed)
    );
    assert_eq!(summary.failed as usize, event.records.len());
    // Without a language pointer or identification all 20 texts are English: one call, and
    // throttling is not counted against the 3 attempts: it was retried until the deadline less the margin.
    assert!(server.stats.calls() > 3, "{}", server.stats.calls());
    assert_eq!(summary.retries, server.stats.calls() as u64 - 1);
    assert_eq!(summary.throttled, server.stats.calls() as u64);
}

#[tokio::test]
async fn the_lexicon_backend_scores_each_language_it_has_offline() {
    // GIVEN the lexicon backend (no endpoint at all)
    let vars = [
        ("SENTIMENT_BACKEND", "lexicon"),
        ("LANGUAGE_POINTER", "/lang"),
    ];
    let config = TransformConfig::from_lookup(ks_kernel::env::fixed(&vars)).unwrap();
    let state = Box::leak(Box::new(State::new(
        Analyzer::Lexicon(Box::new(ks_lexicon::Lexicon::new())),
        config,
    )));
    // WHEN the social posts are handled
    let (_, resp, summary) = run(state, &sample("firehose-social-posts.json")).await;
    // THEN each post in a language with an analyser gets that analyser's sentiment, named in
    // `model`; the others are delivered without it
    let mut scored: HashMap<String, usize> = HashMap::new();
    for r in &resp.records {
        assert_eq!(r.result, RecordResult::Ok);
        let v: Value = serde_json::from_str(&line(&r.data)).unwrap();
        let lang = v["lang"].as_str().unwrap();
        let model = ks_lexicon::LANGUAGES.iter().find(|(l, _)| *l == lang);
        if let Some((_, model)) = model {
            assert_eq!(v["sentiment"]["model"], *model);
            *scored.entry(lang.to_owned()).or_default() += 1;
        } else {
            assert!(v.get("sentiment").is_none());
        }
    }
    // (the event: 14 en, one each of es, de, fr, pt, ja, it)
    assert_eq!(scored["en"], 14);
    assert_eq!(scored["pt"], 1);
    let total: usize = scored.values().sum();
    assert_eq!(summary.unsupported_language as usize, 20 - total);
    assert_eq!(
        (summary.sentiment_calls, summary.billed_units),
        (0, 0),
        "nothing remote, nothing billed"
    );
    let first: Value = serde_json::from_str(&line(&resp.records[0].data)).unwrap();
    assert_eq!(
        first["sentiment"]["label"], "POSITIVE",
        "\"Great start to the day!\""
    );
    let total: f64 = ["positive", "negative", "neutral", "mixed"]
        .iter()
        .map(|k| first["sentiment"]["scores"][k].as_f64().unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-9);
}

/// The lexicon backend's state, with extra settings.
fn lexicon(vars: &[(&str, &str)]) -> &'static State {
    let mut all = vec![("SENTIMENT_BACKEND", "lexicon")];
    all.extend_from_slice(vars);
    let config = TransformConfig::from_lookup(ks_kernel::env::fixed(&all)).unwrap();
    Box::leak(Box::new(State::new(
        Analyzer::Lexicon(Box::new(ks_lexicon::Lexicon::new())),
        config,
    )))
}

#[tokio::test]
async fn every_firehose_event_sam_generates_is_answered_record_by_record() {
    // GIVEN the Firehose events `sam local generate-event kinesis …` writes (events/sam/),
    // whose metadata is shaped unlike our own (a numeric-string subsequenceNumber), and whose
    // data is plain text, log lines or gzip
    for name in [
        "kinesis-firehose",
        "streams-as-source",
        "cloudwatch-logs-processor",
        "apachelog",
        "syslog",
    ] {
        let json = sample(&format!("sam/{name}.json"));
        for (non_json, expected) in [
            ("fail", RecordResult::ProcessingFailed),
            ("pass", RecordResult::Ok),
        ] {
            // WHEN handled as the runtime hands it over
            let state = lexicon(&[("NON_JSON", non_json)]);
            let (event, resp, summary) = run(state, &json).await;
            // THEN the invocation succeeds and every record has its own answer, in order:
            // not JSON, so failed alone (or passed through unchanged with NON_JSON=pass)
            assert!(!event.records.is_empty(), "{name}");
            let ids: Vec<&str> = resp.records.iter().map(|r| r.record_id.as_str()).collect();
            let want: Vec<&str> = event.records.iter().map(|r| r.record_id.as_str()).collect();
            assert_eq!(ids, want, "{name}");
            for (r, input) in resp.records.iter().zip(&event.records) {
                let data = input.data.as_deref().unwrap();
                // Every answer is canonical base64.
                assert_eq!(B64.encode(B64.decode(&r.data).unwrap()), r.data, "{name}");
                // Read as leniently as is unambiguous (SAM's apachelog event is over-padded).
                let Ok(original) = ks_transform::payload::decode_lenient(data) else {
                    // Not base64 at all (SAM's CloudWatch Logs sample has such a record):
                    // failed alone whatever NON_JSON says, and its invalid text never echoed.
                    assert_eq!(
                        (r.result, r.data.as_str()),
                        (RecordResult::ProcessingFailed, ""),
                        "{name}"
                    );
                    continue;
                };
                assert_eq!(r.result, expected, "{name} NON_JSON={non_json}");
                // Passed through or failed, the bytes are the original ones, nothing appended.
                let answered = B64.decode(&r.data).unwrap();
                assert_eq!(answered, original, "{name} NON_JSON={non_json}");
            }
            assert_eq!(summary.records_in as usize, event.records.len());
        }
    }
}

#[tokio::test]
async fn the_firehose_docs_event_shape_is_scored_like_any_other() {
    // GIVEN an event shaped as the Firehose docs show a Kinesis source: an ISO arrival
    // timestamp and an empty subsequenceNumber in kinesisRecordMetadata
    let state = lexicon(&[]);
    // WHEN handled
    let (event, resp, summary) = run(state, &sample("firehose-docs-kinesis-source.json")).await;
    // THEN the metadata is read, and the record is scored as usual
    let meta = event.records[0].kinesis_record_metadata.as_ref().unwrap();
    assert_eq!(meta.approximate_arrival_timestamp, Some(1_335_205_543_511));
    assert_eq!(meta.subsequence_number, None);
    assert_eq!(resp.records[0].result, RecordResult::Ok);
    assert!(line(&resp.records[0].data).contains("\"label\":\"POSITIVE\""));
    assert_eq!(summary.texts_analysed, 1);
}

#[tokio::test]
async fn the_msk_events_are_scored_and_answered_in_kafka_record_value() {
    // GIVEN our MSK-source event and one in AWS's shape (aws-lambda-java-libs' fixture), with
    // Comprehend's stand-in
    let server = StandIn::start(Faults::default()).await.unwrap();
    for (name, posts) in [
        ("firehose-msk-social-posts.json", 5),
        ("firehose-msk-aws-shape.json", 1),
    ] {
        let state = state(
            &server,
            &[("LANGUAGE_POINTER", "/lang"), ("PARTITION_KEYS", "true")],
        );
        // WHEN handled
        let (event, resp, summary) = run(state, &sample(name)).await;
        // THEN each record is answered once, in order, in kafkaRecordValue, canonical base64
        assert!(event.source_msk_arn.is_some(), "{name}");
        let json = serde_json::to_value(&resp).unwrap();
        let answers = json["records"].as_array().unwrap();
        assert_eq!(answers.len(), event.records.len(), "{name}");
        for (a, input) in answers.iter().zip(&event.records) {
            assert_eq!(a["recordId"], input.record_id.as_str());
            assert!(a.get("data").is_none(), "{name}: {a}");
            let value = a["kafkaRecordValue"].as_str().unwrap();
            assert_eq!(B64.encode(B64.decode(value).unwrap()), value);
        }
        // AND the JSON posts carry sentiment; the text one fails (NON_JSON=fail)
        let scored = resp
            .records
            .iter()
            .filter(|r| r.result == RecordResult::Ok && line(&r.data).contains("\"label\":\""))
            .count();
        assert_eq!(scored, posts, "{name}: {summary:?}");
        assert_eq!(
            summary.failed as usize,
            event.records.len() - posts,
            "{name}"
        );
        // AND the metadata was read, strings and numbers alike
        let m = event.records[0].msk_record_metadata.as_ref().unwrap();
        assert_eq!(m.partition_id.as_deref().map(str::len), Some(1), "{name}");
    }
}

#[test]
fn a_kinesis_stream_event_is_refused_as_not_a_firehose_event() {
    // GIVEN SAM's Kinesis Data Streams event (Lambda as a stream consumer), sent to the
    // transform by mistake
    let json = sample("sam/get-records.json");
    // WHEN the runtime reads it as the handler's event
    let err = serde_json::from_str::<FirehoseEvent>(&json).unwrap_err();
    // THEN the error names what is missing
    assert!(err.to_string().contains("missing field `records`"), "{err}");
}
