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
    #[arg(long, required_unless_present = "iceberg", conflicts_with = "iceberg")]
    pub input: Option<PathBuf>,
    /// Purge Iceberg tables instead (`--destination iceberg`'s warehouse): delete from the posts
    /// table every post of an account the account purges table says is gone (deletions and
    /// edits are applied by the delivery itself).
    #[arg(long)]
    pub iceberg: Option<PathBuf>,
    #[arg(long, default_value = ks_firehose_local::iceberg::DEFAULT_DATABASE)]
    pub iceberg_database: String,
    #[arg(long, default_value = ks_firehose_local::iceberg::DEFAULT_POSTS_TABLE)]
    pub iceberg_posts_table: String,
    #[arg(long, default_value = ks_firehose_local::iceberg::DEFAULT_PURGES_TABLE)]
    pub iceberg_purges_table: String,
    /// Stop starting objects after this many seconds; the next run goes on where it stopped.
    #[arg(long, default_value_t = 3_600)]
    pub seconds: u64,
}

/// `kinesis-sentiment purge`.
pub async fn main(args: PurgeArgs) -> Result<(), String> {
    if let Some(warehouse) = &args.iceberg {
        let destination = ks_firehose_local::iceberg::IcebergDestination::posts_and_purges(
            warehouse,
            &args.iceberg_database,
            &args.iceberg_posts_table,
            &args.iceberg_purges_table,
        );
        let statuses = PurgeSettings::local().account_statuses;
        let done = super::iceberg::purge_iceberg(&destination, &statuses)?;
        println!(
            "Iceberg: {} purged accounts; {} posts removed from {}.{}",
            done.accounts, done.rows_removed, args.iceberg_database, args.iceberg_posts_table
        );
        return Ok(());
    }
    let input = args
        .input
        .clone()
        .expect("clap requires --input or --iceberg");
    if !input.is_dir() {
        return Err(format!(
            "{}: not a directory (give the output directory of `demo` or `firehose`)",
            input.display()
        ));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.seconds);
    let now = chrono::Utc::now().timestamp_millis();
    let s = ks_purge::purge(
        &LocalDir::new(&input),
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
