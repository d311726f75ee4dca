//! JSON Lines: one JSON object a line, put byte for byte (surrounding whitespace trimmed). Blank
//! lines are not records. A line is read with a cap, so one huge line cannot take the memory: a
//! line over the record limit is skipped to its end and reported.

use std::io::{self, BufRead, Read};

use super::item::{Item, ReadItems, check_object, sample};

pub struct JsonLines<R> {
    r: R,
    /// The line the next read starts on, less one.
    line: u64,
    buf: Vec<u8>,
    max_record_bytes: usize,
}

impl<R: BufRead> JsonLines<R> {
    pub fn new(r: R, max_record_bytes: usize) -> Self {
        JsonLines {
            r,
            line: 0,
            buf: Vec::new(),
            max_record_bytes,
        }
    }

    /// Consumes the rest of the current line (after a line too long to keep).
    fn discard_line(&mut self) -> io::Result<()> {
        loop {
            let buf = self.r.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            match buf.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.r.consume(i + 1);
                    return Ok(());
                }
                None => {
                    let n = buf.len();
                    self.r.consume(n);
                }
            }
        }
    }
}

impl<R: BufRead> ReadItems for JsonLines<R> {
    fn next_item(&mut self) -> Option<io::Result<Item>> {
        loop {
            self.buf.clear();
            // At most the record limit plus a CRLF is kept: a longer line cannot be a record.
            let cap = self.max_record_bytes as u64 + 2;
            let n = match (&mut self.r).take(cap).read_until(b'\n', &mut self.buf) {
                Ok(n) => n,
                Err(e) => return Some(Err(e)),
            };
            if n == 0 {
                return None;
            }
            self.line += 1;
            let line = self.line;
            if self.buf.len() as u64 == cap && self.buf.last() != Some(&b'\n') {
                let raw = sample(&self.buf);
                if let Err(e) = self.discard_line() {
                    return Some(Err(e));
                }
                return Some(Ok(Item::Bad {
                    line,
                    reason: format!(
                        "line longer than the {}-byte record limit",
                        self.max_record_bytes
                    ),
                    raw,
                }));
            }
            let mut text: &[u8] = &self.buf;
            if line == 1 {
                text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
            }
            let text = text.trim_ascii();
            if text.is_empty() {
                continue;
            }
            return Some(Ok(match check_object(text) {
                Ok(()) => Item::Record {
                    line,
                    data: text.to_vec(),
                },
                Err(reason) => Item::Bad {
                    line,
                    reason,
                    raw: sample(text),
                },
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &str, max: usize) -> Vec<Item> {
        let mut r = JsonLines::new(text.as_bytes(), max);
        std::iter::from_fn(|| r.next_item().map(Result::unwrap)).collect()
    }

    fn rec(line: u64, data: &str) -> Item {
        Item::Record {
            line,
            data: data.as_bytes().to_vec(),
        }
    }

    #[test]
    fn each_line_is_a_record_kept_byte_for_byte() {
        // GIVEN lines with a BOM, CRLF, blank lines and formatting worth keeping
        let text = "\u{feff}{\"id\":1, \"n\": 1.50}\r\n\n   \n{\"t\":\"a\\\"b\\u00e9\"}";
        // WHEN read THEN blanks are skipped, line numbers count every line, bytes are kept
        assert_eq!(
            read_all(text, 1_000),
            [
                rec(1, "{\"id\":1, \"n\": 1.50}"),
                rec(4, "{\"t\":\"a\\\"b\\u00e9\"}")
            ]
        );
    }

    #[test]
    fn bad_lines_are_reported_with_their_line_and_reading_goes_on() {
        let text = "{\"a\":1}\n{\"a\":\n[1,2]\nnot json\n{\"a\":2}\n";
        let items = read_all(text, 1_000);
        assert_eq!(items.len(), 5);
        assert_eq!(items[0], rec(1, "{\"a\":1}"));
        let bad: Vec<(u64, &str)> = items
            .iter()
            .filter_map(|i| match i {
                Item::Bad { line, reason, .. } => Some((*line, reason.as_str())),
                Item::Record { .. } => None,
            })
            .collect();
        assert_eq!(bad.len(), 3);
        assert_eq!(bad[0].0, 2);
        assert!(bad[0].1.starts_with("invalid JSON"), "{}", bad[0].1);
        assert_eq!(bad[1], (3, "not a JSON object"));
        assert_eq!(bad[2].0, 4);
        assert_eq!(items[4], rec(5, "{\"a\":2}"));
    }

    #[test]
    fn a_line_over_the_limit_is_rejected_without_being_kept_whole() {
        // GIVEN a 30-byte limit and a 10,000-byte line between two good ones
        let long = format!("{{\"x\":\"{}\"}}", "y".repeat(10_000));
        let text = format!("{{\"a\":1}}\n{long}\n{{\"a\":2}}\n");
        let mut r = JsonLines::new(text.as_bytes(), 30);
        let items: Vec<Item> = std::iter::from_fn(|| r.next_item().map(Result::unwrap)).collect();
        // THEN it is reported on its line, and the buffer never held more than the cap
        assert!(
            matches!(&items[1], Item::Bad { line: 2, reason, raw } if reason.contains("30-byte") && raw.len() == 32)
        );
        assert_eq!(items[2], rec(3, "{\"a\":2}"));
        assert!(r.buf.capacity() < 1_000, "{}", r.buf.capacity());
    }
}
