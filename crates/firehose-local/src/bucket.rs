//! A local directory laid out exactly like the S3 bucket Firehose writes:
//! `YYYY/MM/DD/HH/<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>` (UTC) for delivered records and
//! `processing-failed/YYYY/MM/DD/HH/…` for the error output (`format-conversion-failed/…` for
//! records Parquet conversion refused). A converted object's name ends in `.parquet`.
//! <https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html>

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike as _, NaiveDate, Timelike as _, Utc};

/// The error output prefix Firehose uses when none is configured.
pub const PROCESSING_FAILED_PREFIX: &str = "processing-failed/";

/// The error output prefix of records record format conversion could not convert (the value of
/// `!{firehose:error-output-type}` for them).
/// <https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html>
pub const FORMAT_CONVERSION_FAILED_PREFIX: &str = "format-conversion-failed/";

/// Where deletion and account records go: the transform's `area` partition key `deletions`
/// (the stack's prefix is `!{partitionKeyFromLambda:area}/…`, so posts stay under `data/`).
pub const DELETIONS_PREFIX: &str = "deletions/";

/// Where the Iceberg destination writes records it could not deliver to a table (no or bad
/// routing, no unique key, a value that does not fit the table), as error records.
pub const ICEBERG_FAILED_PREFIX: &str = "iceberg-failed/";

/// See [`ks_parquet::PARQUET_EXTENSION`].
pub use ks_parquet::PARQUET_EXTENSION;

/// The delivery stream version in object names; a stream that was never updated is at 1.
pub const STREAM_VERSION: u32 = 1;

/// Which of the two outputs an object belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Delivered,
    /// Delivered records whose partition key `area` is `deletions`.
    Deletions,
    ProcessingFailed,
    FormatConversionFailed,
    /// Records the Iceberg destination refused.
    IcebergFailed,
}

impl Output {
    fn prefix(self) -> &'static str {
        match self {
            Output::Delivered => "",
            Output::Deletions => DELETIONS_PREFIX,
            Output::ProcessingFailed => PROCESSING_FAILED_PREFIX,
            Output::FormatConversionFailed => FORMAT_CONVERSION_FAILED_PREFIX,
            Output::IcebergFailed => ICEBERG_FAILED_PREFIX,
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
    let (output, rest) = [
        Output::Deletions,
        Output::ProcessingFailed,
        Output::FormatConversionFailed,
        Output::IcebergFailed,
    ]
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
    // name may itself contain dashes. The fixed-width tail must be ASCII, so every cut below
    // falls between characters (an ASCII byte never continues a multibyte one).
    const UUID_LEN: usize = 36;
    const TIME_LEN: usize = "YYYY-MM-DD-HH-MM-SS".len();
    let version = format!("-{STREAM_VERSION}-");
    let cut = name
        .len()
        .checked_sub(version.len() + TIME_LEN + 1 + UUID_LEN)?;
    if !name.as_bytes()[cut..].is_ascii() {
        return None;
    }
    let (stream, tail) = name.split_at(cut);
    let (time, id) = tail.strip_prefix(version.as_str())?.split_at(TIME_LEN);
    uuid::Uuid::parse_str(id.strip_prefix('-')?).ok()?;
    let written = chrono::NaiveDateTime::parse_from_str(time, "%Y-%m-%d-%H-%M-%S")
        .ok()?
        .and_utc();
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

/// Where `key` lives under `root`: the key's `/`-separated segments as path components. Refused
/// (`InvalidInput`, naming the key) unless every segment is a plain name, so no key can name
/// anything outside `root`, whoever wrote it: not empty (`a//b`, a leading `/`, a trailing `/`),
/// not `.` or `..`, no `\` (a separator on Windows) and no NUL.
pub fn key_path(root: &Path, key: &str) -> io::Result<PathBuf> {
    let refuse = |why: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "the key {key:?} cannot be a path under {}: {why}",
                root.display()
            ),
        )
    };
    let mut path = root.to_path_buf();
    for segment in key.split('/') {
        match segment {
            "" => return Err(refuse("it has an empty segment")),
            "." | ".." => return Err(refuse("it has a '.' or '..' segment")),
            s if s.contains(['\\', '\0']) => return Err(refuse("it holds a '\\' or a NUL")),
            s => path.push(s),
        }
    }
    // What the checks above ensure, checked once more on the path itself (a drive prefix…).
    let inside = path.strip_prefix(root).is_ok_and(|rel| {
        rel.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
    });
    if !inside {
        return Err(refuse("it is not a relative path"));
    }
    Ok(path)
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
    /// Keys that are not plain relative paths are refused ([`key_path`]).
    pub fn put(&self, key: &str, body: &[u8]) -> io::Result<PathBuf> {
        let path = key_path(&self.root, key)?;
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

/// Where the delivery stream writes objects: a bucket (this directory, or S3).
pub trait ObjectStore {
    /// Writes one whole object under `key`, which has Firehose's layout
    /// ([`object_key`]); the store may put its own prefix in front.
    fn put(&self, key: &str, body: Vec<u8>) -> impl Future<Output = io::Result<()>>;
}

impl ObjectStore for LocalBucket {
    async fn put(&self, key: &str, body: Vec<u8>) -> io::Result<()> {
        LocalBucket::put(self, key, &body).map(|_| ())
    }
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

    #[test]
    fn a_key_with_a_multibyte_character_where_the_time_starts_is_refused_not_a_panic() {
        // GIVEN a key whose name has 'é' (two bytes) straddling where the time would begin
        let key = "2026/03/07/09/s-1-\u{e9}026-03-07-09-05-04-00000000-0000-0000-0000-000000000000";
        // WHEN it is parsed THEN it is not Firehose's layout, and nothing panics
        assert_eq!(parse_key(key), None);
        // AND a non-ASCII stream name before the fixed-width tail still parses
        let at = Utc.with_ymd_and_hms(2026, 3, 7, 9, 5, 4).unwrap();
        let ok = object_key(Output::Delivered, "fluß-\u{1f600}", at, uuid::Uuid::nil());
        assert_eq!(parse_key(&ok).unwrap().stream, "fluß-\u{1f600}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Every character of a well-formed key, replaced by any character, is parsed or
        /// refused: never a panic.
        #[test]
        fn parsing_any_key_never_panics(at in 0usize..200, c in proptest::char::any(), junk in "\\PC{0,80}") {
            let good = object_key_with_extension(
                Output::ProcessingFailed,
                "s-é",
                Utc.with_ymd_and_hms(2026, 3, 7, 9, 5, 4).unwrap(),
                uuid::Uuid::nil(),
                PARQUET_EXTENSION,
            );
            let mut chars: Vec<char> = good.chars().collect();
            let i = at % chars.len();
            chars[i] = c;
            let changed: String = chars.into_iter().collect();
            let _ = parse_key(&changed);
            let _ = parse_key(&junk);
            let half: String = good.chars().take(i).collect();
            let _ = parse_key(&format!("{half}{junk}"));
        }
    }

    #[test]
    fn keys_that_could_leave_the_directory_are_refused_before_anything_is_written() {
        // GIVEN a bucket directory inside a parent directory
        let parent = tempfile::tempdir().unwrap();
        let root = parent.path().join("bucket");
        let bucket = LocalBucket::new(&root);
        // WHEN keys that are not plain relative paths are put
        for key in [
            "x/../../ESCAPED.txt",
            "../ESCAPED.txt",
            "..",
            "/ESCAPED.txt",
            "a//b",
            "a/./b",
            "./a",
            "a/",
            "",
            ".",
            "a\\..\\..\\ESCAPED.txt",
            "a/b\0c",
        ] {
            // THEN each is refused, naming the key
            let err = bucket.put(key, b"x").unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{key:?}");
            assert!(
                err.to_string().contains(&format!("{key:?}")),
                "{key:?}: {err}"
            );
            assert!(key_path(&root, key).is_err(), "{key:?}");
        }
        // AND nothing was written anywhere, inside or out
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
        // AND plain keys, dots inside names and non-ASCII included, land under the root
        for key in [
            "a/b",
            "2026/03/07/09/s-1-x..y",
            "fluß/…/é.parquet",
            "...",
            "a/.hidden",
        ] {
            let path = bucket.put(key, b"x").unwrap();
            assert!(path.starts_with(&root), "{key:?}");
            assert_eq!(key_path(&root, key).unwrap(), path);
        }
        assert_eq!(bucket.keys().unwrap().len(), 5);
    }
}
