# common.bash - helpers shared by the end-to-end scripts.  Each script drives
# the built palisade binary ($PALISADE) and ends with "N passed, N failed".
set -u
: "${PALISADE:?PALISADE must name the built binary}"
: "${PAL_SRC:?PAL_SRC must name the source tree}"
TMP=${PAL_TEST_TMP:-/tmp}/e2e.$(basename "$0" .sh).$$
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
PY=/usr/bin/python3
passed=0
failed=0

pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# expect_exit WANT DESCRIPTION -- COMMAND...
expect_exit() {
	want=$1; what=$2; shift 3
	"$@" >"$TMP/out" 2>"$TMP/err"
	got=$?
	if [ "$got" -eq "$want" ]; then
		pass
	else
		fail "$what: exit $got, want $want"
		sed 's/^/    /' "$TMP/out" "$TMP/err" | head -n 20 >&2
	fi
}

# expect_grep PATTERN FILE DESCRIPTION
expect_grep() {
	if grep -q -- "$1" "$2"; then pass; else
		fail "$3: '$1' not in output"; sed 's/^/    /' "$2" | head -n 20 >&2
	fi
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}
