//! A page of any JSON API as the http-json source reads it (`HttpJsonSource::read`, after the
//! fetcher's serde_json read of the body), under configurations the first byte chooses: an
//! error unless the records pointer selects an array; then each item a record (one with a
//! usable id, in order) or a rejected item; the next page from a token (the configured
//! parameters set exactly once) or a URL reference resolved against the page's URL; errors,
//! never panics, for anything else.

use std::sync::OnceLock;

use ks_sources::http::http_json::HttpJsonSource;
use ks_sources::http::{Fetcher, Page};
use ks_sources::http::FetchSettings;
use ks_sources::http::http_json_config::HttpJsonConfig;
use reqwest::Url;
use serde_json::Value;

use crate::util::Input;

const PAGE_URL: &str = "https://api.example/v1/items?since=5&page=1&keep=x";

/// The source for each of the 16 configurations.
fn source(choice: u8) -> &'static (HttpJsonSource, HttpJsonConfig) {
    static SOURCES: OnceLock<Vec<(HttpJsonSource, HttpJsonConfig)>> = OnceLock::new();
    let all = SOURCES.get_or_init(|| {
        (0..16u8)
            .map(|c| {
                let config = HttpJsonConfig {
                    url: "https://api.example/v1/items?keep=x".to_owned(),
                    records_pointer: ["", "/data", "/a/items", "/0"][usize::from(c & 3)].to_owned(),
                    id_pointer: ["/id", "/meta/id"][usize::from((c >> 2) & 1)].to_owned(),
                    cursor_param: Some("since".to_owned()),
                    next_pointer: Some("/next".to_owned()),
                    next_param: ((c >> 3) & 1 == 1).then(|| "page".to_owned()),
                    oldest_first: true,
                    auth_header: String::new(),
                    auth_scheme: None,
                    auth_param: None,
                };
                let fetcher =
                    Fetcher::new("api", FetchSettings::default(), None).expect("a client");
                (
                    HttpJsonSource::new(fetcher, config.clone()).expect("a source"),
                    config,
                )
            })
            .collect()
    });
    &all[usize::from(choice % 16)]
}

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let (source, config) = source(input.byte());
    let Ok(body) = serde_json::from_slice::<Value>(input.rest()) else {
        return;
    };
    let url = Url::parse(PAGE_URL).expect("a URL");
    let page = Page {
        body: body.clone(),
        link: None,
        url: url.clone(),
    };
    let result = source.read(&page, 1, Some("42"));
    let id_of = |item: &Value| match item.pointer(&config.id_pointer) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let Some(items) = body
        .pointer(&config.records_pointer)
        .and_then(Value::as_array)
    else {
        assert!(
            result.is_err(),
            "records read where the pointer selects no array"
        );
        return;
    };
    // The next page, as the README describes it.
    let next: Result<Option<Url>, ()> = match body.pointer("/next") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(v @ (Value::String(_) | Value::Number(_))) => {
            let token = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            match &config.next_param {
                Some(_) => Ok(Some(
                    Url::parse("https://placeholder.invalid/").expect("a URL"),
                )),
                None => url
                    .join(&token)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                    .map(Some)
                    .ok_or(()),
            }
        }
        Some(_) => Err(()),
    };
    let read = match (result, &next) {
        (Err(_), Err(())) => return,
        (Ok(read), Ok(expected)) => {
            match (&config.next_param, &read.next, expected) {
                (_, None, None) => {}
                (Some(param), Some(got), Some(_)) => {
                    let token = match body.pointer("/next") {
                        Some(Value::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                        None => unreachable!("a next page from nothing"),
                    };
                    let pairs: Vec<(String, String)> = got.query_pairs().into_owned().collect();
                    let values = |k: &str| -> Vec<&str> {
                        pairs
                            .iter()
                            .filter(|(p, _)| p == k)
                            .map(|(_, v)| v.as_str())
                            .collect()
                    };
                    assert_eq!(values(param), [token.as_str()], "{got}");
                    assert_eq!(values("since"), ["42"], "{got}");
                    assert_eq!(values("keep"), ["x"], "{got}");
                }
                (None, got, expected) => assert_eq!(got, expected, "the next page's URL"),
                (_, got, expected) => panic!("next page {got:?}, expected {expected:?}"),
            }
            read
        }
        (result, next) => panic!(
            "read {:?} but the next page is {next:?}",
            result.map(|r| r.next)
        ),
    };
    let good = crate::util::records_of(&read, items, |i| id_of(i).is_some(), "item");
    for (item, record) in good.iter().zip(&read.records) {
        assert_eq!(Some(&record.id), id_of(item).as_ref());
        let back: Value = serde_json::from_slice(&record.data).expect("a record is JSON");
        assert!(
            crate::util::same_json(&back, item),
            "the item changed: {item} → {back}"
        );
    }
}
