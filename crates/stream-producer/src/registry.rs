//! The one place that maps `SOURCE` and `CURSOR_STORE` to an adapter: each choice's settings
//! are read by the adapter that owns them, and every question about a source (its name, whether
//! it keeps its own position, what an empty streak means) is answered by the source itself.
//! Adding a source is its module in `ks-sources`, one variant here and its README rows.

use std::path::PathBuf;

use ks_kernel::env::{ConfigError, Env};
use ks_producer::config::StartPosition;
use ks_producer::config::SyntheticConfig;
use ks_producer::synthetic::SyntheticSource;
use ks_producer::{
    Cursor, CursorError, CursorStore, FetchBudget, Fetched, Source, SourceError, SourceRecord,
};
use ks_sources::dynamodb::DynamoCursorStore;
use ks_sources::file::FileCursorStore;
use ks_sources::http::http_json::HttpJsonSource;
use ks_sources::http::http_json_config::HttpJsonConfig;
use ks_sources::http::mastodon::MastodonSource;
use ks_sources::http::mastodon_config::MastodonConfig;
use ks_sources::http::{Credential, FetchSettings, Fetcher};
use ks_sources::jetstream::{JetstreamConfig, JetstreamSource};
use ks_sources::ssm::{SecretError, SsmSecrets};

/// Why the function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Source(#[from] SourceError),
}

/// `SOURCE`: where records come from, with that source's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceConfig {
    Synthetic(SyntheticConfig),
    Mastodon(MastodonConfig),
    HttpJson(HttpJsonConfig),
    Jetstream(JetstreamConfig),
}

/// `SOURCE`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SourceKind {
    Synthetic,
    Mastodon,
    HttpJson,
    Jetstream,
}

impl SourceConfig {
    /// Reads `SOURCE`, then the chosen source's own variables.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<'_, F>) -> Result<Self, ConfigError> {
        let kind = env.choice(
            "SOURCE",
            "synthetic",
            &[
                ("synthetic", SourceKind::Synthetic),
                ("mastodon", SourceKind::Mastodon),
                ("http-json", SourceKind::HttpJson),
                ("jetstream", SourceKind::Jetstream),
            ],
        )?;
        Ok(match kind {
            SourceKind::Synthetic => SourceConfig::Synthetic(SyntheticConfig::from_env(env)?),
            SourceKind::Mastodon => SourceConfig::Mastodon(MastodonConfig::from_env(env)?),
            SourceKind::HttpJson => SourceConfig::HttpJson(HttpJsonConfig::from_env(env)?),
            SourceKind::Jetstream => SourceConfig::Jetstream(JetstreamConfig::from_env(env)?),
        })
    }

    pub fn kind(&self) -> &'static str {
        match self {
            SourceConfig::Synthetic(_) => "synthetic",
            SourceConfig::Mastodon(_) => "mastodon",
            SourceConfig::HttpJson(_) => "http-json",
            SourceConfig::Jetstream(_) => "jetstream",
        }
    }

    /// The cursor's key when `CURSOR_KEY` is unset, as the source names itself.
    pub fn cursor_key(&self) -> String {
        match self {
            SourceConfig::Synthetic(s) => s.cursor_key(),
            SourceConfig::Mastodon(m) => m.cursor_key(),
            SourceConfig::HttpJson(h) => h.cursor_key(),
            SourceConfig::Jetstream(j) => j.cursor_key(),
        }
    }

    /// Builds the source named `name`: secrets are looked up, and a Mastodon timeline the
    /// server reports closed stops the start here, naming the ways out. Each credential is
    /// scoped to its source's configured URL: no other origin gets it.
    pub async fn build(
        &self,
        name: String,
        start: StartPosition,
        fetch: &FetchSettings,
        secrets: &SsmSecrets,
    ) -> Result<AnySource, InitError> {
        Ok(match self {
            SourceConfig::Synthetic(s) => AnySource::Synthetic(s.source(name)),
            SourceConfig::Mastodon(m) => {
                let auth = match &m.token_param {
                    Some(param) => Some(Credential {
                        header: "Authorization".to_owned(),
                        value: format!("Bearer {}", secrets.get(param).await?),
                        url: m.base_url.clone(),
                    }),
                    None => None,
                };
                let fetcher = Fetcher::new(name, fetch.clone(), auth)?;
                let source = MastodonSource::new(fetcher, &m.base_url, m.page_limit)?
                    .reading(m.timeline.clone())
                    .starting_at(start);
                source.check_access().await?;
                AnySource::Mastodon(source)
            }
            SourceConfig::HttpJson(h) => {
                let auth = match &h.auth_param {
                    Some(param) => Some(Credential {
                        header: h.auth_header.clone(),
                        value: h.auth_value(&secrets.get(param).await?),
                        url: h.url.clone(),
                    }),
                    None => None,
                };
                let fetcher = Fetcher::new(name, fetch.clone(), auth)?;
                AnySource::HttpJson(HttpJsonSource::new(fetcher, h.clone())?.starting_at(start))
            }
            SourceConfig::Jetstream(j) => {
                AnySource::Jetstream(JetstreamSource::new(j.clone()).starting_at(start))
            }
        })
    }
}

/// The configured source as one type, so the handler is not generic.
#[derive(Debug, Clone)]
pub enum AnySource {
    Synthetic(SyntheticSource),
    Mastodon(MastodonSource),
    HttpJson(HttpJsonSource),
    Jetstream(JetstreamSource),
}

/// Calls `$call` on whichever source this is.
macro_rules! each_source {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnySource::Synthetic($s) => $call,
            AnySource::Mastodon($s) => $call,
            AnySource::HttpJson($s) => $call,
            AnySource::Jetstream($s) => $call,
        }
    };
}

impl Source for AnySource {
    fn name(&self) -> &str {
        each_source!(self, s => s.name())
    }

    fn keeps_position(&self) -> bool {
        each_source!(self, s => s.keeps_position())
    }

    fn empty_hint(&self) -> &'static str {
        each_source!(self, s => s.empty_hint())
    }

    fn position_after(&self, before: Option<&str>, delivered: &[&SourceRecord]) -> Option<String> {
        each_source!(self, s => s.position_after(before, delivered))
    }

    async fn fetch(
        &self,
        cursor: Option<&str>,
        budget: FetchBudget,
    ) -> Result<Fetched, SourceError> {
        each_source!(self, s => s.fetch(cursor, budget).await)
    }
}

/// `CURSOR_STORE`: where each source's cursor is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorConfig {
    /// One JSON file per cursor key in this directory (local runs, the embedded default).
    File { dir: PathBuf },
    /// One item per cursor key in this DynamoDB table (partition key `source`, a string).
    DynamoDb { table: String },
}

/// `CURSOR_STORE`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreKind {
    File,
    DynamoDb,
}

impl CursorConfig {
    /// Reads `CURSOR_STORE`, then the chosen store's own variables.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<'_, F>) -> Result<Self, ConfigError> {
        let kind = env.choice(
            "CURSOR_STORE",
            "file",
            &[("file", StoreKind::File), ("dynamodb", StoreKind::DynamoDb)],
        )?;
        Ok(match kind {
            StoreKind::DynamoDb => CursorConfig::DynamoDb {
                table: DynamoCursorStore::table_from_env(env)?,
            },
            StoreKind::File => CursorConfig::File {
                dir: FileCursorStore::dir_from_env(env),
            },
        })
    }

    /// The store, its calls each limited to `timeout`.
    pub fn build(&self, sdk: &aws_config::SdkConfig, timeout: std::time::Duration) -> AnyStore {
        match self {
            CursorConfig::File { dir } => AnyStore::File(FileCursorStore::new(dir)),
            CursorConfig::DynamoDb { table } => {
                let conf = DynamoCursorStore::configure(
                    aws_sdk_dynamodb::config::Builder::from(sdk),
                    timeout,
                );
                AnyStore::DynamoDb(DynamoCursorStore::new(
                    aws_sdk_dynamodb::Client::from_conf(conf.build()),
                    table,
                ))
            }
        }
    }
}

/// The configured cursor store as one type.
#[derive(Debug, Clone)]
pub enum AnyStore {
    File(FileCursorStore),
    DynamoDb(DynamoCursorStore),
}

impl CursorStore for AnyStore {
    async fn load(&self, key: &str) -> Result<Option<Cursor>, CursorError> {
        match self {
            AnyStore::File(s) => s.load(key).await,
            AnyStore::DynamoDb(s) => s.load(key).await,
        }
    }

    async fn save(
        &self,
        key: &str,
        expected: Option<&Cursor>,
        position: &str,
    ) -> Result<Cursor, CursorError> {
        match self {
            AnyStore::File(s) => s.save(key, expected, position).await,
            AnyStore::DynamoDb(s) => s.save(key, expected, position).await,
        }
    }
}
