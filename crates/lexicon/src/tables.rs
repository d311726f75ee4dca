//! The reference's word lists and the two MIT-licensed data files, parsed once into
//! open-addressing tables so that a token costs one hash and usually one probe.

use crate::pystr;

/// The lexicon file of vaderSentiment 3.3.2: `word \t mean \t sd \t ratings`, CRLF lines.
const LEXICON_TSV: &str = include_str!("../data/vader_lexicon.txt");
/// The emoji file of vaderSentiment 3.3.2: `emoji \t description`.
const EMOJI_TSV: &str = include_str!("../data/emoji_utf8_lexicon.txt");

/// Empirical booster increment from the reference (`B_INCR`; `B_DECR` is its negation).
pub(crate) const B_INCR: f64 = 0.293;
const B_DECR: f64 = -0.293;

/// The reference's `NEGATE` list (the "n't" substring rule is applied separately).
#[rustfmt::skip]
const NEGATE: &[&str] = &[
    "aint", "arent", "cannot", "cant", "couldnt", "darent", "didnt", "doesnt", "ain't", "aren't",
    "can't", "couldn't", "daren't", "didn't", "doesn't", "dont", "hadnt", "hasnt", "havent",
    "isnt", "mightnt", "mustnt", "neither", "don't", "hadn't", "hasn't", "haven't", "isn't",
    "mightn't", "mustn't", "neednt", "needn't", "never", "none", "nope", "nor", "not", "nothing",
    "nowhere", "oughtnt", "shant", "shouldnt", "uhuh", "wasnt", "werent", "oughtn't", "shan't",
    "shouldn't", "uh-uh", "wasn't", "weren't", "without", "wont", "wouldnt", "won't", "wouldn't",
    "rarely", "seldom", "despite",
];

/// Single-token entries of the reference's `BOOSTER_DICT` (degree adverbs).
#[rustfmt::skip]
const BOOSTERS_UP: &[&str] = &[
    "absolutely", "amazingly", "awfully", "completely", "considerable", "considerably",
    "decidedly", "deeply", "effing", "enormous", "enormously", "entirely", "especially",
    "exceptional", "exceptionally", "extreme", "extremely", "fabulously", "flipping", "flippin",
    "frackin", "fracking", "fricking", "frickin", "frigging", "friggin", "fully", "fuckin",
    "fucking", "fuggin", "fugging", "greatly", "hella", "highly", "hugely", "incredible",
    "incredibly", "intensely", "major", "majorly", "more", "most", "particularly", "purely",
    "quite", "really", "remarkably", "so", "substantially", "thoroughly", "total", "totally",
    "tremendous", "tremendously", "uber", "unbelievably", "unusually", "utter", "utterly", "very",
];
#[rustfmt::skip]
const BOOSTERS_DOWN: &[&str] = &[
    "almost", "barely", "hardly", "kinda", "kindof", "kind-of", "less", "little", "marginal",
    "marginally", "occasional", "occasionally", "partly", "scarce", "scarcely", "slight",
    "slightly", "somewhat", "sorta", "sortof", "sort-of",
];

/// Multi-word entries of `BOOSTER_DICT`; only the idiom check can match them.
const BOOSTER_PHRASES: &[(&[&str], f64)] = &[
    (&["just", "enough"], B_DECR),
    (&["kind", "of"], B_DECR),
    (&["sort", "of"], B_DECR),
];

/// The reference's `SPECIAL_CASES` idioms. The one-word key "badass" is omitted: the
/// reference only ever looks up joined sequences of two or three tokens, so it never fires.
const SPECIAL_CASES: &[(&[&str], f64)] = &[
    (&["the", "shit"], 3.0),
    (&["the", "bomb"], 3.0),
    (&["bad", "ass"], 1.5),
    (&["bus", "stop"], 0.0),
    (&["yeah", "right"], -2.0),
    (&["kiss", "of", "death"], -1.5),
    (&["to", "die", "for"], 3.0),
    (&["beating", "heart"], 3.5),
];

/// Words the rules compare against, by id (index + 1); 0 means "none of these".
#[rustfmt::skip]
pub(crate) const RULE_WORDS: &[&str] = &[
    "kind", "of", "no", "or", "nor", "never", "so", "this", "without", "doubt", "least", "at",
    "very", "but",
];
pub(crate) const KIND: u8 = 1;
pub(crate) const OF: u8 = 2;
pub(crate) const NO: u8 = 3;
pub(crate) const OR: u8 = 4;
pub(crate) const NOR: u8 = 5;
pub(crate) const NEVER: u8 = 6;
pub(crate) const SO: u8 = 7;
pub(crate) const THIS: u8 = 8;
pub(crate) const WITHOUT: u8 = 9;
pub(crate) const DOUBT: u8 = 10;
pub(crate) const LEAST: u8 = 11;
pub(crate) const AT: u8 = 12;
pub(crate) const VERY: u8 = 13;
pub(crate) const BUT: u8 = 14;

/// Everything the rules need to know about one lowercased word, stored with the word
/// itself in 32 bytes: half a cache line per table entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WordInfo {
    /// The first 16 bytes of the key (zero-padded).
    head: [u64; 2],
    /// Lexicon valence; NaN when the word is not in the lexicon.
    valence: f64,
    /// Booster direction: +1 (`B_INCR`), -1 (`B_DECR`) or 0.
    booster: i8,
    /// In the `NEGATE` list.
    pub negate: bool,
    /// Id among [`RULE_WORDS`] and the words of the idiom phrases; 0 for other words.
    pub id: u8,
    /// Key length in bytes.
    len: u8,
    /// For keys over 16 bytes, the index of their last 8 bytes in `WordTable::tails`.
    tail: u16,
}

impl WordInfo {
    fn new(key: &Key) -> Self {
        Self {
            head: [key.words[0], key.words[1]],
            valence: f64::NAN,
            booster: 0,
            negate: false,
            id: 0,
            len: key.len,
            tail: 0,
        }
    }

    #[inline]
    pub(crate) fn valence(&self) -> Option<f64> {
        (!self.valence.is_nan()).then_some(self.valence)
    }

    /// The booster increment, 0.0 for words that are not boosters.
    #[inline]
    pub(crate) fn booster(&self) -> f64 {
        f64::from(self.booster) * B_INCR
    }
}

/// The longest key that is stored; the longest in the lexicon has 19 bytes.
pub(crate) const MAX_KEY: usize = 24;

/// A lowercased word packed into three machine words, so that comparing two keys is three
/// integer comparisons rather than a `memcmp` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Key {
    words: [u64; 3],
    len: u8,
}

impl Key {
    /// The key of an already-lowercased word, or `None` if it is too long to be stored
    /// (and so cannot be in any table).
    #[inline]
    pub(crate) fn new(lower: &[u8]) -> Option<Self> {
        if lower.len() > MAX_KEY {
            return None;
        }
        let mut buf = [0u8; MAX_KEY];
        buf[..lower.len()].copy_from_slice(lower);
        Some(Self::from_padded(&buf, lower.len()))
    }

    /// Builds a key from a zero-padded buffer holding `len` meaningful bytes.
    #[inline]
    pub(crate) fn from_padded(buf: &[u8; MAX_KEY], len: usize) -> Self {
        let w = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[i * 8..i * 8 + 8]);
            u64::from_le_bytes(b)
        };
        Self {
            words: [w(0), w(1), w(2)],
            len: len as u8,
        }
    }

    #[inline]
    fn hash(&self) -> u64 {
        let h = (self.words[0] ^ u64::from(self.len)).wrapping_mul(HASH_K)
            ^ self.words[1].wrapping_mul(HASH_K2)
            ^ self.words[2].wrapping_mul(HASH_K3);
        (h ^ (h >> 29)).wrapping_mul(HASH_K)
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Marks (with 0x80) the bytes of `v` in `lo..=hi`; every byte of `v` must be ASCII, so the
/// per-byte additions cannot carry into a neighbour.
#[inline]
fn bytes_in_range(v: u64, lo: u8, hi: u8) -> u64 {
    (v + (0x80 - u64::from(lo)) * ONES) & !(v + (0x80 - u64::from(hi) - 1) * ONES) & HIGH
}

/// What [`ascii_key`] learns about an ASCII token in one pass.
pub(crate) struct AsciiShape {
    /// `None` for a token longer than any key.
    pub key: Option<Key>,
    /// Python's `isupper()`.
    pub upper: bool,
    /// Contains "n't", any case (the other half of the reference's `negated`).
    pub nt: bool,
}

/// Key, `isupper()` and "n't" of an ASCII token, eight bytes at a time: the bytes go
/// straight into registers (no byte-wise stores that a later wide load must wait for) and
/// are lowercased by setting bit 5 of every byte in 'A'..='Z'.
#[inline]
pub(crate) fn ascii_key(token: &[u8]) -> AsciiShape {
    let nt_in = |b: &[u8]| {
        b.windows(3)
            .any(|w| w[0] | 0x20 == b'n' && w[1] == b'\'' && w[2] | 0x20 == b't')
    };
    if token.len() > MAX_KEY {
        let upper = token.iter().any(u8::is_ascii_uppercase);
        let upper = upper && !token.iter().any(u8::is_ascii_lowercase);
        return AsciiShape {
            key: None,
            upper,
            nt: token.contains(&b'\'') && nt_in(token),
        };
    }
    let (mut words, mut uppers, mut lowers, mut quotes) = ([0u64; 3], 0u64, 0u64, 0u64);
    for (w, chunk) in words.iter_mut().zip(token.chunks(8)) {
        let v = match <[u8; 8]>::try_from(chunk) {
            Ok(full) => u64::from_le_bytes(full),
            Err(_) => chunk
                .iter()
                .rev()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
        };
        let upper = bytes_in_range(v, b'A', b'Z');
        uppers |= upper;
        lowers |= bytes_in_range(v, b'a', b'z');
        quotes |= bytes_in_range(v, b'\'', b'\'');
        *w = v | (upper >> 2);
    }
    AsciiShape {
        key: Some(Key {
            words,
            len: token.len() as u8,
        }),
        upper: uppers != 0 && lowers == 0,
        nt: quotes != 0 && nt_in(token),
    }
}

/// Writes the Python-lowercased form of a token into a zero-padded key buffer. Returns the length, or `None` when the lowercased token cannot be a key: longer
/// than any key, or containing a non-ASCII char (every reachable key is ASCII).
#[inline]
pub(crate) fn lower_key(token: &str, buf: &mut [u8; MAX_KEY]) -> Option<usize> {
    if token.is_ascii() {
        if token.len() > MAX_KEY {
            return None;
        }
        for (d, s) in buf.iter_mut().zip(token.bytes()) {
            *d = s.to_ascii_lowercase();
        }
        return Some(token.len());
    }
    // Python's `lower()` maps a few non-ASCII chars to ASCII (KELVIN SIGN to "k"); its
    // Final_Sigma rule only picks between two non-ASCII sigmas, so per-char mapping is exact
    // for the purpose of matching ASCII keys.
    let mut len = 0;
    for c in token.chars().flat_map(char::to_lowercase) {
        if !c.is_ascii() || len == MAX_KEY {
            return None;
        }
        buf[len] = c as u8;
        len += 1;
    }
    Some(len)
}

/// Maps a lowercased word to its [`WordInfo`]: open addressing with linear probing over
/// 32-bit slots (entry index + a 16-bit hash tag, so that a miss rarely touches an entry),
/// load below one half.
pub(crate) struct WordTable {
    slots: Box<[u32]>,
    entries: Vec<WordInfo>,
    /// Bytes 16..24 of the few keys longer than 16 bytes.
    tails: Vec<u64>,
    shift: u32,
}

const HASH_K: u64 = 0x9E37_79B9_7F4A_7C15;
const HASH_K2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const HASH_K3: u64 = 0x1656_67B1_9E37_79F9;

impl WordTable {
    fn build() -> Self {
        let mut table = Self::with_capacity(LEXICON_TSV.len() / 8 + 256);
        // Later lines win, like the reference's dict assignment (the file has duplicates).
        for line in LEXICON_TSV.split('\n') {
            let line = pystr::strip(line);
            if line.is_empty() {
                continue;
            }
            let mut fields = line.split('\t');
            let (Some(word), Some(measure)) = (fields.next(), fields.next()) else {
                continue;
            };
            // The reference only looks up lowercased tokens, so keys with capitals
            // (":D", "O_o", ":-Þ", ...) can never match there and are not loaded.
            if word.chars().any(|c| c.is_uppercase()) {
                continue;
            }
            // The shipped file is fixed and well-formed; a bad number is skipped, not fatal.
            if let Ok(v) = measure.parse::<f64>() {
                table.entry(word).valence = v;
            }
        }
        for w in NEGATE {
            table.entry(w).negate = true;
        }
        for w in BOOSTERS_UP {
            table.entry(w).booster = 1;
        }
        for w in BOOSTERS_DOWN {
            table.entry(w).booster = -1;
        }
        for (i, w) in RULE_WORDS.iter().enumerate() {
            table.entry(w).id = i as u8 + 1;
        }
        table
    }

    fn with_capacity(n: usize) -> Self {
        let bits = (n * 2).next_power_of_two().trailing_zeros().clamp(4, 16);
        Self {
            slots: vec![0; 1 << bits].into_boxed_slice(),
            entries: Vec::with_capacity(n),
            tails: vec![0],
            shift: 64 - bits,
        }
    }

    #[inline]
    fn slot_and_tag(&self, key: &Key) -> (usize, u32) {
        let h = key.hash();
        (
            (h >> self.shift) as usize,
            ((h >> (self.shift - 16)) as u32 & 0xFFFF) << 16,
        )
    }

    #[inline]
    fn holds(&self, e: &WordInfo, key: &Key) -> bool {
        e.head == [key.words[0], key.words[1]]
            && e.len == key.len
            && (e.len <= 16 || self.tails[usize::from(e.tail)] == key.words[2])
    }

    /// The entry for `word`, created if missing. Panics only on a key longer than any in
    /// the shipped data, or on more than 65,535 words: both are build-time invariants.
    pub(crate) fn entry(&mut self, word: &str) -> &mut WordInfo {
        let key = Key::new(word.as_bytes()).expect("table keys are at most MAX_KEY bytes");
        let mask = self.slots.len() - 1;
        let (mut s, tag) = self.slot_and_tag(&key);
        loop {
            let slot = self.slots[s];
            if slot == 0 {
                let mut info = WordInfo::new(&key);
                if key.len > 16 {
                    info.tail = u16::try_from(self.tails.len()).expect("few long keys");
                    self.tails.push(key.words[2]);
                }
                self.entries.push(info);
                let index = u32::try_from(self.entries.len())
                    .ok()
                    .filter(|&i| i <= 0xFFFF);
                self.slots[s] = tag | index.expect("at most 65,535 table entries");
                return self.entries.last_mut().expect("just pushed");
            }
            let i = (slot & 0xFFFF) as usize - 1;
            if slot & 0xFFFF_0000 == tag && self.holds(&self.entries[i], &key) {
                return &mut self.entries[i];
            }
            s = (s + 1) & mask;
        }
    }

    /// Looks up a key.
    #[inline]
    pub(crate) fn get(&self, key: &Key) -> Option<&WordInfo> {
        let mask = self.slots.len() - 1;
        let (mut s, tag) = self.slot_and_tag(key);
        loop {
            let slot = self.slots[s];
            if slot == 0 {
                return None;
            }
            if slot & 0xFFFF_0000 == tag {
                let e = &self.entries[(slot & 0xFFFF) as usize - 1];
                if self.holds(e, key) {
                    return Some(e);
                }
            }
            s = (s + 1) & mask;
        }
    }

    /// Looks up a lowercase word.
    #[cfg(test)]
    fn get_word(&self, word: &str) -> Option<&WordInfo> {
        Key::new(word.as_bytes()).and_then(|k| self.get(&k))
    }

    #[cfg(test)]
    fn lexicon_len(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| e.valence().is_some())
            .count()
    }
}

/// Packs a sequence of one to three word ids into one integer (ids, then the length), so
/// that matching a phrase is a single comparison.
#[inline]
pub(crate) fn phrase_code(ids: &[u8]) -> u32 {
    let mut code = (ids.len() as u32) << 24;
    for (k, &id) in ids.iter().enumerate() {
        code |= u32::from(id) << (8 * k);
    }
    code
}

/// An idiom or multi-word booster as a packed sequence of word ids.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Phrase {
    pub code: u32,
    pub value: f64,
}

impl Phrase {
    /// Whether the word ids in `seq` spell this phrase.
    #[cfg(test)]
    fn matches(&self, seq: &[u8]) -> bool {
        self.code == phrase_code(seq)
    }
}

/// A set of phrases, with a bit mask of the ids that start one so that most word
/// sequences are rejected without scanning.
pub(crate) struct Phrases {
    starts: u64,
    list: Vec<Phrase>,
}

impl Phrases {
    /// The value of the phrase spelled by `ids`, if any.
    #[inline]
    pub(crate) fn find(&self, ids: &[u8]) -> Option<f64> {
        let first = ids.first().copied().unwrap_or(0);
        if first == 0 || self.starts >> first & 1 == 0 {
            return None;
        }
        let code = phrase_code(ids);
        self.list.iter().find(|p| p.code == code).map(|p| p.value)
    }

    #[cfg(test)]
    fn iter(&self) -> impl Iterator<Item = &Phrase> {
        self.list.iter()
    }
}

/// Gives every word of `phrases` an id (reusing rule-word ids) and returns the phrases as
/// id sequences. Ids stay below 64 (the shipped lists use about 35) so that they fit the
/// start mask.
fn intern_phrases(table: &mut WordTable, phrases: &[(&[&str], f64)], next_id: &mut u8) -> Phrases {
    let mut starts = 0u64;
    let list = phrases
        .iter()
        .map(|&(words, value)| {
            let mut ids = [0u8; 3];
            for (slot, w) in ids.iter_mut().zip(words.iter()) {
                let info = table.entry(w);
                if info.id == 0 {
                    assert!(*next_id < 64, "too many phrase words for the start mask");
                    info.id = *next_id;
                    *next_id += 1;
                }
                *slot = info.id;
            }
            starts |= 1 << ids[0];
            Phrase {
                code: phrase_code(&ids[..words.len()]),
                value,
            }
        })
        .collect();
    Phrases { starts, list }
}

/// Maps one code point to its emoji description. The reference walks the text one code
/// point at a time, so multi-code-point keys (flags, ZWJ sequences, keycaps) can never
/// match there and are not loaded.
pub(crate) struct EmojiTable {
    /// Code point + 1 (0 = empty) and description, open addressing.
    slots: Box<[(u32, &'static str)]>,
    shift: u32,
    /// Smallest key, so that ordinary accented letters skip the lookup.
    min: u32,
}

impl EmojiTable {
    fn build() -> Self {
        let mut singles: Vec<(char, &'static str)> = Vec::new();
        for line in EMOJI_TSV.split('\n') {
            let line = pystr::strip(line);
            let mut fields = line.split('\t');
            let (Some(key), Some(desc)) = (fields.next(), fields.next()) else {
                continue;
            };
            let mut chars = key.chars();
            if let (Some(c), None) = (chars.next(), chars.next()) {
                singles.push((c, desc));
            }
        }
        let bits = (singles.len() * 2)
            .next_power_of_two()
            .trailing_zeros()
            .max(4);
        let mut table = Self {
            slots: vec![(0, ""); 1 << bits].into_boxed_slice(),
            shift: 64 - bits,
            min: singles
                .iter()
                .map(|&(c, _)| c as u32)
                .min()
                .unwrap_or(u32::MAX),
        };
        let mask = table.slots.len() - 1;
        for (c, desc) in singles {
            let key = c as u32 + 1;
            let mut s = table.slot_of(c);
            // Later lines win, as in the reference's dict.
            while table.slots[s].0 != 0 && table.slots[s].0 != key {
                s = (s + 1) & mask;
            }
            table.slots[s] = (key, desc);
        }
        table
    }

    #[inline]
    fn slot_of(&self, c: char) -> usize {
        ((c as u64 + 1).wrapping_mul(HASH_K) >> self.shift) as usize
    }

    #[inline]
    pub(crate) fn get(&self, c: char) -> Option<&'static str> {
        if (c as u32) < self.min {
            return None;
        }
        let key = c as u32 + 1;
        let mask = self.slots.len() - 1;
        let mut s = self.slot_of(c);
        loop {
            match self.slots[s] {
                (0, _) => return None,
                (k, desc) if k == key => return Some(desc),
                _ => s = (s + 1) & mask,
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.0 != 0).count()
    }
}

/// Both tables, built together at analyzer construction.
pub(crate) struct Tables {
    pub words: WordTable,
    pub emoji: EmojiTable,
    /// `SPECIAL_CASES` as id sequences, in the reference's dict order.
    pub special_cases: Phrases,
    /// The multi-word entries of `BOOSTER_DICT` as id sequences.
    pub booster_phrases: Phrases,
}

impl Tables {
    pub(crate) fn build() -> Self {
        let mut words = WordTable::build();
        let mut next_id = RULE_WORDS.len() as u8 + 1;
        let special_cases = intern_phrases(&mut words, SPECIAL_CASES, &mut next_id);
        let booster_phrases = intern_phrases(&mut words, BOOSTER_PHRASES, &mut next_id);
        Self {
            words,
            emoji: EmojiTable::build(),
            special_cases,
            booster_phrases,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_the_shipped_files_when_parsed_then_counts_match_the_reference_dicts() {
        let t = Tables::build();
        // len(SentimentIntensityAnalyzer().lexicon) == 7506 in vaderSentiment 3.3.2, of
        // which 14 keys contain capitals and are unreachable.
        assert_eq!(t.words.lexicon_len(), 7506 - 14);
        assert_eq!(t.emoji.len(), 1212);
    }

    #[test]
    fn given_duplicate_lexicon_lines_when_parsed_then_the_last_one_wins() {
        let t = Tables::build();
        let w = |s: &str| t.words.get_word(s).copied();
        // "lol" appears twice in the file; the reference keeps the later 1.8.
        assert_eq!(w("lol").and_then(|i| i.valence()), Some(1.8));
        assert_eq!(w("good").and_then(|i| i.valence()), Some(1.9));
        assert_eq!(
            w("disadvantageousness").and_then(|i| i.valence()),
            Some(-1.6)
        );
        assert!(w("not").is_some_and(|i| i.negate));
        assert_eq!(w("kinda").map(|i| i.booster()), Some(-B_INCR));
        assert_eq!(w("but").map(|i| i.id), Some(BUT));
        assert!(w("zzzzqq").is_none());
        // Capitalised keys are unreachable in the reference and not loaded.
        assert!(w(":D").is_none());
        assert_eq!(w(":d").and_then(|i| i.valence()), Some(2.3));
        assert_eq!(t.emoji.get('😀'), Some("grinning face"));
        assert_eq!(t.emoji.get('a'), None);
    }

    #[test]
    fn given_phrases_when_interned_then_their_words_have_distinct_ids() {
        let t = Tables::build();
        let id = |s: &str| t.words.get_word(s).map(|i| i.id).unwrap_or(0);
        let kiss_of_death = [id("kiss"), id("of"), id("death")];
        assert!(
            t.special_cases
                .iter()
                .any(|p| p.matches(&kiss_of_death) && p.value == -1.5)
        );
        assert!(t.booster_phrases.iter().any(|p| p.matches(&[KIND, OF])));
        assert!(
            !t.special_cases
                .iter()
                .any(|p| p.matches(&[id("kiss"), id("of")]))
        );
    }
}
