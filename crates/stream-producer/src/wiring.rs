//! The configured source and cursor store as one type each, so the handler is not generic.

use ks_adapters::dynamodb::DynamoCursorStore;
use ks_adapters::file::FileCursorStore;
use ks_adapters::http::http_json::HttpJsonSource;
use ks_adapters::http::mastodon::MastodonSource;
use ks_adapters::jetstream::JetstreamSource;
use ks_adapters::ssm::SecretError;
use ks_producer::config::ConfigError;
use ks_producer::synthetic::SyntheticSource;
use ks_producer::{
    Cursor, CursorError, CursorStore, FetchBudget, Fetched, Source, SourceError, SourceRecord,
};

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

#[derive(Debug, Clone)]
pub enum AnySource {
    Synthetic(SyntheticSource),
    Mastodon(MastodonSource),
    HttpJson(HttpJsonSource),
    Jetstream(JetstreamSource),
}

impl Source for AnySource {
    fn name(&self) -> &str {
        match self {
            AnySource::Synthetic(s) => s.name(),
            AnySource::Mastodon(s) => s.name(),
            AnySource::HttpJson(s) => s.name(),
            AnySource::Jetstream(s) => s.name(),
        }
    }

    fn keeps_position(&self) -> bool {
        matches!(self, AnySource::Jetstream(_))
    }

    fn position_after(&self, before: Option<&str>, delivered: &[&SourceRecord]) -> Option<String> {
        match self {
            AnySource::Jetstream(s) => s.position_after(before, delivered),
            AnySource::Synthetic(_) | AnySource::Mastodon(_) | AnySource::HttpJson(_) => None,
        }
    }

    async fn fetch(
        &self,
        cursor: Option<&str>,
        budget: FetchBudget,
    ) -> Result<Fetched, SourceError> {
        match self {
            AnySource::Synthetic(s) => s.fetch(cursor, budget).await,
            AnySource::Mastodon(s) => s.fetch(cursor, budget).await,
            AnySource::HttpJson(s) => s.fetch(cursor, budget).await,
            AnySource::Jetstream(s) => s.fetch(cursor, budget).await,
        }
    }
}

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
