//! The producer Lambda's settings, read once from the environment at cold start: the domain's
//! own ([`ProduceSettings`], `START_POSITION`), the chosen source's and cursor store's (read by
//! their adapters through the [registry](crate::registry)), and the function's (deadline
//! margin, metrics). A bad value stops the start with an error naming the variable. Every
//! variable is in the stream-producer README. A scheduled invocation may narrow some of them
//! ([`ks_producer::config::Overrides`]).

use std::time::Duration;

pub use ks_kernel::env::ConfigError;
use ks_kernel::env::Env;
use ks_producer::config::StartPosition;
use ks_producer::run::ProduceSettings;
use ks_sources::http::FetchSettings;

use crate::registry::{CursorConfig, SourceConfig};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerConfig {
    pub source: SourceConfig,
    /// Where a source with no cursor yet starts (`START_POSITION`).
    pub start_position: StartPosition,
    /// The cursor's key: one cursor per source.
    pub cursor_key: String,
    pub cursor: CursorConfig,
    pub stream_name: String,
    pub settings: ProduceSettings,
    /// How the HTTP sources fetch (read whatever the source).
    pub fetch: FetchSettings,
    /// Time kept back from the Lambda deadline for the checkpoint and the summary.
    pub deadline_margin: Duration,
    /// The most one cursor-store call (DynamoDB) may take: the checkpoint runs within
    /// `deadline_margin`, so this should stay below it.
    pub cursor_timeout: Duration,
    pub metrics_namespace: String,
    /// Empty runs in a row (fetch caught up with zero records) after which each further empty
    /// run logs a warning (`SOURCE_EMPTY_WARN_RUNS`).
    pub source_empty_warn_runs: u64,
}

/// The defaults of the settings that belong to the function rather than to one part, written once.
pub const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_millis(2_000);
/// See [`DEFAULT_DEADLINE_MARGIN`].
pub const DEFAULT_CURSOR_TIMEOUT: Duration = Duration::from_millis(1_500);
/// See [`DEFAULT_DEADLINE_MARGIN`]. At a one-minute schedule, ten minutes of nothing.
pub const DEFAULT_SOURCE_EMPTY_WARN_RUNS: u64 = 10;

impl ProducerConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let source = SourceConfig::from_env(&env)?;
        let cursor_key = env.get("CURSOR_KEY").unwrap_or_else(|| source.cursor_key());
        let stream_name = env.get("STREAM_NAME").ok_or_else(|| {
            env.invalid("STREAM_NAME", "required: the Kinesis stream to put into")
        })?;
        Ok(ProducerConfig {
            source,
            start_position: env.choice(
                "START_POSITION",
                StartPosition::default().as_str(),
                &StartPosition::CHOICES,
            )?,
            cursor_key,
            cursor: CursorConfig::from_env(&env)?,
            stream_name,
            settings: ProduceSettings::from_env(&env)?,
            fetch: FetchSettings::from_env(&env)?,
            cursor_timeout: env.millis(
                "CURSOR_TIMEOUT_MS",
                DEFAULT_CURSOR_TIMEOUT,
                100..=60_000,
            )?,
            deadline_margin: env.deadline_margin(DEFAULT_DEADLINE_MARGIN, 0..=600_000)?,
            metrics_namespace: env.metrics_namespace(),
            source_empty_warn_runs: env.number(
                "SOURCE_EMPTY_WARN_RUNS",
                DEFAULT_SOURCE_EMPTY_WARN_RUNS,
                1..=100_000,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use ks_producer::batch::PackLimits;
    use ks_producer::config::Overrides;
    use ks_producer::config::SyntheticConfig;
    use ks_sources::http::mastodon_config::{MastodonConfig, MastodonTimeline};
    use serde_json::json;

    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<ProducerConfig, ConfigError> {
        ProducerConfig::from_lookup(ks_kernel::env::fixed(vars))
    }

    #[test]
    fn jetstream_reads_its_urls_collections_and_cursor_key() {
        // GIVEN SOURCE=jetstream with fallbacks and two collections
        let c = ProducerConfig::from_lookup(ks_kernel::env::fixed(&[
            ("SOURCE", "jetstream"),
            ("STREAM_NAME", "s"),
            ("JETSTREAM_URL", "ws://127.0.0.1:9/subscribe"),
            (
                "JETSTREAM_FALLBACK_URLS",
                "wss://a.example/subscribe, wss://b.example/subscribe",
            ),
            (
                "JETSTREAM_COLLECTIONS",
                "app.bsky.feed.post,app.bsky.graph.*",
            ),
        ]))
        .unwrap();
        let SourceConfig::Jetstream(j) = &c.source else {
            panic!("{:?}", c.source)
        };
        assert_eq!(j.urls.len(), 3);
        assert_eq!(j.collections, ["app.bsky.feed.post", "app.bsky.graph.*"]);
        assert_eq!(c.cursor_key, "jetstream:127.0.0.1:9");
        // AND the default is the public instance
        let c = ProducerConfig::from_lookup(ks_kernel::env::fixed(&[
            ("SOURCE", "jetstream"),
            ("STREAM_NAME", "s"),
        ]))
        .unwrap();
        assert_eq!(c.cursor_key, "jetstream:jetstream2.us-east.bsky.network");
        // AND bad values name their variable
        for (var, value) in [
            (
                "JETSTREAM_URL",
                "https://jetstream2.us-east.bsky.network/subscribe",
            ),
            ("JETSTREAM_FALLBACK_URLS", "wss://ok/subscribe,ftp://x"),
            ("JETSTREAM_COLLECTIONS", "posts"),
            ("JETSTREAM_REPLAY_MS", "-1"),
        ] {
            let err = ProducerConfig::from_lookup(ks_kernel::env::fixed(&[
                ("SOURCE", "jetstream"),
                ("STREAM_NAME", "s"),
                (var, value),
            ]))
            .unwrap_err();
            assert_eq!(err.var, var, "{err}");
        }
    }

    #[test]
    fn defaults_need_only_the_stream() {
        // GIVEN just STREAM_NAME WHEN loaded THEN the synthetic source, file cursor, AWS limits
        let c = load(&[("STREAM_NAME", "posts")]).unwrap();
        assert_eq!(c.stream_name, "posts");
        assert_eq!(
            c.source,
            SourceConfig::Synthetic(SyntheticConfig {
                seed: 42,
                per_invocation: 500,
                rate_per_sec: 50,
                delete_every: 50
            })
        );
        assert_eq!(c.cursor_key, "synthetic:42");
        assert_eq!(
            c.cursor,
            CursorConfig::File {
                dir: "/tmp/stream-producer".into()
            }
        );
        assert_eq!(c.settings.limits, PackLimits::default());
        assert_eq!(c.settings.aggregation, None);
        assert_eq!(c.settings.delivery.retry.max_attempts, 8);
        assert_eq!((c.settings.max_pages, c.settings.max_records), (10, 5_000));
        assert_eq!(c.fetch.max_response_bytes, 5 * 1024 * 1024);
        assert_eq!(c.deadline_margin, Duration::from_secs(2));
    }

    #[test]
    fn every_setting_is_read() {
        let c = load(&[
            ("STREAM_NAME", "s"),
            ("SOURCE", "http-json"),
            ("HTTP_JSON_URL", "https://api.example/v1/items?x=1"),
            ("HTTP_JSON_RECORDS_POINTER", "/data/items"),
            ("HTTP_JSON_ID_POINTER", "/uid"),
            ("HTTP_JSON_CURSOR_PARAM", "since"),
            ("HTTP_JSON_NEXT_POINTER", "/next"),
            ("HTTP_JSON_NEXT_PARAM", "page_token"),
            ("HTTP_JSON_PAGE_ORDER", "oldest-first"),
            ("HTTP_JSON_AUTH_HEADER", "X-Api-Key"),
            ("HTTP_JSON_AUTH_SCHEME", "Token"),
            (
                "HTTP_JSON_AUTH_PARAM",
                "/aws/reference/secretsmanager/api-key",
            ),
            ("CURSOR_STORE", "dynamodb"),
            ("CURSOR_TABLE", "cursors"),
            ("MAX_REQUEST_BYTES", "10485760"),
            ("MAX_RECORD_BYTES", "2097152"),
            ("MAX_RECORDS_PER_REQUEST", "250"),
            ("AGGREGATION", "true"),
            ("AGGREGATION_MAX_BYTES", "25600"),
            ("PARTITION_KEY_POINTER", "/user/id"),
            ("EXPLICIT_HASH_KEY_POINTER", "/ehk"),
            ("PUT_MAX_ATTEMPTS", "3"),
            ("PUT_TIMEOUT_MS", "500"),
            ("MAX_PAGES", "2"),
            ("MAX_RECORDS", "100"),
            ("FETCH_TIMEOUT_MS", "1500"),
            ("MAX_RESPONSE_BYTES", "65536"),
            ("FETCH_MAX_ATTEMPTS", "2"),
            ("PUT_RESERVE_MS", "3000"),
            ("DEADLINE_MARGIN_MS", "100"),
            ("METRICS_NAMESPACE", "X"),
        ])
        .unwrap();
        let SourceConfig::HttpJson(h) = &c.source else {
            panic!("{:?}", c.source)
        };
        assert_eq!(h.records_pointer, "/data/items");
        assert_eq!(h.id_pointer, "/uid");
        assert_eq!(h.cursor_param.as_deref(), Some("since"));
        assert_eq!(h.next_param.as_deref(), Some("page_token"));
        assert!(h.oldest_first);
        assert_eq!(h.auth_header, "X-Api-Key");
        assert_eq!(
            h.auth_param.as_deref(),
            Some("/aws/reference/secretsmanager/api-key")
        );
        assert_eq!(c.cursor_key, "http-json:https://api.example/v1/items");
        assert_eq!(
            c.cursor,
            CursorConfig::DynamoDb {
                table: "cursors".into()
            }
        );
        assert_eq!(
            c.settings.limits,
            PackLimits {
                max_records: 250,
                max_request_bytes: 10_485_760,
                max_record_bytes: 2_097_152
            }
        );
        assert_eq!(c.settings.aggregation, Some(25_600));
        assert_eq!(c.settings.keying.partition_key.as_deref(), Some("/user/id"));
        assert_eq!(c.settings.delivery.retry.max_attempts, 3);
        assert_eq!(c.settings.delivery.call_timeout, Duration::from_millis(500));
        assert_eq!((c.settings.max_pages, c.settings.max_records), (2, 100));
        assert_eq!(c.fetch.timeout, Duration::from_millis(1_500));
        assert_eq!(c.fetch.retry.max_attempts, 2);
        assert_eq!(c.settings.put_reserve, Duration::from_secs(3));
        assert_eq!(c.metrics_namespace, "X");
    }

    #[test]
    fn mastodon_needs_a_url_and_keys_its_cursor_by_host() {
        let c = load(&[
            ("STREAM_NAME", "s"),
            ("SOURCE", "mastodon"),
            ("MASTODON_URL", "https://mastodon.social/"),
        ])
        .unwrap();
        assert_eq!(c.cursor_key, "mastodon:mastodon.social");
        let SourceConfig::Mastodon(m) = c.source else {
            panic!()
        };
        assert_eq!((m.page_limit, m.timeline), (40, MastodonTimeline::Public));
    }

    fn mastodon_with(vars: &[(&'static str, &'static str)]) -> Result<MastodonConfig, ConfigError> {
        let mut all = vec![
            ("STREAM_NAME", "s"),
            ("SOURCE", "mastodon"),
            ("MASTODON_URL", "https://m.example"),
        ];
        all.extend_from_slice(vars);
        match load(&all)?.source {
            SourceConfig::Mastodon(m) => Ok(m),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mastodon_timeline_reads_its_four_kinds() {
        // GIVEN each kind of MASTODON_TIMELINE WHEN loaded THEN that timeline, written back alike
        for (value, expected) in [
            ("public", MastodonTimeline::Public),
            ("LOCAL", MastodonTimeline::Local),
            ("remote", MastodonTimeline::Remote),
            ("tag:rustlang", MastodonTimeline::Tag("rustlang".into())),
            ("Tag:Café", MastodonTimeline::Tag("Café".into())),
        ] {
            let m = mastodon_with(&[("MASTODON_TIMELINE", value)]).unwrap();
            assert_eq!(m.timeline, expected, "{value}");
            assert_eq!(
                MastodonTimeline::parse(&m.timeline.to_string()),
                Ok(expected)
            );
        }
        // AND unset is the federated timeline
        assert_eq!(
            mastodon_with(&[]).unwrap().timeline,
            MastodonTimeline::Public
        );
    }

    #[test]
    fn a_bad_mastodon_timeline_or_the_old_flag_names_the_variable() {
        // GIVEN values that are no timeline, or hashtags that cannot be one path segment
        for (value, needle) in [
            ("federated", "public, local, remote, tag:<hashtag>"),
            ("tag:", "needs a hashtag"),
            ("tag:#rust", "without '#'"),
            ("tag:a/b", "no '/'"),
            ("tag:two words", "spaces"),
        ] {
            // WHEN loaded THEN an error naming MASTODON_TIMELINE and why
            let err = mastodon_with(&[("MASTODON_TIMELINE", value)]).unwrap_err();
            assert_eq!(err.var, "MASTODON_TIMELINE", "{err}");
            assert!(err.to_string().contains(needle), "{err}");
        }
        // GIVEN the replaced MASTODON_LOCAL, alone or beside MASTODON_TIMELINE
        for vars in [
            vec![("MASTODON_LOCAL", "true")],
            vec![("MASTODON_LOCAL", "false"), ("MASTODON_TIMELINE", "local")],
        ] {
            // THEN it is refused, saying what replaces it
            let err = mastodon_with(&vars).unwrap_err();
            assert_eq!(err.var, "MASTODON_LOCAL", "{err}");
            assert!(err.to_string().contains("MASTODON_TIMELINE=local"), "{err}");
        }
    }

    #[test]
    fn source_empty_warn_runs_defaults_to_10_and_is_range_checked() {
        assert_eq!(
            load(&[("STREAM_NAME", "s")])
                .unwrap()
                .source_empty_warn_runs,
            10
        );
        let c = load(&[("STREAM_NAME", "s"), ("SOURCE_EMPTY_WARN_RUNS", "3")]).unwrap();
        assert_eq!(c.source_empty_warn_runs, 3);
        let err = load(&[("STREAM_NAME", "s"), ("SOURCE_EMPTY_WARN_RUNS", "0")]).unwrap_err();
        assert_eq!(err.var, "SOURCE_EMPTY_WARN_RUNS", "{err}");
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (vars, var, needle) in [
            (vec![], "STREAM_NAME", "required"),
            (
                vec![("SOURCE", "twitter")],
                "SOURCE",
                "synthetic, mastodon, http-json",
            ),
            (vec![("SOURCE", "mastodon")], "MASTODON_URL", "required"),
            (
                vec![("SOURCE", "mastodon"), ("MASTODON_URL", "mastodon.social")],
                "MASTODON_URL",
                "http:// or https://",
            ),
            (
                vec![
                    ("SOURCE", "mastodon"),
                    ("MASTODON_URL", "https://m.s"),
                    ("MASTODON_PAGE_LIMIT", "80"),
                ],
                "MASTODON_PAGE_LIMIT",
                "between 1 and 40",
            ),
            (
                vec![("MAX_RECORDS_PER_REQUEST", "501")],
                "MAX_RECORDS_PER_REQUEST",
                "between 1 and 500",
            ),
            (
                vec![("MAX_REQUEST_BYTES", "20000000")],
                "MAX_REQUEST_BYTES",
                "between 1024 and 10485760",
            ),
            (
                vec![("MAX_REQUEST_BYTES", "2048"), ("MAX_RECORD_BYTES", "4096")],
                "MAX_RECORD_BYTES",
                "must not exceed MAX_REQUEST_BYTES",
            ),
            (vec![("AGGREGATION", "yes")], "AGGREGATION", "false, true"),
            (
                vec![
                    ("AGGREGATION", "true"),
                    ("AGGREGATION_MAX_BYTES", "2000000"),
                ],
                "AGGREGATION_MAX_BYTES",
                "must not exceed MAX_RECORD_BYTES",
            ),
            (
                vec![("PARTITION_KEY_POINTER", "user")],
                "PARTITION_KEY_POINTER",
                "start with '/'",
            ),
            (
                vec![("CURSOR_STORE", "dynamodb")],
                "CURSOR_TABLE",
                "required",
            ),
            (
                vec![
                    ("PUT_BACKOFF_BASE_MS", "500"),
                    ("PUT_BACKOFF_CAP_MS", "100"),
                ],
                "PUT_BACKOFF_CAP_MS",
                "PUT_BACKOFF_BASE_MS",
            ),
            (
                vec![("MAX_PAGES", "lots")],
                "MAX_PAGES",
                "not a whole number",
            ),
            (
                vec![
                    ("SOURCE", "http-json"),
                    ("HTTP_JSON_URL", "https://a.b"),
                    ("HTTP_JSON_NEXT_PARAM", "p"),
                ],
                "HTTP_JSON_NEXT_PARAM",
                "HTTP_JSON_NEXT_POINTER",
            ),
        ] {
            let mut vars = vars;
            if var != "STREAM_NAME" {
                vars.push(("STREAM_NAME", "s"));
            }
            let err = load(&vars).unwrap_err();
            assert_eq!(err.var, var, "{err}");
            let msg = err.to_string();
            assert!(msg.contains(var) && msg.contains(needle), "{msg}");
        }
    }

    #[test]
    fn start_position_is_latest_unless_set_to_oldest() {
        // GIVEN no START_POSITION WHEN loaded THEN latest (today's behaviour)
        let c = load(&[("STREAM_NAME", "s")]).unwrap();
        assert_eq!(c.start_position, StartPosition::Latest);
        // GIVEN oldest, in any case THEN oldest
        for v in ["oldest", "OLDEST"] {
            let c = load(&[("STREAM_NAME", "s"), ("START_POSITION", v)]).unwrap();
            assert_eq!(c.start_position, StartPosition::Oldest, "{v}");
        }
        // GIVEN Kinesis' own word for it THEN an error naming the variable and the choices
        let err = load(&[("STREAM_NAME", "s"), ("START_POSITION", "trim_horizon")]).unwrap_err();
        assert_eq!(err.var, "START_POSITION");
        assert!(err.to_string().contains("latest, oldest"), "{err}");
    }

    #[test]
    fn a_default_cursor_key_never_holds_userinfo() {
        // GIVEN source URLs with credentials in their userinfo
        let m = load(&[
            ("STREAM_NAME", "s"),
            ("SOURCE", "mastodon"),
            ("MASTODON_URL", "https://bot:pw@m.example/"),
        ])
        .unwrap();
        let h = load(&[
            ("STREAM_NAME", "s"),
            ("SOURCE", "http-json"),
            (
                "HTTP_JSON_URL",
                "https://user:pw@api.example/v1/items?api_key=k",
            ),
        ])
        .unwrap();
        // WHEN the cursor key (also the source's name in every log line) is derived
        // THEN it names the host and path only
        assert_eq!(m.cursor_key, "mastodon:m.example");
        assert_eq!(h.cursor_key, "http-json:https://api.example/v1/items");
    }

    #[test]
    fn an_invocation_input_may_narrow_the_budget() {
        // GIVEN a Scheduler custom input overriding the page budget
        let c = load(&[("STREAM_NAME", "s")]).unwrap();
        let (o, ignored) =
            Overrides::from_input(&json!({"max_pages": 2, "max_records": 50, "note": "hourly"}))
                .unwrap();
        // WHEN applied THEN the budget changes and nothing else
        let s = o.apply(&c.settings);
        assert_eq!((s.max_pages, s.max_records), (2, 50));
        assert_eq!(s.limits, c.settings.limits);
        assert_eq!(ignored, ["note"]);
        // AND an EventBridge envelope, null or a string carries no overrides
        for input in [json!(null), json!("tick"), json!([1])] {
            assert_eq!(
                Overrides::from_input(&input).unwrap().0,
                Overrides::default()
            );
        }
        // AND a bad value is an error naming the key
        let err = Overrides::from_input(&json!({"max_pages": 0})).unwrap_err();
        assert_eq!(err.var, "max_pages");
        let err = Overrides::from_input(&json!({"max_records": "many"})).unwrap_err();
        assert!(err.to_string().contains("max_records"), "{err}");
    }
}
