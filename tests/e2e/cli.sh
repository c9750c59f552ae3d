#!/bin/bash
# cli.sh - the scan command's interface: usage errors, exit codes, the
# three report formats, policy files, symlinks.
. "$(dirname "$0")/common.bash"
data=$PAL_SRC/tests/data/picklescan/data

expect_exit 2 "no command" -- "$PALISADE"
expect_exit 2 "unknown command" -- "$PALISADE" frobnicate
expect_exit 0 "help" -- "$PALISADE" --help
expect_grep "scan" "$TMP/out" "help lists scan"
expect_exit 2 "scan without a path" -- "$PALISADE" scan
expect_grep "no PATH given" "$TMP/err" "usage error says why"
expect_exit 2 "scan with an unknown option" -- "$PALISADE" scan --bogus "$data"
expect_exit 0 "scan --help" -- "$PALISADE" scan --help
expect_exit 2 "missing file" -- "$PALISADE" scan "$TMP/nonexistent.pkl"
expect_grep "cannot stat" "$TMP/out" "missing file is named"
expect_exit 2 "missing policy file" -- "$PALISADE" scan --policy "$TMP/none.yaml" "$data/benign0_v4.pkl"

# Clean, malicious, and both: a finding outranks an error.
expect_exit 0 "benign pickle" -- "$PALISADE" scan "$data/benign0_v4.pkl"
expect_exit 1 "malicious pickle" -- "$PALISADE" scan "$data/malicious1_v4.pkl"
expect_exit 1 "finding outranks error" -- "$PALISADE" scan "$data/malicious1_v4.pkl" "$data/bad_pytorch.pt"
expect_exit 2 "error alone" -- "$PALISADE" scan "$data/bad_pytorch.pt"

# Text report: one line per finding with file, location, rule, severity.
expect_exit 1 "text report" -- "$PALISADE" scan "$data/malicious1_v4.pkl"
expect_grep "malicious1_v4.pkl: .*pickle\.[a-z-]* \[critical\]" "$TMP/out" "text finding line"

# JSON and SARIF are valid, and say the same as the exit status.
expect_exit 1 "json report" -- "$PALISADE" scan --json "$data/malicious1_v4.pkl"
cp "$TMP/out" "$TMP/report.json"
expect_exit 0 "json parses" -- $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["exit_code"]==1 and d["findings"], d' "$TMP/report.json"
expect_exit 1 "sarif report" -- "$PALISADE" scan --sarif "$data/malicious1_v4.pkl"
cp "$TMP/out" "$TMP/report.sarif"
expect_exit 0 "sarif parses" -- $PY -c '
import json,sys
d=json.load(open(sys.argv[1]))
assert d["version"]=="2.1.0"
run=d["runs"][0]
ids={r["id"] for r in run["tool"]["driver"]["rules"]}
assert run["results"], "no results"
for r in run["results"]:
    assert r["ruleId"] in ids, r["ruleId"]
    assert r["level"] in ("error","warning","note")
    assert r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
' "$TMP/report.sarif"

# Symlinks are reported, not followed, unless asked.
mkdir -p "$TMP/tree"
ln -s "$data/malicious1_v4.pkl" "$TMP/tree/model.pkl"
expect_exit 0 "symlink not followed" -- "$PALISADE" scan "$TMP/tree"
expect_grep "symbolic link not followed" "$TMP/out" "symlink reported"
expect_exit 1 "symlink followed" -- "$PALISADE" scan --follow-symlinks "$TMP/tree"

# --strict: a file that is not a model is an error.
printf 'just text\n' >"$TMP/tree/README"
rm "$TMP/tree/model.pkl"
expect_exit 0 "text skipped" -- "$PALISADE" scan "$TMP/tree"
expect_exit 2 "text is an error under --strict" -- "$PALISADE" scan --strict "$TMP/tree"

# The unconfined path with leak checking: the whole corpus once more.
expect_exit 1 "no-sandbox corpus" -- "$PALISADE" scan --no-sandbox "$PAL_SRC/tests/data/picklescan"
finish
