//! Spanish: the Naive Bayes model of `sentiment-analysis-spanish` 0.0.25, `sentiment(text)`
//! reproduced from its exported tables (`data/es/naive_bayes.tsv`, written by
//! `reference/eu.py` from the package's pickles).
//!
//! The reference is scikit-learn's `CountVectorizer(ngram_range=(1, 3))` then
//! `MultinomialNB.predict_proba`: the text is lowercased (`str.lower`), its tokens are the
//! runs of two or more `\w` chars, its features the model's word 1-, 2- and 3-grams among
//! them, counted; the positive class's probability is the softmax of the two classes' joint
//! log likelihoods `log prior + sum(count * log P(feature | class))`.

use std::cell::RefCell;

use crate::classic::FastMap;

use crate::pytext;
use crate::{Label, Sentiment};

const MODEL_TSV: &str = include_str!("../data/es/naive_bayes.tsv");

/// A probability of the positive class at or above this is POSITIVE. The model is trained
/// on reviews rated good or bad, and is sure of itself (most texts score below 0.1 or above
/// 0.9), so a middle band is kept NEUTRAL: the texts it cannot tell apart.
pub const ES_POSITIVE_THRESHOLD: f64 = 0.65;
/// A probability of the positive class at or below this is NEGATIVE.
pub const ES_NEGATIVE_THRESHOLD: f64 = 0.35;

/// Three word ids (id + 1, 0 for none) packed into one key, 21 bits each.
type GramKey = u64;
const ID_BITS: u32 = 21;

/// What the model says about one text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NbScore {
    /// `predict_proba(...)[0][1]`: the probability of the positive class.
    pub probability: f64,
    /// Whether any of the model's features occurs in the text. When none does, the
    /// probability is the class prior, which says nothing about the text.
    pub matched: bool,
}

impl NbScore {
    /// The label: NEUTRAL when no feature matched or the probability lies between
    /// [`ES_NEGATIVE_THRESHOLD`] and [`ES_POSITIVE_THRESHOLD`].
    pub fn label(&self) -> Label {
        if !self.matched {
            Label::Neutral
        } else if self.probability >= ES_POSITIVE_THRESHOLD {
            Label::Positive
        } else if self.probability <= ES_NEGATIVE_THRESHOLD {
            Label::Negative
        } else {
            Label::Neutral
        }
    }
}

impl Sentiment {
    /// Label and four scores from the model's probability `p`: positive `max(2p - 1, 0)`,
    /// negative `max(1 - 2p, 0)`, neutral `1 - |2p - 1|` (the model's doubt), mixed 0,
    /// blended towards the label as [`Sentiment::from_polarity`] does.
    pub fn from_nb(score: &NbScore) -> Self {
        let d = 2.0 * score.probability - 1.0;
        Sentiment::with_label(
            score.label(),
            [d.max(0.0), (-d).max(0.0), 1.0 - d.abs(), 0.0],
        )
    }
}

/// The Spanish analyser: the model's 5,000 features and their log probabilities.
pub struct SpanishNb {
    /// Every word that occurs in a feature, with its id.
    words: FastMap<&'static str, u32>,
    /// Feature column by its packed word ids.
    features: FastMap<GramKey, u32>,
    /// `feature_log_prob_` of classes 0 (negative) and 1 (positive), by column.
    log_prob: [Vec<f64>; 2],
    /// `class_log_prior_`.
    log_prior: [f64; 2],
}

impl std::fmt::Debug for SpanishNb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpanishNb")
            .field("features", &self.features.len())
            .finish_non_exhaustive()
    }
}

impl Default for SpanishNb {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Default)]
struct Scratch {
    lower: String,
    /// Word id + 1 of each token, 0 for a word in no feature.
    ids: Vec<u32>,
    /// Columns of the features found, one entry per occurrence.
    hits: Vec<u32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl SpanishNb {
    /// Parses the shipped model (about 5,000 lines).
    pub fn new() -> Self {
        let mut lines = MODEL_TSV.lines().filter(|l| !l.starts_with('#'));
        let prior = lines
            .next()
            .expect("the model's first line holds the priors");
        let mut p = prior.split('\t').map(parse_f64);
        let log_prior = [p.next().unwrap_or(0.0), p.next().unwrap_or(0.0)];
        let mut nb = SpanishNb {
            words: FastMap::default(),
            features: FastMap::default(),
            log_prob: [Vec::with_capacity(5_000), Vec::with_capacity(5_000)],
            log_prior,
        };
        for line in lines {
            let mut fields = line.split('\t');
            let (Some(gram), Some(neg), Some(pos)) = (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let mut key: GramKey = 0;
            for (k, word) in gram.split(' ').enumerate() {
                let next = nb.words.len() as u32;
                let id = *nb.words.entry(word).or_insert(next);
                key |= GramKey::from(id + 1) << (ID_BITS * k as u32);
            }
            let column = nb.log_prob[0].len() as u32;
            nb.features.insert(key, column);
            nb.log_prob[0].push(parse_f64(neg));
            nb.log_prob[1].push(parse_f64(pos));
        }
        nb
    }

    /// The reference's `sentiment(text)`, and whether any feature matched.
    pub fn score(&self, text: &str) -> NbScore {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => self.score_with(text, &mut scratch),
            Err(_) => self.score_with(text, &mut Scratch::default()),
        })
    }

    /// Label and four scores; see [`Sentiment::from_nb`].
    pub fn sentiment(&self, text: &str) -> Sentiment {
        Sentiment::from_nb(&self.score(text))
    }

    fn score_with(&self, text: &str, s: &mut Scratch) -> NbScore {
        s.lower.clear();
        pytext::lower_into(text, &mut s.lower);
        self.word_ids(s);
        self.find_features(s);
        // scipy's sparse product walks the columns in order, each count times its log
        // probability, from 0.0; the prior is added after.
        s.hits.sort_unstable();
        let mut jll = [0.0f64; 2];
        let mut k = 0;
        while k < s.hits.len() {
            let column = s.hits[k];
            let run = s.hits[k..].iter().take_while(|&&c| c == column).count();
            for (c, acc) in jll.iter_mut().enumerate() {
                *acc += run as f64 * self.log_prob[c][column as usize];
            }
            k += run;
        }
        let jll = [jll[0] + self.log_prior[0], jll[1] + self.log_prior[1]];
        NbScore {
            probability: positive_probability(jll),
            matched: !s.hits.is_empty(),
        }
    }

    /// The tokens of `(?u)\b\w\w+\b` in the lowercased text, as word ids.
    fn word_ids(&self, s: &mut Scratch) {
        s.ids.clear();
        let text = s.lower.as_str();
        let mut start: Option<(usize, usize)> = None; // (byte offset, chars so far)
        for (i, c) in text
            .char_indices()
            .chain(std::iter::once((text.len(), ' ')))
        {
            if i < text.len() && pytext::is_word_char(c) {
                start = Some(start.map_or((i, 1), |(b, n)| (b, n + 1)));
                continue;
            }
            if let Some((b, n)) = start.take()
                && n >= 2
            {
                let id = self.words.get(&text[b..i]).map_or(0, |id| id + 1);
                s.ids.push(id);
            }
        }
    }

    /// Every 1-, 2- and 3-gram of consecutive tokens that is a feature.
    fn find_features(&self, s: &mut Scratch) {
        s.hits.clear();
        let ids = &s.ids;
        for n in 1..=3usize {
            for window in ids.windows(n) {
                if window.contains(&0) {
                    continue;
                }
                let key = window.iter().enumerate().fold(0, |key, (k, &id)| {
                    key | GramKey::from(id) << (ID_BITS * k as u32)
                });
                if let Some(&column) = self.features.get(&key) {
                    s.hits.push(column);
                }
            }
        }
    }
}

/// `exp(jll[1] - logsumexp(jll))`, logsumexp taken around the larger term as scipy does.
fn positive_probability(jll: [f64; 2]) -> f64 {
    let max = jll[0].max(jll[1]);
    let sum = (jll[0] - max).exp() + (jll[1] - max).exp();
    (jll[1] - (sum.ln() + max)).exp()
}

/// The exported numbers are Python `repr`s of f64, which Rust parses to the same value.
fn parse_f64(s: &str) -> f64 {
    s.trim().parse().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_the_shipped_model_when_parsed_then_it_has_every_feature() {
        let nb = SpanishNb::new();
        assert_eq!(nb.features.len(), 5_000);
        assert_eq!(nb.log_prob[1].len(), 5_000);
        assert!(nb.log_prior.iter().all(|p| p.is_finite() && *p < 0.0));
    }

    #[test]
    fn given_text_without_features_then_it_is_neutral_at_the_prior() {
        let nb = SpanishNb::new();
        let empty = nb.score("");
        assert!(!empty.matched);
        assert_eq!(empty.label(), Label::Neutral);
        assert_eq!(nb.score("x y z 😀").probability, empty.probability);
    }
}
