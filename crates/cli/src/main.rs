//! `kinesis-sentiment`: the flags and the dispatch to [`ks_cli::commands`], nothing else.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use ks_cli::commands::{self, demo::DemoArgs, purge::PurgeArgs, report::ReportArgs};

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
    Firehose(Box<commands::firehose::FirehoseArgs>),
    /// Read a Firehose output (a directory, or s3://bucket/prefix) and write a self-contained
    /// HTML report.
    Report(ReportArgs),
    /// Apply the deletions in an output directory: remove every deleted post, every post of a
    /// deleted or taken-down account and every earlier version of an edited post, atomically
    /// per object, everything else byte for byte (the deletion-purge Lambda's engine).
    Purge(PurgeArgs),
    /// Backfill files (CSV, JSON Lines, JSON arrays; local, stdin or S3) into a Kinesis stream.
    #[cfg(feature = "aws")]
    Put(commands::put::PutArgs),
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
        Command::Put(args) => return runtime.block_on(commands::put::main(args)),
        Command::Demo(args) => runtime.block_on(commands::demo::main(args)),
        #[cfg(feature = "aws")]
        Command::Firehose(args) => runtime.block_on(commands::firehose::main(*args)),
        Command::Report(args) => runtime.block_on(commands::report::main(args)),
        Command::Purge(args) => runtime.block_on(commands::purge::main(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
