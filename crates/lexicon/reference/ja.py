#!/usr/bin/env python3
"""Japanese (asari 0.2.0) for ks-lexicon: the exported model and the golden files.

    .venv/bin/python crates/lexicon/reference/ja.py            # write data/ja and tests/data/ja
    .venv/bin/python crates/lexicon/reference/ja.py --check    # regenerate to a temp dir, diff

asari's `Sonar.ping` segments a text with janome (`Tokenizer(wakati=True)`, surfaces joined by
one space) and runs `pipeline.onnx`: lower-case the string, split it on " " (empty pieces
dropped, every other piece kept, one character or not), count word 1- and 2-grams found in the
model's pool, multiply by idf, L2-normalise, then five linear classifiers, each through its own
sigmoid calibration 1 / (1 + exp(a * score + b)), averaged. That is all plain arithmetic, so
this script exports it (`data/ja/asari.bin.deflate`, read by src/asari.rs):

    b"KSJA1\\n", u32 unigrams, u32 bigrams, u32 classifiers        (little-endian throughout)
    the unigrams, UTF-8, each followed by "\\n"
    per bigram: u32 first, u32 second (indexes into the unigrams)
    f32 idf per feature (unigrams, then bigrams)
    per classifier: f32 intercept, f32 a, f32 b, then f32 coefficient per feature

zlib level 9 (DEFLATE), which ks-lexicon inflates with miniz_oxide on the first Japanese text.

The golden files hold, per corpus text, janome's tokens and asari's answer (`label`,
`positive` = the positive class's probability). onnxruntime's StringNormalizer asks for the
en_US.UTF-8 locale, which a machine without locales lacks (the session then fails to load): the
reference session is built from the same model with the locale set to C.UTF-8, whose case
mapping is glibc's full Unicode one, as en_US's.
"""

import argparse
import json
import random
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

HERE = Path(__file__).resolve().parent
CRATE = HERE.parent
MODEL_OUT = CRATE / "data" / "ja" / "asari.bin.deflate"
GOLDEN_OUT = CRATE / "tests" / "data" / "ja"
SEED = 23
GENERATED = 3000
POSTS = 500


def model_path():
    import asari
    return Path(asari.__file__).parent / "data" / "pipeline.onnx"


# ---------------------------------------------------------------- export


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def export(model):
    g = model.graph
    init = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    producers = {out: n for n in g.node for out in n.output}
    tfidf = attrs(next(n for n in g.node if n.op_type == "TfIdfVectorizer"))
    assert tfidf["min_gram_length"] == 1 and tfidf["max_gram_length"] == 2
    assert tfidf["max_skip_count"] == 0 and tfidf["mode"] == b"TF"
    pool, counts, indexes = tfidf["pool_strings"], tfidf["ngram_counts"], tfidf["ngram_indexes"]
    n_uni = counts[1]
    n_bi = (len(pool) - n_uni) // 2
    unigrams = [p.decode("utf-8") for p in pool[:n_uni]]
    assert all("\n" not in u and " " not in u for u in unigrams)
    position = {u: i for i, u in enumerate(unigrams)}
    bigrams = [(position[pool[n_uni + 2 * i].decode()], position[pool[n_uni + 2 * i + 1].decode()])
               for i in range(n_bi)]
    # Our feature order: unigrams then bigrams, as in the pool; the model's column of each.
    column = np.asarray(indexes, dtype=np.int64)
    idf = init["idfcst"].astype(np.float32)[column]

    # Each calibrated classifier: Div(unity, 1 + Exp(Add(Mul(a, column k of scores), b))).
    k = int(init["k"])
    assert k == 1 and [c.decode() for c in attrs(next(
        n for n in g.node if n.op_type == "LinearClassifier"))["classlabels_strings"]] == [
        "negative", "positive"]
    classifiers = []
    for mul in (n for n in g.node if n.op_type == "Mul" and n.input[0] in init
                and n.input[0] != "idfcst"):
        a = float(init[mul.input[0]])
        afe = producers[mul.input[1]]
        assert afe.op_type == "ArrayFeatureExtractor" and afe.input[1] == "k"
        linear = producers[afe.input[0]]
        add = next(n for n in g.node if n.op_type == "Add" and n.input[0] == mul.output[0])
        b = float(init[add.input[1]])
        la = attrs(linear)
        assert la["post_transform"] == b"NONE"
        coef = np.asarray(la["coefficients"], dtype=np.float32).reshape(2, -1)[k][column]
        classifiers.append((np.float32(la["intercepts"][k]), np.float32(a), np.float32(b), coef))
    assert len(classifiers) == int(init["clf_length"])

    out = bytearray(b"KSJA1\n")
    out += np.asarray([n_uni, n_bi, len(classifiers)], dtype="<u4").tobytes()
    out += "".join(u + "\n" for u in unigrams).encode("utf-8")
    out += np.asarray(bigrams, dtype="<u4").tobytes()
    out += idf.astype("<f4").tobytes()
    for intercept, a, b, coef in classifiers:
        out += np.asarray([intercept, a, b], dtype="<f4").tobytes()
        out += coef.astype("<f4").tobytes()
    return zlib.compress(bytes(out), 9)


# ---------------------------------------------------------------- reference


def sonar(model):
    """asari's Sonar, its session built from `model` with the C.UTF-8 locale (see above)."""
    import onnxruntime as rt
    from asari.api import Sonar

    for node in model.graph.node:
        if node.op_type == "StringNormalizer":
            node.attribute.append(onnx.helper.make_attribute("locale", "C.UTF-8"))

    class Reference(Sonar):
        def __init__(self):
            self.sess = rt.InferenceSession(model.SerializeToString())
            self.input_name = self.sess.get_inputs()[0].name
            self.prob_name = self.sess.get_outputs()[1].name

    return Reference()


# ---------------------------------------------------------------- corpus

SENTENCES = [
    # asari's README and test examples.
    "広告多すぎる♡", "喜びの声が広がっています", "この商品は最悪です", "とても良い",
    "この映画は最高でした", "この映画は最低でした", "二度と行かない", "また来たいです",
    "サービスがとても丁寧で、気持ちよく過ごせました。", "料理が冷めていて残念でした。",
    "楽しかった！", "つまらない", "ありがとうございます", "ふざけるな", "うれしい😊",
    "悲しい…", "最高ｗｗｗ", "神アプデ", "クソゲー", "微妙", "普通", "まあまあかな",
    "今日は天気がいいですね", "電車が遅れてイライラする", "推しが尊い", "涙が止まらない",
    "ＡＢＣはＧＯＯＤ！", "iPhoneの新作、めっちゃ欲しい", "This is an English sentence.",
    "ﾃｽﾄ ﾃｽﾄ", "東京スカイツリーへのお越しは便利です", "すもももももももものうち",
    "", " ", "　", "!!!", "😀", "ｗ", "笑", "Aaa BBB ccc", "良い 悪い", "良い\n悪い",
    "良い\t悪い", "良い　悪い", " 良い ", "素晴らしい。でも、高い。",
]

PARTICLES = ["は", "が", "を", "に", "で", "と", "も", "の", "へ", "から", "まで", "より", "や",
             "ね", "よ", "か", "な", "わ", "って", "けど", "のに", "し"]
ENDINGS = ["です", "ます", "でした", "ました", "だ", "だった", "ない", "なかった", "たい",
           "ません", "でしょう", "かも", "らしい", "そう", "よね", "じゃん", "です。", "だ！"]
WORDS = ["良い", "いい", "悪い", "最高", "最悪", "最低", "好き", "嫌い", "大好き", "楽しい",
         "つまらない", "嬉しい", "悲しい", "美味しい", "まずい", "可愛い", "かわいい", "怖い",
         "素晴らしい", "ひどい", "残念", "満足", "不満", "便利", "不便", "感動", "失望", "安い",
         "高い", "早い", "遅い", "丁寧", "雑", "神", "クソ", "ありがとう", "ごめん", "がっかり",
         "映画", "商品", "店", "料理", "サービス", "アプリ", "ゲーム", "天気", "仕事", "電車",
         "友達", "家族", "今日", "明日", "昨日", "私", "彼", "これ", "それ", "あの", "本当",
         "とても", "すごく", "めっちゃ", "全然", "少し", "もう", "また", "二度と", "絶対",
         "行く", "来る", "食べる", "見る", "買う", "使う", "思う", "する", "なる", "ある"]
ODD = ["。", "、", "！", "？", "!", "?", "…", "♡", "♪", "★", "（笑）", "w", "ｗｗｗ", "草",
       "😊", "😭", "😡", "👍", "🎉", "❤️", "#推し活", "@user", "https://example.jp/a",
       "ＡＢＣ", "ABC", "Good", "BAD", "ｱｲｳ", "ｶﾞｷﾞ", "123", "１２３", "2024年", "3.5",
       "Ⅱ", "〜", "ー", "・", "「", "」", "『", "』", "(", ")", "İ", "Σ", "ΑΒΓ", "Ωmega",
       "Ｚｅｎ", "ÀÉÎ", "Straße", "ǅ", "ꙋ", "𝐀𝐁"]
SPACES = [""] * 14 + [" ", "  ", "\u3000", "\n", "\t"]


# Post-shaped sentences, like the demo's synthetic Japanese posts: opener, subject, phrase,
# sometimes a contrast, an ending, emoji and hashtags.
OPENERS = ["", "", "正直、", "うーん、", "速報：", "やっぱり", "ねえ、", "【悲報】", "【朗報】"]
SUBJECTS = ["新しいスマホ", "このコーヒー", "今日の電車", "うちのチーム", "今回のアップデート",
            "このアルバム", "コンサート", "あの店のラーメン", "新作の映画", "このアプリ",
            "駅前のカフェ", "週末の天気", "上司", "推し", "配送", "サポートの対応"]
PHRASES = ["は最高です", "がとても好き", "はすごく良い", "のおかげで幸せな一日", "は最悪です",
           "がまた壊れた", "は時間の無駄だった", "にはがっかり", "は明日届きます",
           "は机の上にあります", "が今日発表されました", "が神すぎる", "はまあまあ",
           "が遅すぎてイライラ", "に感動しました", "は二度と使わない", "が楽しみ", "が高すぎる",
           "は思ったより普通", "がかわいすぎる", "で泣いた", "はおすすめです"]
TAGS = ["", "", "#テック", "#音楽", "#旅行", "#ニュース", "#推し活"]


def posts(rng, n):
    texts = []
    for _ in range(n):
        text = rng.choice(OPENERS) + rng.choice(SUBJECTS) + rng.choice(PHRASES)
        if rng.random() < 0.3:
            text += rng.choice(["けど", "、でも", "。ただ、"]) + rng.choice(SUBJECTS) + rng.choice(
                PHRASES)
        text += rng.choice(["", "。", "！", "！！", "…", "ｗ", "ｗｗｗ", "（笑）"])
        if rng.random() < 0.6:
            text += " " + rng.choice(["😀", "😍", "🎉", "👍", "✨", "❤️", "😡", "😞", "👎", "💔",
                                      "😤", "🤔", "📦"])
        tag = rng.choice(TAGS)
        texts.append(text + (" " + tag if tag else ""))
    return texts


def generate(rng, unigrams):
    pools = [PARTICLES, ENDINGS, WORDS, ODD, unigrams]
    weights = [20, 10, 30, 6, 30]
    texts = []
    for _ in range(GENERATED):
        length = rng.choice([1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 60])
        text = ""
        for _ in range(length):
            pool = rng.choices(pools, weights)[0]
            word = rng.choice(pool)
            if rng.random() < 0.05:
                word = word.upper()
            text += rng.choice(SPACES) + word
        texts.append(text)
    # A few long texts: janome splits those at punctuation past 500 characters.
    for _ in range(20):
        parts = [rng.choice(WORDS) + rng.choice(PARTICLES) for _ in range(rng.randint(150, 500))]
        texts.append("".join(p + (rng.choice(["。", "、", "！", ""]) if rng.random() < 0.1 else "")
                            for p in parts))
    return texts


def is_japanese(c):
    return "\u3041" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff"


def corpus(model_bytes):
    model = onnx.load_from_string(model_bytes)
    tfidf = attrs(next(n for n in model.graph.node if n.op_type == "TfIdfVectorizer"))
    # Only the model's words in Japanese script (kana, kanji, the long-vowel mark): the corpus
    # is Japanese text, which the transform's language identifier is also measured on.
    unigrams = [w for w in (p.decode() for p in tfidf["pool_strings"][:tfidf["ngram_counts"][1]])
                if all(is_japanese(c) for c in w)]
    rng = random.Random(SEED)
    return SENTENCES + generate(rng, unigrams) + posts(rng, POSTS)


# ---------------------------------------------------------------- output


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=True) + "\n")


def write_all(model_out, golden_out):
    from janome.tokenizer import Tokenizer

    model_bytes = model_path().read_bytes()
    model_out.parent.mkdir(parents=True, exist_ok=True)
    model_out.write_bytes(export(onnx.load_from_string(model_bytes)))
    reference = sonar(onnx.load_from_string(model_bytes))
    janome = Tokenizer(wakati=True)
    texts = corpus(model_bytes)
    rows = []
    for text in texts:
        answer = reference.ping(text)
        proba = {c["class_name"]: c["confidence"] for c in answer["classes"]}
        rows.append({"text": text, "label": answer["top_class"],
                     "positive": round(float(proba["positive"]), 6),
                     "tokens": list(janome.tokenize(text))})
    write_jsonl(golden_out / "corpus.jsonl", texts)
    write_jsonl(golden_out / "golden.jsonl", rows)
    return len(texts)


def content(path):
    """A file's bytes, inflated for the model export: zlib's output may differ between zlib
    builds while the data is the same."""
    data = path.read_bytes()
    return zlib.decompress(data) if path.suffix == ".deflate" else data


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="regenerate into a temp dir and fail if the committed files differ")
    args = parser.parse_args()
    if not args.check:
        n = write_all(MODEL_OUT, GOLDEN_OUT)
        print(f"ja: wrote {MODEL_OUT} and {n} texts to {GOLDEN_OUT}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_all(tmp / "asari.bin.deflate", tmp / "golden")
        pairs = [(tmp / "asari.bin.deflate", MODEL_OUT)] + [
            (tmp / "golden" / name, GOLDEN_OUT / name) for name in ("corpus.jsonl", "golden.jsonl")]
        stale = [str(committed) for fresh, committed in pairs
                 if not committed.exists() or content(fresh) != content(committed)]
    if stale:
        print("ja: stale, rerun reference/ja.py: " + ", ".join(stale), file=sys.stderr)
        return 1
    print("ja: the committed model export and golden files match the reference")
    return 0


if __name__ == "__main__":
    sys.exit(main())
