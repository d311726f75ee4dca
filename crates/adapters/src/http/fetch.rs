//! Bounded HTTP fetching for the sources: a timeout per attempt, a cap on response bytes, 429
//! answered by waiting as long as `Retry-After` asks (if that fits before the deadline), 5xx and
//! timeouts retried with capped, jittered backoff (all through the kernel's retry driver), and
//! every error naming the source.
//!
//! reqwest with rustls over aws-lc-rs: the crypto the AWS SDK already compiles, no OpenSSL on
//! the build machine or in the Lambda image.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ks_kernel::retry::{self, Decision, Ended, Limits, RetryLogic, TimedOut};
use ks_producer::SourceError;
use ks_producer::config::FetchSettings;
use reqwest::header::{ACCEPT, HeaderMap, HeaderName, HeaderValue, LINK, RETRY_AFTER};
use reqwest::{Client, StatusCode, Url};
use serde_json::Value;
use tokio::time::Instant;

/// Sent with every request, so server operators can tell who is calling.
pub const USER_AGENT: &str = concat!(
    "kinesis-sentiment-stream-producer/",
    env!("CARGO_PKG_VERSION")
);

/// One successful page.
#[derive(Debug)]
pub struct Page {
    pub body: Value,
    /// The raw `Link` header, if any.
    pub link: Option<String>,
}

/// A GET client bound to one source's name, settings and credentials.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: Client,
    source_name: String,
    settings: FetchSettings,
    headers: HeaderMap,
}

/// How one attempt failed.
enum Attempt {
    RateLimited(Option<Duration>),
    Transient(String),
    Permanent(SourceError),
}

impl Attempt {
    /// What a `SourceError::Unavailable` says of the last failure.
    fn reason(self) -> String {
        match self {
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
        match failure {
            Attempt::Permanent(e) => Decision::GiveUp(Attempt::Permanent(e)),
            // The server said how long: wait exactly that (the driver checks it fits).
            Attempt::RateLimited(Some(asked)) => {
                tracing::debug!(source, url = %self.url, wait_ms = asked.as_millis() as u64, "HTTP 429, waiting as asked");
                Decision::RetryAfter(asked, Attempt::RateLimited(Some(asked)))
            }
            other => {
                tracing::debug!(source, url = %self.url, error = other_reason(&other), "retrying");
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

impl Fetcher {
    /// `auth`: a header and its value (already looked up from the secret store).
    pub fn new(
        source_name: impl Into<String>,
        settings: FetchSettings,
        auth: Option<(String, String)>,
    ) -> Result<Self, SourceError> {
        let source_name = source_name.into();
        let permanent = |reason: String| SourceError::Permanent {
            source_name: source_name.clone(),
            reason,
        };
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some((name, value)) = auth {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| permanent(format!("auth header name {name:?}: {e}")))?;
            let mut value = HeaderValue::from_str(&value)
                .map_err(|_| permanent("the auth secret is not a valid header value".into()))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let client = Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|e| permanent(format!("cannot build the HTTP client: {e}")))?;
        Ok(Fetcher {
            client,
            source_name,
            settings,
            headers,
        })
    }

    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// Parses `url`, naming the source when it is not a URL.
    pub fn url(&self, url: &str) -> Result<Url, SourceError> {
        Url::parse(url).map_err(|e| SourceError::Permanent {
            source_name: self.source_name.clone(),
            reason: format!("{url:?} is not a URL: {e}"),
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
                retry_after_ms: wait.as_millis() as u64,
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

    async fn once(&self, url: &Url) -> Result<Page, Attempt> {
        let mut resp = self
            .client
            .get(url.clone())
            .headers(self.headers.clone())
            .send()
            .await
            .map_err(|e| Attempt::Transient(ks_kernel::error::describe(&e)))?;
        let status = resp.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(Attempt::RateLimited(
                resp.headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_retry_after),
            ));
        }
        if status.is_server_error() {
            return Err(Attempt::Transient(format!("HTTP {status}")));
        }
        if !status.is_success() {
            let snippet = read_capped(&mut resp, 512)
                .await
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            return Err(Attempt::Permanent(SourceError::Permanent {
                source_name: self.source_name.clone(),
                reason: format!("HTTP {status} from {url}: {snippet}"),
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
                    ks_kernel::error::describe(&e)
                )));
            }
        };
        let body: Value = serde_json::from_slice(&bytes).map_err(|e| {
            Attempt::Permanent(SourceError::Malformed {
                source_name: self.source_name.clone(),
                pointer: String::new(),
                reason: format!("the response from {url} is not JSON: {e}"),
            })
        })?;
        Ok(Page { body, link })
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

/// `Retry-After` as delay-seconds or an HTTP-date (IMF-fixdate).
/// <https://www.rfc-editor.org/rfc/rfc9110#field.retry-after>
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_imf_fixdate(v)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` to seconds since the Unix epoch.
fn parse_imf_fixdate(v: &str) -> Option<u64> {
    let parts: Vec<&str> = v.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)? as i64
        + 1;
    let (day, year): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<u64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    // Civil date to days since the epoch (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days)
        .ok()
        .map(|d| d * 86_400 + h * 3_600 + m * 60 + s)
}

/// The URL of the `Link` header entry with relation `rel`.
/// <https://www.rfc-editor.org/rfc/rfc8288>
pub fn link_with_rel(link: &str, rel: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let url = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let has_rel = params.split(';').any(|p| {
            let Some((k, v)) = p.split_once('=') else {
                return false;
            };
            k.trim().eq_ignore_ascii_case("rel")
                && v.trim()
                    .trim_matches('"')
                    .split_whitespace()
                    .any(|r| r.eq_ignore_ascii_case(rel))
        });
        has_rel.then(|| url.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO),
            "a past date means now"
        );
        assert_eq!(parse_retry_after("soon"), None);
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
}
