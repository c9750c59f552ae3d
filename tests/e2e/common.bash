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

# free_port: a loopback TCP port nothing listens on now.
free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# log_entries LOGDIR: every entry of a Palisade log, one a line.
log_entries() {
	local n i
	n=$("$PALISADE" log verify "$1" --json 2>/dev/null |
		$PY -c 'import json,sys; print(json.load(sys.stdin)["size"])')
	for ((i = 0; i < n; i++)); do
		"$PALISADE" log get "$1" --index "$i"
	done
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}
