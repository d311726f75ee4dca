//! Where records come from (files, stdin, every object under an S3 prefix) and the reading
//! thread that turns them into numbered [`Item`]s, in input order, through a bounded channel.
//!
//! Reading runs on its own OS thread with blocking I/O (the CSV parser is synchronous); the
//! channel's bound is the back-pressure that keeps memory constant when sending is slower.
//! S3 bodies are streamed chunk by chunk through [`S3Body`], never held whole.

use std::fmt;
use std::io::{self, BufReader, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use ks_kernel::error::describe;

use super::csv::Schema;
use super::format::{self, Format, Item};

/// One input as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSpec {
    Stdin,
    File(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl InputSpec {
    pub fn parse(arg: &str) -> Result<InputSpec, String> {
        if arg == "-" {
            return Ok(InputSpec::Stdin);
        }
        if let Some(rest) = arg.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!(
                    "{arg:?}: no bucket name (expected s3://BUCKET/PREFIX)"
                ));
            }
            return Ok(InputSpec::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.to_owned(),
            });
        }
        Ok(InputSpec::File(PathBuf::from(arg)))
    }
}

impl fmt::Display for InputSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputSpec::Stdin => f.write_str("-"),
            InputSpec::File(p) => write!(f, "{}", p.display()),
            InputSpec::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// What the reading thread sends: records in input order, numbered from 0 across all inputs.
#[derive(Debug)]
pub enum Msg {
    Items(Vec<Numbered>),
    /// Reading failed; nothing follows.
    Failed(ReadError),
}

#[derive(Debug)]
pub struct Numbered {
    /// The record's position among all input records (bad ones included), from 0.
    pub index: u64,
    /// The input it came from (a path, `-`, `s3://bucket/key`).
    pub source: Arc<str>,
    pub item: Item,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("reading {source_name}: {error}")]
    Io {
        source_name: String,
        error: io::Error,
    },
    #[error("listing {prefix}: {reason}")]
    S3List { prefix: String, reason: String },
    #[error("fetching {object}: {reason}")]
    S3Get { object: String, reason: String },
}

/// How the reading thread reads.
#[derive(Clone)]
pub struct ReadSettings {
    /// `None`: from each input's name, else from its first byte.
    pub format: Option<Format>,
    pub schema: Option<Schema>,
    /// Records (bad ones included) to pass over before the first one sent.
    pub skip: u64,
    pub max_record_bytes: usize,
    /// Records sent through the channel at a time.
    pub batch_records: usize,
    /// Or fewer, once they hold this many bytes.
    pub batch_bytes: usize,
}

/// Counters the reading thread keeps for the progress bar.
#[derive(Debug, Default)]
pub struct ReadProgress {
    /// Input bytes read so far.
    pub bytes: AtomicU64,
    /// Input bytes known to exist (files and listed S3 objects; stdin is unknown).
    pub total_bytes: AtomicU64,
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    progress: Arc<ReadProgress>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// An S3 object's body as a blocking reader, one network chunk at a time.
pub struct S3Body {
    handle: tokio::runtime::Handle,
    body: aws_sdk_s3::primitives::ByteStream,
    chunk: Vec<u8>,
    pos: usize,
}

impl Read for S3Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            match self.handle.block_on(self.body.next()) {
                None => return Ok(0),
                Some(Err(e)) => return Err(io::Error::other(e)),
                Some(Ok(bytes)) => {
                    self.chunk.clear();
                    self.chunk.extend_from_slice(&bytes);
                    self.pos = 0;
                }
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The reading thread's state: numbering, skipping, batching into the channel.
struct Feeder {
    settings: ReadSettings,
    tx: mpsc::Sender<Msg>,
    next_index: u64,
    batch: Vec<Numbered>,
    batch_bytes: usize,
}

/// The receiver went away (the run is stopping): stop reading.
struct Closed;

impl Feeder {
    fn push(&mut self, source: &Arc<str>, item: Item) -> Result<(), Closed> {
        let index = self.next_index;
        self.next_index += 1;
        if index < self.settings.skip {
            return Ok(());
        }
        self.batch_bytes += match &item {
            Item::Record { data, .. } => data.len(),
            Item::Bad { raw, .. } => raw.len(),
        };
        self.batch.push(Numbered {
            index,
            source: source.clone(),
            item,
        });
        if self.batch.len() >= self.settings.batch_records
            || self.batch_bytes >= self.settings.batch_bytes
        {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Closed> {
        if self.batch.is_empty() {
            return Ok(());
        }
        self.batch_bytes = 0;
        let batch = std::mem::take(&mut self.batch);
        self.tx.blocking_send(Msg::Items(batch)).map_err(|_| Closed)
    }

    /// Reads one input to its end.
    fn read(&mut self, name: &str, r: impl Read) -> Result<Result<(), ReadError>, Closed> {
        let source: Arc<str> = Arc::from(name);
        let mut r = BufReader::with_capacity(256 * 1024, r);
        let io_err = |error| ReadError::Io {
            source_name: name.to_owned(),
            error,
        };
        let format = match self
            .settings
            .format
            .or_else(|| Format::from_name(name))
            .map(Ok)
            .unwrap_or_else(|| format::sniff(&mut r))
        {
            Ok(f) => f,
            Err(e) => return Ok(Err(io_err(e))),
        };
        let mut items = format::reader(
            format,
            &mut r,
            self.settings.schema.as_ref(),
            self.settings.max_record_bytes,
        );
        while let Some(item) = items.next_item() {
            match item {
                Ok(item) => self.push(&source, item)?,
                Err(e) => return Ok(Err(io_err(e))),
            }
        }
        Ok(Ok(()))
    }
}

/// Starts the reading thread. `s3` (a client and the runtime's handle) is needed only for
/// `s3://` inputs. The thread ends at the end of the inputs, on a read error (sent as
/// [`Msg::Failed`]), or when the receiver is dropped.
pub fn spawn(
    inputs: Vec<InputSpec>,
    settings: ReadSettings,
    s3: Option<(aws_sdk_s3::Client, tokio::runtime::Handle)>,
    tx: mpsc::Sender<Msg>,
    progress: Arc<ReadProgress>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("put-reader".into())
        .spawn(move || {
            let mut feeder = Feeder {
                settings,
                tx: tx.clone(),
                next_index: 0,
                batch: Vec::new(),
                batch_bytes: 0,
            };
            let result = read_all(&mut feeder, &inputs, s3.as_ref(), &progress);
            if let Ok(outcome) = result {
                if feeder.flush().is_err() {
                    return;
                }
                if let Err(e) = outcome {
                    let _ = tx.blocking_send(Msg::Failed(e));
                }
            }
        })
        .expect("a thread can be started")
}

fn read_all(
    feeder: &mut Feeder,
    inputs: &[InputSpec],
    s3: Option<&(aws_sdk_s3::Client, tokio::runtime::Handle)>,
    progress: &Arc<ReadProgress>,
) -> Result<Result<(), ReadError>, Closed> {
    let counting = |inner: Box<dyn Read>| Counting {
        inner,
        progress: progress.clone(),
    };
    for input in inputs {
        let outcome = match input {
            InputSpec::Stdin => feeder.read("-", counting(Box::new(io::stdin().lock()))),
            InputSpec::File(path) => {
                let name = path.display().to_string();
                match std::fs::File::open(path) {
                    Ok(f) => feeder.read(&name, counting(Box::new(f))),
                    Err(error) => Ok(Err(ReadError::Io {
                        source_name: name,
                        error,
                    })),
                }
            }
            InputSpec::S3 { bucket, prefix } => {
                let (client, handle) = s3.expect("an S3 client for s3:// inputs");
                read_prefix(feeder, client, handle, bucket, prefix, progress)
            }
        }?;
        if outcome.is_err() {
            return Ok(outcome);
        }
    }
    Ok(Ok(()))
}

/// Every object under `s3://bucket/prefix`, in key order (S3 lists keys in UTF-8 binary order,
/// so a rerun with `--skip` sees them in the same order), one listing page at a time.
fn read_prefix(
    feeder: &mut Feeder,
    client: &aws_sdk_s3::Client,
    handle: &tokio::runtime::Handle,
    bucket: &str,
    prefix: &str,
    progress: &Arc<ReadProgress>,
) -> Result<Result<(), ReadError>, Closed> {
    let shown = format!("s3://{bucket}/{prefix}");
    let mut listing = ks_s3::Listing::new(client, bucket, prefix);
    let mut any = false;
    while let Some(page) = handle.block_on(listing.next_page()) {
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                return Ok(Err(ReadError::S3List {
                    prefix: shown,
                    reason: e.reason,
                }));
            }
        };
        for object in &page {
            let key = object.key.as_str();
            // Zero-byte "folder" markers made by consoles hold no records.
            if key.ends_with('/') {
                continue;
            }
            any = true;
            progress
                .total_bytes
                .fetch_add(object.size, Ordering::Relaxed);
            let name = format!("s3://{bucket}/{key}");
            let got = handle.block_on(client.get_object().bucket(bucket).key(key).send());
            let body = match got {
                Ok(o) => o.body,
                Err(e) => {
                    return Ok(Err(ReadError::S3Get {
                        object: name,
                        reason: describe(&e),
                    }));
                }
            };
            let body = S3Body {
                handle: handle.clone(),
                body,
                chunk: Vec::new(),
                pos: 0,
            };
            let body = Counting {
                inner: body,
                progress: progress.clone(),
            };
            let outcome = feeder.read(&name, body)?;
            if outcome.is_err() {
                return Ok(outcome);
            }
        }
    }
    if !any {
        return Ok(Err(ReadError::S3List {
            prefix: shown,
            reason: "no objects under this prefix".to_owned(),
        }));
    }
    Ok(Ok(()))
}

/// Bytes and sizes of local files, for the progress bar's total.
pub fn local_bytes(inputs: &[InputSpec]) -> u64 {
    inputs
        .iter()
        .filter_map(|i| match i {
            InputSpec::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            _ => None,
        })
        .sum()
}

/// Checks the inputs before anything is sent: files exist and are files, stdin named once.
pub fn check(inputs: &[InputSpec]) -> Result<(), String> {
    if inputs.is_empty() {
        return Err("no input: name FILEs, `-` for stdin, or s3://BUCKET/PREFIX".to_owned());
    }
    if inputs.iter().filter(|i| **i == InputSpec::Stdin).count() > 1 {
        return Err("`-` (stdin) can be named only once".to_owned());
    }
    for input in inputs {
        if let InputSpec::File(p) = input {
            match std::fs::metadata(p) {
                Ok(m) if m.is_dir() => {
                    return Err(format!("{}: a directory, not a file", p.display()));
                }
                Ok(_) => {}
                Err(e) => return Err(format!("{}: {e}", p.display())),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_parse_as_stdin_files_or_s3_prefixes() {
        assert_eq!(InputSpec::parse("-"), Ok(InputSpec::Stdin));
        assert_eq!(
            InputSpec::parse("s3://b/some/prefix/"),
            Ok(InputSpec::S3 {
                bucket: "b".into(),
                prefix: "some/prefix/".into()
            })
        );
        assert_eq!(
            InputSpec::parse("s3://b"),
            Ok(InputSpec::S3 {
                bucket: "b".into(),
                prefix: String::new()
            })
        );
        assert!(InputSpec::parse("s3:///x").is_err());
        assert_eq!(
            InputSpec::parse("data.csv"),
            Ok(InputSpec::File("data.csv".into()))
        );
        assert!(check(&[InputSpec::Stdin, InputSpec::Stdin]).is_err());
        let err = check(&[InputSpec::File("/no/such/file.csv".into())]).unwrap_err();
        assert!(err.starts_with("/no/such/file.csv: "), "{err}");
    }

    fn collect(
        inputs: Vec<InputSpec>,
        skip: u64,
        batch_records: usize,
    ) -> (Vec<Numbered>, Option<ReadError>) {
        let (tx, mut rx) = mpsc::channel(2);
        let settings = ReadSettings {
            format: None,
            schema: None,
            skip,
            max_record_bytes: 1_000,
            batch_records,
            batch_bytes: 1 << 20,
        };
        let t = spawn(inputs, settings, None, tx, Arc::default());
        let mut items = Vec::new();
        let mut failed = None;
        while let Some(msg) = rx.blocking_recv() {
            match msg {
                Msg::Items(b) => {
                    assert!(b.len() <= batch_records);
                    items.extend(b)
                }
                Msg::Failed(e) => failed = Some(e),
            }
        }
        t.join().unwrap();
        (items, failed)
    }

    #[test]
    fn records_are_numbered_across_inputs_bad_ones_included_and_skip_passes_them_over() {
        // GIVEN a CSV file and a JSON Lines file with one bad line
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        let b = dir.path().join("b.json");
        std::fs::write(&a, "n\n1\n2\n").unwrap();
        std::fs::write(&b, "{\"n\":3}\nnope\n{\"n\":5}\n").unwrap();
        let inputs = vec![InputSpec::File(a.clone()), InputSpec::File(b.clone())];
        // WHEN read in batches of 2
        let (items, failed) = collect(inputs.clone(), 0, 2);
        assert!(failed.is_none());
        // THEN indices run 0..5 over both files, each with its source and line
        let seen: Vec<(u64, String, u64)> = items
            .iter()
            .map(|n| {
                let line = match &n.item {
                    Item::Record { line, .. } | Item::Bad { line, .. } => *line,
                };
                (n.index, n.source.to_string(), line)
            })
            .collect();
        let (a, b) = (a.display().to_string(), b.display().to_string());
        assert_eq!(
            seen,
            [
                (0, a.clone(), 2),
                (1, a, 3),
                (2, b.clone(), 1),
                (3, b.clone(), 2),
                (4, b.clone(), 3)
            ]
        );
        // AND with --skip 3 the first three (the bad line is the 4th) are passed over
        let (items, _) = collect(inputs, 3, 10);
        assert_eq!(
            items.iter().map(|n| n.index).collect::<Vec<_>>(),
            [3, 4],
            "indices stay absolute"
        );
        assert!(matches!(items[0].item, Item::Bad { line: 2, .. }));
    }

    #[test]
    fn a_missing_file_ends_reading_with_an_error_naming_it() {
        let (items, failed) = collect(vec![InputSpec::File("/no/such.jsonl".into())], 0, 10);
        assert!(items.is_empty());
        let err = failed.unwrap().to_string();
        assert!(err.starts_with("reading /no/such.jsonl: "), "{err}");
    }
}
