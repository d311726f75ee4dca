#!/usr/bin/env bash
# `make fuzz`: builds every cargo-fuzz target once, runs each for FUZZ_SECONDS (or until
# FUZZ_RUNS executions, whichever comes first) on a working corpus under fuzz/target/corpus/
# seeded from the checked-in fuzz/corpus/ and fuzz/regressions/, then prints one line per
# target: executions (libFuzzer's final stat::number_of_executed_units), the working corpus
# (units and bytes), and the crashes found (new files under fuzz/artifacts/<target>/).
# Exits 1 if any target crashed. Arguments name the targets to run (default: all).
set -uo pipefail
cd "$(dirname "$0")"

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_RUNS=${FUZZ_RUNS:-}
# The fuzz build: libFuzzer with AddressSanitizer (cargo-fuzz's default), debug assertions
# and overflow checks on, so a wrong size or an overflow is a crash, as in a debug build.
FUZZ_SANITIZER=${FUZZ_SANITIZER:-address}
FUZZ_MAX_LEN=${FUZZ_MAX_LEN:-8192}
# The CPU is shared: fuzz at the lowest priority.
NICE=${NICE:-nice -n 19}

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "make fuzz: no nightly Rust toolchain (cargo-fuzz needs one: 'rustup toolchain install nightly')." >&2
    echo "           'make test' does not need it: it replays the corpus on stable." >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "make fuzz: cargo-fuzz is not on PATH; 'make fuzz-tools' installs the pinned one into .tools/." >&2
    exit 2
fi

flags=(-a -s "$FUZZ_SANITIZER")
if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

echo "== building ${#targets[@]} targets (cargo +nightly fuzz build ${flags[*]})"
$NICE cargo +nightly fuzz build "${flags[@]}" || exit 1

report=${FUZZ_REPORT:-target/fuzz-report.txt}
mkdir -p target
: >"$report"
limit=(-max_total_time="$FUZZ_SECONDS")
[ -n "$FUZZ_RUNS" ] && limit+=(-runs="$FUZZ_RUNS")
crashed=0
total=0
for t in "${targets[@]}"; do
    work=target/corpus/$t
    mkdir -p "$work" "artifacts/$t"
    seeds=(corpus/"$t")
    [ -d regressions/"$t" ] && seeds+=(regressions/"$t")
    before=$(find "artifacts/$t" -type f ! -name 'slow-unit-*' | wc -l)
    log=target/fuzz-$t.log
    echo "== $t: ${limit[*]} (log: fuzz/$log)"
    $NICE cargo +nightly fuzz run "${flags[@]}" "$t" "$work" "${seeds[@]}" -- \
        "${limit[@]}" -max_len="$FUZZ_MAX_LEN" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1
    rc=$?
    after=$(find "artifacts/$t" -type f ! -name 'slow-unit-*' | wc -l)
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
    [ -z "$execs" ] && execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
    execs=${execs:-0}
    units=$(find "$work" -type f | wc -l)
    bytes=$(find "$work" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
    crashes=$((after - before))
    if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes="rc=$rc"; fi
    [ "$crashes" != 0 ] && crashed=1
    total=$((total + execs))
    printf '%-16s %14s %8s %10s %8s\n' "$t" "$execs" "$units" "$bytes" "$crashes" >>"$report"
    if [ "$crashes" != 0 ]; then
        echo "   $t: crashed, see fuzz/$log and fuzz/artifacts/$t/" >&2
        grep -m3 -E 'panicked at|ERROR: (libFuzzer|AddressSanitizer)' "$log" >&2
    fi
done

echo
printf '%-16s %14s %8s %10s %8s\n' target executions corpus bytes crashes
cat "$report"
printf '%-16s %14s\n' total "$total"
exit "$crashed"
