//! The multilingual lexicon backend (`ks_lexicon::Lexicon`) on any text in every language it
//! scores, Japanese included: an answer for every text, four scores in [0, 1] that sum to 1, the
//! label's score the largest, the same answer twice. For Japanese also the segmentation: the
//! tokens, joined, are the text without its surrounding whitespace (nothing lost, nothing made
//! up), and the label is the likelier of asari's two classes.
//!
//! The input: one byte choosing the first language tried, then the text (UTF-8, lossily).

use std::sync::OnceLock;

use ks_lexicon::{Asari, LANGUAGES, Label, Lexicon, Sentiment};

use crate::util::Input;

fn lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(Lexicon::new)
}

fn asari() -> &'static Asari {
    static ASARI: OnceLock<Asari> = OnceLock::new();
    ASARI.get_or_init(Asari::new)
}

/// Python's `str.isspace()`, which janome's `strip()` uses.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let first = usize::from(input.byte()) % LANGUAGES.len();
    let text = String::from_utf8_lossy(input.rest()).into_owned();
    for (language, _) in LANGUAGES.iter().cycle().skip(first).take(LANGUAGES.len()) {
        let s = lexicon()
            .sentiment(language, &text)
            .unwrap_or_else(|| panic!("{language}: no answer for {text:?}"));
        check_scores(language, &text, &s);
        assert_eq!(
            lexicon().sentiment(language, &text),
            Some(s),
            "{language}: two answers for {text:?}"
        );
    }
    check_japanese(&text);
}

fn check_scores(language: &str, text: &str, s: &Sentiment) {
    let scores = [s.positive, s.negative, s.neutral, s.mixed];
    assert!(
        scores.iter().all(|x| (0.0..=1.0).contains(x)),
        "{language}: a score outside [0, 1] for {text:?}: {s:?}"
    );
    let sum: f64 = scores.iter().sum();
    assert!((sum - 1.0).abs() < 1e-9, "{language}: scores sum to {sum} for {text:?}");
    let own = match s.label {
        Label::Positive => s.positive,
        Label::Negative => s.negative,
        Label::Neutral => s.neutral,
        Label::Mixed => s.mixed,
    };
    assert!(
        scores.iter().all(|x| *x <= own + 1e-12),
        "{language}: the label's score is not the largest for {text:?}: {s:?}"
    );
}

fn check_japanese(text: &str) {
    let tokens = asari().segment(text);
    assert_eq!(
        tokens.concat(),
        text.trim_matches(is_py_space),
        "ja: the tokens are not the stripped text"
    );
    assert!(tokens.iter().all(|t| !t.is_empty()), "ja: an empty token in {text:?}");
    let p = asari().positive(text);
    let want = if p > 0.5 { Label::Positive } else { Label::Negative };
    assert_eq!(asari().sentiment(text).label, want, "ja: {p} for {text:?}");
}
