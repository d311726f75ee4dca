#!/usr/bin/env python3
"""The layout's "never"s, checked on the crate graph (`cargo metadata`, every feature on).

Each rule names a workspace crate and the packages it must never reach through its normal
dependencies, directly or not: built alone (`cargo build -p`) AND in a workspace build
(`cargo build --workspace`, `cargo lambda build`), where cargo unifies every member's features,
so a "never" that held only through a feature list would fail here. Dev-dependencies do not
count: tests may use anything. A rule that names a crate the workspace no longer has fails too,
so the list cannot go stale.
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
    "ks-aws": ["ks-producer", "ks-transform", "lambda_runtime", "clap"],
    "ks-lambda": ["ks-*", AWS, "reqwest"],
    "ks-sources": ["ks-transform", "lambda_runtime", "clap"],
    "ks-sentiment": ["ks-producer", "lambda_runtime", "clap"],
    "ks-firehose-local": ["clap", "indicatif", "lambda_runtime"],
    "ks-backfill": ["clap", "indicatif", "ks-firehose-local", "lambda_runtime"],
    "ks-parquet": ["ks-*", AWS, "lambda_runtime"],
    "ks-s3": ["ks-producer", "ks-transform", "lambda_runtime"],
    "ks-purge": ["ks-producer", "ks-transform", "ks-firehose-local", AWS, "lambda_runtime"],
    "deletion-purge": ["ks-producer", "ks-transform", "ks-firehose-local"],
    "firehose-transform": ["ks-producer"],
    "stream-producer": ["ks-transform"],
}
# No shipped crate links the test kit: it is a dev-dependency only.
TESTKIT = "ks-testkit"
# The packages built alone (`cargo build -p`, and `cargo run -p` under `cargo lambda watch`):
# each must resolve every third-party crate with the features `cargo test --workspace` gives it,
# or the AWS SDK is compiled once per feature set (see crates/workspace-hack/Cargo.toml).
BUILT_ALONE = ["kinesis-sentiment", "ks-testkit", "stream-producer", "firehose-transform", "deletion-purge"]


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


def reach_in_workspace_build():
    """{member: every package it links} with the features a workspace build unifies."""
    out = subprocess.run(
        ["cargo", "tree", "-q", "--workspace", "-e", "normal,build", "--prefix", "depth",
         "--format", "{p}", "--no-dedupe"],
        check=True, capture_output=True, text=True,
    ).stdout
    reached, root = {}, None
    for line in out.splitlines():
        depth = len(line) - len(line.lstrip("0123456789"))
        if not depth or not line.strip():
            continue
        level, name = int(line[:depth]), line[depth:].split()[0]
        if level == 0:
            root = name
            reached.setdefault(root, set())
        elif root is not None:
            reached[root].add(name)
    return reached


def features(args):
    """{package: its features} for the third-party packages of one resolution."""
    out = subprocess.run(
        ["cargo", "tree", "-q", *args, "--prefix", "none", "--format", "{p}|{f}", "--no-dedupe"],
        check=True, capture_output=True, text=True,
    ).stdout
    found = {}
    for line in out.splitlines():
        pkg, _, feats = line.partition("|")
        pkg = pkg.replace(" (proc-macro)", "").strip()
        if line.strip() and "(/" not in pkg:
            found[pkg] = feats.replace(" (*)", "").strip()
    return found


def one_feature_set():
    """Every package built alone resolves each shared crate as the workspace test build does."""
    tests = features(["--workspace", "-e", "normal,build,dev"])
    failures = []
    for crate in BUILT_ALONE:
        alone = features(["-p", crate, "-e", "normal,build"])
        for pkg, feats in sorted(alone.items()):
            if tests.get(pkg, feats) != feats:
                failures.append(
                    f"{crate} built alone gives {pkg} the features [{feats}], the workspace's tests "
                    f"[{tests[pkg]}]: add the difference to crates/workspace-hack/Cargo.toml"
                )
    return failures


def main():
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--no-deps"],
            check=True, capture_output=True, text=True,
        ).stdout
    )
    members = {p["name"] for p in meta["packages"]}
    failures = []
    unified = reach_in_workspace_build()
    for crate in sorted(members):
        reached = reach(crate) | unified.get(crate, set())
        if crate != TESTKIT and TESTKIT in reached:
            failures.append(f"{crate} links {TESTKIT}, which is a dev-dependency only")
        for rule in RULES.get(crate, []):
            bad = sorted(n for n in reached if matches(rule, n))
            if bad:
                failures.append(
                    f"{crate} must never depend on {getattr(rule, 'pattern', rule)}: reaches {bad}"
                )
    failures += one_feature_set()
    failures += [f"{c}: no such workspace crate (update .ci/layout.py)" for c in RULES if c not in members]
    for f in failures:
        print(f"layout: {f}", file=sys.stderr)
    if failures:
        sys.exit(1)
    print(
        f"layout: the rules of {len(RULES)} crates hold alone and in a workspace build, no crate "
        f"links {TESTKIT}, and "
        f"{len(BUILT_ALONE)} packages built alone share the tests' feature set"
    )


if __name__ == "__main__":
    main()
