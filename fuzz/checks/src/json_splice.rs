//! The transform's one-pass validating scan and byte-exact splice (`ks_transform::json`),
//! differential against serde_json:
//! - the same texts are accepted: what the scan calls invalid serde_json refuses, what it
//!   accepts serde_json accepts, and "too deep" only past 128 levels;
//! - the members are located exactly: their segments rebuild the object's inside, and key →
//!   value (the last duplicate kept) is serde_json's, byte for byte;
//! - the splice's output parses (both ways) to the input plus one member, every other member's
//!   bytes kept in order; an insert leaves every original byte in place.

use ks_transform::json::{Edit, JsonError, ObjectRef};
use ks_transform::limits::MAX_JSON_NESTING_DEPTH;

use crate::util::{
    all_json_ws, bracket_depth, json_string, key_id, serde_accepts, serde_member_list,
    serde_members,
};

/// What every splice here adds: a sentiment field's shape.
const VALUE: &str = r#"{"label":"NEUTRAL","scores":{"positive":0.1,"negative":0,"neutral":0.9,"mixed":0},"model":"fuzz"}"#;

pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut members = Vec::new();
    let parsed = ObjectRef::parse(text, &mut members);
    let serde_ok = serde_accepts(text);
    let starts_as_object = text
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{');
    match &parsed {
        Err(JsonError::Invalid(why)) => {
            assert!(
                !serde_ok,
                "the scan refuses ({why}) what serde_json accepts: {text:?}"
            );
        }
        Err(JsonError::TooDeep { .. }) => assert!(
            bracket_depth(data) > MAX_JSON_NESTING_DEPTH,
            "too deep, yet nested at most {MAX_JSON_NESTING_DEPTH} levels: {text:?}"
        ),
        Err(JsonError::NotAnObject(kind)) => {
            assert!(serde_ok, "a {kind} serde_json refuses: {text:?}");
            assert!(!starts_as_object, "an object called a {kind}: {text:?}");
        }
        Ok(_) => {
            assert!(
                serde_ok,
                "the scan accepts what serde_json refuses: {text:?}"
            );
            assert!(
                starts_as_object,
                "not an object, yet accepted as one: {text:?}"
            );
        }
    }
    let Ok(obj) = parsed else {
        return;
    };
    check_members(text, obj);
    let name = pick_name(text, obj);
    let edit = obj.edit(text, &name);
    let mut out = Vec::new();
    edit.write(text.as_bytes(), &name, VALUE.as_bytes(), &mut out);
    let mut again = Vec::new();
    obj.write_with_member(text, &name, VALUE, &mut again);
    assert_eq!(out, again, "edit().write() and write_with_member() differ");
    let out = std::str::from_utf8(&out).expect("the splice writes UTF-8");
    let value = plus_member(text, out, &name);
    assert_eq!(value, VALUE, "the member's value is not the one added");
    match edit {
        Edit::Insert { at, comma } => {
            let had = obj.members.iter().any(|m| m.key_is(text.as_bytes(), &name));
            assert!(!had, "an insert although {name:?} is already a member");
            assert_eq!(comma, !obj.members.is_empty(), "comma");
            let added = format!(
                "{}{}:{VALUE}",
                if comma { "," } else { "" },
                json_string(&name)
            );
            assert_eq!(
                out,
                format!("{}{added}{}", &text[..at], &text[at..]),
                "an insert changed original bytes"
            );
        }
        Edit::Replace(_) => assert!(
            obj.members.iter().any(|m| m.key_is(text.as_bytes(), &name)),
            "a replace although no member is named {name:?}"
        ),
    }
}

/// The members the scan located, against the text and against serde_json.
fn check_members(text: &str, obj: ObjectRef<'_>) {
    let b = text.as_bytes();
    assert_eq!((b[obj.open], b[obj.close]), (b'{', b'}'), "braces");
    assert!(all_json_ws(&b[..obj.open]) && all_json_ws(&b[obj.close + 1..]));
    let inside = &text[obj.open + 1..obj.close];
    if obj.members.is_empty() {
        assert!(all_json_ws(inside.as_bytes()), "members missed in {text:?}");
    } else {
        let segments: Vec<&str> = obj
            .members
            .iter()
            .map(|m| &text[m.segment_start..m.segment_end])
            .collect();
        assert_eq!(
            segments.join(","),
            inside,
            "segments do not rebuild the object"
        );
    }
    let mut ours = std::collections::BTreeMap::new();
    for m in obj.members {
        let quoted = &text[m.key.start - 1..m.key.end + 1];
        assert!(quoted.starts_with('"') && quoted.ends_with('"') && quoted.len() >= 2);
        assert!(serde_accepts(quoted), "key {quoted:?} is not a JSON string");
        assert_eq!(
            m.key_escaped,
            quoted.contains('\\'),
            "key_escaped of {quoted:?}"
        );
        assert!(all_json_ws(&b[m.segment_start..m.key.start - 1]));
        let colon = &text[m.key.end + 1..m.value.start];
        assert_eq!(
            colon.trim_matches([' ', '\t', '\n', '\r']),
            ":",
            "{colon:?}"
        );
        let value = &text[m.value.clone()];
        assert!(
            serde_accepts(value),
            "value {value:?} is not JSON on its own"
        );
        assert!(!value.starts_with(char::is_whitespace) && !value.ends_with(char::is_whitespace));
        assert!(all_json_ws(&b[m.value.end..m.segment_end]));
        ours.insert(key_id(quoted), value);
    }
    let theirs = serde_members(text).expect("serde_json reads the object");
    assert_eq!(
        ours, theirs,
        "key → value differs from serde_json's: {text:?}"
    );
    for (k, v) in &ours {
        if !k.starts_with('\u{0}') {
            assert_eq!(obj.get(text, k), Some(*v), "get({k:?})");
        }
    }
}

/// The member name to add: usually `sentiment`, sometimes one the object has (a replace), or
/// one that needs escapes.
fn pick_name(text: &str, obj: ObjectRef<'_>) -> String {
    let decoded = |i: usize| {
        obj.members.get(i).and_then(|m| {
            serde_json::from_str::<String>(&text[m.key.start - 1..m.key.end + 1]).ok()
        })
    };
    let last = obj.members.len().saturating_sub(1);
    match text.len() % 5 {
        2 => decoded(0),
        3 => decoded(last),
        4 => Some("s\"é\n\u{1}".to_owned()),
        _ => None,
    }
    .unwrap_or_else(|| "sentiment".to_owned())
}

/// Checks that `after` is `before` (a valid object) plus the member `name`, last, and returns
/// that member's raw value: both parsers read it so, exactly one member has the name, and every
/// other member's key and value bytes are as they were, in order.
pub fn plus_member<'a>(before: &str, after: &'a str, name: &str) -> &'a str {
    let mut members = Vec::new();
    let obj = ObjectRef::parse(after, &mut members)
        .unwrap_or_else(|e| panic!("the spliced text does not scan ({e}): {after:?}"));
    assert!(
        serde_accepts(after),
        "serde_json refuses the spliced text: {after:?}"
    );
    let last = obj.members.last().expect("the spliced object has a member");
    assert!(
        last.key_is(after.as_bytes(), name),
        "the last member is not {name:?}"
    );
    let named = obj
        .members
        .iter()
        .filter(|m| m.key_is(after.as_bytes(), name))
        .count();
    assert_eq!(named, 1, "{named} members named {name:?} in {after:?}");
    let value = &after[last.value.clone()];
    let id = key_id(&json_string(name));
    let mut expected = serde_members(before).expect("the input is an object");
    expected.insert(id.clone(), value);
    assert_eq!(
        serde_members(after).expect("the output is an object"),
        expected,
        "not the input plus one member: {before:?} → {after:?}"
    );
    assert_eq!(
        others(before, &id),
        others(after, &id),
        "other members changed: {before:?} → {after:?}"
    );
    value
}

/// Every member but those with key `id`, in order.
fn others<'t>(text: &'t str, id: &str) -> Vec<(String, &'t str)> {
    let mut list = serde_member_list(text).expect("an object");
    list.retain(|(k, _)| k != id);
    list
}
