#!/usr/bin/env python3
"""The layout's "never"s, checked on the crate graph (`cargo metadata`, every feature on).

Each rule names a workspace crate and the packages it must never reach through its normal
dependencies, directly or not. Dev-dependencies do not count: tests may use anything. A rule
that names a crate the workspace no longer has fails too, so the list cannot go stale.
"""
import json
import re
import subprocess
import sys

AWS = re.compile(r"^aws-(sdk|config)")
RULES = {
    "ks-kernel": ["ks-*", AWS, "lambda_runtime", "reqwest"],
    "ks-transform": ["ks-producer", AWS, "lambda_runtime", "reqwest"],
    "ks-producer": ["ks-transform", AWS, "lambda_runtime", "reqwest"],
    "ks-lexicon": [AWS, "ks-producer"],
    "ks-adapters": ["lambda_runtime", "clap"],
    "ks-firehose-local": ["clap", "indicatif", "lambda_runtime"],
    "ks-backfill": ["clap", "indicatif", "ks-firehose-local", "lambda_runtime"],
    "firehose-transform": ["ks-producer"],
    "stream-producer": ["ks-transform"],
}
# No shipped crate links the test kit: it is a dev-dependency only.
TESTKIT = "ks-testkit"


def matches(rule, name):
    if isinstance(rule, re.Pattern):
        return bool(rule.search(name))
    if rule.endswith("*"):
        return name.startswith(rule[:-1])
    return name == rule


def reach(crate):
    """Every package `crate` links, through normal and build dependencies, with the features
    that crate itself turns on (as `cargo build -p crate` resolves them)."""
    out = subprocess.run(
        ["cargo", "tree", "-q", "-p", crate, "-e", "normal,build", "--prefix", "none",
         "--format", "{p}", "--no-dedupe"],
        check=True, capture_output=True, text=True,
    ).stdout
    names = {line.split()[0] for line in out.splitlines() if line.strip()}
    names.discard(crate)
    return names


def main():
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--no-deps"],
            check=True, capture_output=True, text=True,
        ).stdout
    )
    members = {p["name"] for p in meta["packages"]}
    failures = []
    for crate in sorted(members):
        reached = reach(crate)
        if crate != TESTKIT and TESTKIT in reached:
            failures.append(f"{crate} links {TESTKIT}, which is a dev-dependency only")
        for rule in RULES.get(crate, []):
            bad = sorted(n for n in reached if matches(rule, n))
            if bad:
                failures.append(
                    f"{crate} must never depend on {getattr(rule, 'pattern', rule)}: reaches {bad}"
                )
    failures += [f"{c}: no such workspace crate (update .ci/layout.py)" for c in RULES if c not in members]
    for f in failures:
        print(f"layout: {f}", file=sys.stderr)
    if failures:
        sys.exit(1)
    print(f"layout: the rules of {len(RULES)} crates hold, and no crate links {TESTKIT}")


if __name__ == "__main__":
    main()
