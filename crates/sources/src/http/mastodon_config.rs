//! The Mastodon source's settings (`SOURCE=mastodon`, `MASTODON_*`), their limits and reading.

use ks_kernel::env::{ConfigError, Env};

/// Mastodon's public timeline answers at most 40 statuses a page.
/// <https://docs.joinmastodon.org/methods/timelines/#public>
pub const MASTODON_MAX_PAGE_LIMIT: u32 = 40;

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

impl MastodonConfig {
    /// Reads the `MASTODON_*` variables.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<'_, F>) -> Result<Self, ConfigError> {
        Ok(MastodonConfig {
            base_url: env.url("MASTODON_URL")?,
            page_limit: env.number(
                "MASTODON_PAGE_LIMIT",
                MASTODON_MAX_PAGE_LIMIT,
                1..=MASTODON_MAX_PAGE_LIMIT,
            )?,
            timeline: read_timeline(env)?,
            token_param: env.get("MASTODON_TOKEN_PARAM"),
        })
    }

    /// The cursor's key when `CURSOR_KEY` is unset: one cursor per server.
    pub fn cursor_key(&self) -> String {
        format!("mastodon:{}", crate::url::host_of(&self.base_url))
    }
}

/// `MASTODON_TIMELINE`. The old `MASTODON_LOCAL` flag is refused rather than read as an
/// alias: with both set, which one wins would be a guess, and a stack that still sets it should
/// say what it means once.
fn read_timeline<F: Fn(&str) -> Option<String>>(
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
