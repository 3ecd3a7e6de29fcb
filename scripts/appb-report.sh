#!/usr/bin/env bash
# RFC 9293 Appendix B, requirement by requirement: which test covers it
# (a test whose name carries the id, e.g. must_24_keepalive_off_by_default
# or ..._must_6_must_64), which do not apply to this stack and why, and
# which are missing. Reads tests/conformance/appendix-b.tsv (the table's
# ids and words) and tests/conformance/appendix-b-not-applicable.tsv, and
# scans the test functions under src/ and tests/.
#
# Usage: scripts/appb-report.sh [--markdown] [--check]
#   --check: exit 1 if a MUST that applies has no test.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "$@" <<'PY'
import glob, re, sys

markdown = "--markdown" in sys.argv
check = "--check" in sys.argv

def table(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        rows.append(line.rstrip("\n").split("\t"))
    return rows

requirements = table("tests/conformance/appendix-b.tsv")
not_applicable = {row[0]: row[1] for row in table("tests/conformance/appendix-b-not-applicable.tsv")}

# Every test function, and the ids its name carries.
covered = {}
test_fn = re.compile(r"#\[test\]\s*(?:#\[[^\]]*\]\s*)*fn\s+(\w+)")
for path in glob.glob("src/**/*.rs", recursive=True) + glob.glob("tests/**/*.rs", recursive=True):
    text = open(path, encoding="utf-8").read()
    for name in test_fn.findall(text):
        for kind, number in re.findall(r"(must|shld|may|rec)_(\d+)", name):
            covered.setdefault(f"{kind.upper()}-{number}", []).append(name)

counts = {"covered": 0, "not applicable": 0, "missing": 0}
missing_musts = []
lines = []
for rid, level, group, feature in requirements:
    if rid in covered:
        status, detail = "covered", ", ".join(sorted(set(covered[rid]))[:3])
    elif rid in not_applicable:
        status, detail = "not applicable", not_applicable[rid]
    else:
        status, detail = "missing", ""
        if rid.startswith("MUST"):
            missing_musts.append(rid)
    counts[status] += 1
    lines.append((rid, level, feature, status, detail))

if markdown:
    print("| id | level | feature | status | test or reason |")
    print("|---|---|---|---|---|")
    for line in lines:
        print("| " + " | ".join(line) + " |")
else:
    for rid, level, feature, status, detail in lines:
        print(f"{rid:<8} {level:<10} {status:<15} {feature[:50]:<50} {detail}")
total = len(lines)
print(f"\n{total} requirements: {counts['covered']} covered by a named test, "
      f"{counts['not applicable']} not applicable, {counts['missing']} missing "
      f"({len(missing_musts)} of them MUSTs: {' '.join(missing_musts) or 'none'})")
if check and missing_musts:
    sys.exit(1)
PY
