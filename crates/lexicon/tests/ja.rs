//! Japanese: agreement of [`Asari`] with asari 0.2.0 itself on the committed corpus, its
//! segmentation with janome's, its place in the multilingual backend, and the check that the
//! committed export and golden files are what the pinned reference makes today.
//!
//! `tests/data/ja/golden.jsonl` (made by `reference/ja.py` from the pinned venv) holds, per
//! text, janome's tokens and asari's label and positive probability.

mod golden;

use std::process::Command;
use std::sync::OnceLock;

use ks_lexicon::{Asari, Label, Lexicon};
use ks_transform::sentiment::SentimentAnalyzer;
use serde::Deserialize;

#[derive(Deserialize)]
struct Row {
    text: String,
    label: String,
    positive: f64,
    tokens: Vec<String>,
}

fn golden() -> Vec<Row> {
    let rows: Vec<Row> = golden::read("ja", "golden.jsonl");
    let texts = rows.iter().map(|r| r.text.as_str()).collect();
    golden::assert_covers_corpus("ja", texts, "reference/ja.py");
    rows
}

/// One analyser for every test of this file: loading it is the slow part.
fn asari() -> &'static Asari {
    static ASARI: OnceLock<Asari> = OnceLock::new();
    ASARI.get_or_init(Asari::new)
}

fn label_name(label: Label) -> &'static str {
    match label {
        Label::Positive => "positive",
        Label::Negative => "negative",
        other => panic!("asari has two classes, got {other:?}"),
    }
}

#[test]
fn given_the_ja_corpus_when_scored_then_it_agrees_with_asari() {
    // GIVEN the ja corpus (asari's examples, generated texts) and asari 0.2.0's answers
    let rows = golden();
    assert!(rows.len() >= 3_000, "corpus too small: {}", rows.len());
    // WHEN every text is scored by the port
    let (mut same_label, mut close, mut shown) = (0usize, 0usize, 0);
    for row in &rows {
        let s = asari().sentiment(&row.text);
        same_label += usize::from(label_name(s.label) == row.label);
        if (s.positive - row.positive).abs() < 1e-4 {
            close += 1;
        } else if shown < 20 {
            shown += 1;
            eprintln!(
                "  rust {:.6} python {:.6}: {:?}",
                s.positive, row.positive, row.text
            );
        }
    }
    let n = rows.len() as f64;
    let (labels, probabilities) = (same_label as f64 / n, close as f64 / n);
    eprintln!(
        "ja: {} texts, same label {:.2}%, positive probability within 1e-4 {:.2}%",
        rows.len(),
        100.0 * labels,
        100.0 * probabilities
    );
    // THEN at least 99% of the labels agree
    assert!(labels >= 0.99, "ja label agreement {labels} below 99%");
}

#[test]
fn given_the_ja_corpus_when_segmented_then_the_tokens_are_janomes() {
    // GIVEN janome 0.4.2's tokens for every corpus text
    let rows = golden();
    // WHEN each text is segmented by vibrato with the IPADIC build.rs compiles
    let mut same = 0usize;
    let mut shown = 0;
    for row in &rows {
        let tokens = asari().segment(&row.text);
        if tokens == row.tokens {
            same += 1;
        } else if shown < 20 {
            shown += 1;
            eprintln!("  rust {tokens:?}\n  janome {:?}", row.tokens);
        }
    }
    let share = same as f64 / rows.len() as f64;
    eprintln!(
        "ja: {} texts, identical segmentation {:.2}%",
        rows.len(),
        100.0 * share
    );
    // THEN at least 99% of the texts are segmented exactly as janome segments them
    assert!(share >= 0.99, "ja segmentation agreement {share} below 99%");
}

#[test]
fn given_asaris_readme_example_when_scored_then_it_is_negative_with_its_confidence() {
    // GIVEN asari's README example, "too many ads ♡", which it calls negative (0.9087 in its
    // README, from an older model; 0.987169 from 0.2.0's pipeline.onnx)
    let s = asari().sentiment("広告多すぎる♡");
    // THEN the port says the same
    assert_eq!(s.label, Label::Negative);
    assert!((s.negative - 0.987169).abs() < 1e-4, "{s:?}");
    assert!((s.positive + s.negative - 1.0).abs() < 1e-12);
    assert_eq!((s.neutral, s.mixed), (0.0, 0.0));
}

#[tokio::test]
async fn given_japanese_records_when_analysed_then_asari_scores_them_loaded_on_first_use() {
    // GIVEN the multilingual backend, nothing loaded
    let lexicon = Lexicon::new();
    assert!(lexicon.supports_language("ja"));
    assert_eq!(lexicon.model_for("ja"), "lexicon:ja-asari");
    assert!(!lexicon.is_loaded("ja"));
    // WHEN an English text is analysed, Japanese is still not loaded
    lexicon.analyze("en", &["I love it"]).await.outcome.unwrap();
    assert!(!lexicon.is_loaded("ja"));
    // AND WHEN Japanese texts are analysed
    let out = lexicon
        .analyze("ja", &["この映画は最高でした", "この商品は最悪です"])
        .await
        .outcome
        .unwrap();
    // THEN asari scored them and only then was loaded
    let labels: Vec<Label> = out.iter().map(|r| r.as_ref().unwrap().label).collect();
    assert_eq!(labels, [Label::Positive, Label::Negative]);
    assert!(lexicon.is_loaded("ja"));
    // AND a Japanese text has no VADER polarity, only a sentiment
    assert!(lexicon.polarity_scores("ja", "最高").is_none());
    assert!(lexicon.sentiment("ja", "最高").is_some());
}

#[test]
fn given_the_pinned_reference_when_rerun_then_the_committed_export_and_golden_files_match() {
    // GIVEN the workspace's pinned venv (`make venv`: reference/requirements.txt)
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let python = format!("{root}/.venv/bin/python");
    assert!(
        std::path::Path::new(&python).exists(),
        "{python} is missing: run `make venv` (the pinned reference packages)"
    );
    // WHEN reference/ja.py regenerates the model export and the golden files in a temp dir
    let out = Command::new(&python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/reference/ja.py"))
        .arg("--check")
        .output()
        .expect("running reference/ja.py --check");
    // THEN they are identical to the committed ones
    assert!(
        out.status.success(),
        "reference/ja.py --check failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
