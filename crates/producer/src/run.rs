//! One producer invocation: read the cursor, fetch, dedupe, pack, deliver request by request,
//! then move the cursor over the settled prefix (delivered or rejected for good) and nothing more.

use std::time::Duration;

use tokio::time::Instant;

use super::batch::{Keying, PackItem, PackLimits, Rejection, pack, prepare};
use super::cursor::{cursor_id, dedupe, next_position, settled_prefix_end};
use super::deliver::{DeliveryError, DeliverySettings, deliver};
use super::kpl::{Packed, aggregate};
use super::limits::payload_units;
use super::metrics::ProducerSummary;
use super::{
    Cursor, CursorError, CursorStore, Entry, FetchBudget, Fetched, Source, SourceError,
    SourceRecord, Stop, StreamSink,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceSettings {
    pub limits: PackLimits,
    pub keying: Keying,
    /// KPL aggregation with this cap on an aggregated record's bytes; `None` puts records as they are.
    pub aggregation: Option<usize>,
    pub delivery: DeliverySettings,
    pub max_pages: u32,
    pub max_records: usize,
    /// Fetching stops this long before the deadline so the puts have time.
    pub put_reserve: Duration,
}

impl Default for ProduceSettings {
    fn default() -> Self {
        ProduceSettings {
            limits: PackLimits::default(),
            keying: Keying::default(),
            aggregation: None,
            delivery: DeliverySettings::default(),
            max_pages: 10,
            max_records: 5_000,
            put_reserve: Duration::from_secs(10),
        }
    }
}

/// Why an invocation fails (so the schedule's retry policy and dead-letter queue apply).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProduceError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Cursor(#[from] CursorError),
    #[error(
        "{undelivered} records not delivered; the cursor stays at the last fully delivered record: {cause}"
    )]
    Delivery {
        undelivered: u64,
        cause: DeliveryError,
    },
}

impl ProduceError {
    /// A short code for logs.
    pub fn code(&self) -> &'static str {
        match self {
            ProduceError::Source(_) => "SOURCE",
            ProduceError::Cursor(CursorError::Conflict { .. }) => "CURSOR_CONFLICT",
            ProduceError::Cursor(_) => "CURSOR",
            ProduceError::Delivery { .. } => "DELIVERY",
        }
    }

    /// Whether a later invocation may succeed without a change of settings.
    pub fn is_retryable(&self) -> bool {
        match self {
            ProduceError::Source(e) => e.is_retryable(),
            ProduceError::Cursor(CursorError::Corrupt { .. }) => false,
            ProduceError::Cursor(_) => true,
            ProduceError::Delivery { cause, .. } => {
                matches!(cause, DeliveryError::Exhausted { .. })
            }
        }
    }
}

/// What one invocation did and how it ended.
#[derive(Debug)]
pub struct Outcome {
    pub summary: ProducerSummary,
    pub rejections: Vec<Rejection>,
    pub result: Result<(), ProduceError>,
}

/// One invocation. `deadline` is when all work must be done (the Lambda deadline less a
/// margin); `rng` draws the retry jitter.
///
/// Phases: load the cursor, fetch within the budget, dedupe, prepare entries, pack requests,
/// deliver them in order, move the cursor past what is settled.
pub async fn produce<S, C, K>(
    source: &S,
    store: &C,
    sink: &K,
    cursor_key: &str,
    settings: &ProduceSettings,
    deadline: Instant,
    rng: &mut fastrand::Rng,
) -> Outcome
where
    S: Source,
    C: CursorStore,
    K: StreamSink,
{
    let started = Instant::now();
    let mut summary = ProducerSummary {
        source: source.name().to_owned(),
        stop: "not_started",
        ..ProducerSummary::default()
    };
    let finish = |mut summary: ProducerSummary, rejections, result| {
        summary.elapsed_ms = started.elapsed().as_millis() as u64;
        Outcome {
            summary,
            rejections,
            result,
        }
    };

    let before = match store.load(cursor_key).await {
        Ok(c) => c,
        Err(e) => return finish(summary, Vec::new(), Err(e.into())),
    };
    let position = before.as_ref().map(|c| c.position.clone());
    summary.cursor_before = position.clone();
    summary.cursor_after = position.clone();

    let position = position.as_deref();
    let own_position = source.keeps_position();
    let fetched = match fetch(
        source,
        own_position,
        position,
        settings,
        deadline,
        &mut summary,
    )
    .await
    {
        Ok(f) => f,
        Err(e) => return finish(summary, Vec::new(), Err(e.into())),
    };
    let records = &fetched.records;
    let (prepared, failure) = send(
        sink,
        records,
        fetched.rejected,
        settings,
        deadline,
        rng,
        &mut summary,
    )
    .await;

    let next = next_cursor(
        source,
        own_position,
        records,
        &prepared.settled,
        position,
        fetched.connects_to_cursor,
        &summary,
    );
    let cursor_error = match next {
        Some(next) => save_cursor(store, cursor_key, before.as_ref(), &next, &mut summary).await,
        None => None,
    };
    let result = ending(failure, cursor_error, fetched.error, summary.failed);
    finish(summary, prepared.rejections, result)
}

/// Fetches what follows the cursor within the budget, drops what was delivered before, and
/// counts both in `summary`. The records returned are the new ones.
async fn fetch<S: Source>(
    source: &S,
    own_position: bool,
    position: Option<&str>,
    settings: &ProduceSettings,
    deadline: Instant,
    summary: &mut ProducerSummary,
) -> Result<Fetched, SourceError> {
    let budget = fetch_budget(settings, deadline, &summary.source);
    // The source is asked for what follows the id; the hashes kept beside a timestamp id are
    // the producer's own.
    let since = if own_position {
        position.map(str::to_owned)
    } else {
        position.map(cursor_id)
    };
    let mut fetched = source.fetch(since.as_deref(), budget).await?;
    summary.fetched = fetched.records.len() as u64;
    summary.pages = u64::from(fetched.pages);
    summary.stop = fetched.stop.as_str();
    summary.skipped = fetched.skipped.iter().copied().collect();
    // Caught up with nothing: not a budget or time limit cutting the fetch short, the source
    // itself had no record for us.
    summary.source_empty = u64::from(fetched.records.is_empty() && fetched.stop == Stop::CaughtUp);

    // A source keeping its own position already dropped what it had delivered.
    let deduped = dedupe(
        std::mem::take(&mut fetched.records),
        position.filter(|_| !own_position),
    );
    fetched.records = deduped.new;
    summary.new = fetched.records.len() as u64;
    summary.duplicates = deduped.duplicates;
    Ok(fetched)
}

/// Moves the cursor to `next`. Returns the store's error, if it refused.
async fn save_cursor<C: CursorStore>(
    store: &C,
    cursor_key: &str,
    before: Option<&Cursor>,
    next: &str,
    summary: &mut ProducerSummary,
) -> Option<CursorError> {
    match store.save(cursor_key, before, next).await {
        Ok(c) => {
            summary.cursor_after = Some(c.position);
            None
        }
        Err(e) => Some(e),
    }
}

/// Prepares, packs and delivers `records` in order. Returns their bookkeeping and the delivery
/// failure that stopped it, if one did.
async fn send<K: StreamSink>(
    sink: &K,
    records: &[SourceRecord],
    rejected_by_source: u64,
    settings: &ProduceSettings,
    deadline: Instant,
    rng: &mut fastrand::Rng,
    summary: &mut ProducerSummary,
) -> (Prepared, Option<DeliveryError>) {
    let mut prepared = prepare_all(records, settings, &summary.source);
    // Items the source rejected (no usable id) count too; they were never records to send.
    summary.rejected = rejected_by_source + prepared.rejections.len() as u64;
    let packed = pack_all(&prepared.entries, settings);
    let failure = deliver_all(
        sink,
        &packed,
        &mut prepared,
        settings,
        deadline,
        rng,
        summary,
    )
    .await;
    summary.failed = summary.new - summary.put - prepared.rejections.len() as u64;
    (prepared, failure)
}

/// Where the cursor moves: past the settled prefix, or nowhere when the fetch may have left a
/// gap behind the cursor.
fn next_cursor<S: Source>(
    source: &S,
    own_position: bool,
    records: &[SourceRecord],
    settled: &[bool],
    position: Option<&str>,
    connects_to_cursor: bool,
    summary: &ProducerSummary,
) -> Option<String> {
    if own_position {
        settled_prefix_end(settled).and_then(|end| {
            let delivered: Vec<&SourceRecord> = records[..=end].iter().collect();
            source.position_after(position, &delivered)
        })
    } else if connects_to_cursor {
        next_position(records, settled, position)
    } else {
        tracing::warn!(
            source = summary.source.as_str(),
            stop = summary.stop,
            "pages run newest first and fetching stopped before reaching the cursor: the cursor stays so the gap is fetched next time; raise MAX_PAGES or MAX_RECORDS"
        );
        None
    }
}

/// The invocation's result: a delivery failure first, then the cursor's, then the source's.
fn ending(
    failure: Option<DeliveryError>,
    cursor_error: Option<CursorError>,
    source_error: Option<SourceError>,
    undelivered: u64,
) -> Result<(), ProduceError> {
    match (failure, cursor_error, source_error) {
        (Some(cause), _, _) => Err(ProduceError::Delivery { undelivered, cause }),
        (None, Some(e), _) => Err(e.into()),
        (None, None, Some(e)) => Err(e.into()),
        (None, None, None) => Ok(()),
    }
}

/// What fetching may use: the budget's counts, and the time before the puts' reserve.
fn fetch_budget(settings: &ProduceSettings, deadline: Instant, source: &str) -> FetchBudget {
    let now = Instant::now();
    if deadline.saturating_duration_since(now) <= settings.put_reserve {
        // Otherwise a timeout shorter than the reserve would make every run a silent no-op.
        tracing::warn!(
            source,
            remaining_ms = deadline.saturating_duration_since(now).as_millis() as u64,
            put_reserve_ms = settings.put_reserve.as_millis() as u64,
            "no time left to fetch: the time to the deadline is within PUT_RESERVE_MS; raise the timeout or lower PUT_RESERVE_MS"
        );
    }
    FetchBudget {
        max_pages: settings.max_pages,
        max_records: settings.max_records,
        deadline: deadline
            .checked_sub(settings.put_reserve)
            .unwrap_or(now)
            .max(now),
    }
}

/// The new records as entries, with what is already settled.
struct Prepared {
    entries: Vec<Entry>,
    /// Per entry, the record it came from.
    entry_record: Vec<usize>,
    /// settled[i]: record i is delivered, or rejected for good (re-fetching would reject it
    /// again).
    settled: Vec<bool>,
    rejections: Vec<Rejection>,
}

fn prepare_all(records: &[SourceRecord], settings: &ProduceSettings, source: &str) -> Prepared {
    let mut p = Prepared {
        entries: Vec::with_capacity(records.len()),
        entry_record: Vec::with_capacity(records.len()),
        settled: vec![false; records.len()],
        rejections: Vec::new(),
    };
    for (i, record) in records.iter().enumerate() {
        match prepare(record, &settings.keying, &settings.limits) {
            Ok(entry) => {
                p.entries.push(entry);
                p.entry_record.push(i);
            }
            Err(rejection) => {
                tracing::warn!(source, id = record.id.as_str(), error = %rejection, "record rejected, not sent");
                p.settled[i] = true;
                p.rejections.push(rejection);
            }
        }
    }
    p
}

/// Kinesis records (aggregated or not) and the requests that carry them, in order.
struct Packing {
    /// The aggregated records; `None` when each entry goes as its own Kinesis record, read in
    /// place rather than copied (a copy of every entry was a third of a large run's memory).
    aggregated: Option<Vec<Packed>>,
    /// Per request, its Kinesis records: indexes into `aggregated`, or into the entries.
    requests: Vec<Vec<usize>>,
}

impl Packing {
    /// Kinesis record `u`.
    fn entry<'a>(&'a self, entries: &'a [Entry], u: usize) -> &'a Entry {
        match &self.aggregated {
            Some(units) => &units[u].entry,
            None => &entries[u],
        }
    }

    /// The entries Kinesis record `u` carries.
    fn members(&self, u: usize) -> impl Iterator<Item = usize> + '_ {
        let (grouped, alone) = match &self.aggregated {
            Some(units) => (units[u].members.as_slice(), None),
            None => (&[][..], Some(u)),
        };
        grouped.iter().copied().chain(alone)
    }
}

fn pack_all(entries: &[Entry], settings: &ProduceSettings) -> Packing {
    let aggregated = settings.aggregation.map(|cap| aggregate(entries, cap));
    let items: Vec<PackItem> = match &aggregated {
        Some(units) => units
            .iter()
            .map(|u| PackItem {
                size: u.entry.size(),
                keys: u
                    .members
                    .iter()
                    .map(|&m| entries[m].partition_key.as_str())
                    .collect(),
            })
            .collect(),
        None => entries
            .iter()
            .map(|e| PackItem {
                size: e.size(),
                keys: vec![e.partition_key.as_str()],
            })
            .collect(),
    };
    let requests = pack(&items, &settings.limits);
    Packing {
        aggregated,
        requests,
    }
}

/// Delivers the requests in order, marking what the stream accepted as settled; stops at the
/// first request that is not wholly delivered (the cursor cannot pass it anyway).
async fn deliver_all<K: StreamSink>(
    sink: &K,
    packed: &Packing,
    prepared: &mut Prepared,
    settings: &ProduceSettings,
    deadline: Instant,
    rng: &mut fastrand::Rng,
    summary: &mut ProducerSummary,
) -> Option<DeliveryError> {
    for request in &packed.requests {
        let batch: Vec<&Entry> = request
            .iter()
            .map(|&u| packed.entry(&prepared.entries, u))
            .collect();
        let report = deliver(sink, &batch, &settings.delivery, deadline, rng).await;
        summary.put_records_calls += report.calls;
        summary.retries += report.retries;
        for (k, &u) in request.iter().enumerate() {
            if !report.accepted[k] {
                continue;
            }
            let size = packed.entry(&prepared.entries, u).size();
            summary.kinesis_records += 1;
            summary.bytes += size as u64;
            summary.payload_units += payload_units(size);
            for m in packed.members(u) {
                prepared.settled[prepared.entry_record[m]] = true;
                summary.put += 1;
            }
        }
        if report.error.is_some() {
            return report.error;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CallError;
    use crate::cursor::MemoryCursorStore;
    use crate::deliver::{Answer, MemorySink};
    use crate::synthetic::{GivenSource, SyntheticSource, id_of};

    /// The records, caught up; `connects` says whether they connect to the cursor.
    fn fixed(records: Vec<SourceRecord>, connects: bool) -> GivenSource {
        GivenSource {
            connects_to_cursor: connects,
            ..GivenSource::new("fixed", records)
        }
    }

    fn rec(id: u32, bytes: usize) -> SourceRecord {
        SourceRecord {
            id: id.to_string(),
            data: vec![b'x'; bytes],
        }
    }

    fn synthetic(n: usize) -> SyntheticSource {
        SyntheticSource::posts_only(1, n)
    }

    fn fast() -> ProduceSettings {
        let mut s = ProduceSettings::default();
        s.delivery.retry.base = Duration::from_millis(1);
        s.delivery.retry.cap = Duration::from_millis(5);
        s.delivery.retry.max_attempts = 3;
        s
    }

    async fn run<S: Source>(
        source: &S,
        store: &MemoryCursorStore,
        sink: &MemorySink,
        settings: &ProduceSettings,
    ) -> Outcome {
        let deadline = Instant::now() + Duration::from_secs(60);
        produce(
            source,
            store,
            sink,
            "k",
            settings,
            deadline,
            &mut fastrand::Rng::with_seed(1),
        )
        .await
    }

    #[tokio::test]
    async fn a_run_puts_everything_new_and_moves_the_cursor_to_the_last() {
        // GIVEN 1,200 synthetic posts and no cursor
        let (store, sink) = (MemoryCursorStore::default(), MemorySink::default());
        // WHEN one invocation runs
        let settings = ProduceSettings {
            max_pages: 100,
            ..fast()
        };
        let out = run(&synthetic(1_200), &store, &sink, &settings).await;
        // THEN all are put in ⌈1200/500⌉ calls and the cursor is the last id
        out.result.unwrap();
        let s = out.summary;
        assert_eq!(
            (s.fetched, s.new, s.put, s.rejected, s.failed),
            (1_200, 1_200, 1_200, 0, 0)
        );
        assert_eq!(s.put_records_calls, 3);
        assert_eq!(s.cursor_before, None);
        assert_eq!(s.cursor_after.as_deref(), Some(id_of(1_199).as_str()));
        assert_eq!(store.get("k").unwrap().position, id_of(1_199));
        // AND the next invocation continues after it
        let out = run(&synthetic(10), &store, &sink, &fast()).await;
        assert_eq!(
            out.summary.cursor_after.as_deref(),
            Some(id_of(1_209).as_str())
        );
        assert_eq!(sink.accepted.lock().unwrap().len(), 1_210);
    }

    #[tokio::test]
    async fn a_fetch_caught_up_with_nothing_is_an_empty_run_and_only_that() {
        let (store, sink) = (MemoryCursorStore::default(), MemorySink::default());
        // GIVEN a source that has nothing WHEN a run fetches THEN the run is empty, and no call
        let out = run(&fixed(Vec::new(), true), &store, &sink, &fast()).await;
        out.result.unwrap();
        assert_eq!(
            (out.summary.source_empty, out.summary.stop),
            (1, "caught_up")
        );
        assert_eq!(out.summary.put_records_calls, 0);
        // GIVEN records, even ones the cursor already covers THEN the run is not empty
        store.save("k", None, "9").await.unwrap();
        let out = run(&fixed(vec![rec(9, 10)], true), &store, &sink, &fast()).await;
        assert_eq!((out.summary.source_empty, out.summary.new), (0, 0));
        // GIVEN a fetch cut short by its budget with nothing read THEN not empty either: the
        // source was not asked to the end
        let cut = ProduceSettings {
            put_reserve: Duration::from_secs(3_600),
            ..fast()
        };
        let fresh = MemoryCursorStore::default();
        let out = run(&synthetic(10), &fresh, &sink, &cut).await;
        assert_eq!((out.summary.fetched, out.summary.source_empty), (0, 0));
        assert_eq!(out.summary.stop, "deadline");
    }

    #[tokio::test]
    async fn records_the_cursor_covers_are_not_sent_again() {
        let store = MemoryCursorStore::default();
        store.save("k", None, "5").await.unwrap();
        let sink = MemorySink::default();
        let source = fixed(
            vec![rec(4, 10), rec(5, 10), rec(6, 10), rec(6, 10), rec(7, 10)],
            true,
        );
        let out = run(&source, &store, &sink, &fast()).await;
        let s = out.summary;
        assert_eq!((s.fetched, s.new, s.duplicates, s.put), (5, 2, 3, 2));
        assert_eq!(s.cursor_after.as_deref(), Some("7"));
    }

    #[tokio::test]
    async fn when_retries_run_out_the_cursor_stays_at_the_last_fully_delivered_record() {
        // GIVEN a stream that rejects everything
        let store = MemoryCursorStore::default();
        store.save("k", None, "0").await.unwrap();
        let sink = MemorySink::failing(CallError::Throttled("Rate exceeded".into()));
        // WHEN an invocation runs
        let out = run(
            &fixed(vec![rec(1, 10), rec(2, 10)], true),
            &store,
            &sink,
            &fast(),
        )
        .await;
        // THEN it fails, names the undelivered count, and leaves the cursor alone
        let err = out.result.unwrap_err();
        assert!(
            matches!(err, ProduceError::Delivery { undelivered: 2, .. }),
            "{err}"
        );
        assert_eq!(out.summary.failed, 2);
        assert_eq!(store.get("k").unwrap().position, "0");
        assert_eq!(
            *sink.calls.lock().unwrap(),
            3,
            "max_attempts calls, then give up"
        );
    }

    #[tokio::test]
    async fn a_partly_failed_request_advances_the_cursor_over_the_delivered_prefix() {
        // GIVEN one request per record and a stream that always fails the third record
        let store = MemoryCursorStore::default();
        let sink = MemorySink::default();
        {
            let mut script = sink.script.lock().unwrap();
            script.push_back(Answer::Entries(vec![true]));
            script.push_back(Answer::Entries(vec![true]));
            for _ in 0..3 {
                script.push_back(Answer::Entries(vec![false]));
            }
        }
        let mut settings = fast();
        settings.limits.max_records = 1;
        // WHEN five records are produced
        let out = run(
            &fixed((1..=5).map(|i| rec(i, 10)).collect(), true),
            &store,
            &sink,
            &settings,
        )
        .await;
        // THEN records 1 and 2 are delivered, the run fails, and the cursor is at 2
        assert!(out.result.is_err());
        assert_eq!((out.summary.put, out.summary.failed), (2, 3));
        assert_eq!(store.get("k").unwrap().position, "2");
    }

    #[tokio::test]
    async fn oversize_records_are_rejected_counted_and_passed_by_the_cursor() {
        let store = MemoryCursorStore::default();
        let sink = MemorySink::default();
        let mut settings = fast();
        settings.limits.max_record_bytes = 100;
        let out = run(
            &fixed(vec![rec(1, 50), rec(2, 100), rec(3, 99)], true),
            &store,
            &sink,
            &settings,
        )
        .await;
        out.result.unwrap();
        assert_eq!((out.summary.put, out.summary.rejected), (2, 1));
        assert_eq!(
            out.rejections,
            [Rejection::TooLarge {
                id: "2".into(),
                bytes: 100 + 1,
                limit: 100
            }]
        );
        assert!(
            sink.accepted
                .lock()
                .unwrap()
                .iter()
                .all(|e| e.data.len() != 100),
            "never sent"
        );
        assert_eq!(store.get("k").unwrap().position, "3");
    }

    #[tokio::test]
    async fn a_gap_behind_the_fetch_keeps_the_cursor_where_it_was() {
        let store = MemoryCursorStore::default();
        store.save("k", None, "1").await.unwrap();
        let sink = MemorySink::default();
        let out = run(
            &fixed(vec![rec(8, 10), rec(9, 10)], false),
            &store,
            &sink,
            &fast(),
        )
        .await;
        out.result.unwrap();
        assert_eq!(out.summary.put, 2);
        assert_eq!(out.summary.cursor_after.as_deref(), Some("1"));
    }

    #[tokio::test]
    async fn with_aggregation_many_user_records_ride_in_few_kinesis_records() {
        let (store, sink) = (MemoryCursorStore::default(), MemorySink::default());
        let mut settings = fast();
        settings.aggregation = Some(51_200);
        let out = run(&synthetic(1_000), &store, &sink, &settings).await;
        out.result.unwrap();
        let s = out.summary;
        assert_eq!(s.put, 1_000);
        assert!(s.kinesis_records < 30, "{s:?}");
        assert_eq!(s.put_records_calls, 1);
        let users: usize = sink
            .accepted
            .lock()
            .unwrap()
            .iter()
            .map(|e| {
                crate::kpl::deaggregate(&e.partition_key, None, &e.data)
                    .unwrap()
                    .len()
            })
            .sum();
        assert_eq!(users, 1_000);
    }

    #[tokio::test]
    async fn a_concurrent_invocation_that_moved_the_cursor_wins() {
        // GIVEN a store whose cursor another invocation advances mid-run
        struct Racing(MemoryCursorStore);
        impl CursorStore for Racing {
            async fn load(&self, key: &str) -> Result<Option<crate::Cursor>, CursorError> {
                let read = self.0.load(key).await;
                self.0.save(key, None, "999").await.ok();
                read
            }
            async fn save(
                &self,
                key: &str,
                expected: Option<&crate::Cursor>,
                position: &str,
            ) -> Result<crate::Cursor, CursorError> {
                self.0.save(key, expected, position).await
            }
        }
        let store = Racing(MemoryCursorStore::default());
        let sink = MemorySink::default();
        let out = produce(
            &fixed(vec![rec(1, 10)], true),
            &store,
            &sink,
            "k",
            &fast(),
            Instant::now() + Duration::from_secs(5),
            &mut fastrand::Rng::with_seed(1),
        )
        .await;
        // THEN this one's write is refused and the invocation fails with a conflict
        let err = out.result.unwrap_err();
        assert_eq!(err.code(), "CURSOR_CONFLICT", "{err}");
        assert_eq!(store.0.get("k").unwrap().position, "999");
    }
}
