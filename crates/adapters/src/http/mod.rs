//! The HTTP sources: one bounded fetcher ([`fetch`]) and one paging walk ([`pager`]) shared by
//! Mastodon ([`mastodon`]) and any paginated JSON API ([`http_json`]); [`html`] turns Mastodon's
//! HTML content into text; [`mastodon_access`] reads whether a server serves a timeline.

pub mod fetch;
pub mod html;
pub mod http_json;
pub mod mastodon;
pub mod mastodon_access;
pub mod pager;

pub use fetch::{
    BadHeader, Credential, Fetcher, Page, USER_AGENT, link_with_rel, parse_retry_after, redact,
};
