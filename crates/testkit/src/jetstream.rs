//! The stand-in for a Bluesky Jetstream instance: a real WebSocket server on loopback speaking
//! Jetstream's protocol (`GET /subscribe?wantedCollections=…&cursor=…&maxMessageSizeBytes=…`,
//! JSON text frames `{did, time_us, kind, commit|identity|account}`, inclusive replay from a
//! unix-µs cursor, live tail without one, identity and account events whatever the filter,
//! prefix filters like `app.bsky.feed.*`, pings the client must answer).
//!
//! As Jetstream v2 does, every event also carries `cursor`, this instance's own sequence number
//! (the event's place in the network, counted from 1 plus the instance's clock skew in ms, so
//! two instances' numbers differ), and a `?cursor=` below 10^15 is read as such a number, a
//! larger one as unix µs.
//!
//! Several instances can share one [`Network`] (the same events) with their own clock skew, as
//! Jetstream's public instances stamp the same event with slightly different `time_us`. Faults
//! per connection: close after N frames, garbage and oversize frames, a stall (the pings go on).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

use crate::serve::{self, Server};

/// One event of the network, in true time.
#[derive(Debug, Clone)]
pub struct NetEvent {
    pub true_us: u64,
    pub did: String,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Create {
        collection: String,
        rkey: String,
        text: String,
        lang: Option<String>,
        /// `reply.parent.uri` (and `reply.root.uri`).
        reply_to: Option<String>,
        /// The record's own `tags`, and the tags of its `app.bsky.richtext.facet#tag` facets.
        tags: Vec<String>,
        facet_tags: Vec<String>,
    },
    Update {
        collection: String,
        rkey: String,
    },
    Delete {
        collection: String,
        rkey: String,
    },
    Identity,
    /// An account's status: active, or not with a reason (`deleted`, `takendown`, `suspended`,
    /// `deactivated`), as Jetstream's `account` events say.
    Account {
        active: bool,
        status: Option<String>,
    },
}

/// The events every instance serves, and a live writer.
#[derive(Debug, Default)]
pub struct Network {
    events: Mutex<Vec<NetEvent>>,
    changed: tokio::sync::Notify,
}

impl Network {
    pub fn new() -> Arc<Self> {
        Arc::new(Network::default())
    }

    pub fn push(&self, e: NetEvent) {
        self.events.lock().expect("events lock").push(e);
        self.changed.notify_waiters();
    }

    /// `n` events ending `ago` before now, `step` apart: mostly posts (every 7th a like, every
    /// 11th an update, 13th a delete, 17th an identity, 19th an account event; every 5th post a
    /// reply, every 3rd with a tag and a tag facet). Returns the posts' URIs, the set every
    /// reader must deliver exactly once.
    pub fn backlog(&self, n: u64, ago: Duration, step: Duration) -> Vec<String> {
        let end = now_us().saturating_sub(ago.as_micros() as u64);
        let start = end.saturating_sub(n * step.as_micros() as u64);
        (0..n)
            .filter_map(|i| self.generate(i, start + i * step.as_micros() as u64))
            .collect()
    }

    /// Event `i` at `true_us`; the post's URI when it is one.
    pub fn generate(&self, i: u64, true_us: u64) -> Option<String> {
        let did = format!("did:plc:standin{:04}", i % 97);
        let rkey = format!("3k{i:011}");
        let post = "app.bsky.feed.post".to_owned();
        let kind = match i {
            _ if i % 19 == 18 => Kind::Account {
                active: true,
                status: None,
            },
            _ if i % 17 == 16 => Kind::Identity,
            _ if i % 13 == 12 => Kind::Delete {
                collection: post,
                rkey,
            },
            _ if i % 11 == 10 => Kind::Update {
                collection: post,
                rkey,
            },
            _ if i % 7 == 6 => Kind::Create {
                collection: "app.bsky.feed.like".into(),
                rkey,
                text: String::new(),
                lang: None,
                reply_to: None,
                tags: Vec::new(),
                facet_tags: Vec::new(),
            },
            _ => {
                let mood = [
                    "I love this",
                    "this is terrible",
                    "a chair",
                    "great and awful",
                ][(i % 4) as usize];
                let (tags, facet_tags) = if i.is_multiple_of(3) {
                    (vec!["standin".to_owned()], vec![format!("mood{}", i % 4)])
                } else {
                    (Vec::new(), Vec::new())
                };
                Kind::Create {
                    collection: post,
                    rkey,
                    text: format!("post {i}: {mood}"),
                    lang: Some("en".into()),
                    reply_to: i.is_multiple_of(5).then(|| {
                        format!(
                            "at://did:plc:standin{:04}/app.bsky.feed.post/3k{:011}",
                            (i + 1) % 97,
                            i / 2
                        )
                    }),
                    tags,
                    facet_tags,
                }
            }
        };
        let uri = match &kind {
            Kind::Create {
                collection, rkey, ..
            } if collection == "app.bsky.feed.post" => {
                Some(format!("at://{did}/{collection}/{rkey}"))
            }
            _ => None,
        };
        self.push(NetEvent { true_us, did, kind });
        uri
    }

    /// Appends a post every `every` from now on, until the returned handle is dropped; the
    /// posts' URIs are collected in the returned list.
    pub fn live(self: &Arc<Self>, every: Duration) -> Live {
        let net = self.clone();
        let uris = Arc::new(Mutex::new(Vec::new()));
        let out = uris.clone();
        let task = tokio::spawn(async move {
            // Multiples of 7·11·13·17·19 are posts in `generate`'s scheme (and unlike any
            // backlog index): every live event is a new post.
            let mut i = 1_000;
            loop {
                tokio::time::sleep(every).await;
                if let Some(uri) = net.generate(i * 323_323, now_us()) {
                    out.lock().expect("uris lock").push(uri);
                }
                i += 1;
            }
        });
        Live { task, uris }
    }

    fn snapshot_from(&self, from: usize) -> Vec<NetEvent> {
        let events = self.events.lock().expect("events lock");
        events
            .get(from..)
            .map(<[NetEvent]>::to_vec)
            .unwrap_or_default()
    }
}

/// Live posts being written; stops when dropped.
pub struct Live {
    task: tokio::task::JoinHandle<()>,
    pub uris: Arc<Mutex<Vec<String>>>,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Faults, per connection (counted from 1).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// `time_us` here is true time plus this (another instance's clock).
    pub skew_us: i64,
    /// The first N connections are closed after `close_after_frames` frames.
    pub close_first_connections: u64,
    pub close_after_frames: u64,
    /// Every Nth frame is preceded by a frame that is not JSON (0 = never).
    pub garbage_every: u64,
    /// Every Nth frame is preceded by one larger than the client's `maxMessageSizeBytes`.
    pub oversize_every: u64,
    /// After this many frames the server sends nothing more, keeping the connection (0 = never).
    pub stall_after_frames: u64,
    /// A ping every this often (0 = none).
    pub ping_every: Duration,
    /// Connections are refused (the instance is down).
    pub refuse: bool,
}

#[derive(Debug, Default)]
pub struct Stats {
    pub connections: AtomicU64,
    pub frames: AtomicU64,
    pub pongs: AtomicU64,
    /// Each connection's query string.
    pub queries: Mutex<Vec<String>>,
}

/// A running instance; stops when dropped.
pub struct StandIn {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
    _server: Server,
}

impl StandIn {
    pub async fn start(net: Arc<Network>, faults: Faults) -> std::io::Result<Self> {
        Self::bind(serve::loopback(), net, faults).await
    }

    pub async fn bind(
        addr: SocketAddr,
        net: Arc<Network>,
        faults: Faults,
    ) -> std::io::Result<Self> {
        let stats = Arc::new(Stats::default());
        let (s, f) = (stats.clone(), Arc::new(faults));
        let server = serve::tcp(addr, move |tcp| {
            let n = s.connections.fetch_add(1, Ordering::SeqCst) + 1;
            // A refused connection is dropped here, unanswered.
            if !f.refuse {
                tokio::spawn(connection(tcp, net.clone(), f.clone(), s.clone(), n));
            }
        })
        .await?;
        Ok(StandIn {
            addr: server.addr,
            stats,
            _server: server,
        })
    }

    /// The URL to give the client (`JETSTREAM_URL`).
    pub fn url(&self) -> String {
        format!("ws://{}/subscribe", self.addr)
    }
}

/// What a connection asked for.
struct Query {
    collections: Vec<String>,
    cursor: Option<u64>,
    max_size: usize,
}

fn parse_query(q: &str) -> Query {
    let mut out = Query {
        collections: Vec::new(),
        cursor: None,
        max_size: usize::MAX,
    };
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "wantedCollections" => out.collections.push(v.to_owned()),
            "cursor" => out.cursor = v.parse().ok(),
            "maxMessageSizeBytes" => out.max_size = v.parse().unwrap_or(usize::MAX),
            _ => {}
        }
    }
    out
}

async fn connection(
    tcp: tokio::net::TcpStream,
    net: Arc<Network>,
    f: Arc<Faults>,
    s: Arc<Stats>,
    conn: u64,
) {
    let query = Arc::new(Mutex::new(String::new()));
    let q = query.clone();
    // The handshake callback's error type is tungstenite's, not ours to shrink.
    #[allow(clippy::result_large_err)]
    let callback = move |req: &Request, resp: Response| {
        *q.lock().expect("query lock") = req.uri().query().unwrap_or("").to_owned();
        Ok(resp)
    };
    let Ok(ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
        return;
    };
    let raw = query.lock().expect("query lock").clone();
    s.queries.lock().expect("queries lock").push(raw.clone());
    let query = parse_query(&raw);
    let (mut tx, mut rx) = ws.split();
    let stats = s.clone();
    // Pongs (and a close) come back on the reading half.
    let reader = tokio::spawn(async move {
        while let Some(Ok(m)) = rx.next().await {
            if matches!(m, Message::Pong(_)) {
                stats.pongs.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let mut next = 0usize;
    let mut sent = 0u64;
    let live_from = now_us();
    let mut ping = tokio::time::interval(if f.ping_every.is_zero() {
        Duration::from_secs(3600)
    } else {
        f.ping_every
    });
    ping.tick().await;
    loop {
        let changed = net.changed.notified();
        for e in net.snapshot_from(next) {
            next += 1;
            let t = (e.true_us as i64 + f.skew_us).max(0) as u64;
            let seq = next as u64 + f.skew_us.unsigned_abs() / 1000;
            let wanted = match query.cursor {
                Some(c) if c < SEQUENCE_CURSOR_BELOW => seq >= c,
                Some(c) => t >= c,
                None => e.true_us >= live_from,
            };
            if !wanted || !passes(&e, &query.collections) {
                continue;
            }
            if f.stall_after_frames > 0 && sent >= f.stall_after_frames {
                // Stalled: no more events, but the connection stays open and the pings go on
                // (a server's keep-alive runs apart from the loop that feeds it events).
                loop {
                    ping.tick().await;
                    if tx.send(Message::Ping(Vec::new().into())).await.is_err() {
                        reader.abort();
                        return;
                    }
                }
            }
            if f.close_first_connections >= conn
                && f.close_after_frames > 0
                && sent >= f.close_after_frames
            {
                let _ = tx.close().await;
                reader.abort();
                return;
            }
            sent += 1;
            if f.garbage_every > 0 && sent.is_multiple_of(f.garbage_every) {
                let _ = tx.send(Message::text("{not json")).await;
            }
            if f.oversize_every > 0
                && sent.is_multiple_of(f.oversize_every)
                && query.max_size < 4_000_000
            {
                let big = format!(
                    "{{\"did\":\"did:plc:big\",\"time_us\":{t},\"kind\":\"commit\",\"pad\":\"{}\"}}",
                    "x".repeat(query.max_size + 1)
                );
                let _ = tx.send(Message::text(big)).await;
            }
            s.frames.fetch_add(1, Ordering::SeqCst);
            if tx.send(Message::text(frame(&e, t, seq))).await.is_err() {
                reader.abort();
                return;
            }
        }
        tokio::select! {
            _ = changed => {}
            _ = ping.tick() => {
                if tx.send(Message::Ping(Vec::new().into())).await.is_err() {
                    reader.abort();
                    return;
                }
            }
        }
    }
}

fn passes(e: &NetEvent, wanted: &[String]) -> bool {
    let collection = match &e.kind {
        Kind::Identity | Kind::Account { .. } => return true,
        Kind::Create { collection, .. }
        | Kind::Update { collection, .. }
        | Kind::Delete { collection, .. } => collection,
    };
    wanted.is_empty()
        || wanted.iter().any(|w| match w.strip_suffix('*') {
            Some(prefix) => collection.starts_with(prefix),
            None => w == collection,
        })
}

/// The frame as Jetstream writes it (fields omitted when empty, as the server does).
/// Jetstream v2 reads a smaller `cursor` as its sequence number (`docs/README.md` §5.1).
const SEQUENCE_CURSOR_BELOW: u64 = 1_000_000_000_000_000;

fn frame(e: &NetEvent, t: u64, seq: u64) -> String {
    let rev = format!("3l{t:011}");
    let mut v = match &e.kind {
        Kind::Create {
            collection,
            rkey,
            text,
            lang,
            reply_to,
            tags,
            facet_tags,
        } => {
            let mut record =
                json!({"$type": collection, "createdAt": "2026-12-02T10:00:00.000Z", "text": text});
            if let Some(l) = lang {
                record["langs"] = json!([l]);
            }
            if let Some(parent) = reply_to {
                record["reply"] = json!({"parent": {"uri": parent, "cid": "bafyreiparent"},
                    "root": {"uri": parent, "cid": "bafyreiparent"}});
            }
            if !tags.is_empty() {
                record["tags"] = json!(tags);
            }
            if !facet_tags.is_empty() {
                // Byte offsets into `text` (UTF-8), as the lexicon's facets index them.
                let facets: Vec<_> = facet_tags
                    .iter()
                    .map(|t| {
                        json!({"index": {"byteStart": 0, "byteEnd": 4},
                        "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": t}]})
                    })
                    .collect();
                record["facets"] = json!(facets);
            }
            json!({"did": e.did, "time_us": t, "kind": "commit", "commit": {
                "rev": rev, "operation": "create", "collection": collection, "rkey": rkey,
                "record": record, "cid": format!("bafyrei{rkey}")}})
        }
        Kind::Update { collection, rkey } => {
            json!({"did": e.did, "time_us": t, "kind": "commit", "commit": {
            "rev": rev, "operation": "update", "collection": collection, "rkey": rkey,
            "record": {"$type": collection, "text": "edited", "createdAt": "2026-12-02T10:00:00.000Z"}, "cid": "bafyreiupdate"}})
        }
        Kind::Delete { collection, rkey } => {
            json!({"did": e.did, "time_us": t, "kind": "commit", "commit": {
            "rev": rev, "operation": "delete", "collection": collection, "rkey": rkey}})
        }
        Kind::Identity => json!({"did": e.did, "time_us": t, "kind": "identity", "identity": {
            "did": e.did, "handle": "someone.bsky.social", "seq": t / 1000, "time": "2026-12-02T10:00:00.000Z"}}),
        Kind::Account { active, status } => {
            let mut account = json!({"active": active, "did": e.did, "seq": t / 1000,
                "time": "2026-12-02T10:00:00.000Z"});
            // Jetstream omits `status` for an active account.
            if let Some(s) = status {
                account["status"] = json!(s);
            }
            json!({"did": e.did, "time_us": t, "kind": "account", "account": account})
        }
    };
    v["cursor"] = json!(seq);
    v.to_string()
}

pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}
