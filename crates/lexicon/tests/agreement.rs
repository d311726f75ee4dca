//! Agreement with the Python reference (vaderSentiment 3.3.2) on the committed corpus.
//!
//! `tests/data/golden.jsonl` is the reference's output on `tests/data/corpus.jsonl`
//! (regenerate both with the scripts in `reference/`). The reference has no length cap,
//! so the rules are compared with an uncapped analyzer; the cap has its own test below.

mod common;

use common::{Scores, identical, label};
use ks_lexicon::Vader;
use serde::Deserialize;

#[derive(Deserialize)]
struct Golden {
    text: String,
    #[serde(flatten)]
    scores: Scores,
}

fn data(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn corpus() -> Vec<String> {
    data("corpus.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON string"))
        .collect()
}

fn golden() -> Vec<Golden> {
    data("golden.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a golden row"))
        .collect()
}

fn preview(text: &str) -> String {
    let t: String = text.chars().take(120).collect();
    if t.len() < text.len() {
        format!("{t}…")
    } else {
        t
    }
}

#[test]
fn given_the_golden_corpus_when_scored_then_it_agrees_with_the_reference() {
    // GIVEN the corpus and the reference's scores for it
    let corpus = corpus();
    let golden = golden();
    assert!(corpus.len() >= 2_000, "corpus too small: {}", corpus.len());
    assert_eq!(
        corpus.len(),
        golden.len(),
        "golden.jsonl is stale: rerun reference/golden.py"
    );
    let vader = Vader::with_max_bytes(usize::MAX);

    // WHEN every text is scored
    let (mut same_label, mut close, mut exact) = (0usize, 0usize, 0usize);
    let mut disagreements = Vec::new();
    for (text, g) in corpus.iter().zip(&golden) {
        assert_eq!(
            text, &g.text,
            "golden.jsonl is stale: rerun reference/golden.py"
        );
        let g = &g.scores;
        let p = vader.polarity_scores(text);
        let label_ok = label(p.compound) == label(g.compound);
        let close_ok = (p.compound - g.compound).abs() <= 0.01;
        same_label += usize::from(label_ok);
        close += usize::from(close_ok);
        exact += usize::from(identical(&p, g));
        if !identical(&p, g) {
            disagreements.push(format!(
                "  rust {{neg {}, neu {}, pos {}, compound {}}} python {{neg {}, neu {}, pos {}, compound {}}}: {:?}",
                p.neg, p.neu, p.pos, p.compound, g.neg, g.neu, g.pos, g.compound, preview(text)
            ));
        }
    }

    // THEN labels and compounds agree (and the disagreements are listed)
    let n = corpus.len() as f64;
    eprintln!(
        "agreement on {} texts: label {:.2}%, |Δcompound| <= 0.01 {:.2}%, all four scores identical {:.2}%",
        corpus.len(),
        100.0 * same_label as f64 / n,
        100.0 * close as f64 / n,
        100.0 * exact as f64 / n
    );
    eprintln!(
        "{} disagreement(s){}",
        disagreements.len(),
        if disagreements.is_empty() { "" } else { ":" }
    );
    for d in &disagreements {
        eprintln!("{d}");
    }
    assert!(same_label as f64 >= 0.99 * n, "label agreement below 99%");
    assert!(
        close as f64 >= 0.95 * n,
        "|Δcompound| <= 0.01 on fewer than 95%"
    );
}

#[test]
fn given_long_corpus_texts_when_capped_then_only_the_prefix_is_scored() {
    // GIVEN the corpus texts longer than the default cap
    let capped = Vader::new();
    let uncapped = Vader::with_max_bytes(usize::MAX);
    let long: Vec<String> = corpus()
        .into_iter()
        .filter(|t| t.len() > ks_lexicon::DEFAULT_MAX_BYTES)
        .collect();
    assert!(
        !long.is_empty(),
        "the corpus should hold texts over the cap"
    );

    for text in &long {
        // WHEN scored with the default cap
        let p = capped.polarity_scores(text);
        // THEN the result is that of the first 5,000 bytes (cut on a char boundary)
        let prefix = ks_lexicon::truncate(text, ks_lexicon::DEFAULT_MAX_BYTES);
        assert!(prefix.len() <= 5_000 && prefix.len() > 4_996);
        assert_eq!(p, uncapped.polarity_scores(prefix));
    }
}
