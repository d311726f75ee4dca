//! `kinesis-sentiment firehose`: the local Firehose on real endpoints — a Kinesis stream (AWS,
//! moto, kinesalite), the transform in-process or through the Lambda Invoke API, and S3 or a
//! directory — with a spinner, Ctrl-C handling and a closing summary.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use indicatif::ProgressBar;
use ks_firehose_local::aws::{self, KinesisReader, LambdaProcessor, S3Store, StartAt};
use ks_firehose_local::delivery::{self, CheckpointFile, RunOptions, Stopped};
use ks_firehose_local::firehose::{
    FirehoseSettings, FirehoseStats, InProcess, LocalFirehose, ObjectStore, Processor,
};
use ks_firehose_local::output::OutputFormat;

use crate::report;

#[derive(Args)]
pub struct FirehoseArgs {
    /// The Kinesis stream to read (the delivery stream's source).
    #[arg(long)]
    pub stream: String,
    /// Write to this bucket (through the S3 API).
    #[arg(long, required_unless_present = "out", conflicts_with = "out")]
    pub bucket: Option<String>,
    /// Write to this directory instead of a bucket.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// In front of delivered objects' keys (the delivery stream's Prefix), e.g. `data/`.
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// In front of error objects' keys (ErrorOutputPrefix), e.g. `errors/`.
    #[arg(long, default_value = "")]
    pub error_prefix: String,
    /// Invoke this function through the Lambda Invoke API; without it the transform runs
    /// in-process with the lexicon backend.
    #[arg(long)]
    pub function: Option<String>,
    /// The Lambda API's endpoint, e.g. `cargo lambda watch`'s http://127.0.0.1:9000.
    #[arg(long, requires = "function")]
    pub lambda_endpoint: Option<String>,
    /// Kinesis's and S3's endpoint (an emulator); default: the SDK's (AWS_ENDPOINT_URL, ...).
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// Seconds an invocation may take before the attempt counts as failed (Lambda's maximum
    /// timeout for a Firehose processor is 5 minutes).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=900))]
    pub invoke_timeout: u64,
    /// The delivery stream's name, which object names start with.
    #[arg(long, default_value = super::demo::DELIVERY_STREAM_NAME)]
    pub delivery_stream: String,
    /// Lambda buffering size hint, in bytes (Firehose allows 0.2–3 MB).
    #[arg(long, default_value_t = ks_firehose_local::firehose::DEFAULT_BUFFER_BYTES as u64, value_parser = clap::value_parser!(u64).range(200_000..=3_145_728))]
    pub buffer_bytes: u64,
    /// Lambda buffering interval hint, in seconds (Firehose allows 0–900).
    #[arg(long, default_value_t = ks_firehose_local::firehose::DEFAULT_BUFFER_INTERVAL.as_secs(), value_parser = clap::value_parser!(u64).range(0..=900))]
    pub buffer_seconds: u64,
    /// Retries of a failed invocation before its records go to the error prefix.
    #[arg(long, default_value_t = ks_firehose_local::firehose::DEFAULT_RETRIES, value_parser = clap::value_parser!(u32).range(0..=300))]
    pub retries: u32,
    /// The first retry's backoff ceiling, in milliseconds; it doubles per retry up to ten
    /// times itself (full jitter). 0 retries back to back.
    #[arg(long, default_value_t = ks_firehose_local::firehose::DEFAULT_RETRY_BACKOFF_BASE.as_millis() as u64, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub retry_backoff_ms: u64,
    /// Where a shard without a checkpoint starts.
    #[arg(long, value_enum, default_value = "trim-horizon")]
    pub start_at: StartAtArg,
    /// Delivered objects as NDJSON, or converted to Parquet with the Glue table's schema (the
    /// stack's OutputFormat=parquet; records that do not fit go to format-conversion-failed/).
    #[arg(long, default_value_t = OutputFormat::Json, value_parser = str::parse::<OutputFormat>)]
    pub output_format: OutputFormat,
    /// Per-shard checkpoints: a restart resumes after the last delivered record.
    /// Default: .kinesis-sentiment/checkpoints/<stream>-<delivery-stream>.json
    #[arg(long)]
    pub checkpoint_file: Option<PathBuf>,
    /// Milliseconds between polls of the shards.
    #[arg(long, default_value_t = ks_firehose_local::delivery::DEFAULT_POLL_INTERVAL.as_millis() as u64, value_parser = clap::value_parser!(u64).range(200..))]
    pub poll_ms: u64,
    /// Stop (delivering everything) after this many seconds with nothing new; default: run until Ctrl-C.
    #[arg(long)]
    pub exit_when_idle: Option<u64>,
    /// The destination: the bucket layout (default) or Iceberg tables in --warehouse (the
    /// bucket, or --out, keeps the error records). A function invoked through --function must
    /// route by itself (DESTINATION=iceberg); the in-process transform is set up here.
    #[command(flatten)]
    pub iceberg: super::iceberg::IcebergArgs,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum StartAtArg {
    TrimHorizon,
    Latest,
}

/// `kinesis-sentiment firehose`.
pub async fn main(args: FirehoseArgs) -> Result<(), String> {
    let config = aws::sdk_config().await;
    let region = config
        .region()
        .map_or_else(|| "us-east-1".to_owned(), |r| r.to_string());
    let start = match args.start_at {
        StartAtArg::TrimHorizon => StartAt::TrimHorizon,
        StartAtArg::Latest => StartAt::Latest,
    };
    let reader = KinesisReader::new(
        aws::kinesis_client(&config, args.endpoint_url.as_deref()),
        &args.stream,
        start,
    );
    let mut settings = settings_from(&args, &region);
    settings.iceberg = args.iceberg.destination(None)?;
    let function = args.function.clone();
    let checkpoints = CheckpointFile::new(args.checkpoint_file.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            ".kinesis-sentiment/checkpoints/{}-{}.json",
            args.stream, args.delivery_stream
        ))
    }));
    let resume = checkpoints.load(&args.stream).map_err(|e| e.to_string())?;
    let options = RunOptions {
        poll_interval: Duration::from_millis(args.poll_ms),
        exit_when_idle: args.exit_when_idle.map(Duration::from_secs),
    };
    print_banner(&args, &checkpoints, !resume.is_empty());
    let stop = stop_on_ctrl_c();

    let started = std::time::Instant::now();
    let local;
    let s3;
    let store: either::Store<'_> = match (&args.bucket, &args.out) {
        (Some(bucket), _) => {
            s3 = S3Store::new(
                aws::s3_client(&config, args.endpoint_url.as_deref()),
                bucket,
                &args.prefix,
                &args.error_prefix,
            );
            either::Store::S3(&s3)
        }
        (None, Some(out)) => {
            local = ks_firehose_local::bucket::LocalBucket::new(out);
            either::Store::Local(&local)
        }
        (None, None) => unreachable!("clap requires --bucket or --out"),
    };
    let result = match &function {
        Some(name) => {
            let processor = LambdaProcessor::new(
                aws::lambda_client(
                    &config,
                    args.lambda_endpoint.as_deref(),
                    Duration::from_secs(args.invoke_timeout),
                ),
                name,
            );
            let mut firehose = LocalFirehose::new(settings, &processor, &store);
            firehose.resume(resume);
            drive(firehose, &reader, &args.stream, &checkpoints, options, stop).await
        }
        None => {
            let processor = InProcess {
                analyzer: ks_lexicon::Lexicon::new(),
                settings: super::demo::transform_settings_for(args.iceberg.transform_destination()),
                timeout: Duration::from_secs(300),
            };
            let mut firehose = LocalFirehose::new(settings, &processor, &store);
            firehose.resume(resume);
            drive(firehose, &reader, &args.stream, &checkpoints, options, stop).await
        }
    };
    let (why, stats) = result?;
    print_summary(why, &stats, started.elapsed());
    println!("Checkpoints saved to {}", checkpoints.path().display());
    Ok(())
}

async fn drive<P: Processor, B: ObjectStore>(
    mut firehose: LocalFirehose<'_, P, B>,
    reader: &KinesisReader,
    stream: &str,
    checkpoints: &CheckpointFile,
    options: RunOptions,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(Stopped, FirehoseStats), String> {
    let bar = ProgressBar::new_spinner();
    bar.enable_steady_tick(Duration::from_millis(100));
    let why = delivery::run(
        &mut firehose,
        reader,
        stream,
        checkpoints,
        options,
        stop,
        |f| {
            let s = f.stats();
            bar.set_message(format!(
                "{} records read · {} ok · {} failed · {} invocations · {} objects · {} buffered",
                s.records_in,
                s.ok,
                s.failed(),
                s.invocations,
                s.objects + s.error_objects,
                f.buffered()
            ));
        },
    )
    .await;
    bar.finish_and_clear();
    let why = why.map_err(|e| e.to_string())?;
    Ok((why, firehose.stats().clone()))
}

/// The opening line: what is read, what runs the transform, where it goes.
fn print_banner(args: &FirehoseArgs, checkpoints: &CheckpointFile, resuming: bool) {
    let mut destination = match (&args.bucket, &args.out) {
        (Some(bucket), _) => format!("s3://{bucket}/{}", args.prefix),
        (None, Some(out)) => out.display().to_string(),
        (None, None) => unreachable!("clap requires --bucket or --out"),
    };
    if let Some(warehouse) = &args.iceberg.warehouse {
        destination = format!(
            "Iceberg tables in {} (errors: {destination})",
            warehouse.display()
        );
    }
    let invoker = args.function.as_deref().map_or_else(
        || "in-process transform (lexicon)".to_owned(),
        |f| {
            format!(
                "{f} via {}",
                args.lambda_endpoint.as_deref().unwrap_or("the Lambda API")
            )
        },
    );
    println!(
        "Delivery stream {}: {} → {invoker} → {destination}  (checkpoints: {}{})",
        args.delivery_stream,
        args.stream,
        checkpoints.path().display(),
        if resuming { ", resuming" } else { "" }
    );
}

/// The delivery stream's settings from the flags.
fn settings_from(args: &FirehoseArgs, region: &str) -> FirehoseSettings {
    let mut settings = FirehoseSettings::new(&args.delivery_stream);
    settings.buffer_bytes = args.buffer_bytes as usize;
    settings.buffer_interval = Duration::from_secs(args.buffer_seconds);
    settings.retries = args.retries;
    let base = Duration::from_millis(args.retry_backoff_ms);
    settings.retry_backoff = (base, base * 10);
    settings.output_format = args.output_format;
    settings.region = region.to_owned();
    settings.lambda_arn = format!(
        "arn:aws:lambda:{region}:{}:function:{}",
        settings.account,
        args.function.as_deref().unwrap_or("in-process")
    );
    settings
}

/// A future that completes at the first Ctrl-C (a clean stop: the buffer is delivered); a
/// second Ctrl-C leaves at once.
fn stop_on_ctrl_c() -> impl std::future::Future<Output = ()> {
    // The first Ctrl-C asks for a clean stop; a second one leaves at once.
    let (tx, mut rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "\nCtrl-C: delivering what is buffered, then stopping (Ctrl-C again to quit now)"
            );
            let _ = tx.send(true);
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "stopped without delivering the buffer; a restart resumes from the last checkpoint"
                );
                std::process::exit(130);
            }
        }
    });
    async move {
        let _ = rx.wait_for(|stop| *stop).await;
    }
}

/// The closing lines: why it stopped, what it read, delivered and failed.
fn print_summary(why: Stopped, stats: &FirehoseStats, elapsed: Duration) {
    let secs = elapsed.as_secs_f64().max(0.001);
    println!(
        "{}: {} records from {} Kinesis records; {} ok, {} dropped, {} failed ({} processing-failed, {} in failed batches, {} not de-aggregable)",
        match why {
            Stopped::Signal => "Stopped",
            Stopped::Idle => "Idle, stopped",
        },
        report::grouped(stats.records_in),
        report::grouped(stats.kinesis_records),
        report::grouped(stats.ok),
        report::grouped(stats.dropped),
        report::grouped(stats.failed()),
        stats.processing_failed,
        stats.batch_failed,
        stats.deaggregation_failed
    );
    println!(
        "{} invocations ({} attempts), {} objects + {} error objects, {} bytes delivered, {:.0} records/s over {:.1} s",
        stats.invocations,
        stats.attempts,
        stats.objects,
        stats.error_objects,
        report::grouped(stats.bytes_delivered),
        stats.records_in as f64 / secs,
        secs
    );
    if stats.iceberg_commits > 0 || stats.iceberg_failed > 0 {
        println!(
            "Iceberg: {} commits, {} rows written, {} removed, {} records refused (iceberg-failed/), {} re-delivered records skipped",
            stats.iceberg_commits,
            report::grouped(stats.iceberg_rows_added),
            report::grouped(stats.iceberg_rows_removed),
            stats.iceberg_failed,
            stats.iceberg_skipped
        );
    }
}

/// One of the two object stores, chosen at run time.
mod either {
    use ks_firehose_local::aws::S3Store;
    use ks_firehose_local::bucket::LocalBucket;
    use ks_firehose_local::firehose::ObjectStore;

    pub enum Store<'a> {
        S3(&'a S3Store),
        Local(&'a LocalBucket),
    }

    impl ObjectStore for Store<'_> {
        async fn put(&self, key: &str, body: Vec<u8>) -> std::io::Result<()> {
            match self {
                Store::S3(s) => s.put(key, body).await,
                Store::Local(l) => ObjectStore::put(*l, key, body).await,
            }
        }
    }
}
