//! The data bucket as the purge engine's [`Bucket`]: ListObjectsV2 (paginated), GetObject,
//! PutObject (atomic: a reader sees the old object or the new one) and DeleteObject.

use std::io;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use ks_kernel::error::describe;
use ks_purge::Bucket;
use ks_purge::store::ObjectInfo;

/// One S3 bucket.
#[derive(Debug, Clone)]
pub struct S3Bucket {
    client: Client,
    bucket: String,
}

impl S3Bucket {
    pub fn new(client: Client, bucket: &str) -> Self {
        S3Bucket {
            client,
            bucket: bucket.to_owned(),
        }
    }

    /// Client settings: a stalled transfer fails instead of hanging (the shared S3 timeouts).
    pub fn configure(builder: aws_sdk_s3::config::Builder) -> aws_sdk_s3::config::Builder {
        builder.timeout_config(ks_aws::s3_timeouts())
    }

    fn error(&self, op: &str, key: &str, e: impl std::error::Error) -> io::Error {
        io::Error::other(format!("{op} s3://{}/{key}: {}", self.bucket, describe(&e)))
    }
}

impl Bucket for S3Bucket {
    async fn list(&self, prefix: &str) -> io::Result<Vec<ObjectInfo>> {
        let listed = ks_s3::list_all(&self.client, &self.bucket, prefix)
            .await
            .map_err(io::Error::other)?;
        Ok(listed
            .into_iter()
            .map(|o| ObjectInfo {
                key: o.key,
                size: o.size,
            })
            .collect())
    }

    async fn get(&self, key: &str) -> io::Result<Option<Vec<u8>>> {
        let answer = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        let object = match answer {
            Ok(o) => o,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(self.error("GetObject", key, e)),
        };
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| self.error("GetObject", key, e))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    async fn put(&self, key: &str, body: Vec<u8>) -> io::Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| self.error("PutObject", key, e))?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.error("DeleteObject", key, e))?;
        Ok(())
    }
}
