//! Bounded HTTP fetching for the sources: a timeout per attempt, a cap on response bytes, 429
//! answered by waiting as long as `Retry-After` asks (if that fits before the deadline), 5xx and
//! timeouts retried with capped, jittered backoff (all through the kernel's retry driver), and
//! every error naming the source.
//!
//! Credentials go only where they belong. The credential header is attached to a request only
//! when its URL has the configured origin (scheme, host and port, RFC 6454 §4): another host or
//! port, or `http://` where `https://` was configured, never carries it, whichever URL the
//! source handed back (a `next` URL, a `Link` target). Redirects are followed here, not by
//! reqwest (which strips only the standard auth headers, so a custom header such as `X-Api-Key`
//! would follow a redirect anywhere): at most [`MAX_REDIRECTS`] hops, relative `Location`s
//! resolved, and once a chain has left the configured origin no later hop carries the
//! credential, even one back at that origin. Every URL in a log line or an error goes through
//! [`redact`].
//!
//! reqwest with rustls over aws-lc-rs: the crypto the AWS SDK already compiles, no OpenSSL on
//! the build machine or in the Lambda image.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::http::config::FetchSettings;
use ks_kernel::retry::{self, Decision, Ended, Limits, RetryLogic, TimedOut};
use ks_producer::SourceError;
use reqwest::header::{ACCEPT, HeaderMap, HeaderName, HeaderValue, LINK, LOCATION, RETRY_AFTER};
use reqwest::{Client, StatusCode, Url};
use serde_json::Value;
use tokio::time::Instant;

/// Sent with every request, so server operators can tell who is calling.
pub const USER_AGENT: &str = concat!(
    "kinesis-sentiment-stream-producer/",
    env!("CARGO_PKG_VERSION")
);

/// Redirect hops one GET follows before it is an error. RFC 9110 §15.4 leaves the number to
/// the client ("A client SHOULD detect and intervene in cyclical redirections"; an earlier version
/// recommended at most five, RFC 2068 §10.3); five is what reqwest was set to before.
/// <https://www.rfc-editor.org/rfc/rfc9110#section-15.4>
pub const MAX_REDIRECTS: u32 = 5;

/// The longest wait a `Retry-After` is read as. A larger delay-seconds (or a date further off)
/// counts as this, as RFC 9111 §1.2.2 tells caches to read a delta-seconds they cannot represent
/// as 2^31; any wait this long is past every deadline anyway.
/// <https://www.rfc-editor.org/rfc/rfc9111#section-1.2.2>
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(1 << 31);

/// One successful page.
#[derive(Debug)]
pub struct Page {
    pub body: Value,
    /// The raw `Link` header, if any.
    pub link: Option<String>,
    /// The URL that answered (after redirects): relative references in the page resolve against
    /// it (RFC 3986 §5.1.3, RFC 8288 §3.2).
    pub url: Url,
}

/// A secret header and the one origin it may be sent to.
#[derive(Clone)]
pub struct Credential {
    /// The header that carries it, e.g. `Authorization` or `X-Api-Key`.
    pub header: String,
    /// The header's value, as looked up from the secret store.
    pub value: String,
    /// The configured URL: only requests to its scheme, host and port carry the header.
    pub url: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("header", &self.header)
            .field("value", &"<redacted>")
            .field("url", &redact(&self.url))
            .finish()
    }
}

/// A credential as the fetcher sends it.
#[derive(Debug, Clone)]
struct Scoped {
    name: HeaderName,
    /// Marked sensitive: its `Debug` shows no secret.
    value: HeaderValue,
    /// Compared by [`Url::origin`] only.
    origin: Url,
}

/// A GET client bound to one source's name, settings and credential.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: Client,
    source_name: String,
    settings: FetchSettings,
    headers: HeaderMap,
    credential: Option<Scoped>,
}

/// A response header this client cannot use, named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unusable {header} header {value:?}: {reason}")]
pub struct BadHeader {
    pub header: &'static str,
    /// The value, cut to 64 characters.
    pub value: String,
    pub reason: &'static str,
}

/// How one attempt failed.
enum Attempt {
    /// HTTP 429, with the wait `Retry-After` asks for, if it has a usable one.
    RateLimited(Result<Option<Duration>, BadHeader>),
    Transient(String),
    Permanent(SourceError),
}

impl Attempt {
    /// What a `SourceError::Unavailable` says of the last failure.
    fn reason(self) -> String {
        match self {
            Attempt::RateLimited(Err(bad)) => {
                format!("HTTP 429 Too Many Requests ({bad}; ignored)")
            }
            Attempt::RateLimited(_) => "HTTP 429 Too Many Requests".to_owned(),
            Attempt::Transient(reason) => reason,
            Attempt::Permanent(e) => e.to_string(),
        }
    }
}

/// One GET as the retry driver runs it.
struct GetLogic<'a> {
    fetcher: &'a Fetcher,
    url: &'a Url,
    page: Option<Page>,
}

impl RetryLogic for GetLogic<'_> {
    type Work = ();
    type Answer = Result<Page, Attempt>;
    type Error = Attempt;

    async fn attempt(&mut self, _: &()) -> Self::Answer {
        self.fetcher.once(self.url).await
    }

    fn decide(&mut self, _: &(), answer: Result<Self::Answer, TimedOut>) -> Decision<(), Attempt> {
        let failure = match answer {
            Ok(Ok(page)) => {
                self.page = Some(page);
                return Decision::Done;
            }
            Ok(Err(failure)) => failure,
            Err(t) => Attempt::Transient(format!("timed out after {} ms", t.millis())),
        };
        let source = self.fetcher.source_name.as_str();
        let url = redact(self.url.as_str());
        match failure {
            Attempt::Permanent(e) => Decision::GiveUp(Attempt::Permanent(e)),
            // The server said how long: wait exactly that (the driver checks it fits).
            Attempt::RateLimited(Ok(Some(asked))) => {
                tracing::debug!(
                    source,
                    url,
                    wait_ms = millis(asked),
                    "HTTP 429, waiting as asked"
                );
                Decision::RetryAfter(asked, Attempt::RateLimited(Ok(Some(asked))))
            }
            Attempt::RateLimited(Err(bad)) => {
                tracing::warn!(source, url, error = %bad, "HTTP 429 with an unusable Retry-After: backing off instead");
                Decision::RetryAll(Attempt::RateLimited(Err(bad)))
            }
            other => {
                tracing::debug!(source, url, error = other_reason(&other), "retrying");
                Decision::RetryAll(other)
            }
        }
    }
}

fn other_reason(a: &Attempt) -> &str {
    match a {
        Attempt::RateLimited(_) => "HTTP 429",
        Attempt::Transient(reason) => reason,
        Attempt::Permanent(_) => "permanent",
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Whether the fetcher follows `url` at all: http and https only.
fn is_http(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

impl Fetcher {
    /// `credential`: a header, its value (already looked up from the secret store) and the
    /// configured URL whose origin alone may receive it.
    pub fn new(
        source_name: impl Into<String>,
        settings: FetchSettings,
        credential: Option<Credential>,
    ) -> Result<Self, SourceError> {
        let source_name = source_name.into();
        let permanent = |reason: String| SourceError::Permanent {
            source_name: source_name.clone(),
            reason,
        };
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let credential = match credential {
            None => None,
            Some(c) => {
                let name = HeaderName::from_bytes(c.header.as_bytes())
                    .map_err(|e| permanent(format!("auth header name {:?}: {e}", c.header)))?;
                let mut value = HeaderValue::from_str(&c.value)
                    .map_err(|_| permanent("the auth secret is not a valid header value".into()))?;
                value.set_sensitive(true);
                let origin = Url::parse(&c.url).ok().filter(is_http).ok_or_else(|| {
                    permanent(format!(
                        "the credential's URL {:?} is not an http:// or https:// URL",
                        redact(&c.url)
                    ))
                })?;
                Some(Scoped {
                    name,
                    value,
                    origin,
                })
            }
        };
        let client = Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(settings.timeout)
            // Followed in `once`, so the credential is attached hop by hop.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| permanent(format!("cannot build the HTTP client: {e}")))?;
        Ok(Fetcher {
            client,
            source_name,
            settings,
            headers,
            credential,
        })
    }

    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// Whether a request to `url` may carry the credential: it has one, and `url` has the
    /// configured URL's scheme, host and port (`https://h` and `https://h:443` are one origin;
    /// `http://h` is another).
    pub fn sends_credential_to(&self, url: &Url) -> bool {
        self.credential
            .as_ref()
            .is_some_and(|c| c.origin.origin() == url.origin())
    }

    /// Parses `url`, naming the source when it is not an http:// or https:// URL.
    pub fn url(&self, url: &str) -> Result<Url, SourceError> {
        match Url::parse(url) {
            Ok(u) if is_http(&u) => Ok(u),
            Ok(_) => Err(SourceError::Permanent {
                source_name: self.source_name.clone(),
                reason: format!("{:?} is not an http:// or https:// URL", redact(url)),
            }),
            Err(e) => Err(SourceError::Permanent {
                source_name: self.source_name.clone(),
                reason: format!("{:?} is not a URL: {e}", redact(url)),
            }),
        }
    }

    /// `reference` (a URL the response handed back, at `pointer`) resolved against the URL of
    /// the page that carried it; an error naming the pointer when it is not an http(s) URL
    /// reference.
    pub fn resolve(&self, page: &Url, reference: &str, pointer: &str) -> Result<Url, SourceError> {
        match page.join(reference) {
            Ok(u) if is_http(&u) => Ok(u),
            Ok(_) => Err(self.malformed(
                pointer,
                format!("{:?} is not an http:// or https:// URL", redact(reference)),
            )),
            Err(e) => Err(self.malformed(
                pointer,
                format!("{:?} is not a URL reference: {e}", redact(reference)),
            )),
        }
    }

    /// The target of the page's `Link` header entry with relation `rel`, resolved against the
    /// page's URL (RFC 8288 §3.2: a relative target is resolved as RFC 3986 §5 says).
    pub fn link(&self, page: &Page, rel: &str) -> Result<Option<Url>, SourceError> {
        let Some(target) = page.link.as_deref().and_then(|l| link_with_rel(l, rel)) else {
            return Ok(None);
        };
        page.url
            .join(&target)
            .ok()
            .filter(is_http)
            .map(Some)
            .ok_or_else(|| {
                self.malformed(
                    "",
                    format!(
                        "the Link header's {rel:?} target {:?} is not an http(s) URL reference",
                        redact(&target)
                    ),
                )
            })
    }

    pub fn malformed(&self, pointer: impl Into<String>, reason: impl Into<String>) -> SourceError {
        SourceError::Malformed {
            source_name: self.source_name.clone(),
            pointer: pointer.into(),
            reason: reason.into(),
        }
    }

    /// GETs `url` as JSON, retrying as described in the module docs, until `deadline`.
    pub async fn get_json(&self, url: &Url, deadline: Instant) -> Result<Page, SourceError> {
        let mut logic = GetLogic {
            fetcher: self,
            url,
            page: None,
        };
        let limits = Limits {
            policy: &self.settings.retry,
            deadline,
            attempt_timeout: Some(self.settings.timeout),
        };
        let report = retry::run(&mut logic, (), limits, &mut fastrand::Rng::new()).await;
        let attempts = report.attempts;
        match report.ended {
            Ended::Done => logic.page.ok_or_else(|| {
                self.unavailable(attempts, "the page was lost between attempts".into())
            }),
            Ended::GaveUp {
                error: Attempt::Permanent(e),
                ..
            } => Err(e),
            Ended::WaitTooLong { wait, .. } => Err(SourceError::RateLimited {
                source_name: self.source_name.clone(),
                retry_after_ms: millis(wait),
            }),
            Ended::GaveUp { error: last, .. } | Ended::Exhausted { last, .. } => {
                Err(self.unavailable(attempts, last.reason()))
            }
            Ended::OutOfTime { .. } => {
                Err(self.unavailable(attempts, "no time left before the deadline".into()))
            }
        }
    }

    fn unavailable(&self, attempts: u32, reason: String) -> SourceError {
        SourceError::Unavailable {
            source_name: self.source_name.clone(),
            attempts,
            reason,
        }
    }

    /// One attempt: the GET and the redirects it leads to, the credential on each hop that is
    /// still at the configured origin.
    async fn once(&self, start: &Url) -> Result<Page, Attempt> {
        let mut url = start.clone();
        // Whether every URL of this chain so far had the credential's origin.
        let mut at_origin = true;
        let mut hops = 0;
        loop {
            at_origin &= self.sends_credential_to(&url);
            let withheld = self.credential.is_some() && !at_origin;
            if withheld {
                tracing::warn!(
                    source = self.source_name.as_str(),
                    url = redact(url.as_str()),
                    "not sending the credential: the URL is not at the configured origin"
                );
            }
            let mut request = self.client.get(url.clone()).headers(self.headers.clone());
            if let Some(c) = self.credential.as_ref().filter(|_| at_origin) {
                request = request.header(c.name.clone(), c.value.clone());
            }
            let resp = request
                .send()
                .await
                .map_err(|e| Attempt::Transient(ks_kernel::error::describe(&e.without_url())))?;
            if !matches!(resp.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
                return self.answer(resp, url, withheld).await;
            }
            hops += 1;
            if hops > MAX_REDIRECTS {
                return Err(self.permanent(format!(
                    "more than {MAX_REDIRECTS} redirects from {}",
                    redact(start.as_str())
                )));
            }
            let location = resp
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    self.permanent(format!(
                        "HTTP {} from {} without a usable Location",
                        resp.status(),
                        redact(url.as_str())
                    ))
                })?;
            url = match url.join(location) {
                Ok(next) if is_http(&next) => next,
                _ => {
                    return Err(self.permanent(format!(
                        "HTTP {} from {} to {:?}, not an http(s) URL",
                        resp.status(),
                        redact(url.as_str()),
                        redact(location)
                    )));
                }
            };
        }
    }

    fn permanent(&self, reason: String) -> Attempt {
        Attempt::Permanent(SourceError::Permanent {
            source_name: self.source_name.clone(),
            reason,
        })
    }

    /// The final response of a chain, at `url`; `withheld`: the credential was not sent to it.
    async fn answer(
        &self,
        mut resp: reqwest::Response,
        url: Url,
        withheld: bool,
    ) -> Result<Page, Attempt> {
        let status = resp.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after = match resp.headers().get(RETRY_AFTER) {
                None => Ok(None),
                Some(v) => v
                    .to_str()
                    .map_err(|_| {
                        bad_retry_after(&String::from_utf8_lossy(v.as_bytes()), "not text")
                    })
                    .and_then(parse_retry_after)
                    .map(Some),
            };
            return Err(Attempt::RateLimited(retry_after));
        }
        if status.is_server_error() {
            return Err(Attempt::Transient(format!("HTTP {status}")));
        }
        if !status.is_success() {
            let snippet = read_capped(&mut resp, 512)
                .await
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let note = if withheld {
                " (sent without the credential: that URL is not at the configured origin)"
            } else {
                ""
            };
            // Permanent, with the status kept for the source to read (Mastodon's 401 and 422).
            return Err(Attempt::Permanent(SourceError::Status {
                source_name: self.source_name.clone(),
                status: status.as_u16(),
                reason: format!(
                    "HTTP {status} from {}{note}: {snippet}",
                    redact(url.as_str())
                ),
            }));
        }
        let link = resp
            .headers()
            .get(LINK)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let cap = self.settings.max_response_bytes;
        let too_large = || {
            Attempt::Permanent(SourceError::TooLarge {
                source_name: self.source_name.clone(),
                limit_bytes: cap,
            })
        };
        if resp.content_length().is_some_and(|n| n > cap as u64) {
            return Err(too_large());
        }
        let bytes = match read_capped(&mut resp, cap).await {
            Ok(b) if b.len() > cap => return Err(too_large()),
            Ok(b) => b,
            Err(e) => {
                return Err(Attempt::Transient(format!(
                    "reading the body: {}",
                    ks_kernel::error::describe(&e.without_url())
                )));
            }
        };
        let body: Value = serde_json::from_slice(&bytes).map_err(|e| {
            Attempt::Permanent(SourceError::Malformed {
                source_name: self.source_name.clone(),
                pointer: String::new(),
                reason: format!(
                    "the response from {} is not JSON: {e}",
                    redact(url.as_str())
                ),
            })
        })?;
        Ok(Page { body, link, url })
    }
}

/// Reads at most `cap + 1` bytes, so the caller can tell "exactly cap" from "more".
async fn read_capped(resp: &mut reqwest::Response, cap: usize) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = cap + 1 - out.len();
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() > cap {
            break;
        }
    }
    Ok(out)
}

fn bad_retry_after(value: &str, reason: &'static str) -> BadHeader {
    BadHeader {
        header: "Retry-After",
        value: value.chars().take(64).collect(),
        reason,
    }
}

/// `Retry-After` as delay-seconds or an HTTP-date (IMF-fixdate), at most [`MAX_RETRY_AFTER`];
/// a past date means now. Anything else (a field out of range, such as the year 99999) is an
/// error naming the header, never an overflow.
/// <https://www.rfc-editor.org/rfc/rfc9110#field.retry-after>
pub fn parse_retry_after(v: &str) -> Result<Duration, BadHeader> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    retry_after_at(v, now)
}

/// [`parse_retry_after`] at `now` (seconds since the Unix epoch).
fn retry_after_at(v: &str, now: u64) -> Result<Duration, BadHeader> {
    let t = v.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        // delay-seconds = 1*DIGIT: any length, so more digits than a u64 holds is "very long".
        let secs = t.parse::<u64>().unwrap_or(u64::MAX);
        return Ok(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let at = parse_imf_fixdate(t).map_err(|reason| bad_retry_after(v, reason))?;
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    let wait = u64::try_from(at.saturating_sub(now)).unwrap_or(0);
    Ok(Duration::from_secs(wait).min(MAX_RETRY_AFTER))
}

/// `digits` as a number if it is exactly `n` ASCII digits.
fn fixed_digits(digits: &str, n: usize) -> Option<i64> {
    (digits.len() == n && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` to seconds since the Unix epoch (negative before 1970).
/// Every field is range-checked as RFC 9110 §5.6.7 writes it (`2DIGIT`, `4DIGIT`), so no
/// arithmetic below can overflow.
fn parse_imf_fixdate(v: &str) -> Result<i64, &'static str> {
    const NOT_A_DATE: &str = "neither delay-seconds nor an IMF-fixdate";
    let parts: Vec<&str> = v.split_whitespace().collect();
    let [day_name, day, month, year, time, "GMT"] = parts.as_slice() else {
        return Err(NOT_A_DATE);
    };
    if !["Mon,", "Tue,", "Wed,", "Thu,", "Fri,", "Sat,", "Sun,"].contains(day_name) {
        return Err(NOT_A_DATE);
    }
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)
    .ok_or("no such month")? as i64
        + 1;
    let year = fixed_digits(year, 4).ok_or("the year is not 4 digits")?;
    let day = fixed_digits(day, 2).ok_or("the day is not 2 digits")?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=month_days).contains(&day) {
        return Err("no such day in that month");
    }
    let hms: Vec<i64> = time
        .split(':')
        .map(|p| fixed_digits(p, 2))
        .collect::<Option<_>>()
        .ok_or("the time is not HH:MM:SS")?;
    let [h @ 0..=23, m @ 0..=59, s @ 0..=60] = hms.as_slice() else {
        return Err("the time is out of range");
    };
    let days = ks_kernel::time::days_from_civil(year, month, day);
    Ok(days * 86_400 + h * 3_600 + m * 60 + s)
}

/// `url` fit for a log line or an error message: userinfo becomes `***`, so do the values of
/// query parameters whose names contain `token`, `key`, `secret`, `password`, `passwd`, `auth`,
/// `sig`, `credential` or `session` (any case), and a fragment is dropped.
/// Works on any text, a URL or not, and keeps the rest as it was written.
pub fn redact(url: &str) -> String {
    let url = url.split('#').next().unwrap_or_default();
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let mut out = match head.find("://") {
        Some(i) => {
            let (scheme, rest) = head.split_at(i + 3);
            let end = rest.find('/').unwrap_or(rest.len());
            match rest[..end].rfind('@') {
                Some(at) => format!("{scheme}***@{}", &rest[at + 1..]),
                None => head.to_owned(),
            }
        }
        None => head.to_owned(),
    };
    if let Some(query) = query {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if is_secret_name(name) => format!("{name}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    out
}

/// Query parameter names whose values [`redact`] hides: any name containing one of these,
/// ignoring case (`access_token`, `api_key`, `X-Amz-Signature`, `client_secret`, …).
const SECRET_PARAM_WORDS: [&str; 9] = [
    "token",
    "key",
    "secret",
    "password",
    "passwd",
    "auth",
    "sig",
    "credential",
    "session",
];

fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PARAM_WORDS.iter().any(|w| name.contains(w))
}

/// The URL of the `Link` header entry with relation `rel`.
/// <https://www.rfc-editor.org/rfc/rfc8288>
///
/// The target is everything between `<` and `>`, so it may hold `,` and `;` (both legal in a URI);
/// parameters are split at `;` and entries at `,` only outside quoted strings.
pub fn link_with_rel(link: &str, rel: &str) -> Option<String> {
    let mut rest = Some(link);
    while let Some(text) = rest {
        let text = text.trim_start();
        let Some((url, after)) = text.strip_prefix('<').and_then(|t| t.split_once('>')) else {
            // Not an entry: skip to the next one.
            rest = split_unquoted(text, ',').1;
            continue;
        };
        let (params, next) = split_unquoted(after, ',');
        rest = next;
        // What stands between `>` and the first `;` is no parameter.
        let mut params = split_unquoted(params, ';').1;
        while let Some(p) = params {
            let (param, tail) = split_unquoted(p, ';');
            params = tail;
            if let Some((k, v)) = param.split_once('=')
                && k.trim().eq_ignore_ascii_case("rel")
                && v.trim()
                    .trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case(rel))
            {
                return Some(url.to_owned());
            }
        }
    }
    None
}

/// `s` up to the first `delim` outside a quoted string (RFC 9110 §5.6.4, `\` escapes), and what
/// follows that delimiter, if there is one.
fn split_unquoted(s: &str, delim: char) -> (&str, Option<&str>) {
    let (mut quoted, mut escaped) = (false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == delim && !quoted => return (&s[..i], Some(&s[i + c.len_utf8()..])),
            _ => {}
        }
    }
    (s, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("2"), Ok(Duration::from_secs(2)));
        assert_eq!(
            parse_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT"),
            Ok(784_111_777)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Ok(Duration::ZERO),
            "a past date means now"
        );
        assert_eq!(
            retry_after_at("Sun, 06 Nov 1994 08:50:07 GMT", 784_111_777),
            Ok(Duration::from_secs(30))
        );
        assert_eq!(
            parse_imf_fixdate("Thu, 01 Jan 1970 00:00:00 GMT"),
            Ok(0),
            "the epoch"
        );
        assert_eq!(
            parse_imf_fixdate("Tue, 29 Feb 2000 23:59:60 GMT"),
            Ok(951_868_800),
            "a leap day and a leap second"
        );
    }

    #[test]
    fn absurd_retry_after_values_are_capped_or_an_error_naming_the_header() {
        // GIVEN delay-seconds at and beyond u64::MAX WHEN parsed THEN the 2^31 s cap, no overflow
        for v in [
            "18446744073709551615",
            "99999999999999999999999999",
            "2147483649",
        ] {
            assert_eq!(parse_retry_after(v), Ok(MAX_RETRY_AFTER), "{v}");
        }
        // AND a date far off is capped the same way
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT"),
            Ok(MAX_RETRY_AFTER)
        );
        // GIVEN fields outside IMF-fixdate's ranges (these overflowed or read as 3e12 s before)
        for v in [
            "Sun, 06 Nov 99999 08:49:37 GMT",
            "Sun, 99999999999999999 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 9999999999999999999:00:00 GMT",
            "Sun, 06 Nov 1994 08:49:9999999999999999999 GMT",
            "Sun, 06 Nov -001 08:49:37 GMT",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 29 Feb 1900 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Someday, 06 Nov 1994 08:49:37 GMT",
            "-1",
            "1.5",
            "soon",
            "",
        ] {
            // WHEN parsed THEN an error that names the header, never a panic or a wait
            let err = parse_retry_after(v).unwrap_err();
            assert_eq!(err.header, "Retry-After", "{v}");
            assert!(err.to_string().contains("Retry-After"), "{err}");
        }
    }

    #[test]
    fn redact_hides_userinfo_and_secret_parameters() {
        // GIVEN a URL with userinfo and key/token parameters WHEN redacted THEN only those hidden
        assert_eq!(
            redact("https://user:pw@h/x?access_token=a&api_key=b&x=1"),
            "https://***@h/x?access_token=***&api_key=***&x=1"
        );
        // AND other shapes keep what is not secret, as written
        for (raw, shown) in [
            ("https://h/x?page=2&since=5", "https://h/x?page=2&since=5"),
            ("https://h:8443/x#frag=token", "https://h:8443/x"),
            (
                "https://h/x?X-Amz-Signature=s&X-Amz-Credential=c&Password=p&sessionId=z&q",
                "https://h/x?X-Amz-Signature=***&X-Amz-Credential=***&Password=***&sessionId=***&q",
            ),
            ("http://u@h?TOKEN=t", "http://***@h?TOKEN=***"),
            ("https://h/a@b?x=1", "https://h/a@b?x=1"),
            ("not a url?client_secret=s", "not a url?client_secret=***"),
        ] {
            assert_eq!(redact(raw), shown, "{raw}");
        }
    }

    fn fetcher_for(configured: &str) -> Fetcher {
        Fetcher::new(
            "test",
            FetchSettings::default(),
            Some(Credential {
                header: "X-Api-Key".into(),
                value: "k3y".into(),
                url: configured.into(),
            }),
        )
        .unwrap()
    }

    #[test]
    fn the_credential_goes_only_to_the_configured_origin() {
        // GIVEN a credential configured for https://api.example
        let f = fetcher_for("https://api.example/v1/items?x=1");
        // WHEN asked about each URL THEN only the same scheme, host and port get it
        for (url, sent) in [
            ("https://api.example/v1/items?page=2", true),
            ("https://api.example:443/other", true),
            ("https://API.Example/v1", true),
            ("http://api.example/v1/items", false),
            ("https://api.example:8443/v1/items", false),
            ("https://other.example/v1/items", false),
            ("https://api.example.evil/v1/items", false),
            ("https://api.example@evil.example/v1/items", false),
        ] {
            let url = Url::parse(url).unwrap();
            assert_eq!(f.sends_credential_to(&url), sent, "{url}");
        }
        // AND configured for plain http, an https URL is another origin too
        let f = fetcher_for("http://api.example");
        assert!(!f.sends_credential_to(&Url::parse("https://api.example/").unwrap()));
        // AND without a credential nothing is sent anywhere
        let none = Fetcher::new("test", FetchSettings::default(), None).unwrap();
        assert!(!none.sends_credential_to(&Url::parse("https://api.example/").unwrap()));
    }

    #[test]
    fn a_credential_prints_no_secret() {
        let c = Credential {
            header: "X-Api-Key".into(),
            value: "s3cret".into(),
            url: "https://u:pw@api.example/?api_key=s3cret".into(),
        };
        let shown = format!("{c:?} {:?}", fetcher_for("https://api.example"));
        assert!(
            !shown.contains("s3cret") && !shown.contains("k3y") && !shown.contains("pw"),
            "{shown}"
        );
    }

    #[test]
    fn relative_link_targets_resolve_against_the_page_url() {
        // GIVEN a page at a URL, with relative and absolute Link targets
        let f = Fetcher::new("test", FetchSettings::default(), None).unwrap();
        let page = |link: &str| Page {
            body: Value::Null,
            link: Some(link.to_owned()),
            url: Url::parse("https://m.example/api/v1/timelines/public?min_id=1").unwrap(),
        };
        // WHEN read THEN resolved as RFC 3986 §5 says
        for (link, expected) in [
            (
                "</api/v1/timelines/public?min_id=9>; rel=\"prev\"",
                "https://m.example/api/v1/timelines/public?min_id=9",
            ),
            (
                "<?min_id=9>; rel=prev",
                "https://m.example/api/v1/timelines/public?min_id=9",
            ),
            ("<//n.example/x>; rel=prev", "https://n.example/x"),
            ("<https://o.example/y>; rel=prev", "https://o.example/y"),
        ] {
            let url = f.link(&page(link), "prev").unwrap().unwrap();
            assert_eq!(url.as_str(), expected, "{link}");
        }
        assert_eq!(f.link(&page("<x>; rel=next"), "prev").unwrap(), None);
        // AND a target that is no http(s) URL reference is an error naming the header
        for bad in ["<http://[::1>; rel=prev", "<file:///etc/passwd>; rel=prev"] {
            let err = f.link(&page(bad), "prev").unwrap_err();
            assert!(err.to_string().contains("Link header"), "{err}");
        }
    }

    #[test]
    fn link_headers_are_read_by_relation() {
        let link = r#"<https://m.example/api/v1/timelines/public?max_id=7>; rel="next", <https://m.example/api/v1/timelines/public?min_id=9>; rel="prev""#;
        assert_eq!(
            link_with_rel(link, "prev").as_deref(),
            Some("https://m.example/api/v1/timelines/public?min_id=9")
        );
        assert_eq!(
            link_with_rel(link, "next").as_deref(),
            Some("https://m.example/api/v1/timelines/public?max_id=7")
        );
        assert_eq!(link_with_rel(link, "last"), None);
        assert_eq!(link_with_rel("garbage", "next"), None);
    }

    #[test]
    fn link_targets_keep_commas_and_semicolons_and_quoted_parameters_stay_whole() {
        // GIVEN targets holding `,` and `;` (legal URI characters; found by
        // fuzz/regressions/link_header/) and a quoted parameter that holds both
        let link = r#"<https://m.example/a?x=1,2;y>; title="p; rel=next, q"; rel="prev", junk, <https://m.example/b;c>; rel=next"#;
        // WHEN read by relation THEN each entry's whole target comes back, and the quoted
        // parameter names no relation
        assert_eq!(
            link_with_rel(link, "prev").as_deref(),
            Some("https://m.example/a?x=1,2;y")
        );
        assert_eq!(
            link_with_rel(link, "next").as_deref(),
            Some("https://m.example/b;c")
        );
        assert_eq!(link_with_rel("<https://m.example/c>", "next"), None);
    }
}
