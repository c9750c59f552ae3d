#!/bin/bash
# picklescan_corpus.sh - every file of picklescan's test corpus gets the
# verdict tests/data/picklescan-expected.tsv gives it: every malicious file
# found, every benign one clean, the non-models not called clean.
. "$(dirname "$0")/common.bash"
corpus=$PAL_SRC/tests/data/picklescan
table=$PAL_SRC/tests/data/picklescan-expected.tsv

while IFS=$'\t' read -r file want why; do
	case $file in \#*|"") continue ;; esac
	expect_exit "$want" "$file ($why)" -- "$PALISADE" scan "$corpus/$file"
done <"$table"

# The table covers the whole corpus, and nothing more.
listed=$(grep -v '^#' "$table" | cut -f1 | sort)
present=$(cd "$corpus" && ls data/* data2/* | sort)
if [ "$listed" = "$present" ]; then pass; else
	fail "table and corpus differ: $(diff <(echo "$listed") <(echo "$present") | head -n 5)"
fi

# Scanned as one tree, the corpus is malicious, and every malicious file
# appears in the findings.
expect_exit 1 "whole corpus" -- "$PALISADE" scan --json "$corpus"
for f in $(awk -F'\t' '$2 == 1 { print $1 }' "$table"); do
	expect_grep "\"file\": \"$corpus/$f" "$TMP/out" "finding for $f"
done
finish
