//! The HTTP header values the sources read: `Link` (RFC 8288, `link_with_rel`), `Retry-After`
//! (RFC 9110, `parse_retry_after`) and the URL redaction every log line uses (`redact`). On any
//! text: no panic; a URL found is a target of the header; delay-seconds read as themselves (up
//! to the cap); a redacted URL keeps no userinfo. Built from the input: a header whose entry has
//! the relation (among others, inside `rel="a b"`, any case) yields that entry's URL, whatever
//! RFC 3986 characters it holds.
//!
//! The input: a URL, a `\n`, a relation, a `\n`, then text used as junk entries and as a header
//! value of its own.

use std::time::Duration;

use ks_sources::http::fetch::MAX_RETRY_AFTER;
use ks_sources::http::{link_with_rel, parse_retry_after, redact};

use crate::util::Input;

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let url = String::from_utf8_lossy(input.until(b'\n')).into_owned();
    let rel = String::from_utf8_lossy(input.until(b'\n')).into_owned();
    let rest = String::from_utf8_lossy(input.rest()).into_owned();

    // Any text as a header value.
    for text in [&url, &rel, &rest] {
        for r in ["next", "prev", rel.as_str()] {
            if let Some(found) = link_with_rel(text, r) {
                assert!(
                    text.contains(&format!("<{found}>")),
                    "{found:?} is no target of {text:?}"
                );
            }
        }
        let wait = parse_retry_after(text);
        // delay-seconds is 1*DIGIT (RFC 9110 §10.2.3): Rust's parse also takes a leading `+`.
        let digits = !text.trim().is_empty() && text.trim().bytes().all(|b| b.is_ascii_digit());
        if let Some(secs) = digits.then(|| text.trim().parse::<u64>().ok()).flatten() {
            assert_eq!(
                wait,
                Ok(Duration::from_secs(secs).min(MAX_RETRY_AFTER)),
                "{text:?}"
            );
        }
        if let Ok(w) = wait {
            assert!(w <= MAX_RETRY_AFTER, "a wait of {w:?} over the cap");
        }
        // Userinfo (a password, a token) never reaches a log line.
        let shown = redact(text);
        let head = text.split('#').next().unwrap_or_default();
        let head = head.split('?').next().unwrap_or_default();
        if let Some(i) = head.find("://") {
            let authority = head[i + 3..].split('/').next().unwrap_or_default();
            if authority.contains('@') {
                let scheme = &head[..i + 3];
                assert!(
                    shown.starts_with(&format!("{scheme}***@")),
                    "{text:?} shown as {shown:?}"
                );
            }
        }
    }

    // A header built around one entry: a URI reference (RFC 3986 characters only, as a server
    // writes one) and a relation token (RFC 8288 `reg-rel-type`).
    let uri: String = url
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(*c))
        .collect();
    let rel: String = rel
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-".contains(*c))
        .collect();
    // `other` is the junk entries' relation.
    if rel == "other" || !rel.starts_with(|c: char| c.is_ascii_lowercase()) {
        return;
    }
    let junk: String = rest
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || " <>/:.".contains(*c))
        .take(64)
        .collect();
    let header = format!(
        "<https://other.example/{junk}>; rel=\"other\", <{uri}>; rel=\"x-first {}\"; title=\"t\", <https://other.example/2>; rel=\"{rel}-not\"",
        rel.to_ascii_uppercase()
    );
    assert_eq!(
        link_with_rel(&header, &rel).as_deref(),
        Some(uri.as_str()),
        "the {rel:?} entry of {header:?}"
    );
}
