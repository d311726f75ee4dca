//! The paging walk both HTTP sources share. [`walk`] fetches a page, lets the source read it
//! (its records, the items it had to reject, the next page's URL), and repeats within the
//! budget. A failure after some pages keeps them: they come back with the error
//! ([`Stop::Failed`]), so they are delivered and checkpointed before the invocation fails. A
//! failure of the first page fails the fetch; a 429 whose wait does not fit before the deadline
//! ends the walk cleanly ([`Stop::RateLimited`]).

use ks_producer::cursor::id_cmp;
use ks_producer::{FetchBudget, Fetched, SourceError, SourceRecord, Stop};
use reqwest::Url;
use serde_json::Value;
use tokio::time::Instant;

use crate::http::{Fetcher, Page};

/// What a source read from one page.
#[derive(Debug, Default)]
pub struct PageRead {
    pub records: Vec<SourceRecord>,
    /// Items without a usable id, as (JSON pointer, what was found there); never sent.
    pub rejected: Vec<(String, String)>,
    /// The next page, if the page names one.
    pub next: Option<Url>,
}

/// What a walk brought back, before sorting.
#[derive(Debug)]
pub(crate) struct Walk {
    pub records: Vec<SourceRecord>,
    pub rejected: u64,
    /// Pages read (a page that failed is not counted).
    pub pages: u32,
    pub stop: Stop,
    pub error: Option<SourceError>,
}

/// Reads pages from `first` on while the budget allows: `read` turns page number `n` (from 1)
/// into its records and the next page's URL.
pub(crate) async fn walk(
    fetcher: &Fetcher,
    first: Url,
    budget: FetchBudget,
    mut read: impl FnMut(Page, u32) -> Result<PageRead, SourceError>,
) -> Result<Walk, SourceError> {
    let mut url = first;
    let mut walk = Walk {
        records: Vec::new(),
        rejected: 0,
        pages: 0,
        stop: Stop::CaughtUp,
        error: None,
    };
    walk.stop = loop {
        if walk.pages >= budget.max_pages {
            break Stop::MaxPages;
        }
        if walk.records.len() >= budget.max_records {
            break Stop::MaxRecords;
        }
        if Instant::now() >= budget.deadline {
            break Stop::Deadline;
        }
        let number = walk.pages + 1;
        let page = match fetcher.get_json(&url, budget.deadline).await {
            Ok(page) => read(page, number).and_then(|p| no_id_at_all(fetcher, p, number)),
            Err(e) => Err(e),
        };
        let page = match page {
            Ok(p) => p,
            // Nothing read yet: the invocation fails with the reason.
            Err(e) if walk.pages == 0 => return Err(e),
            Err(SourceError::RateLimited { .. }) => break Stop::RateLimited,
            Err(e) => {
                walk.error = Some(e);
                break Stop::Failed;
            }
        };
        walk.pages = number;
        if let Some((pointer, found)) = page.rejected.first() {
            tracing::warn!(
                source = fetcher.source_name(),
                page = number,
                rejected = page.rejected.len(),
                first = pointer.as_str(),
                found = found.as_str(),
                "records without a usable id rejected, not sent"
            );
        }
        let empty = page.records.is_empty() && page.rejected.is_empty();
        walk.rejected += page.rejected.len() as u64;
        walk.records.extend(page.records);
        match page.next {
            Some(next) if !empty => url = next,
            _ => break Stop::CaughtUp,
        }
    };
    Ok(walk)
}

/// A page none of whose items has a usable id is not a few bad items but a setting that does
/// not fit the API (the id pointer): an error, so the run says so instead of succeeding with
/// everything rejected, run after run.
fn no_id_at_all(fetcher: &Fetcher, page: PageRead, number: u32) -> Result<PageRead, SourceError> {
    match page.rejected.first() {
        Some((pointer, found)) if page.records.is_empty() => Err(fetcher.malformed(
            pointer.clone(),
            format!(
                "none of the {} items of page {number} has a usable id (found {found}): does the id pointer fit this API?",
                page.rejected.len()
            ),
        )),
        _ => Ok(page),
    }
}

impl Walk {
    /// Oldest first, and over budget only the oldest are kept: what is dropped is newer than
    /// everything kept, so the next invocation picks it up after the cursor.
    pub fn into_fetched(mut self, max_records: usize, connects_to_cursor: bool) -> Fetched {
        self.records.sort_by(|a, b| id_cmp(&a.id, &b.id));
        let stop = if self.records.len() > max_records {
            self.records.truncate(max_records);
            Stop::MaxRecords
        } else {
            self.stop
        };
        Fetched {
            skipped: Vec::new(),
            records: self.records,
            pages: self.pages,
            stop,
            connects_to_cursor,
            rejected: self.rejected,
            error: self.error,
        }
    }
}

/// A record's id: a non-empty string, or a number; else what was found instead.
pub(crate) fn record_id(v: Option<&Value>) -> Result<String, &'static str> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(Value::String(_)) => Err("an empty string"),
        Some(other) => Err(kind(other)),
        None => Err("nothing"),
    }
}

pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
