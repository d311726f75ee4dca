//! A Mastodon server's public timeline as a [`Source`]: `GET /api/v1/timelines/public` with
//! `limit` and `min_id`, following the `Link` header's `prev` relation to newer pages.
//! <https://docs.joinmastodon.org/methods/timelines/#public>
//!
//! `min_id` (not `since_id`) is the cursor parameter because it returns the statuses
//! immediately after the cursor; `since_id` returns the newest ones, leaving a gap whenever more
//! arrived than a page holds. Pages are therefore read oldest first, and a stop midway (page or
//! record budget, deadline) never leaves a gap behind the cursor. Each status gains a plain-text
//! `text` field (its HTML `content` with tags stripped and entities decoded; a boost's content
//! when the status itself is a boost) so the transform finds the text at `/text`.
//! <https://docs.joinmastodon.org/api/guidelines/#pagination>

use ks_producer::cursor::id_cmp;
use ks_producer::{FetchBudget, Fetched, Source, SourceError, SourceRecord, Stop};
use serde_json::Value;
use tokio::time::Instant;

use crate::http::html;
use crate::http::{Fetcher, link_with_rel};

#[derive(Debug, Clone)]
pub struct MastodonSource {
    fetcher: Fetcher,
    base_url: String,
    page_limit: u32,
    local_only: bool,
}

impl MastodonSource {
    /// `base_url`: the server, e.g. `https://mastodon.social`. The fetcher carries the bounds and,
    /// for servers that require it, the access token header.
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
        })
    }

    fn first_url(&self, cursor: Option<&str>) -> Result<reqwest::Url, SourceError> {
        let mut url = self
            .fetcher
            .url(&format!("{}/api/v1/timelines/public", self.base_url))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("limit", &self.page_limit.to_string());
            if self.local_only {
                q.append_pair("local", "true");
            }
            if let Some(c) = cursor {
                q.append_pair("min_id", c);
            }
        }
        Ok(url)
    }

    fn statuses(&self, body: Value, page: u32) -> Result<Vec<SourceRecord>, SourceError> {
        let Value::Array(statuses) = body else {
            return Err(self.fetcher.malformed(
                "",
                format!(
                    "page {page}: expected an array of statuses, got {}",
                    kind(&body)
                ),
            ));
        };
        statuses
            .into_iter()
            .enumerate()
            .map(|(i, mut status)| {
                let id = match status.get("id") {
                    Some(Value::String(s)) if !s.is_empty() => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    other => {
                        return Err(self.fetcher.malformed(
                            format!("/{i}/id"),
                            format!(
                                "page {page}: expected a status id string, got {}",
                                other.map_or("nothing", kind)
                            ),
                        ));
                    }
                };
                let Value::Object(obj) = &mut status else {
                    return Err(self.fetcher.malformed(
                        format!("/{i}"),
                        format!("page {page}: expected a status object"),
                    ));
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
                Ok(SourceRecord { id, data })
            })
            .collect()
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
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
        let mut url = self.first_url(cursor)?;
        let mut records: Vec<SourceRecord> = Vec::new();
        let mut pages = 0;
        let mut error = None;
        let stop = loop {
            if pages >= budget.max_pages {
                break Stop::MaxPages;
            }
            if records.len() >= budget.max_records {
                break Stop::MaxRecords;
            }
            if Instant::now() >= budget.deadline {
                break Stop::Deadline;
            }
            let page = match self.fetcher.get_json(&url, budget.deadline).await {
                Ok(p) => p,
                // Nothing fetched yet: the invocation fails with the reason.
                Err(e) if pages == 0 => return Err(e),
                Err(SourceError::RateLimited { .. }) => break Stop::RateLimited,
                Err(e) => {
                    error = Some(e);
                    break Stop::Failed;
                }
            };
            pages += 1;
            let statuses = match self.statuses(page.body, pages) {
                Ok(s) => s,
                Err(e) if pages == 1 => return Err(e),
                Err(e) => {
                    error = Some(e);
                    break Stop::Failed;
                }
            };
            if statuses.is_empty() {
                break Stop::CaughtUp;
            }
            records.extend(statuses);
            // `prev` points at newer statuses (min_id = the newest on this page).
            match page.link.as_deref().and_then(|l| link_with_rel(l, "prev")) {
                Some(next) => url = self.fetcher.url(&next)?,
                None => break Stop::CaughtUp,
            }
        };
        // Oldest first, and over budget only the oldest are kept: what is dropped is newer than
        // everything kept, so the next invocation picks it up after the cursor.
        records.sort_by(|a, b| id_cmp(&a.id, &b.id));
        let stop = if records.len() > budget.max_records {
            records.truncate(budget.max_records);
            Stop::MaxRecords
        } else {
            stop
        };
        Ok(Fetched {
            records,
            pages,
            stop,
            connects_to_cursor: true,
            error,
        })
    }
}
