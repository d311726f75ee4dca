//! `put`: backfill files (CSV, JSON Lines, JSON arrays; local, stdin or S3) into a Kinesis stream
//! with the producer's own core logic — [`prepare`] for partition keys and size checks,
//! [`ks_producer::batch::pack`] and KPL aggregation for requests, [`deliver`] for the
//! retries of failed entries — over any [`StreamSink`] (the SDK's `KinesisSink` in the binary).
//!
//! Memory stays constant whatever the input size: a reading thread parses ahead through a
//! bounded channel, at most one request is gathered and `concurrency` requests are in flight.
//! Every input record has an index; a record is settled when the stream accepted it or it went
//! to the rejects file, and the settled prefix is where a stopped run resumes (`--skip`).
//!
//! # Layout
//! - this file: [`run`], the loop that reads, gathers, sends and settles; [`Summary`].
//! - [`input`]: the inputs (paths, stdin, S3 objects) read on their own thread.
//! - [`item`]: what every reader yields. [`format`]: choosing the reader for an input.
//! - [`csv`], [`jsonl`], [`array`]: the readers, each one record at a time.
//! - [`batch`]: gathering records into requests, and the settled-prefix bookkeeping.
//! - [`rate`]: the records/s or bytes/s limit. [`rejects`]: the rejects file.
//! - [`aws`]: the SDK clients `put` uses.

pub mod array;
pub mod aws;
pub mod batch;
pub mod csv;
pub mod format;
pub mod input;
pub mod item;
pub mod jsonl;
pub mod rate;
pub mod rejects;

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt as _;
use futures::stream::FuturesOrdered;
use ks_producer::batch::{Keying, PackLimits, prepare};
use ks_producer::deliver::{DeliveryError, DeliverySettings, RequestReport, deliver};
use ks_producer::{SourceRecord, StreamSink};
use tokio::sync::mpsc;
use tokio::time::Instant;

use self::batch::{Gatherer, Request, Settled};
use self::format::Format;
use self::input::{InputSpec, Msg, ReadError, ReadProgress, ReadSettings};
use self::item::Item;
use self::rate::{Limiter, Rate};
use self::rejects::{Reject, Rejects, RejectsError};

/// Batches of records the reading thread may have parsed ahead of the sender.
const READ_AHEAD_BATCHES: usize = 4;
/// A batch from the reading thread holds this many records, or fewer once it holds
/// [`READ_BATCH_BYTES`]: with records ≤ 1 MiB, read-ahead stays within a few MiB.
const READ_BATCH_RECORDS: usize = 1_000;
const READ_BATCH_BYTES: usize = 512 * 1024;
/// How long one request may keep retrying its failed entries before the run gives up on it.
const REQUEST_BUDGET: Duration = Duration::from_secs(15 * 60);
/// How often the progress callback runs while nothing else happens.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug, Clone)]
pub struct PutOptions {
    pub inputs: Vec<InputSpec>,
    /// `None`: from each input's name, or its first byte.
    pub format: Option<Format>,
    pub schema: Option<csv::Schema>,
    pub keying: Keying,
    /// KPL aggregation cap on an aggregated record's bytes; `None` puts records as they are.
    pub aggregation: Option<usize>,
    pub limits: PackLimits,
    pub delivery: DeliverySettings,
    pub rate: Option<Rate>,
    /// PutRecords requests in flight at once. More than one may reorder records of one
    /// partition key across requests.
    pub concurrency: usize,
    pub rejects: PathBuf,
    /// Stop at the first bad record.
    pub strict: bool,
    /// Input records (bad ones included) an earlier run settled.
    pub skip: u64,
}

/// Why a run stopped before the end of its input.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    #[error("interrupted")]
    Interrupted,
    #[error("{source_name}:{line}: {reason} (stopped by --strict)")]
    Strict {
        source_name: String,
        line: u64,
        reason: String,
    },
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("{undelivered} records of a request not delivered: {cause}")]
    Delivery {
        undelivered: u64,
        cause: DeliveryError,
    },
    #[error(transparent)]
    Rejects(#[from] RejectsError),
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Input records read (after `--skip`), bad ones included.
    pub read: u64,
    /// Input records the stream accepted.
    pub sent: u64,
    /// Input records written to the rejects file.
    pub rejected: u64,
    pub skipped: u64,
    pub put_records_calls: u64,
    pub retries: u64,
    /// Kinesis records accepted (fewer than `sent` when aggregating).
    pub kinesis_records: u64,
    /// Bytes Kinesis accepted, data and partition keys (what shard limits count).
    pub kinesis_bytes: u64,
    /// Bytes of the accepted input records' JSON.
    pub data_bytes: u64,
    /// Input bytes read (files and objects as stored).
    pub input_bytes: u64,
    pub elapsed: Duration,
    /// All records before this one are settled: `--skip` for a resume.
    pub resume_skip: u64,
    /// Records after `resume_skip` that were delivered anyway (a resume sends them again).
    pub delivered_beyond_resume: u64,
    /// The fewest PutRecords calls the accepted records could have taken.
    pub floor_calls: u64,
}

impl Summary {
    fn per_sec(&self, n: u64) -> f64 {
        n as f64 / self.elapsed.as_secs_f64().max(1e-3)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "records: {} read, {} sent, {} rejected, {} skipped",
            self.read, self.sent, self.rejected, self.skipped
        )?;
        writeln!(
            f,
            "PutRecords: {} calls (floor {}), {} retries, {} Kinesis records, {:.1} MB",
            self.put_records_calls,
            self.floor_calls,
            self.retries,
            self.kinesis_records,
            self.kinesis_bytes as f64 / 1e6
        )?;
        write!(
            f,
            "elapsed {:.1} s: {:.0} records/s, {:.2} MB/s sent, {:.2} MB/s read",
            self.elapsed.as_secs_f64(),
            self.per_sec(self.sent),
            self.per_sec(self.data_bytes) / 1e6,
            self.per_sec(self.input_bytes) / 1e6
        )
    }
}

/// A run's end: its summary, and why it stopped early if it did.
#[derive(Debug)]
pub struct Outcome {
    pub summary: Summary,
    pub stopped: Option<PutError>,
}

/// Progress, for a progress bar.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub input_bytes: u64,
    /// Input bytes known to exist (`0`: unknown, e.g. stdin).
    pub total_bytes: u64,
    pub sent: u64,
    pub rejected: u64,
    pub data_bytes: u64,
    pub elapsed: Duration,
}

/// One request through [`deliver`]; owns the request so several can be in flight.
async fn send<K: StreamSink>(
    sink: &K,
    settings: &DeliverySettings,
    request: Request,
    seed: u64,
) -> (Request, RequestReport) {
    let refs: Vec<_> = request.entries.iter().collect();
    let mut rng = fastrand::Rng::with_seed(seed);
    let report = deliver(
        sink,
        &refs,
        settings,
        Instant::now() + REQUEST_BUDGET,
        &mut rng,
    )
    .await;
    (request, report)
}

/// What a run keeps between events of its loop.
struct RunState {
    summary: Summary,
    gatherer: Gatherer,
    /// Requests packed and waiting to be sent.
    ready: VecDeque<Request>,
    settled: Settled,
    rejects: Rejects,
    stopped: Option<PutError>,
}

impl RunState {
    /// Takes in one batch of read items: records are prepared and gathered into requests; bad
    /// ones are written to the rejects file (or stop the run with `strict`).
    fn take(&mut self, opts: &PutOptions, items: Vec<input::Numbered>) {
        for n in items {
            self.summary.read += 1;
            let (line, reason, raw) = match n.item {
                Item::Record { line, data } => {
                    let record = SourceRecord {
                        id: n.index.to_string(),
                        data,
                    };
                    match prepare(&record, &opts.keying, &opts.limits) {
                        Ok(entry) => {
                            self.ready.extend(self.gatherer.push(n.index, entry));
                            continue;
                        }
                        Err(rejection) => (line, rejection.to_string(), item::sample(&record.data)),
                    }
                }
                Item::Bad { line, reason, raw } => (line, reason, raw),
            };
            let written = self.rejects.write(&Reject {
                source: &n.source,
                line,
                index: n.index,
                reason: &reason,
                raw: &raw,
            });
            if let Err(e) = written {
                self.stopped.get_or_insert(e.into());
                break;
            }
            self.summary.rejected += 1;
            if opts.strict {
                // Not settled: a resume after fixing the record sends it.
                self.stopped.get_or_insert(PutError::Strict {
                    source_name: n.source.to_string(),
                    line,
                    reason,
                });
                break;
            }
            self.settled.settle(n.index);
        }
    }

    /// The run's last bookkeeping: the rejects flushed, the reader joined, the resume point and
    /// the floor of calls.
    fn finish(mut self, opts: &PutOptions, reader: std::thread::JoinHandle<()>) -> Outcome {
        if let Err(e) = self.rejects.flush() {
            self.stopped.get_or_insert(e.into());
        }
        // The thread has sent its last batch: joining is immediate. A reader that panicked
        // closed the channel early: its input was not all read, so the run has not succeeded.
        if self.stopped.is_none() && reader.join().is_err() {
            self.stopped = Some(PutError::Read(ReadError::Io {
                source_name: "the input reader".to_owned(),
                error: std::io::Error::other("it stopped with a panic before the end of the input"),
            }));
        }
        let summary = &mut self.summary;
        summary.resume_skip = self.settled.prefix();
        summary.delivered_beyond_resume = self.settled.beyond();
        summary.floor_calls = summary
            .kinesis_records
            .div_ceil(opts.limits.max_records as u64)
            .max(
                summary
                    .kinesis_bytes
                    .div_ceil(opts.limits.max_request_bytes as u64),
            );
        Outcome {
            summary: self.summary,
            stopped: self.stopped,
        }
    }
}

/// Starts the reading thread: it parses ahead into `tx`, counting bytes into the progress.
fn start_reader(
    opts: &PutOptions,
    s3: Option<aws_sdk_s3::Client>,
    tx: mpsc::Sender<Msg>,
) -> (std::thread::JoinHandle<()>, Arc<ReadProgress>) {
    let read_progress = Arc::new(ReadProgress::default());
    read_progress
        .total_bytes
        .store(input::local_bytes(&opts.inputs), Ordering::Relaxed);
    let reader = input::spawn(
        opts.inputs.clone(),
        ReadSettings {
            format: opts.format,
            schema: opts.schema.clone(),
            skip: opts.skip,
            max_record_bytes: opts.limits.max_record_bytes,
            batch_records: READ_BATCH_RECORDS,
            batch_bytes: READ_BATCH_BYTES,
        },
        s3.map(|c| (c, tokio::runtime::Handle::current())),
        tx,
        read_progress.clone(),
    );
    (reader, read_progress)
}

/// Runs a backfill to the end of its inputs, or until `cancel` completes (Ctrl-C: what is in
/// flight finishes, nothing new is sent), a bad record with `strict`, a read error, or a request
/// whose entries cannot be delivered. `s3` is needed for `s3://` inputs.
pub async fn run<K: StreamSink>(
    opts: &PutOptions,
    sink: &K,
    s3: Option<aws_sdk_s3::Client>,
    cancel: impl Future<Output = ()>,
    mut progress: impl FnMut(&Progress),
) -> Outcome {
    let started = Instant::now();
    let (tx, mut rx) = mpsc::channel(READ_AHEAD_BATCHES);
    let (reader, read_progress) = start_reader(opts, s3, tx);
    let mut st = RunState {
        summary: Summary {
            skipped: opts.skip,
            ..Summary::default()
        },
        gatherer: Gatherer::new(opts.limits, opts.aggregation),
        ready: VecDeque::new(),
        settled: Settled::starting_at(opts.skip),
        rejects: Rejects::new(opts.rejects.clone()),
        stopped: None,
    };
    let mut inflight = FuturesOrdered::new();
    let mut limiter = Limiter::new(opts.rate);
    let mut eof = false;
    let mut seeds = fastrand::Rng::new();
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    let mut cancel = std::pin::pin!(cancel);
    let mut cancelled = false;
    let concurrency = opts.concurrency.max(1);

    loop {
        if (eof || st.stopped.is_some()) && st.ready.is_empty() && inflight.is_empty() {
            break;
        }
        let can_send = st.stopped.is_none() && !st.ready.is_empty() && inflight.len() < concurrency;
        let can_read = st.stopped.is_none() && !eof && st.ready.is_empty();
        let send_at = limiter.ready_at(Instant::now());
        tokio::select! {
            biased;
            Some((request, report)) = inflight.next(), if !inflight.is_empty() => {
                if let Some(e) = account(&mut st.summary, &mut st.settled, &request, report) {
                    st.stopped.get_or_insert(e);
                }
            }
            () = &mut cancel, if !cancelled => {
                cancelled = true;
                st.stopped.get_or_insert(PutError::Interrupted);
            }
            () = tokio::time::sleep_until(send_at), if can_send => {
                let request = st.ready.pop_front().expect("can_send checks it");
                limiter.charge(Instant::now(), request.entries.len() as u64, request.bytes());
                inflight.push_back(send(sink, &opts.delivery, request, seeds.u64(..)));
            }
            msg = rx.recv(), if can_read => match msg {
                None => {
                    eof = true;
                    st.ready.extend(st.gatherer.finish());
                }
                Some(Msg::Failed(e)) => {
                    st.stopped.get_or_insert(e.into());
                }
                Some(Msg::Items(items)) => st.take(opts, items),
            },
            _ = tick.tick() => {}
        }
        if st.stopped.is_some() {
            // Nothing more is sent: what is gathered or packed stays unsettled, to resume.
            st.ready.clear();
        }
        st.summary.input_bytes = read_progress.bytes.load(Ordering::Relaxed);
        st.summary.elapsed = started.elapsed();
        progress(&Progress {
            input_bytes: st.summary.input_bytes,
            total_bytes: read_progress.total_bytes.load(Ordering::Relaxed),
            sent: st.summary.sent,
            rejected: st.summary.rejected,
            data_bytes: st.summary.data_bytes,
            elapsed: st.summary.elapsed,
        });
    }
    drop(rx);
    let mut outcome = st.finish(opts, reader);
    outcome.summary.input_bytes = read_progress.bytes.load(Ordering::Relaxed);
    outcome.summary.elapsed = started.elapsed();
    outcome
}

/// Books a finished request; a delivery failure comes back as the reason to stop.
fn account(
    summary: &mut Summary,
    settled: &mut Settled,
    request: &Request,
    report: RequestReport,
) -> Option<PutError> {
    summary.put_records_calls += report.calls;
    summary.retries += report.retries;
    let mut undelivered = 0;
    for (k, &accepted) in report.accepted.iter().enumerate() {
        let members = &request.members[k];
        if !accepted {
            undelivered += members.len() as u64;
            continue;
        }
        summary.kinesis_records += 1;
        summary.kinesis_bytes += request.entries[k].size() as u64;
        summary.data_bytes += request.data_bytes[k];
        summary.sent += members.len() as u64;
        for &m in members {
            settled.settle(m);
        }
    }
    report
        .error
        .map(|cause| PutError::Delivery { undelivered, cause })
}

#[cfg(test)]
mod tests;
