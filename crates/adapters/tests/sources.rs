//! The Mastodon and http-json sources against local HTTP servers run by the test: Mastodon-shaped
//! pages (Link headers, min_id), 429 with Retry-After, 500s, hung responses, malformed and
//! oversized bodies.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ks_adapters::http::Fetcher;
use ks_adapters::http::http_json::HttpJsonSource;
use ks_adapters::http::mastodon::MastodonSource;
use ks_kernel::retry::RetryPolicy;
use ks_producer::config::{FetchSettings, HttpJsonConfig};
use ks_producer::{FetchBudget, Fetched, Source, SourceError, Stop};
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
}

#[derive(Default)]
struct Server {
    /// Status ids, ascending.
    ids: Vec<u64>,
    faults: Mutex<VecDeque<Fault>>,
    /// Each request's query string and headers of interest.
    requests: Mutex<Vec<(String, Option<String>)>>,
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
    fn queries(&self) -> Vec<String> {
        self.state
            .requests
            .lock()
            .unwrap()
            .iter()
            .map(|(q, _)| q.clone())
            .collect()
    }
}

async fn start(ids: std::ops::RangeInclusive<u64>) -> Running {
    let state = Arc::new(Server {
        ids: ids.collect(),
        ..Server::default()
    });
    let app = Router::new()
        .route("/api/v1/timelines/public", get(timeline))
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
fn query(uri: &axum::http::Uri) -> HashMap<String, String> {
    uri.query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

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
    if let Some(r) = faulted(&s).await {
        return r;
    }
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(20)
        .min(40);
    // min_id: the statuses right after it (oldest first), served newest first like Mastodon.
    let mut page: Vec<u64> = match q.get("min_id").and_then(|m| m.parse::<u64>().ok()) {
        Some(min) => s
            .ids
            .iter()
            .copied()
            .filter(|&i| i > min)
            .take(limit)
            .collect(),
        None => s
            .ids
            .iter()
            .rev()
            .copied()
            .take(limit)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect(),
    };
    page.reverse();
    let body = Value::Array(page.iter().map(|&i| status(i)).collect());
    let mut resp = (StatusCode::OK, body.to_string()).into_response();
    if let (Some(newest), Some(oldest)) = (page.first(), page.last()) {
        let base = format!(
            "http://{}/api/v1/timelines/public",
            headers.get("host").unwrap().to_str().unwrap()
        );
        let link = format!(
            "<{base}?limit={limit}&max_id={oldest}>; rel=\"next\", <{base}?limit={limit}&min_id={newest}>; rel=\"prev\""
        );
        resp.headers_mut()
            .insert("link", HeaderValue::from_str(&link).unwrap());
    }
    resp
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
    let fetcher = Fetcher::new(
        "mastodon:test",
        settings(),
        Some(("Authorization".into(), "Bearer t0ken".into())),
    )
    .unwrap();
    MastodonSource::new(fetcher, &server.url(), limit, false).unwrap()
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
    server.fault(Fault::Body(json!([{"id": "1"}, {"content": "no id"}])));
    let err = source.fetch(None, budget(1, 100)).await.unwrap_err();
    assert!(
        matches!(&err, SourceError::Malformed { pointer, .. } if pointer == "/1/id"),
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
        Some(("X-Api-Key".into(), "k3y".into())),
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
    server.fault(Fault::Body(
        json!({"data": {"items": [{"uid": 1}, {"uid": 2}, {"uid": true}]}}),
    ));
    let err = source.fetch(None, budget(1, 100)).await.unwrap_err();
    assert!(
        matches!(&err, SourceError::Malformed { pointer, .. } if pointer == "/data/items/2/uid"),
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
