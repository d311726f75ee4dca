//! The Jetstream source's settings (`SOURCE=jetstream`, `JETSTREAM_*`), their defaults and
//! their reading.

use std::time::Duration;

use ks_kernel::env::{ConfigError, Env};

/// Bluesky's Jetstream (`SOURCE=jetstream`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JetstreamConfig {
    /// `JETSTREAM_URL` first, then `JETSTREAM_FALLBACK_URLS` in order: `wss://` (or `ws://`
    /// for local runs) `…/subscribe` URLs.
    pub urls: Vec<String>,
    /// `wantedCollections` (NSIDs, or prefixes ending in `.*`).
    pub collections: Vec<String>,
    /// How far before the newest delivered post each run reconnects (the Jetstream docs advise
    /// a few seconds back for gapless playback), and half the window of delivered posts kept.
    pub replay: Duration,
    /// Frames larger than this are skipped (and asked of the server as `maxMessageSizeBytes`).
    pub max_frame_bytes: usize,
    /// No event for this long ends the read (pings do not count): a stalled server does not eat
    /// the budget.
    pub stall: Duration,
    pub connect_timeout: Duration,
    /// Whether edits, deletions and account events are forwarded as records
    /// (`JETSTREAM_DELETIONS`): on by default, as Bluesky's Developer Guidelines require a way
    /// to delete what a user asked to be deleted.
    pub deletions: bool,
}

/// The public instance the stack reads by default (Bluesky runs four).
pub const DEFAULT_JETSTREAM_URL: &str = "wss://jetstream2.us-east.bsky.network/subscribe";
/// Posts only.
pub const DEFAULT_JETSTREAM_COLLECTIONS: &str = "app.bsky.feed.post";

impl Default for JetstreamConfig {
    fn default() -> Self {
        JetstreamConfig {
            urls: vec![DEFAULT_JETSTREAM_URL.to_owned()],
            collections: vec![DEFAULT_JETSTREAM_COLLECTIONS.to_owned()],
            replay: Duration::from_secs(5),
            max_frame_bytes: 1_048_576,
            stall: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            deletions: true,
        }
    }
}

impl JetstreamConfig {
    /// Reads the `JETSTREAM_*` variables.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<'_, F>) -> Result<Self, ConfigError> {
        let d = JetstreamConfig::default();
        let mut urls = vec![
            ws_url(env, "JETSTREAM_URL", env.get("JETSTREAM_URL"))?
                .unwrap_or_else(|| d.urls[0].clone()),
        ];
        for u in env
            .get("JETSTREAM_FALLBACK_URLS")
            .unwrap_or_default()
            .split(',')
        {
            if let Some(u) = ws_url(env, "JETSTREAM_FALLBACK_URLS", Some(u.trim().to_owned()))? {
                urls.push(u);
            }
        }
        let collections: Vec<String> = env
            .get("JETSTREAM_COLLECTIONS")
            .unwrap_or_else(|| DEFAULT_JETSTREAM_COLLECTIONS.to_owned())
            .split(',')
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .collect();
        if collections.is_empty() || collections.len() > 100 {
            return Err(env.invalid(
                "JETSTREAM_COLLECTIONS",
                "1 to 100 comma-separated NSIDs (or prefixes ending in .*)",
            ));
        }
        if let Some(bad) = collections.iter().find(|c| !is_nsid(c)) {
            return Err(env.invalid(
                "JETSTREAM_COLLECTIONS",
                format!(
                    "{bad:?} is not an NSID like app.bsky.feed.post (or a prefix like app.bsky.feed.*)"
                ),
            ));
        }
        Ok(JetstreamConfig {
            urls,
            collections,
            replay: env.millis("JETSTREAM_REPLAY_MS", d.replay, 0..=600_000)?,
            max_frame_bytes: env.number(
                "JETSTREAM_MAX_FRAME_BYTES",
                d.max_frame_bytes,
                1_024..=16 * 1024 * 1024,
            )?,
            stall: env.millis("JETSTREAM_STALL_MS", d.stall, 100..=600_000)?,
            connect_timeout: env.millis(
                "JETSTREAM_CONNECT_TIMEOUT_MS",
                d.connect_timeout,
                100..=60_000,
            )?,
            deletions: env.flag("JETSTREAM_DELETIONS", d.deletions)?,
        })
    }

    /// The cursor's key when `CURSOR_KEY` is unset: one cursor per instance.
    pub fn cursor_key(&self) -> String {
        format!("jetstream:{}", crate::url::host_of(&self.urls[0]))
    }
}

/// A `ws://` or `wss://` URL with a host, or `None` for an empty value.
pub fn ws_url<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
    var: &'static str,
    value: Option<String>,
) -> Result<Option<String>, ConfigError> {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let host = v
        .strip_prefix("wss://")
        .or_else(|| v.strip_prefix("ws://"))
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""));
    match host {
        Some(h) if !h.is_empty() && !h.contains('@') => Ok(Some(v)),
        Some(_) => Err(env.invalid(var, format!("{v:?} needs a host (and no userinfo)"))),
        None => Err(env.invalid(
            var,
            format!("{v:?} must start with wss:// (or ws:// for local runs)"),
        )),
    }
}

/// An NSID (`app.bsky.feed.post`) or a prefix of one ending in `.*`.
fn is_nsid(c: &str) -> bool {
    let body = c.strip_suffix(".*").unwrap_or(c);
    let parts: Vec<&str> = body.split('.').collect();
    parts.len() >= 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-'))
}
