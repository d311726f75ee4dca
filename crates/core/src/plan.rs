//! The batch plan: which distinct texts go to the analyzer, in which calls.
//!
//! Identical texts (after truncation, per language) are scored once; each call carries one
//! language and at most the analyzer's batch size.

use std::collections::HashMap;

use crate::limits::comprehend_units;

/// One distinct text to score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc {
    pub language: &'static str,
    pub text: String,
}

impl Doc {
    /// Comprehend units this document is billed if scored.
    pub fn units(&self) -> u64 {
        comprehend_units(self.text.chars().count())
    }
}

/// Distinct documents in first-seen order.
#[derive(Debug, Default)]
pub struct DocTable {
    docs: Vec<Doc>,
    index: HashMap<&'static str, HashMap<String, usize>>,
    duplicates: usize,
}

impl DocTable {
    /// The id of `text` in `language`, added if new.
    pub fn intern(&mut self, language: &'static str, text: &str) -> usize {
        let by_text = self.index.entry(language).or_default();
        // Look up by borrowed key first: duplicates are common and should not allocate.
        if let Some(&id) = by_text.get(text) {
            self.duplicates += 1;
            return id;
        }
        let id = self.docs.len();
        self.docs.push(Doc {
            language,
            text: text.to_owned(),
        });
        by_text.insert(text.to_owned(), id);
        id
    }

    pub fn docs(&self) -> &[Doc] {
        &self.docs
    }

    /// Records that reused an earlier record's document.
    pub fn duplicates(&self) -> usize {
        self.duplicates
    }

    /// Calls to make: grouped by language (in first-seen order), each ≤ `max_batch` documents.
    pub fn batches(&self, max_batch: usize) -> Vec<Batch> {
        let max_batch = max_batch.max(1);
        let mut by_language: Vec<(&'static str, Vec<usize>)> = Vec::new();
        for (id, doc) in self.docs.iter().enumerate() {
            match by_language.iter_mut().find(|(l, _)| *l == doc.language) {
                Some((_, ids)) => ids.push(id),
                None => by_language.push((doc.language, vec![id])),
            }
        }
        by_language
            .into_iter()
            .flat_map(|(language, ids)| {
                ids.chunks(max_batch)
                    .map(|c| Batch {
                        language,
                        docs: c.to_vec(),
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

/// One call's worth of documents, all in one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub language: &'static str,
    pub docs: Vec<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_texts_are_interned_once_per_language() {
        // GIVEN the same text twice in English and once in German
        let mut t = DocTable::default();
        let a = t.intern("en", "great");
        let b = t.intern("en", "great");
        let c = t.intern("de", "great");
        // THEN English shares one document and German gets its own
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(t.docs().len(), 2);
        assert_eq!(t.duplicates(), 1);
    }

    #[test]
    fn batches_hold_one_language_and_at_most_the_batch_size() {
        // GIVEN 60 English and 3 Spanish documents, interleaved
        let mut t = DocTable::default();
        for i in 0..63 {
            let lang = if i % 21 == 0 { "es" } else { "en" };
            t.intern(lang, &format!("text {i}"));
        }
        // WHEN planned with batches of 25
        let batches = t.batches(25);
        // THEN English makes ⌈60/25⌉ = 3 calls and Spanish 1, each within limits
        let sizes: Vec<(&str, usize)> =
            batches.iter().map(|b| (b.language, b.docs.len())).collect();
        assert_eq!(sizes, [("es", 3), ("en", 25), ("en", 25), ("en", 10)]);
        let mut all: Vec<usize> = batches.iter().flat_map(|b| b.docs.clone()).collect();
        all.sort_unstable();
        assert_eq!(all, (0..63).collect::<Vec<_>>());
    }

    #[test]
    fn units_count_characters_not_bytes() {
        let d = Doc {
            language: "ja",
            text: "あ".repeat(350),
        };
        assert_eq!(d.units(), 4);
    }
}
