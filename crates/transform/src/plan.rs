//! The batch plan: which distinct texts go to the analyzer, in which calls.
//!
//! Identical texts (after truncation, per language) are scored once; each call carries one
//! language and at most the analyzer's batch size. Batches are taken as they fill, so calls can
//! start while the rest of the records are still being read.

use std::collections::HashMap;
use std::sync::Arc;

use crate::limits::comprehend_units;

/// One distinct text to score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc {
    pub language: &'static str,
    /// Shared with the batch that carries it to the analyzer.
    pub text: Arc<str>,
}

impl Doc {
    /// Comprehend units this document is billed if scored.
    pub fn units(&self) -> u64 {
        // Most texts are ASCII, where characters are bytes.
        let chars = if self.text.is_ascii() {
            self.text.len()
        } else {
            self.text.chars().count()
        };
        comprehend_units(chars)
    }
}

/// Distinct documents in first-seen order.
#[derive(Debug, Default)]
pub struct DocTable {
    docs: Vec<Doc>,
    // foldhash: several times faster than SipHash on tweet-sized keys, and seeded per process,
    // which is enough for a table that lives for one invocation.
    index: HashMap<&'static str, HashMap<Arc<str>, usize, foldhash::fast::RandomState>>,
    /// Documents not yet in a batch, per language in first-seen order.
    unbatched: Vec<(&'static str, Vec<usize>)>,
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
        let text: Arc<str> = Arc::from(text);
        self.docs.push(Doc {
            language,
            text: text.clone(),
        });
        by_text.insert(text, id);
        match self.unbatched.iter_mut().find(|(l, _)| *l == language) {
            Some((_, ids)) => ids.push(id),
            None => self.unbatched.push((language, vec![id])),
        }
        id
    }

    pub fn docs(&self) -> &[Doc] {
        &self.docs
    }

    /// Records that reused an earlier record's document.
    pub fn duplicates(&self) -> usize {
        self.duplicates
    }

    /// Batches of exactly `max_batch` documents that have filled since the last take.
    pub fn take_full_batches(&mut self, max_batch: usize) -> Vec<Batch> {
        self.take(max_batch, false)
    }

    /// Every document not yet in a batch: grouped by language (in first-seen order), each
    /// batch ≤ `max_batch` documents.
    pub fn take_remaining_batches(&mut self, max_batch: usize) -> Vec<Batch> {
        self.take(max_batch, true)
    }

    fn take(&mut self, max_batch: usize, all: bool) -> Vec<Batch> {
        let max_batch = max_batch.max(1);
        let mut out = Vec::new();
        for (language, ids) in &mut self.unbatched {
            let whole = if all {
                ids.len()
            } else {
                ids.len() - ids.len() % max_batch
            };
            for chunk in ids.drain(..whole).collect::<Vec<_>>().chunks(max_batch) {
                out.push(Batch {
                    language,
                    texts: chunk.iter().map(|&id| self.docs[id].text.clone()).collect(),
                    docs: chunk.to_vec(),
                });
            }
        }
        out
    }
}

/// One call's worth of documents, all in one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub language: &'static str,
    /// Document ids, and their texts in the same order.
    pub docs: Vec<usize>,
    pub texts: Vec<Arc<str>>,
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
        let batches = t.take_remaining_batches(25);
        // THEN English makes ⌈60/25⌉ = 3 calls and Spanish 1, each within limits
        let sizes: Vec<(&str, usize)> =
            batches.iter().map(|b| (b.language, b.docs.len())).collect();
        assert_eq!(sizes, [("es", 3), ("en", 25), ("en", 25), ("en", 10)]);
        let mut all: Vec<usize> = batches.iter().flat_map(|b| b.docs.clone()).collect();
        all.sort_unstable();
        assert_eq!(all, (0..63).collect::<Vec<_>>());
    }

    #[test]
    fn full_batches_are_taken_as_they_fill_and_the_rest_at_the_end() {
        // GIVEN 30 English documents and 3 German ones
        let mut t = DocTable::default();
        for i in 0..30 {
            t.intern("en", &format!("en {i}"));
        }
        for i in 0..3 {
            t.intern("de", &format!("de {i}"));
        }
        // WHEN full batches are taken THEN only the one full English batch comes out
        let full = t.take_full_batches(25);
        assert_eq!(full.len(), 1);
        assert_eq!(full[0].docs, (0..25).collect::<Vec<_>>());
        assert_eq!(&*full[0].texts[24], "en 24");
        assert!(t.take_full_batches(25).is_empty(), "nothing is taken twice");
        // AND the rest comes out once, per language
        let rest: Vec<(&str, usize)> = t
            .take_remaining_batches(25)
            .iter()
            .map(|b| (b.language, b.docs.len()))
            .collect();
        assert_eq!(rest, [("en", 5), ("de", 3)]);
        assert!(t.take_remaining_batches(25).is_empty());
    }

    #[test]
    fn units_count_characters_not_bytes() {
        let d = Doc {
            language: "ja",
            text: "あ".repeat(350).into(),
        };
        assert_eq!(d.units(), 4);
    }
}
