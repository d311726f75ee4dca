//! Every language of the multilingual lexicon backend (`ks_lexicon::Lexicon`, so a language
//! added to `LANGUAGES` is covered without a change here) on any text: the text is the input
//! read as UTF-8 (lossily), and also cut to a byte budget taken from its first byte.
//!
//! Properties: every language answers; the four scores are finite, in [0, 1], sum to 1, and
//! the label's score is the largest; the same text gives the same answer twice; the es and
//! Pattern analysers' own numbers (German with and without textblob-de's lemmatizer) stay in
//! their ranges and give the same label. Japanese: the segmentation's tokens, joined, are the
//! text without its surrounding whitespace (nothing lost, nothing made up), and the label is
//! the likelier of asari's two classes.

use std::sync::OnceLock;

use ks_lexicon::{Asari, LANGUAGES, Lexicon, Pattern, PatternLanguage, Sentiment, SpanishNb};
use ks_transform::sentiment::Label;

const EPS: f64 = 1e-9;

struct Analysers {
    lexicon: Lexicon,
    small: Lexicon,
    es: SpanishNb,
    pattern: [Pattern; 4],
    ja: Asari,
}

fn analysers() -> &'static Analysers {
    static A: OnceLock<Analysers> = OnceLock::new();
    A.get_or_init(|| Analysers {
        lexicon: Lexicon::new(),
        small: Lexicon::with_max_bytes(64),
        es: SpanishNb::new(),
        pattern: [
            Pattern::new(PatternLanguage::De),
            Pattern::without_lemmatizing(PatternLanguage::De),
            Pattern::new(PatternLanguage::It),
            Pattern::new(PatternLanguage::Nl),
        ],
        ja: Asari::new(),
    })
}

pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let a = analysers();
    for (lang, _) in LANGUAGES {
        for lexicon in [&a.lexicon, &a.small] {
            let s = lexicon
                .sentiment(lang, &text)
                .unwrap_or_else(|| panic!("{lang}: no answer"));
            assert_well_formed(lang, &s);
            assert_eq!(Some(s), lexicon.sentiment(lang, &text), "{lang}: not repeatable");
        }
    }
    let nb = a.es.score(&text);
    assert!((0.0..=1.0).contains(&nb.probability), "es: {nb:?}");
    assert_eq!(nb.label(), a.es.sentiment(&text).label, "es: label");
    for p in &a.pattern {
        let score = p.score(&text);
        let lang = p.language();
        assert!((-1.0..=1.0).contains(&score.polarity), "{lang:?}: {score:?}");
        assert!((-1.0..=1.0).contains(&score.subjectivity), "{lang:?}: {score:?}");
        assert_eq!(score.label(), p.sentiment(&text).label, "{lang:?}: label");
    }
    check_japanese(&a.ja, &text);
}

/// Python's `str.isspace()`, which janome's `strip()` uses.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn check_japanese(asari: &Asari, text: &str) {
    let tokens = asari.segment(text);
    assert_eq!(
        tokens.concat(),
        text.trim_matches(is_py_space),
        "ja: the tokens are not the stripped text"
    );
    assert!(tokens.iter().all(|t| !t.is_empty()), "ja: an empty token");
    let p = asari.positive(text);
    let want = if p > 0.5 { Label::Positive } else { Label::Negative };
    assert_eq!(asari.sentiment(text).label, want, "ja: {p}");
}

fn assert_well_formed(lang: &str, s: &Sentiment) {
    let scores = [s.positive, s.negative, s.neutral, s.mixed];
    assert!(
        scores.iter().all(|x| x.is_finite() && (-EPS..=1.0 + EPS).contains(x)),
        "{lang}: {s:?}"
    );
    let sum: f64 = scores.iter().sum();
    assert!((sum - 1.0).abs() < EPS, "{lang}: sum {sum}: {s:?}");
    let own = match s.label {
        Label::Positive => s.positive,
        Label::Negative => s.negative,
        Label::Neutral => s.neutral,
        Label::Mixed => s.mixed,
    };
    let max = scores.iter().copied().fold(0.0, f64::max);
    assert!(own >= max - EPS, "{lang}: the label's score is not the largest: {s:?}");
}
