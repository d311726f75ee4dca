#!/usr/bin/env python3
"""Writes tests/data/corpus.jsonl: a deterministic, varied corpus for the agreement test.

Every line is one JSON string. The generator is seeded, uses only the standard library and
the lexicon files shipped in ../data, so re-running it reproduces the file byte for byte.

    python3 crates/lexicon/reference/make_corpus.py
"""

import json
import random
from pathlib import Path

SEED = 20240603
CRATE = Path(__file__).resolve().parent.parent
OUT = CRATE / "tests" / "data" / "corpus.jsonl"


def load_lexicon():
    words, emoticons = [], []
    for line in (CRATE / "data" / "vader_lexicon.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        word = line.strip().split("\t")[0]
        (words if word.isalpha() else emoticons).append(word)
    return sorted(set(words)), sorted(set(emoticons))


def load_emoji():
    singles, multis = [], []
    for line in (CRATE / "data" / "emoji_utf8_lexicon.txt").read_text(encoding="utf-8").splitlines():
        key = line.strip().split("\t")[0]
        (singles if len(key) == 1 else multis).append(key)
    return singles, multis


WORDS, EMOTICONS = load_lexicon()
EMOJI, EMOJI_SEQ = load_emoji()

BOOSTERS = ["very", "really", "so", "extremely", "totally", "hella", "kinda", "sorta",
            "barely", "slightly", "somewhat", "incredibly", "most", "less", "fucking",
            "quite", "uber", "friggin", "almost", "hardly", "utterly", "kind-of"]
NEGATIONS = ["not", "never", "don't", "isn't", "wasn't", "can't", "cannot", "aint", "no",
             "nothing", "without", "nor", "rarely", "seldom", "despite", "won't", "couldnt",
             "uh-uh", "nope", "neither", "shouldn't", "hadn't"]
FILLER = ["the", "a", "this", "that", "it", "is", "was", "we", "they", "my", "your", "our",
          "movie", "food", "service", "phone", "team", "game", "weather", "day", "update",
          "app", "flight", "hotel", "book", "show", "coffee", "price", "staff", "at", "of",
          "and", "or", "to", "for", "with", "in", "on", "today", "tonight", "again", "just",
          "kind", "sort", "least", "but", "yet", "also", "really", "had", "has", "been"]
SUBJECTS = ["The movie", "My phone", "This app", "The hotel", "Our flight", "The new update",
            "Customer service", "The food", "The weather", "Your team", "This book", "The game",
            "The price", "The staff", "That concert", "My order", "The coffee", "The keynote"]
COPULAS = ["is", "was", "seems", "looks", "felt", "has been", "will be", "isn't", "wasn't",
           "is not", "was never", "is never so", "was never this", "is kind of", "is sort of",
           "is at least", "is the least", "was the very least", "is just enough", "is no",
           "is no longer", "was without doubt", "is without a doubt"]
IDIOMS = ["the shit", "the bomb", "bad ass", "badass", "yeah right", "kiss of death",
          "to die for", "beating heart", "bus stop", "cut the mustard", "hand to mouth",
          "under the weather", "in the red", "on the ball", "break a leg", "upper hand"]
PUNCT_RUNS = ["", "", ".", "!", "!!", "!!!", "!!!!!!", "?", "??", "???", "????", "?!", "!?!?",
              "...", "!!1", " !", " ?", "?!?!?!"]
URLS = ["https://example.com/a?b=1", "http://t.co/AbC123", "www.example.org", "https://x.io/#good"]
HASHTAGS = ["#love", "#fail", "#happy", "#sad", "#MondayMotivation", "#great", "#worst", "#bad"]
MENTIONS = ["@support", "@airline", "@friend", "@BestBuy", "@nobody"]
NON_ENGLISH = [
    "Le service était vraiment excellent, merci beaucoup !",
    "C'est nul, je suis très déçu du produit.",
    "El hotel es precioso pero la comida es horrible.",
    "¡Qué día tan bonito! Me encanta.",
    "Das Essen war gut, aber der Service war schrecklich.",
    "Ich bin überrascht, wie nützlich das ist!",
    "Questo film è bellissimo, lo adoro.",
    "O atendimento foi péssimo e demorado.",
    "Это было ужасно, никогда больше не приду.",
    "Отличный сервис, всем рекомендую!",
    "这个产品非常好，我很喜欢！",
    "服务太差了，再也不来了。",
    "このアプリは本当に便利です。",
    "最悪の体験でした…",
    "هذا المنتج رائع جدا",
    "الخدمة سيئة للغاية",
    "यह फिल्म बहुत अच्छी थी",
    "정말 좋은 하루였어요!",
    "Ο καιρός είναι ΥΠΕΡΟΧΟΣ σήμερα",
    "ΣΟΦΙΑ ΕΊΝΑΙ ΕΔΏ ΚΑΙ ΧΑΡΆ",
    "Ǆemal and ǅemal were GREAT",
]
ODD_SPACES = [" ", "  ", "\t", "\n", "\u00a0", "\u3000", "\u2003", "\u001c", "\u001f", "\u0085",
              "\u200b", "\r\n"]


def casing(rng, word):
    r = rng.random()
    if r < 0.12:
        return word.upper()
    if r < 0.25:
        return word.capitalize()
    return word


def attach(rng, word):
    r = rng.random()
    if r < 0.08:
        return word + rng.choice([",", ".", "!", "?", "...", "!!", ";", ":"])
    if r < 0.11:
        return rng.choice(["(", "\"", "'", "*", "_"]) + word + rng.choice([")", "\"", "'", "*", "_"])
    return word


def random_tokens(rng, n):
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.30:
            w = rng.choice(WORDS)
        elif r < 0.40:
            w = rng.choice(BOOSTERS)
        elif r < 0.50:
            w = rng.choice(NEGATIONS)
        elif r < 0.85:
            w = rng.choice(FILLER)
        elif r < 0.90:
            w = rng.choice(EMOTICONS)
        elif r < 0.95:
            w = rng.choice(EMOJI) * rng.choice([1, 1, 2, 3])
        else:
            w = rng.choice(URLS + HASHTAGS + MENTIONS)
        out.append(attach(rng, casing(rng, w)))
    return out


def tweet(rng):
    """A tweet-like text of roughly 100-280 characters."""
    parts = []
    while sum(len(p) + 1 for p in parts) < rng.randint(90, 260):
        kind = rng.random()
        if kind < 0.45:
            parts.append(" ".join(random_tokens(rng, rng.randint(3, 9))) + rng.choice(PUNCT_RUNS))
        elif kind < 0.85:
            adj = casing(rng, rng.choice(WORDS))
            boost = rng.choice(["", "", rng.choice(BOOSTERS) + " "])
            parts.append(f"{rng.choice(SUBJECTS)} {rng.choice(COPULAS)} {boost}{adj}{rng.choice(PUNCT_RUNS)}")
        elif kind < 0.92:
            parts.append(rng.choice(["but", "But", "BUT", "but then", "yet"]))
        else:
            parts.append(rng.choice(URLS + HASHTAGS + MENTIONS))
    return " ".join(parts)


def rule_case(rng):
    """Short sentences aimed at one rule at a time."""
    adj = rng.choice(WORDS)
    subj = rng.choice(SUBJECTS)
    templates = [
        f"{subj} is {adj}",
        f"{subj} is not {adj}",
        f"{subj} is not very {adj}",
        f"{subj} is not really that {adj}",
        f"{subj} is never so {adj}",
        f"{subj} has never been this {adj}",
        f"{subj} isn't {adj} at all",
        f"{subj} is no {adj}",
        f"no {adj} or {rng.choice(WORDS)}",
        f"no {rng.choice(FILLER)} nor {adj}",
        f"{subj} is {rng.choice(BOOSTERS)} {adj}",
        f"{subj} is {rng.choice(BOOSTERS).upper()} {adj}",
        f"{subj} is {adj.upper()} and {rng.choice(WORDS)}",
        f"{subj.upper()} IS {adj.upper()}",
        f"{subj} is kind of {adj}",
        f"{subj} is sort of {adj} but {rng.choice(WORDS)}",
        f"{subj} was {adj}, but the {rng.choice(FILLER)} was {rng.choice(WORDS)}",
        f"{adj} {adj} but {adj} {adj}",
        f"{subj} is the least {adj} one",
        f"{subj} is at least {adj}",
        f"{subj} is very least {adj}",
        f"least {adj}",
        f"{subj} is {rng.choice(IDIOMS)}",
        f"that {rng.choice(FILLER)} was {rng.choice(IDIOMS)} {adj}",
        f"without doubt {adj}",
        f"without a doubt, {adj}",
        f"{subj} is just enough {adj}",
        f"{subj} {adj}{rng.choice(PUNCT_RUNS)}{rng.choice(PUNCT_RUNS)}",
        f"{rng.choice(EMOTICONS)} {adj} {rng.choice(EMOTICONS)}",
        f"{rng.choice(EMOJI)}{adj}{rng.choice(EMOJI)} {rng.choice(EMOJI)}",
        f"{rng.choice(EMOJI_SEQ)} {adj} {rng.choice(EMOJI_SEQ)}",
        f"{rng.choice(MENTIONS)} {adj} {rng.choice(HASHTAGS)} {rng.choice(URLS)}",
        f"{adj}{rng.choice(ODD_SPACES)}{rng.choice(WORDS)}{rng.choice(ODD_SPACES)}{rng.choice(WORDS)}",
        f"not {rng.choice(BOOSTERS)} {rng.choice(FILLER)} {adj}",
        f"{rng.choice(NEGATIONS)} {rng.choice(FILLER)} {rng.choice(FILLER)} {adj}",
    ]
    return rng.choice(templates)


def long_text(rng):
    target = rng.choice([3_000, 6_000, 12_000, 30_000])
    parts = []
    while sum(len(p) + 1 for p in parts) < target:
        parts.append(tweet(rng))
    return " ".join(parts)


def fixed_cases():
    """Hand-written edge cases (own wording)."""
    return [
        "", " ", "\t\n", "\u00a0\u3000", ".", "!!!", "???", ":)", ":(", "<3", ":-D", ":D", "XD",
        "good", "GOOD", "Good", "not good", "NOT GOOD", "not GOOD", "Not good at all",
        "The pizza was great.", "The pizza was great!", "The pizza was GREAT!!!",
        "The pizza was very great.", "The pizza was VERY great and cheap.",
        "The pizza was great, but the delivery was awful.",
        "The pizza was awful but great great great",
        "I love it but but I hate it",
        "It's not bad, not bad at all.", "It isn't horrible.", "It was never so good!",
        "It was never this bad.", "It has never been good.",
        "At least it isn't a terrible movie.", "It's the least helpful answer ever.",
        "very least helpful", "It was only kind of good.", "kinda good", "sort of nice",
        "This phone is the shit!", "This phone is the bomb", "What a bad ass car", "yeah right",
        "that was the kiss of death for the project", "a dessert to die for",
        "a beating heart", "the bus stop was nice", "no problem", "no good deed",
        "no love or hate", "no fun nor joy", "Without doubt, a brilliant plan.",
        "Catch these 😀😂💔 and 👍🏽", "😀", "😡😡😡", "I 💖 it", "love😀love", "🇫🇷 fans",
        "héllo wörld, naïve café", "K\u212aK good", "İstanbul is lovely", "ǅ good",
        "SUX", "Today SUX!", "Today only kinda sux! But I'll get by, lol",
        "haha", "lol lol lol", "LOL", "omg", "wtf", "meh", "ugh",
        "@user #hashtag http://example.com", "RT @user: this is amazing http://t.co/x",
        "good!!!!!!!!!!", "bad??", "bad???", "bad????", "bad?!", "ok?", "great?!?!",
        "The movie wasn't good, it wasn't bad, it was fine.",
        "\"great\"", "'great'", "(great)", "great...", "-great-", "#great", "@great",
        "grEAT", "GREAT great", "GREAT GREAT", "A", "I", "OK", "Ok.", "ok ok ok",
        "not not good", "don't not like", "never never", "nothing good", "nobody cares",
        "no", "no no no", "No.", "not", "but", "But good", "good but", "least", "kind of",
        "kind", "of", "kind of bad kind of good", "sort of", "just enough",
    ]


def main():
    rng = random.Random(SEED)
    texts = list(fixed_cases())
    texts += NON_ENGLISH
    texts += [tweet(rng) for _ in range(1600)]
    texts += [rule_case(rng) for _ in range(900)]
    texts += [" ".join(random_tokens(rng, rng.randint(1, 40))) for _ in range(400)]
    texts += [long_text(rng) for _ in range(12)]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8", newline="\n") as f:
        for t in texts:
            f.write(json.dumps(t) + "\n")
    print(f"wrote {len(texts)} texts to {OUT}")


if __name__ == "__main__":
    main()
