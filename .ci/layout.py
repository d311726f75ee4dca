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
# The packages built alone (`cargo build -p`, and `cargo run -p` under `cargo lambda watch`):
# each must resolve every third-party crate with the features `cargo test --workspace` gives it,
# or the AWS SDK is compiled once per feature set (see crates/workspace-hack/Cargo.toml).
BUILT_ALONE = ["kinesis-sentiment", "ks-testkit", "stream-producer", "firehose-transform"]


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
    failures += one_feature_set()
    failures += [f"{c}: no such workspace crate (update .ci/layout.py)" for c in RULES if c not in members]
    for f in failures:
        print(f"layout: {f}", file=sys.stderr)
    if failures:
        sys.exit(1)
    print(
        f"layout: the rules of {len(RULES)} crates hold, no crate links {TESTKIT}, and "
        f"{len(BUILT_ALONE)} packages built alone share the tests' feature set"
    )


if __name__ == "__main__":
    main()
