"""The references of the es, de, it and nl ports, their exported tables and their corpora.

Imported by languages.py (which writes the golden files and checks them); run it directly to
re-export the tables the Rust ports read:

    .venv/bin/python crates/lexicon/reference/eu.py export

es: sentiment-analysis-spanish 0.0.25, `SentimentAnalysisSpanish().sentiment(text)`: the
    probability of the positive class of its MultinomialNB over its CountVectorizer (word
    1-3-grams). Exported: the 5,000 features in column order with the two classes' log
    probabilities, and the two log priors (data/es/naive_bayes.tsv).
de: textblob-de 0.4.3, two configurations in each golden row. The row's own numbers are the
    default `PatternAnalyzer().analyze(text)` (lemmatize=True: PatternTokenizer, Pattern's German
    parser and find_lemmata, the lemmata re-joined and scored); `"lemmatize_false"` holds
    `PatternAnalyzer(lemmatize=False).analyze(text)`, Pattern's Sentiment with de-sentiment.xml
    on the raw text, which is what the port implements. `TextBlobDE(text).sentiment` is the
    default analyser behind NLTK's Punkt tokenizer, whose German model comes from NLTK's data
    server (no package registry ships it), so the reference runs the analyser's own default
    tokenizer (PatternTokenizer).
nl: textblob-nl 0.0.1, `textblob_nl.sentiments.PatternAnalyzer().analyze(text)`.
it: Pattern's Sentiment (the Pattern 2.6 copy vendored in textblob-de) with Pattern's Italian
    lexicon (data/it/it-sentiment.xml, which no registry package ships) and Pattern's Italian
    settings (negations, modifiers, abbreviations, contractions).
For the Pattern languages the export is the lexicon as Pattern holds it once loaded (senses and
parts of speech averaged, the loaders' extra forms added), keyed by lowercase form, since
Pattern lowercases every token before looking it up (data/<lang>/sentiment.tsv).
"""

import functools
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CRATE = HERE.parent
DATA = CRATE / "data"

# Label bands (the Rust side has the same constants; see ks_lexicon's es and pattern modules).
ES_POSITIVE = 0.65
ES_NEGATIVE = 0.35
PATTERN_THRESHOLD = 0.1


def es_label(p, matched):
    if not matched:
        return "NEUTRAL"
    if p >= ES_POSITIVE:
        return "POSITIVE"
    if p <= ES_NEGATIVE:
        return "NEGATIVE"
    return "NEUTRAL"


def pattern_label(polarity):
    if polarity >= PATTERN_THRESHOLD:
        return "POSITIVE"
    if polarity <= -PATTERN_THRESHOLD:
        return "NEGATIVE"
    return "NEUTRAL"


# ---------------------------------------------------------------- es

@functools.lru_cache(maxsize=None)
def es_model():
    import warnings
    warnings.filterwarnings("ignore")
    from sentiment_analysis_spanish.sentiment_analysis import SentimentAnalysisSpanish
    return SentimentAnalysisSpanish()


def es_reference():
    model = es_model()
    analyze = model.vectorizer.build_analyzer()
    vocabulary = model.vectorizer.vocabulary_

    def score(text):
        p = float(model.sentiment(text))
        matched = any(g in vocabulary for g in analyze(text))
        return {"probability": p, "label": es_label(p, matched)}
    return score, model


def es_export(model):
    v, c = model.vectorizer, model.classifier
    params = v.get_params()
    assert params["ngram_range"] == (1, 3) and params["lowercase"] and params["analyzer"] == "word"
    assert params["token_pattern"] == r"(?u)\b\w\w+\b" and params["strip_accents"] is None
    assert params["stop_words"] is None and params["preprocessor"] is None
    assert list(c.classes_) == [0, 1]
    features = sorted(v.vocabulary_.items(), key=lambda kv: kv[1])
    assert [i for _, i in features] == list(range(len(features)))
    lines = ["# sentiment-analysis-spanish 0.0.25: MultinomialNB over CountVectorizer word 1-3-grams.",
             "# Exported by reference/eu.py. Line 1: log prior of class 0 (negative) and 1 (positive);",
             "# then one feature per line in column order: n-gram, log P(f|0), log P(f|1).",
             f"{float(c.class_log_prior_[0])!r}\t{float(c.class_log_prior_[1])!r}"]
    for (gram, i) in features:
        lines.append(f"{gram}\t{float(c.feature_log_prob_[0][i])!r}\t{float(c.feature_log_prob_[1][i])!r}")
    return "\n".join(lines) + "\n"


ES_SENTENCES = [
    # The package's own test sentences (test_sentiment_analysis.py), the README's examples.
    "me encanta la tombola", "la tombola es genial, me encanta", "esto es precioso, muy bonito",
    "me encanta, bello", "¡Jamás voy a usar esta maldita aplicación!  No funciona para nada.",
    "me desagrada profundamente", "no me gusta", "la tombola no me encanta",
    "la tombola no es genial, no me gusta", "esto no es precioso no es bonito",
    "todo muy feo y desagradable",
    "me perece muy triste lo que está ocurriendo" "que tristeza, qué pena",
    "estoy muy enfadado y molesto y no quiero hablar",
    "me parece terrible esto que me estás diciendo", "fuera de aquí no quiero verte",
    "El hotel es precioso pero la comida es horrible.", "¡Qué día tan bonito! Me encanta.",
    "Hola", "hola a todos", "", " ", "!!!", "a", "x y z", "ÉXITO TOTAL", "Muy MALO",
    "El servicio fue excelente y la comida deliciosa", "Pésimo servicio, nunca más",
    "No está mal", "No está nada bien", "Lo recomiendo 100%", "café con leche", "niño",
    "El_hotel_es_bueno", "bueno123", "1234", "muy_bueno", "buenísimo 😍", "malísimo 😡",
    "İstanbul", "ÑOÑO ñoño", "e\u0301xito", "naïve", "straße", "ΣΟΦΊΑ",
]


def es_corpus(rng):
    from languages import EMOJI, EMOTICONS, GENERATED, generate
    model = es_model()
    grams = list(model.vectorizer.vocabulary_)
    unigrams = [g for g in grams if " " not in g]
    phrases = [g for g in grams if " " in g]
    filler = ["el", "la", "los", "un", "una", "de", "que", "y", "en", "hoy", "servicio", "comida",
              "película", "hotel", "producto", "día", "es", "fue", "está", "muy", "no", "nunca",
              "pero", "x", "#tag", "@alguien", "https://ejemplo.es/a", "123", "2024", "ñ", "á"]
    pools = [unigrams, phrases, filler, EMOJI, EMOTICONS]
    weights = [35, 20, 35, 5, 5]
    return ES_SENTENCES + generate(rng, pools, weights, GENERATED)


# ---------------------------------------------------------------- Pattern: de, it, nl

IT_ABBREVIATIONS = [
    "a.C.", "all.", "apr.", "art.", "artt.", "b.c.", "c.a.", "cfr.", "c.d.",
    "c.m.", "C.V.", "d.C.", "Dott.", "ecc.", "egr.", "e.v.", "fam.", "giu.",
    "Ing.", "L.", "n.", "op.", "orch.", "p.es.", "Prof.", "prof.", "ql.co.",
    "secc.", "sig.", "s.l.m.", "s.r.l.", "Spett.", "S.P.Q.C.", "v.c.",
]
IT_ELISIONS = [
    "a", "co", "all", "anch", "nient", "cinquant", "b", "de", "dev", "bell", "quell", "diciott",
    "c", "gl", "don", "cent", "quest", "occupo", "d", "po", "dov", "dall", "trent", "sessant",
    "l", "un", "nel", "dell", "tropp", "m", "king", "n", "nell", "r", "sant", "s", "sott",
    "sull", "tant", "tutt", "vent",
]


def it_replacements():
    keys = IT_ELISIONS + [k.capitalize() for k in IT_ELISIONS]
    return dict((k + "'", k + "' ") for k in keys)


def emoticon_order(longest_first=True):
    """Pattern compiles its emoticon regex from sets, so the order of the alternatives (which
    decides between ":c" and ":c)" in ": c )") changes with PYTHONHASHSEED: the reference is
    not deterministic there. The references run with the alternatives longest first (the Rust
    port's rule); `longest_first=False` gives the opposite order, to mark the texts where the
    order matters (fix "EmoticonOrder")."""
    import re
    from textblob_de.packages import pattern_text
    from textblob_nl import _text
    for module in (pattern_text, _text):
        emoticons = sorted((e for v in module.EMOTICONS.values() for e in v),
                           key=lambda e: (-len(e), e) if longest_first else (len(e), e))
        alternatives = "|".join(r" ?".join(re.escape(c) for c in e) for e in emoticons)
        module.RE_EMOTICONS = re.compile(r"(%s)($|\s)" % alternatives)


def pattern_sentiment(lang):
    """The reference's Sentiment object for `lang`, loaded."""
    if lang == "de":
        from textblob_de.sentiments import sentiment
        s = sentiment
    elif lang == "nl":
        from textblob_nl.nl import sentiment
        s = sentiment
    else:
        from textblob_de.packages import pattern_text as pt
        replace = it_replacements()

        def tokenizer(text):
            sentences = pt.find_tokens(text, abbreviations=set(IT_ABBREVIATIONS), replace=replace)
            return [s.replace(" &contraction ;", "'").replace("XXX -", "-") for s in sentences]
        s = pt.Sentiment(path=str(DATA / "it" / "it-sentiment.xml"), synset=None,
                         negations=("mai", "no", "non"), modifiers=("RB",),
                         modifier=lambda w: w.endswith("mente"), tokenizer=tokenizer,
                         language="it")
    if dict.__len__(s) == 0:
        s.load()
    return s


def de_analyzers():
    """textblob-de's two configurations: the default `PatternAnalyzer()` (lemmatize=True: the
    text goes through Pattern's German parser and its lemmata are scored) and
    `PatternAnalyzer(lemmatize=False)` (the raw text is scored, what the port implements)."""
    from textblob_de.sentiments import PatternAnalyzer
    return PatternAnalyzer().analyze, PatternAnalyzer(lemmatize=False).analyze


def pattern_scorer(analyze):
    def score(text):
        polarity, subjectivity = analyze(text)
        emoticon_order(longest_first=False)
        other = analyze(text)
        emoticon_order(longest_first=True)
        fix = ["EmoticonOrder"] if tuple(other) != (polarity, subjectivity) else []
        return {"polarity": polarity, "subjectivity": subjectivity,
                "label": pattern_label(polarity), "fix": fix}
    return score


def pattern_reference(lang):
    s = pattern_sentiment(lang)
    emoticon_order(longest_first=True)
    if lang == "de":
        lemmatized, raw = (pattern_scorer(a) for a in de_analyzers())
        return (lambda text: {**lemmatized(text), "lemmatize_false": raw(text)}), s
    if lang == "nl":
        from textblob_nl.sentiments import PatternAnalyzer
        analyze = PatternAnalyzer().analyze
    else:
        analyze = s
    return pattern_scorer(analyze), s


def pattern_export(lang, s):
    """word, polarity, subjectivity, intensity (the all-senses average Pattern uses for a string)
    and whether the word can modify the next one (it has a sense among the modifiers' tags)."""
    lines = [f"# Pattern sentiment lexicon ({lang}) as loaded by the reference; exported by "
             "reference/eu.py.",
             "# word, polarity, subjectivity, intensity, modifier (1: has a sense tagged "
             + "/".join(s.modifiers) + ")"]
    for w in sorted(dict.keys(s)):
        if w != w.lower():
            continue  # the reference lowercases every token: never looked up
        senses = dict.__getitem__(s, w)
        p, sj, i = senses[None]
        modifier = any(m in senses for m in s.modifiers)
        lines.append(f"{w}\t{float(p)!r}\t{float(sj)!r}\t{float(i)!r}\t{int(modifier)}")
    return "\n".join(lines) + "\n"


DE_SENTENCES = [
    # The package's README and docs examples, then own sentences.
    "Das ist ein hässliches Auto.", "Das ist ein schönes Auto.", "Das ist nicht schön.",
    "Ich liebe diesen Film!", "Die Schauspieler waren schlecht und langweilig",
    "Das Hotel ist wunderschön", "Ich bin enttäuscht von den Produkten",
    "Das Essen war sehr gut, aber der Service war schrecklich.", "Nicht schlecht!",
    "Das ist kein gutes Zeichen", "Es war nie langweilig", "Er ist wirklich nicht gut",
    "Super :)", "Schade :(", "toll (!)", "Mr. Smith ist gut.", "z.B. gut", "U.S.A. gut",
    "Das geht so nicht...", "\"gut\"", "„gut“", "‚gut‘", "gut\n\nschlecht", "", " ", "!!!",
    "ÄRGERLICH", "ärgerlich", "Wunderbar!!!", "Ich finde das nicht wirklich schlecht",
    "Das war ziemlich gut", "Das war äußerst schlecht", "grauenhaft ❤", "<3", "♥ gut", "xD",
    "8)", "( 8 )", "box D", "don't worry", "it's good",
    # The lemmatizer's own cases: inflected adjectives, verbs and plurals, "/" (a placeholder
    # word in the reference), the punctuation only it splits off, its sentence-final period.
    "Die Filme gefielen mir, sie waren wunderschöne Geschichten", "Er hat mich enttäuscht",
    "Wir lieben schöne Anzeigen", "Das Essen schmeckte furchtbar.", "gut/schlecht",
    "50% gut", "<gut>", "schlecht\\gut", "Dr. Müller ist nett.", "z.B. enttäuschend.",
    "Sie ärgerten sich über die Verspätungen", "Großartige Leistung!", "ß", "/",
    "Hässliche, teure und langweilige Produkte", "Ich hasse es. Ich liebe es.",
]
NL_SENTENCES = [
    # pattern's own test_nl.py sentiment examples, then own sentences.
    "geweldig", "verschrikkelijk",
    "Dit is een mooie film.", "Dit is geen mooie film.", "Het eten was niet lekker!",
    "Wat een verschrikkelijke dag", "Heel erg goed", "Ik vind het prachtig :)", "Jammer :(",
    "Nooit meer!", "Het is 's ochtends koud", "auto's zijn duur", "Dit is 'n goede dag",
    "Het was bijv. slecht", "goed (!)", "", " ", "!!!", "GOED", "goed... slecht.",
    "Zeer teleurstellend", "Echt niet slecht", "Een fantastische en geweldige ervaring",
]
IT_SENTENCES = [
    "Questo film è bellissimo, lo adoro.", "Non è bello", "Il servizio è stato pessimo",
    "Che giornata meravigliosa!", "l'amore è bello", "Dell'albergo non mi piace niente",
    "Un'esperienza orribile", "Mai più!", "Abbastanza buono", "Davvero bello :)", "Peccato :(",
    "Il prof. è bravo.", "bello (!)", "", " ", "!!!", "BELLO", "bello... brutto.",
    "assolutamente fantastico", "non è affatto male", "XXX- bello",
]


def pattern_corpus(lang, rng):
    from languages import EMOJI, EMOTICONS, GENERATED, generate
    s = pattern_sentiment(lang)
    words = sorted(w for w in dict.keys(s) if w == w.lower())
    modifiers = [w for w in words if any(m in dict.__getitem__(s, w) for m in s.modifiers)]
    negations = list(s.negations) + [n.capitalize() for n in s.negations] + ["NOT", "n't"]
    pattern_emoticons = [":-)", ":D", ">:(", ": )", ":'(", "<3", "♥", "❤", "(!)", "( ! )", "8)",
                         "x-D", ":-/", "=/", ";)", "°O°", "o.O", ":c)"]
    specials = {"de": ["z.B.", "Mr.", "etc.", "U.S.", "Dr.", "don't", "it's", "„", "“", "‚",
                       "‘", "’", "...", "–", "Ärger", "Größe", "ß"],
                "nl": ["'s", "ochtends", "'n", "auto's", "bijv.", "enz.", "...", "’", "ij"],
                "it": ["l'", "dell'", "un'", "prof.", "ecc.", "sig.", "...", "’", "XXX", "-",
                       "perché", "così"]}[lang]
    filler = {"de": ["ich", "du", "das", "ist", "war", "der", "die", "ein", "eine", "Film",
                     "Essen", "heute", "und", "aber", "sehr", "wirklich", "so"],
              "nl": ["ik", "het", "is", "was", "de", "een", "film", "eten", "vandaag", "en",
                     "maar", "heel", "erg", "zeer"],
              "it": ["io", "il", "la", "è", "era", "un", "una", "film", "cibo", "oggi", "e",
                     "ma", "molto", "davvero"]}[lang]
    filler += ["x", "y", "#tag", "@iemand", "https://x.eu/a", "123", "2024", "A", "B2"]
    pools = [words, modifiers, negations, specials, filler, EMOJI, EMOTICONS + pattern_emoticons]
    weights = [30, 10, 8, 6, 30, 3, 6]
    if lang == "de":
        # Inflected forms for the lemmatizer of the default analyser: the verb table's forms of
        # lexicon verbs, lexicon words with attributive endings, capitalised plural-looking nouns.
        from textblob_de.packages import pattern_de
        known = set(words)
        verb_forms = sorted(f for f, v in pattern_de.inflect.verbs.inflections.items()
                            if v in known and f != v)
        endings = ["e", "en", "er", "es", "em", "n", "s"]
        inflected = [w + e for w in words[::7] for e in endings]
        nouns = [w.capitalize() + e for w in words[::31] for e in ("en", "innen", "ungen", "er")]
        pools += [verb_forms, inflected, nouns, ["/", "%", "<", ">", "\\", "50%", "a/b"]]
        weights += [12, 12, 4, 2]
    sentences = {"de": DE_SENTENCES, "nl": NL_SENTENCES, "it": IT_SENTENCES}[lang]
    texts = sentences + generate(rng, pools, weights, GENERATED)
    # Punctuation glued to words, sentence breaks and paragraph breaks.
    for k in range(len(sentences), len(texts), 11):
        texts[k] = texts[k].replace(" ", ". ", 1).replace(" ", "\n\n", 1)
    return texts


# ---------------------------------------------------------------- de: the lemmatizer's tables

def de_parser_exports():
    """Pattern's German parser data as textblob-de's bundled pattern.de holds it once loaded
    (data/de/parser/): the tagger lexicon (word, STTS tag; the last line of a word wins, as in
    the dict it loads into), the morphology and context rules in file order, and the verb
    table as `lemma()` and `conjugate()` read it (every known form and its infinitive, then
    the infinitives)."""
    from textblob_de.packages import pattern_de
    parser = pattern_de.parser
    lexicon, morphology, context = parser.lexicon, parser.morphology, parser.context
    for table in (lexicon, morphology, context):
        len(table)  # loads the lazy table
    verbs = pattern_de.inflect.verbs
    inverse = verbs.inflections
    head = "# Pattern's German {} (textblob-de 0.4.3's bundled pattern.de, BSD-3-Clause: LICENSE-pattern.txt); exported by reference/eu.py.\n"
    lex = head.format("tagger lexicon: word, STTS tag") + "".join(
        f"{w}\t{t}\n" for w, t in sorted(dict.items(lexicon)))
    morph = head.format("morphology rules, in order") + "".join(
        " ".join(r) + "\n" for r in morphology)
    ctx = head.format("context rules, in order") + "".join(" ".join(r) + "\n" for r in context)
    forms = "".join(f"{f}\t{inverse[f]}\n" for f in sorted(inverse))
    infinitives = "".join(f"{v}\n" for v in sorted(dict.keys(verbs)))
    verb_text = (head.format("verb table: `form<TAB>infinitive` lines, then a blank line, then "
                             "the infinitives") + forms + "\n" + infinitives)
    inflect = pattern_de.inflect
    plural = (head.format("plural noun endings and their singulars, in the order `singularize` "
                          "tries them; first the whole words it knows")
              + "".join(f"={w}\t{v}\n" for w, v in sorted(inflect.singular.items()))
              + "".join(f"{a}\t{b}\n" for a, b in inflect.singular_inflections))
    out = DATA / "de" / "parser"
    return [(out / "lexicon.tsv", lex), (out / "morphology.txt", morph),
            (out / "context.txt", ctx), (out / "verbs.tsv", verb_text),
            (out / "singular.tsv", plural)]


# ---------------------------------------------------------------- the exported tables

def exports():
    """(path, text) of every exported table."""
    out = [(DATA / "es" / "naive_bayes.tsv", es_export(es_model()))]
    for lang in ("de", "it", "nl"):
        out.append((DATA / lang / "sentiment.tsv", pattern_export(lang, pattern_sentiment(lang))))
    return out + de_parser_exports()


def main(args):
    if args != ["export"]:
        sys.exit("usage: eu.py export")
    for path, text in exports():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {path} ({len(text.encode())} bytes)")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main(sys.argv[1:])
