//! JSON logs for the Lambdas: one object per line, level from `RUST_LOG` (default `info`), and
//! the current span kept, so every line written while an invocation runs carries the
//! runtime's `requestId` (`lambda_runtime` opens that span around each invocation; spawned
//! tasks are instrumented with it where they are spawned).
//!
//! A field can carry a nested JSON object ([`object`]): tracing-subscriber's JSON formatter
//! writes every field value as a number, a boolean or a string (nested values need the
//! unstable `valuable` support), so such a value is written as a marked string and the line's
//! writer ([`ObjectWriter`]) splices it back in as the object itself. CloudWatch Logs Insights
//! then queries it by path (`fields.labels.POSITIVE`).

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;

/// Installs the subscriber. Call once, first thing in `main`.
pub fn init() {
    tracing::subscriber::set_global_default(subscriber(ObjectWriter(io::stdout)))
        .expect("the log subscriber is set once");
}

/// The subscriber [`init`] installs, writing each line to `writer` (tests capture lines so).
pub fn subscriber<W>(writer: ObjectWriter<W>) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(writer)
        .finish()
}

/// Runs `run` under the subscriber [`init`] installs, writing to memory, and returns what it
/// wrote: how tests read the lines a Lambda logs.
pub fn captured(run: impl FnOnce()) -> Vec<u8> {
    let lines = Lines::default();
    let sink = lines.clone();
    tracing::subscriber::with_default(subscriber(ObjectWriter(move || sink.clone())), run);
    lines.0.lock().expect("lock").clone()
}

/// The writer of [`captured`]: every line into one shared buffer.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What starts a field value that is a JSON object rather than text (ASCII "record
/// separator", which log text does not contain); JSON escapes it as `\u001e`.
const MARK: char = '\u{1e}';
const MARK_ESCAPED: &[u8] = b"\"\\u001e";

/// A value logged as a nested JSON object: `tracing::info!(labels = %log::object(&map))`.
pub fn object<T: serde::Serialize + ?Sized>(value: &T) -> Object {
    Object(serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned()))
}

/// See [`object`].
#[derive(Debug, Clone)]
pub struct Object(String);

impl std::fmt::Display for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{MARK}{}", self.0)
    }
}

/// Wraps the formatter's writer: a line holding [`object`] values gets them as JSON.
#[derive(Debug, Clone, Copy)]
pub struct ObjectWriter<W>(pub W);

impl<'a, W: MakeWriter<'a>> MakeWriter<'a> for ObjectWriter<W> {
    type Writer = Splice<W::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        Splice(self.0.make_writer())
    }
}

/// One line's writer (the formatter writes each line whole).
pub struct Splice<W>(W);

impl<W: Write> Write for Splice<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if memchr_marked(buf) {
            self.0.write_all(&splice_objects(buf))?;
        } else {
            self.0.write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

fn memchr_marked(buf: &[u8]) -> bool {
    buf.windows(MARK_ESCAPED.len()).any(|w| w == MARK_ESCAPED)
}

/// Replaces every JSON string in `line` that starts with the mark and holds a JSON text by
/// that text; anything else is left as it is.
pub fn splice_objects(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        if line[i..].starts_with(MARK_ESCAPED)
            && let Some(end) = string_end(line, i)
            && let Ok(text) = serde_json::from_slice::<String>(&line[i..end])
            && let Some(json) = text.strip_prefix(MARK)
            && serde_json::from_str::<serde::de::IgnoredAny>(json).is_ok()
        {
            out.extend_from_slice(json.as_bytes());
            i = end;
            continue;
        }
        out.push(line[i]);
        i += 1;
    }
    out
}

/// The index just past the JSON string that opens at `start` (a `"`).
fn string_end(line: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < line.len() {
        match line[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn an_object_field_is_written_as_an_object_and_text_stays_text() {
        // GIVEN the Lambdas' subscriber writing to memory
        let counts = BTreeMap::from([("POSITIVE", 3u64), ("NEGATIVE\"x", 1)]);
        // WHEN a line carries an object field and a text that looks like JSON
        let out = captured(|| {
            tracing::info!(
                labels = %object(&counts),
                text = r#"{"not":"spliced"}"#,
                n = 2,
                "summary"
            );
        });
        // THEN the line is JSON with the object nested, and the text still a string
        let line: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let fields = &line["fields"];
        assert_eq!(fields["labels"]["POSITIVE"], 3, "{line}");
        assert_eq!(fields["labels"]["NEGATIVE\"x"], 1);
        assert_eq!(fields["text"], r#"{"not":"spliced"}"#);
        assert_eq!(fields["n"], 2);
        assert_eq!(fields["message"], "summary");
    }

    #[test]
    fn a_broken_mark_is_left_alone() {
        let line = b"{\"a\":\"\\u001enot json\",\"b\":\"\\u001e{\\\"k\\\":1}\"}\n";
        let out = splice_objects(line);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "{\"a\":\"\\u001enot json\",\"b\":{\"k\":1}}\n"
        );
    }
}
