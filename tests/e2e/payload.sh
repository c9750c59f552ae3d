#!/bin/bash
# payload.sh - sealed payloads end to end.  There is no command that
# seals (the gateway does, in-process), so the unit test test_payload
# writes the fixtures: it is run here, into this script's own directory,
# and writes a log of serve.request records sealed the way the gateway
# seals them (pal_payload_record_seal) to X25519, P-256 and RSA-3072 keys,
# with the bodies beside them.  Then `palisade payload` and an independent
# reader written from docs/formats/payload.md (open_payload.py,
# python3-cryptography) open every record and must give back the bodies
# byte for byte; the wrong key is named by its id (computed here with
# openssl), and a tampered, moved or re-digested payload is refused by
# both.
. "$(dirname "$0")/common.bash"

UNIT=$(dirname "$PALISADE")/test_payload
if [ ! -x "$UNIT" ]; then
	echo "FAIL: $UNIT is not built (cmake --build ... --target test_payload)"
	exit 1
fi
PAL_TEST_TMP=$TMP PAL_TEST_DATA=$PAL_SRC/tests/data "$UNIT" \
	>"$TMP/unit.out" 2>&1 || { cat "$TMP/unit.out"; exit 1; }
F=$TMP/payload
L=$F/log
READER=$PAL_SRC/tests/e2e/open_payload.py

# opens INDEX KEY: the command's parts and the reader's against the bodies
opens() {
	i=$1 key=$F/$2.key
	"$PALISADE" log get "$L" --index "$i" >"$TMP/e$i.json" ||
		fail "log get $i"
	expect_exit 0 "payload $i ($2)" -- "$PALISADE" payload "$L" \
		--index "$i" --key "$key"
	expect_grep "sealed to" "$TMP/out" "payload $i names the key"
	expect_exit 0 "reader $i ($2)" -- $PY "$READER" "$key" \
		"$TMP/e$i.json" "$TMP/py$i"
	cp "$TMP/out" "$TMP/py$i.out"
	for part in request response; do
		[ -f "$F/$i.$part" ] || continue
		"$PALISADE" payload "$L" --index "$i" --key "$key" \
			--part "$part" >"$TMP/c$i.$part" 2>"$TMP/err" ||
			fail "payload $i --part $part: $(cat "$TMP/err")"
		# The body, or its first bytes when it was cut to fit.
		n=$(stat -c %s "$TMP/c$i.$part")
		cmp -s "$TMP/c$i.$part" <(head -c "$n" "$F/$i.$part") &&
			pass || fail "payload $i: $part differs from the body"
		cmp -s "$TMP/c$i.$part" "$TMP/py$i/$part" && pass ||
			fail "payload $i: the reader's $part differs"
	done
}

opens 0 x25519
expect_grep "^request 66 66 matches$" "$TMP/py0.out" "reader checks digests"
opens 1 p256
opens 2 rsa
opens 3 x25519
opens 4 x25519

# What each record says, in both.
expect_exit 0 "text" -- "$PALISADE" payload "$L" --index 0 \
	--key "$F/x25519.key"
expect_grep "^response: 65 bytes, matches the record's digest$" \
	"$TMP/out" "whole parts are checked"
expect_grep '^data: \[DONE\]$' "$TMP/out" "SSE lines stay lines"
expect_exit 0 "escapes" -- "$PALISADE" payload "$L" --index 2 \
	--key "$F/rsa.key"
expect_grep '^\\x1b\[31mred$' "$TMP/out" "control bytes are escaped"
grep -q $'\x1b' "$TMP/out" && fail "an escape byte reached the terminal" ||
	pass
expect_exit 0 "truncated" -- "$PALISADE" payload "$L" --index 4 \
	--key "$F/x25519.key"
expect_grep "^response: [0-9]* of 100000 bytes (truncated)$" "$TMP/out" \
	"a cut body says so"
grep -q "^response [0-9]* 100000 truncated$" "$TMP/py4.out" && pass ||
	fail "the reader sees the cut body"
[ "$(stat -c %s "$TMP/c4.response")" -gt 40000 ] && pass ||
	fail "the cut body fills the entry"
expect_exit 0 "json" -- "$PALISADE" payload "$L" --index 1 \
	--key "$F/p256.key" --json
$PY - "$TMP/out" "$F/1.response" <<'EOF' && pass || fail "--json"
import base64, json, sys
j = json.load(open(sys.argv[1]))
assert j["alg"] == "P-256" and j["index"] == 1, j
req, resp = j["parts"]
assert req["name"] == "request" and req["check"] == "matches", req
assert req["text"].startswith('{"model"'), req
assert base64.b64decode(resp["base64"]) == open(sys.argv[2], "rb").read()
assert resp["truncated"] is False and resp["total"] == 300
EOF
expect_exit 2 "a GET has no request part" -- "$PALISADE" payload "$L" \
	--index 3 --key "$F/x25519.key" --part request
expect_grep "no part 'request'" "$TMP/err" "the missing part is named"
expect_exit 2 "a record without payload" -- "$PALISADE" payload "$L" \
	--index 5 --key "$F/x25519.key"
expect_grep "no payload" "$TMP/err" "says there is none"
expect_exit 0 "an entry from standard input" -- \
	sh -c '"$1" payload --entry - --key "$2" < "$3"' sh "$PALISADE" \
	"$F/x25519.key" "$TMP/e0.json"

# The wrong key, named by the id openssl computes.
kid=$(openssl pkey -pubin -in "$F/x25519.pub" -outform DER |
	sha256sum | cut -c1-64)
expect_exit 1 "wrong key" -- "$PALISADE" payload "$L" --index 0 \
	--key "$F/other.key"
expect_grep "wrong key: the payload was sealed to key $kid" "$TMP/err" \
	"the wrong key is named"
expect_exit 1 "wrong kind of key" -- "$PALISADE" payload "$L" --index 0 \
	--key "$F/rsa.key"
expect_exit 1 "reader: wrong key" -- $PY "$READER" "$F/other.key" \
	"$TMP/e0.json" "$TMP/pyx"

# tampered NAME PYTHON-EXPRESSION-ON-d (the entry's details)
tampered() {
	$PY - "$TMP/e0.json" "$TMP/$1.json" "$TMP/e4.json" <<EOF
import json, sys
e = json.load(open(sys.argv[1]))
other = json.load(open(sys.argv[3]))
d = e["details"]
$2
json.dump(e, open(sys.argv[2], "w"))
EOF
	expect_exit 1 "$1" -- "$PALISADE" payload --entry "$TMP/$1.json" \
		--key "$F/x25519.key"
	expect_grep "${3:-authentication failed}" "$TMP/err" "$1: the reason"
	expect_exit 1 "reader: $1" -- $PY "$READER" "$F/x25519.key" \
		"$TMP/$1.json" "$TMP/py-$1"
}
tampered flipped 'p = d["payload"]; i = len(p) // 2
d["payload"] = p[:i] + ("A" if p[i] != "A" else "B") + p[i + 1:]'
tampered tag 'import base64; b = bytearray(base64.b64decode(d["payload"]))
b[-1] ^= 1; d["payload"] = base64.b64encode(b).decode()'
tampered redigested 'd["request_sha256"] = "0" * 64'
tampered moved 'd["payload"] = other["details"]["payload"]'
tampered cut 'd["payload"] = d["payload"][:80]' "truncated"
tampered no-digest 'del d["response_sha256"]'

expect_exit 2 "no key" -- "$PALISADE" payload "$L" --index 0
expect_exit 2 "no such entry" -- "$PALISADE" payload "$L" --index 99 \
	--key "$F/x25519.key"
finish
