//! `kinesis-sentiment`: run the pipeline on one machine (`demo`) and look at its output (`report`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use ks_cli::demo::{self, DemoOptions};
use ks_cli::output::OutputFormat;
use ks_cli::report;

#[derive(Parser)]
#[command(
    name = "kinesis-sentiment",
    version,
    about = "The kinesis-sentiment pipeline on one machine, and a report of its output"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Synthetic posts → producer → in-process Kinesis → local Firehose → sentiment transform
    /// (lexicon) → a directory laid out like Firehose's S3 bucket, then an HTML report. Offline.
    Demo(DemoArgs),
    /// A local Firehose delivery stream on real endpoints: reads a Kinesis stream (AWS, moto,
    /// kinesalite), invokes the transform in-process or through the Lambda Invoke API (a deployed
    /// function, or `cargo lambda watch`), writes Firehose's layout to S3 or a directory.
    #[cfg(feature = "aws")]
    Firehose(Box<FirehoseArgs>),
    /// Read a Firehose output (a directory, or s3://bucket/prefix) and write a self-contained
    /// HTML report.
    Report(ReportArgs),
    /// Backfill files (CSV, JSON Lines, JSON arrays; local, stdin or S3) into a Kinesis stream.
    #[cfg(feature = "aws")]
    Put(ks_cli::put::cli::PutArgs),
}

#[cfg(feature = "aws")]
#[derive(Args)]
struct FirehoseArgs {
    /// The Kinesis stream to read (the delivery stream's source).
    #[arg(long)]
    stream: String,
    /// Write to this bucket (through the S3 API).
    #[arg(long, required_unless_present = "out", conflicts_with = "out")]
    bucket: Option<String>,
    /// Write to this directory instead of a bucket.
    #[arg(long)]
    out: Option<PathBuf>,
    /// In front of delivered objects' keys (the delivery stream's Prefix), e.g. `data/`.
    #[arg(long, default_value = "")]
    prefix: String,
    /// In front of error objects' keys (ErrorOutputPrefix), e.g. `errors/`.
    #[arg(long, default_value = "")]
    error_prefix: String,
    /// Invoke this function through the Lambda Invoke API; without it the transform runs
    /// in-process with the lexicon backend.
    #[arg(long)]
    function: Option<String>,
    /// The Lambda API's endpoint, e.g. `cargo lambda watch`'s http://127.0.0.1:9000.
    #[arg(long, requires = "function")]
    lambda_endpoint: Option<String>,
    /// Kinesis's and S3's endpoint (an emulator); default: the SDK's (AWS_ENDPOINT_URL, ...).
    #[arg(long)]
    endpoint_url: Option<String>,
    /// Seconds an invocation may take before the attempt counts as failed (Lambda's maximum
    /// timeout for a Firehose processor is 5 minutes).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=900))]
    invoke_timeout: u64,
    /// The delivery stream's name, which object names start with.
    #[arg(long, default_value = ks_cli::demo::DELIVERY_STREAM_NAME)]
    delivery_stream: String,
    /// Lambda buffering size hint, in bytes (Firehose allows 0.2–3 MB).
    #[arg(long, default_value_t = ks_cli::firehose::DEFAULT_BUFFER_BYTES as u64, value_parser = clap::value_parser!(u64).range(200_000..=3_145_728))]
    buffer_bytes: u64,
    /// Lambda buffering interval hint, in seconds (Firehose allows 0–900).
    #[arg(long, default_value_t = ks_cli::firehose::DEFAULT_BUFFER_INTERVAL.as_secs(), value_parser = clap::value_parser!(u64).range(0..=900))]
    buffer_seconds: u64,
    /// Retries of a failed invocation before its records go to the error prefix.
    #[arg(long, default_value_t = ks_cli::firehose::DEFAULT_RETRIES, value_parser = clap::value_parser!(u32).range(0..=300))]
    retries: u32,
    /// Where a shard without a checkpoint starts.
    #[arg(long, value_enum, default_value = "trim-horizon")]
    start_at: StartAtArg,
    /// Delivered objects as NDJSON, or converted to Parquet with the Glue table's schema (the
    /// stack's OutputFormat=parquet; records that do not fit go to format-conversion-failed/).
    #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
    output_format: OutputFormat,
    /// Per-shard checkpoints: a restart resumes after the last delivered record.
    /// Default: .kinesis-sentiment/checkpoints/<stream>-<delivery-stream>.json
    #[arg(long)]
    checkpoint_file: Option<PathBuf>,
    /// Milliseconds between polls of the shards.
    #[arg(long, default_value_t = ks_cli::delivery::DEFAULT_POLL_INTERVAL.as_millis() as u64, value_parser = clap::value_parser!(u64).range(200..))]
    poll_ms: u64,
    /// Stop (delivering everything) after this many seconds with nothing new; default: run until Ctrl-C.
    #[arg(long)]
    exit_when_idle: Option<u64>,
}

#[cfg(feature = "aws")]
#[derive(Clone, Copy, clap::ValueEnum)]
enum StartAtArg {
    TrimHorizon,
    Latest,
}

#[derive(Args)]
struct DemoArgs {
    /// Posts to produce.
    #[arg(long, default_value_t = 5_000)]
    records: usize,
    /// Stop producing after this many seconds, even if fewer posts were produced.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Output directory. Created if missing; wiped if an earlier demo wrote it; any other
    /// non-empty directory is refused unless --force.
    #[arg(long, default_value = "out/demo")]
    out: PathBuf,
    /// Wipe --out even if it was not written by the demo.
    #[arg(long)]
    force: bool,
    /// Shards of the in-process stream.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    shards: u16,
    /// Corrupt every Nth post (truncated JSON) so failures land in processing-failed/; 0 for none.
    #[arg(long, default_value_t = 97)]
    bad_every: u64,
    /// Simulated posts per second, which spreads the posts' created_at for the timeline.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    rate: u32,
    /// Seed of the synthetic source (same seed, same posts).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Firehose's Lambda buffering size hint, in bytes (Firehose allows 0.2–3 MB).
    #[arg(long, default_value_t = ks_cli::firehose::DEFAULT_BUFFER_BYTES as u64, value_parser = clap::value_parser!(u64).range(200_000..=3_145_728))]
    buffer_bytes: u64,
    /// Put records as they are instead of KPL-aggregating them.
    #[arg(long)]
    no_aggregation: bool,
    /// Where to write the report (default: <out>/report.html).
    #[arg(long)]
    html: Option<PathBuf>,
    /// What Firehose writes: the NDJSON as it is, or Parquet (record format conversion with the
    /// Glue table's schema, the stack's OutputFormat=parquet).
    #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
    output_format: OutputFormat,
}

#[derive(Args)]
struct ReportArgs {
    /// A directory laid out like Firehose's S3 bucket (e.g. the demo's --out), or (with the
    /// `aws` feature) s3://bucket/prefix, whose objects are copied to a local directory first.
    #[arg(long)]
    input: String,
    /// Kinesis's and S3's endpoint for an s3:// input (an emulator).
    #[arg(long)]
    endpoint_url: Option<String>,
    /// Where to write the page (default: <input>/report.html).
    #[arg(long)]
    html: Option<PathBuf>,
}

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so a closed pipe (`| head`) made println! panic; a command-line
    // tool should end quietly instead, as other Unix tools do.
    #[cfg(unix)]
    // SAFETY: called first thing on the main thread, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let result = match cli.command {
        #[cfg(feature = "aws")]
        Command::Put(args) => return runtime.block_on(ks_cli::put::cli::main(args)),
        Command::Demo(args) => runtime.block_on(run_demo(args)),
        #[cfg(feature = "aws")]
        Command::Firehose(args) => runtime.block_on(run_firehose(*args)),
        Command::Report(args) => runtime.block_on(run_report(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run_report(args: ReportArgs) -> Result<(), String> {
    let Some(s3) = args.input.strip_prefix("s3://") else {
        return write_report(Path::new(&args.input), args.html.as_deref()).map(|_| ());
    };
    #[cfg(feature = "aws")]
    {
        let (bucket, prefix) = s3.split_once('/').unwrap_or((s3, ""));
        if bucket.is_empty() {
            return Err(format!("{}: no bucket name after s3://", args.input));
        }
        let config = ks_cli::aws::sdk_config().await;
        let client = ks_cli::aws::s3_client(&config, args.endpoint_url.as_deref());
        let dir =
            std::env::temp_dir().join(format!("kinesis-sentiment-report-{}", std::process::id()));
        let n = ks_cli::aws::download(&client, bucket, prefix, &dir)
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "Copied {n} objects from {} to {}",
            args.input,
            dir.display()
        );
        let html = args.html.unwrap_or_else(|| PathBuf::from("report.html"));
        write_report(&dir, Some(&html)).map(|_| ())
    }
    #[cfg(not(feature = "aws"))]
    {
        let _ = (s3, args.endpoint_url);
        Err("s3:// inputs need the `aws` feature (the default build has it)".to_owned())
    }
}

#[cfg(feature = "aws")]
async fn run_firehose(args: FirehoseArgs) -> Result<(), String> {
    use ks_cli::aws::{self, KinesisReader, LambdaProcessor, S3Store, StartAt};
    use ks_cli::delivery::{self, CheckpointFile, RunOptions, Stopped};
    use ks_cli::firehose::{FirehoseSettings, InProcess, LocalFirehose, ObjectStore, Processor};

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
    let mut settings = FirehoseSettings::new(&args.delivery_stream);
    settings.buffer_bytes = args.buffer_bytes as usize;
    settings.buffer_interval = Duration::from_secs(args.buffer_seconds);
    settings.retries = args.retries;
    settings.output_format = args.output_format;
    settings.region.clone_from(&region);
    let function = args.function.clone();
    settings.lambda_arn = format!(
        "arn:aws:lambda:{region}:{}:function:{}",
        settings.account,
        function.as_deref().unwrap_or("in-process")
    );
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
    let destination = match (&args.bucket, &args.out) {
        (Some(bucket), _) => format!("s3://{bucket}/{}", args.prefix),
        (None, Some(out)) => out.display().to_string(),
        (None, None) => unreachable!("clap requires --bucket or --out"),
    };
    let invoker = function.as_deref().map_or_else(
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
        if resume.is_empty() { "" } else { ", resuming" }
    );

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
    let stop = async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };

    async fn drive<P: Processor, B: ObjectStore>(
        mut firehose: LocalFirehose<'_, P, B>,
        reader: &KinesisReader,
        stream: &str,
        checkpoints: &CheckpointFile,
        options: RunOptions,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<(Stopped, ks_cli::firehose::FirehoseStats), String> {
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
            local = ks_cli::bucket::LocalBucket::new(out);
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
                analyzer: ks_lexicon::Vader::new(),
                settings: ks_cli::demo::transform_settings(),
                timeout: Duration::from_secs(300),
            };
            let mut firehose = LocalFirehose::new(settings, &processor, &store);
            firehose.resume(resume);
            drive(firehose, &reader, &args.stream, &checkpoints, options, stop).await
        }
    };
    let (why, stats) = result?;
    let secs = started.elapsed().as_secs_f64().max(0.001);
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
    println!("Checkpoints saved to {}", checkpoints.path().display());
    Ok(())
}

/// One of the two object stores, chosen at run time.
#[cfg(feature = "aws")]
mod either {
    use ks_cli::aws::S3Store;
    use ks_cli::bucket::LocalBucket;
    use ks_cli::firehose::ObjectStore;

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

/// Writes the report, prints the summary and the page's path; returns the scan.
fn write_report(input: &Path, html: Option<&Path>) -> Result<report::Scan, String> {
    if !input.is_dir() {
        return Err(format!("{} is not a directory", input.display()));
    }
    let scan = report::scan(input).map_err(|e| format!("reading {}: {e}", input.display()))?;
    let path = html.map_or_else(|| input.join("report.html"), Path::to_path_buf);
    let page = report::html(&scan, &input.display().to_string());
    std::fs::write(&path, page).map_err(|e| format!("writing {}: {e}", path.display()))?;
    print!("{}", report::text_summary(&scan));
    // Absolute, so a terminal can open it from anywhere.
    let shown = std::fs::canonicalize(&path).unwrap_or(path);
    println!("Report: {}", shown.display());
    Ok(scan)
}

async fn run_demo(args: DemoArgs) -> Result<(), String> {
    let opts = DemoOptions {
        records: args.records,
        seconds: args.seconds,
        out: args.out.clone(),
        force: args.force,
        shards: usize::from(args.shards),
        bad_every: args.bad_every,
        rate: args.rate,
        seed: args.seed,
        buffer_bytes: args.buffer_bytes as usize,
        aggregate: !args.no_aggregation,
        output_format: args.output_format,
        ..DemoOptions::default()
    };
    let bar = ProgressBar::new(opts.records as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner:.green} {elapsed_precise} [{bar:30.cyan/blue}] {pos}/{len} posts  {msg}",
        )
        .expect("a valid template")
        .progress_chars("█▉▊▋▌▍▎▏ "),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    let outcome = demo::run(&opts, |produced, stats| {
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
    let f = &outcome.firehose;
    let secs = outcome.elapsed.as_secs_f64().max(0.001);
    println!(
        "Produced {} posts ({} corrupted on purpose) in {} PutRecords calls, {} Kinesis records over {} shards (KPL {})",
        report::grouped(outcome.produced),
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
    println!(
        "Throughput: {:.0} records/s end to end ({:.2} s)",
        outcome.produced as f64 / secs,
        outcome.elapsed.as_secs_f64()
    );
    println!(
        "Output: {}/  ({}; failures under {}/processing-failed/{})",
        opts.out.display(),
        match opts.output_format {
            OutputFormat::Json => "NDJSON",
            OutputFormat::Parquet => "Parquet",
        },
        opts.out.display(),
        match opts.output_format {
            OutputFormat::Json => "",
            OutputFormat::Parquet => " and format-conversion-failed/",
        }
    );
    println!();
    write_report(&opts.out, args.html.as_deref())?;
    Ok(())
}
