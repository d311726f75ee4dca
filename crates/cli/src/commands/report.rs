//! `kinesis-sentiment report`: a directory or an s3:// prefix in, one HTML page out.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::report;

#[derive(Args)]
pub struct ReportArgs {
    /// A directory laid out like Firehose's S3 bucket (e.g. the demo's --out), or (with the
    /// `aws` feature) s3://bucket/prefix, whose objects are copied to a private temporary
    /// directory first, removed once the page is written.
    #[arg(long, required_unless_present = "iceberg")]
    pub input: Option<String>,
    /// Read the live rows of an Iceberg posts table instead (`--destination iceberg`'s output):
    /// its directory, e.g. <warehouse>/kinesis_sentiment/posts, or one of its metadata files.
    /// With --input too, the failures and deletions come from --input's directory.
    #[arg(long)]
    pub iceberg: Option<PathBuf>,
    /// S3's endpoint for an s3:// input (an emulator).
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// Where to write the page (default: <input>/report.html; for an s3:// input, report.html
    /// in the current directory).
    #[arg(long)]
    pub html: Option<PathBuf>,
}

/// Where the page goes for an s3:// input without --html: the current directory, as the copy
/// of the objects is removed once the page is written.
pub const S3_DEFAULT_HTML: &str = "report.html";

/// `kinesis-sentiment report`.
pub async fn main(args: ReportArgs) -> Result<(), String> {
    if let Some(table) = &args.iceberg {
        return iceberg_report(table, args.input.as_deref(), args.html.as_deref()).map(|_| ());
    }
    let input = args
        .input
        .clone()
        .expect("clap requires --input or --iceberg");
    let Some(s3) = input.strip_prefix("s3://") else {
        return write_report(Path::new(&input), args.html.as_deref()).map(|_| ());
    };
    #[cfg(feature = "aws")]
    {
        let (bucket, prefix) = s3.split_once('/').unwrap_or((s3, ""));
        if bucket.is_empty() {
            return Err(format!("{input}: no bucket name after s3://"));
        }
        let config = ks_firehose_local::aws::sdk_config().await;
        let client = ks_firehose_local::aws::s3_client(&config, args.endpoint_url.as_deref());
        let dir = private_temp_dir()?;
        let got = ks_firehose_local::aws::download(&client, bucket, prefix, dir.path())
            .await
            .map_err(|e| e.to_string())?;
        for refused in &got.refused {
            eprintln!("not copied: {refused}");
        }
        println!(
            "Copied {} objects from {} to a temporary directory, removed after the report{}",
            got.copied,
            input,
            match got.refused.len() {
                0 => String::new(),
                n => format!(" ({n} not copied: their keys cannot be local paths)"),
            }
        );
        let html = args.html.unwrap_or_else(|| PathBuf::from(S3_DEFAULT_HTML));
        let written = render(dir.path(), &input, Some(&html)).map(|_| ());
        if let Err(e) = dir.close() {
            eprintln!("warning: removing the temporary copy: {e}");
        }
        written
    }
    #[cfg(not(feature = "aws"))]
    {
        let _ = (s3, &input, args.endpoint_url);
        Err("s3:// inputs need the `aws` feature (the default build has it)".to_owned())
    }
}

/// A new directory only this user can enter (0700 on Unix; the name is random), removed when
/// the handle is closed or dropped, whatever happens in between.
#[cfg(feature = "aws")]
fn private_temp_dir() -> Result<tempfile::TempDir, String> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("kinesis-sentiment-report-");
    #[cfg(unix)]
    let private = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700);
    #[cfg(unix)]
    builder.permissions(private);
    builder
        .tempdir()
        .map_err(|e| format!("creating a temporary directory: {e}"))
}

/// Writes the report, prints the summary and the page's path; returns the scan.
pub fn write_report(input: &Path, html: Option<&Path>) -> Result<report::Scan, String> {
    render(input, &input.display().to_string(), html)
}

/// The report of an Iceberg posts table's live rows (plus, from `errors`, a directory laid out
/// like the bucket, its error records and deletions). The page goes to --html, or beside the
/// table (`<table>/report.html`).
pub fn iceberg_report(
    table: &Path,
    errors: Option<&str>,
    html: Option<&Path>,
) -> Result<report::Scan, String> {
    let mut scan =
        report::scan_iceberg(table).map_err(|e| format!("reading {}: {e}", table.display()))?;
    if let Some(dir) = errors {
        let other = report::scan(Path::new(dir)).map_err(|e| format!("reading {dir}: {e}"))?;
        scan.failed = other.failed;
        scan.error_objects = other.error_objects;
        scan.changes = other.changes;
        scan.deletion_objects = other.deletion_objects;
    }
    let dir = if table.is_file() {
        table.parent().and_then(Path::parent).unwrap_or(table)
    } else {
        table
    };
    let path = html.map_or_else(|| dir.join("report.html"), Path::to_path_buf);
    let shown = format!("iceberg table {}", dir.display());
    std::fs::write(&path, report::html(&scan, &shown))
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    print!("{}", report::text_summary(&scan));
    println!(
        "Report: {}",
        std::fs::canonicalize(&path).unwrap_or(path).display()
    );
    Ok(scan)
}

/// [`write_report`] of a directory whose page names its input `shown` (an s3:// URL).
fn render(input: &Path, shown: &str, html: Option<&Path>) -> Result<report::Scan, String> {
    if !input.is_dir() {
        return Err(format!("{} is not a directory", input.display()));
    }
    let scan = report::scan(input).map_err(|e| format!("reading {shown}: {e}"))?;
    let path = html.map_or_else(|| input.join("report.html"), Path::to_path_buf);
    let page = report::html(&scan, shown);
    std::fs::write(&path, page).map_err(|e| format!("writing {}: {e}", path.display()))?;
    print!("{}", report::text_summary(&scan));
    // Absolute, so a terminal can open it from anywhere.
    let shown = std::fs::canonicalize(&path).unwrap_or(path);
    println!("Report: {}", shown.display());
    Ok(scan)
}

#[cfg(all(test, feature = "aws", unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn the_download_directory_is_private_unpredictable_and_removed() {
        // GIVEN two private temporary directories
        let (a, b) = (private_temp_dir().unwrap(), private_temp_dir().unwrap());
        // THEN only the owner may enter them, and their names cannot be guessed from the pid
        let mode = std::fs::metadata(a.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert_ne!(a.path(), b.path());
        assert!(!a.path().ends_with(std::process::id().to_string()));
        // AND closing one removes it with what was copied into it
        let path = a.path().to_path_buf();
        std::fs::create_dir_all(path.join("2026/03")).unwrap();
        std::fs::write(path.join("2026/03/x"), b"x").unwrap();
        a.close().unwrap();
        assert!(!path.exists());
    }
}
