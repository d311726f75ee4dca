//! `kinesis-sentiment report`: a directory or an s3:// prefix in, one HTML page out.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::report;

#[derive(Args)]
pub struct ReportArgs {
    /// A directory laid out like Firehose's S3 bucket (e.g. the demo's --out), or (with the
    /// `aws` feature) s3://bucket/prefix, whose objects are copied to a local directory first.
    #[arg(long)]
    pub input: String,
    /// Kinesis's and S3's endpoint for an s3:// input (an emulator).
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// Where to write the page (default: <input>/report.html).
    #[arg(long)]
    pub html: Option<PathBuf>,
}

/// `kinesis-sentiment report`.
pub async fn main(args: ReportArgs) -> Result<(), String> {
    let Some(s3) = args.input.strip_prefix("s3://") else {
        return write_report(Path::new(&args.input), args.html.as_deref()).map(|_| ());
    };
    #[cfg(feature = "aws")]
    {
        let (bucket, prefix) = s3.split_once('/').unwrap_or((s3, ""));
        if bucket.is_empty() {
            return Err(format!("{}: no bucket name after s3://", args.input));
        }
        let config = ks_firehose_local::aws::sdk_config().await;
        let client = ks_firehose_local::aws::s3_client(&config, args.endpoint_url.as_deref());
        let dir =
            std::env::temp_dir().join(format!("kinesis-sentiment-report-{}", std::process::id()));
        let n = ks_firehose_local::aws::download(&client, bucket, prefix, &dir)
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

/// Writes the report, prints the summary and the page's path; returns the scan.
pub fn write_report(input: &Path, html: Option<&Path>) -> Result<report::Scan, String> {
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
