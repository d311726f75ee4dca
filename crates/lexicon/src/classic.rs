//! The VADER rules the language ports (`leia`, `vader_fr`) share, written for clarity rather
//! than the English engine's speed: both ports fork an older VADER whose tokenising and
//! indexing quirks differ from 3.3.2, so they cannot reuse `engine`'s tables. The rules all
//! three read alike (caps emphasis, damping with distance, the punctuation amplifier and
//! `score_valence`) are here once, and `engine` calls them too.

use std::collections::{HashMap, HashSet};

use crate::Polarity;
use crate::pystr::{is_upper, py_round};

/// Booster words: "empirically derived mean sentiment intensity rating increase".
pub(crate) const B_INCR: f64 = 0.293;
pub(crate) const B_DECR: f64 = -0.293;
/// ALL-CAPS emphasis.
pub(crate) const C_INCR: f64 = 0.733;
/// Negation scalar.
pub(crate) const N_SCALAR: f64 = -0.74;

/// A word table: a fast, fixed-seed hash (the keys are our own data, not an attacker's).
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;
pub(crate) type WordMap<V> = FastMap<Box<str>, V>;
pub(crate) type WordSet = HashSet<Box<str>, foldhash::fast::FixedState>;

/// Booster words and n-grams, with the first words of the n-grams, so the n-gram rule builds
/// no string unless one could match.
#[derive(Debug, Default)]
pub(crate) struct Boosters {
    map: WordMap<f64>,
    heads: WordSet,
}

impl Boosters {
    pub(crate) fn get(&self, word: &str) -> Option<f64> {
        self.map.get(word).copied()
    }

    pub(crate) fn contains(&self, word: &str) -> bool {
        self.map.contains_key(word)
    }

    /// Some multi-word booster starts with `word`.
    fn starts_ngram(&self, word: &str) -> bool {
        self.heads.contains(word)
    }
}

impl<'a> FromIterator<(&'a str, f64)> for Boosters {
    fn from_iter<I: IntoIterator<Item = (&'a str, f64)>>(iter: I) -> Self {
        let mut b = Boosters::default();
        for (words, v) in iter {
            if let Some((head, _)) = words.split_once(' ') {
                b.heads.insert(head.into());
            }
            b.map.insert(words.into(), v);
        }
        b
    }
}

/// `Debug` (the lexicon's size, not its words) and `Default` (`new()`) for a language port
/// whose `lexicon` field is a map.
macro_rules! port_impls {
    ($port:ident) => {
        impl std::fmt::Debug for $port {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($port))
                    .field("lexicon_words", &self.lexicon.len())
                    .finish_non_exhaustive()
            }
        }

        impl Default for $port {
            fn default() -> Self {
                Self::new()
            }
        }
    };
}
pub(crate) use port_impls;

/// The ALL-CAPS emphasis of a word or booster, pushing away from zero like `valence`.
#[inline]
pub(crate) fn caps(valence: f64) -> f64 {
    if valence > 0.0 { C_INCR } else { -C_INCR }
}

/// A booster's push `s` from `start_i + 1` words back, damped with distance: 1, 0.95, 0.9.
#[inline]
pub(crate) fn damped(s: f64, start_i: usize) -> f64 {
    match start_i {
        1 if s != 0.0 => s * 0.95,
        2 if s != 0.0 => s * 0.9,
        _ => s,
    }
}

/// Pushes `text` onto `out` with each code point that `describe` knows replaced by its
/// description, after a space unless one precedes (`prev_space`: whether `out` ends in one);
/// nothing is put after it (quirk: "😀x" becomes "grinning facex").
#[inline]
pub(crate) fn push_described<'d>(
    text: &str,
    mut prev_space: bool,
    describe: impl Fn(char) -> Option<&'d str>,
    out: &mut String,
) {
    for c in text.chars() {
        if let Some(d) = describe(c) {
            if !prev_space {
                out.push(' ');
            }
            out.push_str(d);
            prev_space = false;
        } else {
            out.push(c);
            prev_space = c == ' ';
        }
    }
}

/// A text's tokens with what the rules ask of each: Python's `lower()`, `isupper()`, and
/// where the same token first occurs (`list.index`). The lowercase forms share one buffer.
pub(crate) struct Words<'t> {
    raw: &'t [&'t str],
    lower: String,
    /// Per token, its lowercase form's end in `lower` (each starts where the previous ends).
    ends: Vec<usize>,
    upper: Vec<bool>,
    first: Vec<usize>,
}

/// Up to this many tokens, a token's first occurrence is found by scanning those before it
/// (cheaper than hashing for a post-sized text).
const SCAN_FIRST_UP_TO: usize = 48;

impl<'t> Words<'t> {
    pub(crate) fn new(raw: &'t [&'t str]) -> Self {
        let mut lower = String::with_capacity(raw.iter().map(|t| t.len()).sum());
        let mut ends = Vec::with_capacity(raw.len());
        for t in raw {
            push_py_lower(t, &mut lower);
            ends.push(lower.len());
        }
        Words {
            raw,
            lower,
            ends,
            upper: raw.iter().map(|t| is_upper(t)).collect(),
            first: first_occurrences(raw),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.raw.len()
    }

    pub(crate) fn lower(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.lower[start..self.ends[i]]
    }

    pub(crate) fn is_upper(&self, i: usize) -> bool {
        self.upper[i]
    }

    /// `words.index(words[k])`.
    pub(crate) fn first_index(&self, k: usize) -> usize {
        self.first[k]
    }

    /// The first position whose lowercase form is `word`.
    pub(crate) fn position(&self, word: &str) -> Option<usize> {
        (0..self.len()).find(|&i| self.lower(i) == word)
    }
}

/// Per token, the position where the same token first occurs.
fn first_occurrences(raw: &[&str]) -> Vec<usize> {
    if raw.len() <= SCAN_FIRST_UP_TO {
        return (0..raw.len())
            .map(|k| raw[..k].iter().position(|t| *t == raw[k]).unwrap_or(k))
            .collect();
    }
    let mut seen: HashMap<&str, usize, foldhash::fast::FixedState> =
        HashMap::with_capacity_and_hasher(raw.len(), Default::default());
    raw.iter()
        .enumerate()
        .map(|(k, t)| *seen.entry(t).or_insert(k))
        .collect()
}

/// Python's `str.lower()` of `s`, pushed onto `out`.
fn push_py_lower(s: &str, out: &mut String) {
    if s.is_ascii() {
        out.extend(s.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    } else {
        // `str::to_lowercase` maps a final sigma as Python does; `char`'s would not.
        out.push_str(&s.to_lowercase());
    }
}

/// `allcap_differential`: some but not all tokens are ALL CAPS.
pub(crate) fn allcap_differential(words: &[&str]) -> bool {
    let caps = words.iter().filter(|w| is_upper(w)).count();
    let differential = words.len() - caps;
    0 < differential && differential < words.len()
}

/// `scalar_inc_dec`: the booster's push, signed like the valence, plus caps emphasis.
pub(crate) fn scalar_inc_dec(
    boosters: &Boosters,
    lower: &str,
    upper: bool,
    valence: f64,
    cap_diff: bool,
) -> f64 {
    let Some(b) = boosters.get(lower) else {
        return 0.0;
    };
    let mut scalar = if valence < 0.0 { -b } else { b };
    if upper && cap_diff {
        scalar += caps(valence);
    }
    scalar
}

/// The damped push of the booster at `j`, `start_i + 1` words before the word scored.
pub(crate) fn booster_at(
    boosters: &Boosters,
    w: &Words,
    j: usize,
    start_i: usize,
    valence: f64,
    cap_diff: bool,
) -> f64 {
    let s = scalar_inc_dec(boosters, w.lower(j), w.is_upper(j), valence, cap_diff);
    damped(s, start_i)
}

/// The booster n-grams of `_special_idioms_check` ("um pouco bom"): the three words before
/// position `i` (three and above), unsigned.
pub(crate) fn booster_ngrams(boosters: &Boosters, w: &Words, i: usize) -> f64 {
    let (a, b, c) = (w.lower(i - 3), w.lower(i - 2), w.lower(i - 1));
    // Every n-gram starts with `a` or `b`: when no multi-word booster starts with either, no
    // string need be built (the common case).
    if !boosters.starts_ngram(a) && !boosters.starts_ngram(b) {
        return 0.0;
    }
    let mut add = 0.0;
    for gram in [
        format!("{a} {b} {c}"),
        format!("{a} {b}"),
        format!("{b} {c}"),
    ] {
        if let Some(v) = boosters.get(&gram) {
            add += v;
        }
    }
    add
}

/// `_but_check` with the reference's indexing: walking the list while rewriting it, each
/// value is looked up with `list.index` (its first equal value), which is the one scaled.
pub(crate) fn but_check(sentiments: &mut [f64], bi: usize) {
    for k in 0..sentiments.len() {
        let v = sentiments[k];
        let si = sentiments
            .iter()
            .position(|&s| s == v)
            .expect("v is in the list");
        if si < bi {
            sentiments[si] = v * 0.5;
        } else if si > bi {
            sentiments[si] = v * 1.5;
        }
    }
}

/// `_amplify_ep` + `_amplify_qm`: up to four '!' add 0.292 each; two or three '?' add 0.18
/// each, more add 0.96.
#[inline]
pub(crate) fn punctuation_emphasis(text: &str) -> f64 {
    let (mut ep, mut qm) = (0usize, 0usize);
    for b in text.bytes() {
        ep += usize::from(b == b'!');
        qm += usize::from(b == b'?');
    }
    let qm_amplifier = match qm {
        0 | 1 => 0.0,
        2 | 3 => qm as f64 * 0.18,
        _ => 0.96,
    };
    ep.min(4) as f64 * 0.292 + qm_amplifier
}

/// Python's `sum` of the sentiments (left to right, as 3.11 does).
#[inline]
pub(crate) fn sum(sentiments: &[f64]) -> f64 {
    sentiments.iter().fold(0.0, |acc, &s| acc + s)
}

/// `score_valence` with the plain VADER adjustment of the sum by the punctuation amplifier.
#[inline]
pub(crate) fn score_valence(sentiments: &[f64], amplifier: f64) -> Polarity {
    let mut sum_s = sum(sentiments);
    if sum_s > 0.0 {
        sum_s += amplifier;
    } else if sum_s < 0.0 {
        sum_s -= amplifier;
    }
    polarity(sentiments, sum_s, amplifier)
}

/// The rest of `score_valence` once the adjusted sum is known: compound, the sifted
/// proportions, rounded as the reference's dict.
#[inline]
pub(crate) fn polarity(sentiments: &[f64], sum_s: f64, amplifier: f64) -> Polarity {
    if sentiments.is_empty() {
        return Polarity {
            neg: 0.0,
            neu: 0.0,
            pos: 0.0,
            compound: 0.0,
        };
    }
    let compound = (sum_s / (sum_s * sum_s + 15.0).sqrt()).clamp(-1.0, 1.0);
    let (mut pos_sum, mut neg_sum, mut neu_count) = (0.0f64, 0.0f64, 0u32);
    for &s in sentiments {
        if s > 0.0 {
            pos_sum += s + 1.0;
        }
        if s < 0.0 {
            neg_sum += s - 1.0;
        }
        if s == 0.0 {
            neu_count += 1;
        }
    }
    if pos_sum > neg_sum.abs() {
        pos_sum += amplifier;
    } else if pos_sum < neg_sum.abs() {
        neg_sum -= amplifier;
    }
    let total = pos_sum + neg_sum.abs() + f64::from(neu_count);
    Polarity {
        neg: py_round((neg_sum / total).abs(), 3),
        neu: py_round((f64::from(neu_count) / total).abs(), 3),
        pos: py_round((pos_sum / total).abs(), 3),
        compound: py_round(compound, 4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_repeated_values_when_but_checked_then_the_first_equal_value_is_scaled() {
        // GIVEN 1.0 then 0.5 before "but" at 2
        let mut s = [1.0, 0.5, 0.0, 2.0];
        // WHEN checked
        but_check(&mut s, 2);
        // THEN the first becomes 0.5, so the reference's list.index finds it again for the
        // second's 0.5 and halves it twice, leaving the second as it was
        assert_eq!(s, [0.25, 0.5, 0.0, 3.0]);
    }
}
