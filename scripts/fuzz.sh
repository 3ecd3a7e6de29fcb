#!/usr/bin/env bash
# Coverage-guided fuzzing of tuntcp with libFuzzer, on stable Rust.
#
# The targets are in fuzz/ (a crate of its own, outside the main build):
#   wire        any bytes into the wire parsers
#   packet      any bytes as one packet into a stack with a listener and a
#               live connection, on virtual time
#   connection  the bytes cut into segments for one established connection
#
# No cargo-fuzz and no nightly: the libfuzzer-sys crate builds libFuzzer
# from source (it needs g++), and rustc's stable -Cpasses=sancov-module
# flags add the coverage instrumentation (what cargo-fuzz passes without
# a sanitizer). Each run starts from the seeds in fuzz/seeds/TARGET (from
# captures/*.pcap) and keeps what it finds in fuzz/runs/TARGET/corpus.
#
# Usage: scripts/fuzz.sh [TARGET|all] [SECONDS]     time-bounded (default all, 60 s each)
#        scripts/fuzz.sh TARGET --runs N            N executions (e.g. 10000000)
#        scripts/fuzz.sh --build                    build only
# Prints for each target the executions done, executions per second,
# crashes and hangs (an input running past 10 s), and exits 1 if there
# was a crash or a hang: the input is in fuzz/runs/TARGET/artifacts/;
# replay it with that target's binary, fix, and copy it to
# fuzz/regressions/TARGET/ (tests/fuzz_corpus.rs replays those as a test).
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools.sh
. scripts/tools.sh
# shellcheck source=scripts/find-cargo.sh
. scripts/find-cargo.sh

TARGETS=(wire packet connection)
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
BIN_DIR="fuzz/target/$TRIPLE/release"

build() {
    command -v c++ >/dev/null 2>&1 || install_packages g++
    # --target keeps the instrumentation off build scripts and proc macros.
    RUSTFLAGS="-Cpasses=sancov-module \
        -Cllvm-args=-sanitizer-coverage-level=4 \
        -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
        -Cllvm-args=-sanitizer-coverage-pc-table \
        -Cllvm-args=-sanitizer-coverage-trace-compares \
        --cfg fuzzing" \
        cargo build --release --manifest-path fuzz/Cargo.toml --target "$TRIPLE" --bins
}

max_len() {
    case "$1" in
        connection) echo 16384 ;;
        *) echo 1600 ;;
    esac
}

# fuzz TARGET LIMIT_FLAG: one libFuzzer run, then its summary line.
fuzz() {
    local target=$1 limit=$2 run="fuzz/runs/$1"
    mkdir -p "$run/corpus" "$run/artifacts"
    local log="$run/log" started ended status=0
    started=$(date +%s)
    "$BIN_DIR/$target" "$run/corpus" "fuzz/seeds/$target" \
        "$limit" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$target")" \
        -artifact_prefix="$run/artifacts/" -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    ended=$(date +%s)
    local execs crashes hangs seconds
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ -z "$execs" ]; then
        # A crash ends libFuzzer before its final stats: take the last status line.
        execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
    fi
    crashes=$(find "$run/artifacts" -newer "$run/corpus" \( -name 'crash-*' -o -name 'oom-*' \) | wc -l)
    hangs=$(find "$run/artifacts" -newer "$run/corpus" -name 'timeout-*' | wc -l)
    seconds=$((ended - started))
    printf '%-11s executions %s (%s/s over %s s), crashes %s, hangs %s\n' \
        "$target" "${execs:-0}" "$(( ${execs:-0} / (seconds > 0 ? seconds : 1) ))" \
        "$seconds" "$crashes" "$hangs"
    if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ] || [ "$hangs" -ne 0 ]; then
        grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$log" | head -20 >&2
        return 1
    fi
}

main() {
    local which=${1:-all} limit="-max_total_time=${2:-60}"
    if [ "$which" = "--build" ]; then
        build
        return
    fi
    if [ "${2:-}" = "--runs" ]; then
        limit="-runs=${3:?--runs needs a count}"
    fi
    local targets=("$which")
    [ "$which" = "all" ] && targets=("${TARGETS[@]}")
    build >&2
    local failed=0
    for target in "${targets[@]}"; do
        [ -d "fuzz/seeds/$target" ] || { echo "no target $target (one of ${TARGETS[*]})" >&2; exit 2; }
        # Marks the run's start, so only this run's artifacts are counted.
        touch "fuzz/runs/$target/corpus" 2>/dev/null || mkdir -p "fuzz/runs/$target/corpus"
        fuzz "$target" "$limit" || failed=1
    done
    return "$failed"
}

main "$@"
