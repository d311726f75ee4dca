//! A Mastodon server, as much of one as the producer reads: `GET /api/v2/instance` (with or
//! without 4.5's `configuration.timelines_access`, or 404 like a server before 4.0) and the
//! timelines `GET /api/v1/timelines/public` (`local`, `remote`) and `/api/v1/timelines/tag/:tag`,
//! with `limit`, `min_id` and `Link` paging.
//!
//! The timelines apply the access settings as Mastodon 4.5's controllers do: when a setting the
//! request depends on is not `public`, a request without `Authorization` gets 422
//! `{"error":"This method requires an authenticated user"}`; a signed-in request to a feed whose
//! settings are all `disabled` gets an empty array.
//! <https://docs.joinmastodon.org/methods/timelines/>
//! <https://docs.joinmastodon.org/entities/Instance/#timelines_access>

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::serve::{self, Server};

/// What `GET /api/v2/instance` answers.
#[derive(Debug, Clone)]
pub enum Instance {
    /// 404, like a server before Mastodon 4.0.
    Missing,
    /// An instance document without `configuration.timelines_access` (before 4.5).
    WithoutAccess,
    /// An instance document with this `configuration.timelines_access`.
    Access(Value),
}

impl Instance {
    /// `timelines_access` with these live and hashtag feed settings (`(local, remote)` each).
    pub fn access(live: (&str, &str), hashtag: (&str, &str)) -> Instance {
        Instance::Access(json!({
            "live_feeds": {"local": live.0, "remote": live.1},
            "hashtag_feeds": {"local": hashtag.0, "remote": hashtag.1},
            "trending_link_feeds": {"local": "public", "remote": "public"},
        }))
    }
}

struct Shared {
    instance: Instance,
    /// Status ids, ascending.
    ids: Vec<u64>,
    /// Each request's path and query, and whether it carried `Authorization`.
    requests: Mutex<Vec<(String, bool)>>,
}

/// A running stand-in; it stops when dropped.
pub struct MastodonStandIn {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    server: Server,
}

impl MastodonStandIn {
    /// Starts on a free loopback port, serving statuses with these ids on every timeline.
    pub async fn start(instance: Instance, ids: Vec<u64>) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            instance,
            ids,
            requests: Mutex::default(),
        });
        let app = Router::new()
            .route("/api/v2/instance", get(instance_doc))
            .route("/api/v1/timelines/public", get(timeline))
            .route("/api/v1/timelines/tag/{tag}", get(timeline))
            .with_state(shared.clone());
        let server = serve::http(serve::loopback(), app).await?;
        Ok(MastodonStandIn {
            addr: server.addr,
            shared,
            server,
        })
    }

    /// The value for `MASTODON_URL`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Each request's path and query, and whether it carried `Authorization`, in order.
    pub fn requests(&self) -> Vec<(String, bool)> {
        self.shared.requests.lock().expect("lock").clone()
    }
}

fn note(s: &Shared, uri: &Uri, headers: &HeaderMap) {
    let target = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), ToString::to_string);
    let signed_in = headers.contains_key("authorization");
    s.requests.lock().expect("lock").push((target, signed_in));
}

async fn instance_doc(State(s): State<Arc<Shared>>, headers: HeaderMap, uri: Uri) -> Response {
    note(&s, &uri, &headers);
    let mut doc = json!({
        "domain": "mastodon.test",
        "title": "Mastodon stand-in",
        "version": "4.5.0",
        "configuration": {"statuses": {"max_characters": 500}},
    });
    match &s.instance {
        Instance::Missing => {
            return (StatusCode::NOT_FOUND, "{\"error\":\"Record not found\"}").into_response();
        }
        Instance::WithoutAccess => doc["version"] = json!("4.3.0"),
        Instance::Access(access) => doc["configuration"]["timelines_access"] = access.clone(),
    }
    (StatusCode::OK, doc.to_string()).into_response()
}

/// The settings a timeline request depends on, as Mastodon 4.5's controllers read them.
fn gates<'a>(access: &'a Value, uri: &Uri, q: &HashMap<String, String>) -> Vec<&'a str> {
    let feed = if uri.path().contains("/tag/") {
        "hashtag_feeds"
    } else {
        "live_feeds"
    };
    let sides: &[&str] = if q.get("local").is_some_and(|v| v == "true") {
        &["local"]
    } else if q.get("remote").is_some_and(|v| v == "true") {
        &["remote"]
    } else {
        &["local", "remote"]
    };
    sides
        .iter()
        .map(|side| access[feed][side].as_str().unwrap_or("public"))
        .collect()
}

/// A request's query parameters (no decoding: the tests send plain values).
pub fn query(uri: &Uri) -> HashMap<String, String> {
    uri.query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// A timeline request's page size: `limit`, 20 by default, at most 40.
pub fn limit(q: &HashMap<String, String>) -> usize {
    q.get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(20)
        .min(40)
}

/// The ids of a timeline page as Mastodon pages `ids` (oldest first) for `q`: the [`limit`]
/// statuses right after `min_id`, or the newest; newest first.
pub fn timeline_page(ids: &[u64], q: &HashMap<String, String>) -> Vec<u64> {
    let limit = limit(q);
    let mut page: Vec<u64> = match q.get("min_id").and_then(|m| m.parse::<u64>().ok()) {
        Some(min) => ids
            .iter()
            .copied()
            .filter(|&i| i > min)
            .take(limit)
            .collect(),
        None => {
            let newest = ids.len().saturating_sub(limit);
            ids[newest..].to_vec()
        }
    };
    page.reverse();
    page
}

async fn timeline(State(s): State<Arc<Shared>>, headers: HeaderMap, uri: Uri) -> Response {
    note(&s, &uri, &headers);
    let q = query(&uri);
    let mut served = true;
    if let Instance::Access(access) = &s.instance {
        let gates = gates(access, &uri, &q);
        if !headers.contains_key("authorization") && gates.iter().any(|g| *g != "public") {
            let body = json!({"error": "This method requires an authenticated user"});
            return (StatusCode::UNPROCESSABLE_ENTITY, body.to_string()).into_response();
        }
        served = gates.iter().any(|g| *g != "disabled");
    }
    let mut page = timeline_page(&s.ids, &q);
    if !served {
        page.clear();
    }
    let body: Vec<Value> = page
        .iter()
        .map(|id| json!({"id": id.to_string(), "content": format!("<p>status {id}</p>"), "language": "en"}))
        .collect();
    let mut resp = (StatusCode::OK, Value::Array(body).to_string()).into_response();
    if let Some(newest) = page.first() {
        // The same timeline (its `local` / `remote` kept), newer than this page.
        let mut query: Vec<String> = uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|kv| !kv.is_empty() && !kv.starts_with("min_id=") && !kv.starts_with("max_id="))
            .map(str::to_owned)
            .collect();
        query.push(format!("min_id={newest}"));
        let link = format!("<{}?{}>; rel=\"prev\"", uri.path(), query.join("&"));
        if let Ok(v) = link.parse() {
            resp.headers_mut().insert("link", v);
        }
    }
    resp
}
