//! A local directory laid out exactly like the S3 bucket Firehose writes:
//! `YYYY/MM/DD/HH/<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>` (UTC) for delivered records and
//! `processing-failed/YYYY/MM/DD/HH/…` for the error output (`format-conversion-failed/…` for
//! records Parquet conversion refused). A converted object's name ends in `.parquet`.
//! <https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html>

use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike as _, NaiveDate, Timelike as _, Utc};

/// The error output prefix Firehose uses when none is configured.
pub const PROCESSING_FAILED_PREFIX: &str = "processing-failed/";

/// The error output prefix of records record format conversion could not convert (the value of
/// `!{firehose:error-output-type}` for them).
/// <https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html>
pub const FORMAT_CONVERSION_FAILED_PREFIX: &str = "format-conversion-failed/";

/// The extension Firehose appends to an object's name when it converts to Parquet.
/// <https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html>
pub const PARQUET_EXTENSION: &str = ".parquet";

/// The delivery stream version in object names; a stream that was never updated is at 1.
pub const STREAM_VERSION: u32 = 1;

/// Which of the two outputs an object belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Delivered,
    ProcessingFailed,
    FormatConversionFailed,
}

impl Output {
    fn prefix(self) -> &'static str {
        match self {
            Output::Delivered => "",
            Output::ProcessingFailed => PROCESSING_FAILED_PREFIX,
            Output::FormatConversionFailed => FORMAT_CONVERSION_FAILED_PREFIX,
        }
    }
}

/// The key Firehose gives an object written at `at`.
pub fn object_key(output: Output, stream: &str, at: DateTime<Utc>, id: uuid::Uuid) -> String {
    object_key_with_extension(output, stream, at, id, "")
}

/// The key of an object whose name Firehose ends with an extension (e.g. [`PARQUET_EXTENSION`]).
pub fn object_key_with_extension(
    output: Output,
    stream: &str,
    at: DateTime<Utc>,
    id: uuid::Uuid,
    extension: &str,
) -> String {
    format!(
        "{}{}/{stream}-{STREAM_VERSION}-{}-{id}{extension}",
        output.prefix(),
        at.format("%Y/%m/%d/%H"),
        at.format("%Y-%m-%d-%H-%M-%S")
    )
}

/// What a well-formed key says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedKey {
    pub output: Output,
    pub stream: String,
    /// The UTC hour of the `YYYY/MM/DD/HH` prefix.
    pub hour: DateTime<Utc>,
    /// The time in the object's name.
    pub written: DateTime<Utc>,
}

/// Parses a key (with `/` separators); `None` unless it is exactly Firehose's layout and the
/// name's time falls in the prefix's hour.
pub fn parse_key(key: &str) -> Option<ParsedKey> {
    let (output, rest) = [Output::ProcessingFailed, Output::FormatConversionFailed]
        .into_iter()
        .find_map(|o| Some((o, key.strip_prefix(o.prefix())?)))
        .unwrap_or((Output::Delivered, key));
    let parts: Vec<&str> = rest.split('/').collect();
    let [y, m, d, h, name] = parts.as_slice() else {
        return None;
    };
    let name = name.strip_suffix(PARQUET_EXTENSION).unwrap_or(*name);
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(y, 4) && digits(m, 2) && digits(d, 2) && digits(h, 2)) {
        return None;
    }
    let hour = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?
        .and_hms_opt(h.parse().ok()?, 0, 0)?
        .and_utc();
    // <stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>: parsed from the right, as the stream
    // name may itself contain dashes.
    const UUID_LEN: usize = 36;
    const TIME_LEN: usize = "YYYY-MM-DD-HH-MM-SS".len();
    if name.len() < UUID_LEN + TIME_LEN + 4 || !name.is_char_boundary(name.len() - UUID_LEN) {
        return None;
    }
    let (head, id) = name.split_at(name.len() - UUID_LEN);
    uuid::Uuid::parse_str(id).ok()?;
    let head = head.strip_suffix('-')?;
    let (head, time) = head.split_at(head.len().checked_sub(TIME_LEN)?);
    let written = chrono::NaiveDateTime::parse_from_str(time, "%Y-%m-%d-%H-%M-%S")
        .ok()?
        .and_utc();
    let stream = head
        .strip_suffix('-')?
        .strip_suffix(&format!("-{STREAM_VERSION}"))?;
    let same_hour = written.date_naive() == hour.date_naive() && written.hour() == hour.hour();
    if stream.is_empty() || !same_hour || written.year() != hour.year() {
        return None;
    }
    Some(ParsedKey {
        output,
        stream: stream.to_owned(),
        hour,
        written,
    })
}

/// A directory standing in for a bucket: keys are relative paths.
#[derive(Debug, Clone)]
pub struct LocalBucket {
    root: PathBuf,
}

impl LocalBucket {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalBucket { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes one object; a reader never sees it half-written (temporary file, then rename).
    pub fn put(&self, key: &str, body: &[u8]) -> io::Result<PathBuf> {
        let path = self.root.join(key);
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".{}.part", uuid::Uuid::new_v4()));
        std::fs::write(&tmp, body)?;
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }

    /// Every object's key, sorted.
    pub fn keys(&self) -> io::Result<Vec<String>> {
        let mut keys = Vec::new();
        walk(&self.root, &self.root, &mut keys)?;
        keys.sort();
        Ok(keys)
    }
}

fn walk(root: &Path, dir: &Path, keys: &mut Vec<String>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk(root, &path, keys)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            let key: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            keys.push(key.join("/"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn keys_follow_firehose_layout_and_parse_back() {
        // GIVEN a write time and an object id
        let at = Utc.with_ymd_and_hms(2026, 3, 7, 9, 5, 4).unwrap();
        let id = uuid::Uuid::nil();
        // WHEN keys are made for both outputs
        let ok = object_key(Output::Delivered, "my-stream", at, id);
        let failed = object_key(Output::ProcessingFailed, "my-stream", at, id);
        // THEN they have Firehose's layout and parse back to what made them
        assert_eq!(
            ok,
            "2026/03/07/09/my-stream-1-2026-03-07-09-05-04-00000000-0000-0000-0000-000000000000"
        );
        assert_eq!(failed, format!("processing-failed/{ok}"));
        let converted =
            object_key_with_extension(Output::Delivered, "my-stream", at, id, PARQUET_EXTENSION);
        assert_eq!(converted, format!("{ok}.parquet"));
        assert_eq!(parse_key(&converted).unwrap().output, Output::Delivered);
        let refused = object_key(Output::FormatConversionFailed, "my-stream", at, id);
        assert_eq!(refused, format!("format-conversion-failed/{ok}"));
        assert_eq!(
            parse_key(&refused).unwrap().output,
            Output::FormatConversionFailed
        );
        let parsed = parse_key(&failed).unwrap();
        assert_eq!(parsed.output, Output::ProcessingFailed);
        assert_eq!(parsed.stream, "my-stream");
        assert_eq!(parsed.written, at);
        assert_eq!(
            parsed.hour,
            Utc.with_ymd_and_hms(2026, 3, 7, 9, 0, 0).unwrap()
        );
    }

    #[test]
    fn malformed_keys_are_refused() {
        for key in [
            "report.html",
            "2026/03/07/9/s-1-2026-03-07-09-05-04-00000000-0000-0000-0000-000000000000",
            "2026/03/07/10/s-1-2026-03-07-09-05-04-00000000-0000-0000-0000-000000000000",
            "2026/03/07/09/s-2-2026-03-07-09-05-04-00000000-0000-0000-0000-000000000000",
            "2026/03/07/09/s-1-2026-03-07-09-05-04-not-a-uuid",
            "2026/03/07/09/-1-2026-03-07-09-05-04-00000000-0000-0000-0000-000000000000",
        ] {
            assert_eq!(parse_key(key), None, "{key}");
        }
    }
}
