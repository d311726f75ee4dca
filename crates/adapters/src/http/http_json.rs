//! Any JSON API as a [`Source`]: a URL, a pointer to the records array, a pointer to each
//! record's id, an optional cursor query parameter, optional pagination by a response field
//! (the next page's URL, or a token sent as a query parameter), and an optional auth header
//! whose value comes from the secret store at cold start (never from an env var value).
//!
//! Ids must increase with time (numbers, or strings that sort, such as ISO timestamps or ULIDs):
//! the cursor is the last delivered id. When pages run newest first and fetching stops before
//! the last page, the cursor cannot move (see `Fetched::connects_to_cursor`).

use ks_producer::config::HttpJsonConfig;
use ks_producer::cursor::id_cmp;
use ks_producer::{FetchBudget, Fetched, Source, SourceError, SourceRecord, Stop};
use reqwest::Url;
use serde_json::Value;
use tokio::time::Instant;

use crate::http::Fetcher;

#[derive(Debug, Clone)]
pub struct HttpJsonSource {
    fetcher: Fetcher,
    config: HttpJsonConfig,
}

impl HttpJsonSource {
    pub fn new(fetcher: Fetcher, config: HttpJsonConfig) -> Result<Self, SourceError> {
        fetcher.url(&config.url)?;
        Ok(HttpJsonSource { fetcher, config })
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

    fn records(&self, body: &Value, page: u32) -> Result<Vec<SourceRecord>, SourceError> {
        let pointer = self.config.records_pointer.as_str();
        let items = match body.pointer(pointer) {
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(self.fetcher.malformed(
                    pointer,
                    format!(
                        "page {page}: expected an array of records, got {}",
                        kind(other)
                    ),
                ));
            }
            None => {
                return Err(self.fetcher.malformed(
                    pointer,
                    format!("page {page}: the records pointer selects nothing"),
                ));
            }
        };
        let id_pointer = self.config.id_pointer.as_str();
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let id = match item.pointer(id_pointer) {
                    Some(Value::String(s)) if !s.is_empty() => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    other => {
                        return Err(self.fetcher.malformed(
                            format!("{pointer}/{i}{id_pointer}"),
                            format!(
                                "page {page}: expected a record id (string or number), got {}",
                                other.map_or("nothing", kind)
                            ),
                        ));
                    }
                };
                let data = serde_json::to_vec(item).map_err(|e| {
                    self.fetcher
                        .malformed(format!("{pointer}/{i}"), e.to_string())
                })?;
                Ok(SourceRecord { id, data })
            })
            .collect()
    }

    /// The next page's URL from the response, or `None` when this was the last page.
    fn next(
        &self,
        body: &Value,
        current: &Url,
        cursor: Option<&str>,
    ) -> Result<Option<Url>, SourceError> {
        let Some(pointer) = self.config.next_pointer.as_deref() else {
            return Ok(None);
        };
        let token = match body.pointer(pointer) {
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
            None => current.join(&token).map(Some).map_err(|e| {
                self.fetcher
                    .malformed(pointer, format!("{token:?} is not a URL: {e}"))
            }),
        }
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

impl Source for HttpJsonSource {
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
        let mut url = self.with_param(&self.config.url, &first)?;
        let mut records = Vec::new();
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
                Err(e) if pages == 0 => return Err(e),
                Err(SourceError::RateLimited { .. }) => break Stop::RateLimited,
                Err(e) => {
                    error = Some(e);
                    break Stop::Failed;
                }
            };
            pages += 1;
            let parsed = self
                .records(&page.body, pages)
                .and_then(|r| Ok((r, self.next(&page.body, &url, cursor)?)));
            let (batch, next) = match parsed {
                Ok(p) => p,
                Err(e) if pages == 1 => return Err(e),
                Err(e) => {
                    error = Some(e);
                    break Stop::Failed;
                }
            };
            let empty = batch.is_empty();
            records.extend(batch);
            match next {
                Some(n) if !empty => url = n,
                _ => break Stop::CaughtUp,
            }
        };
        // Newest-first pages connect to the cursor only when the walk reached the last page.
        let connects_to_cursor = self.config.oldest_first || stop == Stop::CaughtUp;
        // Over budget only the oldest are kept: what is dropped is newer than everything kept.
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
            connects_to_cursor,
            error,
        })
    }
}
