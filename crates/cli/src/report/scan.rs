//! Reading an output directory back: delivered records, error records, odd keys.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};

use ks_firehose_local::bucket::{LocalBucket, Output, PARQUET_EXTENSION, parse_key};
use ks_firehose_local::output::{ConversionErrorRecord, ErrorRecord};
use ks_firehose_local::parquet;

use super::LABELS;

/// One delivered record.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    pub key: String,
    pub id: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub lang: Option<String>,
    /// `None` when the record has no sentiment label.
    pub label: Option<String>,
    /// The object's `YYYY/MM/DD/HH` prefix.
    pub hour: DateTime<Utc>,
}

/// One error record from `processing-failed/` or `format-conversion-failed/`.
#[derive(Debug, Clone, PartialEq)]
pub struct Failed {
    pub key: String,
    pub record: ErrorRecord,
}

/// Everything read from the output.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub delivered: Vec<Delivered>,
    pub failed: Vec<Failed>,
    pub objects: usize,
    pub error_objects: usize,
    /// Lines that are not JSON objects (key, 1-based line).
    pub bad_lines: Vec<(String, usize)>,
    /// Files below the top level whose key is not Firehose's layout.
    pub unexpected_keys: Vec<String>,
    /// Objects of the deletions area (deletion and account records, read by `purge`).
    pub deletion_objects: usize,
}

impl Scan {
    /// Delivered records per label, every label present (in [`LABELS`] order).
    pub fn label_counts(&self) -> Vec<(&'static str, u64)> {
        LABELS
            .iter()
            .map(|&l| {
                let n = self
                    .delivered
                    .iter()
                    .filter(|d| d.label.as_deref().unwrap_or("UNSCORED") == l)
                    .count();
                (l, n as u64)
            })
            .collect()
    }

    pub fn failure_codes(&self) -> BTreeMap<String, u64> {
        let mut codes = BTreeMap::new();
        for f in &self.failed {
            *codes.entry(f.record.error_code.clone()).or_default() += 1;
        }
        codes
    }

    pub fn languages(&self) -> Vec<(String, u64, u64)> {
        let mut langs: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for d in &self.delivered {
            let e = langs
                .entry(d.lang.clone().unwrap_or_else(|| "?".to_owned()))
                .or_default();
            e.0 += 1;
            e.1 += u64::from(d.label.is_some());
        }
        let mut out: Vec<(String, u64, u64)> =
            langs.into_iter().map(|(l, (n, s))| (l, n, s)).collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }
}

/// Reads every object under `root`. Top-level files (the report, the demo's marker) are not
/// objects and are skipped.
pub fn scan(root: &Path) -> std::io::Result<Scan> {
    let bucket = LocalBucket::new(root);
    let mut scan = Scan::default();
    for key in bucket.keys()? {
        if !key.contains('/') {
            continue;
        }
        let Some(parsed) = parse_key(&key) else {
            scan.unexpected_keys.push(key);
            continue;
        };
        let body = std::fs::read(root.join(&key))?;
        let text = String::from_utf8_lossy(&body);
        let delivered = |obj: &serde_json::Map<String, serde_json::Value>| {
            let s = |k: &str| obj.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            let label = obj
                .get("sentiment")
                .and_then(|v| v.get("label"))
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            let created = s("created_at")
                .and_then(|c| DateTime::parse_from_rfc3339(&c).ok())
                .map(|c| c.with_timezone(&Utc));
            Delivered {
                key: key.clone(),
                id: s("id"),
                created,
                lang: s("lang"),
                label,
                hour: parsed.hour,
            }
        };
        match parsed.output {
            // Record format conversion: one Parquet file per object, named `….parquet`.
            Output::Delivered if key.ends_with(PARQUET_EXTENSION) => {
                scan.objects += 1;
                match parquet::decode(&body) {
                    Ok(rows) => scan.delivered.extend(rows.iter().map(delivered)),
                    // Line 0: the object as a whole is unreadable.
                    Err(_) => scan.bad_lines.push((key.clone(), 0)),
                }
            }
            Output::Delivered => {
                scan.objects += 1;
                for (n, line) in text.lines().enumerate() {
                    let Ok(serde_json::Value::Object(obj)) =
                        serde_json::from_str::<serde_json::Value>(line)
                    else {
                        scan.bad_lines.push((key.clone(), n + 1));
                        continue;
                    };
                    scan.delivered.push(delivered(&obj));
                }
            }
            // Deletion and account records: read by `purge`, not posts to chart.
            Output::Deletions => scan.deletion_objects += 1,
            Output::FormatConversionFailed => {
                read_failed::<ConversionErrorRecord>(&mut scan, &key, &text)
            }
            Output::ProcessingFailed => read_failed::<ErrorRecord>(&mut scan, &key, &text),
        }
    }
    Ok(scan)
}

/// One error object: each line a record of type `T` (either shape reads as an [`ErrorRecord`]),
/// or a bad line.
fn read_failed<T>(scan: &mut Scan, key: &str, text: &str)
where
    T: serde::de::DeserializeOwned + Into<ErrorRecord>,
{
    scan.error_objects += 1;
    for (n, line) in text.lines().enumerate() {
        match serde_json::from_str::<T>(line) {
            Ok(record) => scan.failed.push(Failed {
                key: key.to_owned(),
                record: record.into(),
            }),
            Err(_) => scan.bad_lines.push((key.to_owned(), n + 1)),
        }
    }
}
