//! `kinesis-sentiment`: run the pipeline on one machine (`demo`) and look at its output (`report`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use ks_cli::demo::{self, DemoOptions};
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
    /// Read a Firehose output directory and write a self-contained HTML report.
    Report(ReportArgs),
    /// Backfill files (CSV, JSON Lines, JSON arrays; local, stdin or S3) into a Kinesis stream.
    Put(ks_cli::put::cli::PutArgs),
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
}

#[derive(Args)]
struct ReportArgs {
    /// A directory laid out like Firehose's S3 bucket (e.g. the demo's --out).
    #[arg(long)]
    input: PathBuf,
    /// Where to write the page (default: <input>/report.html).
    #[arg(long)]
    html: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let result = match cli.command {
        Command::Put(args) => return runtime.block_on(ks_cli::put::cli::main(args)),
        Command::Demo(args) => runtime.block_on(run_demo(args)),
        Command::Report(args) => write_report(&args.input, args.html.as_deref()).map(|_| ()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
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
        "Output: {}/  (failures under {}/processing-failed/)",
        opts.out.display(),
        opts.out.display()
    );
    println!();
    write_report(&opts.out, args.html.as_deref())?;
    Ok(())
}
