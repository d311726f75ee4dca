//! The http-json source's settings (`SOURCE=http-json`, `HTTP_JSON_*`), their defaults and
//! reading.

use ks_kernel::env::{ConfigError, Env};

/// The header a credential goes in when `HTTP_JSON_AUTH_HEADER` is unset.
pub const DEFAULT_AUTH_HEADER: &str = "Authorization";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpJsonConfig {
    pub url: String,
    /// Pointer to the records array; empty for a top-level array.
    pub records_pointer: String,
    /// Pointer, inside each record, to its id.
    pub id_pointer: String,
    /// Query parameter that carries the cursor (e.g. `since_id`); none fetches from the start.
    pub cursor_param: Option<String>,
    /// Pointer to the next page's URL (or token, with `next_param`) in each response.
    pub next_pointer: Option<String>,
    /// Query parameter that carries the token found at `next_pointer`.
    pub next_param: Option<String>,
    /// Whether pages run oldest first (a stop midway leaves no gap behind the cursor).
    pub oldest_first: bool,
    pub auth_header: String,
    /// Prefix of the header value, e.g. `Bearer`.
    pub auth_scheme: Option<String>,
    /// SSM parameter (or `/aws/reference/secretsmanager/<name>`) holding the credential.
    pub auth_param: Option<String>,
}

/// `HTTP_JSON_PAGE_ORDER`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageOrder {
    NewestFirst,
    OldestFirst,
}

impl HttpJsonConfig {
    /// Reads the `HTTP_JSON_*` variables.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<'_, F>) -> Result<Self, ConfigError> {
        let next_pointer = env.pointer("HTTP_JSON_NEXT_POINTER")?;
        let next_param = env.get("HTTP_JSON_NEXT_PARAM");
        if next_param.is_some() && next_pointer.is_none() {
            return Err(env.invalid(
                "HTTP_JSON_NEXT_PARAM",
                "needs HTTP_JSON_NEXT_POINTER to say where the token is",
            ));
        }
        let order = env.choice(
            "HTTP_JSON_PAGE_ORDER",
            "newest-first",
            &[
                ("newest-first", PageOrder::NewestFirst),
                ("oldest-first", PageOrder::OldestFirst),
            ],
        )?;
        Ok(HttpJsonConfig {
            url: env.url("HTTP_JSON_URL")?,
            records_pointer: env
                .pointer("HTTP_JSON_RECORDS_POINTER")?
                .unwrap_or_default(),
            id_pointer: env
                .pointer("HTTP_JSON_ID_POINTER")?
                .unwrap_or_else(|| "/id".to_owned()),
            cursor_param: env.get("HTTP_JSON_CURSOR_PARAM"),
            next_pointer,
            next_param,
            oldest_first: order == PageOrder::OldestFirst,
            auth_header: env
                .get("HTTP_JSON_AUTH_HEADER")
                .unwrap_or_else(|| DEFAULT_AUTH_HEADER.to_owned()),
            auth_scheme: env.get("HTTP_JSON_AUTH_SCHEME"),
            auth_param: env.get("HTTP_JSON_AUTH_PARAM"),
        })
    }

    /// The credential's header value for `secret`: behind `HTTP_JSON_AUTH_SCHEME` if one is set.
    pub fn auth_value(&self, secret: &str) -> String {
        match &self.auth_scheme {
            Some(scheme) => format!("{scheme} {secret}"),
            None => secret.to_owned(),
        }
    }

    /// The cursor's key when `CURSOR_KEY` is unset: the URL without query, fragment or userinfo.
    pub fn cursor_key(&self) -> String {
        let url = self.url.split(['?', '#']).next().unwrap_or_default();
        match url.split_once("://") {
            Some((scheme, rest)) => {
                format!(
                    "http-json:{scheme}://{}",
                    crate::url::without_userinfo(rest)
                )
            }
            None => format!("http-json:{url}"),
        }
    }
}
