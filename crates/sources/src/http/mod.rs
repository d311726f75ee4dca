//! The HTTP sources: one bounded fetcher ([`fetch`]) and one paging walk ([`pager`]) shared by
//! Mastodon ([`mastodon`]) and any paginated JSON API ([`http_json`]); [`html`] turns Mastodon's
//! HTML content into text; [`mastodon_access`] reads whether a server serves a timeline. Each
//! owns its settings: [`config`] (the fetcher's), [`mastodon_config`], [`http_json_config`].

pub mod config;
pub mod fetch;
pub mod html;
pub mod http_json;
pub mod http_json_config;
pub mod mastodon;
pub mod mastodon_access;
pub mod mastodon_config;
pub mod pager;

pub use config::FetchSettings;

pub use fetch::{
    BadHeader, Credential, Fetcher, Page, USER_AGENT, link_with_rel, parse_retry_after, redact,
};
