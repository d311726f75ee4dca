//! The producer's settings, read once from the environment at cold start and validated; a bad
//! value stops the start with an error naming the variable. Every variable is in the
//! stream-producer README. A scheduled invocation may narrow some of them ([`Overrides`]).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::batch::{Keying, PackLimits};
use super::deliver::DeliverySettings;
use super::limits::{
    KPL_DEFAULT_AGGREGATION_MAX_BYTES, MASTODON_MAX_PAGE_LIMIT, PUT_RECORDS_MAX_RECORDS,
    PUT_RECORDS_MAX_REQUEST_BYTES_CEILING,
};
use super::run::ProduceSettings;
use super::synthetic::DEFAULT_RATE_PER_SEC;
pub use ks_kernel::env::ConfigError;
use ks_kernel::env::{Env, RetryVars};
use ks_kernel::retry::RetryPolicy;

/// Where records come from, with that source's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceConfig {
    Synthetic {
        seed: u64,
        per_invocation: usize,
        rate_per_sec: u32,
    },
    Mastodon(MastodonConfig),
    HttpJson(HttpJsonConfig),
    Jetstream(JetstreamConfig),
}

impl SourceConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            SourceConfig::Synthetic { .. } => "synthetic",
            SourceConfig::Mastodon(_) => "mastodon",
            SourceConfig::HttpJson(_) => "http-json",
            SourceConfig::Jetstream(_) => "jetstream",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MastodonConfig {
    /// The server, e.g. `https://mastodon.social`.
    pub base_url: String,
    /// Statuses a page (≤ 40).
    pub page_limit: u32,
    /// Which of the server's timelines is read (`MASTODON_TIMELINE`).
    pub timeline: MastodonTimeline,
    /// SSM parameter (or `/aws/reference/secretsmanager/<name>`) holding an access token.
    pub token_param: Option<String>,
}

/// `MASTODON_TIMELINE`: which of a Mastodon server's timelines is read. Each has its own
/// access setting on Mastodon 4.5 and later (`configuration.timelines_access` in
/// `GET /api/v2/instance`), checked at cold start.
/// <https://docs.joinmastodon.org/methods/timelines/>
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum MastodonTimeline {
    /// The federated timeline: the server's own statuses and those it knows from elsewhere.
    #[default]
    Public,
    /// The server's own statuses (`?local=true`).
    Local,
    /// Only statuses from other servers (`?remote=true`).
    Remote,
    /// One hashtag (`/api/v1/timelines/tag/<hashtag>`), given without its `#`.
    Tag(String),
}

impl MastodonTimeline {
    /// The values `MASTODON_TIMELINE` takes, as the error lists them.
    pub const CHOICES: &'static str = "public, local, remote, tag:<hashtag>";

    /// Reads a value of `MASTODON_TIMELINE` (the keywords in any case); the reason it is
    /// refused otherwise.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.to_ascii_lowercase().as_str() {
            "public" => return Ok(MastodonTimeline::Public),
            "local" => return Ok(MastodonTimeline::Local),
            "remote" => return Ok(MastodonTimeline::Remote),
            _ => {}
        }
        let Some(tag) = value
            .get(..4)
            .filter(|prefix| prefix.eq_ignore_ascii_case("tag:"))
            .map(|_| &value[4..])
        else {
            return Err(format!("expected one of: {}", Self::CHOICES));
        };
        // A `#` would start the URL's fragment and a `/` another path segment: neither can be
        // part of a hashtag, so they are refused rather than encoded.
        if tag.is_empty() {
            Err("tag: needs a hashtag, e.g. tag:rustlang".to_owned())
        } else if tag.contains(['#', '/']) || tag.chars().any(char::is_whitespace) {
            Err(format!(
                "{tag:?} is not a hashtag: give it without '#', with no '/' or spaces"
            ))
        } else {
            Ok(MastodonTimeline::Tag(tag.to_owned()))
        }
    }
}

impl std::fmt::Display for MastodonTimeline {
    /// As `MASTODON_TIMELINE` writes it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MastodonTimeline::Public => f.write_str("public"),
            MastodonTimeline::Local => f.write_str("local"),
            MastodonTimeline::Remote => f.write_str("remote"),
            MastodonTimeline::Tag(tag) => write!(f, "tag:{tag}"),
        }
    }
}

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
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpJsonConfig {
    pub url: String,
    /// Pointer to the records array; empty for a top-level array.
    pub records_pointer: String,
    /// Pointer, inside each record, to its id.
    pub id_pointer: String,
    /// Query parameter that carries the cursor (e.g. `since_id`); none fetches from the start.
    pub cursor_param: Option<String>,
    /// Pointer to the next page's URL (or token, with `next_param`) in each response.
    pub next_pointer: Option<String>,
    /// Query parameter that carries the token found at `next_pointer`.
    pub next_param: Option<String>,
    /// Whether pages run oldest first (a stop midway leaves no gap behind the cursor).
    pub oldest_first: bool,
    pub auth_header: String,
    /// Prefix of the header value, e.g. `Bearer`.
    pub auth_scheme: Option<String>,
    /// SSM parameter (or `/aws/reference/secretsmanager/<name>`) holding the credential.
    pub auth_param: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorConfig {
    /// One JSON file per cursor key in this directory (local runs, the embedded default).
    File { dir: PathBuf },
    /// One item per cursor key in this DynamoDB table (partition key `source`, a string).
    DynamoDb { table: String },
}

/// How HTTP sources fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchSettings {
    pub timeout: Duration,
    pub max_response_bytes: usize,
    pub retry: RetryPolicy,
}

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            timeout: Duration::from_secs(10),
            max_response_bytes: 5 * 1024 * 1024,
            retry: RetryPolicy {
                max_attempts: 4,
                base: Duration::from_millis(200),
                cap: Duration::from_secs(5),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerConfig {
    pub source: SourceConfig,
    /// Where a source with no cursor yet starts (`START_POSITION`).
    pub start_position: StartPosition,
    /// The cursor's key: one cursor per source.
    pub cursor_key: String,
    pub cursor: CursorConfig,
    pub stream_name: String,
    pub settings: ProduceSettings,
    pub fetch: FetchSettings,
    /// Time kept back from the Lambda deadline for the checkpoint and the summary.
    pub deadline_margin: Duration,
    /// The most one cursor-store call (DynamoDB) may take: the checkpoint runs within
    /// `deadline_margin`, so this should stay below it.
    pub cursor_timeout: Duration,
    pub metrics_namespace: String,
    /// Empty runs in a row (fetch caught up with zero records) after which each further empty
    /// run logs a warning (`SOURCE_EMPTY_WARN_RUNS`).
    pub source_empty_warn_runs: u64,
}

/// `START_POSITION`: where a source with no cursor yet starts, like Kinesis' `LATEST` and
/// `TRIM_HORIZON` shard iterators. Once a source has a cursor, the cursor decides. The
/// synthetic source ignores it: with no cursor it starts at its first post.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StartPosition {
    /// What is newest now: Mastodon's newest page; an http-json API's first page only.
    #[default]
    Latest,
    /// The oldest the source serves, read forward within the budget: Mastodon from `min_id=0`;
    /// an http-json API from its first page through `next`.
    Oldest,
}

impl StartPosition {
    /// The values `START_POSITION` takes.
    pub const CHOICES: [(&'static str, StartPosition); 2] = [
        (StartPosition::Latest.as_str(), StartPosition::Latest),
        (StartPosition::Oldest.as_str(), StartPosition::Oldest),
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            StartPosition::Latest => "latest",
            StartPosition::Oldest => "oldest",
        }
    }
}

/// The defaults of the settings that are not in a settings struct's `Default`, written once.
pub const DEFAULT_SYNTHETIC_SEED: u64 = 42;
/// See [`DEFAULT_SYNTHETIC_SEED`].
pub const DEFAULT_SYNTHETIC_PER_INVOCATION: usize = 500;
/// See [`DEFAULT_SYNTHETIC_SEED`].
pub const DEFAULT_CURSOR_DIR: &str = "/tmp/stream-producer";
/// See [`DEFAULT_SYNTHETIC_SEED`].
pub const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_millis(2_000);
/// See [`DEFAULT_SYNTHETIC_SEED`].
pub const DEFAULT_CURSOR_TIMEOUT: Duration = Duration::from_millis(1_500);
/// See [`DEFAULT_SYNTHETIC_SEED`].
pub const DEFAULT_METRICS_NAMESPACE: &str = "KinesisSentiment";
/// See [`DEFAULT_SYNTHETIC_SEED`].
pub const DEFAULT_AUTH_HEADER: &str = "Authorization";
/// See [`DEFAULT_SYNTHETIC_SEED`]. At a one-minute schedule, ten minutes of nothing.
pub const DEFAULT_SOURCE_EMPTY_WARN_RUNS: u64 = 10;

const PUT_RETRY_VARS: RetryVars = RetryVars {
    attempts: "PUT_MAX_ATTEMPTS",
    base: "PUT_BACKOFF_BASE_MS",
    cap: "PUT_BACKOFF_CAP_MS",
};
const FETCH_RETRY_VARS: RetryVars = RetryVars {
    attempts: "FETCH_MAX_ATTEMPTS",
    base: "FETCH_BACKOFF_BASE_MS",
    cap: "FETCH_BACKOFF_CAP_MS",
};

/// `SOURCE`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SourceKind {
    Synthetic,
    Mastodon,
    HttpJson,
    Jetstream,
}

/// `CURSOR_STORE`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreKind {
    File,
    DynamoDb,
}

/// `HTTP_JSON_PAGE_ORDER`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageOrder {
    NewestFirst,
    OldestFirst,
}

impl ProducerConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let source = read_source(&env)?;
        let cursor_key = env
            .get("CURSOR_KEY")
            .unwrap_or_else(|| default_cursor_key(&source));
        let stream_name = env.get("STREAM_NAME").ok_or_else(|| {
            env.invalid("STREAM_NAME", "required: the Kinesis stream to put into")
        })?;
        Ok(ProducerConfig {
            source,
            start_position: env.choice(
                "START_POSITION",
                StartPosition::default().as_str(),
                &StartPosition::CHOICES,
            )?,
            cursor_key,
            cursor: read_cursor(&env)?,
            stream_name,
            settings: read_produce_settings(&env)?,
            fetch: read_fetch_settings(&env)?,
            cursor_timeout: env.millis(
                "CURSOR_TIMEOUT_MS",
                DEFAULT_CURSOR_TIMEOUT,
                100..=60_000,
            )?,
            deadline_margin: env.millis(
                "DEADLINE_MARGIN_MS",
                DEFAULT_DEADLINE_MARGIN,
                0..=600_000,
            )?,
            metrics_namespace: env
                .get("METRICS_NAMESPACE")
                .unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_owned()),
            source_empty_warn_runs: env.number(
                "SOURCE_EMPTY_WARN_RUNS",
                DEFAULT_SOURCE_EMPTY_WARN_RUNS,
                1..=100_000,
            )?,
        })
    }
}

fn read_source<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
) -> Result<SourceConfig, ConfigError> {
    let kind = env.choice(
        "SOURCE",
        "synthetic",
        &[
            ("synthetic", SourceKind::Synthetic),
            ("mastodon", SourceKind::Mastodon),
            ("http-json", SourceKind::HttpJson),
            ("jetstream", SourceKind::Jetstream),
        ],
    )?;
    Ok(match kind {
        SourceKind::Mastodon => SourceConfig::Mastodon(MastodonConfig {
            base_url: env.url("MASTODON_URL")?,
            page_limit: env.number(
                "MASTODON_PAGE_LIMIT",
                MASTODON_MAX_PAGE_LIMIT,
                1..=MASTODON_MAX_PAGE_LIMIT,
            )?,
            timeline: read_mastodon_timeline(env)?,
            token_param: env.get("MASTODON_TOKEN_PARAM"),
        }),
        SourceKind::HttpJson => SourceConfig::HttpJson(read_http_json(env)?),
        SourceKind::Jetstream => SourceConfig::Jetstream(read_jetstream(env)?),
        SourceKind::Synthetic => SourceConfig::Synthetic {
            seed: env.number("SYNTHETIC_SEED", DEFAULT_SYNTHETIC_SEED, 0..=u64::MAX)?,
            per_invocation: env.number(
                "SYNTHETIC_PER_INVOCATION",
                DEFAULT_SYNTHETIC_PER_INVOCATION,
                1..=1_000_000,
            )?,
            rate_per_sec: env.number(
                "SYNTHETIC_RATE_PER_SEC",
                DEFAULT_RATE_PER_SEC,
                1..=1_000_000,
            )?,
        },
    })
}

/// `MASTODON_TIMELINE`. The old `MASTODON_LOCAL` flag is refused rather than read as an
/// alias: with both set, which one wins would be a guess, and a stack that still sets it should
/// say what it means once.
fn read_mastodon_timeline<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
) -> Result<MastodonTimeline, ConfigError> {
    if env.get("MASTODON_LOCAL").is_some() {
        return Err(env.invalid(
            "MASTODON_LOCAL",
            "replaced by MASTODON_TIMELINE: unset it, and set MASTODON_TIMELINE=local for the server's own statuses",
        ));
    }
    match env.get("MASTODON_TIMELINE") {
        None => Ok(MastodonTimeline::default()),
        Some(v) => MastodonTimeline::parse(&v).map_err(|why| env.invalid("MASTODON_TIMELINE", why)),
    }
}

fn read_jetstream<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
) -> Result<JetstreamConfig, ConfigError> {
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
    })
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

fn read_http_json<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
) -> Result<HttpJsonConfig, ConfigError> {
    let next_pointer = env.pointer("HTTP_JSON_NEXT_POINTER")?;
    let next_param = env.get("HTTP_JSON_NEXT_PARAM");
    if next_param.is_some() && next_pointer.is_none() {
        return Err(env.invalid(
            "HTTP_JSON_NEXT_PARAM",
            "needs HTTP_JSON_NEXT_POINTER to say where the token is",
        ));
    }
    let order = env.choice(
        "HTTP_JSON_PAGE_ORDER",
        "newest-first",
        &[
            ("newest-first", PageOrder::NewestFirst),
            ("oldest-first", PageOrder::OldestFirst),
        ],
    )?;
    Ok(HttpJsonConfig {
        url: env.url("HTTP_JSON_URL")?,
        records_pointer: env
            .pointer("HTTP_JSON_RECORDS_POINTER")?
            .unwrap_or_default(),
        id_pointer: env
            .pointer("HTTP_JSON_ID_POINTER")?
            .unwrap_or_else(|| "/id".to_owned()),
        cursor_param: env.get("HTTP_JSON_CURSOR_PARAM"),
        next_pointer,
        next_param,
        oldest_first: order == PageOrder::OldestFirst,
        auth_header: env
            .get("HTTP_JSON_AUTH_HEADER")
            .unwrap_or_else(|| DEFAULT_AUTH_HEADER.to_owned()),
        auth_scheme: env.get("HTTP_JSON_AUTH_SCHEME"),
        auth_param: env.get("HTTP_JSON_AUTH_PARAM"),
    })
}

fn read_cursor<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
) -> Result<CursorConfig, ConfigError> {
    let kind = env.choice(
        "CURSOR_STORE",
        "file",
        &[("file", StoreKind::File), ("dynamodb", StoreKind::DynamoDb)],
    )?;
    Ok(match kind {
        StoreKind::DynamoDb => CursorConfig::DynamoDb {
            table: env.get("CURSOR_TABLE").ok_or_else(|| {
                env.invalid("CURSOR_TABLE", "required when CURSOR_STORE=dynamodb")
            })?,
        },
        StoreKind::File => CursorConfig::File {
            dir: PathBuf::from(
                env.get("CURSOR_DIR")
                    .unwrap_or_else(|| DEFAULT_CURSOR_DIR.to_owned()),
            ),
        },
    })
}

/// Request packing: the byte and record caps, and KPL aggregation.
fn read_limits<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
) -> Result<(PackLimits, Option<usize>), ConfigError> {
    let defaults = PackLimits::default();
    let max_request_bytes = env.number(
        "MAX_REQUEST_BYTES",
        defaults.max_request_bytes,
        1_024..=PUT_RECORDS_MAX_REQUEST_BYTES_CEILING,
    )?;
    let max_record_bytes = env.number(
        "MAX_RECORD_BYTES",
        defaults.max_record_bytes,
        1..=PUT_RECORDS_MAX_REQUEST_BYTES_CEILING,
    )?;
    if max_record_bytes > max_request_bytes {
        return Err(env.invalid("MAX_RECORD_BYTES", "must not exceed MAX_REQUEST_BYTES"));
    }
    let aggregation = if env.flag("AGGREGATION", false)? {
        let cap = env.number(
            "AGGREGATION_MAX_BYTES",
            KPL_DEFAULT_AGGREGATION_MAX_BYTES,
            64..=PUT_RECORDS_MAX_REQUEST_BYTES_CEILING,
        )?;
        if cap > max_record_bytes {
            return Err(env.invalid("AGGREGATION_MAX_BYTES", "must not exceed MAX_RECORD_BYTES"));
        }
        Some(cap)
    } else {
        None
    };
    let limits = PackLimits {
        max_records: env.number(
            "MAX_RECORDS_PER_REQUEST",
            defaults.max_records,
            1..=PUT_RECORDS_MAX_RECORDS,
        )?,
        max_request_bytes,
        max_record_bytes,
    };
    Ok((limits, aggregation))
}

fn read_produce_settings<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
) -> Result<ProduceSettings, ConfigError> {
    let defaults = ProduceSettings::default();
    let (limits, aggregation) = read_limits(env)?;
    Ok(ProduceSettings {
        limits,
        keying: Keying {
            partition_key: env.pointer("PARTITION_KEY_POINTER")?,
            explicit_hash_key: env.pointer("EXPLICIT_HASH_KEY_POINTER")?,
        },
        aggregation,
        delivery: DeliverySettings {
            retry: env.retry(PUT_RETRY_VARS, &defaults.delivery.retry)?,
            call_timeout: env.millis(
                "PUT_TIMEOUT_MS",
                defaults.delivery.call_timeout,
                100..=300_000,
            )?,
        },
        max_pages: env.number("MAX_PAGES", defaults.max_pages, 1..=10_000)?,
        max_records: env.number("MAX_RECORDS", defaults.max_records, 1..=1_000_000)?,
        put_reserve: env.millis("PUT_RESERVE_MS", defaults.put_reserve, 0..=900_000)?,
    })
}

fn read_fetch_settings<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
) -> Result<FetchSettings, ConfigError> {
    let defaults = FetchSettings::default();
    Ok(FetchSettings {
        timeout: env.millis("FETCH_TIMEOUT_MS", defaults.timeout, 100..=300_000)?,
        max_response_bytes: env.number(
            "MAX_RESPONSE_BYTES",
            defaults.max_response_bytes,
            1_024..=256 * 1024 * 1024,
        )?,
        retry: env.retry(FETCH_RETRY_VARS, &defaults.retry)?,
    })
}

fn default_cursor_key(source: &SourceConfig) -> String {
    match source {
        SourceConfig::Synthetic { seed, .. } => format!("synthetic:{seed}"),
        SourceConfig::Mastodon(m) => format!("mastodon:{}", host_of(&m.base_url)),
        SourceConfig::Jetstream(j) => format!("jetstream:{}", host_of(&j.urls[0])),
        SourceConfig::HttpJson(h) => {
            let url = h.url.split(['?', '#']).next().unwrap_or_default();
            match url.split_once("://") {
                Some((scheme, rest)) => format!("http-json:{scheme}://{}", without_userinfo(rest)),
                None => format!("http-json:{url}"),
            }
        }
    }
}

/// The host (and port) of `url`, without any userinfo: the key names the source in every log
/// line, so it must never carry a password.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority.rsplit('@').next().unwrap_or(authority)
}

/// `rest` (a URL after its `scheme://`) without the `user:password@` of its authority.
fn without_userinfo(rest: &str) -> &str {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    }
}

/// Settings one invocation's input may narrow (EventBridge Scheduler custom input, or a rule's
/// constant input): `{"max_pages": 2, "max_records": 100}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub max_pages: Option<u32>,
    pub max_records: Option<usize>,
}

/// The input keys [`Overrides`] reads.
pub const OVERRIDE_KEYS: [&str; 2] = ["max_pages", "max_records"];

impl Overrides {
    /// Reads overrides from an invocation's input. Anything that is not an object has none; keys
    /// it does not know are returned so they can be logged. A known key with a bad value is an
    /// error naming it.
    pub fn from_input(input: &Value) -> Result<(Overrides, Vec<String>), ConfigError> {
        let Some(obj) = input.as_object() else {
            return Ok((Overrides::default(), Vec::new()));
        };
        let number = |key: &'static str, max: u64| -> Result<Option<u64>, ConfigError> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_u64().filter(|n| (1..=max).contains(n)).map(Some).ok_or_else(|| ConfigError {
                    var: key,
                    value: v.to_string(),
                    reason: format!("the invocation input's {key} must be a whole number between 1 and {max}"),
                }),
            }
        };
        let overrides = Overrides {
            max_pages: number("max_pages", 10_000)?.map(|n| n as u32),
            max_records: number("max_records", 1_000_000)?.map(|n| n as usize),
        };
        let ignored = obj
            .keys()
            .filter(|k| !OVERRIDE_KEYS.contains(&k.as_str()))
            .cloned()
            .collect();
        Ok((overrides, ignored))
    }

    pub fn apply(&self, settings: &ProduceSettings) -> ProduceSettings {
        ProduceSettings {
            max_pages: self.max_pages.unwrap_or(settings.max_pages),
            max_records: self.max_records.unwrap_or(settings.max_records),
            ..settings.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<ProducerConfig, ConfigError> {
        ProducerConfig::from_lookup(ks_kernel::env::fixed(vars))
    }

    #[test]
    fn jetstream_reads_its_urls_collections_and_cursor_key() {
        // GIVEN SOURCE=jetstream with fallbacks and two collections
        let c = ProducerConfig::from_lookup(ks_kernel::env::fixed(&[
            ("SOURCE", "jetstream"),
            ("STREAM_NAME", "s"),
            ("JETSTREAM_URL", "ws://127.0.0.1:9/subscribe"),
            (
                "JETSTREAM_FALLBACK_URLS",
                "wss://a.example/subscribe, wss://b.example/subscribe",
            ),
            (
                "JETSTREAM_COLLECTIONS",
                "app.bsky.feed.post,app.bsky.graph.*",
            ),
        ]))
        .unwrap();
        let SourceConfig::Jetstream(j) = &c.source else {
            panic!("{:?}", c.source)
        };
        assert_eq!(j.urls.len(), 3);
        assert_eq!(j.collections, ["app.bsky.feed.post", "app.bsky.graph.*"]);
        assert_eq!(c.cursor_key, "jetstream:127.0.0.1:9");
        // AND the default is the public instance
        let c = ProducerConfig::from_lookup(ks_kernel::env::fixed(&[
            ("SOURCE", "jetstream"),
            ("STREAM_NAME", "s"),
        ]))
        .unwrap();
        assert_eq!(c.cursor_key, "jetstream:jetstream2.us-east.bsky.network");
        // AND bad values name their variable
        for (var, value) in [
            (
                "JETSTREAM_URL",
                "https://jetstream2.us-east.bsky.network/subscribe",
            ),
            ("JETSTREAM_FALLBACK_URLS", "wss://ok/subscribe,ftp://x"),
            ("JETSTREAM_COLLECTIONS", "posts"),
            ("JETSTREAM_REPLAY_MS", "-1"),
        ] {
            let err = ProducerConfig::from_lookup(ks_kernel::env::fixed(&[
                ("SOURCE", "jetstream"),
                ("STREAM_NAME", "s"),
                (var, value),
            ]))
            .unwrap_err();
            assert_eq!(err.var, var, "{err}");
        }
    }

    #[test]
    fn defaults_need_only_the_stream() {
        // GIVEN just STREAM_NAME WHEN loaded THEN the synthetic source, file cursor, AWS limits
        let c = load(&[("STREAM_NAME", "posts")]).unwrap();
        assert_eq!(c.stream_name, "posts");
        assert_eq!(
            c.source,
            SourceConfig::Synthetic {
                seed: 42,
                per_invocation: 500,
                rate_per_sec: 50
            }
        );
        assert_eq!(c.cursor_key, "synthetic:42");
        assert_eq!(
            c.cursor,
            CursorConfig::File {
                dir: "/tmp/stream-producer".into()
            }
        );
        assert_eq!(c.settings.limits, PackLimits::default());
        assert_eq!(c.settings.aggregation, None);
        assert_eq!(c.settings.delivery.retry.max_attempts, 8);
        assert_eq!((c.settings.max_pages, c.settings.max_records), (10, 5_000));
        assert_eq!(c.fetch.max_response_bytes, 5 * 1024 * 1024);
        assert_eq!(c.deadline_margin, Duration::from_secs(2));
    }

    #[test]
    fn every_setting_is_read() {
        let c = load(&[
            ("STREAM_NAME", "s"),
            ("SOURCE", "http-json"),
            ("HTTP_JSON_URL", "https://api.example/v1/items?x=1"),
            ("HTTP_JSON_RECORDS_POINTER", "/data/items"),
            ("HTTP_JSON_ID_POINTER", "/uid"),
            ("HTTP_JSON_CURSOR_PARAM", "since"),
            ("HTTP_JSON_NEXT_POINTER", "/next"),
            ("HTTP_JSON_NEXT_PARAM", "page_token"),
            ("HTTP_JSON_PAGE_ORDER", "oldest-first"),
            ("HTTP_JSON_AUTH_HEADER", "X-Api-Key"),
            ("HTTP_JSON_AUTH_SCHEME", "Token"),
            (
                "HTTP_JSON_AUTH_PARAM",
                "/aws/reference/secretsmanager/api-key",
            ),
            ("CURSOR_STORE", "dynamodb"),
            ("CURSOR_TABLE", "cursors"),
            ("MAX_REQUEST_BYTES", "10485760"),
            ("MAX_RECORD_BYTES", "2097152"),
            ("MAX_RECORDS_PER_REQUEST", "250"),
            ("AGGREGATION", "true"),
            ("AGGREGATION_MAX_BYTES", "25600"),
            ("PARTITION_KEY_POINTER", "/user/id"),
            ("EXPLICIT_HASH_KEY_POINTER", "/ehk"),
            ("PUT_MAX_ATTEMPTS", "3"),
            ("PUT_TIMEOUT_MS", "500"),
            ("MAX_PAGES", "2"),
            ("MAX_RECORDS", "100"),
            ("FETCH_TIMEOUT_MS", "1500"),
            ("MAX_RESPONSE_BYTES", "65536"),
            ("FETCH_MAX_ATTEMPTS", "2"),
            ("PUT_RESERVE_MS", "3000"),
            ("DEADLINE_MARGIN_MS", "100"),
            ("METRICS_NAMESPACE", "X"),
        ])
        .unwrap();
        let SourceConfig::HttpJson(h) = &c.source else {
            panic!("{:?}", c.source)
        };
        assert_eq!(h.records_pointer, "/data/items");
        assert_eq!(h.id_pointer, "/uid");
        assert_eq!(h.cursor_param.as_deref(), Some("since"));
        assert_eq!(h.next_param.as_deref(), Some("page_token"));
        assert!(h.oldest_first);
        assert_eq!(h.auth_header, "X-Api-Key");
        assert_eq!(
            h.auth_param.as_deref(),
            Some("/aws/reference/secretsmanager/api-key")
        );
        assert_eq!(c.cursor_key, "http-json:https://api.example/v1/items");
        assert_eq!(
            c.cursor,
            CursorConfig::DynamoDb {
                table: "cursors".into()
            }
        );
        assert_eq!(
            c.settings.limits,
            PackLimits {
                max_records: 250,
                max_request_bytes: 10_485_760,
                max_record_bytes: 2_097_152
            }
        );
        assert_eq!(c.settings.aggregation, Some(25_600));
        assert_eq!(c.settings.keying.partition_key.as_deref(), Some("/user/id"));
        assert_eq!(c.settings.delivery.retry.max_attempts, 3);
        assert_eq!(c.settings.delivery.call_timeout, Duration::from_millis(500));
        assert_eq!((c.settings.max_pages, c.settings.max_records), (2, 100));
        assert_eq!(c.fetch.timeout, Duration::from_millis(1_500));
        assert_eq!(c.fetch.retry.max_attempts, 2);
        assert_eq!(c.settings.put_reserve, Duration::from_secs(3));
        assert_eq!(c.metrics_namespace, "X");
    }

    #[test]
    fn mastodon_needs_a_url_and_keys_its_cursor_by_host() {
        let c = load(&[
            ("STREAM_NAME", "s"),
            ("SOURCE", "mastodon"),
            ("MASTODON_URL", "https://mastodon.social/"),
        ])
        .unwrap();
        assert_eq!(c.cursor_key, "mastodon:mastodon.social");
        let SourceConfig::Mastodon(m) = c.source else {
            panic!()
        };
        assert_eq!((m.page_limit, m.timeline), (40, MastodonTimeline::Public));
    }

    fn mastodon_with(vars: &[(&'static str, &'static str)]) -> Result<MastodonConfig, ConfigError> {
        let mut all = vec![
            ("STREAM_NAME", "s"),
            ("SOURCE", "mastodon"),
            ("MASTODON_URL", "https://m.example"),
        ];
        all.extend_from_slice(vars);
        match load(&all)?.source {
            SourceConfig::Mastodon(m) => Ok(m),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mastodon_timeline_reads_its_four_kinds() {
        // GIVEN each kind of MASTODON_TIMELINE WHEN loaded THEN that timeline, written back alike
        for (value, expected) in [
            ("public", MastodonTimeline::Public),
            ("LOCAL", MastodonTimeline::Local),
            ("remote", MastodonTimeline::Remote),
            ("tag:rustlang", MastodonTimeline::Tag("rustlang".into())),
            ("Tag:Café", MastodonTimeline::Tag("Café".into())),
        ] {
            let m = mastodon_with(&[("MASTODON_TIMELINE", value)]).unwrap();
            assert_eq!(m.timeline, expected, "{value}");
            assert_eq!(
                MastodonTimeline::parse(&m.timeline.to_string()),
                Ok(expected)
            );
        }
        // AND unset is the federated timeline
        assert_eq!(
            mastodon_with(&[]).unwrap().timeline,
            MastodonTimeline::Public
        );
    }

    #[test]
    fn a_bad_mastodon_timeline_or_the_old_flag_names_the_variable() {
        // GIVEN values that are no timeline, or hashtags that cannot be one path segment
        for (value, needle) in [
            ("federated", "public, local, remote, tag:<hashtag>"),
            ("tag:", "needs a hashtag"),
            ("tag:#rust", "without '#'"),
            ("tag:a/b", "no '/'"),
            ("tag:two words", "spaces"),
        ] {
            // WHEN loaded THEN an error naming MASTODON_TIMELINE and why
            let err = mastodon_with(&[("MASTODON_TIMELINE", value)]).unwrap_err();
            assert_eq!(err.var, "MASTODON_TIMELINE", "{err}");
            assert!(err.to_string().contains(needle), "{err}");
        }
        // GIVEN the replaced MASTODON_LOCAL, alone or beside MASTODON_TIMELINE
        for vars in [
            vec![("MASTODON_LOCAL", "true")],
            vec![("MASTODON_LOCAL", "false"), ("MASTODON_TIMELINE", "local")],
        ] {
            // THEN it is refused, saying what replaces it
            let err = mastodon_with(&vars).unwrap_err();
            assert_eq!(err.var, "MASTODON_LOCAL", "{err}");
            assert!(err.to_string().contains("MASTODON_TIMELINE=local"), "{err}");
        }
    }

    #[test]
    fn source_empty_warn_runs_defaults_to_10_and_is_range_checked() {
        assert_eq!(
            load(&[("STREAM_NAME", "s")])
                .unwrap()
                .source_empty_warn_runs,
            10
        );
        let c = load(&[("STREAM_NAME", "s"), ("SOURCE_EMPTY_WARN_RUNS", "3")]).unwrap();
        assert_eq!(c.source_empty_warn_runs, 3);
        let err = load(&[("STREAM_NAME", "s"), ("SOURCE_EMPTY_WARN_RUNS", "0")]).unwrap_err();
        assert_eq!(err.var, "SOURCE_EMPTY_WARN_RUNS", "{err}");
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (vars, var, needle) in [
            (vec![], "STREAM_NAME", "required"),
            (
                vec![("SOURCE", "twitter")],
                "SOURCE",
                "synthetic, mastodon, http-json",
            ),
            (vec![("SOURCE", "mastodon")], "MASTODON_URL", "required"),
            (
                vec![("SOURCE", "mastodon"), ("MASTODON_URL", "mastodon.social")],
                "MASTODON_URL",
                "http:// or https://",
            ),
            (
                vec![
                    ("SOURCE", "mastodon"),
                    ("MASTODON_URL", "https://m.s"),
                    ("MASTODON_PAGE_LIMIT", "80"),
                ],
                "MASTODON_PAGE_LIMIT",
                "between 1 and 40",
            ),
            (
                vec![("MAX_RECORDS_PER_REQUEST", "501")],
                "MAX_RECORDS_PER_REQUEST",
                "between 1 and 500",
            ),
            (
                vec![("MAX_REQUEST_BYTES", "20000000")],
                "MAX_REQUEST_BYTES",
                "between 1024 and 10485760",
            ),
            (
                vec![("MAX_REQUEST_BYTES", "2048"), ("MAX_RECORD_BYTES", "4096")],
                "MAX_RECORD_BYTES",
                "must not exceed MAX_REQUEST_BYTES",
            ),
            (vec![("AGGREGATION", "yes")], "AGGREGATION", "false, true"),
            (
                vec![
                    ("AGGREGATION", "true"),
                    ("AGGREGATION_MAX_BYTES", "2000000"),
                ],
                "AGGREGATION_MAX_BYTES",
                "must not exceed MAX_RECORD_BYTES",
            ),
            (
                vec![("PARTITION_KEY_POINTER", "user")],
                "PARTITION_KEY_POINTER",
                "start with '/'",
            ),
            (
                vec![("CURSOR_STORE", "dynamodb")],
                "CURSOR_TABLE",
                "required",
            ),
            (
                vec![
                    ("PUT_BACKOFF_BASE_MS", "500"),
                    ("PUT_BACKOFF_CAP_MS", "100"),
                ],
                "PUT_BACKOFF_CAP_MS",
                "PUT_BACKOFF_BASE_MS",
            ),
            (
                vec![("MAX_PAGES", "lots")],
                "MAX_PAGES",
                "not a whole number",
            ),
            (
                vec![
                    ("SOURCE", "http-json"),
                    ("HTTP_JSON_URL", "https://a.b"),
                    ("HTTP_JSON_NEXT_PARAM", "p"),
                ],
                "HTTP_JSON_NEXT_PARAM",
                "HTTP_JSON_NEXT_POINTER",
            ),
        ] {
            let mut vars = vars;
            if var != "STREAM_NAME" {
                vars.push(("STREAM_NAME", "s"));
            }
            let err = load(&vars).unwrap_err();
            assert_eq!(err.var, var, "{err}");
            let msg = err.to_string();
            assert!(msg.contains(var) && msg.contains(needle), "{msg}");
        }
    }

    #[test]
    fn start_position_is_latest_unless_set_to_oldest() {
        // GIVEN no START_POSITION WHEN loaded THEN latest (today's behaviour)
        let c = load(&[("STREAM_NAME", "s")]).unwrap();
        assert_eq!(c.start_position, StartPosition::Latest);
        // GIVEN oldest, in any case THEN oldest
        for v in ["oldest", "OLDEST"] {
            let c = load(&[("STREAM_NAME", "s"), ("START_POSITION", v)]).unwrap();
            assert_eq!(c.start_position, StartPosition::Oldest, "{v}");
        }
        // GIVEN Kinesis' own word for it THEN an error naming the variable and the choices
        let err = load(&[("STREAM_NAME", "s"), ("START_POSITION", "trim_horizon")]).unwrap_err();
        assert_eq!(err.var, "START_POSITION");
        assert!(err.to_string().contains("latest, oldest"), "{err}");
    }

    #[test]
    fn a_default_cursor_key_never_holds_userinfo() {
        // GIVEN source URLs with credentials in their userinfo
        let m = load(&[
            ("STREAM_NAME", "s"),
            ("SOURCE", "mastodon"),
            ("MASTODON_URL", "https://bot:pw@m.example/"),
        ])
        .unwrap();
        let h = load(&[
            ("STREAM_NAME", "s"),
            ("SOURCE", "http-json"),
            (
                "HTTP_JSON_URL",
                "https://user:pw@api.example/v1/items?api_key=k",
            ),
        ])
        .unwrap();
        // WHEN the cursor key (also the source's name in every log line) is derived
        // THEN it names the host and path only
        assert_eq!(m.cursor_key, "mastodon:m.example");
        assert_eq!(h.cursor_key, "http-json:https://api.example/v1/items");
    }

    #[test]
    fn an_invocation_input_may_narrow_the_budget() {
        // GIVEN a Scheduler custom input overriding the page budget
        let c = load(&[("STREAM_NAME", "s")]).unwrap();
        let (o, ignored) =
            Overrides::from_input(&json!({"max_pages": 2, "max_records": 50, "note": "hourly"}))
                .unwrap();
        // WHEN applied THEN the budget changes and nothing else
        let s = o.apply(&c.settings);
        assert_eq!((s.max_pages, s.max_records), (2, 50));
        assert_eq!(s.limits, c.settings.limits);
        assert_eq!(ignored, ["note"]);
        // AND an EventBridge envelope, null or a string carries no overrides
        for input in [json!(null), json!("tick"), json!([1])] {
            assert_eq!(
                Overrides::from_input(&input).unwrap().0,
                Overrides::default()
            );
        }
        // AND a bad value is an error naming the key
        let err = Overrides::from_input(&json!({"max_pages": 0})).unwrap_err();
        assert_eq!(err.var, "max_pages");
        let err = Overrides::from_input(&json!({"max_records": "many"})).unwrap_err();
        assert!(err.to_string().contains("max_records"), "{err}");
    }
}
