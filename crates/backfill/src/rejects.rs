//! The rejects file: one JSON line per record that was not sent, with where it came from and why,
//! so it can be fixed and put again. Created on the first reject (a clean run leaves no file) and
//! appended to, so the rejects of a run resumed with `--skip` join the first run's.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::json;

/// The default rejects file's name: per run, so runs never mix their rejects by accident.
pub fn default_path(now: chrono::DateTime<chrono::Utc>) -> PathBuf {
    PathBuf::from(format!(
        "put-rejects-{}.jsonl",
        now.format("%Y%m%dT%H%M%SZ")
    ))
}

#[derive(Debug, thiserror::Error)]
#[error("writing the rejects file {path}: {source}")]
pub struct RejectsError {
    pub path: String,
    pub source: std::io::Error,
}

/// One rejected record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject<'a> {
    pub source: &'a str,
    pub line: u64,
    /// The record's position among all input records, from 0 (what `--skip` counts).
    pub index: u64,
    pub reason: &'a str,
    pub raw: &'a [u8],
}

pub struct Rejects {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    pub written: u64,
}

impl Rejects {
    pub fn new(path: PathBuf) -> Self {
        Rejects {
            path,
            out: None,
            written: 0,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, source: std::io::Error) -> RejectsError {
        RejectsError {
            path: self.path.display().to_string(),
            source,
        }
    }

    pub fn write(&mut self, r: &Reject<'_>) -> Result<(), RejectsError> {
        if self.out.is_none() {
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(|e| self.error(e))?;
            self.out = Some(BufWriter::new(f));
        }
        let line = json!({
            "source": r.source,
            "line": r.line,
            "record": r.index,
            "reason": r.reason,
            "raw": String::from_utf8_lossy(r.raw),
        });
        let out = self.out.as_mut().expect("opened above");
        let written = serde_json::to_writer(&mut *out, &line)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"));
        written.map_err(|e| self.error(e))?;
        self.written += 1;
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), RejectsError> {
        match self.out.as_mut().map(BufWriter::flush) {
            Some(Err(e)) => Err(self.error(e)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_are_json_lines_appended_and_no_file_without_rejects() {
        // GIVEN a rejects file that does not exist yet
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let mut r = Rejects::new(path.clone());
        r.flush().unwrap();
        assert!(!path.exists(), "no rejects, no file");
        // WHEN two runs each reject a record
        for (line, reason) in [(3, "invalid JSON: x"), (9, "not a JSON object")] {
            let mut r = Rejects::new(path.clone());
            r.write(&Reject {
                source: "in.jsonl",
                line,
                index: line - 1,
                reason,
                raw: b"{\"a\":\xff",
            })
            .unwrap();
            r.flush().unwrap();
        }
        // THEN both are there, one JSON object a line, naming source, line, record and reason
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            json!({"source":"in.jsonl","line":3,"record":2,"reason":"invalid JSON: x","raw":"{\"a\":\u{fffd}"})
        );
        assert_eq!(lines[1]["line"], 9);
    }

    #[test]
    fn the_default_name_carries_the_time() {
        let t = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert_eq!(
            default_path(t),
            PathBuf::from("put-rejects-20231114T221320Z.jsonl")
        );
    }
}
