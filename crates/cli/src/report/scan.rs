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
    /// The author, for the jetstream source's posts (an account purge names it).
    pub did: Option<String>,
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
    /// The deletions and account purges they carry.
    pub changes: Vec<ks_purge::rules::Change>,
}

/// How the output stands against its deletions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Honoured {
    /// Deleted posts no longer in the output.
    pub deletions: u64,
    /// Deleted posts still in it (the purge has not run since).
    pub still_there: u64,
    /// Accounts purged, and their posts still in the output.
    pub accounts: u64,
    pub account_posts_left: u64,
}

impl Scan {
    /// Every deletion and account purge read, against the delivered posts.
    pub fn honoured(&self) -> Honoured {
        use ks_purge::rules::Change;
        let ids: std::collections::HashSet<&str> = self
            .delivered
            .iter()
            .filter_map(|d| d.id.as_deref())
            .collect();
        let dids: std::collections::HashMap<&str, u64> = self
            .delivered
            .iter()
            .filter_map(|d| d.did.as_deref())
            .fold(std::collections::HashMap::new(), |mut m, did| {
                *m.entry(did).or_default() += 1;
                m
            });
        let mut h = Honoured::default();
        let mut seen = std::collections::HashSet::new();
        for c in &self.changes {
            match c {
                Change::Delete { id, .. } if seen.insert(("d", id.as_str())) => {
                    if ids.contains(id.as_str()) {
                        h.still_there += 1;
                    } else {
                        h.deletions += 1;
                    }
                }
                Change::Purge { did, .. } if seen.insert(("a", did.as_str())) => {
                    h.accounts += 1;
                    h.account_posts_left += dids.get(did.as_str()).copied().unwrap_or(0);
                }
                _ => {}
            }
        }
        h
    }

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

    /// Per language (`?` for records without one), delivered records per label in [`LABELS`]
    /// order, the most frequent language first.
    pub fn sentiment_by_language(&self) -> Vec<(String, [u64; 5])> {
        let mut langs: BTreeMap<String, [u64; 5]> = BTreeMap::new();
        for d in &self.delivered {
            let lang = d.lang.clone().unwrap_or_else(|| "?".to_owned());
            let label = d.label.as_deref().unwrap_or("UNSCORED");
            let k = LABELS.iter().position(|l| *l == label).unwrap_or(4);
            langs.entry(lang).or_default()[k] += 1;
        }
        let mut out: Vec<(String, [u64; 5])> = langs.into_iter().collect();
        let total = |c: &[u64; 5]| c.iter().sum::<u64>();
        out.sort_by(|a, b| total(&b.1).cmp(&total(&a.1)).then(a.0.cmp(&b.0)));
        out
    }
}

/// Reads every object under `root`. Top-level files (the report, the demo's marker) are not
/// objects and are skipped.
pub fn scan(root: &Path) -> std::io::Result<Scan> {
    let bucket = LocalBucket::new(root);
    let mut scan = Scan::default();
    for key in bucket.keys()? {
        // The purge's own state is not output.
        if !key.contains('/') || key.starts_with(ks_purge::config::LOCAL_STATE_DIR) {
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
                did: s("did"),
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
            // Deletion and account records: what `purge` applies, not posts to chart.
            Output::Deletions => {
                scan.deletion_objects += 1;
                match ks_purge::objects::open(&key, body.to_vec()) {
                    Ok(b) => scan.changes.extend(ks_purge::objects::changes_in(
                        &b,
                        &ks_purge::PurgeSettings::local().account_statuses,
                    )),
                    Err(_) => scan.bad_lines.push((key.clone(), 0)),
                }
            }
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
