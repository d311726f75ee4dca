//! Agreement of the es, de, it and nl ports with their Python references, on the committed
//! corpora (`tests/data/<lang>/`, made by `reference/languages.py` from the pinned venv).
//!
//! Labels are compared after the same mapping on both sides: es by the probability bands
//! (`ES_NEGATIVE_THRESHOLD`, `ES_POSITIVE_THRESHOLD`, NEUTRAL where no feature matched), the
//! Pattern languages by `PATTERN_THRESHOLD`. The numbers themselves are compared too.

use ks_lexicon::{Label, Pattern, PatternLanguage, SpanishNb};
use serde::Deserialize;

#[derive(Deserialize)]
struct EsRow {
    text: String,
    probability: f64,
    label: String,
}

#[derive(Deserialize)]
struct PatternRow {
    text: String,
    polarity: f64,
    subjectivity: f64,
    label: String,
    fix: Vec<String>,
}

fn read<T: for<'de> Deserialize<'de>>(lang: &str, name: &str) -> Vec<T> {
    let path = format!("{}/tests/data/{lang}/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {path}: {e}"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{path}: {e}")))
        .collect()
}

fn name(label: Label) -> &'static str {
    match label {
        Label::Positive => "POSITIVE",
        Label::Negative => "NEGATIVE",
        Label::Neutral => "NEUTRAL",
        Label::Mixed => "MIXED",
    }
}

/// Checks that the golden file covers the corpus, line for line.
fn assert_fresh(lang: &str, texts: Vec<&str>) {
    let corpus: Vec<String> = read(lang, "corpus.jsonl");
    assert_eq!(
        corpus, texts,
        "{lang}: golden.jsonl is stale: rerun reference/languages.py {lang}"
    );
    assert!(
        texts.len() >= 3_000,
        "{lang}: corpus too small: {}",
        texts.len()
    );
}

/// Prints and returns the share of same labels and of equal numbers.
fn report(lang: &str, n: usize, same_label: usize, same_numbers: usize) -> f64 {
    let share = same_label as f64 / n as f64;
    eprintln!(
        "{lang}: {n} texts, same label {:.2}%, same numbers (within 1e-9) {:.2}%",
        100.0 * share,
        100.0 * same_numbers as f64 / n as f64
    );
    share
}

#[test]
fn given_the_es_corpus_when_scored_then_it_agrees_with_sentiment_analysis_spanish() {
    // GIVEN the es corpus (the package's own test sentences, generated texts) and the
    // package's probabilities for it
    let rows: Vec<EsRow> = read("es", "golden.jsonl");
    assert_fresh("es", rows.iter().map(|r| r.text.as_str()).collect());
    let nb = SpanishNb::new();
    // WHEN every text is scored by the port
    let (mut labels, mut numbers, mut shown) = (0, 0, 0);
    for row in &rows {
        let score = nb.score(&row.text);
        labels += usize::from(name(score.label()) == row.label);
        let close = (score.probability - row.probability).abs() <= 1e-9;
        numbers += usize::from(close);
        if !close && shown < 10 {
            shown += 1;
            eprintln!(
                "  es: rust {score:?} python {}: {:?}",
                row.probability, row.text
            );
        }
    }
    // THEN at least 99% of the mapped labels agree
    let share = report("es", rows.len(), labels, numbers);
    assert!(share >= 0.99, "es label agreement {share} below 99%");
}

fn pattern_agreement(lang: &str, language: PatternLanguage) {
    // GIVEN the corpus and the reference's (polarity, subjectivity) for each text
    let rows: Vec<PatternRow> = read(lang, "golden.jsonl");
    assert_fresh(lang, rows.iter().map(|r| r.text.as_str()).collect());
    let pattern = Pattern::new(language);
    // WHEN every text is scored by the port
    let (mut labels, mut numbers, mut shown) = (0, 0, 0);
    for row in &rows {
        let score = pattern.score(&row.text);
        labels += usize::from(name(score.label()) == row.label);
        let close = (score.polarity - row.polarity).abs() <= 1e-9
            && (score.subjectivity - row.subjectivity).abs() <= 1e-9;
        numbers += usize::from(close);
        if !close && shown < 10 {
            shown += 1;
            eprintln!(
                "  {lang}: rust {score:?} python ({}, {}): {:?}",
                row.polarity, row.subjectivity, row.text
            );
        }
    }
    // THEN at least 99% of the labels agree
    let share = report(lang, rows.len(), labels, numbers);
    assert!(share >= 0.99, "{lang} label agreement {share} below 99%");
}

#[test]
fn given_the_de_corpus_when_scored_then_it_agrees_with_textblob_de() {
    pattern_agreement("de", PatternLanguage::De);
}

#[test]
fn given_the_it_corpus_when_scored_then_it_agrees_with_pattern_italian() {
    pattern_agreement("it", PatternLanguage::It);
}

#[test]
fn given_the_nl_corpus_when_scored_then_it_agrees_with_textblob_nl() {
    pattern_agreement("nl", PatternLanguage::Nl);
}

#[test]
fn given_the_pattern_corpora_then_the_emoticon_order_cases_are_marked() {
    // GIVEN the Pattern corpora, whose reference glues split emoticons with a regex built
    // from sets, so that its choice between ":c" and ":c)" in ": c )" depends on
    // PYTHONHASHSEED; the golden files hold the deterministic, longest-first choice
    for lang in ["de", "it", "nl"] {
        let rows: Vec<PatternRow> = read(lang, "golden.jsonl");
        // WHEN the rows the other order would change are looked up
        let marked: Vec<&PatternRow> = rows.iter().filter(|r| !r.fix.is_empty()).collect();
        // THEN there are some, each names the fix, and each holds a glued emoticon
        assert!(!marked.is_empty(), "{lang}: no EmoticonOrder case");
        for row in marked {
            assert_eq!(row.fix, ["EmoticonOrder"], "{lang}: {:?}", row.text);
        }
    }
}

#[test]
fn given_an_emoticon_split_two_ways_when_scored_then_the_longest_emoticon_wins() {
    // GIVEN ":c)" (a taunt, +0.75), which the tokenizer splits into ": c )", where ":c" (a
    // frown, -0.75) also matches
    let de = Pattern::new(PatternLanguage::De);
    // WHEN scored
    let score = de.score(":c)");
    // THEN the longer emoticon is glued back, as the golden files' reference does
    assert_eq!((score.polarity, score.assessed), (0.75, 1));
    assert_eq!(score.label(), Label::Positive);
}

#[test]
fn given_negation_and_modifiers_when_scored_then_pattern_rules_apply() {
    // GIVEN German sentences with a lexicon adjective, a negation and an exclamation mark
    let de = Pattern::new(PatternLanguage::De);
    let gut = de.score("gut").polarity;
    // WHEN scored THEN the negation halves and flips it, "!" raises it by a quarter
    assert!(gut > 0.0);
    assert_eq!(de.score("nicht gut").polarity, gut * -0.5);
    assert_eq!(de.score("gut!").polarity, (gut * 1.25).min(1.0));
    assert_eq!(de.score("nicht gut").label(), Label::Negative);
    assert_eq!(de.score("Das Auto ist rot").assessed, 0);
}
