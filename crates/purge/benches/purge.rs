//! `make bench-purge`: what one run of the purge reads for 1 hour of deletions over 7 days of
//! data, with every bucket call counted as S3 would bill it (LIST pages of 1,000 keys, GET,
//! PUT, DELETE). Deletions of posts from the last day (most deletions are of fresh posts) and,
//! beside them, of posts from any day of the week.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeZone as _, Utc};
use ks_firehose_local::bucket::{Output, object_key};
use ks_purge::store::ObjectInfo;
use ks_purge::{Bucket, LocalDir, PurgeSettings, purge};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAYS: i64 = 7;
/// Firehose's default buffering interval on the stack is 60 s; every 5 minutes keeps the
/// directory small while holding the same proportions.
const OBJECT_EVERY_MS: i64 = 5 * MINUTE_MS;
const POSTS_PER_OBJECT: u64 = 20;
const START_MS: i64 = 1_764_000_000_000;

/// S3 calls as they are billed.
#[derive(Default)]
struct Calls {
    list_pages: AtomicU64,
    get: AtomicU64,
    put: AtomicU64,
    delete: AtomicU64,
}

struct Counting {
    dir: LocalDir,
    calls: Calls,
}

impl Bucket for Counting {
    async fn list(&self, prefix: &str) -> io::Result<Vec<ObjectInfo>> {
        let listed = self.dir.list(prefix).await?;
        let pages = listed.len().div_ceil(1_000).max(1) as u64;
        self.calls.list_pages.fetch_add(pages, Ordering::Relaxed);
        Ok(listed)
    }
    async fn get(&self, key: &str) -> io::Result<Option<Vec<u8>>> {
        self.calls.get.fetch_add(1, Ordering::Relaxed);
        self.dir.get(key).await
    }
    async fn put(&self, key: &str, body: Vec<u8>) -> io::Result<()> {
        self.calls.put.fetch_add(1, Ordering::Relaxed);
        self.dir.put(key, body).await
    }
    async fn delete(&self, key: &str) -> io::Result<()> {
        self.calls.delete.fetch_add(1, Ordering::Relaxed);
        self.dir.delete(key).await
    }
}

/// 7 days of objects; returns each post's (id, creation ms).
fn lake(root: &std::path::Path) -> Vec<(String, i64)> {
    let mut posts = Vec::new();
    let objects = DAYS * 24 * HOUR_MS / OBJECT_EVERY_MS;
    for slot in 0..objects {
        let written = START_MS + slot * OBJECT_EVERY_MS;
        let mut body = String::new();
        for k in 0..POSTS_PER_OBJECT {
            let created = written - (k as i64) * 7_000;
            let n = slot as u64 * POSTS_PER_OBJECT + k;
            let id = format!(
                "at://did:plc:a{}/app.bsky.feed.post/{}",
                n % 500,
                ks_purge::rules::tid(created as u64 * 1_000, n)
            );
            body.push_str(&format!(
                r#"{{"id":"{id}","did":"did:plc:a{}","time_us":{},"text":"post {n}","sentiment":{{"label":"NEUTRAL"}}}}"#,
                n % 500,
                created * 1_000
            ));
            body.push('\n');
            posts.push((id, created));
        }
        let at = Utc.timestamp_millis_opt(written).unwrap();
        let key = object_key(
            Output::Delivered,
            "s",
            at,
            uuid::Uuid::from_u128(slot as u128),
        );
        let path = root.join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    posts
}

fn deletions(root: &std::path::Path, ids: &[&(String, i64)], at_ms: i64) {
    let body: String = ids
        .iter()
        .map(|(id, _)| {
            format!(
                r#"{{"op":"delete","id":"{id}","collection":"app.bsky.feed.post","time_us":{},"source":"bluesky"}}"#,
                at_ms * 1_000
            ) + "\n"
        })
        .collect();
    let at = Utc.timestamp_millis_opt(at_ms).unwrap();
    let key = object_key(Output::Deletions, "s", at, uuid::Uuid::new_v4());
    let path = root.join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
}

fn scenario(name: &str, pick: impl Fn(&[(String, i64)], &mut fastrand::Rng) -> Vec<usize>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let posts = lake(dir.path());
    let end = START_MS + DAYS * 24 * HOUR_MS;
    let bucket = Counting {
        dir: LocalDir::new(dir.path()),
        calls: Calls::default(),
    };
    let far = tokio::time::Instant::now() + Duration::from_secs(3_600);
    // The purge has run before (it runs hourly): every object is known to it.
    runtime
        .block_on(purge(&bucket, &PurgeSettings::local(), end, far))
        .unwrap();
    let fresh = Counting {
        dir: LocalDir::new(dir.path()),
        calls: Calls::default(),
    };
    // One hour of deletions, 200 of them, in 12 objects.
    let mut rng = fastrand::Rng::with_seed(21);
    let chosen = pick(&posts, &mut rng);
    for (n, chunk) in chosen.chunks(chosen.len().div_ceil(12)).enumerate() {
        let ids: Vec<&(String, i64)> = chunk.iter().map(|&i| &posts[i]).collect();
        deletions(dir.path(), &ids, end + n as i64 * 5 * MINUTE_MS);
    }
    let started = Instant::now();
    let s = runtime
        .block_on(purge(&fresh, &PurgeSettings::local(), end + HOUR_MS, far))
        .unwrap();
    let ms = started.elapsed().as_millis();
    let c = &fresh.calls;
    println!(
        "| {name} | {} | {} / {} ({:.2}%) | {} | {} | {} | {} | {} | {} ms |",
        s.deletions_applied,
        s.objects_read,
        s.objects_in_bucket,
        100.0 * s.objects_read as f64 / s.objects_in_bucket as f64,
        s.objects_rewritten,
        c.list_pages.load(Ordering::Relaxed),
        c.get.load(Ordering::Relaxed),
        c.put.load(Ordering::Relaxed),
        c.delete.load(Ordering::Relaxed),
        ms
    );
    assert_eq!(s.deletions_applied as usize, chosen.len());
}

fn main() {
    println!(
        "1 hour of deletions (200) over {DAYS} days of data ({} objects of {POSTS_PER_OBJECT} posts)",
        DAYS * 24 * HOUR_MS / OBJECT_EVERY_MS
    );
    println!(
        "| deleted posts from | applied | objects read / in bucket | rewritten | LIST pages | GET | PUT | DELETE | time |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let last_day = |posts: &[(String, i64)], rng: &mut fastrand::Rng| {
        let cut = posts.len() - posts.len() / DAYS as usize;
        let mut picked: Vec<usize> = (0..200).map(|_| rng.usize(cut..posts.len())).collect();
        picked.sort();
        picked.dedup();
        picked
    };
    let last_hour = |posts: &[(String, i64)], rng: &mut fastrand::Rng| {
        let cut = posts.len() - posts.len() / (DAYS as usize * 24);
        let mut picked: Vec<usize> = (0..200).map(|_| rng.usize(cut..posts.len())).collect();
        picked.sort();
        picked.dedup();
        picked
    };
    scenario("the last hour", last_hour);
    scenario("the last day", last_day);
    let any_day = |posts: &[(String, i64)], rng: &mut fastrand::Rng| {
        let mut picked: Vec<usize> = (0..200).map(|_| rng.usize(0..posts.len())).collect();
        picked.sort();
        picked.dedup();
        picked
    };
    scenario("any day of the week", any_day);
    println!("(GET includes the state object; PUT the state and the rewritten objects)");
}
