//! `demo`: synthetic posts (or, online, Bluesky's live posts through the jetstream source) →
//! the producer's core logic → an in-process stream → the local Firehose → the transform with
//! the lexicon backend → an S3-shaped directory, then the report.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ks_lexicon::LEXICON_MAX_DOCUMENT_BYTES;
use ks_lexicon::Lexicon;
use ks_producer::batch::Keying;
use ks_producer::cursor::MemoryCursorStore;
use ks_producer::limits::KPL_DEFAULT_AGGREGATION_MAX_BYTES;
use ks_producer::run::{ProduceSettings, produce};
use ks_producer::synthetic::{DEFAULT_DELETE_EVERY, SyntheticSource, index_of};
use ks_producer::{FetchBudget, Fetched, Source, SourceError};
use ks_purge::{LocalDir, PurgeSettings, PurgeSummary};
use ks_sources::jetstream::{DEFAULT_JETSTREAM_URL, JetstreamConfig};
use ks_transform::route::Destination as TransformDestination;
use ks_transform::text::Pointer;
use ks_transform::transform::TransformSettings;

use ks_firehose_local::bucket::LocalBucket;
use ks_firehose_local::firehose::{
    FirehoseSettings, FirehoseStats, InProcess, LocalFirehose, Processor,
};
use ks_firehose_local::iceberg::IcebergError;
use ks_firehose_local::output::OutputFormat;
use ks_firehose_local::stream::LocalStream;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::report;

/// A file the demo leaves in its output directory, so a later run knows the directory is its
/// own and may be wiped.
pub const MARKER: &str = ".kinesis-sentiment-demo";
/// The Kinesis stream's and the delivery stream's names.
pub const STREAM_NAME: &str = "social-posts";
pub const DELIVERY_STREAM_NAME: &str = "social-posts-sentiment";

/// Where the demo's posts come from.
#[derive(Debug, Clone, Default)]
pub enum DemoSource {
    /// The deterministic synthetic source, offline (`make demo`).
    #[default]
    Synthetic,
    /// Bluesky's Jetstream, live: the stack's default source, needs the network.
    Jetstream(JetstreamConfig),
}

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub source: DemoSource,
    pub records: usize,
    /// Producing stops after this long even if fewer records were produced.
    pub seconds: u64,
    pub out: PathBuf,
    /// Wipe `out` even if the demo did not create it.
    pub force: bool,
    pub shards: usize,
    /// Every Nth post is truncated before it is put, so it fails the transform; 0 for none.
    pub bad_every: u64,
    /// Posts one producer invocation fetches.
    pub batch: usize,
    /// Simulated posts per second (spreads `created_at`, so the report has a timeline).
    pub rate: u32,
    pub seed: u64,
    pub buffer_bytes: usize,
    /// KPL-aggregate records before putting them.
    pub aggregate: bool,
    /// What the delivery stream writes: NDJSON, or Parquet (record format conversion).
    pub output_format: OutputFormat,
    /// Every Nth synthetic item deletes an earlier post (0: none).
    pub delete_every: u64,
    /// Run the purge over the output once the pipeline is done (as the stack's schedule does).
    pub purge: bool,
    /// The delivery stream's source is shaped as an Amazon MSK cluster: invocation events carry
    /// `kafkaRecordValue` and `mskRecordMetadata`, and answers must too.
    pub msk_source: bool,
    /// Set: the delivery stream writes Iceberg tables (the transform routes by otfMetadata).
    pub iceberg: Option<super::iceberg::IcebergArgs>,
}

/// The cluster ARN the demo's MSK-shaped source names.
const DEMO_MSK_CLUSTER_ARN: &str =
    "arn:aws:kafka:us-east-1:000000000000:cluster/demo/00000000-0000-0000-0000-000000000000-1";

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            source: DemoSource::Synthetic,
            records: 5_000,
            seconds: 30,
            out: PathBuf::from("out/demo"),
            force: false,
            shards: 4,
            bad_every: 97,
            batch: 500,
            rate: 2,
            seed: 42,
            buffer_bytes: ks_firehose_local::firehose::DEFAULT_BUFFER_BYTES,
            aggregate: true,
            output_format: OutputFormat::Json,
            delete_every: DEFAULT_DELETE_EVERY,
            purge: true,
            msk_source: false,
            iceberg: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{0}")]
    Output(String),
    #[error("writing the output: {0}")]
    Io(#[from] std::io::Error),
    #[error("the producer failed ({code}): {message}")]
    Produce { code: &'static str, message: String },
}

/// What the run did.
#[derive(Debug, Clone)]
pub struct DemoOutcome {
    pub produced: u64,
    pub corrupted: Vec<String>,
    pub producer_calls: u64,
    pub kinesis_records: u64,
    pub firehose: FirehoseStats,
    /// The purge of the output once the pipeline is done (zero with `purge` off).
    pub purge: PurgeSummary,
    /// Iceberg mode: the account purge over the tables, and the warehouse.
    pub iceberg_purge: Option<super::iceberg::IcebergPurge>,
    pub warehouse: Option<PathBuf>,
    pub elapsed: Duration,
}

/// Truncates every `every`-th post by one byte (the closing brace), keeping its id: a record
/// the transform cannot parse, so it must end in `processing-failed/`.
pub struct Corrupting<S> {
    pub inner: S,
    pub every: u64,
}

/// Whether a record is one of the synthetic source's deletions.
pub fn is_deletion(data: &[u8]) -> bool {
    data.starts_with(br#"{"op":"delete""#)
}

/// Whether post `index` of a demo is corrupted.
pub fn is_corrupted(index: u64, every: u64) -> bool {
    every > 0 && index % every == every - 1
}

impl<S: Source> Source for Corrupting<S> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn fetch(
        &self,
        cursor: Option<&str>,
        budget: FetchBudget,
    ) -> Result<Fetched, SourceError> {
        let mut fetched = self.inner.fetch(cursor, budget).await?;
        // A deletion is never corrupted: the demo's failures show failed posts, and a deletion
        // that failed would leave its post in the output.
        for r in fetched.records.iter_mut().filter(|r| !is_deletion(&r.data)) {
            if index_of(&r.id).is_some_and(|i| is_corrupted(i, self.every)) {
                r.data.pop();
            }
        }
        Ok(fetched)
    }
}

/// Makes `out` an empty directory: creates it, or wipes it if the demo wrote it before (or
/// `force`); refuses a non-empty directory of someone else's.
pub fn prepare_out(out: &Path, force: bool) -> Result<(), DemoError> {
    if out.is_file() {
        return Err(DemoError::Output(format!(
            "{} is a file; choose a directory for --out",
            out.display()
        )));
    }
    if out.is_dir() {
        let empty = std::fs::read_dir(out)?.next().is_none();
        if !empty && !force && !out.join(MARKER).exists() {
            return Err(DemoError::Output(format!(
                "{} is not empty and was not written by the demo: refusing to wipe it (pass --force, or choose another --out)",
                out.display()
            )));
        }
        if !empty {
            std::fs::remove_dir_all(out)?;
        }
    }
    std::fs::create_dir_all(out)?;
    std::fs::write(
        out.join(MARKER),
        b"written by `kinesis-sentiment demo`; the next demo run wipes this directory\n",
    )?;
    Ok(())
}

/// The transform's settings for the demo: the lexicon backend, language from the post's `lang`,
/// partition keys on as the stack has them, so deletions reach their own area.
pub fn transform_settings() -> TransformSettings {
    TransformSettings {
        language_pointers: vec![Pointer::parse("/lang").expect("valid pointer")],
        max_document_bytes: LEXICON_MAX_DOCUMENT_BYTES,
        partition_keys: true,
        ..TransformSettings::default()
    }
}

/// [`transform_settings`] for a destination: on an Iceberg one, records are routed by
/// otfMetadata instead of partition keys (the transform refuses both at once).
pub fn transform_settings_for(destination: TransformDestination) -> TransformSettings {
    let iceberg = matches!(destination, TransformDestination::Iceberg(_));
    TransformSettings {
        destination,
        partition_keys: !iceberg,
        ..transform_settings()
    }
}

/// The warehouse of a demo in Iceberg mode, inside its output directory.
pub fn demo_warehouse(out: &Path) -> PathBuf {
    out.join(crate::report::WAREHOUSE_DIR.trim_end_matches('/'))
}

/// The partition key of records: by default the record's own id; for Iceberg tables the
/// post's `id` (a post, its edits and its deletion carry it), so that everything that happens
/// to one post lands on one shard and is applied in order: an update or delete read before
/// its post (another shard) would leave the post behind, and the tables apply operations in
/// the order they read them. (Firehose says it keeps no order across records.)
fn keying(iceberg: bool) -> Keying {
    Keying {
        partition_key: iceberg.then(|| POST_ID_POINTER.to_owned()),
        explicit_hash_key: None,
    }
}

/// The post id every record of a post carries.
pub const POST_ID_POINTER: &str = "/id";

/// Polls until nothing is new. A crash injected before a table commit (the fault hook) makes
/// the delivery stream start over from its checkpoints, as a restarted one would.
async fn drain<P: Processor>(
    firehose: &mut LocalFirehose<'_, P>,
    stream: &LocalStream,
) -> std::io::Result<()> {
    loop {
        match firehose.poll(stream).await {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if IcebergError::is_injected_crash(&e) => restart(firehose, &e),
            Err(e) => return Err(e),
        }
    }
}

/// [`drain`], then delivers what is buffered (starting over after an injected crash).
async fn finish<P: Processor>(
    firehose: &mut LocalFirehose<'_, P>,
    stream: &LocalStream,
) -> std::io::Result<()> {
    loop {
        drain(firehose, stream).await?;
        match firehose.flush().await {
            Ok(()) => return Ok(()),
            Err(e) if IcebergError::is_injected_crash(&e) => restart(firehose, &e),
            Err(e) => return Err(e),
        }
    }
}

fn restart<P: Processor>(firehose: &mut LocalFirehose<'_, P>, why: &std::io::Error) {
    eprintln!("{why}: the delivery stream starts over from its checkpoints");
    firehose.restart();
}

/// Runs the pipeline; `progress` is called with the posts produced so far and the stats.
pub async fn run(
    opts: &DemoOptions,
    mut progress: impl FnMut(u64, &FirehoseStats),
) -> Result<DemoOutcome, DemoError> {
    let started = Instant::now();
    prepare_out(&opts.out, opts.force)?;
    let bucket = LocalBucket::new(&opts.out);
    let stream = LocalStream::new(STREAM_NAME, opts.shards);
    let cursors = MemoryCursorStore::default();
    let (transform, iceberg) = match &opts.iceberg {
        Some(args) => (
            args.transform_destination(),
            args.destination(Some(&demo_warehouse(&opts.out)))
                .map_err(DemoError::Output)?,
        ),
        None => (TransformDestination::S3, None),
    };
    let processor = InProcess {
        analyzer: Lexicon::new(),
        settings: transform_settings_for(transform),
        timeout: Duration::from_secs(300),
    };
    let mut firehose_settings = FirehoseSettings::new(DELIVERY_STREAM_NAME);
    firehose_settings.iceberg = iceberg.clone();
    firehose_settings.buffer_bytes = opts.buffer_bytes;
    if opts.msk_source {
        firehose_settings.msk_cluster_arn = Some(DEMO_MSK_CLUSTER_ARN.to_owned());
    }
    firehose_settings.output_format = opts.output_format;
    let mut firehose = LocalFirehose::new(firehose_settings, &processor, &bucket);
    let mut rng = fastrand::Rng::with_seed(opts.seed);

    let mut totals = Totals::default();
    let mut pipeline = Pipeline {
        opts,
        started,
        stream: &stream,
        cursors: &cursors,
        firehose: &mut firehose,
        rng: &mut rng,
    };
    match &opts.source {
        DemoSource::Synthetic => {
            let source = |n| Corrupting {
                inner: SyntheticSource {
                    name: "synthetic".to_owned(),
                    seed: opts.seed,
                    per_invocation: n,
                    rate_per_sec: opts.rate,
                    delete_every: opts.delete_every,
                },
                every: opts.bad_every,
            };
            pipeline
                .produce_all(source, &mut totals, &mut progress)
                .await?
        }
        DemoSource::Jetstream(config) => {
            jetstream(&mut pipeline, config, &mut totals, &mut progress).await?
        }
    }
    finish(&mut firehose, &stream).await?;
    let Totals {
        produced,
        producer_calls,
        kinesis_records,
    } = totals;
    progress(produced, firehose.stats());
    let corrupted = match opts.source {
        DemoSource::Synthetic => (0..produced)
            .filter(|&i| is_corrupted(i, opts.bad_every))
            .filter(|&i| ks_producer::synthetic::deleted_by(i, opts.delete_every).is_none())
            .map(ks_producer::synthetic::id_of)
            .collect(),
        DemoSource::Jetstream(_) => Vec::new(),
    };
    let stats = firehose.stats().clone();
    // What the deployed stack's scheduled purge does, once the output is written.
    let purge = if opts.purge {
        purge_output(&opts.out).await?
    } else {
        PurgeSummary::default()
    };
    let iceberg_purge = match (&iceberg, opts.purge) {
        (Some(destination), true) => Some(
            super::iceberg::purge_iceberg(destination, &PurgeSettings::local().account_statuses)
                .map_err(DemoError::Output)?,
        ),
        _ => None,
    };
    Ok(DemoOutcome {
        produced,
        corrupted,
        producer_calls,
        kinesis_records,
        firehose: stats,
        purge,
        iceberg_purge,
        warehouse: iceberg.map(|d| d.warehouse),
        elapsed: started.elapsed(),
    })
}

#[derive(Debug, Default)]
struct Totals {
    produced: u64,
    producer_calls: u64,
    kinesis_records: u64,
}

/// The parts one producer invocation of the demo runs through.
struct Pipeline<'a, 'b> {
    opts: &'a DemoOptions,
    started: Instant,
    stream: &'a LocalStream,
    cursors: &'a MemoryCursorStore,
    firehose: &'a mut LocalFirehose<'b, InProcess<Lexicon>>,
    rng: &'a mut fastrand::Rng,
}

impl Pipeline<'_, '_> {
    fn time_left(&self) -> Duration {
        Duration::from_secs(self.opts.seconds).saturating_sub(self.started.elapsed())
    }

    /// Producer invocations (each of at most `--batch` posts from `source(n)`), each followed
    /// by the Firehose polls it causes, until `--records` or `--seconds`. A live source that
    /// has nothing new waits a second instead of ending the run.
    async fn produce_all<S: Source>(
        &mut self,
        source: impl Fn(usize) -> S,
        totals: &mut Totals,
        progress: &mut impl FnMut(u64, &FirehoseStats),
    ) -> Result<(), DemoError> {
        let live = matches!(self.opts.source, DemoSource::Jetstream(_));
        while (totals.produced as usize) < self.opts.records && !self.time_left().is_zero() {
            let n = self
                .opts
                .batch
                .max(1)
                .min(self.opts.records - totals.produced as usize);
            let settings = ProduceSettings {
                aggregation: self
                    .opts
                    .aggregate
                    .then_some(KPL_DEFAULT_AGGREGATION_MAX_BYTES),
                max_pages: u32::MAX,
                max_records: n,
                put_reserve: Duration::from_secs(1),
                keying: keying(self.opts.iceberg.is_some()),
                ..ProduceSettings::default()
            };
            // A live read stops at `--seconds` (plus the put reserve), like the Lambda's budget.
            let budget = Duration::from_secs(60).min(self.time_left() + settings.put_reserve);
            let deadline = tokio::time::Instant::now() + budget;
            let outcome = produce(
                &source(n),
                self.cursors,
                self.stream,
                "demo",
                &settings,
                deadline,
                self.rng,
            )
            .await;
            if let Err(e) = outcome.result {
                return Err(DemoError::Produce {
                    code: e.code(),
                    message: e.to_string(),
                });
            }
            totals.produced += outcome.summary.put;
            totals.producer_calls += outcome.summary.put_records_calls;
            totals.kinesis_records += outcome.summary.kinesis_records;
            drain(self.firehose, self.stream).await?;
            progress(totals.produced, self.firehose.stats());
            match (outcome.summary.put, live) {
                (0, false) => break,
                (0, true) => tokio::time::sleep(Duration::from_secs(1).min(self.time_left())).await,
                _ => {}
            }
        }
        Ok(())
    }
}

/// Produces from the live Jetstream firehose, in builds that have it.
async fn jetstream(
    pipeline: &mut Pipeline<'_, '_>,
    config: &JetstreamConfig,
    totals: &mut Totals,
    progress: &mut impl FnMut(u64, &FirehoseStats),
) -> Result<(), DemoError> {
    #[cfg(feature = "jetstream")]
    {
        let source = ks_sources::jetstream::JetstreamSource::new(config.clone());
        pipeline
            .produce_all(|_| source.clone(), totals, progress)
            .await
    }
    #[cfg(not(feature = "jetstream"))]
    {
        let _ = (pipeline, config, totals, progress);
        Err(DemoError::Output(
            "this build has no jetstream source (make demo builds without it, offline): run `cargo run --release -p kinesis-sentiment -- demo --source jetstream`".to_owned(),
        ))
    }
}

/// `--source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceArg {
    Synthetic,
    Jetstream,
}

#[derive(Args)]
pub struct DemoArgs {
    /// Where posts come from: the offline synthetic source, or Bluesky's live Jetstream (the
    /// machine must be online; --records and --seconds bound the run).
    #[arg(long, value_enum, default_value_t = SourceArg::Synthetic)]
    pub source: SourceArg,
    /// The Jetstream instance's /subscribe URL (wss://, or ws:// for a local one).
    #[arg(long, default_value = DEFAULT_JETSTREAM_URL)]
    pub jetstream_url: String,
    /// Posts to produce.
    #[arg(long, default_value_t = 5_000)]
    pub records: usize,
    /// Stop producing after this many seconds, even if fewer posts were produced.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// Output directory. Created if missing; wiped if an earlier demo wrote it; any other
    /// non-empty directory is refused unless --force.
    #[arg(long, default_value = "out/demo")]
    pub out: PathBuf,
    /// Wipe --out even if it was not written by the demo.
    #[arg(long)]
    pub force: bool,
    /// Shards of the in-process stream.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub shards: u16,
    /// Corrupt every Nth post (truncated JSON) so failures land in processing-failed/; 0 for none.
    #[arg(long, default_value_t = 97)]
    pub bad_every: u64,
    /// Simulated posts per second, which spreads the posts' created_at for the timeline.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: u32,
    /// Seed of the synthetic source (same seed, same posts).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Firehose's Lambda buffering size hint, in bytes (Firehose allows 0.2–3 MB).
    #[arg(long, default_value_t = ks_firehose_local::firehose::DEFAULT_BUFFER_BYTES as u64, value_parser = clap::value_parser!(u64).range(200_000..=3_145_728))]
    pub buffer_bytes: u64,
    /// Put records as they are instead of KPL-aggregating them.
    #[arg(long)]
    pub no_aggregation: bool,
    /// Every Nth synthetic item deletes the post N/2 items before it (0: none); the purge then
    /// removes it from the output.
    #[arg(long, default_value_t = DEFAULT_DELETE_EVERY, value_parser = parse_delete_every)]
    pub delete_every: u64,
    /// Leave the output as Firehose wrote it: deleted posts stay until `kinesis-sentiment purge`.
    #[arg(long)]
    pub no_purge: bool,
    /// Where to write the report (default: <out>/report.html).
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// What Firehose writes: the NDJSON as it is, or Parquet (record format conversion with the
    /// Glue table's schema, the stack's OutputFormat=parquet).
    #[arg(long, default_value_t = OutputFormat::Json, value_parser = str::parse::<OutputFormat>)]
    pub output_format: OutputFormat,
    /// Shape the delivery stream's source as an Amazon MSK cluster: the transform gets each
    /// payload in `kafkaRecordValue` (with `mskRecordMetadata`) and must answer in it.
    #[arg(long)]
    pub msk_source: bool,
    /// The destination (default: the bucket layout); Iceberg tables go to
    /// <out>/warehouse unless --warehouse says otherwise.
    #[command(flatten)]
    pub iceberg: super::iceberg::IcebergArgs,
}

/// `--delete-every`: 0, or at least 2 (every item a deletion would delete nothing).
fn parse_delete_every(v: &str) -> Result<u64, String> {
    match v.parse::<u64>() {
        Ok(1) => Err("0 (none) or at least 2".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{v:?}: {e}")),
    }
}

/// Runs the purge over the demo's output, as `kinesis-sentiment purge` does.
pub async fn purge_output(out: &Path) -> Result<PurgeSummary, DemoError> {
    let far = tokio::time::Instant::now() + Duration::from_secs(24 * 3_600);
    let now = chrono::Utc::now().timestamp_millis();
    ks_purge::purge(&LocalDir::new(out), &PurgeSettings::local(), now, far)
        .await
        .map_err(|e| DemoError::Output(format!("the purge failed: {e}")))
}

/// `--jetstream-url` checked as the producer checks `JETSTREAM_URL`.
fn jetstream_config(url: &str) -> Result<JetstreamConfig, String> {
    let lookup = |_: &str| Some(url.to_owned());
    let url = ks_sources::jetstream::config::ws_url(
        &ks_kernel::env::Env(&lookup),
        "--jetstream-url",
        Some(url.to_owned()),
    )
    .map_err(|e| e.to_string())?
    .ok_or("--jetstream-url: empty")?;
    Ok(JetstreamConfig {
        urls: vec![url],
        ..JetstreamConfig::default()
    })
}

/// `kinesis-sentiment demo`: runs the pipeline with a progress bar, then writes the report.
pub async fn main(args: DemoArgs) -> Result<(), String> {
    let opts = options(&args)?;
    let bar = progress_bar(opts.records as u64);
    let outcome = run(&opts, |produced, stats| {
        bar.set_position(produced);
        bar.set_message(format!(
            "{} ok · {} failed · {} invocations",
            stats.ok,
            stats.failed(),
            stats.invocations
        ));
    })
    .await;
    bar.finish_and_clear();
    let outcome = outcome.map_err(|e| e.to_string())?;
    print_summary(&opts, &outcome);
    println!();
    match (&outcome.warehouse, &opts.iceberg) {
        (Some(warehouse), Some(names)) => {
            let posts = warehouse
                .join(&names.iceberg_database)
                .join(&names.iceberg_posts_table);
            let errors = opts.out.display().to_string();
            let html = args
                .html
                .clone()
                .unwrap_or_else(|| opts.out.join("report.html"));
            super::report::iceberg_report(&posts, Some(&errors), Some(&html))?;
        }
        _ => {
            super::report::write_report(&opts.out, args.html.as_deref())?;
        }
    }
    Ok(())
}

/// The demo's options from the command line.
fn options(args: &DemoArgs) -> Result<DemoOptions, String> {
    let source = match args.source {
        SourceArg::Synthetic => DemoSource::Synthetic,
        SourceArg::Jetstream => DemoSource::Jetstream(jetstream_config(&args.jetstream_url)?),
    };
    // Corrupting posts on purpose is the synthetic source's: live posts are sent as they are.
    let bad_every = match source {
        DemoSource::Synthetic => args.bad_every,
        DemoSource::Jetstream(_) => 0,
    };
    Ok(DemoOptions {
        source,
        records: args.records,
        seconds: args.seconds,
        out: args.out.clone(),
        force: args.force,
        shards: usize::from(args.shards),
        bad_every,
        rate: args.rate,
        seed: args.seed,
        buffer_bytes: args.buffer_bytes as usize,
        aggregate: !args.no_aggregation,
        output_format: args.output_format,
        delete_every: args.delete_every,
        purge: !args.no_purge,
        msk_source: args.msk_source,
        iceberg: (args.iceberg.destination == super::iceberg::DestinationArg::Iceberg)
            .then(|| args.iceberg.clone()),
        ..DemoOptions::default()
    })
}

/// A bar counting the posts produced out of `records`.
fn progress_bar(records: u64) -> ProgressBar {
    let bar = ProgressBar::new(records);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner:.green} {elapsed_precise} [{bar:30.cyan/blue}] {pos}/{len} posts  {msg}",
        )
        .expect("a valid template")
        .progress_chars("█▉▊▋▌▍▎▏ "),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// What the run did, in four lines.
fn print_summary(opts: &DemoOptions, outcome: &DemoOutcome) {
    let f = &outcome.firehose;
    let secs = outcome.elapsed.as_secs_f64().max(0.001);
    let deletions = match opts.source {
        DemoSource::Synthetic => (0..outcome.produced)
            .filter(|&i| ks_producer::synthetic::deleted_by(i, opts.delete_every).is_some())
            .count() as u64,
        DemoSource::Jetstream(_) => 0,
    };
    println!(
        "Produced {} records ({} posts, {} deletions; {} corrupted on purpose) in {} PutRecords calls, {} Kinesis records over {} shards (KPL {})",
        report::grouped(outcome.produced),
        report::grouped(outcome.produced - deletions),
        report::grouped(deletions),
        report::grouped(outcome.corrupted.len() as u64),
        outcome.producer_calls,
        report::grouped(outcome.kinesis_records),
        opts.shards,
        if opts.aggregate { "aggregated" } else { "off" }
    );
    println!(
        "Firehose: {} records, {} Lambda invocations ({} attempts), {} objects, {} error objects",
        report::grouped(f.records_in),
        f.invocations,
        f.attempts,
        f.objects,
        f.error_objects
    );
    if let Some(warehouse) = &outcome.warehouse {
        println!(
            "Iceberg: {} commits to {}, {} rows written, {} removed (updates and deletes, copy-on-write), {} records refused (iceberg-failed/), {} re-delivered records skipped, {} restarts",
            f.iceberg_commits,
            warehouse.display(),
            report::grouped(f.iceberg_rows_added),
            report::grouped(f.iceberg_rows_removed),
            f.iceberg_failed,
            f.iceberg_skipped,
            f.restarts
        );
    }
    if let Some(p) = &outcome.iceberg_purge {
        println!(
            "Iceberg account purge: {} purged accounts, {} posts removed",
            p.accounts, p.rows_removed
        );
    }
    let p = &outcome.purge;
    println!(
        "Purge: {} deletions and {} account purges applied, {} records removed, {} of {} objects read, {} rewritten",
        report::grouped(p.deletions_applied),
        report::grouped(p.account_purges_read),
        report::grouped(p.records_removed()),
        p.objects_read,
        p.objects_in_bucket,
        p.objects_rewritten + p.objects_deleted
    );
    println!(
        "Throughput: {:.0} records/s end to end ({:.2} s)",
        outcome.produced as f64 / secs,
        outcome.elapsed.as_secs_f64()
    );
    let (format, failures) = match (&opts.iceberg, opts.output_format) {
        (Some(_), _) => ("Iceberg tables under warehouse/", " and iceberg-failed/"),
        (None, OutputFormat::Json) => ("NDJSON", ""),
        (None, OutputFormat::Parquet) => ("Parquet", " and format-conversion-failed/"),
    };
    println!(
        "Output: {}/  ({format}; failures under {}/processing-failed/{failures})",
        opts.out.display(),
        opts.out.display(),
    );
}
