//! A Mastodon timeline page as the source reads it (`MastodonSource::read`, after the
//! fetcher's serde_json read of the body) with its `Link` header: a page that is not an array
//! is an error; otherwise each status is a record (an object with a usable id: the status
//! itself plus a plain-text `text`, in order) or a rejected item, never both and never a
//! panic; the next page is the `prev` link resolved against the page's URL, an http(s) URL.
//!
//! The input: the `Link` header's value, a `\n`, then the body.

use std::sync::OnceLock;

use ks_sources::http::html;
use ks_sources::http::mastodon::MastodonSource;
use ks_sources::http::{Fetcher, Page, link_with_rel};
use ks_sources::http::FetchSettings;
use reqwest::Url;
use serde_json::Value;

use crate::util::{Input, same_json};

const PAGE_URL: &str = "https://mastodon.example/api/v1/timelines/public?limit=40&min_id=7";

fn source() -> &'static MastodonSource {
    static SOURCE: OnceLock<MastodonSource> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let fetcher = Fetcher::new("mastodon", FetchSettings::default(), None).expect("a client");
        MastodonSource::new(fetcher, "https://mastodon.example", 40).expect("a source")
    })
}

/// A status's id as the source takes it: a non-empty string, or a number.
fn id_of(status: &Value) -> Option<String> {
    match status.get("id") {
        Some(Value::String(id)) if !id.is_empty() => Some(id.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let link = std::str::from_utf8(input.until(b'\n'))
        .ok()
        .map(str::to_owned);
    let Ok(body) = serde_json::from_slice::<Value>(input.rest()) else {
        return;
    };
    let url = Url::parse(PAGE_URL).expect("a URL");
    let prev = link.as_deref().and_then(|l| link_with_rel(l, "prev"));
    if let (Some(l), Some(target)) = (&link, &prev) {
        assert!(
            l.contains(&format!("<{target}>")),
            "{target:?} is no target of {l:?}"
        );
    }
    let page = Page {
        body: body.clone(),
        link,
        url: url.clone(),
    };
    let result = source().read(page, 1);
    let Value::Array(statuses) = &body else {
        assert!(
            result.is_err(),
            "a page that is not an array read as statuses"
        );
        return;
    };
    // The next page: the `prev` target resolved, if it is an http(s) URL; an error otherwise.
    let next = prev.as_deref().map(|t| {
        url.join(t)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
    });
    let read = match (result, next) {
        (Err(_), Some(None)) => return,
        (Ok(read), next) => {
            assert_eq!(
                read.next,
                next.flatten(),
                "the next page is not the resolved `prev` link"
            );
            read
        }
        (Err(e), next) => panic!("a page of an array refused ({e}), next {next:?}"),
    };
    let has_id = |s: &Value| s.is_object() && id_of(s).is_some();
    let good = crate::util::records_of(&read, statuses, has_id, "status");
    for (status, record) in good.iter().zip(&read.records) {
        assert_eq!(Some(&record.id), id_of(status).as_ref(), "the record's id");
        let mut out: Value = serde_json::from_slice(&record.data).expect("a record is JSON");
        let Some(Value::String(text)) = out.as_object_mut().and_then(|o| o.remove("text")) else {
            panic!("no text string in {out}");
        };
        let content = status
            .get("content")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .or_else(|| {
                status
                    .get("reblog")
                    .and_then(|r| r.get("content"))
                    .and_then(Value::as_str)
            })
            .unwrap_or_default();
        assert_eq!(
            text,
            html::to_text(content),
            "the text is not the content's"
        );
        assert_eq!(text.trim(), text, "the text is not trimmed");
        let mut original = (*status).clone();
        original.as_object_mut().expect("an object").remove("text");
        assert!(
            same_json(&out, &original),
            "the status changed: {original} → {out}"
        );
    }
}
