//! One object of the bucket: when Firehose wrote it (from its name), its format (NDJSON, GZIP
//! NDJSON, Parquet), what changes it carries, and the same object without the records a rule
//! takes — every other record byte for byte (NDJSON) or value for value (Parquet).

use std::io::{Read as _, Write as _};

use chrono::NaiveDateTime;
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use ks_parquet as parquet;
use ks_parquet::PARQUET_EXTENSION;
use serde_json::{Map, Value};

use crate::rules::{Change, Keys, Reason, Rules};

/// Firehose appends this to an object's name when it GZIP-compresses it.
pub const GZIP_EXTENSION: &str = ".gz";

/// How an object is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ndjson,
    Gzip,
    Parquet,
}

impl Format {
    pub fn of(key: &str) -> Format {
        if key.ends_with(PARQUET_EXTENSION) {
            Format::Parquet
        } else if key.ends_with(GZIP_EXTENSION) {
            Format::Gzip
        } else {
            Format::Ndjson
        }
    }
}

/// When Firehose wrote the object (ms since the epoch, UTC), from the time in its name:
/// `<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>[.gz|.parquet]`. `None` for a key that is not
/// a Firehose object's.
pub fn written_at_ms(key: &str) -> Option<i64> {
    const UUID_LEN: usize = 36;
    const TIME_LEN: usize = "YYYY-MM-DD-HH-MM-SS".len();
    let name = key.rsplit('/').next()?;
    let name = name
        .strip_suffix(PARQUET_EXTENSION)
        .or_else(|| name.strip_suffix(GZIP_EXTENSION))
        .unwrap_or(name);
    let end = name.len().checked_sub(UUID_LEN + 1)?;
    let start = end.checked_sub(TIME_LEN)?;
    if !name.is_char_boundary(start) || !name.is_char_boundary(end) {
        return None;
    }
    let time = NaiveDateTime::parse_from_str(&name[start..end], "%Y-%m-%d-%H-%M-%S").ok()?;
    Some(time.and_utc().timestamp_millis())
}

/// Why an object could not be read or written back.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("{key}: not valid GZIP: {reason}")]
    Gzip { key: String, reason: String },
    #[error("{key}: not a readable Parquet file: {reason}")]
    Parquet { key: String, reason: String },
}

/// The object's NDJSON bytes (decompressed), or its Parquet rows.
pub enum Body {
    Lines(Vec<u8>),
    Rows(Vec<Map<String, Value>>),
}

/// Reads an object's bytes as its format says.
pub fn open(key: &str, bytes: Vec<u8>) -> Result<Body, ObjectError> {
    match Format::of(key) {
        Format::Ndjson => Ok(Body::Lines(bytes)),
        Format::Gzip => {
            let mut out = Vec::with_capacity(bytes.len() * 4);
            MultiGzDecoder::new(bytes.as_slice())
                .read_to_end(&mut out)
                .map_err(|e| ObjectError::Gzip {
                    key: key.to_owned(),
                    reason: e.to_string(),
                })?;
            Ok(Body::Lines(out))
        }
        Format::Parquet => {
            parquet::decode(&bytes)
                .map(Body::Rows)
                .map_err(|e| ObjectError::Parquet {
                    key: key.to_owned(),
                    reason: e.to_string(),
                })
        }
    }
}

/// The lines of an NDJSON body, each without its `\n`.
fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    body.split(|b| *b == b'\n').filter(|l| !l.is_empty())
}

/// Each record's keys, with `f` called on them; records that are not JSON objects are passed by.
fn each_record(body: &Body, mut f: impl FnMut(&Keys<'_>)) {
    match body {
        Body::Lines(bytes) => {
            for line in lines(bytes) {
                if let Ok(keys) = serde_json::from_slice::<Keys<'_>>(line) {
                    f(&keys);
                }
            }
        }
        Body::Rows(rows) => {
            for row in rows {
                let text = Value::Object(row.clone()).to_string();
                if let Ok(keys) = serde_json::from_str::<Keys<'_>>(&text) {
                    f(&keys);
                }
            }
        }
    }
}

/// The deletions and account purges a deletions-area object carries.
pub fn changes_in(body: &Body, purge_statuses: &[String]) -> Vec<Change> {
    let mut out = Vec::new();
    each_record(body, |k| out.extend(k.change(purge_statuses)));
    out
}

/// The edits (`op` `update`) a data-area object carries.
pub fn edits_in(body: &Body) -> Vec<Change> {
    let mut out = Vec::new();
    each_record(body, |k| out.extend(k.edit()));
    out
}

/// What filtering an object did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Filtered {
    /// The object's new bytes, in its format; `None` when nothing was taken (left as it is),
    /// `Some(empty)` when everything was (the object goes).
    pub bytes: Option<Vec<u8>>,
    pub kept: u64,
    /// Records taken, by reason.
    pub deleted: u64,
    pub purged: u64,
    pub superseded: u64,
    /// The ids (or dids) a rule took, so the rule can be marked applied.
    pub taken: Vec<String>,
}

impl Filtered {
    fn count(&mut self, reason: Reason, keys: &Keys<'_>) {
        match reason {
            Reason::Deleted => self.deleted += 1,
            Reason::Purged => self.purged += 1,
            Reason::Superseded => self.superseded += 1,
        }
        let name = match reason {
            Reason::Purged => keys.did.as_deref(),
            Reason::Deleted | Reason::Superseded => keys.id.as_deref(),
        };
        self.taken.extend(name.map(str::to_owned));
    }

    pub fn removed(&self) -> u64 {
        self.deleted + self.purged + self.superseded
    }
}

/// The object without what `rules` take, in the format of `key`.
pub fn filter(key: &str, body: Body, rules: &Rules) -> Result<Filtered, ObjectError> {
    let mut out = Filtered::default();
    match body {
        Body::Lines(bytes) => {
            let mut kept = Vec::with_capacity(bytes.len());
            for line in lines(&bytes) {
                // A line that is not a JSON object is no record any rule names: it stays.
                let reason = serde_json::from_slice::<Keys<'_>>(line)
                    .ok()
                    .and_then(|k| rules.drops(&k).map(|r| (r, k)));
                match reason {
                    Some((r, k)) => out.count(r, &k),
                    None => {
                        out.kept += 1;
                        kept.extend_from_slice(line);
                        kept.push(b'\n');
                    }
                }
            }
            if out.removed() > 0 {
                out.bytes = Some(encode_lines(key, kept));
            }
        }
        Body::Rows(rows) => {
            let mut kept = Vec::new();
            for row in rows {
                let line = Value::Object(row).to_string();
                match serde_json::from_str::<Keys<'_>>(&line)
                    .ok()
                    .and_then(|k| rules.drops(&k).map(|r| (r, k)))
                {
                    Some((r, k)) => out.count(r, &k),
                    None => {
                        out.kept += 1;
                        kept.extend_from_slice(line.as_bytes());
                        kept.push(b'\n');
                    }
                }
            }
            if out.removed() > 0 {
                out.bytes = Some(encode_rows(key, &kept)?);
            }
        }
    }
    Ok(out)
}

/// Kept NDJSON lines in the object's format (empty when none are kept).
fn encode_lines(key: &str, kept: Vec<u8>) -> Vec<u8> {
    if kept.is_empty() || Format::of(key) != Format::Gzip {
        return kept;
    }
    let mut gz = GzEncoder::new(Vec::with_capacity(kept.len() / 3), Compression::default());
    gz.write_all(&kept)
        .and_then(|()| gz.finish())
        .expect("writing into memory")
}

/// Kept rows (as NDJSON) back into Parquet with the posts table's schema.
fn encode_rows(key: &str, kept: &[u8]) -> Result<Vec<u8>, ObjectError> {
    if kept.is_empty() {
        return Ok(Vec::new());
    }
    let encoded = parquet::encode(kept).map_err(|e| ObjectError::Parquet {
        key: key.to_owned(),
        reason: e.to_string(),
    })?;
    // Every row came out of a file with this schema, so every row goes back in.
    match (encoded.parquet, encoded.failures.first()) {
        (Some(bytes), None) => Ok(bytes),
        (_, failure) => Err(ObjectError::Parquet {
            key: key.to_owned(),
            reason: failure.map_or_else(|| "no row converted".to_owned(), |f| f.message.clone()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_write_time_is_read_from_firehose_object_names() {
        // GIVEN names as Firehose writes them, under any prefix and with either extension
        let at = chrono::NaiveDate::from_ymd_opt(2026, 3, 7)
            .unwrap()
            .and_hms_opt(9, 5, 4)
            .unwrap()
            .and_utc()
            .timestamp_millis();
        for key in [
            "2026/03/07/09/s-1-2026-03-07-09-05-04-00000000-0000-0000-0000-000000000000",
            "data/2026/03/07/09/POSITIVE/my-stream-1-2026-03-07-09-05-04-0b6f7f5e-6b1e-4a7e-9c53-0f0b1c2d3e4f.gz",
            "deletions/2026/03/07/09/s-1-2026-03-07-09-05-04-00000000-0000-0000-0000-000000000000.parquet",
        ] {
            assert_eq!(written_at_ms(key), Some(at), "{key}");
        }
        // AND other keys have no write time
        for key in [
            "purge/state.json",
            "x",
            "2026/03/07/09/é-1-2026-03-07-09-05-04-0000",
        ] {
            assert_eq!(written_at_ms(key), None, "{key}");
        }
    }

    fn rules_deleting(id: &str) -> Rules {
        let mut r = Rules::default();
        r.add(&Change::Delete {
            id: id.into(),
            created_ms: None,
            at_ms: 0,
        });
        r
    }

    #[test]
    fn ndjson_keeps_every_other_line_byte_for_byte() {
        // GIVEN lines with odd spacing, escapes, big numbers and a non-JSON line
        let body = concat!(
            "{\"id\":\"keep1\",  \"n\":12345678901234567890123,\"t\":\"a\\u00e9\"}\n",
            "{\"id\":\"gone\",\"text\":\"bye\"}\n",
            "not json at all\n",
            "{\"id\":\"keep2\"}\n"
        );
        // WHEN one is deleted
        let out = filter(
            "k",
            Body::Lines(body.as_bytes().to_vec()),
            &rules_deleting("gone"),
        )
        .unwrap();
        // THEN the others are there, unchanged, in order
        let want = concat!(
            "{\"id\":\"keep1\",  \"n\":12345678901234567890123,\"t\":\"a\\u00e9\"}\n",
            "not json at all\n",
            "{\"id\":\"keep2\"}\n"
        );
        assert_eq!(out.bytes.as_deref(), Some(want.as_bytes()));
        assert_eq!((out.kept, out.deleted), (3, 1));
        // AND an object nothing is taken from is left alone
        let untouched = filter(
            "k",
            Body::Lines(want.as_bytes().to_vec()),
            &rules_deleting("gone"),
        )
        .unwrap();
        assert_eq!(untouched.bytes, None);
    }

    #[test]
    fn gzip_objects_are_read_and_written_back_compressed() {
        let plain = b"{\"id\":\"a\"}\n{\"id\":\"b\"}\n".to_vec();
        let gz = encode_lines("x.gz", plain);
        let body = open("x.gz", gz).unwrap();
        let out = filter("x.gz", body, &rules_deleting("a")).unwrap();
        let Body::Lines(back) = open("x.gz", out.bytes.unwrap()).unwrap() else {
            panic!("lines")
        };
        assert_eq!(back, b"{\"id\":\"b\"}\n");
    }

    #[test]
    fn parquet_rows_keep_their_values_and_the_taken_one_goes() {
        // GIVEN a Parquet object of two posts
        let ndjson = concat!(
            r#"{"id":"at://d/app.bsky.feed.post/a","did":"d","time_us":1733133600000001,"text":"keep","langs":["en"],"sentiment":{"label":"POSITIVE","scores":{"positive":0.9,"negative":0.0,"neutral":0.1,"mixed":0.0},"model":"lexicon"}}"#,
            "\n",
            r#"{"id":"at://d/app.bsky.feed.post/b","did":"d","time_us":1733133600000002,"text":"gone"}"#,
            "\n"
        );
        let file = parquet::encode(ndjson.as_bytes()).unwrap().parquet.unwrap();
        let key = "data/2026/01/01/00/s-1-2026-01-01-00-00-00-00000000-0000-0000-0000-000000000000.parquet";
        // WHEN one is deleted
        let out = filter(
            key,
            open(key, file.clone()).unwrap(),
            &rules_deleting("at://d/app.bsky.feed.post/b"),
        )
        .unwrap();
        // THEN the file holds the other row with the same values
        let Body::Rows(before) = open(key, file).unwrap() else {
            panic!()
        };
        let Body::Rows(after) = open(key, out.bytes.unwrap()).unwrap() else {
            panic!()
        };
        assert_eq!(after, vec![before[0].clone()]);
    }

    #[test]
    fn an_object_whose_every_record_goes_becomes_empty() {
        let out = filter(
            "k",
            Body::Lines(b"{\"id\":\"a\"}\n".to_vec()),
            &rules_deleting("a"),
        )
        .unwrap();
        assert_eq!(out.bytes, Some(Vec::new()));
    }
}
