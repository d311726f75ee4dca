//! `kinesis-sentiment purge`: the deletion-purge Lambda's engine over a local output directory
//! (the demo's `--out`, or `kinesis-sentiment firehose --out`).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use ks_purge::{LocalDir, PurgeSettings};

use crate::report::grouped;

#[derive(Args)]
pub struct PurgeArgs {
    /// A directory laid out like Firehose's S3 bucket: posts under YYYY/MM/DD/HH/, deletion and
    /// account records under deletions/. The purge keeps its state under purge/.
    #[arg(long)]
    pub input: PathBuf,
    /// Stop starting objects after this many seconds; the next run goes on where it stopped.
    #[arg(long, default_value_t = 3_600)]
    pub seconds: u64,
}

/// `kinesis-sentiment purge`.
pub async fn main(args: PurgeArgs) -> Result<(), String> {
    if !args.input.is_dir() {
        return Err(format!(
            "{}: not a directory (give the output directory of `demo` or `firehose`)",
            args.input.display()
        ));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.seconds);
    let now = chrono::Utc::now().timestamp_millis();
    let s = ks_purge::purge(
        &LocalDir::new(&args.input),
        &PurgeSettings::local(),
        now,
        deadline,
    )
    .await
    .map_err(|e| e.to_string())?;
    println!(
        "Read {} new deletions and {} account purges; removed {} records ({} deleted, {} of purged accounts, {} superseded by an edit)",
        grouped(s.deletions_read),
        grouped(s.account_purges_read),
        grouped(s.records_removed()),
        grouped(s.records_deleted),
        grouped(s.records_purged),
        grouped(s.records_superseded)
    );
    println!(
        "Objects: {} of {} read, {} rewritten, {} emptied and removed{}",
        s.objects_read,
        s.objects_in_bucket,
        s.objects_rewritten,
        s.objects_deleted,
        if s.objects_unreadable > 0 {
            format!(
                ", {} unreadable (left as they were; see the log)",
                s.objects_unreadable
            )
        } else {
            String::new()
        }
    );
    println!(
        "Deletions applied: {}; pending (post not seen yet): {}{}",
        grouped(s.deletions_applied),
        grouped(s.deletions_pending),
        if s.complete {
            ""
        } else {
            "; stopped before the end: run it again to go on"
        }
    );
    Ok(())
}
