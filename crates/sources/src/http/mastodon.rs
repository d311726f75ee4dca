//! A Mastodon server's timeline as a [`Source`]: `GET /api/v1/timelines/public` (the federated
//! timeline, or with `local=true` / `remote=true`) or `GET /api/v1/timelines/tag/<hashtag>`,
//! with `limit` and `min_id`, following the `Link` header's `prev` relation to newer pages.
//! <https://docs.joinmastodon.org/methods/timelines/#public>
//!
//! Servers may close their timelines (Mastodon 4.5: `configuration.timelines_access`, see
//! [`crate::http::mastodon_access`]). [`MastodonSource::check_access`] reads that at cold start
//! and refuses a timeline the server reports closed to this producer; a server that answers the
//! timeline with 401, 403 or 422 gets the same kind of error ([`SourceError::Closed`]), naming
//! the server and the ways out. A feed that is closed but answers an empty array (the docs allow
//! it) shows as runs that stay empty (`source_empty` in the summary).
//!
//! `min_id` (not `since_id`) is the cursor parameter because it returns the statuses
//! immediately after the cursor; `since_id` returns the newest ones, leaving a gap whenever more
//! arrived than a page holds. Pages are therefore read oldest first, and a stop midway (page or
//! record budget, deadline) never leaves a gap behind the cursor. Each status gains a plain-text
//! `text` field (its HTML `content` with tags stripped and entities decoded; a boost's content
//! when the status itself is a boost) so the transform finds the text at `/text`; a status
//! without a usable id is rejected (logged, counted), not its page.
//! <https://docs.joinmastodon.org/api/guidelines/#pagination>
//!
//! With no cursor yet, [`StartPosition::Latest`] reads the newest page only (the cursor starts
//! at its newest status; older ones are never fetched); [`StartPosition::Oldest`] asks for
//! `min_id=0`, the server's oldest statuses, and reads forward within the budget like any run.

use std::time::Duration;

use ks_producer::config::StartPosition;

use crate::http::mastodon_config::MastodonTimeline;
use ks_producer::{FetchBudget, Fetched, Source, SourceError, SourceRecord};
use serde_json::Value;
use tokio::time::Instant;

use crate::http::mastodon_access::{TimelinesAccess, Verdict, describe, ways_out, why_closed};
use crate::http::pager::{self, PageRead, kind, record_id};
use crate::http::{Fetcher, html, redact};

/// `min_id` of a first run with `START_POSITION=oldest`: every status id is above it, so the
/// server answers its oldest statuses, oldest first.
const OLDEST_MIN_ID: &str = "0";

/// The most the cold-start access check may take, its retries included. It runs after the
/// token lookup (at most 5 s, `ssm::LOOKUP_TIMEOUT`), and Lambda's init phase has 10 s in all.
/// <https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html>
pub const ACCESS_CHECK_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone)]
pub struct MastodonSource {
    fetcher: Fetcher,
    base_url: String,
    page_limit: u32,
    timeline: MastodonTimeline,
    start: StartPosition,
}

impl MastodonSource {
    /// `base_url`: the server, e.g. `https://mastodon.social`. The fetcher carries the bounds and,
    /// for servers that require it, the access token header (scoped to `base_url`'s origin).
    /// Reads the federated timeline unless told otherwise ([`Self::reading`]).
    pub fn new(fetcher: Fetcher, base_url: &str, page_limit: u32) -> Result<Self, SourceError> {
        let base_url = base_url.trim_end_matches('/').to_owned();
        fetcher.url(&base_url)?;
        Ok(MastodonSource {
            fetcher,
            base_url,
            page_limit,
            timeline: MastodonTimeline::default(),
            start: StartPosition::default(),
        })
    }

    /// Which of the server's timelines is read.
    pub fn reading(mut self, timeline: MastodonTimeline) -> Self {
        self.timeline = timeline;
        self
    }

    /// Whether requests to the server carry a token.
    fn has_token(&self) -> bool {
        self.fetcher
            .url(&self.base_url)
            .is_ok_and(|u| self.fetcher.sends_credential_to(&u))
    }

    /// The cold-start check: what the server reports of its timelines' access
    /// (`GET /api/v2/instance`, Mastodon 4.5's `configuration.timelines_access`), against the
    /// configured timeline and whether a token is set. A timeline reported closed to this
    /// producer is an error ([`SourceError::Closed`]). Anything short of that answer (no such
    /// field, a 404 from a server before 4.0, a network failure, a slow or odd answer) is
    /// logged and the timeline is read as before: the check only adds an earlier, clearer
    /// refusal, and a transient failure here must not stop a source that works.
    pub async fn check_access(&self) -> Result<(), SourceError> {
        let url = self
            .fetcher
            .url(&format!("{}/api/v2/instance", self.base_url))?;
        let source = self.fetcher.source_name();
        let timeline = self.timeline.to_string();
        let deadline = Instant::now() + ACCESS_CHECK_TIMEOUT;
        let doc = match self.fetcher.get_json(&url, deadline).await {
            Ok(page) => page.body,
            Err(SourceError::Status { status: 404, .. }) => {
                tracing::info!(
                    source,
                    timeline,
                    "no /api/v2/instance (a server before Mastodon 4.0): the timeline is read without an access check"
                );
                return Ok(());
            }
            Err(e) => {
                tracing::warn!(source, timeline, error = %e, "could not read the server's timeline access at cold start: the timeline is read anyway, and a refusal will be reported when it comes");
                return Ok(());
            }
        };
        let Some(access) = TimelinesAccess::from_instance(&doc) else {
            tracing::info!(
                source,
                timeline,
                "the server reports no configuration.timelines_access (a server before Mastodon 4.5): the timeline is read as before"
            );
            return Ok(());
        };
        let token = self.has_token();
        match access.verdict(&self.timeline, token) {
            Verdict::Open => {
                tracing::info!(
                    source,
                    timeline,
                    "the server reports the timeline open to this producer"
                );
                Ok(())
            }
            Verdict::Unknown(settings) => {
                let settings: Vec<String> = settings.iter().map(ToString::to_string).collect();
                tracing::warn!(
                    source,
                    timeline,
                    settings = settings.join(", "),
                    "the server's timeline access has settings this producer does not know: the timeline is read as before"
                );
                Ok(())
            }
            Verdict::Closed(closed) => {
                let settings: Vec<String> = closed.iter().map(ToString::to_string).collect();
                Err(self.closed(
                    format!(
                        "does not serve the {} (MASTODON_TIMELINE={}) to this producer: it reports {} ({})",
                        describe(&self.timeline),
                        self.timeline,
                        settings.join(", "),
                        why_closed(&closed, token)
                    ),
                    ways_out(Some(&access), &self.timeline, token),
                ))
            }
        }
    }

    fn closed(&self, reason: String, ways_out: Vec<String>) -> SourceError {
        SourceError::Closed {
            source_name: self.fetcher.source_name().to_owned(),
            server: redact(&self.base_url),
            reason,
            ways_out,
        }
    }

    /// A refusal of the timeline request itself, named for what it means here: 401 a token the
    /// server does not accept, 403 an account or scope that may not read it, 422 no signed-in
    /// user (Mastodon's "This method requires an authenticated user"). Other errors pass.
    fn explain(&self, e: SourceError) -> SourceError {
        let SourceError::Status {
            status: status @ (401 | 403 | 422),
            reason,
            ..
        } = e
        else {
            return e;
        };
        let token = self.has_token();
        let why = match (status, token) {
            (401, true) => {
                "the access token in MASTODON_TOKEN_PARAM was refused (wrong, expired or revoked)"
            }
            (403, true) => {
                "the token's account or scopes may not read it (an unconfirmed, unapproved or disabled account, or no read:statuses scope)"
            }
            (422, true) => {
                "it needs a signed-in user, and the token in MASTODON_TOKEN_PARAM is no user's (an app-only token?)"
            }
            _ => "it is open to signed-in users only, and no MASTODON_TOKEN_PARAM is set",
        };
        // Whether a token was sent or not, a user's token that may read the timeline is a way
        // out: list the ways as if there were none.
        let ways = ways_out(None, &self.timeline, false);
        self.closed(
            format!(
                "refuses the {} (MASTODON_TIMELINE={}): {why}; it answered {reason}",
                describe(&self.timeline),
                self.timeline
            ),
            ways,
        )
    }

    /// Where a first run (no cursor yet) starts: the newest page (`Latest`, the default), or the
    /// server's oldest statuses, read forward (`Oldest`).
    pub fn starting_at(mut self, start: StartPosition) -> Self {
        self.start = start;
        self
    }

    fn first_url(&self, cursor: Option<&str>) -> Result<reqwest::Url, SourceError> {
        let path = match self.timeline {
            MastodonTimeline::Tag(_) => "tag",
            _ => "public",
        };
        let mut url = self
            .fetcher
            .url(&format!("{}/api/v1/timelines/{path}", self.base_url))?;
        if let MastodonTimeline::Tag(tag) = &self.timeline {
            // One path segment, percent-encoded (the setting holds no '/' or '#').
            url.path_segments_mut()
                .map_err(|()| {
                    self.fetcher
                        .malformed("", "MASTODON_URL cannot take a path")
                })?
                .push(tag);
        }
        let min_id = match (cursor, self.start) {
            (Some(c), _) => Some(c),
            (None, StartPosition::Oldest) => Some(OLDEST_MIN_ID),
            (None, StartPosition::Latest) => None,
        };
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("limit", &self.page_limit.to_string());
            match self.timeline {
                MastodonTimeline::Local => _ = q.append_pair("local", "true"),
                MastodonTimeline::Remote => _ = q.append_pair("remote", "true"),
                MastodonTimeline::Public | MastodonTimeline::Tag(_) => {}
            }
            if let Some(m) = min_id {
                q.append_pair("min_id", m);
            }
        }
        Ok(url)
    }

    /// One page: its statuses (each gaining `text`; one without an id is rejected, not the
    /// page) and, from the `Link` header's `prev`, the page of newer statuses.
    pub fn read(&self, page: crate::http::Page, number: u32) -> Result<PageRead, SourceError> {
        let next = self.fetcher.link(&page, "prev")?;
        let Value::Array(statuses) = page.body else {
            return Err(self.fetcher.malformed(
                "",
                format!(
                    "page {number}: expected an array of statuses, got {}",
                    kind(&page.body)
                ),
            ));
        };
        let mut read = PageRead {
            next,
            ..PageRead::default()
        };
        for (i, mut status) in statuses.into_iter().enumerate() {
            let Value::Object(obj) = &mut status else {
                read.rejected
                    .push((format!("/{i}"), format!("{} for a status", kind(&status))));
                continue;
            };
            let id = match record_id(obj.get("id")) {
                Ok(id) => id,
                Err(found) => {
                    read.rejected.push((format!("/{i}/id"), found.to_owned()));
                    continue;
                }
            };
            let content = obj
                .get("content")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
                .or_else(|| {
                    obj.get("reblog")
                        .and_then(|r| r.get("content"))
                        .and_then(Value::as_str)
                })
                .unwrap_or_default();
            let text = html::to_text(content);
            obj.insert("text".to_owned(), Value::String(text));
            let data = serde_json::to_vec(&status)
                .map_err(|e| self.fetcher.malformed(format!("/{i}"), e.to_string()))?;
            read.records.push(SourceRecord { id, data });
        }
        Ok(read)
    }
}

impl Source for MastodonSource {
    fn empty_hint(&self) -> &'static str {
        "a Mastodon feed that is disabled or open to signed-in users only can answer an empty array (see the cold-start timelines_access check in the logs), or the timeline is quiet; ways out: SOURCE=jetstream, MASTODON_TIMELINE=tag:<hashtag> where hashtag feeds are open, a user's token in MASTODON_TOKEN_PARAM"
    }

    fn name(&self) -> &str {
        self.fetcher.source_name()
    }

    async fn fetch(
        &self,
        cursor: Option<&str>,
        budget: FetchBudget,
    ) -> Result<Fetched, SourceError> {
        let first = self.first_url(cursor)?;
        // `prev` points at newer statuses (min_id = the newest on this page), so pages run
        // oldest first and always connect to the cursor.
        let mut walk = pager::walk(&self.fetcher, first, budget, |page, n| self.read(page, n))
            .await
            .map_err(|e| self.explain(e))?;
        walk.error = walk.error.map(|e| self.explain(e));
        Ok(walk.into_fetched(budget.max_records, true))
    }
}
