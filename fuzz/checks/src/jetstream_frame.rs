//! The Jetstream reader (`ks_sources::jetstream`): one text frame read into a post or a skip,
//! and the stored position parsed and moved on.
//!
//! Frames, against an oracle over serde_json's `Value`: a frame the oracle can decide (no key
//! twice anywhere) is read exactly as Jetstream's event shape says: an object with a string
//! `did`, an unsigned `time_us` and a string `kind`; `identity`, `account`, other kinds, non-create
//! operations and other collections are skips carrying the frame's `time_us`; a create in a
//! wanted collection is a post when it has a record, a cid, a did and an rkey, and an error
//! otherwise. A post's record is one line of JSON with the documented fields, each what the
//! frame's record says.
//!
//! Positions: whatever parses renders to a text that parses back to it, and moving it past some
//! posts keeps the newest time, forgets what left the window and stays within its cap.
//!
//! The input: a byte choosing the wanted collections, a byte choosing frame (even) or position
//! (odd), then the text (a position also takes a window byte and a post-count byte first).

use std::collections::HashSet;
use std::fmt;

use ks_sources::jetstream::event::{Event, POST_FIELDS, read_frame};
use ks_sources::jetstream::position::{MAX_WINDOW_POSTS, Position};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::util::Input;

const WANTED: [&[&str]; 3] = [
    &["app.bsky.feed.post"],
    &["app.bsky.feed.*"],
    &["app.bsky.feed.like", "app.bsky.feed.post"],
];

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let wanted: Vec<String> = WANTED[usize::from(input.byte()) % WANTED.len()]
        .iter()
        .map(|w| (*w).to_owned())
        .collect();
    if input.byte() % 2 == 1 {
        let window_us = u64::from(input.byte()) * 1_000_000;
        let posts = usize::from(input.byte() % 16);
        if let Ok(text) = std::str::from_utf8(input.rest()) {
            check_position(text, window_us, posts);
        }
        return;
    }
    let Ok(text) = std::str::from_utf8(input.rest()) else {
        return;
    };
    let read = read_frame(text, &wanted);
    match expected(text, &wanted) {
        Expect::Undecided => {}
        Expect::Error => assert!(read.is_err(), "{text:?} read as {read:?}"),
        Expect::Skip(kind, t) => assert_eq!(read, Ok(Event::Skipped(kind, t)), "{text:?}"),
        Expect::Post(frame) => match read {
            Ok(Event::Post(post)) => check_post(&frame, &post),
            other => panic!("{text:?}: a post expected, read {other:?}"),
        },
    }
}

enum Expect {
    /// A key twice, or a commit given as an array: serde's struct reading and `Value` differ.
    Undecided,
    Error,
    Skip(&'static str, u64),
    Post(Value),
}

/// What the event shape makes of `text`.
fn expected(text: &str, wanted: &[String]) -> Expect {
    match serde_json::from_str::<NoDuplicates>(text) {
        Err(_) => return Expect::Error,
        Ok(NoDuplicates(false)) => return Expect::Undecided,
        Ok(NoDuplicates(true)) => {}
    }
    let v: Value = serde_json::from_str(text).expect("parsed once already");
    let (Some(_), Some(t), Some(kind)) = (
        v.get("did").and_then(Value::as_str),
        v.get("time_us").and_then(Value::as_u64),
        v.get("kind").and_then(Value::as_str),
    ) else {
        return Expect::Error;
    };
    let commit = match v.get("commit") {
        None | Some(Value::Null) => None,
        Some(Value::Array(_)) => return Expect::Undecided,
        Some(c @ Value::Object(_)) if commit_fields_ok(c) => Some(c),
        Some(_) => return Expect::Error,
    };
    let field = |c: &Value, k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let commit = match (kind, commit) {
        ("commit", Some(c)) => c,
        ("identity", _) => return Expect::Skip("identity", t),
        ("account", _) => return Expect::Skip("account", t),
        _ => return Expect::Skip("other", t),
    };
    match field(commit, "operation").as_str() {
        "create" => {}
        "update" => return Expect::Skip("update", t),
        "delete" => return Expect::Skip("delete", t),
        _ => return Expect::Skip("other", t),
    }
    let collection = field(commit, "collection");
    let matches = |w: &String| match w.strip_suffix('*') {
        Some(prefix) => collection.starts_with(prefix),
        None => *w == collection,
    };
    if !wanted.iter().any(matches) {
        return Expect::Skip("other_collection", t);
    }
    let record = commit.get("record").is_some_and(|r| !r.is_null());
    let cid = commit.get("cid").is_some_and(Value::is_string);
    let named = !field(&v, "did").is_empty() && !field(commit, "rkey").is_empty();
    if record && cid && named {
        Expect::Post(v)
    } else {
        Expect::Error
    }
}

/// A commit's string fields are strings when present (`cid` may be null); `record` is any value.
fn commit_fields_ok(c: &Value) -> bool {
    let string_or_absent = |k: &str| c.get(k).is_none_or(Value::is_string);
    ["operation", "collection", "rkey"]
        .into_iter()
        .all(string_or_absent)
        && c.get("cid").is_none_or(|v| v.is_string() || v.is_null())
}

/// The post's record against the frame it came from.
fn check_post(frame: &Value, post: &ks_sources::jetstream::event::Post) {
    let did = frame["did"].as_str().unwrap();
    let commit = &frame["commit"];
    let (collection, rkey) = (
        commit["collection"].as_str().unwrap(),
        commit["rkey"].as_str().unwrap(),
    );
    let uri = format!("at://{did}/{collection}/{rkey}");
    assert_eq!(post.uri, uri);
    assert_eq!(post.cid, commit["cid"].as_str().unwrap());
    assert_eq!(post.time_us, frame["time_us"].as_u64().unwrap());
    assert!(!post.data.contains(&b'\n'), "a record is one line");
    let rec: Value = serde_json::from_slice(&post.data).expect("a record is JSON");
    let keys: Vec<&str> = rec
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, POST_FIELDS, "the record's fields");
    let r = &commit["record"];
    let text = r.get("text").and_then(Value::as_str).unwrap_or("");
    let langs: Vec<&Value> = r
        .get("langs")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter(|x| x.is_string()).collect())
        .unwrap_or_default();
    assert_eq!(rec["id"], uri.as_str());
    assert_eq!(rec["did"], did);
    assert_eq!(rec["rkey"], rkey);
    assert_eq!(rec["cid"], post.cid.as_str());
    assert_eq!(rec["time_us"], post.time_us);
    assert_eq!(rec["text"], text);
    assert_eq!(
        rec["langs"].as_array().unwrap().iter().collect::<Vec<_>>(),
        langs
    );
    assert_eq!(&rec["lang"], langs.first().copied().unwrap_or(&Value::Null));
    let created = r.get("createdAt").filter(|c| c.is_string());
    assert_eq!(&rec["created_at"], created.unwrap_or(&Value::Null));
    let parent = r.pointer("/reply/parent/uri").filter(|u| u.is_string());
    assert_eq!(&rec["reply_to"], parent.unwrap_or(&Value::Null));
    assert_eq!(
        rec["url"],
        format!("https://bsky.app/profile/{did}/post/{rkey}")
    );
    assert_eq!(rec["source"], "bluesky");
    let tags = rec["tags"].as_array().expect("tags are an array");
    let unique: HashSet<&Value> = tags.iter().collect();
    assert_eq!(unique.len(), tags.len(), "each tag once: {tags:?}");
    assert!(
        tags.iter()
            .all(|t| t.is_string() && r.to_string().contains(&t.to_string()))
    );
}

fn check_position(text: &str, window_us: u64, posts: usize) {
    let Ok(p) = Position::parse(text) else {
        return;
    };
    let t = p.time_us.expect("a parsed position has a time");
    let rendered = p.render().expect("a position with a time renders");
    assert_eq!(Position::parse(&rendered).as_ref(), Ok(&p), "{rendered}");
    let uris: Vec<String> = (0..posts).map(|i| format!("at://did:x/p/{i}")).collect();
    let times: Vec<u64> = (0..posts as u64)
        .map(|i| t.saturating_add(i * 400_000).saturating_sub(1_000_000))
        .collect();
    let q = p.after(
        uris.iter().map(String::as_str).zip(times.iter().copied()),
        window_us,
    );
    let newest = q.time_us.expect("a time");
    assert!(newest >= t && times.iter().all(|&at| newest >= at));
    assert!(q.delivered.len() <= MAX_WINDOW_POSTS);
    let oldest = newest.saturating_sub(window_us);
    assert!(q.delivered.values().all(|&at| at >= oldest && at <= newest));
    if q.delivered.len() < MAX_WINDOW_POSTS {
        for (uri, &at) in uris.iter().zip(&times) {
            assert_eq!(
                q.has(uri),
                at >= oldest,
                "{uri} at {at}, window from {oldest}"
            );
        }
    }
    let again = Position::parse(&q.render().unwrap()).expect("a rendered position parses");
    assert_eq!(again, q);
}

/// Deserialises any JSON and says whether no object in it names a key twice.
struct NoDuplicates(bool);

impl<'de> Deserialize<'de> for NoDuplicates {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Walk)
    }
}

struct Walk;

impl<'de> Visitor<'de> for Walk {
    type Value = NoDuplicates;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates(true))
    }
    fn visit_i64<E>(self, _: i64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates(true))
    }
    fn visit_u64<E>(self, _: u64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates(true))
    }
    fn visit_f64<E>(self, _: f64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates(true))
    }
    fn visit_str<E>(self, _: &str) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates(true))
    }
    fn visit_unit<E>(self) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates(true))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NoDuplicates, A::Error> {
        let mut ok = true;
        while let Some(NoDuplicates(x)) = seq.next_element()? {
            ok &= x;
        }
        Ok(NoDuplicates(ok))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NoDuplicates, A::Error> {
        let (mut ok, mut keys) = (true, HashSet::new());
        while let Some(k) = map.next_key::<String>()? {
            ok &= keys.insert(k);
            let NoDuplicates(x) = map.next_value()?;
            ok &= x;
        }
        Ok(NoDuplicates(ok))
    }
}
