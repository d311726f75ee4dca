//! Bluesky's Jetstream as a [`Source`]: one WebSocket connection per invocation, replayed from
//! the stored position less a margin, read until it has caught up, `MAX_RECORDS`, the budget
//! or a stall, then handed to the producer. <https://github.com/bluesky-social/jetstream>
//!
//! Layout: [`config`] (its settings, `JETSTREAM_*`), [`event`] (one frame read into a post or
//! a skip: pure), [`position`] (the stored
//! position and its window of delivered posts: pure) and this module (the connection, the
//! fallback instances, reconnects and the reading loop).
//!
//! Why tokio-tungstenite: the WebSocket client the tokio ecosystem keeps (tokio's own examples
//! use it), small, answering the server's pings itself while we read (Jetstream drops readers
//! that do not), and TLS through rustls with the aws-lc-rs provider this workspace already
//! links for HTTPS: no OpenSSL, no second crypto library.

pub mod config;
pub mod event;
pub mod position;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use futures::StreamExt as _;
use ks_producer::config::StartPosition;
use ks_producer::{FetchBudget, Fetched, Source, SourceError, SourceRecord, Stop};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub use config::{DEFAULT_JETSTREAM_COLLECTIONS, DEFAULT_JETSTREAM_URL, JetstreamConfig};
use event::{Event, Forward, read_event};
use position::{Position, parse_record_id, record_id, uri_hash};

/// Reconnects within one invocation after a connection closes or fails mid-read.
pub const MAX_RECONNECTS: u32 = 3;
/// The largest frame tungstenite reads at all; frames between the cap we ask the server for
/// and this are counted and skipped. Jetstream events are a few KB.
const HARD_FRAME_LIMIT: usize = 16 * 1024 * 1024;
/// Jetstream v2 reads a `cursor` below this as its per-instance sequence number and one above as
/// unix microseconds (`docs/README.md` §5.1): positions are times, so a cursor never goes below.
pub const MIN_TIME_CURSOR: u64 = 1_000_000_000_000_000;
/// Jetstream keeps about 36 hours: an older cursor is clamped to the oldest event it has.
pub const LOOKBACK: Duration = Duration::from_secs(36 * 3600);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Debug, Clone)]
pub struct JetstreamSource {
    name: String,
    config: JetstreamConfig,
    start: StartPosition,
}

impl JetstreamSource {
    pub fn new(config: JetstreamConfig) -> Self {
        JetstreamSource {
            name: format!("jetstream:{}", host_of(&config.urls[0])),
            config,
            start: StartPosition::default(),
        }
    }

    /// Where a first run (no cursor) starts: the live tail, or the oldest event kept.
    pub fn starting_at(mut self, start: StartPosition) -> Self {
        self.start = start;
        self
    }

    /// The first `/subscribe` URL, the fallbacks in order, that accepts a connection from
    /// `cursor`; the index of the one used.
    async fn connect(&self, from: usize, cursor: Option<u64>) -> Result<(Socket, usize), String> {
        let mut errors = Vec::new();
        let n = self.config.urls.len();
        for k in 0..n {
            let i = (from + k) % n;
            let url = self.subscribe_url(&self.config.urls[i], cursor);
            let mut ws = WebSocketConfig::default();
            ws.max_message_size = Some(HARD_FRAME_LIMIT);
            ws.max_frame_size = Some(HARD_FRAME_LIMIT);
            let attempt = tokio::time::timeout(
                self.config.connect_timeout,
                tokio_tungstenite::connect_async_with_config(url.as_str(), Some(ws), true),
            )
            .await;
            match attempt {
                Ok(Ok((socket, _))) => return Ok((socket, i)),
                Ok(Err(e)) => errors.push(format!("{}: {e}", self.config.urls[i])),
                Err(_) => errors.push(format!(
                    "{}: no connection within {:?}",
                    self.config.urls[i], self.config.connect_timeout
                )),
            }
            tracing::warn!(url = %self.config.urls[i], error = %errors.last().map(String::as_str).unwrap_or(""), "jetstream: cannot connect, trying the next instance");
        }
        Err(errors.join("; "))
    }

    fn subscribe_url(&self, base: &str, cursor: Option<u64>) -> String {
        let mut url = base.to_owned();
        let mut sep = if url.contains('?') { '&' } else { '?' };
        let mut add = |k: &str, v: &str| {
            url.push(sep);
            url.push_str(k);
            url.push('=');
            url.push_str(v);
            sep = '&';
        };
        for c in &self.config.collections {
            add("wantedCollections", c);
        }
        add(
            "maxMessageSizeBytes",
            &self.config.max_frame_bytes.to_string(),
        );
        if let Some(c) = cursor {
            add("cursor", &c.max(MIN_TIME_CURSOR).to_string());
        }
        url
    }

    /// Where to connect from: the stored position less the replay margin, else the start.
    fn first_cursor(&self, position: &Position) -> Option<u64> {
        match position.time_us {
            Some(t) => {
                let margin = self.config.replay.as_micros() as u64;
                if now_us().saturating_sub(t) > LOOKBACK.as_micros() as u64 {
                    tracing::warn!(source = %self.name, time_us = t, "jetstream: the position is older than the ~36 h the server keeps; posts between it and the oldest kept event are lost");
                }
                Some(t.saturating_sub(margin))
            }
            // Any time older than what the server keeps reads from its oldest event; a time,
            // not a small number, which Jetstream v2 would read as its own sequence number.
            None => match self.start {
                StartPosition::Latest => None,
                StartPosition::Oldest => Some(now_us().saturating_sub(LOOKBACK.as_micros() as u64)),
            },
        }
    }
}

/// The reading state of one invocation.
struct Reading<'a> {
    source: &'a JetstreamSource,
    position: Position,
    budget: FetchBudget,
    connected_at_us: u64,
    records: Vec<SourceRecord>,
    seen: HashSet<u64>,
    skipped: BTreeMap<&'static str, u64>,
    /// The newest `time_us` read, of any event: where a reconnect resumes from.
    newest: Option<u64>,
}

/// How one connection ended.
enum Ended {
    Stop(Stop),
    /// Closed or failed; worth a reconnect.
    Lost(String),
}

impl Reading<'_> {
    fn skip(&mut self, why: &'static str) {
        *self.skipped.entry(why).or_default() += 1;
    }

    /// Reads frames until a stop or the connection is lost.
    async fn read(&mut self, socket: &mut Socket) -> Ended {
        // The stall clock runs from the last data frame: the server's pings (and our pongs)
        // keep a connection open but bring no events, so they must not keep the read waiting.
        let mut last_data = Instant::now();
        loop {
            if self.records.len() >= self.budget.max_records {
                return Ended::Stop(Stop::MaxRecords);
            }
            // Checked here too: a frame that is always ready would win every timeout.
            if Instant::now() >= self.budget.deadline {
                return Ended::Stop(Stop::Deadline);
            }
            let stalled_at = last_data + self.source.config.stall;
            let frame =
                match tokio::time::timeout_at(stalled_at.min(self.budget.deadline), socket.next())
                    .await
                {
                    Err(_) if Instant::now() >= self.budget.deadline => {
                        return Ended::Stop(Stop::Deadline);
                    }
                    Err(_) => return Ended::Stop(Stop::Stalled),
                    Ok(None) => return Ended::Lost("the server closed the connection".into()),
                    Ok(Some(Err(e))) => return Ended::Lost(e.to_string()),
                    Ok(Some(Ok(m))) => m,
                };
            let text = match frame {
                Message::Text(t) => t,
                Message::Close(c) => return Ended::Lost(format!("closed by the server: {c:?}")),
                Message::Binary(_) => {
                    last_data = Instant::now();
                    self.skip("garbage");
                    continue;
                }
                // Ping, pong (answered by tungstenite as we read), raw frames: no data.
                _ => continue,
            };
            last_data = Instant::now();
            if text.len() > self.source.config.max_frame_bytes {
                self.skip("oversize");
                continue;
            }
            if let Some(stop) = self.take(text.as_str()) {
                return Ended::Stop(stop);
            }
        }
    }

    /// Takes in one text frame; `Some` when it shows the reader has caught up.
    fn take(&mut self, text: &str) -> Option<Stop> {
        let forward = if self.source.config.deletions {
            Forward::Deletions
        } else {
            Forward::PostsOnly
        };
        let t = match read_event(text, &self.source.config.collections, forward) {
            Err(e) => {
                tracing::debug!(source = %self.source.name, error = %e, "jetstream: frame skipped");
                self.skip("garbage");
                return None;
            }
            Ok(Event::Skipped(kind, t)) => {
                self.skip(kind);
                t
            }
            Ok(Event::Post(p)) => {
                let h = uri_hash(&p.key);
                if self.position.has(&p.key) || !self.seen.insert(h) {
                    self.skip("replayed");
                } else {
                    self.records.push(SourceRecord {
                        id: record_id(p.time_us, &p.key),
                        data: p.data,
                    });
                }
                p.time_us
            }
        };
        self.newest = Some(self.newest.map_or(t, |n| n.max(t)));
        (t >= self.connected_at_us).then_some(Stop::CaughtUp)
    }
}

impl Source for JetstreamSource {
    fn empty_hint(&self) -> &'static str {
        "JETSTREAM_COLLECTIONS may match nothing, or the instance sends no commits; try another JETSTREAM_URL"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn keeps_position(&self) -> bool {
        true
    }

    fn position_after(&self, before: Option<&str>, delivered: &[&SourceRecord]) -> Option<String> {
        let before = before
            .and_then(|b| Position::parse(b).ok())
            .unwrap_or_default();
        let posts = delivered
            .iter()
            .filter_map(|r| parse_record_id(&r.id))
            .map(|(t, uri)| (uri, t));
        let window = self.config.replay.as_micros() as u64 * 2;
        before.after(posts, window).render()
    }

    async fn fetch(
        &self,
        cursor: Option<&str>,
        budget: FetchBudget,
    ) -> Result<Fetched, SourceError> {
        let position = match cursor {
            None => Position::default(),
            Some(c) => Position::parse(c).map_err(|e| SourceError::Permanent {
                source_name: self.name.clone(),
                reason: format!("{e}; delete the cursor (CURSOR_KEY) to start again"),
            })?,
        };
        let resume = self.first_cursor(&position);
        let mut reading = Reading {
            source: self,
            position,
            budget,
            connected_at_us: now_us(),
            records: Vec::new(),
            seen: HashSet::new(),
            skipped: BTreeMap::new(),
            newest: None,
        };
        let (stop, error, connections) = self.read_all(&mut reading, resume).await?;
        Ok(Fetched {
            records: reading.records,
            pages: connections,
            stop,
            connects_to_cursor: true,
            rejected: 0,
            error,
            skipped: reading.skipped.into_iter().collect(),
        })
    }
}

impl JetstreamSource {
    /// Connects, reads, and reconnects (to the next instance if need be) after a loss.
    async fn read_all(
        &self,
        reading: &mut Reading<'_>,
        mut resume: Option<u64>,
    ) -> Result<(Stop, Option<SourceError>, u32), SourceError> {
        let margin = self.config.replay.as_micros() as u64;
        let (mut instance, mut connections, mut lost) = (0, 0u32, String::new());
        while connections <= MAX_RECONNECTS && Instant::now() < reading.budget.deadline {
            let (mut socket, used) = match self.connect(instance, resume).await {
                Ok(s) => s,
                Err(why) if connections == 0 => {
                    return Err(SourceError::Unavailable {
                        source_name: self.name.clone(),
                        attempts: self.config.urls.len() as u32,
                        reason: why,
                    });
                }
                Err(why) => {
                    lost = why;
                    break;
                }
            };
            connections += 1;
            instance = used;
            match reading.read(&mut socket).await {
                Ended::Stop(stop) => {
                    let _ = socket.close(None).await;
                    return Ok((stop, None, connections));
                }
                Ended::Lost(why) => {
                    tracing::warn!(source = %self.name, error = %why, "jetstream: connection lost, reconnecting");
                    lost = why;
                    // Resume a margin before the newest event read: the window drops repeats.
                    resume = reading.newest.map(|t| t.saturating_sub(margin)).or(resume);
                    // A connection that failed at once may be the instance: try the next one.
                    instance += 1;
                }
            }
        }
        let error = SourceError::Unavailable {
            source_name: self.name.clone(),
            attempts: connections,
            reason: lost,
        };
        Ok((Stop::Failed, Some(error), connections))
    }
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?', '#']).next().unwrap_or(rest)
}

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(urls: &[&str]) -> JetstreamSource {
        JetstreamSource::new(JetstreamConfig {
            urls: urls.iter().map(|u| (*u).to_owned()).collect(),
            ..JetstreamConfig::default()
        })
    }

    #[test]
    fn the_subscribe_url_names_collections_the_size_cap_and_the_cursor() {
        let s = source(&["wss://jetstream2.us-east.bsky.network/subscribe"]);
        assert_eq!(s.name(), "jetstream:jetstream2.us-east.bsky.network");
        let url = s.subscribe_url("wss://h/subscribe", Some(1_700_000_000_000_000));
        assert_eq!(
            url,
            "wss://h/subscribe?wantedCollections=app.bsky.feed.post&maxMessageSizeBytes=1048576&cursor=1700000000000000"
        );
        assert!(!s.subscribe_url("ws://h/subscribe", None).contains("cursor"));
    }

    #[test]
    fn a_first_run_starts_at_the_tail_or_the_oldest_and_a_later_one_replays_a_margin() {
        let s = source(&["ws://h/subscribe"]);
        assert_eq!(s.first_cursor(&Position::default()), None);
        let oldest = s.clone().starting_at(StartPosition::Oldest);
        let from = oldest.first_cursor(&Position::default()).unwrap();
        let lookback = LOOKBACK.as_micros() as u64;
        assert!(
            from >= MIN_TIME_CURSOR
                && now_us() - from >= lookback
                && now_us() - from < lookback + 60_000_000
        );
        assert!(
            oldest
                .subscribe_url("ws://h/subscribe", Some(7))
                .ends_with(&format!("cursor={MIN_TIME_CURSOR}"))
        );
        let at = Position::default().after([("at://x", now_us())], 1);
        let t = at.time_us.unwrap();
        assert_eq!(
            s.first_cursor(&at),
            Some(t - s.config.replay.as_micros() as u64)
        );
    }
}
