//! The one S3 lister, for every crate that reads a bucket: `put`'s S3 input (ks-backfill), the
//! report's download (ks-firehose-local) and the deletion purge. Listing is S3's one paged call;
//! everything else each caller does with the keys is its own.
//!
//! # Layout
//! - [`Listing`]: ListObjectsV2 one page at a time, in S3's key order (UTF-8 binary).
//! - [`list_all`]: every page at once.

use aws_sdk_s3::Client;
use ks_kernel::error::describe;

/// One object a listing names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
}

/// A listing that failed: which bucket and prefix, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ListObjectsV2 s3://{bucket}/{prefix}: {reason}")]
pub struct ListError {
    pub bucket: String,
    pub prefix: String,
    pub reason: String,
}

/// Every object under `s3://bucket/prefix`, one page (up to 1,000 keys) at a time.
pub struct Listing<'c> {
    client: &'c Client,
    bucket: String,
    prefix: String,
    token: Option<String>,
    done: bool,
}

impl<'c> Listing<'c> {
    pub fn new(client: &'c Client, bucket: &str, prefix: &str) -> Self {
        Listing {
            client,
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            token: None,
            done: false,
        }
    }

    /// The next page's objects; `None` once the last page was given (or one failed).
    pub async fn next_page(&mut self) -> Option<Result<Vec<Listed>, ListError>> {
        if self.done {
            return None;
        }
        let answer = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&self.prefix)
            .set_continuation_token(self.token.take())
            .send()
            .await;
        let page = match answer {
            Ok(page) => page,
            Err(e) => {
                self.done = true;
                return Some(Err(ListError {
                    bucket: self.bucket.clone(),
                    prefix: self.prefix.clone(),
                    reason: describe(&e),
                }));
            }
        };
        self.token = page.next_continuation_token().map(str::to_owned);
        self.done = !page.is_truncated().unwrap_or(false) || self.token.is_none();
        let objects = page
            .contents()
            .iter()
            .filter_map(|o| {
                Some(Listed {
                    key: o.key()?.to_owned(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                })
            })
            .collect();
        Some(Ok(objects))
    }
}

/// Every object under `s3://bucket/prefix`, in key order.
pub async fn list_all(
    client: &Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<Listed>, ListError> {
    let mut listing = Listing::new(client, bucket, prefix);
    let mut out = Vec::new();
    while let Some(page) = listing.next_page().await {
        out.extend(page?);
    }
    Ok(out)
}
