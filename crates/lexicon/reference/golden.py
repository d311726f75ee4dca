#!/usr/bin/env python3
"""Regenerates tests/data/golden.jsonl from the Python reference, vaderSentiment 3.3.2.

One JSON object per corpus line: {"text", "neg", "neu", "pos", "compound"}, the unmodified
output of SentimentIntensityAnalyzer.polarity_scores on the full text (no length cap).

    python3.11 -m venv /tmp/vader-venv
    /tmp/vader-venv/bin/pip install -r crates/lexicon/reference/requirements.txt
    /tmp/vader-venv/bin/python crates/lexicon/reference/golden.py
"""

import json
import sys
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def read_texts(path):
    # Split on "\n" only: the strings are JSON-escaped, so no line holds a raw newline.
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def main():
    if sys.version_info[:2] != (3, 11):
        print("warning: golden files are made with Python 3.11 (float sum() changed in 3.12)",
              file=sys.stderr)
    analyzer = SentimentIntensityAnalyzer()
    texts = read_texts(DATA / "corpus.jsonl")
    out = DATA / "golden.jsonl"
    with out.open("w", encoding="utf-8", newline="\n") as f:
        for text in texts:
            s = analyzer.polarity_scores(text)
            row = {"text": text, "neg": s["neg"], "neu": s["neu"], "pos": s["pos"],
                   "compound": s["compound"]}
            f.write(json.dumps(row) + "\n")
    print(f"wrote {len(texts)} rows to {out}")


if __name__ == "__main__":
    main()
