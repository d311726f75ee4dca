//! Local AWS: the region and test credentials every local endpoint (moto, the stand-ins) takes,
//! for SDK clients ([`local_sdk_config!`](crate::local_sdk_config)) and for spawned binaries
//! ([`local_credentials`]). One copy, so a test never signs with credentials another refuses.

use std::process::Command;

pub const REGION: &str = "us-east-1";
pub const ACCESS_KEY_ID: &str = "AKIDLOCAL";
pub const SECRET_ACCESS_KEY: &str = "local-secret";

/// An SDK's config builder for the endpoint `url`: the latest behaviour, [`REGION`] and the
/// test credentials; the caller adds what its service needs, then builds. A macro because
/// every service's builder is its own type: `local_sdk_config!(aws_sdk_kinesis, url).build()`.
#[macro_export]
macro_rules! local_sdk_config {
    ($sdk:ident, $url:expr) => {
        $sdk::Config::builder()
            .behavior_version($sdk::config::BehaviorVersion::latest())
            .region($sdk::config::Region::new($crate::aws::REGION))
            .endpoint_url($url)
            .credentials_provider($sdk::config::Credentials::new(
                $crate::aws::ACCESS_KEY_ID,
                $crate::aws::SECRET_ACCESS_KEY,
                None,
                None,
                "test",
            ))
    };
}

/// An S3 client (of the caller's `aws_sdk_s3`) for the local endpoint `url`, path-style: local
/// endpoints have no per-bucket host names. `local_s3_client!(moto.url())`.
#[macro_export]
macro_rules! local_s3_client {
    ($url:expr) => {
        aws_sdk_s3::Client::from_conf(
            $crate::local_sdk_config!(aws_sdk_s3, $url)
                .force_path_style(true)
                .build(),
        )
    };
}

/// Gives a spawned binary [`REGION`] and the test credentials through its environment, as a
/// user or Lambda would.
pub fn local_credentials(cmd: &mut Command) -> &mut Command {
    cmd.env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
}

/// `binary` as a user runs it against local endpoints: an environment of `PATH`, [`REGION`] and
/// the test credentials only, and no AWS config files, so nothing on this machine leaks in.
pub fn user_command(binary: &str) -> Command {
    let mut cmd = Command::new(binary);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    local_credentials(&mut cmd);
    cmd
}

/// An awsJson1_1 error as Comprehend and Kinesis send it: `__type` and `message` in the body,
/// the type again in `x-amzn-errortype`.
pub fn json_error(
    status: axum::http::StatusCode,
    kind: &str,
    message: impl Into<String>,
) -> axum::response::Response {
    use axum::http::HeaderValue;
    use axum::response::IntoResponse as _;
    let body = serde_json::json!({"__type": kind, "message": message.into()});
    let mut resp = (status, body.to_string()).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(v) = HeaderValue::from_str(kind) {
        headers.insert("x-amzn-errortype", v);
    }
    resp
}

/// The awsJson1_1 envelope, checked in the order the services check it before reading a body:
/// the operation `target` in `X-Amz-Target`, the JSON content type, a signature. `Err` holds
/// the error type and message to answer with (HTTP 400).
pub fn check_json_envelope(
    headers: &axum::http::HeaderMap,
    target: &str,
) -> Result<(), (&'static str, String)> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let sent = header("x-amz-target");
    if sent != target {
        return Err((
            "UnknownOperationException",
            format!("unsupported target {sent:?}"),
        ));
    }
    if !header("content-type").starts_with("application/x-amz-json-1.1") {
        return Err((
            "SerializationException",
            "expected application/x-amz-json-1.1".into(),
        ));
    }
    if !headers.contains_key("authorization") {
        return Err((
            "MissingAuthenticationTokenException",
            "request is not signed".into(),
        ));
    }
    Ok(())
}
