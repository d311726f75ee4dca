//! The purge over a directory laid out as the local Firehose writes it: deletions, account
//! purges and edits taken out, everything else byte for byte, once; again after a crash.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeZone as _, Utc};
use ks_firehose_local::bucket::{Output, object_key, object_key_with_extension};
use ks_firehose_local::parquet;
use ks_purge::store::ObjectInfo;
use ks_purge::{Bucket, LocalDir, PurgeSettings, PurgeSummary, purge};
use serde_json::{Value, json};
use tokio::time::Instant;

const HOUR_MS: i64 = 3_600_000;
/// The lake's first hour.
const START_MS: i64 = 1_764_000_000_000;

/// The rkey (a TID) of a post created at `ms`.
fn tid(ms: i64, clock: u64) -> String {
    ks_purge::rules::tid(ms as u64 * 1_000, clock)
}

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).unwrap()
}

fn uuid(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}

/// A post by `author`, created at `ms`, as the pipeline delivers it (with sentiment, odd bytes).
fn post(author: u32, n: u32, ms: i64) -> String {
    let did = format!("did:plc:author{author}");
    let rkey = tid(ms, u64::from(n % 1024));
    format!(
        r#"{{"id":"at://{did}/app.bsky.feed.post/{rkey}","did":"{did}","rkey":"{rkey}","time_us":{},"text":"post {n} caf\u00e9 \"quoted\"","big":123456789012345678901234567890,"sentiment":{{"label":"NEUTRAL","scores":{{"positive":0.1,"negative":0.0,"neutral":0.9,"mixed":0.0}},"model":"lexicon"}}}}"#,
        ms * 1_000
    )
}

fn id_of(line: &str) -> String {
    serde_json::from_str::<Value>(line).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn did_of(line: &str) -> String {
    serde_json::from_str::<Value>(line).unwrap()["did"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A lake of `hours` hours, one object every 10 minutes, `per` posts each, by 6 authors; the
/// lines of every object.
struct Lake {
    dir: tempfile::TempDir,
    lines: Vec<String>,
    objects: usize,
}

impl Lake {
    fn new(hours: i64, per: u32) -> Lake {
        let dir = tempfile::tempdir().unwrap();
        let mut lines = Vec::new();
        let mut objects = 0;
        let mut n = 0;
        for slot in 0..hours * 6 {
            let written = START_MS + slot * 10 * 60_000;
            let mut body = String::new();
            for _ in 0..per {
                // Created up to 4 minutes before the object that holds it.
                let line = post(n % 6, n, written - i64::from(n % 240) * 1_000);
                body.push_str(&line);
                body.push('\n');
                lines.push(line);
                n += 1;
            }
            let key = object_key(Output::Delivered, "s", at(written), uuid(slot as u128));
            write(dir.path(), &key, body.as_bytes());
            objects += 1;
        }
        Lake {
            dir,
            lines,
            objects,
        }
    }

    fn bucket(&self) -> LocalDir {
        LocalDir::new(self.dir.path())
    }

    /// Writes deletion records in one deletions-area object written at `ms`.
    fn deletions(&self, ms: i64, records: &[Value], n: u128) {
        let body: String = records.iter().map(|r| format!("{r}\n")).collect();
        let key = object_key(Output::Deletions, "s", at(ms), uuid(1_000_000 + n));
        write(self.dir.path(), &key, body.as_bytes());
    }

    /// Every delivered line now in the data area, with how often.
    fn delivered(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for entry in walk(self.dir.path()) {
            let rel = entry
                .strip_prefix(self.dir.path())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel.starts_with("deletions") || rel.starts_with("purge") {
                continue;
            }
            let bytes = std::fs::read(&entry).unwrap();
            let text = if rel.ends_with(".parquet") {
                parquet::decode(&bytes)
                    .unwrap()
                    .into_iter()
                    .map(|r| format!("{}\n", Value::Object(r)))
                    .collect()
            } else {
                String::from_utf8(bytes).unwrap()
            };
            for line in text.lines() {
                *out.entry(line.to_owned()).or_default() += 1;
            }
        }
        out
    }
}

fn write(root: &std::path::Path, key: &str, body: &[u8]) {
    let path = root.join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn delete(line: &str, ms: i64) -> Value {
    let id = id_of(line);
    json!({"op":"delete","id":id,"did":did_of(line),"rkey":id.rsplit('/').next(),
           "collection":"app.bsky.feed.post","time_us":ms * 1_000,"source":"bluesky"})
}

fn account(did: &str, status: &str, ms: i64) -> Value {
    json!({"op":"account","did":did,"active":false,"status":status,"time_us":ms * 1_000,"source":"bluesky"})
}

fn later() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

/// One purge of `lake` at `now_ms` with the local settings and a minute to run; it succeeds.
async fn purge_lake(lake: &Lake, now_ms: i64) -> PurgeSummary {
    purge(&lake.bucket(), &PurgeSettings::local(), now_ms, later())
        .await
        .unwrap()
}

/// The lines that must remain after the purge: all but the deleted posts and purged accounts'.
fn expected(
    lake: &Lake,
    deleted: &BTreeSet<String>,
    purged: &BTreeSet<String>,
) -> BTreeMap<String, usize> {
    lake.lines
        .iter()
        .filter(|l| !deleted.contains(&id_of(l)) && !purged.contains(&did_of(l)))
        .map(|l| (l.clone(), 1))
        .collect()
}

/// A third of the posts deleted (picked at random), two accounts purged, one only suspended.
fn deletions_of(lake: &Lake, seed: u64) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut deleted = BTreeSet::new();
    let mut records = Vec::new();
    let end = START_MS + (lake.objects as i64) * 10 * 60_000;
    for line in &lake.lines {
        if rng.u32(0..3) == 0 {
            deleted.insert(id_of(line));
            records.push(delete(line, end));
        }
    }
    records.push(account("did:plc:author1", "deleted", end));
    records.push(account("did:plc:author4", "takendown", end));
    records.push(account("did:plc:author2", "suspended", end));
    for (n, chunk) in records.chunks(50).enumerate() {
        lake.deletions(end + n as i64 * 1_000, chunk, n as u128);
    }
    let purged = BTreeSet::from(["did:plc:author1".to_owned(), "did:plc:author4".to_owned()]);
    (deleted, purged)
}

#[tokio::test]
async fn every_deleted_post_and_purged_account_goes_and_every_other_record_stays_byte_exact() {
    // GIVEN 12 hours of posts, a third of them deleted, two accounts purged, one suspended
    let lake = Lake::new(12, 20);
    let (deleted, purged) = deletions_of(&lake, 7);
    let now = START_MS + 13 * HOUR_MS;
    // WHEN the purge runs
    let s = purge_lake(&lake, now).await;
    // THEN nothing deleted or purged is left, and everything else is there exactly once
    assert_eq!(lake.delivered(), expected(&lake, &deleted, &purged));
    assert!(s.complete);
    assert_eq!(s.deletions_read as usize, deleted.len());
    assert_eq!(s.account_purges_read, 2, "the suspended account only hides");
    assert_eq!(s.deletions_pending, 0, "every deleted post was found");
    assert_eq!(s.deletions_applied as usize, deleted.len());
    // AND a second run finds nothing more to do
    let again = purge_lake(&lake, now + 60_000).await;
    assert_eq!(
        (
            again.objects_rewritten,
            again.objects_deleted,
            again.records_removed()
        ),
        (0, 0, 0)
    );
    assert_eq!(lake.delivered(), expected(&lake, &deleted, &purged));
}

/// A bucket whose writes fail from the `n`th on: a purge killed mid-way.
struct Crashing<'a> {
    inner: &'a LocalDir,
    writes: AtomicUsize,
    fail_from: usize,
}

impl Bucket for Crashing<'_> {
    async fn list(&self, prefix: &str) -> io::Result<Vec<ObjectInfo>> {
        self.inner.list(prefix).await
    }
    async fn get(&self, key: &str) -> io::Result<Option<Vec<u8>>> {
        self.inner.get(key).await
    }
    async fn put(&self, key: &str, body: Vec<u8>) -> io::Result<()> {
        if self.writes.fetch_add(1, Ordering::SeqCst) >= self.fail_from {
            return Err(io::Error::other("injected: the process died here"));
        }
        self.inner.put(key, body).await
    }
    async fn delete(&self, key: &str) -> io::Result<()> {
        if self.writes.fetch_add(1, Ordering::SeqCst) >= self.fail_from {
            return Err(io::Error::other("injected: the process died here"));
        }
        self.inner.delete(key).await
    }
}

#[tokio::test]
async fn a_purge_killed_mid_way_loses_nothing_and_the_next_run_finishes_it() {
    for fail_from in [0, 1, 5, 17] {
        // GIVEN the same lake and deletions, and a purge whose writes fail after a few
        let lake = Lake::new(6, 15);
        let (deleted, purged) = deletions_of(&lake, 11);
        let now = START_MS + 7 * HOUR_MS;
        let local = lake.bucket();
        let crashing = Crashing {
            inner: &local,
            writes: AtomicUsize::new(0),
            fail_from,
        };
        // WHEN it dies mid-way
        let err = purge(&crashing, &PurgeSettings::local(), now, later())
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{err}");
        // THEN no record that should stay is gone, and no object is half written
        let mid = lake.delivered();
        for (line, count) in expected(&lake, &deleted, &purged) {
            assert_eq!(mid.get(&line), Some(&count), "{fail_from}: lost {line}");
        }
        // AND the next run finishes the work
        purge(&local, &PurgeSettings::local(), now, later())
            .await
            .unwrap();
        assert_eq!(
            lake.delivered(),
            expected(&lake, &deleted, &purged),
            "{fail_from}"
        );
    }
}

#[tokio::test]
async fn only_the_objects_that_can_hold_a_recent_post_are_read() {
    // GIVEN 7 days of objects and the deletion of posts from the last hour
    let lake = Lake::new(7 * 24, 2);
    let last_hour: Vec<&String> = lake.lines.iter().rev().take(12).collect();
    let end = START_MS + 7 * 24 * HOUR_MS;
    let records: Vec<Value> = last_hour.iter().map(|l| delete(l, end)).collect();
    lake.deletions(end, &records, 0);
    // WHEN the purge runs, for the first time (every object is new to it)
    let first = purge_lake(&lake, end).await;
    // THEN it reads each object once to learn the lake, and rewrites only the last hour's
    assert_eq!(first.objects_in_bucket as usize, lake.objects);
    assert!(first.objects_rewritten <= 7, "{first:?}");
    // AND a later hour of deletions reads only the objects after those posts were created
    let more: Vec<Value> = lake
        .lines
        .iter()
        .rev()
        .skip(12)
        .take(12)
        .map(|l| delete(l, end + HOUR_MS))
        .collect();
    lake.deletions(end + HOUR_MS, &more, 1);
    let second = purge_lake(&lake, end + HOUR_MS).await;
    assert_eq!(second.deletions_applied, 12);
    assert!(
        second.objects_read * 50 < second.objects_in_bucket,
        "read {} of {}",
        second.objects_read,
        second.objects_in_bucket
    );
}

#[tokio::test]
async fn a_deleted_post_that_arrives_late_goes_too_and_an_unseen_one_is_pending() {
    // GIVEN a lake and the deletion of a post not in it yet
    let lake = Lake::new(2, 5);
    let now = START_MS + 3 * HOUR_MS;
    let late = post(3, 999, now - 30 * 60_000);
    lake.deletions(now, &[delete(&late, now)], 0);
    // WHEN the purge runs
    let s = purge_lake(&lake, now).await;
    // THEN the deletion waits for its post
    assert_eq!((s.deletions_pending, s.deletions_applied), (1, 0));
    // AND when a copy arrives in a later object (a producer's replay), the next run takes it
    let key = object_key(Output::Delivered, "s", at(now + 60_000), uuid(77));
    write(
        lake.dir.path(),
        &key,
        format!("{late}\n{}\n", post(5, 1000, now)).as_bytes(),
    );
    let s = purge_lake(&lake, now + 120_000).await;
    assert_eq!((s.deletions_pending, s.deletions_applied), (0, 1));
    assert!(!lake.delivered().contains_key(&late));
    assert_eq!(lake.delivered().len(), lake.lines.len() + 1);
    // AND after the alarm's hours a deletion still unseen counts as pending too long
    let orphan = post(3, 1001, now);
    lake.deletions(now + 180_000, &[delete(&orphan, now)], 1);
    let s = purge_lake(&lake, now + 7 * HOUR_MS).await;
    assert_eq!((s.deletions_pending, s.deletions_pending_too_long), (1, 1));
}

#[tokio::test]
async fn an_edit_supersedes_every_earlier_version() {
    // GIVEN a post, and later its edit delivered in a newer object
    let lake = Lake::new(2, 3);
    let original = lake.lines[4].clone();
    let mut v: Value = serde_json::from_str(&original).unwrap();
    let edited_at = START_MS + 3 * HOUR_MS;
    v["text"] = json!("edited");
    v["time_us"] = json!(edited_at * 1_000);
    v["op"] = json!("update");
    let edit = v.to_string();
    let key = object_key(Output::Delivered, "s", at(edited_at), uuid(90));
    write(lake.dir.path(), &key, format!("{edit}\n").as_bytes());
    // WHEN the purge runs twice (the edit is found, then applied)
    let settings = PurgeSettings::local();
    let first = purge(&lake.bucket(), &settings, edited_at, later())
        .await
        .unwrap();
    assert_eq!(first.edits_found, 1);
    let second = purge(&lake.bucket(), &settings, edited_at + 60_000, later())
        .await
        .unwrap();
    // THEN only the newest version is left
    assert_eq!(second.records_superseded, 1);
    let now = lake.delivered();
    assert!(!now.contains_key(&original));
    assert_eq!(now.get(&edit), Some(&1));
}

#[tokio::test]
async fn parquet_objects_are_purged_value_for_value() {
    // GIVEN a Parquet lake (the stack's OutputFormat=parquet)
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..6).map(|n| post(n % 2, n, START_MS - 1_000)).collect();
    let ndjson: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let file = parquet::encode(ndjson.as_bytes()).unwrap().parquet.unwrap();
    let key = object_key_with_extension(Output::Delivered, "s", at(START_MS), uuid(1), ".parquet");
    write(dir.path(), &key, &file);
    let before = parquet::decode(&file).unwrap();
    let del = object_key_with_extension(
        Output::Deletions,
        "s",
        at(START_MS + 60_000),
        uuid(2),
        ".parquet",
    );
    let record = delete(&lines[2], START_MS + 60_000).to_string();
    let del_file = parquet::encode(format!("{record}\n").as_bytes())
        .unwrap()
        .parquet
        .unwrap();
    write(dir.path(), &del, &del_file);
    // WHEN purged
    let s = purge(
        &LocalDir::new(dir.path()),
        &PurgeSettings::local(),
        START_MS + HOUR_MS,
        later(),
    )
    .await
    .unwrap();
    // THEN the other five rows are there with every value as it was
    assert_eq!(s.records_deleted, 1);
    let after = parquet::decode(&std::fs::read(dir.path().join(&key)).unwrap()).unwrap();
    let mut want = before.clone();
    want.remove(2);
    assert_eq!(after, want);
}

#[tokio::test]
async fn a_run_out_of_time_saves_how_far_it_got_and_the_next_goes_on() {
    // GIVEN a purge of an account (every object concerns it) with no time at all
    let lake = Lake::new(3, 4);
    let end = START_MS + 3 * HOUR_MS;
    lake.deletions(end, &[account("did:plc:author0", "deleted", end)], 0);
    let none = Instant::now();
    let s = purge(&lake.bucket(), &PurgeSettings::local(), end, none)
        .await
        .unwrap();
    assert!(!s.complete && s.stopped_by_deadline);
    // WHEN the next run has time
    let s = purge_lake(&lake, end).await;
    // THEN it finishes: no post of the account is left
    assert!(s.complete);
    let purged = BTreeSet::from(["did:plc:author0".to_owned()]);
    assert_eq!(lake.delivered(), expected(&lake, &BTreeSet::new(), &purged));
}
