//! A Mastodon server's public timeline as a [`Source`]: `GET /api/v1/timelines/public` with
//! `limit` and `min_id`, following the `Link` header's `prev` relation to newer pages.
//! <https://docs.joinmastodon.org/methods/timelines/#public>
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

use ks_producer::config::StartPosition;
use ks_producer::{FetchBudget, Fetched, Source, SourceError, SourceRecord};
use serde_json::Value;

use crate::http::Fetcher;
use crate::http::html;
use crate::http::pager::{self, PageRead, kind, record_id};

/// `min_id` of a first run with `START_POSITION=oldest`: every status id is above it, so the
/// server answers its oldest statuses, oldest first.
const OLDEST_MIN_ID: &str = "0";

#[derive(Debug, Clone)]
pub struct MastodonSource {
    fetcher: Fetcher,
    base_url: String,
    page_limit: u32,
    local_only: bool,
    start: StartPosition,
}

impl MastodonSource {
    /// `base_url`: the server, e.g. `https://mastodon.social`. The fetcher carries the bounds and,
    /// for servers that require it, the access token header (scoped to `base_url`'s origin).
    pub fn new(
        fetcher: Fetcher,
        base_url: &str,
        page_limit: u32,
        local_only: bool,
    ) -> Result<Self, SourceError> {
        let base_url = base_url.trim_end_matches('/').to_owned();
        fetcher.url(&base_url)?;
        Ok(MastodonSource {
            fetcher,
            base_url,
            page_limit,
            local_only,
            start: StartPosition::default(),
        })
    }

    /// Where a first run (no cursor yet) starts: the newest page (`Latest`, the default), or the
    /// server's oldest statuses, read forward (`Oldest`).
    pub fn starting_at(mut self, start: StartPosition) -> Self {
        self.start = start;
        self
    }

    fn first_url(&self, cursor: Option<&str>) -> Result<reqwest::Url, SourceError> {
        let mut url = self
            .fetcher
            .url(&format!("{}/api/v1/timelines/public", self.base_url))?;
        let min_id = match (cursor, self.start) {
            (Some(c), _) => Some(c),
            (None, StartPosition::Oldest) => Some(OLDEST_MIN_ID),
            (None, StartPosition::Latest) => None,
        };
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("limit", &self.page_limit.to_string());
            if self.local_only {
                q.append_pair("local", "true");
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
        let walk = pager::walk(&self.fetcher, first, budget, |page, n| self.read(page, n)).await?;
        Ok(walk.into_fetched(budget.max_records, true))
    }
}
