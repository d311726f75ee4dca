//! textblob-de's lemmatizing front end: what `PatternAnalyzer()` (its default, `lemmatize=True`)
//! does to a German text before Pattern's sentiment scores it.
//!
//! `PatternParserLemmatizer` replaces "/" by a placeholder word, tokenizes with Pattern's
//! `find_tokens` (German abbreviations, all ASCII punctuation split off) and a final period
//! split from each sentence's last word, then runs Pattern's German parser on all tokens as one
//! sentence: a Brill tagger (lexicon lookup; unknown words get CARDNUM when numeric, else NN
//! improved by the morphology rules; then every word by the context rules; STTS tags mapped to
//! Penn tags) and `find_lemmata` (adjectives and determiners to their predicative form, verbs
//! to their infinitive, plural nouns singularized). Lemmata of punctuation tokens are dropped;
//! the rest, "ß" written "ss", are joined by spaces and scored.
//!
//! The tables (`data/de/parser/`, Pattern's German data as textblob-de bundles it, exported by
//! `reference/eu.py`) are parsed on the first German text, not at start.

use std::sync::OnceLock;

use crate::classic::FastMap;
use crate::pattern::Pattern;
use crate::pystr::is_space;
use crate::pytext;

const LEXICON: &str = include_str!("../data/de/parser/lexicon.tsv");
const MORPHOLOGY: &str = include_str!("../data/de/parser/morphology.txt");
const CONTEXT: &str = include_str!("../data/de/parser/context.txt");
const VERBS: &str = include_str!("../data/de/parser/verbs.tsv");
const SINGULAR: &str = include_str!("../data/de/parser/singular.tsv");

/// Python's `string.punctuation`; the lemmatizer drops tokens that are a substring of it.
const ASCII_PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
/// What textblob-de writes for "/" before parsing (lowercase in the lemma, turned back).
const SLASH_WORD: &str = " FORWARDSLASH ";
/// The context rules' padding tag, three on each side.
const STAART: &str = "STAART";

/// `prefix_inseparable + prefix_separable` of pattern.de's inflect module, in its order.
#[rustfmt::skip]
const VERB_PREFIXES: &[&str] = &[
    "be", "emp", "ent", "er", "ge", "miss", "über", "unter", "ver", "voll", "wider", "zer",
    "ab", "an", "auf", "aus", "bei", "durch", "ein", "fort", "mit", "nach", "vor", "weg",
    "zurück", "zusammen", "zu", "dabei", "daran", "da", "empor", "entgegen", "entlang",
    "fehl", "fest", "gegenüber", "gleich", "herab", "heran", "herauf", "heraus", "herum",
    "her", "hinweg", "hinzu", "hin", "los", "nieder", "statt", "umher", "um", "weg",
    "weiter", "wieder", "zwischen",
    "dort", "fertig", "frei", "gut", "heim", "hoch", "klein", "klar", "nahe", "offen", "richtig",
];
/// `find_lemma`'s inflection endings, the first that matches is cut.
const VERB_ENDINGS: &[&str] = &[
    "test", "est", "end", "ten", "tet", "en", "et", "te", "st", "e", "t",
];
/// `find_lemma`'s stem vowel changes back to the present stem, the first that matches.
#[rustfmt::skip]
const VERB_STEMS: &[(&str, &str)] = &[
    ("ieb", "eib"), ("ied", "eid"), ("ief", "auf"), ("ieg", "eig"), ("iel", "alt"),
    ("ien", "ein"), ("iess", "ass"), ("ieß", "aß"), ("iff", "eif"), ("iss", "eiss"),
    ("iß", "eiß"), ("it", "eid"), ("oss", "iess"), ("öss", "iess"),
];

/// A morphology rule: with `need_tag`, only for a word currently so tagged.
struct MorphRule {
    need_tag: Option<&'static str>,
    cmd: MorphCmd,
    x: &'static str,
    tag: &'static str,
}

#[derive(Clone, Copy)]
enum MorphCmd {
    Word,
    Char,
    HasPref,
    HasSuf,
    AddPref,
    AddSuf,
    DeletePref,
    DeleteSuf,
    GoodLeft,
    GoodRight,
}

/// A context rule: a word tagged `from` becomes `to` when `cmd` holds for `x` (and `y`).
struct ContextRule {
    to: &'static str,
    cmd: ContextCmd,
    x: &'static str,
    y: &'static str,
}

#[derive(Clone, Copy)]
enum ContextCmd {
    PrevTag,
    NextTag,
    Prev2Tag,
    Next2Tag,
    Prev1or2Tag,
    Next1or2Tag,
    Prev1or2or3Tag,
    Next1or2or3Tag,
    SurroundTag,
    CurWd,
    PrevWd,
    NextWd,
    Prev1or2Wd,
    Next1or2Wd,
    PrevWdTag,
    NextWdTag,
    WdPrevTag,
    WdNextTag,
    WdAnd2Aft,
    WdAnd2TagBfr,
    WdAnd2TagAft,
    LBigram,
    RBigram,
    PrevBigram,
    NextBigram,
    /// A command Pattern's `Context.apply` does not test: never fires.
    Never,
}

/// Pattern's German parser tables and the tokenizer textblob-de runs before it.
pub(crate) struct GermanParser {
    lexicon: FastMap<&'static str, &'static str>,
    morphology: Vec<MorphRule>,
    context: Vec<ContextRule>,
    /// Context rule indices by the tag they rewrite ("*" rules merged in), in file order.
    context_by_tag: FastMap<&'static str, Vec<usize>>,
    context_any: Vec<usize>,
    /// Every known verb form and its infinitive (`Verbs._inverse`).
    inflections: FastMap<&'static str, &'static str>,
    infinitives: FastMap<&'static str, ()>,
    /// `singularize`'s known plurals (`=word`), then its endings in the order it tries them.
    singular_words: Vec<(&'static str, &'static str)>,
    singular_endings: Vec<(&'static str, &'static str)>,
    tokenizer: Pattern,
}

/// The parser, built on the first German text.
pub(crate) fn parser() -> &'static GermanParser {
    static PARSER: OnceLock<GermanParser> = OnceLock::new();
    PARSER.get_or_init(GermanParser::load)
}

fn data_lines(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

impl GermanParser {
    fn load() -> Self {
        let lexicon = data_lines(LEXICON)
            .filter_map(|l| l.split_once('\t'))
            .collect();
        let morphology = data_lines(MORPHOLOGY).filter_map(morph_rule).collect();
        let (context, froms): (Vec<ContextRule>, Vec<&str>) =
            data_lines(CONTEXT).filter_map(context_rule).unzip();
        let mut context_by_tag: FastMap<&'static str, Vec<usize>> = FastMap::default();
        for (i, from) in froms.iter().enumerate() {
            if *from == "*" {
                context_by_tag.values_mut().for_each(|v| v.push(i));
            } else {
                let any = froms[..i].iter().enumerate().filter(|(_, f)| **f == "*");
                let entry = context_by_tag
                    .entry(from)
                    .or_insert_with(|| any.map(|(k, _)| k).collect());
                entry.push(i);
            }
        }
        let context_any = (0..froms.len()).filter(|&i| froms[i] == "*").collect();
        let (forms, infinitives) = VERBS.split_once("\n\n").unwrap_or((VERBS, ""));
        let pairs = data_lines(SINGULAR).filter_map(|l| l.split_once('\t'));
        let (words, endings): (Vec<_>, Vec<_>) = pairs.partition(|(a, _)| a.starts_with('='));
        GermanParser {
            lexicon,
            morphology,
            context,
            context_by_tag,
            context_any,
            inflections: data_lines(forms)
                .filter_map(|l| l.split_once('\t'))
                .collect(),
            infinitives: data_lines(infinitives).map(|v| (v, ())).collect(),
            singular_words: words.into_iter().map(|(a, b)| (&a[1..], b)).collect(),
            singular_endings: endings,
            tokenizer: Pattern::german_parser_tokenizer(),
        }
    }

    /// The text textblob-de's default analyser scores instead of `text`: its lemmata joined
    /// by spaces.
    pub(crate) fn lemmatize(&self, text: &str) -> String {
        if text.chars().all(is_space) {
            return String::new();
        }
        let slashed = text.replace('/', SLASH_WORD);
        let mut words: Vec<String> = Vec::new();
        for sentence in self.tokenizer.sentences(&slashed) {
            split_final_period(&sentence, &mut words);
        }
        let ss: Vec<String> = words.iter().map(|w| w.replace('ß', "ss")).collect();
        let tags = self.tags(&ss);
        let mut out = String::with_capacity(text.len() + 8);
        for (i, (word, tag)) in words.iter().zip(tags).enumerate() {
            if word.is_empty() || ASCII_PUNCTUATION.contains(word.as_str()) {
                continue;
            }
            let lemma = self.lemma(word, penn(tag)).replace('ß', "ss");
            let lemma = lemma.replace("forwardslash", "/");
            if lemma == "/" {
                continue;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            let title = (i > 0 && word.chars().next().is_some_and(char::is_uppercase))
                || (i == 0 && penn(tag).starts_with('N'));
            if title {
                push_title(&lemma, &mut out);
            } else {
                out.push_str(&lemma);
            }
        }
        out
    }
}

/// textblob-de's `word_tokenize`: a sentence's tokens, its last word's final period split off
/// (a sentence that is one punctuation token stays whole).
fn split_final_period(sentence: &str, out: &mut Vec<String>) {
    if sentence.chars().all(is_space) {
        return;
    }
    let tokens: Vec<&str> = sentence.split(' ').collect();
    if tokens.len() == 1 && ASCII_PUNCTUATION.contains(tokens[0]) {
        out.push(tokens[0].to_owned());
        return;
    }
    let (last, rest) = tokens.split_last().expect("split yields a token");
    out.extend(rest.iter().map(|t| (*t).to_owned()));
    match last.strip_suffix('.') {
        Some(stem) if last.chars().count() > 1 => {
            out.push(stem.to_owned());
            out.push(".".to_owned());
        }
        _ => out.push((*last).to_owned()),
    }
}

/// Python's `str.title()`: a cased char after a cased one is lowered, any other uppered.
fn push_title(s: &str, out: &mut String) {
    let mut prev_cased = false;
    for c in s.chars() {
        let cased = c.is_lowercase() || c.is_uppercase();
        if prev_cased {
            out.extend(c.to_lowercase());
        } else {
            out.extend(c.to_uppercase());
        }
        prev_cased = cased;
    }
}

fn morph_rule(line: &'static str) -> Option<MorphRule> {
    let r: Vec<&'static str> = line.split_whitespace().collect();
    // "ly hassuf 2 RB x" or "NN s fhassuf 1 NNS x"; the second form wins, as in Pattern,
    // whose command set holds each name with and without the "f".
    let (need_tag, x, cmd) = if r.len() > 2 && is_morph_cmd(r[2]) {
        (Some(r[0]), r[1], morph_cmd(r[2].trim_start_matches('f'))?)
    } else if r.len() > 1 && is_morph_cmd(r[1]) {
        // An "f" name here is tested as written by the reference, and matches no command.
        (None, r[0], morph_cmd(r[1])?)
    } else {
        return None;
    };
    Some(MorphRule {
        need_tag,
        cmd,
        x,
        tag: r[r.len() - 2],
    })
}

fn is_morph_cmd(s: &str) -> bool {
    let base = s.strip_prefix('f').unwrap_or(s);
    morph_cmd(base).is_some()
}

fn morph_cmd(s: &str) -> Option<MorphCmd> {
    Some(match s {
        "word" => MorphCmd::Word,
        "char" => MorphCmd::Char,
        "haspref" => MorphCmd::HasPref,
        "hassuf" => MorphCmd::HasSuf,
        "addpref" => MorphCmd::AddPref,
        "addsuf" => MorphCmd::AddSuf,
        "deletepref" => MorphCmd::DeletePref,
        "deletesuf" => MorphCmd::DeleteSuf,
        "goodleft" => MorphCmd::GoodLeft,
        "goodright" => MorphCmd::GoodRight,
        _ => return None,
    })
}

fn context_rule(line: &'static str) -> Option<(ContextRule, &'static str)> {
    let r: Vec<&'static str> = line.split_whitespace().collect();
    if r.len() < 4 {
        return None;
    }
    let cmd = match r[2].to_lowercase().as_str() {
        "prevtag" => ContextCmd::PrevTag,
        "nexttag" => ContextCmd::NextTag,
        "prev2tag" => ContextCmd::Prev2Tag,
        "next2tag" => ContextCmd::Next2Tag,
        "prev1or2tag" => ContextCmd::Prev1or2Tag,
        "next1or2tag" => ContextCmd::Next1or2Tag,
        "prev1or2or3tag" => ContextCmd::Prev1or2or3Tag,
        "next1or2or3tag" => ContextCmd::Next1or2or3Tag,
        "surroundtag" => ContextCmd::SurroundTag,
        "curwd" => ContextCmd::CurWd,
        "prevwd" => ContextCmd::PrevWd,
        "nextwd" => ContextCmd::NextWd,
        "prev1or2wd" => ContextCmd::Prev1or2Wd,
        "next1or2wd" => ContextCmd::Next1or2Wd,
        "prevwdtag" => ContextCmd::PrevWdTag,
        "nextwdtag" => ContextCmd::NextWdTag,
        "wdprevtag" => ContextCmd::WdPrevTag,
        "wdnexttag" => ContextCmd::WdNextTag,
        "wdand2aft" => ContextCmd::WdAnd2Aft,
        "wdand2tagbfr" => ContextCmd::WdAnd2TagBfr,
        "wdand2tagaft" => ContextCmd::WdAnd2TagAft,
        "lbigram" => ContextCmd::LBigram,
        "rbigram" => ContextCmd::RBigram,
        "prevbigram" => ContextCmd::PrevBigram,
        "nextbigram" => ContextCmd::NextBigram,
        _ => ContextCmd::Never,
    };
    let rule = ContextRule {
        to: r[1],
        cmd,
        x: r[3],
        y: r.get(4).copied().unwrap_or(""),
    };
    Some((rule, r[0]))
}

/// pattern.de's STTS to Penn Treebank map (`stts2penntreebank`); other tags pass through.
fn penn(tag: &str) -> &str {
    match tag {
        "ADJ" | "ADJA" | "ADJD" => "JJ",
        "ADV" | "PAV" | "PTKNEG" | "PTKA" => "RB",
        "APPR" | "APPRART" | "APPO" | "APZR" | "KOUI" | "KOUS" | "KOKOM" | "KONS" => "IN",
        "ART" | "ARTDEF" | "ARTIND" | "PDS" | "PDAT" | "PIS" | "PIAT" | "PIDAT" => "DT",
        "CARD" | "CARDNUM" => "CD",
        "KON" => "CC",
        "NN" | "XY" | "XX" => "NN",
        "NNS" => "NNS",
        "NE" => "NNP",
        "PPER" | "PRF" => "PRP",
        "PPOS" | "PPOSAT" => "PRP$",
        "PRELS" | "PRELAT" => "WDT",
        "PWS" | "PWAT" => "WP",
        "PWAV" => "WRB",
        "PTKZU" => "TO",
        "PTKVZ" => "RP",
        "PTKANT" | "ITJ" => "UH",
        "VVFIN" | "VAFIN" | "VVINF" | "VAINF" | "VVIZU" | "VVIMP" | "VAIMP" => "VB",
        "VVPP" | "VAPP" => "VBN",
        "VMFIN" | "VMINF" | "VMPP" => "MD",
        "SGML" => "SYM",
        "FM" => "FW",
        "LINUM" => "LS",
        "C" => ",",
        "Co" | "Se" => ":",
        "Ex" | "Q" | "S" => ".",
        "Pc" => ")",
        "Po" => "(",
        "QMc" | "QMo" => "\"",
        other => other,
    }
}

impl GermanParser {
    /// `find_tags` on the tokens ("ß" already written "ss"): STTS tags.
    fn tags<'a>(&'a self, words: &'a [String]) -> Vec<&'a str> {
        let mut tags: Vec<Option<&'a str>> = words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                self.lexicon.get(w.as_str()).copied().or_else(|| {
                    let mut lower = String::new();
                    pytext::lower_into(w, &mut lower);
                    (i == 0).then(|| self.lexicon.get(lower.as_str()).copied())?
                })
            })
            .collect();
        let mut buf = String::new();
        for i in 0..words.len() {
            if tags[i].is_some() {
                continue;
            }
            let tag = if is_number(&words[i]) {
                "CARDNUM"
            } else {
                let prev = i.checked_sub(1).map(|p| words[p].as_str());
                let next = words.get(i + 1).map(String::as_str);
                self.morphology_tag(&words[i], prev, next, &mut buf)
            };
            tags[i] = Some(tag);
        }
        let tags: Vec<&'a str> = tags.into_iter().map(|t| t.unwrap_or("NN")).collect();
        self.apply_context(words, tags)
    }

    /// `Morphology.apply` on an unknown word tagged NN: every matching rule in turn retags it.
    fn morphology_tag(
        &self,
        w: &str,
        prev: Option<&str>,
        next: Option<&str>,
        buf: &mut String,
    ) -> &'static str {
        let mut tag: &'static str = "NN";
        let known = |s: &str| self.lexicon.contains_key(s);
        for r in &self.morphology {
            if r.need_tag.is_some_and(|t| t != tag) {
                continue;
            }
            let x = r.x;
            let hit = match r.cmd {
                MorphCmd::Word => x == w,
                MorphCmd::Char => w.contains(x),
                MorphCmd::HasPref => w.starts_with(x),
                MorphCmd::HasSuf => w.ends_with(x),
                MorphCmd::AddPref | MorphCmd::AddSuf => {
                    buf.clear();
                    let (a, b) = if matches!(r.cmd, MorphCmd::AddPref) {
                        (x, w)
                    } else {
                        (w, x)
                    };
                    buf.push_str(a);
                    buf.push_str(b);
                    known(buf)
                }
                MorphCmd::DeletePref => w.strip_prefix(x).is_some_and(known),
                MorphCmd::DeleteSuf => w.strip_suffix(x).is_some_and(known),
                MorphCmd::GoodLeft => next == Some(x),
                MorphCmd::GoodRight => prev == Some(x),
            };
            if hit {
                tag = r.tag;
            }
        }
        tag
    }

    /// `Context.apply`: left to right, each word's rules are those for the tag it had when
    /// its turn came; every one that holds retags it (the last wins).
    fn apply_context<'a>(&'a self, words: &'a [String], mut tags: Vec<&'a str>) -> Vec<&'a str> {
        let n = words.len();
        let word = |k: isize| -> &str {
            if k < 0 || k as usize >= n {
                STAART
            } else {
                words[k as usize].as_str()
            }
        };
        for i in 0..n {
            let original = tags[i];
            let rules = self
                .context_by_tag
                .get(original)
                .unwrap_or(&self.context_any);
            let ii = i as isize;
            for &k in rules {
                let r = &self.context[k];
                let tag = |d: isize| -> &str {
                    let j = ii + d;
                    if j < 0 || j as usize >= n {
                        STAART
                    } else {
                        tags[j as usize]
                    }
                };
                let (x, y) = (r.x, r.y);
                let hit = match r.cmd {
                    ContextCmd::PrevTag => x == tag(-1),
                    ContextCmd::NextTag => x == tag(1),
                    ContextCmd::Prev2Tag => x == tag(-2),
                    ContextCmd::Next2Tag => x == tag(2),
                    ContextCmd::Prev1or2Tag => x == tag(-1) || x == tag(-2),
                    ContextCmd::Next1or2Tag => x == tag(1) || x == tag(2),
                    ContextCmd::Prev1or2or3Tag => (1..=3).any(|d| x == tag(-d)),
                    ContextCmd::Next1or2or3Tag => (1..=3).any(|d| x == tag(d)),
                    ContextCmd::SurroundTag => x == tag(-1) && y == tag(1),
                    ContextCmd::CurWd => x == word(ii),
                    ContextCmd::PrevWd => x == word(ii - 1),
                    ContextCmd::NextWd => x == word(ii + 1),
                    ContextCmd::Prev1or2Wd => x == word(ii - 1) || x == word(ii - 2),
                    ContextCmd::Next1or2Wd => x == word(ii + 1) || x == word(ii + 2),
                    ContextCmd::PrevWdTag => x == word(ii - 1) && y == tag(-1),
                    ContextCmd::NextWdTag => x == word(ii + 1) && y == tag(1),
                    ContextCmd::WdPrevTag => x == tag(-1) && y == word(ii),
                    ContextCmd::WdNextTag => x == word(ii) && y == tag(1),
                    ContextCmd::WdAnd2Aft => x == word(ii) && y == word(ii + 2),
                    ContextCmd::WdAnd2TagBfr => x == tag(-2) && y == word(ii),
                    ContextCmd::WdAnd2TagAft => x == word(ii) && y == tag(2),
                    ContextCmd::LBigram => x == word(ii - 1) && y == word(ii),
                    ContextCmd::RBigram => x == word(ii) && y == word(ii + 1),
                    ContextCmd::PrevBigram => x == tag(-2) && y == tag(-1),
                    ContextCmd::NextBigram => x == tag(1) && y == tag(2),
                    ContextCmd::Never => false,
                };
                if hit {
                    tags[i] = r.to;
                }
            }
        }
        tags
    }

    /// `find_lemmata` for one token (Penn tag), lowercased.
    fn lemma(&self, word: &str, tag: &str) -> String {
        let mut lower = String::new();
        if tag.starts_with("DT") || tag.starts_with("JJ") {
            pytext::lower_into(word, &mut lower);
            return predicative(&lower);
        }
        if tag == "NNS" {
            return self.singularize(word);
        }
        if tag.starts_with("VB") || tag.starts_with("MD") {
            let infinitive = self.infinitive(word);
            let chosen = if infinitive.is_empty() {
                word
            } else {
                &infinitive
            };
            pytext::lower_into(chosen, &mut lower);
            return lower;
        }
        pytext::lower_into(word, &mut lower);
        lower
    }

    /// `conjugate(word, INFINITIVE)`: the verb table's infinitive, else the rule-based one.
    fn infinitive(&self, verb: &str) -> String {
        let mut lower = String::new();
        pytext::lower_into(verb, &mut lower);
        let base = match self
            .inflections
            .get(lower.as_str())
            .or_else(|| self.inflections.get(verb))
        {
            Some(inf) => (*inf).to_owned(),
            None => self.find_lemma(&lower),
        };
        if self.infinitives.contains_key(base.as_str()) {
            return base;
        }
        let mut v = String::new();
        pytext::lower_into(&base, &mut v);
        let sz = v.replace('ß', "ss");
        if self.infinitives.contains_key(sz.as_str()) {
            return sz.replace("ss", "ß");
        }
        v
    }
}

/// inflect.py's `predicative`: the attributive ending cut (at most down to three letters).
fn predicative(w: &str) -> String {
    let n = w.chars().count();
    if n > 3 {
        for suffix in ["em", "en", "er", "es", "e"] {
            if w.ends_with(suffix) {
                let cut = suffix.len().min(n - 3);
                let mut b: String = w.chars().take(n - cut).collect();
                if b.ends_with("bl") {
                    b.pop();
                    b.push_str("el");
                }
                if b.ends_with("pr") {
                    b.pop();
                    b.push_str("er");
                }
                return b;
            }
        }
    }
    w.to_owned()
}

/// Pattern's `CD` pattern: only digits and `-,.:/%$`.
fn is_number(w: &str) -> bool {
    !w.is_empty()
        && w.bytes()
            .all(|b| b.is_ascii_digit() || b"-,.:/%$".contains(&b))
}

impl GermanParser {
    /// inflect.py's `singularize` for a noun, lowercased: a known plural, else the first
    /// plural ending it knows swapped for its singular, else a plural suffix cut.
    fn singularize(&self, word: &str) -> String {
        if let Some((_, s)) = self.singular_words.iter().find(|(p, _)| *p == word) {
            let mut out = String::new();
            pytext::lower_into(s, &mut out);
            return out;
        }
        let mut w = String::new();
        pytext::lower_into(word, &mut w);
        for (a, b) in &self.singular_endings {
            if let Some(stem) = w.strip_suffix(a) {
                return format!("{stem}{b}");
            }
        }
        if let Some(s) = ["nen", "en", "n", "e", "er", "s"]
            .iter()
            .find(|s| w.ends_with(*s))
        {
            w.truncate(w.len() - s.len());
        }
        if ["rr", "rv", "nz"].iter().any(|s| w.ends_with(s)) {
            w.push('e');
        }
        w
    }

    /// inflect.py's `Verbs.find_lemma`: a known verb behind a prefix, else the endings and
    /// stem vowels undone by rule (`v` is lowercase and holds no space).
    fn find_lemma(&self, v: &str) -> String {
        if !(v.starts_with("ge") && v.ends_with('t')) {
            for prefix in VERB_PREFIXES {
                if let Some(rest) = v.strip_prefix(prefix)
                    && let Some(inf) = self.inflections.get(rest)
                {
                    return format!("{prefix}{inf}");
                }
            }
        }
        if v.ends_with("ln") || v.ends_with("rn") {
            return v.to_owned();
        }
        let mut b = v.to_owned();
        if let Some(x) = VERB_ENDINGS.iter().find(|x| b.ends_with(*x)) {
            b.truncate(b.len() - x.len());
        }
        if let Some((x, y)) = VERB_STEMS.iter().find(|(x, _)| b.ends_with(x)) {
            b.truncate(b.len() - x.len());
            b.push_str(y);
        }
        b = b.replace("eeiss", "eiss").replace("eeid", "eit");
        let third_last_vowel = b.chars().rev().nth(2).is_some_and(|c| "aeiouy".contains(c));
        let er_after_consonant = b.ends_with("er") && b.chars().count() >= 3 && !third_last_vowel;
        if !(b.ends_with('e') || b.ends_with('l')) && !er_after_consonant {
            b.push('e');
        }
        if ["hl", "ll", "ul", "eil"].iter().any(|s| b.ends_with(s)) {
            b.push('e');
        }
        if b.starts_with("ge") && v.ends_with('t') {
            b.drain(..2);
        }
        if b.ends_with("lnde") || b.ends_with("rnde") {
            b.truncate(b.len() - 3);
        }
        if ["ae", "al", "öe", "üe"].iter().any(|s| b.ends_with(s)) {
            b.truncate(b.trim_end_matches('e').len());
            b.push_str("te");
        }
        if b.ends_with("äl") {
            b.push('e');
        }
        b.push('n');
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_inflected_words_when_lemmatized_then_the_reference_lemmata_come_out() {
        // GIVEN texts whose lemmata textblob-de's default analyser prints (see eu.py)
        let p = parser();
        // WHEN they are lemmatized
        // THEN adjectives, verbs and punctuation come out as the reference has them
        assert_eq!(
            p.lemmatize("Das ist ein hässliches Auto."),
            "das sein ein hässlich Auto"
        );
        assert_eq!(p.lemmatize("Ich liebe diesen Film!"), "ich lieb dies Film");
        assert_eq!(p.lemmatize("  \n "), "");
    }

    #[test]
    fn given_adjective_endings_when_made_predicative_then_at_least_three_letters_stay() {
        // GIVEN attributive adjectives, a short word and a "-bles" ending
        // WHEN made predicative
        // THEN the ending goes, never below three letters, "bl" becomes "bel"
        assert_eq!(predicative("schönes"), "schön");
        assert_eq!(predicative("gute"), "gut");
        assert_eq!(predicative("alte"), "alt");
        assert_eq!(predicative("plausibles"), "plausibel");
        assert_eq!(predicative("gut"), "gut");
    }
}
