//! The local pipeline in Iceberg mode through the real binary: `kinesis-sentiment demo --source
//! jetstream --destination iceberg` against the Jetstream stand-in while authors post, edit,
//! delete a third of their posts and two accounts go, with a crash injected before a table
//! commit (the delivery stream starts over from its checkpoints). pyiceberg (an independent
//! reader, pinned in requirements-dev.txt) then scans the posts table: its rows are exactly the
//! live set the script expects (count and content hash), each once, edits with their new text
//! and sentiment. Then `purge --iceberg` again (nothing more to remove) and `report --iceberg`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ks_testkit::jetstream::{Faults, Kind, NetEvent, Network, StandIn, now_us};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kinesis-sentiment");
const AUTHORS: u64 = 8;
const POSTS: u64 = 160;
const POST: &str = "app.bsky.feed.post";
/// Authors 3 and 5 go (deleted, taken down); 6 is suspended (hidden, not removed).
const PURGED: [u64; 2] = [3, 5];

fn did(author: u64) -> String {
    format!("did:plc:author{author}")
}

fn uri(did: &str, rkey: &str) -> String {
    format!("at://{did}/{POST}/{rkey}")
}

/// The live set the script leaves: post id → its text.
#[derive(Default)]
struct Script {
    live: BTreeMap<String, String>,
    edited: BTreeSet<String>,
    deleted: usize,
}

async fn play(net: &Network) -> Script {
    let mut rng = fastrand::Rng::with_seed(24);
    let mut script = Script::default();
    let push = |did: String, kind: Kind| {
        net.push(NetEvent {
            true_us: now_us(),
            did,
            kind,
        })
    };
    let post = |i: u64, author: u64| {
        let rkey = ks_purge::rules::tid(now_us(), i);
        let text = format!(
            "post {i}: {}",
            ["what a lovely day", "this is awful", "a chair"][(i % 3) as usize]
        );
        let kind = Kind::Create {
            collection: POST.into(),
            rkey: rkey.clone(),
            text: text.clone(),
            lang: Some("en".into()),
            reply_to: None,
            tags: Vec::new(),
            facet_tags: Vec::new(),
        };
        push(did(author), kind);
        (uri(&did(author), &rkey), rkey, author, text)
    };
    // The demo connects first: it reads the live tail.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let mut posts = Vec::new();
    for i in 0..POSTS {
        posts.push(post(i, i % AUTHORS));
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    for (id, rkey, author, text) in &posts {
        match rng.u32(0..6) {
            0 | 1 => {
                push(
                    did(*author),
                    Kind::Delete {
                        collection: POST.into(),
                        rkey: rkey.clone(),
                    },
                );
                script.deleted += 1;
            }
            2 => {
                // The stand-in's edits say "edited".
                push(
                    did(*author),
                    Kind::Update {
                        collection: POST.into(),
                        rkey: rkey.clone(),
                    },
                );
                script.edited.insert(id.clone());
                script.live.insert(id.clone(), "edited".to_owned());
            }
            _ => {
                script.live.insert(id.clone(), text.clone());
            }
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
    let gone: BTreeSet<String> = PURGED.iter().map(|a| did(*a)).collect();
    script
        .live
        .retain(|id, _| !gone.iter().any(|d| id.starts_with(&format!("at://{d}/"))));
    script.edited.retain(|id| script.live.contains_key(id));
    // More posts, from authors still there.
    for i in POSTS..POSTS + 30 {
        let (id, _, _, text) = post(i, [0, 1, 2, 4][(i % 4) as usize]);
        script.live.insert(id, text);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    script
}

fn run(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// pyiceberg's scan of a table (read_iceberg.py's JSON); fails with the reason if the venv lacks it.
fn pyiceberg_rows(table: &Path) -> Vec<Value> {
    let python = workspace_root().join(".venv/bin/python");
    assert!(python.exists(), "{}: run `make venv`", python.display());
    let script = workspace_root().join("crates/firehose-local/tests/read_iceberg.py");
    let out = Command::new(&python)
        .arg(script)
        .arg(table)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyiceberg (make venv): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["rows"].as_array().unwrap().clone()
}

/// A hash of a set of (id, text) pairs, independent of order.
fn content_hash(pairs: &BTreeMap<String, String>) -> u64 {
    use std::hash::{DefaultHasher, Hasher as _};
    let mut h = DefaultHasher::new();
    for (id, text) in pairs {
        h.write(format!("{id}\t{text}\n").as_bytes());
    }
    h.finish()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyiceberg_scans_exactly_the_live_posts_across_an_injected_crash() {
    // GIVEN a Jetstream stand-in that drops its first connections
    let net = Network::new();
    let faults = Faults {
        close_first_connections: 1,
        close_after_frames: 120,
        ..Faults::default()
    };
    let standin = StandIn::start(net.clone(), faults).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_arg = out.display().to_string();
    // WHEN the demo writes Iceberg tables, its second table commit crashing before it is
    // published, while authors post, edit, delete and go
    let url = standin.url();
    let demo = tokio::task::spawn_blocking(move || {
        let args = [
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
            "--destination",
            "iceberg",
            "--buffer-bytes",
            "200000",
        ];
        run(&args, &[("KS_ICEBERG_CRASH_BEFORE_COMMIT", "2")])
    });
    let script = play(&net).await;
    let printed = demo.await.unwrap();
    assert!(
        printed.contains("injected crash before the commit"),
        "{printed}"
    );
    // THEN pyiceberg's scan of the posts table is the live set: same count, same content hash
    let table = out.join("warehouse/kinesis_sentiment/posts");
    let rows = pyiceberg_rows(&table);
    let mut got = BTreeMap::new();
    for r in &rows {
        let id = r["id"].as_str().unwrap().to_owned();
        let again = got.insert(
            id.clone(),
            r["text"].as_str().unwrap_or_default().to_owned(),
        );
        assert!(again.is_none(), "{id} twice");
    }
    assert!(script.deleted > 0 && !script.edited.is_empty());
    let extra: Vec<&String> = got
        .keys()
        .filter(|k| !script.live.contains_key(*k))
        .collect();
    let missing: Vec<&String> = script
        .live
        .keys()
        .filter(|k| !got.contains_key(*k))
        .collect();
    assert_eq!(
        got.len(),
        script.live.len(),
        "count: extra {}, missing {missing:?}\n{printed}",
        extra.len()
    );
    assert_eq!(content_hash(&got), content_hash(&script.live), "content");
    // AND an edited post carries its new text and the sentiment of that text
    let lexicon = ks_lexicon::Lexicon::new();
    for r in rows
        .iter()
        .filter(|r| script.edited.contains(r["id"].as_str().unwrap()))
    {
        let scored = lexicon.sentiment("en", "edited").expect("en is scored");
        let want = serde_json::to_value(scored.label).unwrap();
        assert_eq!(r["sentiment"]["label"], want, "{r}");
    }
    // AND the suspended account's posts stay; a purge run again removes nothing more
    assert!(
        got.keys()
            .any(|id| id.starts_with(&format!("at://{}/", did(6))))
    );
    let wh = out.join("warehouse").display().to_string();
    let purged = run(&["purge", "--iceberg", &wh], &[]);
    assert!(
        purged.contains("2 purged accounts; 0 posts removed"),
        "{purged}"
    );
    // AND the report reads the table's live rows
    let report = run(&["report", "--iceberg", &table.display().to_string()], &[]);
    assert!(
        report.contains(&format!("Delivered {} records", script.live.len())),
        "{report}"
    );
}
