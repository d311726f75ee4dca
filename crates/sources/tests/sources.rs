//! The Mastodon and http-json sources against local HTTP servers run by the test: Mastodon-shaped
//! pages (Link headers, min_id), 429 with Retry-After, 500s, hung responses, malformed and
//! oversized bodies.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ks_kernel::retry::RetryPolicy;
use ks_producer::config::StartPosition;
use ks_producer::cursor::MemoryCursorStore;
use ks_producer::run::{ProduceError, ProduceSettings, produce};
use ks_producer::{
    CallError, CursorStore, Entry, EntryOutcome, FetchBudget, Fetched, Source, SourceError, Stop,
    StreamSink,
};
use ks_sources::http::FetchSettings;
use ks_sources::http::http_json::HttpJsonSource;
use ks_sources::http::http_json_config::HttpJsonConfig;
use ks_sources::http::mastodon::MastodonSource;
use ks_sources::http::mastodon_config::MastodonTimeline;
use ks_sources::http::{Credential, Fetcher};
use ks_testkit::mastodon::{limit, query, timeline_page};
use serde_json::{Value, json};
use tokio::time::Instant;

/// What the next request gets instead of a normal answer.
#[derive(Debug, Clone)]
enum Fault {
    /// Answer this request normally.
    Pass,
    TooMany(&'static str),
    Error500,
    Hang(Duration),
    NotJson,
    Body(Value),
    Oversized(usize),
    /// 302 to this URL.
    Redirect(String),
    /// 200 with this body and this `Link` header.
    WithLink(Value, String),
    /// This status with this JSON body.
    Status(StatusCode, Value),
}

#[derive(Default)]
struct Server {
    /// Status ids, ascending.
    ids: Vec<u64>,
    faults: Mutex<VecDeque<Fault>>,
    /// Each request's query string and headers of interest.
    requests: Mutex<Vec<(String, Option<String>)>>,
    /// Each request's headers, all of them.
    headers: Mutex<Vec<HeaderMap>>,
    /// Each timeline request's path, as sent (percent-encoded).
    paths: Mutex<Vec<String>>,
    /// What `GET /api/v2/instance` answers; none: 404, like a server before Mastodon 4.0.
    instance: Mutex<Option<(StatusCode, Value)>>,
    /// Each instance request's `Authorization` header.
    instance_auth: Mutex<Vec<Option<String>>>,
}

struct Running {
    addr: SocketAddr,
    state: Arc<Server>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Running {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    fn fault(&self, f: Fault) {
        self.state.faults.lock().unwrap().push_back(f);
    }
    /// Makes `/api/v2/instance` report these live and hashtag feed settings, `(local, remote)`.
    fn reports(&self, live: (&str, &str), hashtag: (&str, &str)) {
        let access = json!({
            "live_feeds": {"local": live.0, "remote": live.1},
            "hashtag_feeds": {"local": hashtag.0, "remote": hashtag.1},
            "trending_link_feeds": {"local": "public", "remote": "public"},
        });
        let doc = json!({"version": "4.5.0", "configuration": {"timelines_access": access}});
        *self.state.instance.lock().unwrap() = Some((StatusCode::OK, doc));
    }
    fn paths(&self) -> Vec<String> {
        self.state.paths.lock().unwrap().clone()
    }
    fn queries(&self) -> Vec<String> {
        self.state
            .requests
            .lock()
            .unwrap()
            .iter()
            .map(|(q, _)| q.clone())
            .collect()
    }
    /// Whether any request carried a credential header (the tests' `Authorization` or `X-Api-Key`).
    fn saw_a_credential(&self) -> bool {
        self.state
            .headers
            .lock()
            .unwrap()
            .iter()
            .any(|h| h.contains_key("authorization") || h.contains_key("x-api-key"))
    }
}

async fn start(ids: std::ops::RangeInclusive<u64>) -> Running {
    let state = Arc::new(Server {
        ids: ids.collect(),
        ..Server::default()
    });
    let app = Router::new()
        .route("/api/v1/timelines/public", get(timeline))
        .route("/api/v1/timelines/tag/{tag}", get(timeline))
        .route("/api/v2/instance", get(instance))
        .route("/v1/items", get(items))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Running {
        addr,
        state,
        _shutdown: tx,
    }
}

/// The query parameters (this test's values need no percent-decoding).
/// Applies the next scripted fault, if any.
async fn faulted(state: &Server) -> Option<Response> {
    let fault = state.faults.lock().unwrap().pop_front()?;
    Some(match fault {
        Fault::Pass => return None,
        Fault::TooMany(after) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", after)],
            "slow down",
        )
            .into_response(),
        Fault::Error500 => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        Fault::Hang(d) => {
            tokio::time::sleep(d).await;
            (StatusCode::OK, "[]").into_response()
        }
        Fault::NotJson => (StatusCode::OK, "<html>maintenance</html>").into_response(),
        Fault::Body(v) => (StatusCode::OK, v.to_string()).into_response(),
        Fault::Oversized(n) => {
            (StatusCode::OK, format!("[{}]", "1,".repeat(n / 2) + "1")).into_response()
        }
        Fault::Redirect(to) => (StatusCode::FOUND, [("location", to)]).into_response(),
        Fault::WithLink(body, link) => {
            (StatusCode::OK, [("link", link)], body.to_string()).into_response()
        }
        Fault::Status(status, body) => (status, body.to_string()).into_response(),
    })
}

fn status(id: u64) -> Value {
    json!({
        "id": id.to_string(),
        "created_at": "2025-01-01T00:00:00.000Z",
        "language": "en",
        "content": format!("<p>Status {id} is &quot;great&quot; &amp; fun</p>"),
        "account": {"acct": format!("user{}", id % 7)},
    })
}

async fn timeline(
    State(s): State<Arc<Server>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let q = query(&uri);
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    s.requests
        .lock()
        .unwrap()
        .push((uri.query().unwrap_or_default().to_owned(), auth));
    s.headers.lock().unwrap().push(headers.clone());
    s.paths.lock().unwrap().push(uri.path().to_owned());
    if let Some(r) = faulted(&s).await {
        return r;
    }
    let (page, limit) = (timeline_page(&s.ids, &q), limit(&q));
    let body = Value::Array(page.iter().map(|&i| status(i)).collect());
    let mut resp = (StatusCode::OK, body.to_string()).into_response();
    if let (Some(newest), Some(oldest)) = (page.first(), page.last()) {
        // The same timeline (Mastodon keeps `local` and `remote` in its links).
        let base = format!(
            "http://{}{}",
            headers.get("host").unwrap().to_str().unwrap(),
            uri.path()
        );
        let kept: String = ["local", "remote"]
            .iter()
            .filter_map(|k| q.get(*k).map(|v| format!("&{k}={v}")))
            .collect();
        let link = format!(
            "<{base}?limit={limit}{kept}&max_id={oldest}>; rel=\"next\", <{base}?limit={limit}{kept}&min_id={newest}>; rel=\"prev\""
        );
        resp.headers_mut()
            .insert("link", HeaderValue::from_str(&link).unwrap());
    }
    resp
}

/// `GET /api/v2/instance`: as set by [`Running::reports`], else 404; scripted faults first.
async fn instance(State(s): State<Arc<Server>>, headers: HeaderMap) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    s.instance_auth.lock().unwrap().push(auth);
    if let Some(r) = faulted(&s).await {
        return r;
    }
    match s.instance.lock().unwrap().clone() {
        Some((status, doc)) => (status, doc.to_string()).into_response(),
        None => (StatusCode::NOT_FOUND, r#"{"error":"Record not found"}"#).into_response(),
    }
}

/// A generic API: `?since=ID` filters, pages of 10 oldest first, `next` is the next page's URL
/// (or, with `token=1`, a token for `?page=`).
async fn items(State(s): State<Arc<Server>>, headers: HeaderMap, uri: axum::http::Uri) -> Response {
    let q = query(&uri);
    let auth = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    s.requests
        .lock()
        .unwrap()
        .push((uri.query().unwrap_or_default().to_owned(), auth));
    s.headers.lock().unwrap().push(headers.clone());
    if let Some(r) = faulted(&s).await {
        return r;
    }
    let since: u64 = q.get("since").and_then(|v| v.parse().ok()).unwrap_or(0);
    let page: usize = q.get("page").and_then(|v| v.parse().ok()).unwrap_or(0);
    let all: Vec<u64> = s.ids.iter().copied().filter(|&i| i > since).collect();
    let chunk: Vec<Value> = all
        .iter()
        .skip(page * 10)
        .take(10)
        .map(|&i| json!({"uid": i, "body": {"text": format!("item {i}")}}))
        .collect();
    let more = all.len() > (page + 1) * 10;
    let next = match (more, q.contains_key("token")) {
        (false, _) => Value::Null,
        (true, true) => json!((page + 1).to_string()),
        (true, false) => json!(format!("/v1/items?since={since}&page={}", page + 1)),
    };
    (
        StatusCode::OK,
        json!({"data": {"items": chunk}, "next": next}).to_string(),
    )
        .into_response()
}

fn settings() -> FetchSettings {
    FetchSettings {
        timeout: Duration::from_millis(300),
        max_response_bytes: 64 * 1024,
        retry: RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(10),
            cap: Duration::from_millis(50),
        },
    }
}

fn mastodon(server: &Running, limit: u32) -> MastodonSource {
    reading(server, limit, MastodonTimeline::Public, true)
}

/// A source reading `timeline`, with the test token or without one.
fn reading(
    server: &Running,
    limit: u32,
    timeline: MastodonTimeline,
    token: bool,
) -> MastodonSource {
    let credential = token.then(|| Credential {
        header: "Authorization".into(),
        value: "Bearer t0ken".into(),
        url: server.url(),
    });
    let fetcher = Fetcher::new("mastodon:test", settings(), credential).unwrap();
    MastodonSource::new(fetcher, &server.url(), limit)
        .unwrap()
        .reading(timeline)
}

fn budget(pages: u32, records: usize) -> FetchBudget {
    FetchBudget {
        max_pages: pages,
        max_records: records,
        deadline: Instant::now() + Duration::from_secs(20),
    }
}

fn ids(f: &Fetched) -> Vec<u64> {
    f.records.iter().map(|r| r.id.parse().unwrap()).collect()
}

#[tokio::test]
async fn mastodon_pages_forward_from_the_cursor_with_min_id_and_link_headers() {
    // GIVEN 100 statuses and a cursor at the 10th
    let server = start(1001..=1100).await;
    // WHEN fetched 20 a page with a 3-page budget
    let f = mastodon(&server, 20)
        .fetch(Some("1010"), budget(3, 1_000))
        .await
        .unwrap();
    // THEN the 60 statuses right after the cursor come back oldest first
    assert_eq!(ids(&f), (1011..=1070).collect::<Vec<_>>());
    assert_eq!(
        (f.pages, f.stop, f.connects_to_cursor),
        (3, Stop::MaxPages, true)
    );
    // AND each request followed the previous page's `prev` link
    assert_eq!(
        server.queries(),
        [
            "limit=20&min_id=1010",
            "limit=20&min_id=1030",
            "limit=20&min_id=1050"
        ]
    );
    // AND each status gained a plain-text `text`, the token was sent
    let v: Value = serde_json::from_slice(&f.records[0].data).unwrap();
    assert_eq!(v["text"], "Status 1011 is \"great\" & fun");
    assert_eq!(v["account"]["acct"], "user3");
    assert_eq!(
        server.state.requests.lock().unwrap()[0].1.as_deref(),
        Some("Bearer t0ken")
    );
}

#[tokio::test]
async fn mastodon_stops_when_caught_up_and_starts_from_the_newest_page_without_a_cursor() {
    let server = start(1001..=1100).await;
    let source = mastodon(&server, 40);
    let f = source.fetch(Some("1090"), budget(10, 1_000)).await.unwrap();
    assert_eq!(ids(&f), (1091..=1100).collect::<Vec<_>>());
    assert_eq!(
        (f.pages, f.stop),
        (2, Stop::CaughtUp),
        "the second page was empty"
    );
    let f = source.fetch(None, budget(10, 1_000)).await.unwrap();
    assert_eq!(ids(&f), (1061..=1100).collect::<Vec<_>>());
    // Over the record budget only the oldest stay: the rest follow the cursor next time.
    let f = source.fetch(Some("1000"), budget(10, 50)).await.unwrap();
    assert_eq!(ids(&f), (1001..=1050).collect::<Vec<_>>());
    assert_eq!(f.stop, Stop::MaxRecords);
}

#[tokio::test]
async fn a_429_waits_as_long_as_retry_after_says_if_that_fits() {
    let server = start(1001..=1005).await;
    let source = mastodon(&server, 40);
    // GIVEN a 429 asking for 1 s WHEN fetched THEN it waits and succeeds
    server.fault(Fault::TooMany("1"));
    let start = std::time::Instant::now();
    let f = source.fetch(Some("1000"), budget(1, 100)).await.unwrap();
    assert_eq!(f.records.len(), 5);
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "{:?}",
        start.elapsed()
    );
    // GIVEN a 429 asking for an hour THEN a clear error at once, not a wait past the deadline
    server.fault(Fault::TooMany("3600"));
    let err = source
        .fetch(Some("1000"), budget(1, 100))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SourceError::RateLimited {
            source_name: "mastodon:test".into(),
            retry_after_ms: 3_600_000
        }
    );
}

#[tokio::test]
async fn server_errors_and_hung_responses_are_retried_then_reported() {
    let server = start(1001..=1005).await;
    let source = mastodon(&server, 40);
    // GIVEN a 500 then a response that hangs past the 300 ms timeout THEN the third try wins
    server.fault(Fault::Error500);
    server.fault(Fault::Hang(Duration::from_secs(2)));
    let f = source.fetch(Some("1000"), budget(1, 100)).await.unwrap();
    assert_eq!(f.records.len(), 5);
    assert_eq!(server.queries().len(), 3);
    // GIVEN 500s beyond the 3 attempts THEN unavailable, naming the source and the status
    for _ in 0..3 {
        server.fault(Fault::Error500);
    }
    let err = source
        .fetch(Some("1000"), budget(1, 100))
        .await
        .unwrap_err();
    assert!(err.is_retryable());
    assert!(
        matches!(&err, SourceError::Unavailable { source_name, attempts: 3, reason } if source_name == "mastodon:test" && reason.contains("500")),
        "{err}"
    );
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_clear_errors_naming_source_and_pointer() {
    let server = start(1001..=1005).await;
    let source = mastodon(&server, 40);
    server.fault(Fault::NotJson);
    let err = source.fetch(None, budget(1, 100)).await.unwrap_err();
    assert!(
        matches!(&err, SourceError::Malformed { pointer, reason, .. } if pointer.is_empty() && reason.contains("not JSON")),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("source mastodon:test: malformed response"),
        "{err}"
    );
    server.fault(Fault::Body(json!({"error": "nope"})));
    let err = source.fetch(None, budget(1, 100)).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("expected an array of statuses, got an object"),
        "{err}"
    );
    server.fault(Fault::Oversized(100 * 1024));
    let err = source.fetch(None, budget(1, 100)).await.unwrap_err();
    assert_eq!(
        err,
        SourceError::TooLarge {
            source_name: "mastodon:test".into(),
            limit_bytes: 64 * 1024
        }
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_later_page_failing_keeps_the_earlier_pages() {
    // GIVEN the first page answered normally and the second with garbage
    let server = start(1001..=1100).await;
    server.fault(Fault::Pass);
    server.fault(Fault::NotJson);
    // WHEN fetched
    let f = mastodon(&server, 20)
        .fetch(Some("1000"), budget(5, 1_000))
        .await
        .unwrap();
    // THEN the first page's records are kept, with the error and why it stopped
    assert_eq!(ids(&f), (1001..=1020).collect::<Vec<_>>());
    assert_eq!(
        (f.pages, f.stop),
        (1, Stop::Failed),
        "pages counts the pages read"
    );
    assert!(
        matches!(f.error, Some(SourceError::Malformed { .. })),
        "{:?}",
        f.error
    );
    // AND a later page rate-limited past the deadline is a clean stop, not an error
    server.fault(Fault::Pass);
    server.fault(Fault::TooMany("3600"));
    let f = mastodon(&server, 20)
        .fetch(Some("1000"), budget(5, 1_000))
        .await
        .unwrap();
    assert_eq!((f.records.len(), f.stop), (20, Stop::RateLimited));
    assert!(f.error.is_none());
}

fn http_json(server: &Running, token: bool, oldest_first: bool) -> HttpJsonSource {
    let fetcher = Fetcher::new(
        "http-json:test",
        settings(),
        Some(Credential {
            header: "X-Api-Key".into(),
            value: "k3y".into(),
            url: server.url(),
        }),
    )
    .unwrap();
    let url = if token {
        format!("{}/v1/items?token=1", server.url())
    } else {
        format!("{}/v1/items", server.url())
    };
    HttpJsonSource::new(
        fetcher,
        HttpJsonConfig {
            url,
            records_pointer: "/data/items".into(),
            id_pointer: "/uid".into(),
            cursor_param: Some("since".into()),
            next_pointer: Some("/next".into()),
            next_param: token.then(|| "page".to_owned()),
            oldest_first,
            auth_header: "X-Api-Key".into(),
            auth_scheme: None,
            auth_param: None,
        },
    )
    .unwrap()
}

#[tokio::test]
async fn http_json_follows_next_urls_and_tokens_from_the_cursor() {
    let server = start(1..=35).await;
    // GIVEN a cursor at 5 WHEN fetched THEN 6..=35 over three pages, then caught up
    let f = http_json(&server, false, true)
        .fetch(Some("5"), budget(10, 1_000))
        .await
        .unwrap();
    assert_eq!(ids(&f), (6..=35).collect::<Vec<_>>());
    assert_eq!(
        (f.pages, f.stop, f.connects_to_cursor),
        (3, Stop::CaughtUp, true)
    );
    assert_eq!(
        server.queries(),
        ["since=5", "since=5&page=1", "since=5&page=2"]
    );
    assert_eq!(
        server.state.requests.lock().unwrap()[0].1.as_deref(),
        Some("k3y")
    );
    let v: Value = serde_json::from_slice(&f.records[0].data).unwrap();
    assert_eq!(v, json!({"uid": 6, "body": {"text": "item 6"}}));
    // GIVEN token pagination THEN the token goes in its own parameter, the cursor stays
    let server = start(1..=25).await;
    let f = http_json(&server, true, true)
        .fetch(Some("0"), budget(10, 1_000))
        .await
        .unwrap();
    assert_eq!(f.records.len(), 25);
    assert_eq!(
        server.queries(),
        [
            "token=1&since=0",
            "token=1&page=1&since=0",
            "token=1&page=2&since=0"
        ]
    );
}

#[tokio::test]
async fn newest_first_pages_cut_short_do_not_connect_to_the_cursor() {
    let server = start(1..=35).await;
    let f = http_json(&server, false, false)
        .fetch(Some("0"), budget(2, 1_000))
        .await
        .unwrap();
    assert_eq!((f.stop, f.connects_to_cursor), (Stop::MaxPages, false));
    let f = http_json(&server, false, false)
        .fetch(Some("0"), budget(10, 1_000))
        .await
        .unwrap();
    assert_eq!((f.stop, f.connects_to_cursor), (Stop::CaughtUp, true));
}

#[tokio::test]
async fn http_json_shape_errors_name_the_pointer() {
    let server = start(1..=5).await;
    let source = http_json(&server, false, true);
    server.fault(Fault::Body(json!({"data": {}})));
    let err = source.fetch(None, budget(1, 100)).await.unwrap_err();
    assert!(
        matches!(&err, SourceError::Malformed { pointer, reason, .. } if pointer == "/data/items" && reason.contains("selects nothing")),
        "{err}"
    );
    assert!(err.to_string().contains("http-json:test"), "{err}");
    server.fault(Fault::Body(
        json!({"data": {"items": []}, "next": {"url": 1}}),
    ));
    let err = source.fetch(None, budget(1, 100)).await.unwrap_err();
    assert!(
        matches!(&err, SourceError::Malformed { pointer, .. } if pointer == "/next"),
        "{err}"
    );
}

// ------------------------------------------------------------------ issue 14: the world's inputs

#[tokio::test]
async fn a_custom_auth_header_does_not_follow_a_redirect_to_another_origin() {
    // GIVEN an http-json source whose credential is a custom header (X-Api-Key), and its server
    // answering 302 to a second server on another port
    let (server, other) = (start(1..=5).await, start(1..=5).await);
    server.fault(Fault::Redirect(format!("{}/v1/items?since=0", other.url())));
    // WHEN fetched
    let f = http_json(&server, false, true)
        .fetch(Some("0"), budget(1, 100))
        .await
        .unwrap();
    // THEN the records come from the second server, which saw no credential
    assert_eq!(ids(&f), (1..=5).collect::<Vec<_>>());
    assert_eq!(other.queries(), ["since=0"]);
    assert!(
        !other.saw_a_credential(),
        "the credential followed the redirect"
    );
    assert!(server.saw_a_credential(), "the configured server gets it");

    // GIVEN a chain that leaves the configured origin and comes back to it
    let (server, other) = (start(1..=5).await, start(1..=5).await);
    server.fault(Fault::Redirect(format!("{}/v1/items?since=0", other.url())));
    other.fault(Fault::Redirect(format!(
        "{}/v1/items?since=0",
        server.url()
    )));
    // WHEN fetched
    let f = http_json(&server, false, true)
        .fetch(Some("0"), budget(1, 100))
        .await
        .unwrap();
    // THEN the hop back carries no credential either: it was stripped when the chain left
    assert_eq!(ids(&f), (1..=5).collect::<Vec<_>>());
    let headers = server.state.headers.lock().unwrap();
    assert_eq!(headers.len(), 2);
    assert!(headers[0].contains_key("x-api-key"));
    assert!(
        !headers[1].contains_key("x-api-key"),
        "re-attached after a cross-origin hop"
    );
}

#[tokio::test]
async fn an_http_json_next_url_at_another_origin_gets_no_credential() {
    // GIVEN a first page whose `next` URL points at a second server
    let (server, other) = (start(1..=5).await, start(1..=5).await);
    server.fault(Fault::Body(json!({
        "data": {"items": [{"uid": 1}]},
        "next": format!("{}/v1/items?since=1", other.url()),
    })));
    // WHEN fetched
    let f = http_json(&server, false, true)
        .fetch(Some("0"), budget(2, 100))
        .await
        .unwrap();
    // THEN the next page is read from there, without the credential
    assert_eq!(ids(&f), (1..=5).collect::<Vec<_>>());
    assert_eq!(other.queries(), ["since=1"]);
    assert!(
        !other.saw_a_credential(),
        "the credential went to another origin"
    );
}

#[tokio::test]
async fn a_mastodon_link_prev_at_another_origin_gets_no_token() {
    // GIVEN a first page whose `Link: prev` points at a second server
    let (server, other) = (start(1001..=1005).await, start(1001..=1005).await);
    server.fault(Fault::WithLink(
        json!([status(1001)]),
        format!(
            "<{}/api/v1/timelines/public?limit=40&min_id=1001>; rel=\"prev\"",
            other.url()
        ),
    ));
    // WHEN fetched
    let f = mastodon(&server, 40)
        .fetch(Some("1000"), budget(2, 100))
        .await
        .unwrap();
    // THEN the second page comes from there, and the access token did not
    assert_eq!(ids(&f), (1001..=1005).collect::<Vec<_>>());
    assert_eq!(other.queries(), ["limit=40&min_id=1001"]);
    assert!(
        !other.saw_a_credential(),
        "the token went to another origin"
    );
}

#[tokio::test]
async fn a_relative_link_is_resolved_against_the_request_url() {
    // GIVEN a page whose `Link: prev` is a relative reference (RFC 8288 §3.1 allows it)
    let server = start(1001..=1005).await;
    server.fault(Fault::WithLink(
        json!([status(1001)]),
        "</api/v1/timelines/public?limit=40&min_id=1001>; rel=\"prev\"".into(),
    ));
    // WHEN fetched
    let f = mastodon(&server, 40)
        .fetch(Some("1000"), budget(10, 100))
        .await
        .unwrap();
    // THEN it is followed on the same server until caught up
    assert_eq!(ids(&f), (1001..=1005).collect::<Vec<_>>());
    assert_eq!(f.stop, Stop::CaughtUp);
    assert_eq!(
        server.queries(),
        [
            "limit=40&min_id=1000",
            "limit=40&min_id=1001",
            "limit=40&min_id=1005"
        ]
    );
}

#[tokio::test]
async fn a_relative_next_url_is_resolved_against_the_url_that_answered() {
    // GIVEN the configured server redirecting to a second one, whose pages give relative `next`s
    let (server, other) = (start(1..=25).await, start(1..=25).await);
    server.fault(Fault::Redirect(format!("{}/v1/items?since=0", other.url())));
    // WHEN fetched
    let f = http_json(&server, false, true)
        .fetch(Some("0"), budget(10, 100))
        .await
        .unwrap();
    // THEN the next pages are read where the first one came from (RFC 3986 §5.1.3)
    assert_eq!(ids(&f), (1..=25).collect::<Vec<_>>());
    assert_eq!(server.queries(), ["since=0"]);
    assert_eq!(
        other.queries(),
        ["since=0", "since=0&page=1", "since=0&page=2"]
    );
}

#[tokio::test]
async fn an_absurd_retry_after_neither_overflows_nor_waits() {
    let server = start(1001..=1005).await;
    let source = mastodon(&server, 40);
    // GIVEN a 429 asking for u64::MAX seconds WHEN fetched THEN a rate-limit stop whose wait is
    // the 2^31 s every cache clamps delta-seconds to (RFC 9111 §1.2.2), not a wrapped number
    server.fault(Fault::TooMany("18446744073709551615"));
    let err = source
        .fetch(Some("1000"), budget(1, 100))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SourceError::RateLimited {
            source_name: "mastodon:test".into(),
            retry_after_ms: (1u64 << 31) * 1_000
        }
    );
    // GIVEN a 429 whose Retry-After is a date in the year 99999 THEN the header is not a wait:
    // the retry backs off as if it were absent, and the second attempt succeeds
    server.fault(Fault::TooMany("Sun, 06 Nov 99999 08:49:37 GMT"));
    let f = source.fetch(Some("1000"), budget(1, 100)).await.unwrap();
    assert_eq!(f.records.len(), 5);
}

/// A way a page can fail: its name, the faults that make it, and what the error must be.
type Failure = (&'static str, Vec<Fault>, fn(&SourceError) -> bool);

/// Each way a page can fail after a good one.
fn later_page_failures() -> Vec<Failure> {
    vec![
        (
            "a malformed page",
            vec![Fault::Body(json!({"data": 5}))],
            |e| matches!(e, SourceError::Malformed { .. }),
        ),
        ("not JSON", vec![Fault::NotJson], |e| {
            matches!(e, SourceError::Malformed { .. })
        }),
        (
            "5xx after every retry",
            vec![Fault::Error500, Fault::Error500, Fault::Error500],
            |e| matches!(e, SourceError::Unavailable { attempts: 3, reason, .. } if reason.contains("500")),
        ),
        (
            "a timeout on every attempt",
            vec![
                Fault::Hang(Duration::from_secs(2)),
                Fault::Hang(Duration::from_secs(2)),
                Fault::Hang(Duration::from_secs(2)),
            ],
            |e| matches!(e, SourceError::Unavailable { attempts: 3, reason, .. } if reason.contains("timed out")),
        ),
    ]
}

#[tokio::test]
async fn http_json_keeps_the_pages_before_a_failure() {
    for (case, faults, expected) in later_page_failures() {
        // GIVEN a good first page, then a failing second one
        let server = start(1..=35).await;
        server.fault(Fault::Pass);
        for f in faults {
            server.fault(f);
        }
        // WHEN fetched
        let f = http_json(&server, false, true)
            .fetch(Some("5"), budget(10, 1_000))
            .await
            .unwrap_or_else(|e| panic!("{case}: the first page was lost: {e}"));
        // THEN the first page is kept, with the error and why it stopped
        assert_eq!(ids(&f), (6..=15).collect::<Vec<_>>(), "{case}");
        assert_eq!((f.pages, f.stop), (1, Stop::Failed), "{case}");
        let err = f.error.as_ref().expect(case);
        assert!(expected(err), "{case}: {err}");
    }
}

#[tokio::test]
async fn mastodon_keeps_the_pages_before_a_failure() {
    let mut cases = later_page_failures();
    cases.push((
        "a Link that is no URL reference",
        vec![Fault::WithLink(
            json!([status(1021)]),
            "<http://[::1>; rel=\"prev\"".into(),
        )],
        |e| matches!(e, SourceError::Malformed { reason, .. } if reason.contains("Link")),
    ));
    for (case, faults, expected) in cases {
        // GIVEN a good first page, then a failing second one
        let server = start(1001..=1100).await;
        server.fault(Fault::Pass);
        for f in faults {
            server.fault(f);
        }
        // WHEN fetched
        let f = mastodon(&server, 20)
            .fetch(Some("1000"), budget(10, 1_000))
            .await
            .unwrap_or_else(|e| panic!("{case}: the first page was lost: {e}"));
        // THEN the first page is kept, with the error and why it stopped
        assert_eq!(ids(&f), (1001..=1020).collect::<Vec<_>>(), "{case}");
        assert_eq!((f.pages, f.stop), (1, Stop::Failed), "{case}");
        let err = f.error.as_ref().expect(case);
        assert!(expected(err), "{case}: {err}");
    }
}

/// Accepts every entry and keeps it.
#[derive(Default)]
struct Accepting(Mutex<Vec<Entry>>);

impl StreamSink for Accepting {
    async fn put_records(&self, entries: &[&Entry]) -> Result<Vec<EntryOutcome>, CallError> {
        self.0
            .lock()
            .unwrap()
            .extend(entries.iter().map(|e| (*e).clone()));
        Ok(entries
            .iter()
            .map(|_| EntryOutcome::Accepted {
                shard_id: "shardId-000000000000".into(),
                sequence_number: "1".into(),
            })
            .collect())
    }
}

#[tokio::test]
async fn a_failure_after_some_pages_delivers_and_checkpoints_them_then_fails() {
    // GIVEN an http-json API whose second page answers 500 to every attempt, a cursor at 5
    let server = start(1..=35).await;
    server.fault(Fault::Pass);
    for _ in 0..3 {
        server.fault(Fault::Error500);
    }
    let (store, sink) = (MemoryCursorStore::default(), Accepting::default());
    store.save("k", None, "5").await.unwrap();
    // WHEN one invocation runs
    let out = produce(
        &http_json(&server, false, true),
        &store,
        &sink,
        "k",
        &ProduceSettings::default(),
        Instant::now() + Duration::from_secs(30),
        &mut fastrand::Rng::with_seed(1),
    )
    .await;
    // THEN the first page's records are put and checkpointed, then the invocation fails
    assert_eq!(sink.0.lock().unwrap().len(), 10);
    assert_eq!(store.get("k").unwrap().position, "15");
    assert_eq!((out.summary.put, out.summary.stop), (10, "failed"));
    assert!(
        matches!(
            out.result,
            Err(ProduceError::Source(SourceError::Unavailable { .. }))
        ),
        "{:?}",
        out.result
    );
}

#[tokio::test]
async fn one_record_without_an_id_rejects_that_record_not_the_page() {
    // GIVEN an http-json page where three items have no usable id (a boolean, none, empty)
    let server = start(1..=5).await;
    server.fault(Fault::Body(json!({"data": {"items": [
        {"uid": 1}, {"uid": true}, {"body": "no id"}, {"uid": ""}, {"uid": 4}
    ]}})));
    // WHEN fetched
    let f = http_json(&server, false, true)
        .fetch(Some("0"), budget(1, 100))
        .await
        .unwrap();
    // THEN the others come back, and the three are counted as rejected
    assert_eq!(ids(&f), [1, 4]);
    assert_eq!(
        (f.rejected, f.stop, f.error.is_none()),
        (3, Stop::CaughtUp, true)
    );

    // GIVEN a Mastodon page with a status without an id, one that is not an object, a null id
    let server = start(1001..=1005).await;
    server.fault(Fault::Body(json!([
        status(1001),
        {"content": "no id"},
        "a string",
        {"id": null, "content": "x"},
        status(1002)
    ])));
    // WHEN fetched
    let f = mastodon(&server, 40)
        .fetch(None, budget(1, 100))
        .await
        .unwrap();
    // THEN likewise
    assert_eq!(ids(&f), [1001, 1002]);
    assert_eq!(f.rejected, 3);
}

#[tokio::test]
async fn a_page_where_no_item_has_an_id_is_an_error_naming_the_pointer() {
    // GIVEN an id pointer that fits none of the API's items (a misconfiguration, not bad items)
    let server = start(1..=5).await;
    server.fault(Fault::Body(
        json!({"data": {"items": [{"id": 1}, {"id": 2}]}}),
    ));
    // WHEN fetched
    let err = http_json(&server, false, true)
        .fetch(Some("0"), budget(1, 100))
        .await
        .unwrap_err();
    // THEN the run fails, saying where it looked, instead of succeeding with all rejected
    let msg = err.to_string();
    assert!(matches!(err, SourceError::Malformed { .. }), "{msg}");
    assert!(
        msg.contains("/0/uid") && msg.contains("none of the 2 items"),
        "{msg}"
    );
}

#[tokio::test]
async fn records_without_an_id_count_in_the_summarys_rejected() {
    // GIVEN a page of two records and one item without an id
    let server = start(1..=5).await;
    server.fault(Fault::Body(json!({"data": {"items": [
        {"uid": 1}, {"nope": 1}, {"uid": 2}
    ]}})));
    let (store, sink) = (MemoryCursorStore::default(), Accepting::default());
    // WHEN one invocation runs
    let out = produce(
        &http_json(&server, false, true),
        &store,
        &sink,
        "k",
        &ProduceSettings::default(),
        Instant::now() + Duration::from_secs(30),
        &mut fastrand::Rng::with_seed(1),
    )
    .await;
    // THEN the two are put, the item is counted as rejected (not failed), and the run succeeds
    out.result.unwrap();
    let s = out.summary;
    assert_eq!(
        (s.fetched, s.new, s.put, s.rejected, s.failed),
        (2, 2, 2, 1, 0)
    );
    assert_eq!(store.get("k").unwrap().position, "2");
}

#[tokio::test]
async fn mastodon_oldest_start_reads_forward_from_min_id_0() {
    // GIVEN 100 statuses, no cursor and START_POSITION=oldest
    let server = start(1001..=1100).await;
    let source = mastodon(&server, 20).starting_at(StartPosition::Oldest);
    // WHEN fetched with a 3-page budget
    let f = source.fetch(None, budget(3, 1_000)).await.unwrap();
    // THEN the server's oldest 60 come back, read forward, and the cursor may move
    assert_eq!(ids(&f), (1001..=1060).collect::<Vec<_>>());
    assert_eq!(
        (f.pages, f.stop, f.connects_to_cursor),
        (3, Stop::MaxPages, true)
    );
    assert_eq!(
        server.queries(),
        [
            "limit=20&min_id=0",
            "limit=20&min_id=1020",
            "limit=20&min_id=1040"
        ]
    );
    // AND with a cursor the start position does not matter
    let f = source.fetch(Some("1090"), budget(3, 1_000)).await.unwrap();
    assert_eq!(ids(&f), (1091..=1100).collect::<Vec<_>>());
}

#[tokio::test]
async fn http_json_latest_start_reads_the_first_page_only_and_oldest_walks_on() {
    // GIVEN 35 records over 4 pages, an API said to page newest first, and no cursor
    let server = start(1..=35).await;
    // WHEN fetched with START_POSITION=latest (the default)
    let f = http_json(&server, false, false)
        .fetch(None, budget(10, 1_000))
        .await
        .unwrap();
    // THEN only the first page is read, and the cursor may start at its newest record
    assert_eq!(ids(&f), (1..=10).collect::<Vec<_>>());
    assert_eq!(
        (f.pages, f.stop, f.connects_to_cursor),
        (1, Stop::MaxPages, true)
    );
    assert_eq!(server.queries(), [""]);
    // WHEN fetched with START_POSITION=oldest THEN every page within the budget is read
    let oldest = http_json(&server, false, false).starting_at(StartPosition::Oldest);
    let f = oldest.fetch(None, budget(10, 1_000)).await.unwrap();
    assert_eq!(ids(&f), (1..=35).collect::<Vec<_>>());
    assert_eq!(
        (f.pages, f.stop, f.connects_to_cursor),
        (4, Stop::CaughtUp, true)
    );
    // AND newest-first pages cut short by the budget still do not connect to the cursor
    let f = oldest.fetch(None, budget(2, 1_000)).await.unwrap();
    assert_eq!((f.stop, f.connects_to_cursor), (Stop::MaxPages, false));
}

// ---------------------------------------------------------------- Mastodon timelines and access

fn closed_parts(err: &SourceError) -> (&str, &str, &[String]) {
    match err {
        SourceError::Closed {
            server,
            reason,
            ways_out,
            ..
        } => (server, reason, ways_out),
        other => panic!("expected Closed, got {other:?}"),
    }
}

#[tokio::test]
async fn a_disabled_live_feed_fails_the_check_naming_server_setting_and_ways_out() {
    // GIVEN a server whose live feeds are off, remote half only, and hashtag feeds open
    let server = start(1..=5).await;
    server.reports(("public", "disabled"), ("public", "public"));
    // WHEN the federated timeline is checked, even with a token
    let err = mastodon(&server, 40).check_access().await.unwrap_err();
    // THEN it is a permanent error naming the server and the setting as the server reports it
    assert!(!err.is_retryable());
    let (at, reason, ways) = closed_parts(&err);
    assert_eq!(at, server.url());
    assert!(
        reason.contains("configuration.timelines_access.live_feeds.remote = disabled"),
        "{reason}"
    );
    assert!(reason.contains("MASTODON_TIMELINE=public"), "{reason}");
    // AND the ways out: the local and tag timelines it does serve, and Jetstream; no token
    // (it would not open a disabled feed)
    let text = err.to_string();
    for way in [
        "MASTODON_TIMELINE=local",
        "MASTODON_TIMELINE=tag:<hashtag>",
        "SOURCE=jetstream",
    ] {
        assert!(
            ways.iter().any(|w| w.starts_with(way)),
            "{way} not in {ways:?}"
        );
        assert!(text.contains(way), "{text}");
    }
    assert!(!text.contains("MASTODON_TOKEN_PARAM naming"), "{text}");
    // AND nothing but the instance was asked
    assert!(server.paths().is_empty());
}

#[tokio::test]
async fn an_authenticated_feed_without_a_token_fails_the_check_and_a_token_opens_it() {
    // GIVEN a server whose live feeds are for signed-in users
    let server = start(1001..=1005).await;
    server.reports(("authenticated", "authenticated"), ("public", "public"));
    // WHEN checked without a token THEN an error whose first way out is a token
    let err = reading(&server, 40, MastodonTimeline::Local, false)
        .check_access()
        .await
        .unwrap_err();
    let (_, reason, ways) = closed_parts(&err);
    assert!(
        reason.contains("configuration.timelines_access.live_feeds.local = authenticated"),
        "{reason}"
    );
    assert!(
        reason.contains("no MASTODON_TOKEN_PARAM is set"),
        "{reason}"
    );
    assert!(ways[0].starts_with("MASTODON_TOKEN_PARAM"), "{ways:?}");
    assert_eq!(server.state.instance_auth.lock().unwrap()[0], None);
    // GIVEN a token WHEN checked THEN it passes, the token went with the check
    let source = reading(&server, 40, MastodonTimeline::Local, true);
    source.check_access().await.unwrap();
    assert_eq!(
        server.state.instance_auth.lock().unwrap()[1].as_deref(),
        Some("Bearer t0ken")
    );
    // AND the timeline is read with it, but not by another origin a Link points to
    let other = start(1001..=1005).await;
    server.fault(Fault::WithLink(
        json!([status(1001)]),
        format!(
            "<{}/api/v1/timelines/public?local=true&min_id=1001>; rel=\"prev\"",
            other.url()
        ),
    ));
    let f = source.fetch(Some("1000"), budget(2, 100)).await.unwrap();
    assert_eq!(ids(&f), (1001..=1005).collect::<Vec<_>>());
    assert_eq!(
        server.state.requests.lock().unwrap()[0].1.as_deref(),
        Some("Bearer t0ken")
    );
    assert!(
        !other.saw_a_credential(),
        "the token went to another origin"
    );
}

#[tokio::test]
async fn a_server_without_the_field_or_the_endpoint_is_read_as_before() {
    let server = start(1001..=1005).await;
    // GIVEN a server before 4.0 (404) WHEN checked THEN no error
    reading(&server, 40, MastodonTimeline::Public, false)
        .check_access()
        .await
        .unwrap();
    // GIVEN an instance document without configuration.timelines_access THEN no error either
    *server.state.instance.lock().unwrap() = Some((
        StatusCode::OK,
        json!({"version": "4.3.0", "configuration": {}}),
    ));
    let source = reading(&server, 40, MastodonTimeline::Public, false);
    source.check_access().await.unwrap();
    // AND the timeline is read as before
    let f = source.fetch(Some("1000"), budget(10, 100)).await.unwrap();
    assert_eq!(ids(&f), (1001..=1005).collect::<Vec<_>>());
    assert_eq!(server.queries()[0], "limit=40&min_id=1000");
}

#[tokio::test]
async fn a_check_that_cannot_reach_the_server_does_not_stop_the_start() {
    // GIVEN an instance endpoint that answers 500 to every attempt
    let server = start(1..=5).await;
    for _ in 0..3 {
        server.fault(Fault::Error500);
    }
    // WHEN checked THEN it logs and lets the source run (the timeline tells the rest)
    let source = mastodon(&server, 40);
    source.check_access().await.unwrap();
    // GIVEN one that hangs on every attempt THEN the same, within the attempts' timeouts
    for _ in 0..3 {
        server.fault(Fault::Hang(Duration::from_secs(30)));
    }
    let started = std::time::Instant::now();
    source.check_access().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the check is bounded"
    );
    assert_eq!(server.state.instance_auth.lock().unwrap().len(), 6);
    // AND the timeline still reads
    let f = source.fetch(Some("0"), budget(1, 100)).await.unwrap();
    assert_eq!(ids(&f), (1..=5).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_tag_timeline_reads_its_encoded_path_and_pages_forward() {
    // GIVEN a tag timeline of a hashtag that needs percent-encoding
    let server = start(1001..=1030).await;
    server.reports(("disabled", "disabled"), ("public", "public"));
    let source = reading(&server, 10, MastodonTimeline::Tag("café".into()), false);
    // WHEN checked and fetched THEN open (the hashtag feeds are), read from the tag's path
    source.check_access().await.unwrap();
    let f = source.fetch(Some("1000"), budget(2, 100)).await.unwrap();
    assert_eq!(ids(&f), (1001..=1020).collect::<Vec<_>>());
    assert_eq!(
        server.paths(),
        [
            "/api/v1/timelines/tag/caf%C3%A9",
            "/api/v1/timelines/tag/caf%C3%A9"
        ]
    );
    // AND paged with limit, min_id and the Link header like the public timeline
    assert_eq!(
        server.queries(),
        ["limit=10&min_id=1000", "limit=10&min_id=1010"]
    );
}

#[tokio::test]
async fn local_and_remote_timelines_send_their_parameter_on_every_page() {
    for (timeline, param) in [
        (MastodonTimeline::Local, "local=true"),
        (MastodonTimeline::Remote, "remote=true"),
    ] {
        // GIVEN the local (or remote) timeline
        let server = start(1001..=1015).await;
        // WHEN fetched over two pages
        let f = reading(&server, 10, timeline, false)
            .fetch(Some("1000"), budget(2, 100))
            .await
            .unwrap();
        // THEN each request asks for that half only
        assert_eq!(ids(&f).len(), 15);
        assert_eq!(
            server.queries(),
            [
                format!("limit=10&{param}&min_id=1000"),
                format!("limit=10&{param}&min_id=1010")
            ]
        );
        assert_eq!(server.paths()[0], "/api/v1/timelines/public");
    }
}

#[tokio::test]
async fn a_timeline_that_asks_for_a_user_is_a_clear_permanent_error() {
    // GIVEN a timeline answering Mastodon's 422 for a request without a user
    let server = start(1..=5).await;
    server.fault(Fault::Status(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({"error": "This method requires an authenticated user"}),
    ));
    // WHEN fetched without a token
    let err = reading(&server, 40, MastodonTimeline::Public, false)
        .fetch(None, budget(1, 100))
        .await
        .unwrap_err();
    // THEN a permanent error naming the server, what it answered and the ways out
    assert!(!err.is_retryable());
    let (at, reason, ways) = closed_parts(&err);
    assert_eq!(at, server.url());
    assert!(reason.contains("HTTP 422"), "{reason}");
    assert!(
        reason.contains("This method requires an authenticated user"),
        "{reason}"
    );
    assert!(
        reason.contains("no MASTODON_TOKEN_PARAM is set"),
        "{reason}"
    );
    assert!(ways[0].starts_with("MASTODON_TOKEN_PARAM"), "{ways:?}");
    assert!(
        ways.iter().any(|w| w.starts_with("SOURCE=jetstream")),
        "{ways:?}"
    );
    // GIVEN a 401 for the token that was sent THEN the error says the token was refused
    server.fault(Fault::Status(
        StatusCode::UNAUTHORIZED,
        json!({"error": "The access token is invalid"}),
    ));
    let err = mastodon(&server, 40)
        .fetch(None, budget(1, 100))
        .await
        .unwrap_err();
    let (_, reason, _) = closed_parts(&err);
    assert!(
        reason.contains("token in MASTODON_TOKEN_PARAM was refused"),
        "{reason}"
    );
    // AND other 4xx stay as they were, with their status
    server.fault(Fault::Status(
        StatusCode::NOT_FOUND,
        json!({"error": "nope"}),
    ));
    let err = mastodon(&server, 40)
        .fetch(None, budget(1, 100))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SourceError::Status { status: 404, .. }),
        "{err:?}"
    );
}
