//! The VADER rules of vaderSentiment 3.3.2, step for step.
//!
//! Each function mirrors one method of the reference so that the two can be read side by
//! side; the reference's quirks are kept on purpose (see the comments marked "quirk"), since
//! agreement with it is the contract. Work happens in per-thread scratch buffers: one text
//! costs no allocation once the buffers have grown to fit.

use std::cell::RefCell;

use crate::Polarity;
use crate::classic::{self, N_SCALAR};
use crate::pystr;
use crate::tables::{
    AT, BUT, DOUBT, KIND, Key, LEAST, MAX_KEY, NEVER, NO, NOR, OF, OR, Phrases, SO, THIS, Tables,
    VERY, WITHOUT, ascii_key, lower_key,
};

/// One token of `SentiText.words_and_emoticons`, with its lookups done up front.
#[derive(Debug, Clone, Copy)]
struct Tok {
    /// Which rule or idiom word it is (`RULE_WORDS` and phrase words); 0 if none.
    id: u8,
    /// `token.isupper()` on the original token.
    upper: bool,
    /// The reference's `negated([token])`: in `NEGATE` or containing "n't".
    negated: bool,
    valence: Option<f64>,
    booster: f64,
}

#[derive(Default)]
struct Scratch {
    translated: String,
    toks: Vec<Tok>,
    keys: Vec<Option<Key>>,
    sentiments: Vec<f64>,
    nonzero: Vec<(usize, f64)>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Scores `text` (already capped) exactly as `SentimentIntensityAnalyzer.polarity_scores`.
pub(crate) fn polarity_scores(tables: &Tables, text: &str) -> Polarity {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => score(tables, text, &mut scratch),
        // Unreachable without re-entrancy; a fresh buffer keeps it correct regardless.
        Err(_) => score(tables, text, &mut Scratch::default()),
    })
}

fn score(tables: &Tables, text: &str, scratch: &mut Scratch) -> Polarity {
    let Scratch {
        translated,
        toks,
        keys,
        sentiments,
        nonzero,
    } = scratch;
    let text = if translate_emoji(tables, text, translated) {
        translated.as_str()
    } else {
        text
    };
    let text = pystr::strip(text);

    tokenize(tables, text, toks, keys);
    let w = Words { toks, tables };
    let upper_count = toks.iter().filter(|t| t.upper).count();
    // `allcap_differential`: some, but not all, tokens are ALL CAPS.
    let cap_diff = upper_count > 0 && upper_count < toks.len();

    sentiments.clear();
    for (i, t) in toks.iter().enumerate() {
        // Boosters and "kind of" are modifiers, never scored themselves.
        if t.booster != 0.0 || (i + 1 < toks.len() && t.id == KIND && w.is(i + 1, OF)) {
            sentiments.push(0.0);
            continue;
        }
        sentiments.push(sentiment_valence(&w, i, cap_diff));
    }
    but_check(&w, sentiments, nonzero);
    classic::score_valence(sentiments, classic::punctuation_emphasis(text))
}

/// Replaces every emoji code point with its description, as the reference does before
/// tokenising: a space is inserted before the description unless the previous char was a
/// space; none is added after it (quirk: "😀x" becomes "grinning facex"). Returns false,
/// leaving `out` untouched, when the text has no emoji (the common case).
fn translate_emoji(tables: &Tables, text: &str, out: &mut String) -> bool {
    if text.is_ascii() {
        return false;
    }
    let Some((first, _)) = text
        .char_indices()
        .find(|&(_, c)| tables.emoji.get(c).is_some())
    else {
        return false;
    };
    out.clear();
    out.push_str(&text[..first]);
    let prev_space = first == 0 || text[..first].ends_with(' ');
    classic::push_described(&text[first..], prev_space, |c| tables.emoji.get(c), out);
    true
}

/// `SentiText._words_and_emoticons`: split on Python whitespace, strip punctuation from
/// words but not from short emoticon-like tokens, then look each token up once.
///
/// Two passes: the first shapes every token (key, caps, "n't"), the second only looks keys
/// up. The lookups are independent of each other, so with a short second loop the CPU keeps
/// several table reads in flight instead of waiting for each in turn.
fn tokenize(tables: &Tables, text: &str, toks: &mut Vec<Tok>, keys: &mut Vec<Option<Key>>) {
    toks.clear();
    keys.clear();
    if text.is_ascii() {
        // Byte scan: in ASCII text every byte is a char and the whitespace set is small.
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            while i < b.len() && pystr::is_ascii_space(b[i]) {
                i += 1;
            }
            let start = i;
            while i < b.len() && !pystr::is_ascii_space(b[i]) {
                i += 1;
            }
            if i > start {
                shape(&text[start..i], true, toks, keys);
            }
        }
    } else {
        for raw in text.split(pystr::is_space).filter(|s| !s.is_empty()) {
            shape(raw, false, toks, keys);
        }
    }
    for (t, key) in toks.iter_mut().zip(keys.iter()) {
        if let Some(info) = key.as_ref().and_then(|k| tables.words.get(k)) {
            t.id = info.id;
            t.negated |= info.negate;
            t.valence = info.valence();
            t.booster = info.booster();
        }
    }
}

/// The lookup-free part of a token: its key, `isupper()`, and the "n't" half of `negated`.
#[inline(always)]
fn shape(raw: &str, ascii: bool, toks: &mut Vec<Tok>, keys: &mut Vec<Option<Key>>) {
    let token = pystr::strip_punc_if_word(raw, ascii);
    let (key, upper, nt) = if ascii {
        let s = ascii_key(token.as_bytes());
        (s.key, s.upper, s.nt)
    } else {
        let mut buf = [0u8; MAX_KEY];
        let key = lower_key(token, &mut buf).map(|len| Key::from_padded(&buf, len));
        let b = token.as_bytes();
        // "n't" in token.lower(): only ASCII 'N' and 'T' lowercase to 'n' and 't'.
        let nt = b
            .windows(3)
            .any(|w| w[0] | 0x20 == b'n' && w[1] == b'\'' && w[2] | 0x20 == b't');
        (key, pystr::is_upper(token), nt)
    };
    keys.push(key);
    toks.push(Tok {
        id: 0,
        upper,
        negated: nt,
        valence: None,
        booster: 0.0,
    });
}

/// Read access to the classified tokens.
struct Words<'a> {
    toks: &'a [Tok],
    tables: &'a Tables,
}

impl Words<'_> {
    #[inline]
    fn len(&self) -> usize {
        self.toks.len()
    }

    #[inline]
    fn id(&self, i: usize) -> u8 {
        self.toks[i].id
    }

    #[inline]
    fn is(&self, i: usize, id: u8) -> bool {
        self.toks[i].id == id
    }

    #[inline]
    fn is_so_or_this(&self, i: usize) -> bool {
        matches!(self.toks[i].id, SO | THIS)
    }

    #[inline]
    fn in_lexicon(&self, i: usize) -> bool {
        self.toks[i].valence.is_some()
    }
}

/// `sentiment_valence` for token `i`, which is neither a booster nor the "kind" of "kind of".
fn sentiment_valence(w: &Words, i: usize, cap_diff: bool) -> f64 {
    let t = &w.toks[i];
    let Some(base) = t.valence else {
        return 0.0;
    };
    let mut valence = base;
    // "no" directly before another lexicon word negates that word instead of counting itself.
    if w.is(i, NO) && i != w.len() - 1 && w.in_lexicon(i + 1) {
        valence = 0.0;
    }
    if (i > 0 && w.is(i - 1, NO))
        || (i > 1 && w.is(i - 2, NO))
        || (i > 2 && w.is(i - 3, NO) && matches!(w.id(i - 1), OR | NOR))
    {
        valence = base * N_SCALAR;
    }
    if t.upper && cap_diff {
        valence += classic::caps(valence);
    }
    for start_i in 0..3 {
        // Modifiers up to three words back; lexicon words in between stop nothing but are
        // not modifiers themselves.
        if i > start_i && !w.in_lexicon(i - (start_i + 1)) {
            let s = scalar_inc_dec(&w.toks[i - (start_i + 1)], valence, cap_diff);
            valence += classic::damped(s, start_i);
            valence = negation_check(w, valence, start_i, i);
            if start_i == 2 {
                valence = special_idioms_check(w, valence, i);
            }
        }
    }
    least_check(w, valence, i)
}

/// `scalar_inc_dec`: the booster increment of a preceding word, signed like the valence and
/// emphasised when the booster alone is in caps.
fn scalar_inc_dec(t: &Tok, valence: f64, cap_diff: bool) -> f64 {
    if t.booster == 0.0 {
        return 0.0;
    }
    let mut scalar = t.booster;
    if valence < 0.0 {
        scalar = -scalar;
    }
    if t.upper && cap_diff {
        scalar += classic::caps(valence);
    }
    scalar
}

/// `_negation_check`: a negation 1, 2 or 3 words back flips and damps the valence, except
/// "never so/this" (which boosts) and "without doubt".
fn negation_check(w: &Words, valence: f64, start_i: usize, i: usize) -> f64 {
    match start_i {
        0 if w.toks[i - 1].negated => valence * N_SCALAR,
        1 => {
            if w.is(i - 2, NEVER) && w.is_so_or_this(i - 1) {
                valence * 1.25
            } else if w.is(i - 2, WITHOUT) && w.is(i - 1, DOUBT) {
                valence
            } else if w.toks[i - 2].negated {
                valence * N_SCALAR
            } else {
                valence
            }
        }
        2 => {
            // Quirk kept: by operator precedence the reference boosts whenever the word just
            // before is "so"/"this", whatever stands three words back.
            if (w.is(i - 3, NEVER) && w.is_so_or_this(i - 2)) || w.is_so_or_this(i - 1) {
                valence * 1.25
            } else if w.is(i - 3, WITHOUT) && (w.is(i - 2, DOUBT) || w.is(i - 1, DOUBT)) {
                valence
            } else if w.toks[i - 3].negated {
                valence * N_SCALAR
            } else {
                valence
            }
        }
        _ => valence,
    }
}

/// `_special_idioms_check` (only reached for `i >= 3`): idioms that contain lexicon words
/// replace the valence, and two-word dampeners ("kind of", "sort of") before it add theirs.
fn special_idioms_check(w: &Words, mut valence: f64, i: usize) -> f64 {
    let id = |k: usize| w.id(k);
    let find = |phrases: &Phrases, ids: &[u8]| phrases.find(ids);
    let cases = &w.tables.special_cases;
    let sequences: [&[u8]; 5] = [
        &[id(i - 1), id(i)],
        &[id(i - 2), id(i - 1), id(i)],
        &[id(i - 2), id(i - 1)],
        &[id(i - 3), id(i - 2), id(i - 1)],
        &[id(i - 3), id(i - 2)],
    ];
    // The first sequence found in the dict wins.
    if let Some(v) = sequences.iter().find_map(|seq| find(cases, seq)) {
        valence = v;
    }
    if w.len() - 1 > i
        && let Some(v) = find(cases, &[id(i), id(i + 1)])
    {
        valence = v;
    }
    if w.len() - 1 > i + 1
        && let Some(v) = find(cases, &[id(i), id(i + 1), id(i + 2)])
    {
        valence = v;
    }
    let n_grams: [&[u8]; 3] = [
        &[id(i - 3), id(i - 2), id(i - 1)],
        &[id(i - 3), id(i - 2)],
        &[id(i - 2), id(i - 1)],
    ];
    for n_gram in n_grams {
        if let Some(v) = find(&w.tables.booster_phrases, n_gram) {
            valence += v;
        }
    }
    valence
}

/// `_least_check`: "least" before a word negates it, unless it reads "at least" or
/// "very least".
fn least_check(w: &Words, valence: f64, i: usize) -> f64 {
    if i > 1 && !w.in_lexicon(i - 1) && w.is(i - 1, LEAST) {
        if !w.is(i - 2, AT) && !w.is(i - 2, VERY) {
            return valence * N_SCALAR;
        }
    } else if i > 0 && !w.in_lexicon(i - 1) && w.is(i - 1, LEAST) {
        return valence * N_SCALAR;
    }
    valence
}

/// `_but_check`: sentiment before the first "but" is halved and after it is multiplied by
/// 1.5.
///
/// Quirk kept: the reference iterates its list while rewriting it and finds each value's
/// position with `list.index`, i.e. the FIRST slot holding an equal value. Repeated values
/// are therefore rescaled at their first slot (sometimes twice), and a value that lands on
/// a later one is rescaled again. Zeros never equal a non-zero value and stay zero when
/// rescaled, so the emulation walks only the non-zero slots, kept in `nonzero`.
fn but_check(w: &Words, sentiments: &mut [f64], nonzero: &mut Vec<(usize, f64)>) {
    let Some(bi) = (0..w.len()).find(|&i| w.is(i, BUT)) else {
        return;
    };
    nonzero.clear();
    nonzero.extend(
        sentiments
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, s)| s != 0.0),
    );
    for k in 0..nonzero.len() {
        let s = nonzero[k].1;
        let j = nonzero[..=k].iter().position(|&(_, x)| x == s).unwrap_or(k);
        let si = nonzero[j].0;
        let scaled = match si.cmp(&bi) {
            std::cmp::Ordering::Less => s * 0.5,
            std::cmp::Ordering::Greater => s * 1.5,
            std::cmp::Ordering::Equal => continue,
        };
        nonzero[j].1 = scaled;
        sentiments[si] = scaled;
    }
}
