//! Runs a local delivery stream until it is told to stop: polls the shards, delivers, saves
//! per-shard checkpoints after every delivery, and on stop (Ctrl-C) or when the stream has been
//! idle long enough, delivers what is buffered before it returns, so no record read is lost.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::firehose::{LocalFirehose, ObjectStore, Processor, ShardReader};

/// GetRecords is limited to 5 calls per second per shard; polling every second leaves room for
/// the calls that drain a backlog.
/// <https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetRecords.html>
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Where a delivery stream resumes: per shard, the last sequence number delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoints {
    /// The Kinesis stream the sequence numbers belong to.
    pub stream: String,
    pub shards: BTreeMap<String, String>,
}

/// A checkpoint file, replaced atomically (a crash leaves the old or the new one, whole).
#[derive(Debug, Clone)]
pub struct CheckpointFile {
    path: PathBuf,
}

impl CheckpointFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CheckpointFile { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved checkpoints of `stream`: empty if there is no file; an error if the file is
    /// unreadable or belongs to another stream (resuming there would skip or repeat records).
    pub fn load(&self, stream: &str) -> io::Result<BTreeMap<String, String>> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(e),
        };
        let saved: Checkpoints = serde_json::from_slice(&bytes).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("checkpoint file {} is not valid: {e}", self.path.display()),
            )
        })?;
        if saved.stream != stream {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "checkpoint file {} is for stream {:?}, not {stream:?}; pass another --checkpoint-file",
                    self.path.display(),
                    saved.stream
                ),
            ));
        }
        Ok(saved.shards)
    }

    pub fn save(&self, stream: &str, shards: &BTreeMap<String, String>) -> io::Result<()> {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir)?;
        let body = serde_json::to_vec_pretty(&Checkpoints {
            stream: stream.to_owned(),
            shards: shards.clone(),
        })
        .map_err(io::Error::other)?;
        let tmp = dir.join(format!(".{}.part", uuid::Uuid::new_v4()));
        std::fs::write(&tmp, body)?;
        std::fs::rename(&tmp, &self.path)
    }
}

/// When [`run`] stops on its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    pub poll_interval: Duration,
    /// Stop after the stream has had nothing new for this long (`None`: run until stopped).
    pub exit_when_idle: Option<Duration>,
}

/// Why [`run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The stop signal came (Ctrl-C).
    Signal,
    /// Nothing new for the idle time.
    Idle,
}

/// Polls until `stop` resolves or the stream is idle, then delivers what is buffered and saves
/// the checkpoints. `tick` is called after every poll (progress).
pub async fn run<P: Processor, B: ObjectStore>(
    firehose: &mut LocalFirehose<'_, P, B>,
    reader: &impl ShardReader,
    stream: &str,
    checkpoints: &CheckpointFile,
    options: RunOptions,
    stop: impl Future<Output = ()>,
    mut tick: impl FnMut(&LocalFirehose<'_, P, B>),
) -> io::Result<Stopped> {
    let mut stop = std::pin::pin!(stop);
    let mut saved = firehose.checkpoints().clone();
    let mut last_new = Instant::now();
    let why = loop {
        // A poll (one page per shard) is never interrupted half-way: the stop is looked at
        // between polls, so a backlog is drained a page at a time and a stop is quick.
        let read = firehose.poll(reader).await?;
        if firehose.checkpoints() != &saved {
            checkpoints.save(stream, firehose.checkpoints())?;
            saved = firehose.checkpoints().clone();
        }
        tick(firehose);
        if read > 0 {
            last_new = Instant::now();
            // More may be waiting: poll again at once, unless told to stop.
            tokio::select! {
                biased;
                () = &mut stop => break Stopped::Signal,
                () = std::future::ready(()) => continue,
            }
        }
        if options
            .exit_when_idle
            .is_some_and(|idle| last_new.elapsed() >= idle)
        {
            break Stopped::Idle;
        }
        tokio::select! {
            () = &mut stop => break Stopped::Signal,
            () = tokio::time::sleep(options.poll_interval) => {}
        }
    };
    firehose.flush().await?;
    checkpoints.save(stream, firehose.checkpoints())?;
    tick(firehose);
    Ok(why)
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::bucket::LocalBucket;
    use crate::firehose::{Echo, FirehoseSettings};
    use crate::stream::{LocalStream, put_numbers};

    fn delivered(bucket: &LocalBucket) -> Vec<u32> {
        let mut ns: Vec<u32> = bucket
            .keys()
            .unwrap()
            .iter()
            .flat_map(|k| {
                std::fs::read_to_string(bucket.root().join(k))
                    .unwrap()
                    .lines()
                    .map(|l| {
                        serde_json::from_str::<serde_json::Value>(l).unwrap()["n"]
                            .as_u64()
                            .unwrap() as u32
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        ns.sort_unstable();
        ns
    }

    fn options() -> RunOptions {
        RunOptions {
            poll_interval: Duration::from_millis(5),
            exit_when_idle: None,
        }
    }

    #[tokio::test]
    async fn a_stop_delivers_the_buffer_and_a_restart_resumes_after_the_checkpoint() {
        // GIVEN 40 records in a 3-shard stream and a delivery stream whose buffer would hold
        // them for an hour
        let dir = tempfile::tempdir().unwrap();
        let bucket = LocalBucket::new(dir.path().join("bucket"));
        let file = CheckpointFile::new(dir.path().join("cp.json"));
        let stream = LocalStream::new("s", 3);
        put_numbers(&stream, 0..40).await;
        let mut settings = FirehoseSettings::new("d");
        settings.buffer_interval = Duration::from_secs(3_600);
        let mut firehose = LocalFirehose::new(settings.clone(), &Echo, &bucket);
        // WHEN it is stopped (Ctrl-C) right after its first poll
        let why = run(
            &mut firehose,
            &stream,
            "s",
            &file,
            options(),
            async {},
            |_| {},
        )
        .await
        .unwrap();
        // THEN what it had buffered is delivered and every shard's checkpoint is saved
        assert_eq!(why, Stopped::Signal);
        assert_eq!(delivered(&bucket), (0..40).collect::<Vec<_>>());
        let saved = file.load("s").unwrap();
        assert_eq!(saved.len(), 3, "{saved:?}");

        // GIVEN 10 more records, and a new delivery stream resuming from the file
        put_numbers(&stream, 40..50).await;
        let mut again = LocalFirehose::new(settings, &Echo, &bucket);
        again.resume(file.load("s").unwrap());
        // WHEN it runs until the stream is idle
        let idle = RunOptions {
            exit_when_idle: Some(Duration::from_millis(20)),
            ..options()
        };
        let why = run(
            &mut again,
            &stream,
            "s",
            &file,
            idle,
            std::future::pending(),
            |_| {},
        )
        .await
        .unwrap();
        // THEN it read only the new records: every record is in the bucket exactly once
        assert_eq!(why, Stopped::Idle);
        assert_eq!(again.stats().records_in, 10);
        assert_eq!(delivered(&bucket), (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn a_checkpoint_file_of_another_stream_is_refused_with_its_path() {
        // GIVEN a checkpoint file saved for stream "a"
        let dir = tempfile::tempdir().unwrap();
        let file = CheckpointFile::new(dir.path().join("cp.json"));
        let shards = BTreeMap::from([("shardId-0".to_owned(), "49".to_owned())]);
        file.save("a", &shards).unwrap();
        // WHEN it is loaded for stream "b", and for "a"
        let err = file.load("b").unwrap_err();
        // THEN "b" is refused naming the file and both streams; "a" gets its checkpoints
        let msg = err.to_string();
        assert!(
            msg.contains("cp.json") && msg.contains("\"a\"") && msg.contains("\"b\""),
            "{msg}"
        );
        assert_eq!(file.load("a").unwrap(), shards);
        // AND a missing file means no checkpoints; a corrupt one is an error naming the file
        assert!(
            CheckpointFile::new(dir.path().join("none.json"))
                .load("a")
                .unwrap()
                .is_empty()
        );
        std::fs::write(dir.path().join("bad.json"), "{").unwrap();
        let err = CheckpointFile::new(dir.path().join("bad.json"))
            .load("a")
            .unwrap_err();
        assert!(err.to_string().contains("bad.json"), "{err}");
    }
}
