//! Deletions end to end through the real binaries: `kinesis-sentiment demo --source jetstream`
//! against the Jetstream stand-in (with faults) while authors post, delete a random third of
//! their posts and two accounts go; then `kinesis-sentiment purge` and `report`. Nothing
//! deleted is left, every other record is there once and byte for byte; again after a purge
//! that dies mid-way.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ks_purge::store::ObjectInfo;
use ks_purge::{Bucket, LocalDir, PurgeSettings};
use ks_testkit::jetstream::{Faults, Kind, NetEvent, Network, StandIn, now_us};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kinesis-sentiment");
const AUTHORS: u64 = 8;
const POSTS: u64 = 240;

fn did(author: u64) -> String {
    format!("did:plc:author{author}")
}

/// What the network did, as the test knows it.
#[derive(Default)]
struct Script {
    posts: Vec<(String, String)>,
    deleted: BTreeSet<String>,
    purged: BTreeSet<String>,
}

/// Posts, then deletions of a random third and two accounts gone (one deleted, one taken
/// down), then one suspended (hidden, not removed), then more posts, pushed live.
async fn play(net: &Network) -> Script {
    let mut rng = fastrand::Rng::with_seed(2026);
    let mut script = Script::default();
    let push = |did: String, kind: Kind| {
        net.push(NetEvent {
            true_us: now_us(),
            did,
            kind,
        })
    };
    let post = |i: u64| {
        let author = i % AUTHORS;
        let rkey = ks_purge::rules::tid(now_us(), i);
        let mood = ["what a lovely day", "this is awful", "a chair"][(i % 3) as usize];
        push(
            did(author),
            Kind::Create {
                collection: "app.bsky.feed.post".into(),
                rkey: rkey.clone(),
                text: format!("post {i}: {mood}"),
                lang: Some("en".into()),
                reply_to: None,
                tags: Vec::new(),
                facet_tags: Vec::new(),
            },
        );
        (did(author), rkey)
    };
    // The demo connects first: it reads the live tail.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    for i in 0..POSTS {
        script.posts.push(post(i));
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    for (d, rkey) in &script.posts {
        if rng.u32(0..3) == 0 {
            script
                .deleted
                .insert(format!("at://{d}/app.bsky.feed.post/{rkey}"));
            push(
                d.clone(),
                Kind::Delete {
                    collection: "app.bsky.feed.post".into(),
                    rkey: rkey.clone(),
                },
            );
        }
    }
    for (author, status) in [(3, "deleted"), (5, "takendown"), (6, "suspended")] {
        push(
            did(author),
            Kind::Account {
                active: false,
                status: Some(status.into()),
            },
        );
    }
    script.purged = BTreeSet::from([did(3), did(5)]);
    for i in POSTS..POSTS + 40 {
        post(i);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    script
}

/// Every line in the data area (not deletions/, errors or the purge's state), with how often.
fn data_lines(out: &Path) -> BTreeMap<String, usize> {
    let mut lines = BTreeMap::new();
    for key in ks_firehose_local::bucket::LocalBucket::new(out)
        .keys()
        .unwrap()
    {
        let Some(parsed) = ks_firehose_local::bucket::parse_key(&key) else {
            continue;
        };
        if parsed.output != ks_firehose_local::bucket::Output::Delivered {
            continue;
        }
        for line in std::fs::read_to_string(out.join(&key)).unwrap().lines() {
            *lines.entry(line.to_owned()).or_default() += 1;
        }
    }
    lines
}

fn field(line: &str, name: &str) -> String {
    let v: Value = serde_json::from_str(line).unwrap();
    v[name].as_str().unwrap_or_default().to_owned()
}

fn run(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

/// A directory whose writes fail from the `n`th on: a purge killed mid-way.
struct Dying {
    dir: LocalDir,
    writes: AtomicUsize,
    from: usize,
}

impl Dying {
    fn write(&self) -> io::Result<()> {
        if self.writes.fetch_add(1, Ordering::SeqCst) >= self.from {
            return Err(io::Error::other("injected: killed here"));
        }
        Ok(())
    }
}

impl Bucket for Dying {
    async fn list(&self, prefix: &str) -> io::Result<Vec<ObjectInfo>> {
        self.dir.list(prefix).await
    }
    async fn get(&self, key: &str) -> io::Result<Option<Vec<u8>>> {
        self.dir.get(key).await
    }
    async fn put(&self, key: &str, body: Vec<u8>) -> io::Result<()> {
        self.write()?;
        self.dir.put(key, body).await
    }
    async fn delete(&self, key: &str) -> io::Result<()> {
        self.write()?;
        self.dir.delete(key).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_posts_and_purged_accounts_are_gone_everything_else_stays_byte_exact() {
    // GIVEN a Jetstream stand-in that drops its first connections and sends garbage
    let net = Network::new();
    let faults = Faults {
        close_first_connections: 2,
        close_after_frames: 90,
        garbage_every: 41,
        ..Faults::default()
    };
    let standin = StandIn::start(net.clone(), faults).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_arg = out.display().to_string();
    // WHEN the demo binary reads it (leaving the output as Firehose wrote it) while authors
    // post, delete and go
    let url = standin.url();
    let demo = tokio::task::spawn_blocking(move || {
        run(&[
            "demo",
            "--source",
            "jetstream",
            "--jetstream-url",
            &url,
            "--seconds",
            "6",
            "--records",
            "100000",
            "--out",
            &out_arg,
            "--no-purge",
        ])
    });
    let script = play(&net).await;
    demo.await.unwrap();
    let before = data_lines(&out);
    // THEN every post reached the output once, and the deletions reached their own area
    let ids: BTreeSet<String> = before.keys().map(|l| field(l, "id")).collect();
    for (d, rkey) in &script.posts {
        assert!(
            ids.contains(&format!("at://{d}/app.bsky.feed.post/{rkey}")),
            "missing"
        );
    }
    assert!(before.values().all(|&n| n == 1), "a post delivered twice");
    // WHEN a purge dies mid-way on a copy, and the purge binary runs on both
    let copy = dir.path().join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    copy_dir(&out, &copy);
    let dying = Dying {
        dir: LocalDir::new(&copy),
        writes: AtomicUsize::new(0),
        from: 1,
    };
    let far = tokio::time::Instant::now() + Duration::from_secs(60);
    let now = chrono::Utc::now().timestamp_millis();
    assert!(
        ks_purge::purge(&dying, &PurgeSettings::local(), now, far)
            .await
            .is_err()
    );
    let summary = run(&["purge", "--input", &out.display().to_string()]);
    run(&["purge", "--input", &copy.display().to_string()]);
    // THEN nothing deleted or purged is left, and everything else is there once, byte for byte
    let keep = |l: &str| {
        !script.deleted.contains(&field(l, "id")) && !script.purged.contains(&field(l, "did"))
    };
    let expected: BTreeMap<String, usize> = before
        .iter()
        .filter(|(l, _)| keep(l))
        .map(|(l, n)| (l.clone(), *n))
        .collect();
    assert!(
        expected.len() < before.len(),
        "the script deleted something"
    );
    assert_eq!(data_lines(&out), expected);
    assert_eq!(data_lines(&copy), expected, "after the crash and a rerun");
    assert!(summary.contains("Deletions applied:"), "{summary}");
    // AND the suspended account's posts stay (hidden by the view, not removed)
    assert!(expected.keys().any(|l| field(l, "did") == did(6)));
    // AND the report says every deletion was honoured
    let report = run(&["report", "--input", &out.display().to_string()]);
    let n = script.deleted.len();
    assert!(
        report.contains(&format!(
            "Deletions honoured: {n} of {n} deleted posts gone; 2 accounts purged (0 posts left)"
        )),
        "{report}"
    );
}
