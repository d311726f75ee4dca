//! What every reader yields: one [`Item`] at a time, through [`ReadItems`], and the checks
//! and samples the readers share. The readers and [`crate::format`] (which picks one) build
//! on this module; it builds on none of them.

use std::io;

/// One input record as read: the JSON to put, or why that record cannot be put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Record {
        /// The 1-based line where the record starts.
        line: u64,
        data: Vec<u8>,
    },
    Bad {
        line: u64,
        reason: String,
        /// The record's text as read (cut to [`RAW_SAMPLE_BYTES`]), for the rejects file.
        raw: Vec<u8>,
    },
}

/// How much of a bad record's text goes to the rejects file.
pub const RAW_SAMPLE_BYTES: usize = 64 * 1024;

/// A bad record's text for the rejects file, cut to [`RAW_SAMPLE_BYTES`].
pub fn sample(raw: &[u8]) -> Vec<u8> {
    raw[..raw.len().min(RAW_SAMPLE_BYTES)].to_vec()
}

/// A source of [`Item`]s. An `Err` is an I/O failure of the input itself: the run stops.
/// A reader that meets a structural error it cannot resynchronise after (a JSON array with a
/// stray bracket) yields one [`Item::Bad`] saying so and then ends.
pub trait ReadItems {
    fn next_item(&mut self) -> Option<io::Result<Item>>;
}

/// Checks that `data` is one JSON object; the reason says what is wrong otherwise. Objects only:
/// the partition-key pointer and the pipeline's transform both need one.
pub fn check_object(data: &[u8]) -> Result<(), String> {
    // JSON is UTF-8 (RFC 8259 §8.1), and serde_json does not check the strings it skips: a
    // record with invalid UTF-8 in a string would be sent, and the transform would fail it.
    let text = std::str::from_utf8(data).map_err(|e| format!("invalid JSON: not UTF-8 ({e})"))?;
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        return Err(format!("invalid JSON: {e}"));
    }
    if data.first() != Some(&b'{') {
        return Err("not a JSON object".to_owned());
    }
    Ok(())
}

/// Inputs made on the fly for the memory tests: `head`, then `len` copies of `fill`, then
/// `tail`, without ever holding more than one read's worth.
#[cfg(test)]
pub(crate) struct Generated {
    pub head: Vec<u8>,
    pub fill: u8,
    pub len: u64,
    pub tail: Vec<u8>,
    pub at: u64,
}

#[cfg(test)]
impl Generated {
    pub fn new(head: &[u8], fill: u8, len: u64, tail: &[u8]) -> Self {
        Generated {
            head: head.to_vec(),
            fill,
            len,
            tail: tail.to_vec(),
            at: 0,
        }
    }
}

#[cfg(test)]
impl io::Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (head, fill) = (self.head.len() as u64, self.len);
        let total = head + fill + self.tail.len() as u64;
        let mut n = 0;
        while n < buf.len() && self.at < total {
            let at = self.at;
            let run = if at < head {
                let rest = &self.head[at as usize..];
                let k = rest.len().min(buf.len() - n);
                buf[n..n + k].copy_from_slice(&rest[..k]);
                k
            } else if at < head + fill {
                let k = ((head + fill - at) as usize).min(buf.len() - n);
                buf[n..n + k].fill(self.fill);
                k
            } else {
                let rest = &self.tail[(at - head - fill) as usize..];
                let k = rest.len().min(buf.len() - n);
                buf[n..n + k].copy_from_slice(&rest[..k]);
                k
            };
            n += run;
            self.at += run as u64;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_that_is_not_utf8_is_not_json() {
        // GIVEN an object whose string holds a byte that is not UTF-8 (serde_json skips strings
        // without checking them; found by fuzz/regressions/put_jsonl/not-utf8-accepted)
        // WHEN checked THEN it is refused, so `put` never sends what the transform would fail
        let err = check_object(b"{\"a\":\"\xff\"}").unwrap_err();
        assert!(err.starts_with("invalid JSON: not UTF-8"), "{err}");
    }

    #[test]
    fn only_objects_pass() {
        assert!(check_object(br#"{"a":[1,2]}"#).is_ok());
        assert_eq!(check_object(b"[1]").unwrap_err(), "not a JSON object");
        assert!(
            check_object(br#"{"a":}"#)
                .unwrap_err()
                .contains("invalid JSON")
        );
    }
}
