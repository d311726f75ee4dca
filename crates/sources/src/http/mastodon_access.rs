//! Whether a Mastodon server serves the configured timeline to this producer, read from what
//! the server says of itself: `configuration.timelines_access` in `GET /api/v2/instance`
//! (Mastodon 4.5 and later), `{live_feeds, hashtag_feeds, trending_link_feeds}.{local, remote}`,
//! each `public`, `authenticated` or `disabled`. Pure: [`crate::http::mastodon`] does the I/O.
//! <https://docs.joinmastodon.org/entities/Instance/#timelines_access>
//!
//! How the settings are read, as Mastodon 4.5's timeline controllers and feeds apply them:
//! - `?local=true` needs `live_feeds.local`, `?remote=true` `live_feeds.remote`.
//! - The federated timeline (neither parameter) asks for a signed-in user as soon as either
//!   half is not `public`; with a user, a half the user may not read is left out, and when
//!   neither may be read the answer is empty. So it needs both halves: one half closed would
//!   make it the other timeline under this one's name, which is reported rather than read.
//! - A tag timeline is gated the same way by `hashtag_feeds.local` and `.remote`.
//! - `authenticated` is open to a token of a signed-in user; `disabled` only to the server's
//!   staff (the View Feeds permission), so it is read as closed whatever the token.
//!
//! A setting the server does not report, or reports with a value not listed above, decides
//! nothing: the timeline is read as before, and its answers (an error, or runs that stay empty)
//! tell the rest.

use crate::http::mastodon_config::MastodonTimeline;
use serde_json::Value;

/// One access setting as the server reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    Public,
    Authenticated,
    Disabled,
    /// A value this producer does not know (a later Mastodon's).
    Other(String),
}

impl Access {
    fn read(v: &Value) -> Option<Access> {
        Some(match v.as_str()? {
            "public" => Access::Public,
            "authenticated" => Access::Authenticated,
            "disabled" => Access::Disabled,
            other => Access::Other(other.to_owned()),
        })
    }

    pub fn as_str(&self) -> &str {
        match self {
            Access::Public => "public",
            Access::Authenticated => "authenticated",
            Access::Disabled => "disabled",
            Access::Other(v) => v,
        }
    }
}

/// `configuration.timelines_access` of one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelinesAccess(Value);

/// Where the settings sit in the instance document, for messages.
const FIELD: &str = "configuration.timelines_access";

/// One setting a timeline needs: its name as the server reports it, and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// E.g. `configuration.timelines_access.live_feeds.local`.
    pub name: String,
    pub access: Option<Access>,
}

impl std::fmt::Display for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.access {
            Some(a) => write!(f, "{} = {}", self.name, a.as_str()),
            None => write!(f, "{} (not reported)", self.name),
        }
    }
}

/// What the settings say of one timeline, for a request with or without a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every setting it needs lets the request in.
    Open,
    /// These settings keep it out.
    Closed(Vec<Setting>),
    /// None keeps it out, but these are not reported or have unknown values.
    Unknown(Vec<Setting>),
}

impl TimelinesAccess {
    /// From an instance document; `None` when it has no `configuration.timelines_access`
    /// object (a server before Mastodon 4.5).
    pub fn from_instance(doc: &Value) -> Option<Self> {
        doc.pointer("/configuration/timelines_access")
            .filter(|v| v.is_object())
            .map(|v| TimelinesAccess(v.clone()))
    }

    fn setting(&self, feed: &str, side: &str) -> Setting {
        Setting {
            name: format!("{FIELD}.{feed}.{side}"),
            access: self
                .0
                .get(feed)
                .and_then(|f| f.get(side))
                .and_then(Access::read),
        }
    }

    /// The settings `timeline` is served under (see the module docs).
    pub fn settings_for(&self, timeline: &MastodonTimeline) -> Vec<Setting> {
        let sides: &[(&str, &str)] = match timeline {
            MastodonTimeline::Public => &[("live_feeds", "local"), ("live_feeds", "remote")],
            MastodonTimeline::Local => &[("live_feeds", "local")],
            MastodonTimeline::Remote => &[("live_feeds", "remote")],
            MastodonTimeline::Tag(_) => &[("hashtag_feeds", "local"), ("hashtag_feeds", "remote")],
        };
        sides.iter().map(|(f, s)| self.setting(f, s)).collect()
    }

    /// Whether `timeline` is served to a request with (`token`) or without a user's token.
    pub fn verdict(&self, timeline: &MastodonTimeline, token: bool) -> Verdict {
        let (mut closed, mut unknown) = (Vec::new(), Vec::new());
        for s in self.settings_for(timeline) {
            match &s.access {
                Some(Access::Public) => {}
                Some(Access::Authenticated) if token => {}
                Some(Access::Authenticated | Access::Disabled) => closed.push(s),
                Some(Access::Other(_)) | None => unknown.push(s),
            }
        }
        match (closed.is_empty(), unknown.is_empty()) {
            (false, _) => Verdict::Closed(closed),
            (true, true) => Verdict::Open,
            (true, false) => Verdict::Unknown(unknown),
        }
    }
}

/// The timeline as a sentence names it.
pub fn describe(timeline: &MastodonTimeline) -> String {
    match timeline {
        MastodonTimeline::Public => "federated timeline".to_owned(),
        MastodonTimeline::Local => "local timeline".to_owned(),
        MastodonTimeline::Remote => "remote timeline".to_owned(),
        MastodonTimeline::Tag(tag) => format!("#{tag} timeline"),
    }
}

/// Why `closed` keeps the timeline out, in a few words.
pub fn why_closed(closed: &[Setting], token: bool) -> &'static str {
    let disabled = closed.iter().any(|s| s.access == Some(Access::Disabled));
    match (disabled, token) {
        (true, _) => {
            "a disabled feed is open to the server's staff only, so no ordinary token opens it"
        }
        (false, false) => "open to signed-in users only, and no MASTODON_TOKEN_PARAM is set",
        (false, true) => "open to signed-in users only",
    }
}

/// What a user can change so that something is read: a token when one would open `timeline`,
/// the other timelines the server serves (`access` known) or may serve, and Jetstream.
pub fn ways_out(
    access: Option<&TimelinesAccess>,
    timeline: &MastodonTimeline,
    token: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    let a_token_opens = |t: &MastodonTimeline| match access {
        Some(a) => !token && a.verdict(t, true) == Verdict::Open,
        None => !token,
    };
    if a_token_opens(timeline) {
        out.push(
            "MASTODON_TOKEN_PARAM naming an SSM parameter that holds a user's access token (scope read:statuses)"
                .to_owned(),
        );
    }
    let hashtag = MastodonTimeline::Tag("<hashtag>".to_owned());
    let others = [
        MastodonTimeline::Public,
        MastodonTimeline::Local,
        MastodonTimeline::Remote,
        hashtag,
    ];
    let same_kind =
        |t: &MastodonTimeline| std::mem::discriminant(t) == std::mem::discriminant(timeline);
    for other in others.iter().filter(|t| !same_kind(t)) {
        let Some(a) = access else {
            if matches!(other, MastodonTimeline::Tag(_)) {
                out.push(format!(
                    "MASTODON_TIMELINE={other} where the server's hashtag feeds are public"
                ));
            }
            continue;
        };
        let served: Vec<String> = a
            .settings_for(other)
            .iter()
            .map(ToString::to_string)
            .collect();
        if a.verdict(other, token) == Verdict::Open {
            out.push(format!("MASTODON_TIMELINE={other} ({})", served.join(", ")));
        } else if a_token_opens(other) {
            out.push(format!(
                "MASTODON_TIMELINE={other} with a token in MASTODON_TOKEN_PARAM ({})",
                served.join(", ")
            ));
        }
    }
    out.push("SOURCE=jetstream (Bluesky's public firehose, no account needed)".to_owned());
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn access(live: (&str, &str), hashtag: (&str, &str)) -> TimelinesAccess {
        TimelinesAccess::from_instance(&json!({"configuration": {"timelines_access": {
            "live_feeds": {"local": live.0, "remote": live.1},
            "hashtag_feeds": {"local": hashtag.0, "remote": hashtag.1},
            "trending_link_feeds": {"local": "public", "remote": "public"},
        }}}))
        .unwrap()
    }

    fn tag() -> MastodonTimeline {
        MastodonTimeline::Tag("rust".into())
    }

    #[test]
    fn each_timeline_needs_its_own_settings() {
        // GIVEN local open, remote for signed-in users, hashtags open
        let a = access(("public", "authenticated"), ("public", "public"));
        // WHEN asked without a token THEN local and tag are served, public and remote are not
        assert_eq!(a.verdict(&MastodonTimeline::Local, false), Verdict::Open);
        assert_eq!(a.verdict(&tag(), false), Verdict::Open);
        for t in [MastodonTimeline::Public, MastodonTimeline::Remote] {
            let Verdict::Closed(closed) = a.verdict(&t, false) else {
                panic!("{t} should be closed")
            };
            assert_eq!(
                closed[0].to_string(),
                "configuration.timelines_access.live_feeds.remote = authenticated"
            );
        }
        // AND with a token every one of them is served
        for t in [MastodonTimeline::Public, MastodonTimeline::Remote] {
            assert_eq!(a.verdict(&t, true), Verdict::Open, "{t}");
        }
    }

    #[test]
    fn a_disabled_half_closes_the_federated_timeline_even_with_a_token() {
        // GIVEN the live feeds' remote half disabled
        let a = access(("public", "disabled"), ("public", "public"));
        // THEN no token opens the federated timeline, and the reason says why
        let Verdict::Closed(closed) = a.verdict(&MastodonTimeline::Public, true) else {
            panic!()
        };
        assert!(why_closed(&closed, true).contains("staff only"));
        // AND the ways out are the timelines it does serve, then Jetstream, and no token
        let ways = ways_out(Some(&a), &MastodonTimeline::Public, false);
        assert!(ways[0].starts_with("MASTODON_TIMELINE=local ("), "{ways:?}");
        assert!(
            ways[1].starts_with("MASTODON_TIMELINE=tag:<hashtag> ("),
            "{ways:?}"
        );
        assert!(ways.last().unwrap().starts_with("SOURCE=jetstream"));
        assert!(
            !ways.iter().any(|w| w.starts_with("MASTODON_TOKEN_PARAM")),
            "{ways:?}"
        );
    }

    #[test]
    fn a_token_is_a_way_out_only_where_it_opens_the_feed() {
        // GIVEN both live halves for signed-in users, hashtags disabled
        let a = access(("authenticated", "authenticated"), ("disabled", "disabled"));
        let ways = ways_out(Some(&a), &MastodonTimeline::Public, false);
        // THEN a token comes first; the tag timeline is not offered
        assert!(ways[0].starts_with("MASTODON_TOKEN_PARAM"), "{ways:?}");
        assert!(!ways.iter().any(|w| w.contains("tag:")), "{ways:?}");
        // AND without the settings (a refusal on the timeline itself) the ways are generic
        let ways = ways_out(None, &MastodonTimeline::Local, false);
        assert_eq!(ways.len(), 3, "{ways:?}");
        assert!(ways[1].contains("hashtag feeds are public"), "{ways:?}");
    }

    #[test]
    fn unreported_or_unknown_settings_decide_nothing() {
        // GIVEN a server before 4.5 THEN there is nothing to read
        assert_eq!(
            TimelinesAccess::from_instance(&json!({"configuration": {}})),
            None
        );
        assert_eq!(TimelinesAccess::from_instance(&json!([])), None);
        // GIVEN a partial object and a value from a later version THEN unknown, not closed
        let a = TimelinesAccess::from_instance(&json!({"configuration": {"timelines_access": {
            "live_feeds": {"local": "members"}
        }}}))
        .unwrap();
        let Verdict::Unknown(what) = a.verdict(&MastodonTimeline::Public, false) else {
            panic!()
        };
        let shown: Vec<String> = what.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "configuration.timelines_access.live_feeds.local = members",
                "configuration.timelines_access.live_feeds.remote (not reported)"
            ]
        );
    }
}
