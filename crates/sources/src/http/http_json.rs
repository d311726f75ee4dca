//! Any JSON API as a [`Source`]: a URL, a pointer to the records array, a pointer to each
//! record's id, an optional cursor query parameter, optional pagination by a response field
//! (the next page's URL, or a token sent as a query parameter), and an optional auth header
//! whose value comes from the secret store at cold start (never from an env var value).
//!
//! Ids must increase with time (numbers, or strings that sort, such as ISO timestamps or ULIDs):
//! the cursor is the last delivered id. When pages run newest first and fetching stops before
//! the last page, the cursor cannot move (see `Fetched::connects_to_cursor`).
//!
//! With no cursor yet, [`StartPosition::Latest`] reads only the first page (for an API that
//! pages newest first, its newest records: the cursor starts at the newest id there and nothing
//! older is fetched later); [`StartPosition::Oldest`] follows `next` from the first page within
//! the budget. An item without a usable id is rejected (logged, counted), not its page. The
//! credential goes only to the configured URL's origin (see [`crate::http::fetch`]).

use ks_producer::config::StartPosition;

use crate::http::http_json_config::HttpJsonConfig;
use ks_producer::{FetchBudget, Fetched, Source, SourceError, SourceRecord, Stop};
use reqwest::Url;
use serde_json::Value;

use crate::http::pager::{self, PageRead, kind, record_id};
use crate::http::{Fetcher, Page};

#[derive(Debug, Clone)]
pub struct HttpJsonSource {
    fetcher: Fetcher,
    config: HttpJsonConfig,
    start: StartPosition,
}

impl HttpJsonSource {
    pub fn new(fetcher: Fetcher, config: HttpJsonConfig) -> Result<Self, SourceError> {
        fetcher.url(&config.url)?;
        Ok(HttpJsonSource {
            fetcher,
            config,
            start: StartPosition::default(),
        })
    }

    /// Where a first run (no cursor yet) starts: the first page only (`Latest`, the default), or
    /// the first page and the `next` pages after it within the budget (`Oldest`).
    pub fn starting_at(mut self, start: StartPosition) -> Self {
        self.start = start;
        self
    }

    fn with_param(&self, url: &str, pairs: &[(&str, &str)]) -> Result<Url, SourceError> {
        let mut url = self.fetcher.url(url)?;
        if !pairs.is_empty() {
            let keep: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| pairs.iter().all(|(p, _)| p != k))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let mut q = url.query_pairs_mut();
            q.clear();
            for (k, v) in &keep {
                q.append_pair(k, v);
            }
            for (k, v) in pairs {
                q.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// One page: its records (one without a usable id is rejected, not the page) and the next
    /// page's URL.
    pub fn read(
        &self,
        page: &Page,
        number: u32,
        cursor: Option<&str>,
    ) -> Result<PageRead, SourceError> {
        let pointer = self.config.records_pointer.as_str();
        let items = match page.body.pointer(pointer) {
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(self.fetcher.malformed(
                    pointer,
                    format!(
                        "page {number}: expected an array of records, got {}",
                        kind(other)
                    ),
                ));
            }
            None => {
                return Err(self.fetcher.malformed(
                    pointer,
                    format!("page {number}: the records pointer selects nothing"),
                ));
            }
        };
        let mut read = PageRead {
            next: self.next(page, cursor)?,
            ..PageRead::default()
        };
        let id_pointer = self.config.id_pointer.as_str();
        for (i, item) in items.iter().enumerate() {
            let id = match record_id(item.pointer(id_pointer)) {
                Ok(id) => id,
                Err(found) => {
                    read.rejected
                        .push((format!("{pointer}/{i}{id_pointer}"), found.to_owned()));
                    continue;
                }
            };
            let data = serde_json::to_vec(item).map_err(|e| {
                self.fetcher
                    .malformed(format!("{pointer}/{i}"), e.to_string())
            })?;
            read.records.push(SourceRecord { id, data });
        }
        Ok(read)
    }

    /// The next page's URL from the response, or `None` when this was the last page. A URL is
    /// resolved against the URL that answered (after redirects).
    fn next(&self, page: &Page, cursor: Option<&str>) -> Result<Option<Url>, SourceError> {
        let Some(pointer) = self.config.next_pointer.as_deref() else {
            return Ok(None);
        };
        let token = match page.body.pointer(pointer) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) if s.is_empty() => return Ok(None),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(other) => {
                return Err(self.fetcher.malformed(
                    pointer,
                    format!("expected the next page's URL or token, got {}", kind(other)),
                ));
            }
        };
        match &self.config.next_param {
            Some(param) => {
                let mut pairs = vec![(param.as_str(), token.as_str())];
                if let (Some(p), Some(c)) = (self.config.cursor_param.as_deref(), cursor) {
                    pairs.push((p, c));
                }
                self.with_param(&self.config.url, &pairs).map(Some)
            }
            None => self.fetcher.resolve(&page.url, &token, pointer).map(Some),
        }
    }
}

impl Source for HttpJsonSource {
    fn empty_hint(&self) -> &'static str {
        "check HTTP_JSON_URL, HTTP_JSON_RECORDS_POINTER and HTTP_JSON_CURSOR_PARAM against what the API answers"
    }

    fn name(&self) -> &str {
        self.fetcher.source_name()
    }

    async fn fetch(
        &self,
        cursor: Option<&str>,
        budget: FetchBudget,
    ) -> Result<Fetched, SourceError> {
        let first = match (self.config.cursor_param.as_deref(), cursor) {
            (Some(p), Some(c)) => vec![(p, c)],
            _ => Vec::new(),
        };
        let first = self.with_param(&self.config.url, &first)?;
        // A first run starting at the latest reads the first page only, and what it skips
        // (older pages) is skipped on purpose: there is no cursor to leave a gap behind.
        let latest_start = cursor.is_none() && self.start == StartPosition::Latest;
        let walk_budget = if latest_start {
            FetchBudget {
                max_pages: 1,
                ..budget
            }
        } else {
            budget
        };
        let walk = pager::walk(&self.fetcher, first, walk_budget, |page, n| {
            self.read(&page, n, cursor)
        })
        .await?;
        // Newest-first pages connect to the cursor only when the walk reached the last page.
        let connects_to_cursor =
            self.config.oldest_first || walk.stop == Stop::CaughtUp || latest_start;
        Ok(walk.into_fetched(budget.max_records, connects_to_cursor))
    }
}
