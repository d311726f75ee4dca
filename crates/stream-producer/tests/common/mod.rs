//! What the binary's tests (`binary.rs`, `jetstream.rs`) share: the function spawned under the
//! Runtime API stand-in, its JSON log lines, and the cursor table in moto's DynamoDB.

use std::path::Path;
use std::process::Stdio;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use ks_testkit::emulator::{Killed, Moto};
use ks_testkit::local_sdk_config;
use ks_testkit::runtime_api::RuntimeApi;

/// The built binary, started as Lambda starts it against `api`, with `vars` (later ones win)
/// and its output in `log`.
pub fn spawn(api: &RuntimeApi, log: &Path, vars: &[(&str, &str)]) -> Killed {
    let log = std::fs::File::create(log).unwrap();
    let mut cmd = api.command(
        env!("CARGO_BIN_EXE_stream-producer"),
        "stream-producer",
        256,
    );
    cmd.stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .envs(vars.iter().copied());
    Killed(cmd.spawn().expect("the binary starts"))
}

/// The function's JSON log lines that contain `marker`, parsed, in order.
pub fn json_lines(logs: &str, marker: &str) -> Vec<serde_json::Value> {
    logs.lines()
        .filter(|l| l.contains(marker))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A cursor table `cursors` (key `source`) in moto's DynamoDB, and a client for it.
pub async fn cursor_table(moto: &Moto) -> aws_sdk_dynamodb::Client {
    let client = aws_sdk_dynamodb::Client::from_conf(
        local_sdk_config!(aws_sdk_dynamodb, moto.url()).build(),
    );
    let attribute = AttributeDefinition::builder()
        .attribute_name("source")
        .attribute_type(ScalarAttributeType::S)
        .build()
        .unwrap();
    let key = KeySchemaElement::builder()
        .attribute_name("source")
        .key_type(KeyType::Hash)
        .build()
        .unwrap();
    client
        .create_table()
        .table_name("cursors")
        .attribute_definitions(attribute)
        .key_schema(key)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    client
}
