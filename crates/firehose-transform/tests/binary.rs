//! The built binary, run as Lambda runs it: settings from the environment, the Comprehend
//! endpoint from `AWS_ENDPOINT_URL_COMPREHEND`, events through the Runtime API.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use ks_testkit::comprehend::{Faults, StandIn};
use ks_testkit::runtime_api::{Outcome, RuntimeApi};
use ks_transform::record::{FirehoseResponse, RecordResult};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(api: &RuntimeApi, vars: &[(&str, &str)]) -> Killed {
    let mut cmd = api.command(
        env!("CARGO_BIN_EXE_firehose-transform"),
        "firehose-transform",
        512,
    );
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    Killed(cmd.spawn().expect("the binary starts"))
}

#[tokio::test]
async fn the_binary_answers_a_firehose_event_through_the_runtime_api() {
    // GIVEN the stand-in reachable only through the standard endpoint variable
    let comprehend = StandIn::start(Faults::default()).await.unwrap();
    let api = RuntimeApi::start(Duration::from_secs(60)).await.unwrap();
    let _fn = spawn(
        &api,
        &[
            ("AWS_ENDPOINT_URL_COMPREHEND", &comprehend.url()),
            ("LANGUAGE_POINTER", "/lang"),
        ],
    );
    // WHEN the sample event is invoked
    let event = std::fs::read(format!(
        "{}/../../events/firehose-social-posts.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let id = api.push(event);
    let outcome = api
        .outcome(&id, Duration::from_secs(30))
        .await
        .expect("an answer");
    // THEN every record is answered Ok with sentiment from the stand-in
    let Outcome::Response(body) = outcome else {
        panic!("error: {outcome:?}")
    };
    let resp: FirehoseResponse = serde_json::from_slice(&body).unwrap();
    assert_eq!(resp.records.len(), 20);
    for r in &resp.records {
        assert_eq!(r.result, RecordResult::Ok);
        let line = base64::engine::general_purpose::STANDARD
            .decode(&r.data)
            .unwrap();
        assert!(
            String::from_utf8(line)
                .unwrap()
                .contains("\"model\":\"comprehend\"")
        );
    }
    assert_eq!(comprehend.stats.calls(), 7);
}

#[tokio::test]
async fn a_bad_setting_stops_the_cold_start_naming_the_variable() {
    // GIVEN an invalid setting
    let api = RuntimeApi::start(Duration::from_secs(60)).await.unwrap();
    let child = spawn(&api, &[("MAX_DOCUMENT_BYTES", "9000")]);
    // WHEN the function starts
    let output = tokio::task::spawn_blocking(move || {
        let mut child = child;
        let taken = std::mem::replace(&mut child.0, Command::new("true").spawn().unwrap());
        taken.wait_with_output()
    })
    .await
    .unwrap()
    .unwrap();
    // THEN it exits before asking for work, with a log line naming the variable and the limit
    assert!(!output.status.success());
    assert!(api.first_next().is_none());
    let logs = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(
        logs.contains("invalid MAX_DOCUMENT_BYTES=\\\"9000\\\": must be between 1 and 5000"),
        "{logs}"
    );
}

#[tokio::test]
async fn the_lexicon_backend_needs_no_aws_at_all() {
    let api = RuntimeApi::start(Duration::from_secs(60)).await.unwrap();
    let _fn = spawn(&api, &[("SENTIMENT_BACKEND", "lexicon")]);
    let id = api
        .push(br#"{"records":[{"recordId":"1","data":"eyJ0ZXh0IjoiSSBsb3ZlIGl0In0="}]}"#.to_vec());
    let Some(Outcome::Response(body)) = api.outcome(&id, Duration::from_secs(30)).await else {
        panic!("no answer")
    };
    let resp: FirehoseResponse = serde_json::from_slice(&body).unwrap();
    let line = base64::engine::general_purpose::STANDARD
        .decode(&resp.records[0].data)
        .unwrap();
    let line = String::from_utf8(line).unwrap();
    assert!(
        line.starts_with(r#"{"text":"I love it","sentiment":{"label":"POSITIVE""#),
        "{line}"
    );
}

#[tokio::test]
async fn the_binary_answers_every_public_and_msk_sample_event_canonically() {
    // GIVEN the binary (lexicon backend, NON_JSON=pass) and every Firehose sample event: ours
    // with an MSK source, AWS's MSK shape, and the SAM CLI's (over-padded apachelog, gzip
    // CloudWatch Logs data, text)
    let api = RuntimeApi::start(Duration::from_secs(60)).await.unwrap();
    let _fn = spawn(
        &api,
        &[("SENTIMENT_BACKEND", "lexicon"), ("NON_JSON", "pass")],
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    for (name, field) in [
        ("firehose-msk-social-posts.json", "kafkaRecordValue"),
        ("firehose-msk-aws-shape.json", "kafkaRecordValue"),
        ("firehose-docs-kinesis-source.json", "data"),
        ("firehose-edge-cases.json", "data"),
        ("sam/kinesis-firehose.json", "data"),
        ("sam/streams-as-source.json", "data"),
        ("sam/cloudwatch-logs-processor.json", "data"),
        ("sam/apachelog.json", "data"),
        ("sam/syslog.json", "data"),
    ] {
        let event = std::fs::read(format!(
            "{}/../../events/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let input: serde_json::Value = serde_json::from_slice(&event).unwrap();
        // WHEN invoked through the Runtime API
        let id = api.push(event);
        let Some(Outcome::Response(body)) = api.outcome(&id, Duration::from_secs(30)).await else {
            panic!("{name}: no answer")
        };
        // THEN one answer per record, same ids in order, the payload in the source's field and
        // canonical base64
        let resp: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let answers = resp["records"].as_array().unwrap();
        let inputs = input["records"].as_array().unwrap();
        assert_eq!(answers.len(), inputs.len(), "{name}");
        for (a, i) in answers.iter().zip(inputs) {
            assert_eq!(a["recordId"], i["recordId"], "{name}");
            let value = a[field].as_str().unwrap_or_else(|| panic!("{name}: {a}"));
            let other = if field == "data" {
                "kafkaRecordValue"
            } else {
                "data"
            };
            assert!(a.get(other).is_none(), "{name}: {a}");
            assert_eq!(b64.encode(b64.decode(value).unwrap()), value, "{name}");
            println!("{name} {} {}", a["recordId"], a["result"]);
        }
    }
}
