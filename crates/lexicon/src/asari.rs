//! Japanese: asari 0.2.0 (PyPI, MIT), a TF-IDF + calibrated linear classifier, as plain
//! arithmetic over its exported model, with janome's segmentation reproduced by vibrato.
//!
//! asari's `Sonar.ping(text)`:
//! 1. janome 0.4.2 (`Tokenizer(wakati=True)`) segments the text: Python `strip()` first, then
//!    Viterbi over IPADIC in chunks (past 500 characters a chunk ends after punctuation or a
//!    blank line, and at 1,024 in any case); the surfaces are joined with one space.
//! 2. `pipeline.onnx` lower-cases that string (per character), splits it on " " dropping empty
//!    pieces, counts every piece and every pair of neighbouring pieces found in its 316,537
//!    features, weighs the counts by idf and L2-normalises them;
//! 3. five linear classifiers, each calibrated by a sigmoid `1 / (1 + exp(a * score + b))`,
//!    are averaged into the positive class's probability; the label is the likelier class
//!    (NEGATIVE on a tie, as the reference's `max` picks the first).
//!
//! Both tables are embedded compressed and inflated on the first Japanese text only: the
//! model (`data/ja/asari.bin.deflate`, exported by `reference/ja.py`) and the vibrato
//! dictionary (`data/ja/ipadic.vibrato.deflate`, compiled from Debian's mecab-ipadic, the
//! dictionary janome is built from; `tests/ja_dictionary.rs` checks it).

use vibrato::{Dictionary, Tokenizer};

use crate::classic::FastMap;
use crate::pystr;

const MODEL: &[u8] = include_bytes!("../data/ja/asari.bin.deflate");
const DICTIONARY: &[u8] = include_bytes!("../data/ja/ipadic.vibrato.deflate");
const MAGIC: &[u8] = b"KSJA1\n";
/// The calibrated classifiers averaged by asari's model (sklearn's default 5-fold calibration).
const CLASSIFIERS: usize = 5;
/// janome's `Tokenizer.MAX_CHUNK_SIZE`: no lattice spans more characters.
const MAX_CHUNK_CHARS: usize = 1024;
/// janome's `Tokenizer.CHUNK_SIZE`: past this many characters a chunk may end at punctuation.
const CHUNK_CHARS: usize = 500;

/// The Japanese analyser: the segmenter and asari's model.
pub struct Asari {
    tokenizer: Tokenizer,
    model: Model,
}

/// One calibrated linear classifier: its intercept and sigmoid parameters.
#[derive(Clone, Copy)]
struct Calibrated {
    intercept: f64,
    a: f64,
    b: f64,
}

struct Model {
    /// Lower-cased word → unigram feature index.
    unigrams: FastMap<Box<str>, u32>,
    /// (first, second) unigram indexes → bigram feature index.
    bigrams: FastMap<(u32, u32), u32>,
    /// Per feature: idf, then each classifier's coefficient (one cache line per feature).
    features: Vec<[f32; 1 + CLASSIFIERS]>,
    classifiers: [Calibrated; CLASSIFIERS],
}

impl std::fmt::Debug for Asari {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Asari")
            .field("features", &self.model.features.len())
            .finish_non_exhaustive()
    }
}

impl Default for Asari {
    fn default() -> Self {
        Self::new()
    }
}

impl Asari {
    /// Inflates and parses the embedded dictionary and model (both checked by the tests, so a
    /// failure here is a broken build, not bad input).
    pub fn new() -> Self {
        let raw = inflate(DICTIONARY, "the vibrato dictionary");
        let dictionary = Dictionary::read(raw.as_slice()).expect("the embedded vibrato dictionary");
        let tokenizer = Tokenizer::new(dictionary);
        let model = Model::parse(&inflate(MODEL, "asari's model"));
        Asari { tokenizer, model }
    }

    /// janome's surfaces for `text`, as asari's pipeline sees them before lower-casing.
    pub fn segment(&self, text: &str) -> Vec<String> {
        let mut worker = self.tokenizer.new_worker();
        let mut surfaces = Vec::new();
        for chunk in janome_chunks(pystr::strip(text)) {
            worker.reset_sentence(chunk);
            worker.tokenize();
            surfaces.extend((0..worker.num_tokens()).map(|i| worker.token(i).surface().to_owned()));
        }
        surfaces
    }

    /// asari's probability that `text` is positive.
    pub fn positive(&self, text: &str) -> f64 {
        let words: Vec<String> = self
            .segment(text)
            .iter()
            .flat_map(|s| {
                lowercase(s)
                    .split(' ')
                    .filter(|w| !w.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        self.model.positive(&words)
    }

    /// Label (POSITIVE or NEGATIVE: asari has two classes) and scores: positive = asari's
    /// probability, negative = 1 - that, neutral and mixed 0.
    pub fn sentiment(&self, text: &str) -> crate::Sentiment {
        let p = self.positive(text);
        crate::Sentiment {
            label: if p > 0.5 {
                crate::Label::Positive
            } else {
                crate::Label::Negative
            },
            positive: p,
            negative: 1.0 - p,
            neutral: 0.0,
            mixed: 0.0,
        }
    }
}

fn inflate(packed: &[u8], what: &str) -> Vec<u8> {
    miniz_oxide::inflate::decompress_to_vec_zlib(packed)
        .or_else(|_| miniz_oxide::inflate::decompress_to_vec(packed))
        .unwrap_or_else(|e| panic!("inflating {what}: {e:?}"))
}

/// The onnxruntime StringNormalizer's lower-casing: one character at a time (C `towlower`), so
/// a character whose full lower case is longer keeps a one-character mapping (only U+0130,
/// which glibc maps to "i").
fn lowercase(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut lower = c.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(l), None) => l,
                _ if c == '\u{130}' => 'i',
                _ => c,
            }
        })
        .collect()
}

/// The pieces janome segments separately: past [`CHUNK_CHARS`] characters a chunk ends after
/// the first punctuation mark or blank line, and at [`MAX_CHUNK_CHARS`] in any case.
fn janome_chunks(text: &str) -> Vec<&str> {
    let mut chunks = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let ends: Vec<usize> = rest
            .char_indices()
            .map(|(i, c)| i + c.len_utf8())
            .take(MAX_CHUNK_CHARS)
            .collect();
        let cut = ends
            .iter()
            .enumerate()
            .skip(CHUNK_CHARS - 1)
            .find(|&(_, &end)| splittable(&rest[..end]))
            .map_or(*ends.last().expect("rest is not empty"), |(_, &end)| end);
        chunks.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    chunks
}

/// janome's `__splittable`: ends with one of its punctuation marks or a blank line.
fn splittable(head: &str) -> bool {
    head.ends_with(['、', '。', ',', '.', '？', '?', '！', '!'])
        || head.ends_with("\n\n")
        || head.ends_with("\r\n\r\n")
}

impl Model {
    fn parse(raw: &[u8]) -> Self {
        let mut r = Reader { raw, at: 0 };
        assert_eq!(
            r.take(MAGIC.len()),
            MAGIC,
            "asari's model: not a KSJA1 export"
        );
        let (n_uni, n_bi, n_clf) = (r.u32(), r.u32(), r.u32());
        assert_eq!(
            n_clf as usize, CLASSIFIERS,
            "asari's model: classifier count"
        );
        let mut unigrams = FastMap::with_capacity_and_hasher(n_uni as usize, Default::default());
        for i in 0..n_uni {
            let word = r.line();
            unigrams.insert(word.into(), i);
        }
        let mut bigrams = FastMap::with_capacity_and_hasher(n_bi as usize, Default::default());
        for j in 0..n_bi {
            bigrams.insert((r.u32(), r.u32()), n_uni + j);
        }
        let n = (n_uni + n_bi) as usize;
        let mut features = vec![[0f32; 1 + CLASSIFIERS]; n];
        for f in &mut features {
            f[0] = r.f32();
        }
        let mut classifiers = [Calibrated {
            intercept: 0.0,
            a: 0.0,
            b: 0.0,
        }; CLASSIFIERS];
        for (k, c) in classifiers.iter_mut().enumerate() {
            (c.intercept, c.a, c.b) = (r.f32().into(), r.f32().into(), r.f32().into());
            for f in &mut features {
                f[1 + k] = r.f32();
            }
        }
        assert_eq!(r.at, raw.len(), "asari's model: trailing bytes");
        Model {
            unigrams,
            bigrams,
            features,
            classifiers,
        }
    }

    /// The positive probability of the lower-cased words, as the ONNX graph computes it.
    fn positive(&self, words: &[String]) -> f64 {
        let ids: Vec<Option<u32>> = words
            .iter()
            .map(|w| self.unigrams.get(w.as_str()).copied())
            .collect();
        let mut found: Vec<u32> = Vec::with_capacity(2 * ids.len());
        for (i, id) in ids.iter().enumerate() {
            let Some(first) = *id else { continue };
            found.push(first);
            if let Some(&Some(second)) = ids.get(i + 1) {
                found.extend(self.bigrams.get(&(first, second)));
            }
        }
        found.sort_unstable();
        let (mut norm2, mut dots) = (0f64, [0f64; CLASSIFIERS]);
        for run in found.chunk_by(|a, b| a == b) {
            let f = &self.features[run[0] as usize];
            let weight = run.len() as f64 * f64::from(f[0]);
            norm2 += weight * weight;
            for (dot, coef) in dots.iter_mut().zip(&f[1..]) {
                *dot += weight * f64::from(*coef);
            }
        }
        // A text with no known word is the zero vector (the normaliser leaves it so).
        let norm = if norm2 > 0.0 { norm2.sqrt() } else { 1.0 };
        let sum: f64 = self
            .classifiers
            .iter()
            .zip(dots)
            .map(|(c, dot)| 1.0 / (1.0 + (c.a * (dot / norm + c.intercept) + c.b).exp()))
            .sum();
        sum / CLASSIFIERS as f64
    }
}

struct Reader<'a> {
    raw: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let bytes = self
            .raw
            .get(self.at..self.at + n)
            .expect("asari's model: truncated");
        self.at += n;
        bytes
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take(4).try_into().expect("4 bytes"))
    }

    fn f32(&mut self) -> f32 {
        f32::from_le_bytes(self.take(4).try_into().expect("4 bytes"))
    }

    fn line(&mut self) -> &'a str {
        let len = self.raw[self.at..]
            .iter()
            .position(|&b| b == b'\n')
            .expect("asari's model: unterminated word");
        let word = std::str::from_utf8(self.take(len)).expect("asari's model: UTF-8 words");
        self.take(1);
        word
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_long_text_when_chunked_then_it_splits_after_punctuation_past_500_chars() {
        // GIVEN 600 characters with a full stop at the 520th
        let text = format!("{}。{}", "あ".repeat(519), "い".repeat(80));
        // WHEN chunked as janome chunks
        let chunks = janome_chunks(&text);
        // THEN the first chunk ends with the stop and nothing is lost
        assert_eq!(chunks[0].chars().count(), 520);
        assert_eq!(chunks.concat(), text);
        // AND 3,000 characters without punctuation split every 1,024
        let plain = "あ".repeat(3000);
        let sizes: Vec<usize> = janome_chunks(&plain)
            .iter()
            .map(|c| c.chars().count())
            .collect();
        assert_eq!(sizes, [1024, 1024, 952]);
    }

    #[test]
    fn given_mixed_case_when_lowercased_then_each_char_maps_to_one_char() {
        // GIVEN full-width, dotted, titlecase, Greek and mathematical capitals
        // WHEN lower-cased as onnxruntime does
        // THEN each maps to one character: İ to "i" (glibc), not to "i̇" (Unicode's full mapping)
        assert_eq!(lowercase("ＡＢＣ İ ǅ Σ 𝐀"), "ａｂｃ i ǆ σ 𝐀");
    }
}
