//! The `put` subcommand's flags and its terminal side: the progress bar, Ctrl-C, the summary,
//! the resume hint and the exit code.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ks_producer::batch::{Keying, PackLimits};
use ks_producer::deliver::DeliverySettings;
use ks_producer::limits::{
    DEFAULT_MAX_RECORD_BYTES, KPL_DEFAULT_AGGREGATION_MAX_BYTES, PUT_RECORDS_DEFAULT_REQUEST_BYTES,
    PUT_RECORDS_MAX_RECORDS, PUT_RECORDS_MAX_REQUEST_BYTES_CEILING,
};
use ks_sources::kinesis::KinesisSink;

use ks_backfill::csv::Schema;
use ks_backfill::format::Format;
use ks_backfill::input::{self, InputSpec};
use ks_backfill::rate::Rate;
use ks_backfill::{Outcome, Progress, PutError, PutOptions, aws, rejects, run};

/// Exit code after Ctrl-C, as shells report a SIGINT.
const EXIT_INTERRUPTED: u8 = 130;

#[derive(Debug, Args)]
pub struct PutArgs {
    /// Files to put: paths, `-` for stdin, `s3://BUCKET/PREFIX` for every object under a prefix.
    #[arg(required = true, value_name = "FILE")]
    pub inputs: Vec<String>,
    /// The Kinesis data stream.
    #[arg(long)]
    pub stream: String,
    /// csv, jsonl or json (an array). Default: from the extension (.csv, .jsonl, .ndjson), else
    /// from the first byte (`[` array, `{` JSON Lines, else CSV).
    #[arg(long)]
    pub format: Option<Format>,
    /// CSV column types: a JSON object of column → string | integer | number | boolean | json.
    /// Columns it does not name are typed value by value.
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// JSON pointer to each record's partition key (e.g. /user/id). Missing or blank: the
    /// record's position in the input, which spreads records evenly over the shards.
    #[arg(long, value_name = "POINTER", value_parser = pointer)]
    pub partition_key: Option<String>,
    /// JSON pointer to each record's ExplicitHashKey (a decimal below 2^128).
    #[arg(long, value_name = "POINTER", value_parser = pointer)]
    pub explicit_hash_key: Option<String>,
    /// KPL-aggregate records (up to 51,200 bytes each, as the KPL does): fewer Kinesis records
    /// and calls. Consumers must de-aggregate (the KCL, Firehose and Lambda's KCL libraries do).
    #[arg(long)]
    pub aggregate: bool,
    /// Send at most this much a second: Kinesis records (`1000`) or bytes (`1MB/s`, `512KiB/s`).
    /// One shard takes 1 MB/s or 1,000 records/s. At least one a day (0.0000116).
    #[arg(long)]
    pub rate: Option<Rate>,
    /// PutRecords requests in flight at once (1–16). Above 1, records of one partition key may
    /// arrive out of order.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub concurrency: u16,
    /// Where records that cannot be sent go, one JSON line each (appended; created on the first).
    /// Default: put-rejects-<UTC time>.jsonl in the current directory.
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    /// Stop at the first bad record, exiting non-zero with its file:line and reason.
    #[arg(long)]
    pub strict: bool,
    /// Pass over this many input records first (bad ones count): the number a stopped run prints.
    #[arg(long, default_value_t = 0)]
    pub skip: u64,
    /// Bytes a PutRecords request (5 MiB; streams with large records allow up to 10 MiB).
    #[arg(long, default_value_t = PUT_RECORDS_DEFAULT_REQUEST_BYTES, value_parser = request_bytes)]
    pub max_request_bytes: usize,
    /// Bytes a record, data and partition key (1 MiB unless the stream allows more).
    #[arg(long, default_value_t = DEFAULT_MAX_RECORD_BYTES, value_parser = request_bytes)]
    pub max_record_bytes: usize,
    /// The endpoint for Kinesis and S3 (a local emulator). Default: the standard AWS
    /// configuration (AWS_ENDPOINT_URL_KINESIS, AWS_ENDPOINT_URL, …).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// The AWS region. Default: the standard AWS configuration.
    #[arg(long)]
    pub region: Option<String>,
}

fn pointer(s: &str) -> Result<String, String> {
    if s.starts_with('/') {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{s:?} is not a JSON pointer: it starts with '/', e.g. /user/id"
        ))
    }
}

fn request_bytes(s: &str) -> Result<usize, String> {
    let n: usize = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if n == 0 || n > PUT_RECORDS_MAX_REQUEST_BYTES_CEILING {
        return Err(format!(
            "must be between 1 and {PUT_RECORDS_MAX_REQUEST_BYTES_CEILING}"
        ));
    }
    Ok(n)
}

impl PutArgs {
    /// The run's options; errors name the flag.
    pub fn options(&self) -> Result<PutOptions, String> {
        let inputs = self
            .inputs
            .iter()
            .map(|a| InputSpec::parse(a))
            .collect::<Result<Vec<_>, _>>()?;
        input::check(&inputs)?;
        let schema = match &self.schema {
            Some(p) => Some(Schema::load(p).map_err(|e| format!("--schema: {e}"))?),
            None => None,
        };
        if self.max_record_bytes > self.max_request_bytes {
            return Err(format!(
                "--max-record-bytes ({}) is larger than --max-request-bytes ({})",
                self.max_record_bytes, self.max_request_bytes
            ));
        }
        Ok(PutOptions {
            inputs,
            format: self.format,
            schema,
            keying: Keying {
                partition_key: self.partition_key.clone(),
                explicit_hash_key: self.explicit_hash_key.clone(),
            },
            aggregation: self.aggregate.then_some(KPL_DEFAULT_AGGREGATION_MAX_BYTES),
            limits: PackLimits {
                max_records: PUT_RECORDS_MAX_RECORDS,
                max_request_bytes: self.max_request_bytes,
                max_record_bytes: self.max_record_bytes,
            },
            delivery: DeliverySettings::default(),
            rate: self.rate,
            concurrency: usize::from(self.concurrency),
            rejects: self
                .rejects
                .clone()
                .unwrap_or_else(|| rejects::default_path(chrono::Utc::now())),
            strict: self.strict,
            skip: self.skip,
        })
    }
}

/// `kinesis-sentiment put`: runs the backfill and reports; the exit code says how it ended.
pub async fn main(args: PutArgs) -> ExitCode {
    let opts = match args.options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let clients = match aws::clients(args.region.clone(), args.endpoint_url.clone()).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sink = KinesisSink::new(clients.kinesis, &args.stream);
    let needs_s3 = opts
        .inputs
        .iter()
        .any(|i| matches!(i, InputSpec::S3 { .. }));

    let (cancel_tx, cancel_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "\nCtrl-C: finishing the requests in flight, sending nothing new (Ctrl-C again to quit at once)"
            );
            let _ = cancel_tx.send(());
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "second Ctrl-C: quitting without waiting; records in flight may or may not be in the stream"
                );
                std::process::exit(i32::from(EXIT_INTERRUPTED));
            }
        }
    });
    let cancel = async {
        if cancel_rx.await.is_err() {
            std::future::pending::<()>().await;
        }
    };

    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner:.green} {elapsed_precise} [{bar:25.cyan/blue}] {binary_bytes}/{binary_total_bytes} read  {msg}",
        )
        .expect("a valid template")
        .progress_chars("█▉▊▋▌▍▎▏ "),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    let show = |p: &Progress| {
        let secs = p.elapsed.as_secs_f64().max(1e-3);
        if p.total_bytes > 0 {
            bar.set_length(p.total_bytes.max(p.input_bytes));
        }
        bar.set_position(p.input_bytes);
        bar.set_message(format!(
            "{} sent · {} rejected · {:.0} records/s · {:.2} MB/s",
            p.sent,
            p.rejected,
            p.sent as f64 / secs,
            p.data_bytes as f64 / secs / 1e6
        ));
    };
    let outcome = run(&opts, &sink, needs_s3.then_some(clients.s3), cancel, show).await;
    bar.finish_and_clear();
    report(&opts, &args.stream, &outcome)
}

fn report(opts: &PutOptions, stream: &str, outcome: &Outcome) -> ExitCode {
    let s = &outcome.summary;
    println!("put → {stream}");
    println!("{s}");
    if s.rejected > 0 {
        println!(
            "rejected records: {} (one JSON line each: source, line, reason)",
            opts.rejects.display()
        );
    }
    let Some(stopped) = &outcome.stopped else {
        return ExitCode::SUCCESS;
    };
    eprintln!("stopped: {stopped}");
    let beyond = if s.delivered_beyond_resume > 0 {
        format!(
            " ({} records after that point were delivered already and would be sent again)",
            s.delivered_beyond_resume
        )
    } else {
        String::new()
    };
    eprintln!(
        "to resume, run the same command with the same inputs in the same order and --skip {}{beyond}",
        s.resume_skip
    );
    match stopped {
        PutError::Interrupted => ExitCode::from(EXIT_INTERRUPTED),
        _ => ExitCode::FAILURE,
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Put {
        #[command(flatten)]
        args: PutArgs,
    }

    #[test]
    fn absurd_rates_are_refused_at_the_flag_before_anything_runs() {
        for rate in ["0.0000000000000000001", "0", "-1", "NaN", "inf", "1e-30"] {
            // WHEN put is given an absurd --rate
            let parsed =
                Put::try_parse_from(["put", "--stream", "s", &format!("--rate={rate}"), "x.jsonl"]);
            // THEN parsing fails with an error naming the flag
            let err = parsed.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("--rate"), "{rate}: {err:?}");
        }
        // AND a sane one parses
        let ok = Put::try_parse_from(["put", "--stream", "s", "--rate", "1MB/s", "x.jsonl"]);
        assert_eq!(ok.unwrap().args.rate, Some(Rate::Bytes(1e6)));
    }
}
