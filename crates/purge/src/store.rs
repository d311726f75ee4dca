//! Where the objects are: the bucket trait the purge runs over, and a directory laid out like
//! a bucket (the local output of `make demo` and `kinesis-sentiment firehose`). The S3 bucket
//! is the deletion-purge Lambda's.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};

/// One object as a listing gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
}

/// A bucket: list, read, replace and delete whole objects. A replace is atomic: a reader sees
/// the old object or the new one, never a part (S3's PutObject; a rename here).
pub trait Bucket: Sync {
    /// Every object whose key starts with `prefix`, in key order.
    fn list(&self, prefix: &str) -> impl Future<Output = io::Result<Vec<ObjectInfo>>> + Send;

    /// The whole object; `None` when there is none under `key`.
    fn get(&self, key: &str) -> impl Future<Output = io::Result<Option<Vec<u8>>>> + Send;

    /// Writes `body` as the object `key`, replacing any object there at once.
    fn put(&self, key: &str, body: Vec<u8>) -> impl Future<Output = io::Result<()>> + Send;

    fn delete(&self, key: &str) -> impl Future<Output = io::Result<()>> + Send;
}

/// A directory whose files are the objects, keyed by their path below it (`/`-separated).
#[derive(Debug, Clone)]
pub struct LocalDir {
    root: PathBuf,
}

/// Files the directory's writes leave while they run; never objects.
const TEMP_MARK: &str = ".purge-tmp-";

impl LocalDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalDir { root: root.into() }
    }

    /// The path of `key`, refused if it could leave the directory.
    fn path(&self, key: &str) -> io::Result<PathBuf> {
        let bad = key.is_empty()
            || key.starts_with('/')
            || key
                .split('/')
                .any(|p| p.is_empty() || p == "." || p == "..");
        if bad {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{key:?} is not a key inside the directory"),
            ));
        }
        Ok(self.root.join(key))
    }

    fn walk(&self, dir: &Path, out: &mut Vec<ObjectInfo>) -> io::Result<()> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                self.walk(&entry.path(), out)?;
            } else if kind.is_file() {
                let path = entry.path();
                let Ok(rel) = path.strip_prefix(&self.root) else {
                    continue;
                };
                let key = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                if !key.contains(TEMP_MARK) {
                    out.push(ObjectInfo {
                        key,
                        size: entry.metadata()?.len(),
                    });
                }
            }
        }
        Ok(())
    }
}

impl Bucket for LocalDir {
    async fn list(&self, prefix: &str) -> io::Result<Vec<ObjectInfo>> {
        let mut out = Vec::new();
        self.walk(&self.root, &mut out)?;
        out.retain(|o| o.key.starts_with(prefix));
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn get(&self, key: &str) -> io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.path(key)?) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Written beside the object, synced, then renamed over it: a crash leaves the old object
    /// or the new one (and at most a temporary file, never listed as an object).
    async fn put(&self, key: &str, body: Vec<u8>) -> io::Result<()> {
        use std::io::Write as _;
        let path = self.path(key)?;
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir)?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let tmp = dir.join(format!(
            "{}{TEMP_MARK}{:016x}",
            name.unwrap_or_default(),
            fastrand::u64(..)
        ));
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&body)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        match std::fs::remove_file(self.path(key)?) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_directory_lists_reads_replaces_and_deletes_like_a_bucket() {
        // GIVEN an empty directory
        let dir = tempfile::tempdir().unwrap();
        let b = LocalDir::new(dir.path());
        // WHEN objects are put, one replaced and one deleted
        b.put("a/1", b"one".to_vec()).await.unwrap();
        b.put("a/2", b"two".to_vec()).await.unwrap();
        b.put("b/3", b"three".to_vec()).await.unwrap();
        b.put("a/1", b"ONE".to_vec()).await.unwrap();
        b.delete("a/2").await.unwrap();
        // THEN listings and reads say so, with no temporary file left
        let keys: Vec<String> = b
            .list("")
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert_eq!(keys, ["a/1", "b/3"]);
        assert_eq!(b.get("a/1").await.unwrap().unwrap(), b"ONE");
        assert_eq!(b.get("a/2").await.unwrap(), None);
        assert_eq!(b.list("b/").await.unwrap().len(), 1);
        // AND keys that could leave the directory are refused
        for bad in ["../x", "/etc/passwd", "a//b", "a/./b"] {
            assert!(b.put(bad, Vec::new()).await.is_err(), "{bad}");
        }
    }
}
