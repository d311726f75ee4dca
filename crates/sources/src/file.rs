//! Cursors in local files, one JSON file per source key: the embedded default and local runs.
//! A write goes to a temporary file in the same directory and is renamed over the old one, so a
//! crash leaves the old cursor or the new one, never half of either. An exclusive lock on a
//! side file makes the read-compare-write atomic across processes on this machine.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use ks_producer::{Cursor, CursorError, CursorStore};

#[derive(Debug, Clone)]
pub struct FileCursorStore {
    dir: PathBuf,
}

/// Where cursors live when `CURSOR_STORE=file` and `CURSOR_DIR` is unset.
pub const DEFAULT_CURSOR_DIR: &str = "/tmp/stream-producer";

impl FileCursorStore {
    /// `CURSOR_DIR`: the directory of the cursor files.
    pub fn dir_from_env<F: Fn(&str) -> Option<String>>(
        env: &ks_kernel::env::Env<'_, F>,
    ) -> PathBuf {
        PathBuf::from(
            env.get("CURSOR_DIR")
                .unwrap_or_else(|| DEFAULT_CURSOR_DIR.to_owned()),
        )
    }

    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileCursorStore { dir: dir.into() }
    }

    /// The file holding `key`'s cursor: the key with anything but `[A-Za-z0-9._-]` replaced,
    /// plus a hash of the original so distinct keys never share a file.
    pub fn path(&self, key: &str) -> PathBuf {
        let safe: String = key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .take(100)
            .collect();
        // FNV-1a: stable across runs and builds, unlike std's hasher.
        let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        self.dir.join(format!("{safe}-{hash:016x}.json"))
    }

    fn read(path: &Path, key: &str) -> Result<Option<Cursor>, CursorError> {
        match fs::read(path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| CursorError::Corrupt {
                        key: key.to_owned(),
                        reason: format!("{}: {e}", path.display()),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(unavailable(key, path, e)),
        }
    }
}

fn unavailable(key: &str, path: &Path, e: std::io::Error) -> CursorError {
    CursorError::Unavailable {
        key: key.to_owned(),
        reason: format!("{}: {e}", path.display()),
    }
}

impl CursorStore for FileCursorStore {
    async fn load(&self, key: &str) -> Result<Option<Cursor>, CursorError> {
        let path = self.path(key);
        let key = key.to_owned();
        tokio::task::spawn_blocking(move || Self::read(&path, &key))
            .await
            .map_err(|e| CursorError::Unavailable {
                key: String::new(),
                reason: e.to_string(),
            })?
    }

    async fn save(
        &self,
        key: &str,
        expected: Option<&Cursor>,
        position: &str,
    ) -> Result<Cursor, CursorError> {
        let (dir, path, key, expected, position) = (
            self.dir.clone(),
            self.path(key),
            key.to_owned(),
            expected.cloned(),
            position.to_owned(),
        );
        tokio::task::spawn_blocking(move || {
            fs::create_dir_all(&dir).map_err(|e| unavailable(&key, &dir, e))?;
            let lock_path = path.with_extension("lock");
            let lock = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(|e| unavailable(&key, &lock_path, e))?;
            lock.lock().map_err(|e| unavailable(&key, &lock_path, e))?;
            if Self::read(&path, &key)? != expected {
                return Err(CursorError::Conflict {
                    key,
                    expected: expected.map_or(0, |c| c.version),
                });
            }
            let next = Cursor {
                position,
                version: expected.map_or(1, |c| c.version + 1),
            };
            let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
            let write = || -> std::io::Result<()> {
                let mut f = File::create(&tmp)?;
                f.write_all(&serde_json::to_vec(&next).map_err(std::io::Error::other)?)?;
                // Durable before it replaces the old cursor.
                f.sync_all()?;
                fs::rename(&tmp, &path)
            };
            write().map_err(|e| {
                let _ = fs::remove_file(&tmp);
                unavailable(&key, &path, e)
            })?;
            Ok(next)
        })
        .await
        .map_err(|e| CursorError::Unavailable {
            key: String::new(),
            reason: e.to_string(),
        })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cursor_survives_a_new_store_and_stale_writes_are_refused() {
        // GIVEN an empty directory
        let dir = tempfile::tempdir().unwrap();
        let store = FileCursorStore::new(dir.path().join("cursors"));
        assert_eq!(store.load("mastodon:example.social").await.unwrap(), None);
        // WHEN a cursor is written and advanced
        let c1 = store
            .save("mastodon:example.social", None, "100")
            .await
            .unwrap();
        let c2 = store
            .save("mastodon:example.social", Some(&c1), "200")
            .await
            .unwrap();
        // THEN a fresh store reads the latest, and a writer holding the old one is refused
        let again = FileCursorStore::new(dir.path().join("cursors"));
        assert_eq!(
            again.load("mastodon:example.social").await.unwrap(),
            Some(c2.clone())
        );
        let err = again
            .save("mastodon:example.social", Some(&c1), "150")
            .await
            .unwrap_err();
        assert!(
            matches!(err, CursorError::Conflict { expected: 1, .. }),
            "{err}"
        );
        assert!(matches!(
            again.save("mastodon:example.social", None, "1").await,
            Err(CursorError::Conflict { .. })
        ));
        // AND no temporary files are left behind
        let names: Vec<String> = fs::read_dir(dir.path().join("cursors"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
    }

    #[test]
    fn keys_map_to_distinct_safe_file_names() {
        let store = FileCursorStore::new("/x");
        let a = store.path("http-json:https://a.example/v1?x=1");
        let b = store.path("http-json:https://a.example/v1?x=2");
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
            "{name}"
        );
    }

    #[tokio::test]
    async fn a_corrupt_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileCursorStore::new(dir.path());
        fs::write(store.path("k"), b"{not json").unwrap();
        let err = store.load("k").await.unwrap_err();
        assert!(
            matches!(&err, CursorError::Corrupt { reason, .. } if reason.contains(".json")),
            "{err}"
        );
    }
}
