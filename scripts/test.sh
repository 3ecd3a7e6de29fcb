#!/usr/bin/env bash
# The one test command for tuntcp (CI's .ci/run calls it).
#
# Runs as root on a fresh Debian/Ubuntu machine with Rust installed:
#   1. installs the tools the live tests drive (netcat, tshark, ping, ...)
#      when they are missing,
#   2. checks formatting and lints,
#   3. runs every test in release mode (the simulation and live tests push
#      megabytes through the stack; debug builds make them crawl).
#
# Usage: scripts/test.sh            everything
#        scripts/test.sh --install  only install the missing tools
set -euo pipefail

cd "$(dirname "$0")/.."

# shellcheck source=scripts/tools.sh
. scripts/tools.sh

fail() {
    echo "scripts/test.sh: FAILED: $*" >&2
    exit 1
}

install_missing_tools() {
    local missing
    mapfile -t missing < <(missing_packages "${!PACKAGE_FOR[@]}")
    # scapy is a Python module, not a command; ask dpkg, since `python3` on
    # PATH may be a different interpreter (pyenv) than Debian's.
    dpkg -s python3-scapy >/dev/null 2>&1 || missing+=(python3-scapy)
    if [ "${#missing[@]}" -eq 0 ]; then
        echo "== test tools: all present"
        return
    fi
    install_packages "${missing[@]}" || fail "could not install ${missing[*]}"
}

# rustup's minimal profile has neither rustfmt nor clippy.
ensure_rust_components() {
    cargo fmt --version >/dev/null 2>&1 || add_rust_component rustfmt
    cargo clippy --version >/dev/null 2>&1 || add_rust_component clippy
}

add_rust_component() {
    command -v rustup >/dev/null || fail "$1 is missing and rustup is not there to add it"
    echo "== adding rust component $1"
    rustup component add "$1"
}

main() {
    install_missing_tools
    if [ "${1:-}" = "--install" ]; then
        return
    fi
    [ "$(id -u)" -eq 0 ] || fail "the live tests create TUN devices in network namespaces and need root: run with sudo"
    # shellcheck source=scripts/find-cargo.sh
    . scripts/find-cargo.sh
    ensure_tun_device || fail "no TUN device"
    ensure_rust_components

    echo "== cargo fmt --check"
    cargo fmt --all -- --check || fail "code is not formatted: run 'cargo fmt'"

    # --all-features: the `tokio` feature's async API, its example and its
    # live tests are linted and run too.
    echo "== cargo clippy --all-targets --all-features -- -D warnings"
    cargo clippy --all-targets --all-features -- -D warnings || fail "clippy found problems"
    echo "== cargo clippy --all-targets -- -D warnings (without features)"
    cargo clippy --all-targets -- -D warnings || fail "clippy found problems without features"

    echo "== cargo test --release --all-features --no-fail-fast"
    cargo test --release --all-features --no-fail-fast || fail "tests failed"

    # The fuzz seeds and regressions again with overflow checks and debug
    # assertions on, as the fuzzer runs them: an arithmetic overflow the
    # fuzzer once found wraps silently in the release build above.
    echo "== cargo test --all-features --test fuzz_corpus (debug: overflow checks)"
    cargo test --all-features --test fuzz_corpus || fail "a fuzz seed or regression fails with overflow checks"

    # A short coverage-guided fuzzing run when asked (FUZZ_SECONDS per
    # target): building libFuzzer and the instrumented stack costs minutes
    # of CPU, so by default CI only replays the seeds and regressions
    # (tests/fuzz_corpus.rs, part of cargo test above).
    if [ -n "${FUZZ_SECONDS:-}" ]; then
        echo "== scripts/fuzz.sh all $FUZZ_SECONDS"
        scripts/fuzz.sh all "$FUZZ_SECONDS" || fail "the fuzzer found a crash or a hang"
    fi

    # The FreeBSD TCP test suite, when ../shared/conformance is there (it
    # is not part of the project; the script says so when it skips).
    echo "== scripts/conformance.sh"
    scripts/conformance.sh || fail "a FreeBSD suite script that passed before fails now"

    echo "== all checks passed"
}

main "$@"
