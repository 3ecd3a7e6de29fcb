#!/usr/bin/env bash
# The FreeBSD TCP test suite (../shared/conformance/freebsd-tcp-testsuite,
# BSD 2-clause, not part of this project and not copied into it) run with
# `tuntcp packetdrill` against both engines, compared with the results
# committed in tests/conformance/freebsd-expected.tsv: a script that passed
# there and does not now is a regression and fails the run. Prints the
# counts per group for both engines, then every script our engine fails,
# each with why (tests/conformance/freebsd-notes.tsv: where FreeBSD follows
# its own constants or departs from the RFCs, with the RFC section).
#
# Usage: scripts/conformance.sh [--update] [--report FILE]
#   --update: write the current results as the expected ones
#   --report FILE: also write the report as Markdown
set -euo pipefail
cd "$(dirname "$0")/.."
suite=../shared/conformance/freebsd-tcp-testsuite
if [ ! -d "$suite" ]; then
    echo "== conformance: SKIPPED: $suite is not here (it is not part of the project); nothing was compared"
    exit 0
fi
# shellcheck source=scripts/find-cargo.sh
. scripts/find-cargo.sh
cargo build --release --quiet
ours=$(mktemp) smol=$(mktemp)
trap 'rm -f "$ours" "$smol"' EXIT
target/release/tuntcp packetdrill --report "$ours" "$suite" >/dev/null || true
target/release/tuntcp packetdrill --stack smoltcp --report "$smol" "$suite" >/dev/null || true
exec python3 - "$ours" "$smol" "$suite" "$@" <<'PY'
import fnmatch, sys

ours_file, smol_file, suite = sys.argv[1:4]
args = sys.argv[4:]
update = "--update" in args
report = args[args.index("--report") + 1] if "--report" in args else None
expected_file = "tests/conformance/freebsd-expected.tsv"
notes_file = "tests/conformance/freebsd-notes.tsv"

def results(path):
    out = {}
    for line in open(path, encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        status, script, *detail = line.rstrip("\n").split("\t")
        script = script.split("freebsd-tcp-testsuite/", 1)[-1]
        out[script] = (status, detail[0] if detail else "")
    return out

ours, smol = results(ours_file), results(smol_file)
if update:
    with open(expected_file, "w", encoding="utf-8") as f:
        f.write("# tuntcp packetdrill on the FreeBSD suite: status, script (scripts/conformance.sh --update)\n")
        for script in sorted(ours):
            f.write(f"{ours[script][0]}\t{script}\n")
    print(f"== conformance: wrote {expected_file}")
expected = {}
for line in open(expected_file, encoding="utf-8"):
    if not line.startswith("#") and line.strip():
        status, script = line.rstrip("\n").split("\t")
        expected[script] = status
notes = []
for line in open(notes_file, encoding="utf-8"):
    if not line.startswith("#") and line.strip():
        pattern, why = line.rstrip("\n").split("\t", 1)
        notes.append((pattern, why))

def group(script):
    return script.split("/", 1)[0]

lines = ["| group | ours pass / fail / skip | smoltcp pass / fail / skip |", "|---|---|---|"]
for g in sorted({group(s) for s in ours}):
    def counts(res):
        c = {"PASS": 0, "FAIL": 0, "SKIP": 0}
        for s, (status, _) in res.items():
            if group(s) == g:
                c[status] += 1
        return f"{c['PASS']} / {c['FAIL']} / {c['SKIP']}"
    lines.append(f"| {g} | {counts(ours)} | {counts(smol)} |")
def total(res, status):
    return sum(1 for st, _ in res.values() if st == status)
lines.append(f"| all | {total(ours,'PASS')} / {total(ours,'FAIL')} / {total(ours,'SKIP')} | "
             f"{total(smol,'PASS')} / {total(smol,'FAIL')} / {total(smol,'SKIP')} |")
lines += ["", "Scripts our engine fails, and why:", ""]
unexplained = []
for script in sorted(s for s, (st, _) in ours.items() if st == "FAIL"):
    why = next((w for p, w in notes if fnmatch.fnmatch(script, p)), None)
    if why is None:
        unexplained.append(script)
        why = "NOT EXPLAINED: " + ours[script][1]
    lines.append(f"- `{script}`: {why}")
regressions = [s for s, st in expected.items() if st == "PASS" and ours.get(s, ("MISSING",))[0] != "PASS"]
improved = [s for s, (st, _) in ours.items() if st == "PASS" and expected.get(s) != "PASS"]
text = "\n".join(lines)
print(text)
if report:
    open(report, "w", encoding="utf-8").write("# FreeBSD TCP test suite\n\n" + text + "\n")
for s in improved:
    print(f"== now passes (run scripts/conformance.sh --update): {s}")
for s in unexplained:
    print(f"== fails without a note in {notes_file}: {s}")
if regressions:
    for s in regressions:
        print(f"== REGRESSION: {s} passed before: {ours.get(s, ('MISSING', ''))}")
    sys.exit(1)
print(f"== conformance: no regression ({total(ours,'PASS')} pass as expected)")
PY
