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

/// Starts the binary under `vars`, which must stop it: asserts it exited with a failure before
/// asking for work, and returns what it logged (stdout, then stderr).
async fn failed_start(api: &RuntimeApi, vars: &[(&str, &str)]) -> String {
    let child = spawn(api, vars);
    let output = tokio::task::spawn_blocking(move || {
        let mut child = child;
        let taken = std::mem::replace(&mut child.0, Command::new("true").spawn().unwrap());
        taken.wait_with_output()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(!output.status.success());
    assert!(api.first_next().is_none());
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

#[tokio::test]
async fn a_bad_setting_stops_the_cold_start_naming_the_variable() {
    // GIVEN an invalid setting
    let api = RuntimeApi::start(Duration::from_secs(60)).await.unwrap();
    // WHEN the function starts
    // THEN it exits before asking for work, with a log line naming the variable and the limit
    let logs = failed_start(&api, &[("MAX_DOCUMENT_BYTES", "9000")]).await;
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
        for (a, _, _) in answers_of(name, &input, &body) {
            assert!(a.get(field).is_some(), "{name}: {a}");
            println!("{name} {} {}", a["recordId"], a["result"]);
        }
    }
}

/// The field a record's payload travels in: `kafkaRecordValue` from an MSK source, else `data`.
fn payload_field(record: &serde_json::Value) -> &'static str {
    if record.get("kafkaRecordValue").is_some() {
        "kafkaRecordValue"
    } else {
        "data"
    }
}

/// The answer to `input`, held to what every sample gets: one answer a record, the same ids in
/// order, the payload in the field the source requires and not in the other, canonical base64.
/// Each answer with its input record and decoded payload.
fn answers_of(
    at: &str,
    input: &serde_json::Value,
    body: &[u8],
) -> Vec<(serde_json::Value, serde_json::Value, Vec<u8>)> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let resp: serde_json::Value = serde_json::from_slice(body).unwrap();
    let answers = resp["records"].as_array().unwrap();
    let inputs = input["records"].as_array().unwrap();
    assert_eq!(answers.len(), inputs.len(), "{at}");
    let mut out = Vec::new();
    for (a, i) in answers.iter().zip(inputs) {
        assert_eq!(a["recordId"], i["recordId"], "{at}");
        let field = payload_field(i);
        let other = if field == "data" {
            "kafkaRecordValue"
        } else {
            "data"
        };
        assert!(a.get(other).is_none(), "{at}: {a}");
        let value = a[field].as_str().unwrap_or_else(|| panic!("{at}: {a}"));
        let bytes = b64
            .decode(value)
            .unwrap_or_else(|e| panic!("{at}: {e}: {a}"));
        assert_eq!(b64.encode(&bytes), value, "{at}: not canonical");
        out.push((a.clone(), i.clone(), bytes));
    }
    out
}

/// Every file in `events/public/`: our values in the shape of a Firehose transformation fixture
/// that AWS's libraries and tools ship (`events/public/README.md` names each, and its quirk).
fn public_events() -> Vec<(String, Vec<u8>)> {
    let dir = format!("{}/../../events/public", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

#[tokio::test]
async fn the_binary_answers_every_public_fixture_shape_canonically_under_each_non_json_mode() {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    // The test's own reading of an input payload: padding ignored, so an over-padded fixture
    // (the blueprint's apachelog) is still compared byte for byte.
    let unpadded = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::RequireNone),
    );
    let events = public_events();
    assert!(events.len() >= 20, "events/public/ holds {}", events.len());
    for mode in ["pass", "fail"] {
        // GIVEN the binary (lexicon backend) with NON_JSON=<mode>
        let api = RuntimeApi::start(Duration::from_secs(60)).await.unwrap();
        let mut function = spawn(
            &api,
            &[("SENTIMENT_BACKEND", "lexicon"), ("NON_JSON", mode)],
        );
        // Its logs (a line per failed record) are drained, or a full pipe would stall it.
        let stdout = function.0.stdout.take().unwrap();
        let stderr = function.0.stderr.take().unwrap();
        for mut pipe in [
            Box::new(stdout) as Box<dyn std::io::Read + Send>,
            Box::new(stderr),
        ] {
            std::thread::spawn(move || std::io::copy(&mut pipe, &mut std::io::sink()));
        }
        for (name, event) in &events {
            let at = format!("{name} (NON_JSON={mode})");
            let bom = event.starts_with(b"\xEF\xBB\xBF");
            let input: serde_json::Value =
                serde_json::from_slice(&event[if bom { 3 } else { 0 }..]).unwrap();
            // WHEN the file's bytes, as they are, are invoked through the Runtime API
            let id = api.push(event.clone());
            let outcome = api.outcome(&id, Duration::from_secs(30)).await;
            if bom {
                // KNOWN GAP, reported on issue 22: a body that starts with a UTF-8 byte order
                // mark (aws-lambda-dotnet's kinesis-firehose-event.json has one) is refused by
                // lambda_runtime's deserialiser before the handler runs, so the invocation
                // fails. Firehose itself never sends one; its BOM-less twin
                // (aws-lambda-dotnet-blueprint-sample-event.json) gets every check below. When
                // the binary accepts it, this fails: then drop this branch.
                let Some(Outcome::Error(error)) = &outcome else {
                    panic!("{at}: the BOM is accepted now, drop this branch: {outcome:?}")
                };
                let error = String::from_utf8_lossy(error);
                assert!(
                    error.contains("expected value at line 1 column 1"),
                    "{at}: {error}"
                );
                println!("{at} invocation error (known gap): {error}");
                continue;
            }
            let Some(Outcome::Response(body)) = outcome else {
                panic!("{at}: no answer but {outcome:?}")
            };
            // THEN one answer per record, the same ids in order, a valid result, the payload in
            // the field the source requires, in canonical base64 …
            for (a, i, out) in answers_of(&at, &input, &body) {
                let result = a["result"].as_str().unwrap_or_default();
                assert!(
                    ["Ok", "Dropped", "ProcessingFailed"].contains(&result),
                    "{at}: {a}"
                );
                let field = payload_field(&i);
                // … and what each kind of payload gets (README, "What each kind of payload
                // gets"): a JSON object becomes one NDJSON line; anything else comes back byte
                // for byte, `Ok` when passed, `ProcessingFailed` when not
                let sent = i[field].as_str().unwrap().trim_end_matches('=');
                let payload = unpadded.decode(sent).unwrap();
                let is_object = serde_json::from_slice::<serde_json::Map<_, _>>(&payload).is_ok();
                if is_object {
                    assert_eq!(result, "Ok", "{at}: {a}");
                    assert!(out.ends_with(b"\n"), "{at}");
                    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1, "{at}");
                    serde_json::from_slice::<serde_json::Map<_, _>>(&out)
                        .unwrap_or_else(|e| panic!("{at}: {e}"));
                } else {
                    let expected = if mode == "pass" {
                        "Ok"
                    } else {
                        "ProcessingFailed"
                    };
                    assert_eq!(result, expected, "{at}: {a}");
                    assert_eq!(out, payload, "{at}: not the bytes that came");
                }
                println!("{at} {} {result}", a["recordId"]);
            }
        }
    }
}

#[tokio::test]
async fn on_an_iceberg_stack_the_binary_routes_each_record_in_firehoses_field_names() {
    // GIVEN the built binary told, as the template's Destination=iceberg tells it, where to route
    let api = RuntimeApi::start(Duration::from_secs(60)).await.unwrap();
    let _fn = spawn(
        &api,
        &[
            ("SENTIMENT_BACKEND", "lexicon"),
            ("LANGUAGE_POINTER", "/lang"),
            ("DESTINATION", "iceberg"),
            ("ICEBERG_DATABASE", "kinesis_sentiment_lake"),
            ("PARTITION_KEYS", "false"),
        ],
    );
    // WHEN the mixed sample event (post, edit, deletion, account, no text, not JSON) is invoked
    let event = std::fs::read(format!(
        "{}/../../events/firehose-iceberg-mixed.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let id = api.push(event);
    let Some(Outcome::Response(body)) = api.outcome(&id, Duration::from_secs(30)).await else {
        panic!("no answer")
    };
    // THEN the bytes on the wire route each record with exactly Firehose's three fields
    let wire: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let routes: Vec<(String, String, serde_json::Value)> = wire["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["recordId"].as_str().unwrap().to_owned(),
                r["result"].as_str().unwrap().to_owned(),
                r["metadata"].clone(),
            )
        })
        .collect();
    let to = |table: &str, operation: &str| {
        serde_json::json!({"otfMetadata": {"destinationDatabaseName": "kinesis_sentiment_lake",
            "destinationTableName": table, "operation": operation}})
    };
    let expected = [
        ("01-post", "Ok", to("posts", "insert")),
        ("02-edit", "Ok", to("posts", "update")),
        ("03-delete", "Ok", to("posts", "delete")),
        ("04-account", "Ok", to("account_purges", "insert")),
        ("05-no-text", "Ok", to("posts", "insert")),
        ("06-garbage", "ProcessingFailed", serde_json::Value::Null),
    ]
    .map(|(id, result, meta)| (id.to_owned(), result.to_owned(), meta));
    assert_eq!(routes, expected);
}

#[tokio::test]
async fn an_iceberg_stack_without_its_database_stops_the_cold_start_naming_it() {
    // GIVEN DESTINATION=iceberg and no ICEBERG_DATABASE
    let api = RuntimeApi::start(Duration::from_secs(60)).await.unwrap();
    // WHEN the function starts
    // THEN it exits before asking for work, naming the variable
    let vars = [("SENTIMENT_BACKEND", "lexicon"), ("DESTINATION", "iceberg")];
    let logs = failed_start(&api, &vars).await;
    assert!(
        logs.contains("ICEBERG_DATABASE") && logs.contains("required when DESTINATION=iceberg"),
        "{logs}"
    );
}
