#!/bin/bash
# up.sh - palisade up end to end: a model signed with a fresh key and
# sealed in a vault whose token is SoftHSM2, an unseal request approved
# by two approvers, then the whole path in one command: unsealed into
# memfds, verified, scanned, served confined behind the gateway.  The
# key is printed once, a chat request through HTTPS works with it and
# not without it, SIGINT stops everything (no process left), and the log
# holds every up.* entry and verifies; SIGTERM during the start stops it
# too.  Then each failed step stops the start, names the step and
# leaves nothing running: too few approvals, a signature by another key,
# a malicious pickle in the release, a server that exits at once, the
# server dying under the gateway, and a tampered vault file.
#
# The server is examples/tiny-llm's tiny-llm-server when it is built
# beside palisade, else tests/e2e/up_server.py under /usr/bin/python3.
. "$(dirname "$0")/common.bash"
command -v softhsm2-util >/dev/null || { echo "softhsm2 missing"; exit 77; }
command -v curl >/dev/null || { echo "curl missing"; exit 77; }

export PALISADE_PKCS11_PIN=1234 PALISADE_PKCS11_SO_PIN=5678
TMP=$(cd "$TMP" && pwd -P)
V=$TMP/vault
ST=$TMP/state

# ---- keys, model, signature, vault ----
for k in admin alice bob carol rel other; do
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$TMP/$k.pem" 2>/dev/null
	openssl pkey -in "$TMP/$k.pem" -pubout -out "$TMP/$k.pub" 2>/dev/null
done
M=$TMP/model
mkdir -p "$M"
if [ -r "$PAL_SRC/examples/tiny-llm/model.safetensors" ]; then
	cp "$PAL_SRC/examples/tiny-llm/model.safetensors" "$M/"
else
	$PY - "$M/model.safetensors" <<-'PYEOF' || { echo "numpy missing"; exit 77; }
	import json, struct, sys
	import numpy as np
	w = np.arange(4096, dtype=np.float32)
	head = json.dumps({"w": {"dtype": "F32", "shape": [4096],
	                         "data_offsets": [0, w.nbytes]}}).encode()
	head += b" " * (-len(head) % 8)
	with open(sys.argv[1], "wb") as f:
	    f.write(struct.pack("<Q", len(head)) + head + w.tobytes())
	PYEOF
fi
printf '{"model_type": "tiny"}\n' > "$M/config.json"
# A release with a malicious pickle beside the weights, signed all the same.
EVIL=$TMP/evil
cp -a "$M" "$EVIL"
$PY -c 'import os, pickle, sys
class E:
    def __reduce__(self): return (os.system, ("id",))
open(sys.argv[1], "wb").write(pickle.dumps(E(), protocol=2))' "$EVIL/extra.pkl"

"$PALISADE" sign "$M" --key "$TMP/rel.pem" -o "$TMP/model.sig" 2>/dev/null ||
	fail "sign the model"
"$PALISADE" sign "$M" --key "$TMP/other.pem" -o "$TMP/other.sig" 2>/dev/null ||
	fail "sign with the other key"
"$PALISADE" sign "$EVIL" --key "$TMP/rel.pem" -o "$TMP/evil.sig" 2>/dev/null ||
	fail "sign the evil model"
ROOT=$("$PALISADE" hash "$M" --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["root_digest"])' 2>/dev/null)
"$PALISADE" keys init "$V" --admin-key "$TMP/admin.pem" \
	--approver "alice=$TMP/alice.pub" --approver "bob=$TMP/bob.pub" \
	--approver "carol=$TMP/carol.pub" >/dev/null || fail "keys init"
"$PALISADE" seal "$M" --release v1 -o "$V" >/dev/null || fail "seal v1"
# (--json: the report is printed, which a bad pack format once prevented.)
"$PALISADE" seal "$EVIL" --release evil -o "$V" --json >"$TMP/seal.json" ||
	fail "seal evil"
expect_grep '"key_label": "palisade:release:evil"' "$TMP/seal.json" "seal --json"

# approvals RELEASE APPROVER...: a new request, approved by each.
approvals() {
	local rel=$1 a
	shift
	"$PALISADE" request unseal "$V" --release "$rel" --requester dave \
		-o "$TMP/req" >/dev/null || fail "request"
	for a in "$@"; do
		"$PALISADE" approve "$TMP/req" --key "$TMP/$a.pem" --vault "$V" \
			-o "$TMP/req.$a" >/dev/null || fail "approve by $a"
	done
}

# ---- the gateway's state and configuration on free ports ----
PORT=$(free_port); APORT=$(free_port)
while [ "$APORT" = "$PORT" ]; do APORT=$(free_port); done
mkdir -p "$ST"
"$PALISADE" serve key list --state "$ST" >/dev/null || fail "gateway state"
"$PALISADE" serve print-config --state "$ST" --upstream "unix:$ST/model.sock" |
	sed "s/127.0.0.1:8443/127.0.0.1:$PORT/; s/127.0.0.1:8444/127.0.0.1:$APORT/" \
	>"$ST/gateway.yaml"

# ---- the model server ----
SERVER=$(dirname "$PALISADE")/tiny-llm-server
LIBS='  - /usr/lib
  - /lib
  - /lib64/ld-linux-x86-64.so.2
  - /etc/ld.so.cache'
if [ -x "$SERVER" ]; then
	SERVER=$(cd "$(dirname "$SERVER")" && pwd -P)/tiny-llm-server
	COMMAND="[\"$SERVER\", --model, \"{file:model.safetensors}\", --listen-fd, \"{listen_fd}\", --quiet]"
	# A sanitizer build's server reserves terabytes of shadow memory, and
	# its leak check at exit would trace the process: neither is allowed
	# in the sandbox by default.
	cat >"$TMP/server.yaml" <<-EOF
	version: 1
	read_only:
	  - $SERVER
	$LIBS
	env: [ASAN_OPTIONS=detect_leaks=0]
	limits:
	  memory_mib: 1073741824
	network: listen
	EOF
	echo "server: $SERVER"
else
	mkdir -p "$TMP/srv"
	cp "$PAL_SRC/tests/e2e/up_server.py" "$TMP/srv/"
	COMMAND="[/usr/bin/python3, \"$TMP/srv/up_server.py\"]"
	cat >"$TMP/server.yaml" <<-EOF
	version: 1
	read_only:
	  - /usr/bin/python3
	  - $TMP/srv
	$LIBS
	env: [PYTHONDONTWRITEBYTECODE=1]
	network: listen
	EOF
	echo "server: $TMP/srv/up_server.py"
fi

# config FILE RELEASE SIGNATURE [COMMAND [PROFILE_LINE]]
config() {
	cat >"$1" <<-EOF
	version: 1
	model:
	  vault: $V
	  release: $2
	  approvals: [req.alice, req.bob]
	  signature: $3
	  key: rel.pub
	server:
	  command: ${4:-$COMMAND}
	${5-  profile: server.yaml}
	gateway:
	  config: $ST/gateway.yaml
	state: $ST
	EOF
}

# descendants PID: every process under PID, recursively.
descendants() {
	local c
	for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done
}

# none_left PIDS WHAT: none of the PIDS is alive.
none_left() {
	local p alive=
	for p in $1; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
	[ -z "$alive" ] && pass || {
		fail "$2: still running:$alive"; ps -o pid,args -p "${alive# }" >&2
		for p in $alive; do kill -9 "$p" 2>/dev/null; done
	}
}

# stopped_cleanly STATUS OUT SIG WHAT: palisade up, sent SIG by WHAT,
# ended with STATUS 0, said so in OUT, and left nothing: no process of
# PIDS, no socket.
stopped_cleanly() {
	[ "$1" -eq 0 ] && pass || fail "$4: exit $1, want 0"
	expect_grep "stopped ($3)" "$2" "the stop on $4 is said"
	none_left "$PIDS" "after $4"
	[ -e "$ST/model.sock" ] && fail "the socket stays after $4" || pass
}

# up CONFIG: starts palisade up; UP is its PID.  Returns once it printed
# the key (0) or ended (1).
up() {
	"$PALISADE" up --config "$1" >"$TMP/up.out" 2>"$TMP/up.err" &
	UP=$!
	for _ in $(seq 900); do
		grep -q '^key: ' "$TMP/up.out" && return 0
		kill -0 "$UP" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# up_fails CONFIG WANT_EXIT STEP WHY: the start fails at STEP, saying WHY,
# and leaves nothing running.
up_fails() {
	local pids got
	"$PALISADE" up --config "$1" >"$TMP/up.out" 2>"$TMP/up.err" &
	UP=$!
	pids=
	for _ in $(seq 900); do
		kill -0 "$UP" 2>/dev/null || break
		pids="$pids $(descendants "$UP")"
		sleep 0.1
	done
	wait "$UP"
	got=$?
	if [ "$got" -eq "$2" ] && grep -q "palisade up: $3 failed: .*$4" "$TMP/up.err"; then
		pass
	else
		fail "$3: exit $got (want $2), or no '$3 failed: ...$4'"
		sed 's/^/    /' "$TMP/up.err" | head -n 20 >&2
	fi
	[ -s "$TMP/up.out" ] && fail "$3: printed a key for a failed start" || pass
	none_left "$pids" "$3"
	[ -e "$ST/model.sock" ] && fail "$3: the socket stays" || pass
}

# entries: the log's entries, one a line.
entries() { log_entries "$ST/log"; }

# ---- the whole path ----
config "$TMP/up.yaml" v1 model.sig
approvals v1 alice bob
if up "$TMP/up.yaml"; then pass; else
	fail "palisade up did not start"; cat "$TMP/up.err" "$ST/server.log" >&2
fi
URL=$(sed -n 's/^url: //p' "$TMP/up.out")
CA=$(sed -n 's/^ca: //p' "$TMP/up.out")
TOKEN=$(sed -n 's/^key: //p' "$TMP/up.out")
[ "$URL" = "https://127.0.0.1:$PORT" ] && pass || fail "url '$URL'"
[ "$CA" = "$ST/tls/server.pem" ] && pass || fail "ca '$CA'"
[ "$(grep -c '^key: ' "$TMP/up.out")" -eq 1 ] && [ ${#TOKEN} -eq 60 ] &&
	pass || fail "the key is printed once"
for s in unsealed verified scanned "the model server answers" serving; do
	expect_grep "palisade up: $s" "$TMP/up.err" "step '$s' said"
done
PIDS="$UP $(descendants "$UP")"
# The sandbox's launcher has the release's map and not the token's PIN.
launcher=$(for p in $(pgrep -P "$UP"); do
	tr '\0' ' ' <"/proc/$p/cmdline" | grep -q -- '--listen unix:' && echo "$p"
done | head -n 1)
tr '\0' '\n' <"/proc/$launcher/environ" >"$TMP/launcher.env" 2>/dev/null
expect_grep '^PALISADE_UNSEALED={"config.json":"/proc/self/fd/' \
	"$TMP/launcher.env" "the launcher gets PALISADE_UNSEALED"
grep -q '^PALISADE_PKCS11' "$TMP/launcher.env" &&
	fail "the launcher gets the token's PIN" || pass
ask() {	# ask [TOKEN]
	curl -sS --cacert "$CA" -o "$TMP/answer" -w '%{http_code}' \
		${1:+-H "Authorization: Bearer $1"} \
		-H 'Content-Type: application/json' --data-binary \
		'{"model":"tiny","messages":[{"role":"user","content":"Deploying AI systems securely"}],"max_tokens":16,"temperature":0}' \
		"$URL/v1/chat/completions" 2>"$TMP/curl.err"
}
code=$(ask "$TOKEN")
[ "$code" = 200 ] && grep -q '"choices"' "$TMP/answer" && pass ||
	fail "a chat request with the key: HTTP $code $(cat "$TMP/answer" "$TMP/curl.err")"
grep -q system_fingerprint "$TMP/answer" && fail "system_fingerprint not stripped" || pass
code=$(ask)
[ "$code" = 401 ] && pass || fail "a request without a key: HTTP $code"
code=$(ask "${TOKEN%?}x")
[ "$code" = 401 ] && pass || fail "a request with a wrong key: HTTP $code"

kill -INT "$UP"
for _ in $(seq 300); do kill -0 "$UP" 2>/dev/null || break; sleep 0.1; done
wait "$UP"
stopped_cleanly $? "$TMP/up.err" SIGINT SIGINT

entries >"$TMP/entries"
for t in up.unseal up.verify up.scan up.run up.serve up.stop serve.start serve.request serve.stop; do
	expect_grep "\"type\":\"$t\"" "$TMP/entries" "log entry $t"
done
expect_grep '"how":"SIGINT"' "$TMP/entries" "up.stop says SIGINT"
expect_grep "\"subject\":\"sha256:$ROOT\"" "$TMP/entries" \
	"up.verify's digest is the signed model's root ($ROOT)"
expect_grep '"findings":0' "$TMP/entries" "up.scan found nothing"
expect_grep '"approvers":\["alice","bob"\]' "$TMP/entries" "up.unseal names the approvers"
expect_grep '"profile_digest":"sha256:' "$TMP/entries" "up.run has the profile's digest"
grep -q "$TOKEN" "$TMP/entries" "$TMP/up.err" "$ST/server.log" &&
	fail "the key's token is written somewhere" || pass
expect_exit 0 "the log verifies" -- "$PALISADE" log verify "$ST/log"

# The request is used up: the same approvals do not start it again.
up_fails "$TMP/up.yaml" 1 unseal "already used"

# ---- each failed step ----
approvals v1 alice
up_fails "$TMP/up.yaml" 1 unseal "1 of 2"

config "$TMP/other.yaml" v1 other.sig
approvals v1 alice bob
up_fails "$TMP/other.yaml" 1 verify "key"
expect_grep "is not the given key\|names key" "$TMP/up.err" "the signer is named"

config "$TMP/evil.yaml" evil evil.sig
approvals evil alice bob
up_fails "$TMP/evil.yaml" 1 scan "finding"
expect_grep "extra.pkl.*posix.system\|extra.pkl.*os.system" "$TMP/up.err" "the finding is shown"

config "$TMP/false.yaml" v1 model.sig '[/bin/false]' ''
approvals v1 alice bob
up_fails "$TMP/false.yaml" 2 run "exited with status 1"

# SIGTERM while the server starts (it never answers): exit 0, nothing left.
config "$TMP/sleep.yaml" v1 model.sig '[/bin/sleep, "100"]' ''
approvals v1 alice bob
"$PALISADE" up --config "$TMP/sleep.yaml" >"$TMP/up.out" 2>"$TMP/up.err" &
UP=$!
for _ in $(seq 300); do
	grep -q "started the model server" "$TMP/up.err" && break
	sleep 0.1
done
PIDS="$UP $(descendants "$UP")"
kill -TERM "$UP"
wait "$UP"
stopped_cleanly $? "$TMP/up.err" SIGTERM "SIGTERM during the start"

# The server dying under the gateway stops it: exit 2, nothing left.
approvals v1 alice bob
if up "$TMP/up.yaml"; then
	PIDS="$UP $(descendants "$UP")"
	victim=$(for p in $PIDS; do
		[ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$(readlink -f "${SERVER%% *}")" ] && echo "$p"
	done | tail -n 1)
	[ -n "$victim" ] || victim=$(for p in $PIDS; do
		grep -q up_server.py "/proc/$p/cmdline" 2>/dev/null && echo "$p"; done | tail -n 1)
	kill -9 "$victim"
	for _ in $(seq 300); do kill -0 "$UP" 2>/dev/null || break; sleep 0.1; done
	wait "$UP"
	got=$?
	[ "$got" -eq 2 ] && pass || fail "the server killed: exit $got, want 2"
	expect_grep "model server exited with status" "$TMP/up.err" "its death is said"
	none_left "$PIDS" "after the server's death"
else
	fail "palisade up did not start again"; cat "$TMP/up.err" >&2
fi

# Ctrl-C typed on the terminal palisade up runs on, as its foreground
# job: the terminal signals the whole foreground process group, and the
# stop is the same clean one as for SIGINT alone.
approvals v1 alice bob
rm -f "$TMP/ctrl-c"
$PY "$PAL_SRC/tests/e2e/ctrl_c.py" "$TMP/up.tty" "file:$TMP/ctrl-c" -- \
	"$PALISADE" up --config "$TMP/up.yaml" &
TTY=$!
for _ in $(seq 900); do
	grep -q '^key: ' "$TMP/up.tty" 2>/dev/null && break
	kill -0 "$TTY" 2>/dev/null || break
	sleep 0.1
done
UP=$(pgrep -P "$TTY" | head -n 1)
if [ -n "$UP" ] && grep -q '^key: ' "$TMP/up.tty"; then
	PIDS="$UP $(descendants "$UP")"
	touch "$TMP/ctrl-c"
	wait "$TTY"
	stopped_cleanly $? "$TMP/up.tty" SIGINT "Ctrl-C on the terminal"
else
	fail "palisade up did not start on a terminal"; cat "$TMP/up.tty" >&2
	kill -9 "$TTY" 2>/dev/null
fi

# A tampered vault file (last: the release is broken for good).
f=$(find "$V/releases/v1/files" -name 'model.safetensors.sealed')
printf 'X' | dd of="$f" bs=1 seek=4000 conv=notrunc status=none
approvals v1 alice bob
up_fails "$TMP/up.yaml" 1 unseal "model.safetensors"

entries >"$TMP/entries"
for s in unseal verify scan run; do
	expect_grep "\"type\":\"up.$s\",[^}]*\"details\":{\"ok\":false" \
		"$TMP/entries" "the failed $s is logged"
done
expect_grep '"failed_step":"scan"' "$TMP/entries" "up.stop names the failed step"
expect_exit 0 "the log verifies after the failures" -- "$PALISADE" log verify "$ST/log"

# The configuration is read strictly.
printf 'version: 1\nmodel:\n  vault: v\n  colour: red\n' >"$TMP/bad.yaml"
expect_exit 2 "a bad configuration" -- "$PALISADE" up --config "$TMP/bad.yaml"
expect_grep "bad.yaml:4:3: model: unknown key 'colour'" "$TMP/err" "file:line:column"
expect_exit 0 "print-config" -- "$PALISADE" up --print-config
mkdir -p "$TMP/printed"
cp "$TMP/out" "$TMP/printed/up.yaml"
expect_exit 2 "the printed configuration reads (and fails at unseal)" -- \
	"$PALISADE" up --config "$TMP/printed/up.yaml"
expect_grep "unseal failed" "$TMP/err" "it gets as far as the vault"
finish
