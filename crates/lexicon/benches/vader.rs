//! Throughput of `Vader::polarity_scores`, one thread, in texts per second.
//!
//! ```text
//! cargo bench -p ks-lexicon --bench vader [-- --texts PATH]
//! ```
//!
//! Always measures `tests/data/corpus.jsonl` (all of it, then only its tweet-sized texts of
//! 100-280 bytes); `--texts` adds a JSON Lines file of strings. Each set is scored over and
//! over until at least one second has passed. `reference/bench.py` prints the Python
//! reference's numbers in the same format.
//!
//! Then each other language of [`Lexicon`] on its own corpus (`tests/data/<lang>/`), through
//! `Lexicon::sentiment` (label and four scores), after a line with what parsing its tables
//! cost: time and resident memory added.

use std::hint::black_box;
use std::time::{Duration, Instant};

use ks_lexicon::{Lexicon, Vader};

fn read_texts(path: &str) -> Vec<String> {
    let raw = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    raw.lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{path}: {e}")))
        .collect()
}

fn measure<T>(name: &str, texts: &[String], score: impl Fn(&str) -> T) {
    if texts.is_empty() {
        return;
    }
    // Warm-up: grow the scratch buffers and fault in the tables.
    for t in texts.iter().take(1_000) {
        black_box(score(t));
    }
    let bytes: usize = texts.iter().map(String::len).sum();
    let (mut n, mut rounds) = (0usize, 0usize);
    let start = Instant::now();
    let elapsed = loop {
        for t in texts {
            black_box(score(black_box(t)));
        }
        n += texts.len();
        rounds += 1;
        let e = start.elapsed();
        if e >= Duration::from_secs(1) {
            break e.as_secs_f64();
        }
    };
    println!(
        "rust ks-lexicon              {name:<28} {:>6} texts  {:>12} texts/s  {:8.2} MB/s",
        texts.len(),
        group_thousands((n as f64 / elapsed) as u64),
        (bytes * rounds) as f64 / elapsed / 1e6
    );
}

fn group_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut extra = None;
    // cargo passes `--bench`; anything but `--texts PATH` is ignored.
    while let Some(a) = args.next() {
        if a == "--texts" {
            extra = args.next();
        }
    }
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/corpus.jsonl");
    let mut files = vec![("corpus.jsonl".to_string(), corpus.to_string())];
    if let Some(path) = extra {
        let name = std::path::Path::new(&path)
            .file_name()
            .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());
        files.push((name, path));
    }

    let vader = Vader::new();
    for (name, path) in files {
        let texts = read_texts(&path);
        measure(&name, &texts, |t| vader.polarity_scores(t));
        let tweets: Vec<String> = texts
            .into_iter()
            .filter(|t| (100..=280).contains(&t.len()))
            .collect();
        measure(&format!("{name} (100-280 B)"), &tweets, |t| {
            vader.polarity_scores(t)
        });
    }

    let lexicon = Lexicon::new();
    for (lang, _) in ks_lexicon::LANGUAGES.iter().filter(|(l, _)| *l != "en") {
        let path = format!(
            "{}/tests/data/{lang}/corpus.jsonl",
            env!("CARGO_MANIFEST_DIR")
        );
        let texts = read_texts(&path);
        let (rss, start) = (resident_kb(), Instant::now());
        black_box(lexicon.sentiment(lang, "x"));
        println!(
            "rust ks-lexicon              {lang} tables: parsed on first text in {:.1} ms, +{} KB resident",
            start.elapsed().as_secs_f64() * 1e3,
            resident_kb().saturating_sub(rss)
        );
        let score = |t: &str| lexicon.sentiment(lang, t).expect("a supported language");
        measure(&format!("{lang}/corpus.jsonl"), &texts, score);
        let tweets: Vec<String> = texts
            .into_iter()
            .filter(|t| (100..=280).contains(&t.len()))
            .collect();
        measure(&format!("{lang}/corpus.jsonl (100-280 B)"), &tweets, score);
    }
}

/// This process's resident set (Linux `/proc/self/status`), 0 elsewhere.
fn resident_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
