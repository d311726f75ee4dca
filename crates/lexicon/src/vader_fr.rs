//! French: vaderSentiment-fr 1.3.4 (`SentimentIntensityAnalyzer.polarity_scores`), a fork of
//! VADER 3.3-era code with a hand-translated French lexicon, reproduced rule by rule. Its
//! fuzzy-match path (`polarity_scores_max`, fuzzywuzzy, GPL) is not ported.
//!
//! What it does differently from vaderSentiment 3.3.2 (`engine`), all kept:
//! - emoji are replaced by French descriptions (`emojis_fr.txt`), one code point at a time;
//! - tokens are split on whitespace *and* the ASCII apostrophe, empty tokens included (each
//!   counts as a neutral word);
//! - a word is looked up with its accents folded (the reference's `unidecode`, here
//!   [`fold`]), its neighbours without folding;
//! - negations are `pas, jamais, plus, rien, aucunement, nullement, sans, ni` and any "n't",
//!   never for the words of `no_negate.txt` (compared unfolded against the folded list);
//! - no "but" rule (commented out in the reference); the English "no", "least", "kind of" and
//!   idiom rules remain;
//! - two more amplifiers: runs of dots (`_amplify_sp`) and words in capitals after their first
//!   letter (`_amplify_uc`, which also counts digits).

use crate::Polarity;
use crate::classic::{self, Boosters, WordMap, WordSet, Words};
use crate::pystr::{is_space, strip, strip_punc_if_word};

const LEXICON: &str = include_str!("../data/fr/fr_lexicon.txt");
const EMOJI: &str = include_str!("../data/fr/emojis_fr.txt");
const NO_NEGATE: &str = include_str!("../data/fr/no_negate.txt");

const NEGATE: [&str; 8] = [
    "pas",
    "jamais",
    "plus",
    "rien",
    "aucunement",
    "nullement",
    "sans",
    "ni",
];

const B_INCR: f64 = classic::B_INCR;
const B_DECR: f64 = classic::B_DECR;

/// The reference's `BOOSTER_DICT`.
const BOOSTERS: &[(&str, f64)] = &[
    ("absolument", B_INCR),
    ("ainsi", B_INCR),
    ("archi", B_INCR),
    ("beaucoup", B_INCR),
    ("bigrement", B_INCR),
    ("bougrement", B_INCR),
    ("carrément", B_INCR),
    ("complètement", B_INCR),
    ("considérablement", B_INCR),
    ("davantage", B_INCR),
    ("diablement", B_INCR),
    ("diantrement", B_INCR),
    ("divinement", B_INCR),
    ("drôlement", B_INCR),
    ("délicieusement", B_INCR),
    ("entièrement", B_INCR),
    ("exceptionnel", B_INCR),
    ("exceptionnelle", B_INCR),
    ("exceptionnellement", B_INCR),
    ("exceptionnelles", B_INCR),
    ("exceptionnels", B_INCR),
    ("excessivement", B_INCR),
    ("extra", B_INCR),
    ("extrême", B_INCR),
    ("extrêmement", B_INCR),
    ("fabuleusement", B_INCR),
    ("fichtrement", B_INCR),
    ("fort", B_INCR),
    ("forte", B_INCR),
    ("fortes", B_INCR),
    ("forts", B_INCR),
    ("grandement", B_INCR),
    ("hyper", B_INCR),
    ("impeccablement", B_INCR),
    ("incroyablement", B_INCR),
    ("infiniment", B_INCR),
    ("joliment", B_INCR),
    ("merveilleusement", B_INCR),
    ("prodigieusement", B_INCR),
    ("profondément", B_INCR),
    ("putain de", B_INCR),
    ("rudement", B_INCR),
    ("sacrément", B_INCR),
    ("spécialement", B_INCR),
    ("sublimement", B_INCR),
    ("super", B_INCR),
    ("superbement", B_INCR),
    ("tant", B_INCR),
    ("tellement", B_INCR),
    ("terriblement", B_INCR),
    ("totalement", B_INCR),
    ("trop", B_INCR),
    ("très", B_INCR),
    ("ultra", B_INCR),
    ("vachement", B_INCR),
    ("vraiment", B_INCR),
    ("énormément", B_INCR),
    ("approximativement", B_DECR),
    ("assez", B_DECR),
    ("difficilement", B_DECR),
    ("environ", B_DECR),
    ("guère", B_DECR),
    ("insuffisament", B_DECR),
    ("insuffisamment", B_DECR),
    ("juste", B_DECR),
    ("léger", B_DECR),
    ("légers", B_DECR),
    ("légère", B_DECR),
    ("légèrement", B_DECR),
    ("légères", B_DECR),
    ("moins", B_DECR),
    ("peu", B_DECR),
    ("plutôt", B_DECR),
    ("presque", B_DECR),
    ("quasi", B_DECR),
    ("quasiment", B_DECR),
    ("quelque", B_DECR),
    ("quelque peu", B_DECR),
    ("rare", B_DECR),
    ("rarement", B_DECR),
    ("à peine", B_DECR),
    ("à peu près", B_DECR),
];

/// The reference's `SPECIAL_CASES` (English, kept from VADER).
const SPECIAL_CASES: [(&str, f64); 9] = [
    ("the shit", 3.0),
    ("the bomb", 3.0),
    ("bad ass", 1.5),
    ("badass", 1.5),
    ("bus stop", 0.0),
    ("yeah right", -2.0),
    ("kiss of death", -1.5),
    ("to die for", 3.0),
    ("beating heart", 3.5),
];

/// A token's lexicon valence and whether it reads "no", found once per text.
struct Base {
    valence: Option<f64>,
    is_no: bool,
}

/// The French analyser: vaderSentiment-fr's lexicon, emoji descriptions and rules.
pub struct VaderFr {
    lexicon: WordMap<f64>,
    emoji: std::collections::HashMap<char, Box<str>>,
    boosters: Boosters,
    no_negate: WordSet,
}

classic::port_impls!(VaderFr);

impl VaderFr {
    pub fn new() -> Self {
        let mut lexicon = WordMap::with_capacity_and_hasher(9_200, Default::default());
        for line in LEXICON.trim_end_matches('\n').split('\n') {
            if line.is_empty() {
                continue;
            }
            let mut fields = strip(line).split("->");
            if let (Some(word), Some(v)) = (fields.next(), fields.next())
                && let Ok(v) = v.trim().parse::<f64>()
            {
                lexicon.insert(fold(word).into(), v);
            }
        }
        // Only one-code-point keys can ever match: the reference looks up each char.
        let mut emoji = std::collections::HashMap::new();
        for line in EMOJI.trim_end_matches('\n').split('\n') {
            let mut fields = strip(line).split('\t');
            if let (Some(key), Some(description)) = (fields.next(), fields.next()) {
                let mut chars = key.chars();
                if let (Some(c), None) = (chars.next(), chars.next()) {
                    emoji.insert(c, description.into());
                }
            }
        }
        let boosters = BOOSTERS.iter().copied().collect();
        let no_negate = NO_NEGATE
            .trim()
            .split('\n')
            .map(|w| fold(w).into())
            .collect();
        VaderFr {
            lexicon,
            emoji,
            boosters,
            no_negate,
        }
    }

    /// The reference's `polarity_scores`.
    pub fn polarity_scores(&self, text: &str) -> Polarity {
        let text = self.describe_emoji(text);
        let text = strip(&text);
        let raw: Vec<&str> = text
            .split(|c: char| c == '\'' || is_space(c))
            .map(|t| strip_punc_if_word(t, t.is_ascii()))
            .collect();
        let w = Words::new(&raw);
        let bases = self.bases(&w);
        let cap_diff = classic::allcap_differential(&raw);
        let mut sentiments = Vec::with_capacity(raw.len());
        for i in 0..w.len() {
            if self.boosters.contains(w.lower(i))
                || (i + 1 < w.len() && w.lower(i) == "kind" && w.lower(i + 1) == "of")
            {
                sentiments.push(0.0);
                continue;
            }
            sentiments.push(self.sentiment_valence(&w, &bases, i, cap_diff));
        }
        let punct = classic::punctuation_emphasis(text) + amplify_sp(text);
        let uc = amplify_uc(text);
        let mut sum_s = classic::sum(&sentiments);
        if sum_s > 0.0 {
            sum_s += punct;
            if sum_s >= 0.05 {
                sum_s += uc;
            }
        } else if sum_s < 0.0 {
            sum_s -= punct;
            if sum_s <= -0.05 {
                sum_s -= uc;
            }
        } else {
            sum_s -= 0.5 * punct;
        }
        classic::polarity(&sentiments, sum_s, punct)
    }

    /// Each code point with a description is replaced by it, after a space unless one
    /// precedes; nothing is put after it.
    fn describe_emoji(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 16);
        classic::push_described(text, true, |c| self.emoji.get(&c).map(|d| &**d), &mut out);
        out
    }

    fn in_lexicon(&self, w: &Words, j: usize) -> bool {
        self.lexicon.contains_key(w.lower(j))
    }

    /// Per token: its valence, looked up by its accent-folded lowercase form, and whether that
    /// form is "no". Folded once per token, into one reused buffer.
    fn bases(&self, w: &Words) -> Vec<Base> {
        let mut folded = String::new();
        let mut out = Vec::with_capacity(w.len());
        for i in 0..w.len() {
            let lower = w.lower(i);
            let key = if lower.is_ascii() {
                lower
            } else {
                folded.clear();
                fold_into(lower, &mut folded);
                folded.as_str()
            };
            out.push(Base {
                valence: self.lexicon.get(key).copied(),
                is_no: key == "no",
            });
        }
        out
    }

    fn sentiment_valence(&self, w: &Words, bases: &[Base], i: usize, cap_diff: bool) -> f64 {
        let Some(base) = bases[i].valence else {
            return 0.0;
        };
        let mut valence = base;
        if bases[i].is_no && i + 1 != w.len() && self.in_lexicon(w, i + 1) {
            valence = 0.0;
        }
        if (i > 0 && w.lower(i - 1) == "no")
            || (i > 1 && w.lower(i - 2) == "no")
            || (i > 2 && w.lower(i - 3) == "no" && matches!(w.lower(i - 1), "or" | "nor"))
        {
            valence = base * classic::N_SCALAR;
        }
        if cap_diff && w.is_upper(i) {
            valence += classic::caps(valence);
        }
        for start_i in 0..3 {
            if i <= start_i || self.in_lexicon(w, i - (start_i + 1)) {
                continue;
            }
            let j = i - (start_i + 1);
            valence += classic::booster_at(&self.boosters, w, j, start_i, valence, cap_diff);
            valence = self.negation_check(w, valence, j, i);
            if start_i == 2 {
                valence = self.special_idioms_check(w, valence, i);
            }
        }
        self.least_check(w, valence, i)
    }

    /// `_negation_check`: the word `j` before `i` negates, unless `i` is a no-negate word.
    fn negation_check(&self, w: &Words, valence: f64, j: usize, i: usize) -> f64 {
        if self.no_negate.contains(w.lower(i)) {
            return valence;
        }
        let word = w.lower(j);
        if NEGATE.contains(&word) || word.contains("n't") {
            valence * classic::N_SCALAR
        } else {
            valence
        }
    }

    fn least_check(&self, w: &Words, valence: f64, i: usize) -> f64 {
        if i > 1 && !self.in_lexicon(w, i - 1) && w.lower(i - 1) == "least" {
            if !matches!(w.lower(i - 2), "at" | "very") {
                return valence * classic::N_SCALAR;
            }
        } else if i > 0 && !self.in_lexicon(w, i - 1) && w.lower(i - 1) == "least" {
            return valence * classic::N_SCALAR;
        }
        valence
    }

    /// `_special_idioms_check` (called at `i >= 3`).
    fn special_idioms_check(&self, w: &Words, mut valence: f64, i: usize) -> f64 {
        let l = |k: usize| w.lower(k);
        // Every idiom is made of these words: without one nearby, no string need be built.
        const IDIOM_WORDS: [&str; 17] = [
            "the", "shit", "bomb", "bad", "ass", "bus", "stop", "yeah", "right", "kiss", "of",
            "death", "to", "die", "for", "beating", "heart",
        ];
        let near = (i - 3..(i + 3).min(w.len())).any(|k| IDIOM_WORDS.contains(&l(k)));
        if !near {
            return valence + classic::booster_ngrams(&self.boosters, w, i);
        }
        let special = |s: &str| SPECIAL_CASES.iter().find(|(k, _)| *k == s).map(|p| p.1);
        let sequences = [
            format!("{} {}", l(i - 1), l(i)),
            format!("{} {} {}", l(i - 2), l(i - 1), l(i)),
            format!("{} {}", l(i - 2), l(i - 1)),
            format!("{} {} {}", l(i - 3), l(i - 2), l(i - 1)),
            format!("{} {}", l(i - 3), l(i - 2)),
        ];
        if let Some(v) = sequences.iter().find_map(|s| special(s)) {
            valence = v;
        }
        if w.len() - 1 > i
            && let Some(v) = special(&format!("{} {}", l(i), l(i + 1)))
        {
            valence = v;
        }
        if w.len() - 1 > i + 1
            && let Some(v) = special(&format!("{} {} {}", l(i), l(i + 1), l(i + 2)))
        {
            valence = v;
        }
        valence + classic::booster_ngrams(&self.boosters, w, i)
    }
}

/// `_amplify_sp`: dots in runs of two or more; 2–3 add 0.21, then 0.21 per dot past two, up to
/// six dots.
fn amplify_sp(text: &str) -> f64 {
    let (mut dots, mut run) = (0usize, 0usize);
    for b in text.bytes().chain(std::iter::once(0)) {
        if b == b'.' {
            run += 1;
        } else {
            if run >= 2 {
                dots += run;
            }
            run = 0;
        }
    }
    match dots {
        0 | 1 => 0.0,
        2 | 3 => 0.21,
        n => (n.min(6) - 2) as f64 * 0.21,
    }
}

/// `_amplify_uc`: without `?!.,;`, split on single spaces; of the words of two or more
/// characters, those with no lowercase character after the first add 0.292 each, five at
/// most.
fn amplify_uc(text: &str) -> f64 {
    let cleaned: String = text
        .chars()
        .filter(|c| !matches!(c, '?' | '!' | '.' | ',' | ';'))
        .collect();
    let mut count = 0u32;
    for word in cleaned.split(' ') {
        let mut chars = word.chars();
        if chars.next().is_none() || word.chars().nth(1).is_none() {
            continue;
        }
        if !chars.any(char::is_lowercase) {
            if count > 4 {
                break;
            }
            count += 1;
        }
    }
    f64::from(count) * 0.292
}

/// The reference's `unidecode` where it matters here: Latin letters lose their accents
/// (NFKD, combining marks dropped), the few letters with no decomposition are spelled out,
/// typographic quotes, dashes and ellipses become ASCII. Other characters are kept as they
/// are (unidecode transliterates them; no lexicon word is spelled that way).
pub(crate) fn fold(s: &str) -> std::borrow::Cow<'_, str> {
    if s.is_ascii() {
        return s.into();
    }
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out.into()
}

/// [`fold`] of `s`, pushed onto `out`.
fn fold_into(s: &str, out: &mut String) {
    use unicode_normalization::UnicodeNormalization;
    for c in s.chars() {
        let spelled = match c {
            'œ' => "oe",
            'Œ' => "OE",
            'æ' => "ae",
            'Æ' => "AE",
            'ß' => "ss",
            'ø' => "o",
            'Ø' => "O",
            'đ' | 'ð' => "d",
            'Đ' | 'Ð' => "D",
            'ł' => "l",
            'Ł' => "L",
            'þ' => "th",
            'Þ' => "Th",
            '‘' | '’' | '‚' | '′' => "'",
            '“' | '”' | '„' | '″' => "\"",
            '«' => "<<",
            '»' => ">>",
            '–' | '—' => "-",
            _ => "",
        };
        if !spelled.is_empty() {
            out.push_str(spelled);
        } else if c.is_ascii() {
            out.push(c);
        } else {
            let before = out.len();
            out.extend(std::iter::once(c).nfkd().filter(char::is_ascii));
            if out.len() == before
                && !std::iter::once(c)
                    .nfkd()
                    .all(unicode_normalization::char::is_combining_mark)
            {
                out.push(c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_accented_french_when_folded_then_it_matches_unidecode() {
        assert_eq!(fold("Génial œuvre où « ça »"), "Genial oeuvre ou << ca >>");
        assert_eq!(fold(":-Þ"), ":-Th");
        assert_eq!(fold("l’amour…"), "l'amour...");
    }

    #[test]
    fn given_runs_of_dots_when_amplified_then_they_count_as_the_reference_counts() {
        assert_eq!(amplify_sp("a. b."), 0.0);
        assert_eq!(amplify_sp("a..."), 0.21);
        assert_eq!(amplify_sp("a.... b.."), (6.0 - 2.0) * 0.21);
        assert_eq!(amplify_sp("a............"), 4.0 * 0.21);
    }
}
