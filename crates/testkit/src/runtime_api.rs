//! A minimal Lambda Runtime API, enough to run a `lambda_runtime` binary outside Lambda:
//! it hands out queued events, collects responses and errors, and notes when the function
//! first asked for work (the end of its cold start).
//! <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::Notify;

use crate::aws;
use crate::serve::{self, Server};

/// Lambda's synchronous invocation payload limit (request and response): 6 MB.
/// <https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>
pub const LAMBDA_MAX_RESPONSE_BYTES: usize = 6_291_456;

/// What the function sent back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Response(Vec<u8>),
    Error(Vec<u8>),
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<(String, Vec<u8>)>,
    outcomes: Vec<(String, Outcome)>,
    init_error: Option<Vec<u8>>,
    first_next: Option<Instant>,
    next_id: u64,
}

#[derive(Clone)]
struct Shared {
    inner: Arc<Mutex<Inner>>,
    changed: Arc<Notify>,
    timeout: Duration,
}

/// A running Runtime API; it stops when dropped.
pub struct RuntimeApi {
    pub addr: SocketAddr,
    shared: Shared,
    _server: Server,
}

impl RuntimeApi {
    /// Starts on a free loopback port; each invocation gets `timeout` until its deadline.
    pub async fn start(timeout: Duration) -> std::io::Result<Self> {
        let shared = Shared {
            inner: Arc::default(),
            changed: Arc::default(),
            timeout,
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            // Lambda's own ceiling for a synchronous response.
            .layer(DefaultBodyLimit::max(LAMBDA_MAX_RESPONSE_BYTES))
            .with_state(shared.clone());
        let server = serve::http(serve::loopback(), app).await?;
        Ok(RuntimeApi {
            addr: server.addr,
            shared,
            _server: server,
        })
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `binary` set up as Lambda starts a function against this API: an otherwise empty
    /// environment with the runtime's variables, a region and local test credentials.
    pub fn command(
        &self,
        binary: &str,
        function_name: &str,
        memory_mb: u32,
    ) -> std::process::Command {
        let mut cmd = std::process::Command::new(binary);
        cmd.env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", self.host())
            .env("AWS_LAMBDA_FUNCTION_NAME", function_name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string())
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
        aws::local_credentials(&mut cmd);
        cmd
    }

    /// Queues an event; returns its request id.
    pub fn push(&self, event: Vec<u8>) -> String {
        let mut inner = self.shared.inner.lock().expect("lock");
        inner.next_id += 1;
        let id = format!("req-{:06}", inner.next_id);
        inner.queue.push_back((id.clone(), event));
        drop(inner);
        self.shared.changed.notify_waiters();
        id
    }

    /// When the function first asked for an event.
    pub fn first_next(&self) -> Option<Instant> {
        self.shared.inner.lock().expect("lock").first_next
    }

    pub fn init_error(&self) -> Option<Vec<u8>> {
        self.shared.inner.lock().expect("lock").init_error.clone()
    }

    /// Waits until `id` is answered, or `within` passes.
    pub async fn outcome(&self, id: &str, within: Duration) -> Option<Outcome> {
        let until = tokio::time::Instant::now() + within;
        loop {
            let notified = self.shared.changed.notified();
            if let Some((_, o)) = self
                .shared
                .inner
                .lock()
                .expect("lock")
                .outcomes
                .iter()
                .find(|(i, _)| i == id)
            {
                return Some(o.clone());
            }
            if tokio::time::timeout_at(until, notified).await.is_err() {
                return None;
            }
        }
    }

    /// Waits until the function reports an init error, or `within` passes.
    pub async fn wait_init_error(&self, within: Duration) -> Option<Vec<u8>> {
        let until = tokio::time::Instant::now() + within;
        loop {
            let notified = self.shared.changed.notified();
            if let Some(e) = self.init_error() {
                return Some(e);
            }
            if tokio::time::timeout_at(until, notified).await.is_err() {
                return None;
            }
        }
    }
}

async fn next(State(s): State<Shared>) -> Response {
    s.inner
        .lock()
        .expect("lock")
        .first_next
        .get_or_insert_with(Instant::now);
    s.changed.notify_waiters();
    // Long-poll like Lambda: the function waits here until there is work.
    let (id, body) = loop {
        let notified = s.changed.notified();
        if let Some(item) = s.inner.lock().expect("lock").queue.pop_front() {
            break item;
        }
        notified.await;
    };
    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        + s.timeout;
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", id);
    set(
        "lambda-runtime-deadline-ms",
        deadline.as_millis().to_string(),
    );
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:local".to_owned(),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000;Sampled=0".to_owned(),
    );
    set("content-type", "application/json".to_owned());
    (StatusCode::OK, headers, body).into_response()
}

fn record(s: &Shared, id: String, outcome: Outcome) -> StatusCode {
    s.inner.lock().expect("lock").outcomes.push((id, outcome));
    s.changed.notify_waiters();
    StatusCode::ACCEPTED
}

async fn response(State(s): State<Shared>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    record(&s, id, Outcome::Response(body.to_vec()))
}

async fn error(State(s): State<Shared>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    record(&s, id, Outcome::Error(body.to_vec()))
}

async fn init_error(State(s): State<Shared>, body: Bytes) -> StatusCode {
    s.inner.lock().expect("lock").init_error = Some(body.to_vec());
    s.changed.notify_waiters();
    StatusCode::ACCEPTED
}
