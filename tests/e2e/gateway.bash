# gateway.bash - what the gateway's end-to-end scripts share (after
# common.bash): a request's status as curl wrote it to $TMP/NAME.status,
# and what the test upstream recorded in $REC.

# expect_status NAME WANT DESCRIPTION
expect_status() {
	got=$(cat "$TMP/$1.status")
	if [ "$got" = "$2" ]; then pass; else
		fail "$3: status $got, want $2"; head -c 400 "$TMP/$1.body" >&2; echo >&2
	fi
}

# seen: how many requests the upstream has recorded.
seen() { wc -l <"$REC"; }

# expect_unseen BEFORE DESCRIPTION: the upstream got nothing since BEFORE
expect_unseen() {
	if [ "$(seen)" -eq "$1" ]; then pass; else fail "$2: reached the upstream"; fi
}
