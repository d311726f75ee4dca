//! The stream producer's domain: pull what is new from a [`Source`], put it into a stream through
//! a [`StreamSink`] (one PutRecords call each), and move a [`CursorStore`]'s cursor only past
//! what the stream accepted. No AWS SDK, no HTTP client, no Lambda types, no transform:
//! adapters implement the three traits; [`run::produce`] is one invocation.
//!
//! # Layout
//! - this file: the traits ([`Source`], [`CursorStore`], [`StreamSink`]) and what they carry.
//! - [`batch`]: preparing records (partition keys, size checks) and packing requests.
//! - [`kpl`]: KPL aggregation and de-aggregation.
//! - [`deliver`]: one PutRecords request through the kernel's retry driver.
//! - [`cursor`]: id order, dedupe and where the cursor may move.
//! - [`run`]: [`run::produce`], one invocation: fetch, dedupe, pack, deliver, checkpoint.
//! - [`config`]: the domain's own settings ([`run::ProduceSettings`], [`config::StartPosition`],
//!   [`config::Overrides`]); each adapter reads its own.
//! - [`metrics`]: the invocation's summary and its EMF document.
//! - [`synthetic`]: the deterministic synthetic source (the embedded default), and
//!   [`synthetic::GivenSource`] of ready records (tests, benchmarks).
//! - [`limits`]: Kinesis' limits, each citing its page.

use std::future::Future;

pub mod batch;
pub mod config;
pub mod cursor;
pub mod deliver;
pub mod kpl;
pub mod limits;
pub mod metrics;
pub mod run;
pub mod synthetic;

use tokio::time::Instant;

/// One record from a source: its id (for the cursor and dedupe) and its JSON bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    pub id: String,
    pub data: Vec<u8>,
}

/// How much one fetch may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchBudget {
    pub max_pages: u32,
    pub max_records: usize,
    /// Fetching stops (keeping what it has) when this instant is reached.
    pub deadline: Instant,
}

/// Why a fetch stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The source has nothing newer.
    CaughtUp,
    MaxPages,
    MaxRecords,
    Deadline,
    /// The server asked to wait longer than the time left; what came before is delivered.
    RateLimited,
    /// A page failed after earlier ones succeeded; the error is in [`Fetched::error`].
    Failed,
    /// The source sent nothing for its stall timeout; what came before is delivered.
    Stalled,
}

impl Stop {
    pub fn as_str(self) -> &'static str {
        match self {
            Stop::CaughtUp => "caught_up",
            Stop::MaxPages => "max_pages",
            Stop::MaxRecords => "max_records",
            Stop::Deadline => "deadline",
            Stop::RateLimited => "rate_limited",
            Stop::Failed => "failed",
            Stop::Stalled => "stalled",
        }
    }
}

/// What a fetch brought back.
#[derive(Debug)]
pub struct Fetched {
    pub records: Vec<SourceRecord>,
    pub pages: u32,
    pub stop: Stop,
    /// True when nothing newer than the cursor can lie between the cursor and the oldest record
    /// fetched (pages read oldest first, or every page read). When false the cursor must not
    /// move, or the records in the gap would be skipped.
    pub connects_to_cursor: bool,
    /// Items the source could not make records of (no usable id), logged by the source and
    /// counted in the summary's `rejected`: never sent, and no cursor can name them.
    pub rejected: u64,
    /// A page that failed after others succeeded: what came before is still delivered.
    pub error: Option<SourceError>,
    /// Items read and deliberately not sent, by reason (a stream's updates, deletes, other
    /// event kinds, replayed posts, unreadable frames), counted in the summary's `skipped`.
    pub skipped: Vec<(&'static str, u64)>,
}

/// A fetch that failed, naming the source and, for shape errors, the JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error(
        "source {source_name}: rate limited (HTTP 429) and the Retry-After of {retry_after_ms} ms does not fit before the deadline"
    )]
    RateLimited {
        source_name: String,
        retry_after_ms: u64,
    },
    #[error("source {source_name}: unavailable after {attempts} attempts: {reason}")]
    Unavailable {
        source_name: String,
        attempts: u32,
        reason: String,
    },
    #[error("source {source_name}: malformed response at {pointer:?}: {reason}")]
    Malformed {
        source_name: String,
        pointer: String,
        reason: String,
    },
    #[error("source {source_name}: response larger than the {limit_bytes}-byte cap")]
    TooLarge {
        source_name: String,
        limit_bytes: usize,
    },
    #[error("source {source_name}: {reason}")]
    Permanent { source_name: String, reason: String },
    /// The server answered a 4xx other than 429; `reason` names the status, the URL and the
    /// start of the body. The status is kept so a source can tell what it means for it.
    #[error("source {source_name}: {reason}")]
    Status {
        source_name: String,
        status: u16,
        reason: String,
    },
    /// The server does not serve the configured feed to this producer (a Mastodon timeline
    /// disabled, or open to signed-in users only): no retry helps, a change of settings does.
    #[error("source {source_name}: {server} {reason}. Ways out: {}", .ways_out.join("; "))]
    Closed {
        source_name: String,
        /// The server, as configured (redacted).
        server: String,
        /// What it reports or answered, e.g. `configuration.timelines_access.live_feeds.local
        /// = disabled`.
        reason: String,
        ways_out: Vec<String>,
    },
}

impl SourceError {
    /// Whether a later invocation may succeed without a change of settings.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SourceError::RateLimited { .. } | SourceError::Unavailable { .. }
        )
    }
}

/// Where records come from. Records may come back in any order; ids must increase with time
/// (see [`cursor::id_cmp`]) because the cursor is the id of the last delivered record.
pub trait Source: Send + Sync {
    /// The source's name in logs, errors and as the cursor's key.
    fn name(&self) -> &str;

    /// Whether the source writes its own positions ([`Source::position_after`]) instead of
    /// the id of the last delivered record: a stream whose ids are not a reliable order (a
    /// replay window, clocks per instance). The producer then hands `fetch` the stored
    /// position as it is and does not drop records by comparing them with it.
    fn keeps_position(&self) -> bool {
        false
    }

    /// What a streak of empty runs likely means for this source, and the ways out (logged with
    /// the warning that the source has given nothing, run after run).
    fn empty_hint(&self) -> &'static str {
        "the source has nothing new: check its settings against what it serves"
    }

    /// For a source that [keeps its position](Source::keeps_position): the position to store
    /// once `delivered` (the settled prefix, oldest first) are in the stream, after `before`.
    fn position_after(&self, before: Option<&str>, delivered: &[&SourceRecord]) -> Option<String> {
        let _ = (before, delivered);
        None
    }

    /// Fetches what is newer than `cursor` (the id of the last delivered record), within `budget`.
    fn fetch(
        &self,
        cursor: Option<&str>,
        budget: FetchBudget,
    ) -> impl Future<Output = Result<Fetched, SourceError>> + Send;
}

/// The durable position of one source: the id of the last fully delivered record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cursor {
    pub position: String,
    /// Incremented on every write; a write names the version it read (optimistic locking).
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error(
        "cursor {key}: another invocation moved it since it was read (expected version {expected})"
    )]
    Conflict { key: String, expected: u64 },
    #[error("cursor {key}: store unavailable: {reason}")]
    Unavailable { key: String, reason: String },
    #[error("cursor {key}: unreadable: {reason}")]
    Corrupt { key: String, reason: String },
}

/// Keeps one cursor per source.
pub trait CursorStore: Send + Sync {
    fn load(&self, key: &str) -> impl Future<Output = Result<Option<Cursor>, CursorError>> + Send;

    /// Writes `position` if the stored cursor is still `expected` (`None`: no cursor yet), and
    /// returns the new cursor. Two invocations that read the same cursor cannot both advance it:
    /// the second gets [`CursorError::Conflict`].
    fn save(
        &self,
        key: &str,
        expected: Option<&Cursor>,
        position: &str,
    ) -> impl Future<Output = Result<Cursor, CursorError>> + Send;
}

/// One PutRecords entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub data: Vec<u8>,
    pub partition_key: String,
    pub explicit_hash_key: Option<String>,
}

impl Entry {
    /// The bytes this entry counts against the request and record limits.
    pub fn size(&self) -> usize {
        limits::record_bytes(self.data.len(), &self.partition_key)
    }
}

/// What the stream answered for one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryOutcome {
    Accepted {
        shard_id: String,
        sequence_number: String,
    },
    Failed {
        code: String,
        message: String,
    },
}

/// Per-entry error codes worth sending again.
/// <https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecordsResultEntry.html>
pub const RETRYABLE_ENTRY_CODES: [&str; 2] =
    ["ProvisionedThroughputExceededException", "InternalFailure"];

/// A PutRecords call that failed as a whole: the kernel's one vocabulary for failed calls.
pub use ks_kernel::error::CallError;

/// One PutRecords call.
pub trait StreamSink: Send + Sync {
    /// Puts `entries` in one request; the answer has exactly one outcome per entry, in order.
    fn put_records(
        &self,
        entries: &[&Entry],
    ) -> impl Future<Output = Result<Vec<EntryOutcome>, CallError>> + Send;
}
