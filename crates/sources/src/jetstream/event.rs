//! One Jetstream frame read: what kind of event it is, and for a new post the flat record the
//! pipeline stores. Pure (bytes in, a decision out), so it is tested and fuzzed alone.
//!
//! The shapes are Jetstream's (`github.com/bluesky-social/jetstream`, README and
//! `pkg/models`): `{did, time_us, kind, commit?: {rev, operation, collection, rkey, record?,
//! cid?}}`; `identity` and `account` events carry no commit. A post record is the
//! `app.bsky.feed.post` lexicon: `text`, `createdAt`, `langs?`, `reply?.parent.uri`, `tags?`,
//! `facets?[].features[]` (`app.bsky.richtext.facet#tag` has `tag`).

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

/// A new post, as the stream gets it.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    /// `at://<did>/<collection>/<rkey>`: the post's identity.
    pub uri: String,
    pub cid: String,
    pub time_us: u64,
    /// The record's JSON (see [`post_record`]).
    pub data: Vec<u8>,
}

/// What a frame is.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A `create` in a wanted collection: a record to put.
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

/// Reads one text frame. `wanted` are the collections asked for (an entry ending in `.*` is a
/// prefix, as `wantedCollections` allows); the server filters too, this only guards.
pub fn read_frame(text: &str, wanted: &[String]) -> Result<Event, FrameError> {
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
    let commit = match (frame.kind.as_str(), frame.commit) {
        ("commit", Some(c)) => c,
        ("identity", _) => return Ok(Event::Skipped("identity", t)),
        ("account", _) => return Ok(Event::Skipped("account", t)),
        _ => return Ok(Event::Skipped("other", t)),
    };
    match commit.operation.as_str() {
        "create" => {}
        "update" => return Ok(Event::Skipped("update", t)),
        "delete" => return Ok(Event::Skipped("delete", t)),
        _ => return Ok(Event::Skipped("other", t)),
    }
    if !wanted
        .iter()
        .any(|w| collection_matches(w, &commit.collection))
    {
        return Ok(Event::Skipped("other_collection", t));
    }
    let (Some(record), Some(cid)) = (commit.record, commit.cid) else {
        return Err(FrameError::Garbage(
            "a create without its record or cid".into(),
        ));
    };
    if frame.did.is_empty() || commit.rkey.is_empty() {
        return Err(FrameError::Garbage(
            "a create without its did or rkey".into(),
        ));
    }
    let uri = format!("at://{}/{}/{}", frame.did, commit.collection, commit.rkey);
    let data = post_record(&frame.did, &commit.rkey, &cid, t, &uri, &record);
    Ok(Event::Post(Post {
        uri,
        cid,
        time_us: t,
        data,
    }))
}

fn collection_matches(wanted: &str, collection: &str) -> bool {
    match wanted.strip_suffix('*') {
        Some(prefix) => collection.starts_with(prefix),
        None => wanted == collection,
    }
}

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
}
