//! Local emulators for tests and benchmarks: moto's server, installed by `make venv` into the
//! workspace's `.venv` (pinned in requirements-dev.txt), started on a free loopback port and
//! killed when the handle drops, whether the test passed or panicked.
//!
//! When the binary is missing, [`Moto::start`] fails the test with the reason and the fix
//! (`make venv`): an emulator-backed test never passes by doing nothing.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_kinesis::types::ShardIteratorType;

/// The workspace's root, from this crate's manifest directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from("."))
}

/// A program in the project's venv.
pub fn venv_bin(name: &str) -> PathBuf {
    workspace_root().join(".venv/bin").join(name)
}

/// Fails the test: a tool it needs is not installed.
pub fn missing(what: &str, path: &Path) -> ! {
    panic!(
        "{what} not found at {}: this test needs the project's venv; run `make venv` (or `make test`, which installs it)",
        path.display()
    )
}

/// A free loopback port (bound and released; the child binds it right after), never one this
/// process handed out before: the kernel may give a just-released port to the next caller,
/// and two emulators started by parallel tests would then share one (the second failing to
/// bind while its test talks to the first, until the first test ends and kills it).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// A child process killed (and reaped) on drop.
#[derive(Debug)]
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running moto server.
#[derive(Debug)]
pub struct Moto {
    pub addr: SocketAddr,
    _child: Killed,
}

impl Moto {
    /// Starts `moto_server` on a free loopback port and waits until it accepts connections.
    pub fn start() -> Moto {
        let bin = venv_bin("moto_server");
        if !bin.exists() {
            missing("moto_server", &bin);
        }
        let port = free_port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let child = Killed(child);
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let until = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < until,
                "moto_server did not listen on {addr} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            addr,
            _child: child,
        }
    }

    /// The endpoint URL for the SDK (`AWS_ENDPOINT_URL`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Creates a stream and waits until it is ACTIVE.
pub async fn create_stream(client: &aws_sdk_kinesis::Client, name: &str, shards: i32) {
    client
        .create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateStream {name}: {e:?}"));
    for _ in 0..50 {
        let d = client
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DescribeStreamSummary {name}: {e:?}"));
        if d.stream_description_summary()
            .is_some_and(|s| s.stream_status().as_str() == "ACTIVE")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("stream {name} never became ACTIVE");
}

/// One Kinesis record as GetRecords returned it.
#[derive(Debug, Clone)]
pub struct ReadRecord {
    pub shard: String,
    pub partition_key: String,
    pub sequence_number: String,
    pub data: Vec<u8>,
}

/// Every record in the stream from TRIM_HORIZON, shard by shard, each shard in sequence order
/// (as put: KPL aggregates are not opened).
pub async fn read_stream(client: &aws_sdk_kinesis::Client, name: &str) -> Vec<ReadRecord> {
    let shards = client
        .list_shards()
        .stream_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("ListShards {name}: {e:?}"));
    let mut out = Vec::new();
    for shard in shards.shards() {
        let mut iterator = client
            .get_shard_iterator()
            .stream_name(name)
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetShardIterator {name}: {e:?}"))
            .shard_iterator()
            .map(str::to_owned);
        while let Some(it) = iterator {
            let page = client
                .get_records()
                .shard_iterator(it)
                .limit(10_000)
                .send()
                .await
                .unwrap_or_else(|e| panic!("GetRecords {name}: {e:?}"));
            if page.records().is_empty() {
                break;
            }
            for r in page.records() {
                out.push(ReadRecord {
                    shard: shard.shard_id().to_owned(),
                    partition_key: r.partition_key().unwrap_or_default().to_owned(),
                    sequence_number: r.sequence_number().to_owned(),
                    data: r.data().as_ref().to_vec(),
                });
            }
            iterator = page.next_shard_iterator().map(str::to_owned);
        }
    }
    out
}
