//! Deterministic, offline social posts for demos, tests and load: sentiment-bearing text with
//! emoji in six languages (mostly English), users, timestamps, ids. Post `i` of seed `s` is
//! always the same bytes, however the range is sliced, so runs are reproducible.

use serde_json::json;

use super::{FetchBudget, Fetched, Source, SourceError, SourceRecord, Stop};

/// A synthetic post: an id and its JSON bytes.
pub type Post = SourceRecord;

/// Ids start here (Mastodon-like 18-digit numbers) so they sort numerically and as strings.
pub const FIRST_ID: u64 = 110_000_000_000_000_000;
/// The first post's timestamp: 2025-01-01T00:00:00Z.
pub const EPOCH_MS: u64 = 1_735_689_600_000;
/// Posts a simulated page holds, so the page budget means the same as for HTTP sources.
pub const PAGE_SIZE: usize = 100;
/// Distinct users posts are spread over.
const USERS: u64 = 5_000;

struct Language {
    code: &'static str,
    share: u32,
    spaced: bool,
    openers: &'static [&'static str],
    subjects: &'static [&'static str],
    positive: &'static [&'static str],
    negative: &'static [&'static str],
    neutral: &'static [&'static str],
    but: &'static str,
    tags: &'static [&'static str],
}

/// Share is out of 100.
const LANGUAGES: [Language; 6] = [
    Language {
        code: "en",
        share: 60,
        spaced: true,
        openers: &["Honestly,", "Wow,", "Update:", "Not gonna lie,", "PSA:", ""],
        subjects: &[
            "the new phone",
            "this coffee",
            "the train today",
            "my team",
            "the latest update",
            "this album",
            "the weather",
            "the season finale",
            "customer support",
            "the concert",
            "our delivery",
            "this book",
        ],
        positive: &[
            "is absolutely amazing",
            "made my day",
            "works great",
            "is the best thing this week",
            "is wonderful, I love it",
            "exceeded my expectations",
        ],
        negative: &[
            "is terrible",
            "broke again",
            "was a total waste of time",
            "made me so angry",
            "is the worst",
            "keeps crashing, awful",
        ],
        neutral: &[
            "arrived at 9",
            "is on the table",
            "starts tomorrow",
            "is being discussed",
            "was announced today",
        ],
        but: "but",
        tags: &[
            "tech", "music", "coffee", "travel", "sports", "news", "books", "weather",
        ],
    },
    Language {
        code: "es",
        share: 9,
        spaced: true,
        openers: &["Sinceramente,", "¡Vaya!", "Ojo:", ""],
        subjects: &[
            "el nuevo teléfono",
            "este café",
            "el tren de hoy",
            "mi equipo",
            "la actualización",
            "este álbum",
            "el concierto",
        ],
        positive: &[
            "es increíble",
            "me encanta",
            "funciona genial",
            "me alegró el día",
        ],
        negative: &[
            "es horrible",
            "se rompió otra vez",
            "fue una pérdida de tiempo",
            "es lo peor",
        ],
        neutral: &["llega mañana", "está en la mesa", "se anunció hoy"],
        but: "pero",
        tags: &["tecnología", "música", "fútbol", "viajes"],
    },
    Language {
        code: "de",
        share: 8,
        spaced: true,
        openers: &["Ehrlich gesagt:", "Wow,", "Achtung:", ""],
        subjects: &[
            "das neue Handy",
            "dieser Kaffee",
            "der Zug heute",
            "mein Team",
            "das Update",
            "dieses Album",
            "das Konzert",
        ],
        positive: &[
            "ist großartig",
            "gefällt mir sehr",
            "funktioniert super",
            "hat meinen Tag gerettet",
        ],
        negative: &[
            "ist schrecklich",
            "ist schon wieder kaputt",
            "war reine Zeitverschwendung",
            "ist das Schlimmste",
        ],
        neutral: &[
            "kommt morgen",
            "liegt auf dem Tisch",
            "wurde heute angekündigt",
        ],
        but: "aber",
        tags: &["technik", "musik", "fußball", "reisen"],
    },
    Language {
        code: "fr",
        share: 8,
        spaced: true,
        openers: &["Franchement,", "Waouh,", "À noter :", ""],
        subjects: &[
            "le nouveau téléphone",
            "ce café",
            "le train aujourd'hui",
            "mon équipe",
            "la mise à jour",
            "cet album",
            "le concert",
        ],
        positive: &[
            "est génial",
            "j'adore",
            "fonctionne très bien",
            "a illuminé ma journée",
        ],
        negative: &[
            "est horrible",
            "est encore cassé",
            "était une perte de temps",
            "est le pire",
        ],
        neutral: &[
            "arrive demain",
            "est sur la table",
            "a été annoncé aujourd'hui",
        ],
        but: "mais",
        tags: &["tech", "musique", "café", "voyage"],
    },
    Language {
        code: "pt",
        share: 8,
        spaced: true,
        openers: &["Sinceramente,", "Nossa,", "Atenção:", ""],
        subjects: &[
            "o novo celular",
            "este café",
            "o trem de hoje",
            "meu time",
            "a atualização",
            "este álbum",
            "o show",
        ],
        positive: &[
            "é incrível",
            "eu adorei",
            "funciona muito bem",
            "fez o meu dia",
        ],
        negative: &[
            "é horrível",
            "quebrou de novo",
            "foi uma perda de tempo",
            "é o pior",
        ],
        neutral: &["chega amanhã", "está na mesa", "foi anunciado hoje"],
        but: "mas",
        tags: &["tecnologia", "música", "futebol", "viagem"],
    },
    Language {
        code: "ja",
        share: 7,
        spaced: false,
        openers: &["正直、", "うーん、", "速報：", ""],
        subjects: &[
            "新しいスマホ",
            "このコーヒー",
            "今日の電車",
            "うちのチーム",
            "今回のアップデート",
            "このアルバム",
            "コンサート",
        ],
        positive: &[
            "は最高です",
            "がとても好き",
            "はすごく良い",
            "のおかげで幸せな一日",
        ],
        negative: &[
            "は最悪です",
            "がまた壊れた",
            "は時間の無駄だった",
            "にはがっかり",
        ],
        neutral: &[
            "は明日届きます",
            "は机の上にあります",
            "が今日発表されました",
        ],
        but: "けど",
        tags: &["テック", "音楽", "旅行", "ニュース"],
    },
];

const POSITIVE_EMOJI: [&str; 6] = ["😀", "😍", "🎉", "👍", "✨", "❤️"];
const NEGATIVE_EMOJI: [&str; 5] = ["😡", "😞", "👎", "💔", "😤"];
const NEUTRAL_EMOJI: [&str; 4] = ["🤔", "📦", "🕘", "📰"];
const SYLLABLES: [&str; 16] = [
    "ka", "lo", "mi", "ra", "ne", "to", "su", "vi", "an", "el", "or", "da", "ki", "po", "ze", "lu",
];

/// SplitMix64: spreads (seed, index) pairs into independent rng seeds.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick<'a>(rng: &mut fastrand::Rng, items: &[&'a str]) -> &'a str {
    items[rng.usize(..items.len())]
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for milliseconds since the Unix epoch.
pub fn rfc3339_ms(ms: u64) -> String {
    let secs = ms / 1_000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days to civil date (Howard Hinnant's algorithm), valid for the Unix era.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60,
        ms % 1_000
    )
}

/// The post's id for `index`, and back.
pub fn id_of(index: u64) -> String {
    (FIRST_ID + index).to_string()
}

pub fn index_of(id: &str) -> Option<u64> {
    id.parse::<u64>().ok()?.checked_sub(FIRST_ID)
}

fn user(seed: u64, n: u64) -> serde_json::Value {
    let mut rng = fastrand::Rng::with_seed(mix(seed ^ mix(n ^ 0x5553_4552)));
    let parts = 2 + rng.usize(..3);
    let name: String = (0..parts).map(|_| pick(&mut rng, &SYLLABLES)).collect();
    let username = format!("{name}{}", n % 100);
    let mut display = name.clone();
    display[..1].make_ascii_uppercase();
    json!({
        "id": (900_000 + n).to_string(),
        "username": username,
        "display_name": display,
        "followers_count": rng.u32(..50_000),
        "following_count": rng.u32(..2_000),
    })
}

fn sentence(rng: &mut fastrand::Rng, lang: &Language) -> String {
    let subject = pick(rng, lang.subjects);
    let roll = rng.u32(..100);
    let (phrase, emoji) = match roll {
        0..40 => (
            pick(rng, lang.positive).to_owned(),
            pick(rng, &POSITIVE_EMOJI),
        ),
        40..70 => (
            pick(rng, lang.negative).to_owned(),
            pick(rng, &NEGATIVE_EMOJI),
        ),
        70..90 => (
            pick(rng, lang.neutral).to_owned(),
            pick(rng, &NEUTRAL_EMOJI),
        ),
        _ => {
            let sep = if lang.spaced {
                format!(", {} ", lang.but)
            } else {
                lang.but.to_owned()
            };
            (
                format!(
                    "{}{sep}{}",
                    pick(rng, lang.positive),
                    pick(rng, lang.negative)
                ),
                "😐",
            )
        }
    };
    let opener = pick(rng, lang.openers);
    let space = if lang.spaced { " " } else { "" };
    let lead = if opener.is_empty() {
        String::new()
    } else {
        format!("{opener}{space}")
    };
    let end = if lang.spaced { "." } else { "。" };
    format!("{lead}{subject}{space}{phrase}{end} {emoji}")
}

fn post(seed: u64, index: u64, rate_per_sec: u32) -> Post {
    let mut rng = fastrand::Rng::with_seed(mix(seed ^ mix(index)));
    let mut roll = rng.u32(..100);
    let lang = LANGUAGES
        .iter()
        .find(|l| {
            let hit = roll < l.share;
            roll = roll.saturating_sub(l.share);
            hit
        })
        .unwrap_or(&LANGUAGES[0]);
    let sentences = 1 + rng.usize(..2);
    let mut text = (0..sentences)
        .map(|_| sentence(&mut rng, lang))
        .collect::<Vec<_>>()
        .join(" ");
    let tags: Vec<&str> = (0..1 + rng.usize(..2))
        .map(|_| pick(&mut rng, lang.tags))
        .collect();
    let mut html = format!("<p>{}", escape_html(&text));
    for t in &tags {
        text.push_str(&format!(" #{t}"));
        html.push_str(&format!(
            " <a href=\"https://social.example/tags/{t}\" class=\"hashtag\">#{t}</a>"
        ));
    }
    html.push_str("</p>");
    let user_n = rng.u64(..USERS);
    let id = id_of(index);
    let created = EPOCH_MS + index * 1_000 / u64::from(rate_per_sec.max(1));
    let u = user(seed, user_n);
    let url = format!(
        "https://social.example/@{}/{id}",
        u["username"].as_str().unwrap_or_default()
    );
    let value = json!({
        "id": id,
        "created_at": rfc3339_ms(created),
        "lang": lang.code,
        "text": text,
        "content": html,
        "url": url,
        "user": u,
        "tags": tags,
        "replies_count": rng.u32(..20),
        "reblogs_count": rng.u32(..200),
        "favourites_count": rng.u32(..1_000),
        "sensitive": false,
        "visibility": "public",
        "source": "synthetic",
    });
    SourceRecord {
        id,
        data: serde_json::to_vec(&value).expect("a JSON value serialises"),
    }
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Every `delete_every`-th item of the synthetic stream is not a post but the deletion of the
/// post this many items before it (an author deleting what they posted a little earlier), so
/// the pipeline's deletions run on the embedded default too.
pub const DEFAULT_DELETE_EVERY: u64 = 50;

/// Items `start_index .. start_index + n` of `seed`: posts, and with `delete_every` > 0 every
/// `delete_every`-th one the deletion of the post `delete_every / 2` items earlier.
pub fn items_at_rate(
    seed: u64,
    start_index: u64,
    n: usize,
    rate_per_sec: u32,
    delete_every: u64,
) -> Vec<Post> {
    (start_index..start_index + n as u64)
        .map(|i| match deleted_by(i, delete_every) {
            Some(gone) => deletion(i, gone, rate_per_sec),
            None => post(seed, i, rate_per_sec),
        })
        .collect()
}

/// The index of the post that item `index` deletes, if it is a deletion.
pub fn deleted_by(index: u64, delete_every: u64) -> Option<u64> {
    let lag = delete_every / 2;
    (delete_every >= 2 && index % delete_every == delete_every - 1 && index >= lag)
        .then(|| index - lag)
}

/// Item `index`: the deletion of post `gone`, as the jetstream source writes one (with the
/// post's `created_at`, which a synthetic id does not encode).
fn deletion(index: u64, gone: u64, rate_per_sec: u32) -> Post {
    let at = |i: u64| EPOCH_MS + i * 1_000 / u64::from(rate_per_sec.max(1));
    let value = json!({
        "op": "delete",
        "id": id_of(gone),
        "created_at": rfc3339_ms(at(gone)),
        "time_us": at(index) * 1_000,
        "source": "synthetic",
    });
    SourceRecord {
        id: id_of(index),
        data: serde_json::to_vec(&value).expect("a JSON value serialises"),
    }
}

/// Posts `start_index .. start_index + n` of `seed`, one second apart at `rate_per_sec` = 1.
pub fn posts_at_rate(seed: u64, start_index: u64, n: usize, rate_per_sec: u32) -> Vec<Post> {
    (start_index..start_index + n as u64)
        .map(|i| post(seed, i, rate_per_sec))
        .collect()
}

/// Posts `start_index .. start_index + n` of `seed`, at the default 50 posts a second.
pub fn posts(seed: u64, start_index: u64, n: usize) -> Vec<Post> {
    posts_at_rate(seed, start_index, n, DEFAULT_RATE_PER_SEC)
}

/// The default spacing of timestamps: 50 posts a second.
pub const DEFAULT_RATE_PER_SEC: u32 = 50;

/// The synthetic source: each fetch continues after the cursor with up to `per_invocation`
/// posts (less if the budget says so).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticSource {
    pub name: String,
    pub seed: u64,
    pub per_invocation: usize,
    pub rate_per_sec: u32,
    /// See [`DEFAULT_DELETE_EVERY`]; 0 for posts only.
    pub delete_every: u64,
}

impl SyntheticSource {
    /// `per_invocation` posts a fetch from `seed`, at the default rate, and no deletions: the
    /// source of checks of delivery.
    pub fn posts_only(seed: u64, per_invocation: usize) -> Self {
        SyntheticSource {
            name: "synthetic".into(),
            seed,
            per_invocation,
            rate_per_sec: DEFAULT_RATE_PER_SEC,
            delete_every: 0,
        }
    }
}

impl Source for SyntheticSource {
    fn empty_hint(&self) -> &'static str {
        "the synthetic source always has posts: this is a bug"
    }

    fn name(&self) -> &str {
        &self.name
    }

    async fn fetch(
        &self,
        cursor: Option<&str>,
        budget: FetchBudget,
    ) -> Result<Fetched, SourceError> {
        let start = match cursor {
            None => 0,
            Some(c) => index_of(c).map(|i| i + 1).ok_or_else(|| SourceError::Permanent {
                source_name: self.name.clone(),
                reason: format!("the cursor {c:?} is not a synthetic post id; reset it or use another cursor key"),
            })?,
        };
        let want = self.per_invocation.min(budget.max_records);
        let mut records = Vec::with_capacity(want);
        let mut pages = 0;
        let stop = loop {
            if records.len() >= want {
                break if want < self.per_invocation {
                    Stop::MaxRecords
                } else {
                    Stop::CaughtUp
                };
            }
            if pages >= budget.max_pages {
                break Stop::MaxPages;
            }
            if tokio::time::Instant::now() >= budget.deadline {
                break Stop::Deadline;
            }
            let n = PAGE_SIZE.min(want - records.len());
            records.extend(items_at_rate(
                self.seed,
                start + records.len() as u64,
                n,
                self.rate_per_sec,
                self.delete_every,
            ));
            pages += 1;
        };
        Ok(Fetched {
            skipped: Vec::new(),
            records,
            pages,
            stop,
            connects_to_cursor: true,
            rejected: 0,
            error: None,
        })
    }
}

/// Hands out the same ready records at every fetch and says it is caught up: the source of
/// tests, and of benchmarks that must not time the posts' generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GivenSource {
    pub name: &'static str,
    pub records: Vec<SourceRecord>,
    /// What each fetch says in [`Fetched::connects_to_cursor`].
    pub connects_to_cursor: bool,
}

impl GivenSource {
    /// `records`, connecting to any cursor.
    pub fn new(name: &'static str, records: Vec<SourceRecord>) -> Self {
        GivenSource {
            name,
            records,
            connects_to_cursor: true,
        }
    }
}

impl Source for GivenSource {
    fn name(&self) -> &str {
        self.name
    }

    async fn fetch(
        &self,
        _cursor: Option<&str>,
        _budget: FetchBudget,
    ) -> Result<Fetched, SourceError> {
        Ok(Fetched {
            skipped: Vec::new(),
            records: self.records.clone(),
            pages: 1,
            stop: Stop::CaughtUp,
            connects_to_cursor: self.connects_to_cursor,
            rejected: 0,
            error: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use serde_json::Value;

    use super::*;

    #[test]
    fn the_same_post_comes_out_however_the_range_is_sliced() {
        let whole = posts(7, 0, 300);
        let tail = posts(7, 100, 200);
        assert_eq!(&whole[100..], &tail[..]);
        assert_ne!(posts(8, 0, 1), posts(7, 0, 1), "the seed matters");
    }

    #[test]
    fn posts_look_like_social_posts() {
        // GIVEN 2,000 posts
        let all = posts(42, 0, 2_000);
        let mut langs: HashMap<String, usize> = HashMap::new();
        let mut bytes = 0;
        for (i, p) in all.iter().enumerate() {
            let v: Value = serde_json::from_slice(&p.data).unwrap();
            // THEN each has the fields a consumer needs, its id first among equals
            assert_eq!(v["id"], p.id);
            assert_eq!(index_of(&p.id), Some(i as u64));
            assert!(v["text"].as_str().unwrap().chars().count() > 10);
            assert!(v["user"]["username"].is_string());
            assert!(v["created_at"].as_str().unwrap().starts_with("2025-01-01T"));
            *langs
                .entry(v["lang"].as_str().unwrap().to_owned())
                .or_default() += 1;
            bytes += p.data.len();
        }
        // AND English dominates while the five others all appear
        assert!(langs["en"] > 1_000 && langs["en"] < 1_400, "{langs:?}");
        for code in ["es", "de", "fr", "pt", "ja"] {
            assert!(
                langs.get(code).copied().unwrap_or(0) > 60,
                "{code}: {langs:?}"
            );
        }
        // AND they average about 700 bytes, like a trimmed social-post JSON
        let avg = bytes / all.len();
        assert!((650..=760).contains(&avg), "average {avg} bytes");
        // AND ids increase with the index
        assert!(
            all.windows(2)
                .all(|w| crate::cursor::id_cmp(&w[0].id, &w[1].id).is_lt())
        );
    }

    #[test]
    fn texts_carry_sentiment_words_and_emoji() {
        let all = posts(1, 0, 500);
        let texts: Vec<String> = all
            .iter()
            .map(|p| {
                serde_json::from_slice::<Value>(&p.data).unwrap()["text"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert!(
            texts
                .iter()
                .any(|t| t.contains("amazing") || t.contains("love") || t.contains("great"))
        );
        assert!(
            texts
                .iter()
                .any(|t| t.contains("terrible") || t.contains("worst") || t.contains("awful"))
        );
        assert!(
            texts
                .iter()
                .any(|t| t.contains('😀') || t.contains('🎉') || t.contains('👍'))
        );
    }

    #[test]
    fn timestamps_are_formatted_and_spaced_by_the_rate() {
        assert_eq!(rfc3339_ms(EPOCH_MS), "2025-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(951_782_400_123), "2000-02-29T00:00:00.123Z");
        let p = posts_at_rate(3, 10, 1, 2);
        let v: Value = serde_json::from_slice(&p[0].data).unwrap();
        assert_eq!(v["created_at"], "2025-01-01T00:00:05.000Z");
    }

    #[tokio::test]
    async fn the_source_continues_after_the_cursor_within_the_budget() {
        let source = SyntheticSource::posts_only(5, 250);
        let budget = FetchBudget {
            max_pages: 10,
            max_records: 1_000,
            deadline: tokio::time::Instant::now() + Duration::from_secs(5),
        };
        let first = source.fetch(None, budget).await.unwrap();
        assert_eq!(
            (first.records.len(), first.pages, first.stop),
            (250, 3, Stop::CaughtUp)
        );
        let next = source
            .fetch(Some(&first.records[249].id), budget)
            .await
            .unwrap();
        assert_eq!(next.records[0].id, id_of(250));
        let capped = source
            .fetch(
                None,
                FetchBudget {
                    max_pages: 2,
                    ..budget
                },
            )
            .await
            .unwrap();
        assert_eq!((capped.records.len(), capped.stop), (200, Stop::MaxPages));
        let capped = source
            .fetch(
                None,
                FetchBudget {
                    max_records: 30,
                    ..budget
                },
            )
            .await
            .unwrap();
        assert_eq!((capped.records.len(), capped.stop), (30, Stop::MaxRecords));
        let err = source.fetch(Some("not-an-id"), budget).await.unwrap_err();
        assert!(err.to_string().contains("not a synthetic post id"), "{err}");
    }
}
