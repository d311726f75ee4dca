#!/usr/bin/env python3
"""Measures the Python reference's throughput (texts/s, one thread) on JSON Lines files.

    /tmp/vader-venv/bin/python crates/lexicon/reference/bench.py [--texts PATH]

Always measures tests/data/corpus.jsonl; --texts adds another file of JSON strings, one a
line. Each file is scored repeatedly until at least one second has passed, mirroring
benches/vader.rs so the two can be printed side by side. Texts are first cut to the Rust
analyzer's default cap (5,000 UTF-8 bytes on a char boundary) so both do the same work.
"""

import argparse
import json
import time
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "corpus.jsonl"


MAX_BYTES = 5_000


def truncate(text, max_bytes=MAX_BYTES):
    """The longest prefix of at most max_bytes UTF-8 bytes that ends on a char boundary."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


def read_texts(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").split("\n") if line]


def measure(analyzer, name, texts):
    analyzer.polarity_scores(texts[0])  # warm-up
    n, start = 0, time.perf_counter()
    while True:
        for t in texts:
            analyzer.polarity_scores(t)
        n += len(texts)
        elapsed = time.perf_counter() - start
        if elapsed >= 1.0:
            break
    mb = sum(len(t.encode("utf-8")) for t in texts) * (n / len(texts)) / elapsed / 1e6
    print(f"python vaderSentiment 3.3.2  {name:<28} {len(texts):>6} texts  "
          f"{n / elapsed:>12,.0f} texts/s  {mb:8.2f} MB/s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", help="JSON Lines file of strings")
    args = parser.parse_args()
    analyzer = SentimentIntensityAnalyzer()
    files = [("corpus.jsonl", CORPUS)]
    if args.texts:
        files.append((Path(args.texts).name, Path(args.texts)))
    for name, path in files:
        texts = [truncate(t) for t in read_texts(path)]
        measure(analyzer, name, texts)
        tweets = [t for t in texts if 100 <= len(t.encode("utf-8")) <= 280]
        if tweets:
            measure(analyzer, name + " (100-280 B)", tweets)


if __name__ == "__main__":
    main()
