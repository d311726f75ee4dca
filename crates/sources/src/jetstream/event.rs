//! One Jetstream frame read: what kind of event it is, and for a new post the flat record the
//! pipeline stores. Pure (bytes in, a decision out), so it is tested and fuzzed alone.
//!
//! The shapes are Jetstream's (`github.com/bluesky-social/jetstream`, README and
//! `pkg/models`): `{did, time_us, kind, commit?: {rev, operation, collection, rkey, record?,
//! cid?}}`; `identity` and `account` events carry no commit. A post record is the
//! `app.bsky.feed.post` lexicon: `text`, `createdAt`, `langs?`, `reply?.parent.uri`, `tags?`,
//! `facets?[].features[]` (`app.bsky.richtext.facet#tag` has `tag`).
//!
//! With deletions forwarded ([`Forward::Deletions`], the default), what its author changes is
//! a record too: an `update` is the post again with `"op":"update"` (re-scored, it supersedes
//! the earlier versions), a `delete` is a deletion record, an `account` event an account record
//! (Bluesky's Developer Guidelines: every service must be able to delete what a user asked to
//! be deleted). Their shapes are in the README ("Deletions").

use serde::Deserialize;
use serde_json::{Value, json};

/// The facet feature type that carries a hashtag.
const TAG_FEATURE: &str = "app.bsky.richtext.facet#tag";

#[derive(Debug, Deserialize)]
struct Frame {
    did: String,
    time_us: u64,
    kind: String,
    #[serde(default)]
    commit: Option<Commit>,
    #[serde(default)]
    account: Option<Account>,
}

/// An `account` event's body: `{active, did, seq, status?, time}`.
#[derive(Debug, Deserialize)]
struct Account {
    #[serde(default = "active_by_default")]
    active: bool,
    #[serde(default)]
    status: Option<String>,
}

/// An account event without `active` says nothing taken away.
fn active_by_default() -> bool {
    true
}

#[derive(Debug, Deserialize)]
struct Commit {
    #[serde(default)]
    operation: String,
    #[serde(default)]
    collection: String,
    #[serde(default)]
    rkey: String,
    #[serde(default)]
    cid: Option<String>,
    #[serde(default)]
    record: Option<Value>,
}

/// A record to put, as the stream gets it: a new post, or (forwarding deletions) an edit, a
/// deletion or an account's change.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    /// `at://<did>/<collection>/<rkey>` of the post, or `at://<did>` for an account record.
    pub uri: String,
    /// The post's version; empty for deletion and account records.
    pub cid: String,
    pub time_us: u64,
    /// What a replay of the same event is recognised by: the URI for a new post, the URI and
    /// version for an edit, `delete:<uri>` and `account:<did>@<time_us>` for the others.
    pub key: String,
    /// The record's JSON (see [`post_record`], [`deletion_record`], [`account_record`]).
    pub data: Vec<u8>,
}

/// Which of an author's events become records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Forward {
    /// New posts only; edits, deletions and account events are skipped (counted).
    PostsOnly,
    /// New posts, edits, deletions and account events (`JETSTREAM_DELETIONS=true`).
    #[default]
    Deletions,
}

/// What a frame is.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A record to put: a `create` in a wanted collection, or, forwarding deletions, an
    /// `update` or `delete` there or an `account` event.
    Post(Post),
    /// Read and counted, never sent: the kind (`update`, `delete`, `identity`, `account`,
    /// `other_collection`, `other`) and its `time_us`, which still tells how far the stream is.
    Skipped(&'static str, u64),
}

/// Why a frame could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("not a Jetstream event: {0}")]
    Garbage(String),
}

/// Reads one text frame, new posts only (see [`read_event`]).
pub fn read_frame(text: &str, wanted: &[String]) -> Result<Event, FrameError> {
    read_event(text, wanted, Forward::PostsOnly)
}

/// Reads one text frame. `wanted` are the collections asked for (an entry ending in `.*` is a
/// prefix, as `wantedCollections` allows); the server filters too, this only guards.
pub fn read_event(text: &str, wanted: &[String], forward: Forward) -> Result<Event, FrameError> {
    // serde's derived structs also read a JSON array positionally; an event is an object.
    if !text
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
    {
        return Err(FrameError::Garbage("not a JSON object".into()));
    }
    let frame: Frame =
        serde_json::from_str(text).map_err(|e| FrameError::Garbage(e.to_string()))?;
    let t = frame.time_us;
    let deletions = forward == Forward::Deletions;
    let commit = match (frame.kind.as_str(), frame.commit) {
        ("commit", Some(c)) => c,
        ("identity", _) => return Ok(Event::Skipped("identity", t)),
        ("account", _) if deletions => return read_account(&frame.did, t, frame.account),
        ("account", _) => return Ok(Event::Skipped("account", t)),
        _ => return Ok(Event::Skipped("other", t)),
    };
    let op = match commit.operation.as_str() {
        "create" => Op::Create,
        "update" if deletions => Op::Update,
        "delete" if deletions => Op::Delete,
        "update" => return Ok(Event::Skipped("update", t)),
        "delete" => return Ok(Event::Skipped("delete", t)),
        _ => return Ok(Event::Skipped("other", t)),
    };
    if !wanted
        .iter()
        .any(|w| collection_matches(w, &commit.collection))
    {
        return Ok(Event::Skipped("other_collection", t));
    }
    if frame.did.is_empty() || commit.rkey.is_empty() {
        return Err(FrameError::Garbage(format!(
            "{} without its did or rkey",
            op.as_str()
        )));
    }
    let uri = format!("at://{}/{}/{}", frame.did, commit.collection, commit.rkey);
    if op == Op::Delete {
        let data = deletion_record(&frame.did, &commit.collection, &commit.rkey, t, &uri);
        let key = format!("delete:{uri}");
        return Ok(Event::Post(Post {
            uri,
            cid: String::new(),
            time_us: t,
            key,
            data,
        }));
    }
    read_version(&frame.did, commit, t, uri, op)
}

/// What a commit does to a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Update,
    Delete,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Create => "a create",
            Op::Update => "an update",
            Op::Delete => "a delete",
        }
    }
}

/// A create or an update: the post's (new) version as the flat record.
fn read_version(
    did: &str,
    commit: Commit,
    t: u64,
    uri: String,
    op: Op,
) -> Result<Event, FrameError> {
    let (Some(record), Some(cid)) = (commit.record, commit.cid) else {
        return Err(FrameError::Garbage(format!(
            "{} without its record or cid",
            op.as_str()
        )));
    };
    let mut data = post_record(did, &commit.rkey, &cid, t, &uri, &record);
    let key = if op == Op::Update {
        // The edit says what it is, last, so every create keeps its documented fields.
        data.truncate(data.len() - 1);
        data.extend_from_slice(br#","op":"update"}"#);
        format!("{uri}#{cid}")
    } else {
        uri.clone()
    };
    Ok(Event::Post(Post {
        uri,
        cid,
        time_us: t,
        key,
        data,
    }))
}

/// An account event as an account record; `active: false` with a `status` says why.
fn read_account(did: &str, t: u64, account: Option<Account>) -> Result<Event, FrameError> {
    let Some(account) = account.filter(|_| !did.is_empty()) else {
        return Err(FrameError::Garbage(
            "an account event without its did or account".into(),
        ));
    };
    let data = json!({
        "op": "account",
        "did": did,
        "active": account.active,
        "status": account.status,
        "time_us": t,
        "source": "bluesky",
    })
    .to_string()
    .into_bytes();
    Ok(Event::Post(Post {
        uri: format!("at://{did}"),
        cid: String::new(),
        time_us: t,
        key: format!("account:{did}@{t}"),
        data,
    }))
}

/// A deletion record: which post its author deleted, and when.
fn deletion_record(did: &str, collection: &str, rkey: &str, time_us: u64, uri: &str) -> Vec<u8> {
    json!({
        "op": "delete",
        "id": uri,
        "did": did,
        "rkey": rkey,
        "collection": collection,
        "time_us": time_us,
        "source": "bluesky",
    })
    .to_string()
    .into_bytes()
}

fn collection_matches(wanted: &str, collection: &str) -> bool {
    match wanted.strip_suffix('*') {
        Some(prefix) => collection.starts_with(prefix),
        None => wanted == collection,
    }
}

/// The fields of a post's flat record ([`post_record`]), sorted: the README's list, which the
/// tests and the fuzz check hold every record to.
pub const POST_FIELDS: [&str; 13] = [
    "cid",
    "created_at",
    "did",
    "id",
    "lang",
    "langs",
    "reply_to",
    "rkey",
    "source",
    "tags",
    "text",
    "time_us",
    "url",
];

/// The flat record: what the transform and the Glue table read like any other source's.
fn post_record(did: &str, rkey: &str, cid: &str, time_us: u64, uri: &str, r: &Value) -> Vec<u8> {
    let text = r.get("text").and_then(Value::as_str).unwrap_or_default();
    let langs: Vec<&str> = r
        .get("langs")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let reply_to = r.pointer("/reply/parent/uri").and_then(Value::as_str);
    json!({
        "id": uri,
        "did": did,
        "rkey": rkey,
        "cid": cid,
        "time_us": time_us,
        "created_at": r.get("createdAt").and_then(Value::as_str),
        "text": text,
        "lang": langs.first(),
        "langs": langs,
        "reply_to": reply_to,
        "tags": tags(r),
        "url": format!("https://bsky.app/profile/{did}/post/{rkey}"),
        "source": "bluesky",
    })
    .to_string()
    .into_bytes()
}

/// The post's own `tags` and its tag facets' tags, each once, in order.
fn tags(r: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let own = r
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let facets = r
        .get("facets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.get("features").and_then(Value::as_array))
        .flatten()
        .filter(|f| f.get("$type").and_then(Value::as_str) == Some(TAG_FEATURE))
        .filter_map(|f| f.get("tag"));
    for tag in own.chain(facets).filter_map(Value::as_str) {
        if !out.iter().any(|t| t == tag) {
            out.push(tag.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted() -> Vec<String> {
        vec!["app.bsky.feed.post".to_owned()]
    }

    const POST: &str = r#"{"did":"did:plc:abc","time_us":1725911162329308,"kind":"commit",
      "commit":{"rev":"3l3qo2vutsw2b","operation":"create","collection":"app.bsky.feed.post",
      "rkey":"3l3qo2vuowo2b","cid":"bafyreib",
      "record":{"$type":"app.bsky.feed.post","createdAt":"2024-09-09T19:46:02.102Z",
        "langs":["en","de"],"text":"so good #rustlang","tags":["jetstream"],
        "reply":{"parent":{"uri":"at://did:plc:x/app.bsky.feed.post/1","cid":"c"},"root":{"uri":"at://r","cid":"c"}},
        "facets":[{"features":[{"$type":"app.bsky.richtext.facet#tag","tag":"rustlang"},
                               {"$type":"app.bsky.richtext.facet#link","uri":"https://x"}],
                   "index":{"byteStart":8,"byteEnd":17}}]}}}"#;

    #[test]
    fn a_created_post_becomes_one_flat_record() {
        // GIVEN a create event as Jetstream sends it WHEN read
        let Event::Post(p) = read_frame(POST, &wanted()).unwrap() else {
            panic!("a post")
        };
        // THEN the record holds the documented fields
        let v: Value = serde_json::from_slice(&p.data).unwrap();
        assert_eq!(v["id"], "at://did:plc:abc/app.bsky.feed.post/3l3qo2vuowo2b");
        assert_eq!(p.uri, v["id"]);
        assert_eq!(v["lang"], "en");
        assert_eq!(v["langs"], json!(["en", "de"]));
        assert_eq!(v["reply_to"], "at://did:plc:x/app.bsky.feed.post/1");
        assert_eq!(v["tags"], json!(["jetstream", "rustlang"]));
        assert_eq!(
            v["url"],
            "https://bsky.app/profile/did:plc:abc/post/3l3qo2vuowo2b"
        );
        assert_eq!(v["source"], "bluesky");
        assert_eq!(v["time_us"], 1725911162329308u64);
        assert_eq!(v["created_at"], "2024-09-09T19:46:02.102Z");
    }

    #[test]
    fn other_events_are_skipped_by_kind_and_garbage_is_an_error() {
        let w = wanted();
        let skipped = |s: &str| match read_frame(s, &w) {
            Ok(Event::Skipped(kind, _)) => kind,
            other => panic!("{other:?}"),
        };
        assert_eq!(skipped(&POST.replace("\"create\"", "\"update\"")), "update");
        assert_eq!(
            skipped(
                r#"{"did":"d","time_us":1,"kind":"commit","commit":{"rev":"r","operation":"delete","collection":"app.bsky.feed.post","rkey":"k"}}"#
            ),
            "delete"
        );
        assert_eq!(
            skipped(
                r#"{"did":"d","time_us":1,"kind":"identity","identity":{"did":"d","handle":"h","seq":1,"time":"t"}}"#
            ),
            "identity"
        );
        assert_eq!(
            skipped(
                r#"{"did":"d","time_us":1,"kind":"account","account":{"active":true,"did":"d","seq":2,"time":"t"}}"#
            ),
            "account"
        );
        assert_eq!(
            skipped(&POST.replace(
                "app.bsky.feed.post\",\n      \"rkey",
                "app.bsky.feed.like\",\n      \"rkey"
            )),
            "other_collection"
        );
        for bad in [
            "",
            "{",
            "[]",
            r#"["d",1,"commit"]"#,
            r#"{"did":"d","kind":"commit"}"#,
            "\u{0}",
        ] {
            assert!(read_frame(bad, &w).is_err(), "{bad:?}");
        }
        let no_record = POST.replace("\"record\":", "\"x\":");
        assert!(read_frame(&no_record, &w).is_err());
    }

    #[test]
    fn wanted_collections_accept_prefixes() {
        assert!(collection_matches("app.bsky.feed.*", "app.bsky.feed.post"));
        assert!(!collection_matches(
            "app.bsky.graph.*",
            "app.bsky.feed.post"
        ));
        assert!(collection_matches(
            "app.bsky.feed.post",
            "app.bsky.feed.post"
        ));
    }

    fn forwarded(text: &str) -> Post {
        match read_event(text, &wanted(), Forward::Deletions) {
            Ok(Event::Post(p)) => p,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn forwarding_deletions_an_edit_is_the_post_again_marked_update() {
        // GIVEN an update of a post WHEN read with deletions forwarded
        let p = forwarded(&POST.replace("\"create\"", "\"update\""));
        let v: Value = serde_json::from_slice(&p.data).unwrap();
        // THEN it is the post's flat record with "op":"update" last, keyed by its version
        assert_eq!(v["op"], "update");
        assert_eq!(v["id"], "at://did:plc:abc/app.bsky.feed.post/3l3qo2vuowo2b");
        assert_eq!(v["text"], "so good #rustlang");
        assert!(p.data.ends_with(br#","op":"update"}"#));
        assert_eq!(p.key, format!("{}#bafyreib", p.uri));
        // AND the same update read without forwarding is skipped, as before
        let skipped = read_frame(&POST.replace("\"create\"", "\"update\""), &wanted());
        assert!(matches!(skipped, Ok(Event::Skipped("update", _))));
    }

    #[test]
    fn forwarding_deletions_a_delete_names_the_post_and_when() {
        // GIVEN a delete as Jetstream sends it: no record, no cid
        let text = r#"{"did":"did:plc:abc","time_us":1725911162999999,"kind":"commit","commit":{"rev":"r","operation":"delete","collection":"app.bsky.feed.post","rkey":"3l3qo2vuowo2b"}}"#;
        // WHEN read
        let p = forwarded(text);
        let v: Value = serde_json::from_slice(&p.data).unwrap();
        // THEN the deletion record says which post and when, and nothing else
        assert_eq!(
            v,
            json!({"op":"delete","id":"at://did:plc:abc/app.bsky.feed.post/3l3qo2vuowo2b",
                   "did":"did:plc:abc","rkey":"3l3qo2vuowo2b","collection":"app.bsky.feed.post",
                   "time_us":1725911162999999u64,"source":"bluesky"})
        );
        assert_eq!(p.key, format!("delete:{}", p.uri));
        // AND a delete in another collection is not forwarded
        let other = text.replace("app.bsky.feed.post", "app.bsky.feed.like");
        assert!(matches!(
            read_event(&other, &wanted(), Forward::Deletions),
            Ok(Event::Skipped("other_collection", _))
        ));
    }

    #[test]
    fn forwarding_deletions_an_account_event_is_an_account_record() {
        // GIVEN a deleted account's event WHEN read
        let text = r#"{"did":"did:plc:gone","time_us":7,"kind":"account","account":{"active":false,"did":"did:plc:gone","seq":9,"status":"deleted","time":"2024-09-09T19:46:02.102Z"}}"#;
        let p = forwarded(text);
        let v: Value = serde_json::from_slice(&p.data).unwrap();
        // THEN the record says who, whether active, why and when
        assert_eq!(
            v,
            json!({"op":"account","did":"did:plc:gone","active":false,"status":"deleted",
                   "time_us":7,"source":"bluesky"})
        );
        assert_eq!(p.key, "account:did:plc:gone@7");
        // AND a reactivation is forwarded too (active, no status), so the view can show it again
        let back = forwarded(
            r#"{"did":"did:plc:gone","time_us":8,"kind":"account","account":{"active":true,"did":"did:plc:gone","seq":10,"time":"t"}}"#,
        );
        let v: Value = serde_json::from_slice(&back.data).unwrap();
        assert_eq!(
            (v["active"].clone(), v["status"].clone()),
            (json!(true), Value::Null)
        );
        // AND an account event without its body is garbage, not a guess
        assert!(
            read_event(
                r#"{"did":"d","time_us":1,"kind":"account"}"#,
                &wanted(),
                Forward::Deletions
            )
            .is_err()
        );
    }
}
