//! How well the transform's language identifier (whatlang) names the language of short texts,
//! measured on every port's corpus: the texts the records without a language tag look like.
//!
//! `cargo test -p ks-lexicon --test identify -- --nocapture` prints the table.

use std::fs;

use ks_lexicon::Lexicon;
use ks_transform::language::{Identifier, LanguageDetection};

/// Each corpus directory under `tests/data` is named by its language; English's is the root.
fn corpora() -> Vec<(String, Vec<String>)> {
    let root = format!("{}/tests/data", env!("CARGO_MANIFEST_DIR"));
    let mut out = vec![("en".to_owned(), texts(&format!("{root}/corpus.jsonl")))];
    let mut dirs: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().join("corpus.jsonl").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    for lang in dirs {
        let path = format!("{root}/{lang}/corpus.jsonl");
        out.push((lang, texts(&path)));
    }
    out
}

fn texts(path: &str) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[derive(Default)]
struct Tally {
    texts: usize,
    chars: usize,
    best_right: usize,
    reliable: usize,
    reliable_right: usize,
}

fn tally(lang: &str, texts: &[String]) -> Tally {
    let lexicon = Lexicon::new();
    let best = Identifier::new(&lexicon, LanguageDetection::Best);
    let reliable = Identifier::new(&lexicon, LanguageDetection::Reliable);
    let mut t = Tally::default();
    for text in texts {
        t.texts += 1;
        t.chars += text.chars().count();
        t.best_right += usize::from(best.identify(text) == Some(lang));
        if let Some(guess) = reliable.identify(text) {
            t.reliable += 1;
            t.reliable_right += usize::from(guess == lang);
        }
    }
    t
}

#[test]
fn reliable_guesses_are_right_and_best_guesses_mostly_right_on_short_texts() {
    // GIVEN each port's corpus (tweet-sized texts, each in its known language)
    println!("lang  texts  mean chars  best right  reliable share  reliable right");
    for (lang, texts) in corpora() {
        // WHEN the identifier guesses each text's language among the lexicon's languages
        let t = tally(&lang, &texts);
        let share = |n: usize, of: usize| n as f64 / of.max(1) as f64;
        println!(
            "{lang:4}  {:5}  {:10}  {:9.1}%  {:13.1}%  {:13.1}%",
            t.texts,
            t.chars / t.texts.max(1),
            100.0 * share(t.best_right, t.texts),
            100.0 * share(t.reliable, t.texts),
            100.0 * share(t.reliable_right, t.reliable),
        );
        // THEN a guess called reliable is right at least 98% of the time, and the best guess
        // at least 70% of the time
        assert!(
            share(t.reliable_right, t.reliable) >= 0.98,
            "{lang}: reliable guesses right {}/{}",
            t.reliable_right,
            t.reliable
        );
        assert!(
            share(t.best_right, t.texts) >= 0.70,
            "{lang}: best guesses right {}/{}",
            t.best_right,
            t.texts
        );
    }
}
