//! What every port's agreement test reads: `tests/data/<lang>/` as JSON Lines, and the check
//! that a golden file still covers its corpus, text for text.

use serde::de::DeserializeOwned;

/// `tests/data/<lang>/<name>`, one JSON value per line.
pub fn read<T: DeserializeOwned>(lang: &str, name: &str) -> Vec<T> {
    let path = format!("{}/tests/data/{lang}/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {path}: {e}"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{path}: {e}")))
        .collect()
}

/// Fails unless the golden rows' `texts` are the corpus's, in order: otherwise the golden file
/// is stale and `script` must run again.
pub fn assert_covers_corpus(lang: &str, texts: Vec<&str>, script: &str) {
    let corpus: Vec<String> = read(lang, "corpus.jsonl");
    assert_eq!(
        corpus, texts,
        "{lang}: golden.jsonl is stale: rerun {script}"
    );
}
