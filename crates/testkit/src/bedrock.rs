//! The stand-in for Amazon Bedrock Runtime's `Converse`.
//!
//! It speaks the real protocol (restJson1: `POST /model/{modelId}/converse`, the model id one
//! percent-encoded path segment, SigV4 with the signing name `bedrock`; errors as the
//! `x-amzn-ErrorType` header and a `{"message"}` body), checks the request's shape (system
//! text, one user message, the tool and its JSON schema, `toolChoice`, `maxTokens`,
//! temperature), and answers a `toolUse` with a label per post from the stand-ins' keyword rule
//! and `usage` counted at [`CHARS_PER_TOKEN`]. Faults are injected per call: throttling, a model
//! not ready, model timeouts, 503s, a text answer instead of the tool, a missing or duplicated
//! index, wrong types, `max_tokens` past a number of posts, access denied, and a post that trips
//! the content filter.

use crate::quota::Metered as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::comprehend::{keyword_label, label_scores};
use crate::serve;

/// A running stand-in; it stops when dropped. Its URL is `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`.
pub type StandIn = serve::StandIn<Faults>;

/// The characters one token is counted as, for `usage` (a common rule of thumb for English).
pub const CHARS_PER_TOKEN: usize = 4;
/// A post containing this is refused by the "content filter" (`stopReason: content_filtered`).
pub const FILTERED_MARKER: &str = "__bedrock_filtered__";

/// Faults to inject; each `_first` count applies to the first N calls, in the order below.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub latency: Duration,
    pub throttle_first: u64,
    pub not_ready_first: u64,
    pub model_timeout_first: u64,
    pub unavailable_first: u64,
    /// Answers text and `end_turn`, no tool call.
    pub text_answer_first: u64,
    /// Leaves the last post out of the results.
    pub missing_index_first: u64,
    /// Answers post 0 twice, with two labels.
    pub duplicate_index_first: u64,
    /// Answers scores as strings.
    pub wrong_types_first: u64,
    /// A call with more posts than this stops at `max_tokens` with a cut answer (0 = never).
    pub max_tokens_over_posts: usize,
    /// Every call is refused with `AccessDeniedException`.
    pub access_denied: bool,
    /// An account quota: a call beyond it answers `ThrottlingException` at once.
    pub quota: Option<crate::quota::Quota>,
}

/// What the server saw.
#[derive(Debug, Default)]
pub struct Stats {
    pub calls: AtomicU64,
    pub posts: AtomicU64,
    pub max_posts: AtomicU64,
    pub input_tokens: AtomicU64,
    pub output_tokens: AtomicU64,
    pub input_chars: AtomicU64,
    pub rejected: AtomicU64,
    /// Calls refused by the quota.
    pub throttled: AtomicU64,
    /// The last request's model id (decoded) and body.
    pub last: Mutex<Option<(String, Value)>>,
    bucket: std::sync::OnceLock<crate::quota::TokenBucket>,
}

crate::metered!(Stats);

impl Stats {
    pub fn get(a: &AtomicU64) -> u64 {
        a.load(Ordering::SeqCst)
    }
}

impl serve::Protocol for Faults {
    type Stats = Stats;
    fn router(self, stats: Arc<Stats>) -> Router {
        Router::new()
            .route("/model/{model_id}/converse", post(handle))
            .with_state(serve::Shared::new(self, stats))
    }
}

/// An error as Bedrock sends it: the type in the header, the message in the body.
fn error(status: u16, kind: &str, message: impl Into<String>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, json!({"message": message.into()}).to_string()).into_response();
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    let value = format!("{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/");
    if let Ok(v) = HeaderValue::from_str(&value) {
        h.insert("x-amzn-errortype", v);
    }
    resp
}

async fn handle(
    State(shared): State<Arc<serve::Shared<Faults>>>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let n = shared.stats.calls.fetch_add(1, Ordering::SeqCst) + 1;
    if shared.stats.over_quota(shared.faults.quota) {
        return error(
            429,
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
        );
    }
    let response = answer(&shared, n, &model_id, &headers, &body);
    if !shared.faults.latency.is_zero() {
        tokio::time::sleep(shared.faults.latency).await;
    }
    response
}

fn answer(
    shared: &serve::Shared<Faults>,
    n: u64,
    model_id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let stats = &shared.stats;
    if let Err(why) = check_signed(headers) {
        stats.rejected.fetch_add(1, Ordering::SeqCst);
        return error(403, "MissingAuthenticationTokenException", why);
    }
    let request = match check_request(body) {
        Ok(r) => r,
        Err(why) => {
            stats.rejected.fetch_add(1, Ordering::SeqCst);
            return error(400, "ValidationException", why);
        }
    };
    if let Ok(mut last) = stats.last.lock() {
        *last = Some((model_id.to_owned(), request.body.clone()));
    }
    if let Some(resp) = injected_error(&shared.faults, n) {
        return resp;
    }
    let posts = request.posts.len() as u64;
    stats.posts.fetch_add(posts, Ordering::SeqCst);
    stats.max_posts.fetch_max(posts, Ordering::SeqCst);
    let (content, stop) = tool_answer(&shared.faults, n, &request.posts);
    let out_chars = content.to_string().len();
    let (input, output) = (
        request.input_chars.div_ceil(CHARS_PER_TOKEN),
        out_chars.div_ceil(CHARS_PER_TOKEN),
    );
    stats
        .input_chars
        .fetch_add(request.input_chars as u64, Ordering::SeqCst);
    stats.input_tokens.fetch_add(input as u64, Ordering::SeqCst);
    stats
        .output_tokens
        .fetch_add(output as u64, Ordering::SeqCst);
    let body = json!({
        "output": {"message": {"role": "assistant", "content": [content]}},
        "stopReason": stop,
        "usage": {"inputTokens": input, "outputTokens": output, "totalTokens": input + output},
        "metrics": {"latencyMs": shared.faults.latency.as_millis() as u64},
    });
    let mut resp = (StatusCode::OK, body.to_string()).into_response();
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp
}

fn injected_error(f: &Faults, n: u64) -> Option<Response> {
    if f.access_denied {
        return Some(error(
            403,
            "AccessDeniedException",
            "You don't have access to the model with the specified model ID.",
        ));
    }
    let mut first = 0;
    for (count, status, kind) in [
        (f.throttle_first, 429, "ThrottlingException"),
        (f.not_ready_first, 429, "ModelNotReadyException"),
        (f.model_timeout_first, 408, "ModelTimeoutException"),
        (f.unavailable_first, 503, "ServiceUnavailableException"),
    ] {
        first += count;
        if n <= first {
            return Some(error(status, kind, format!("injected {kind} (call {n})")));
        }
    }
    None
}

/// A request that passed the checks: its posts (index, text) and the characters it sent.
struct Checked {
    body: Value,
    posts: Vec<(u64, String)>,
    input_chars: usize,
}

/// SigV4, for the signing name `bedrock` (not the endpoint prefix `bedrock-runtime`).
fn check_signed(headers: &HeaderMap) -> Result<(), String> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !auth.starts_with("AWS4-HMAC-SHA256 ") || !auth.contains("/bedrock/aws4_request") {
        return Err(format!(
            "not signed with SigV4 for the service bedrock: {auth:?}"
        ));
    }
    Ok(())
}

/// The checks a real Converse call passes: JSON, and shaped as our client sends it.
fn check_request(body: &[u8]) -> Result<Checked, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let system = v["system"][0]["text"]
        .as_str()
        .ok_or("system must hold one text block")?;
    let messages = v["messages"]
        .as_array()
        .ok_or("messages must be an array")?;
    let [message] = messages.as_slice() else {
        return Err(format!("expected one message, got {}", messages.len()));
    };
    if message["role"] != "user" {
        return Err("the message's role must be user".into());
    }
    let text = message["content"][0]["text"]
        .as_str()
        .ok_or("the message must hold one text block")?;
    let tool = check_tools(&v)?;
    let max_tokens = v["inferenceConfig"]["maxTokens"]
        .as_u64()
        .ok_or("inferenceConfig.maxTokens must be set")?;
    if v["inferenceConfig"]["temperature"].as_f64() != Some(0.0) {
        return Err("inferenceConfig.temperature must be 0".into());
    }
    let posts = read_posts(text)?;
    if max_tokens < posts.len() as u64 * 20 {
        return Err(format!(
            "maxTokens {max_tokens} is too small for {} posts",
            posts.len()
        ));
    }
    let input_chars = system.chars().count() + text.chars().count() + tool.chars().count();
    Ok(Checked {
        body: v,
        posts,
        input_chars,
    })
}

/// The one tool and `toolChoice` naming it (or `any`); the tool's spec, as sent, for counting.
fn check_tools(v: &Value) -> Result<String, String> {
    let tools = v["toolConfig"]["tools"]
        .as_array()
        .ok_or("toolConfig.tools must be an array")?;
    let [tool] = tools.as_slice() else {
        return Err(format!("expected one tool, got {}", tools.len()));
    };
    let spec = &tool["toolSpec"];
    let name = spec["name"].as_str().ok_or("toolSpec.name must be set")?;
    if !spec["inputSchema"]["json"].is_object() {
        return Err("toolSpec.inputSchema.json must be an object".into());
    }
    let choice = &v["toolConfig"]["toolChoice"];
    let forced = choice["tool"]["name"].as_str() == Some(name) || choice["any"].is_object();
    if !forced {
        return Err(format!("toolChoice must force the tool {name:?}: {choice}"));
    }
    Ok(spec.to_string())
}

fn read_posts(text: &str) -> Result<Vec<(u64, String)>, String> {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| format!("the message is not JSON: {e}"))?;
    let posts = doc["posts"].as_array().ok_or("the message has no posts")?;
    posts
        .iter()
        .map(|p| match (p["i"].as_u64(), p["text"].as_str()) {
            (Some(i), Some(t)) => Ok((i, t.to_owned())),
            _ => Err(format!("a post is not {{i, text}}: {p}")),
        })
        .collect()
}

/// The model's answer: a content block and the stop reason.
fn tool_answer(f: &Faults, n: u64, posts: &[(u64, String)]) -> (Value, &'static str) {
    if posts.iter().any(|(_, t)| t.contains(FILTERED_MARKER)) {
        return (
            json!({"text": "I can't help with that."}),
            "content_filtered",
        );
    }
    if n <= f.text_answer_first {
        let text = "Here are the sentiments: all positive.";
        return (json!({"text": text}), "end_turn");
    }
    let mut results: Vec<Value> = posts
        .iter()
        .map(|(i, t)| {
            let label = keyword_label(t);
            let [p, ng, nu, m] = label_scores(label);
            let score = |x: f64| {
                if n <= f.wrong_types_first {
                    json!(x.to_string())
                } else {
                    json!(x)
                }
            };
            json!({"i": i, "label": label, "positive": score(p), "negative": score(ng),
                   "neutral": score(nu), "mixed": score(m)})
        })
        .collect();
    if n <= f.missing_index_first {
        results.pop();
    }
    if n <= f.duplicate_index_first && !results.is_empty() {
        let mut again = results[0].clone();
        again["label"] = json!(if again["label"] == "POSITIVE" {
            "NEGATIVE"
        } else {
            "POSITIVE"
        });
        results.push(again);
    }
    let mut stop = "tool_use";
    if f.max_tokens_over_posts > 0 && posts.len() > f.max_tokens_over_posts {
        // A cut answer: the first results only, as if the model ran out of tokens.
        results.truncate(f.max_tokens_over_posts / 2);
        stop = "max_tokens";
    }
    let tool_use = json!({"toolUse": {
        "toolUseId": format!("tooluse_{n}"),
        "name": "record_sentiment",
        "input": {"results": results},
    }});
    (tool_use, stop)
}
