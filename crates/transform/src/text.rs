//! Finding the text (and its language) in a record, and cutting it to size.

use std::borrow::Cow;

use crate::json::ObjectRef;
use crate::limits::COMPREHEND_SENTIMENT_LANGUAGES;

/// A JSON pointer (RFC 6901) split into its first token, which names a top-level member,
/// and the rest, which is evaluated inside that member only when needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    spec: String,
    first: String,
    rest: String,
}

/// Why a pointer setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a JSON pointer: {1}")]
pub struct PointerError(pub String, pub &'static str);

impl Pointer {
    pub fn parse(spec: &str) -> Result<Self, PointerError> {
        let err = |why| PointerError(spec.to_owned(), why);
        ks_kernel::env::check_pointer(spec).map_err(err)?;
        let body = &spec[1..];
        let (first, rest) = match body.find('/') {
            Some(i) => (&body[..i], &body[i..]),
            None => (body, ""),
        };
        Ok(Pointer {
            spec: spec.to_owned(),
            first: first.replace("~1", "/").replace("~0", "~"),
            rest: rest.to_owned(),
        })
    }

    /// A comma-separated list of pointers, tried in order.
    pub fn parse_list(spec: &str) -> Result<Vec<Self>, PointerError> {
        let list: Vec<Self> = spec
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Pointer::parse)
            .collect::<Result<_, _>>()?;
        if list.is_empty() {
            return Err(PointerError(spec.to_owned(), "the list is empty"));
        }
        Ok(list)
    }

    pub fn as_str(&self) -> &str {
        &self.spec
    }

    /// The string this pointer selects in `obj`, if it selects a string.
    pub fn find_str<'s>(&self, src: &'s str, obj: ObjectRef<'_>) -> Option<Cow<'s, str>> {
        let raw = obj.get(src, &self.first)?;
        if self.rest.is_empty() {
            // The common case (`/text`): decode just the one string, and only if it has
            // escapes; otherwise it is borrowed as it stands.
            let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
            if !inner.contains('\\') {
                return Some(Cow::Borrowed(inner));
            }
            return serde_json::from_str::<String>(raw).ok().map(Cow::Owned);
        }
        let value: serde_json::Value = serde_json::from_str(raw).ok()?;
        value
            .pointer(&self.rest)?
            .as_str()
            .map(|s| Cow::Owned(s.to_owned()))
    }
}

/// The first non-blank string selected by `pointers`, in order.
pub fn find_text<'s>(
    src: &'s str,
    obj: ObjectRef<'_>,
    pointers: &[Pointer],
) -> Option<Cow<'s, str>> {
    pointers
        .iter()
        .filter_map(|p| p.find_str(src, obj))
        .find(|s| !s.trim().is_empty())
}

/// The longest prefix of `s` that is at most `max_bytes` long and ends on a character boundary.
/// `s` cut to at most `max_chars` characters (Unicode scalar values, as Comprehend counts them
/// for billing), on a character boundary.
pub fn truncate_chars(s: &str, max_chars: usize) -> &str {
    if s.len() <= max_chars {
        return s;
    }
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

pub fn truncate_utf8(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Languages an offline analyser reads that Comprehend's sentiment API does not.
pub const OTHER_LANGUAGES: [&str; 1] = ["nl"];

/// Maps a language tag as sources write it (`en`, `EN-gb`, `pt_BR`, `zh-Hant`, `zh-cn`) to the
/// code Comprehend's sentiment API expects (or, for [`OTHER_LANGUAGES`], its ISO 639-1 code),
/// or `None` when no backend can do the language.
pub fn normalize_language(tag: &str) -> Option<&'static str> {
    let known = || {
        COMPREHEND_SENTIMENT_LANGUAGES
            .iter()
            .chain(&OTHER_LANGUAGES)
    };
    // Most records carry the code exactly as it is wanted.
    if let Some(code) = known().find(|c| **c == tag) {
        return Some(code);
    }
    let tag = tag.trim().replace('_', "-").to_ascii_lowercase();
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    if primary == "zh" {
        let traditional = parts.any(|p| matches!(p, "tw" | "hant" | "hk" | "mo"));
        return Some(if traditional { "zh-TW" } else { "zh" });
    }
    known().copied().find(|code| *code == primary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(src: &str, spec: &str) -> Option<String> {
        let obj = crate::json::Object::parse(src).unwrap();
        find_text(src, obj.as_ref(), &Pointer::parse_list(spec).unwrap()).map(Cow::into_owned)
    }

    #[test]
    fn finds_text_by_the_first_pointer_that_gives_a_non_blank_string() {
        let src =
            r#"{"text":"short","extended_tweet":{"full_text":"long \u00e9"},"full_text":"  "}"#;
        assert_eq!(text(src, "/text"), Some("short".into()));
        assert_eq!(
            text(src, "/extended_tweet/full_text,/full_text,/text"),
            Some("long é".into())
        );
        // Blank strings are skipped in favour of the next pointer.
        assert_eq!(text(src, "/full_text,/text"), Some("short".into()));
    }

    #[test]
    fn missing_non_string_and_blank_texts_give_none() {
        assert_eq!(text(r#"{"a":1}"#, "/text"), None);
        assert_eq!(text(r#"{"text":12}"#, "/text"), None);
        assert_eq!(text(r#"{"text":null}"#, "/text"), None);
        assert_eq!(text(r#"{"text":" \n "}"#, "/text"), None);
        assert_eq!(text(r#"{"a":{"b":[1]}}"#, "/a/b/0"), None);
        assert_eq!(text(r#"{"a":{"b":["x"]}}"#, "/a/b/0"), Some("x".into()));
    }

    #[test]
    fn pointer_tokens_are_unescaped() {
        assert_eq!(text(r#"{"a/b":"x","m~n":"y"}"#, "/a~1b"), Some("x".into()));
        assert_eq!(text(r#"{"a/b":"x","m~n":"y"}"#, "/m~0n"), Some("y".into()));
    }

    #[test]
    fn bad_pointer_settings_are_refused_with_a_reason() {
        assert!(Pointer::parse("text").is_err());
        assert!(Pointer::parse("/a~2").is_err());
        assert!(Pointer::parse_list(" , ").is_err());
        assert_eq!(Pointer::parse_list("/a, /b").unwrap().len(), 2);
    }

    #[test]
    fn truncation_never_splits_a_character() {
        assert_eq!(truncate_utf8("héllo", 2), "h");
        assert_eq!(truncate_utf8("héllo", 3), "hé");
        assert_eq!(truncate_utf8("😀😀", 5), "😀");
        assert_eq!(truncate_utf8("abc", 10), "abc");
        assert_eq!(truncate_utf8("abc", 0), "");
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("😀😀😀", 2), "😀😀");
        assert_eq!(truncate_chars("abc", 3), "abc");
        assert_eq!(truncate_chars("abc", 0), "");
    }

    #[test]
    fn languages_are_mapped_to_comprehend_codes() {
        assert_eq!(normalize_language("en"), Some("en"));
        assert_eq!(normalize_language("EN-gb"), Some("en"));
        assert_eq!(normalize_language("pt_BR"), Some("pt"));
        assert_eq!(normalize_language("zh-Hant"), Some("zh-TW"));
        assert_eq!(normalize_language("zh-TW"), Some("zh-TW"));
        assert_eq!(normalize_language("zh-cn"), Some("zh"));
        assert_eq!(normalize_language("und"), None);
        assert_eq!(normalize_language("nl-BE"), Some("nl"));
        assert_eq!(normalize_language("sv"), None);
        assert_eq!(normalize_language(""), None);
    }
}
