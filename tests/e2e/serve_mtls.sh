#!/bin/bash
# serve_mtls.sh - client certificates as identities (docs/config.md,
# "clients"): under mutual TLS, a request without an API key acts as the
# configured client its verified certificate matches, with that client's
# role and limits, and can be blocked like a key; a certificate no client
# matches, one from another CA and a connection without one get nothing
# from the upstream.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/gateway.bash"

GW=$PAL_SRC/tests/gateway
ST=$TMP/st
REC=$TMP/upstream.rec
PORT=$(free_port); APORT=$(free_port); UPORT=$(free_port)
while [ "$APORT" = "$PORT" ]; do APORT=$(free_port); done
UP_PID=; GW_PID=
cleanup() {
	[ -n "$GW_PID" ] && kill "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null
	[ -n "$UP_PID" ] && kill "$UP_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

$PY "$GW/upstream.py" --port "$UPORT" --record "$REC" >"$TMP/upstream.out" 2>&1 &
UP_PID=$!
for _ in $(seq 50); do grep -q ready "$TMP/upstream.out" && break; sleep 0.1; done
: >"$REC"
"$PALISADE" serve key list --state "$ST" >/dev/null 2>&1	# makes the state

# --- a CA of clients, and certificates -------------------------------------
# ca NAME: a CA; cert CA NAME CN: a client certificate it signs.
ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$TMP/$1.key" -out "$TMP/$1.pem" -days 2 -subj "/CN=$1" \
		2>/dev/null
}
cert() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$TMP/$2.key" -out "$TMP/$2.csr" -subj "/CN=$3" 2>/dev/null
	printf 'extendedKeyUsage=clientAuth\n' >"$TMP/ext"
	openssl x509 -req -in "$TMP/$2.csr" -CA "$TMP/$1.pem" -CAkey "$TMP/$1.key" \
		-CAcreateserial -out "$TMP/$2.pem" -days 2 -extfile "$TMP/ext" \
		2>/dev/null
}
fingerprint() {
	openssl x509 -in "$TMP/$1.pem" -noout -fingerprint -sha256 | cut -d= -f2
}
ca clients
ca stranger
cert clients svc svc.internal		# matched by its name
cert clients pinned pinned.internal	# matched by name and fingerprint
cert clients twin pinned.internal	# the same name, another key
cert clients nobody nobody.internal	# signed, but no client
cert stranger forged svc.internal	# the right name, the wrong CA
[ -s "$TMP/svc.pem" ] && [ -s "$TMP/forged.pem" ] && pass ||
	fail "openssl made no certificates"

cat >"$TMP/gw.yaml" <<EOF
version: 1
listen:
  address: "127.0.0.1:$PORT"
  tls:
    cert: st/tls/server.pem
    key: st/tls/server.key
    client_ca: clients.pem
    client_auth: optional
admin:
  address: "127.0.0.1:$APORT"
  tls:
    cert: st/tls/admin.pem
    key: st/tls/admin.key
    client_ca: st/tls/admin-ca.pem
upstreams:
  - name: local
    url: "http://127.0.0.1:$UPORT"
keys:
  store: st/keys.db
roles:
  - name: user
    models: [tiny]
    routes: [chat, models]
    limits: { requests_per_minute: 6000, burst: 1000 }
  - name: other
    models: [other]
    routes: [chat]
clients:
  - name: svc
    subject: svc.internal
    role: user
  - name: pinned
    subject: pinned.internal
    sha256: "$(fingerprint pinned)"
    role: user
    limits: { requests_per_minute: 2, burst: 1 }
  - name: narrow
    subject: narrow.internal
    role: other
log:
  dir: st/log
EOF
expect_exit 0 "the configuration is valid" -- \
	"$PALISADE" serve check --config "$TMP/gw.yaml"
KEY=$("$PALISADE" serve key create --config "$TMP/gw.yaml" --role user \
	--owner test 2>>"$TMP/keys.err")

"$PALISADE" serve --config "$TMP/gw.yaml" >"$TMP/gw.out" 2>&1 &
GW_PID=$!
for _ in $(seq 600); do grep -q listening "$TMP/gw.out" && break; sleep 0.1; done

URL=https://127.0.0.1:$PORT
CHAT='{"model":"tiny","messages":[{"role":"user","content":"hello mtls"}]}'
# call NAME CERT|- KEY|- [BODY]: status in NAME.status, body in NAME.body
call() {
	name=$1 c=$2 k=$3 body=${4:-}
	set -- -sS --max-time 15 --cacert "$ST/tls/server.pem" \
		-o "$TMP/$name.body" -w '%{http_code}'
	[ "$c" != - ] && set -- "$@" --cert "$TMP/$c.pem" --key "$TMP/$c.key"
	[ "$k" != - ] && set -- "$@" -H "Authorization: Bearer $k"
	if [ -n "$body" ]; then
		set -- "$@" -H 'Content-Type: application/json' \
			--data-binary "$body" "$URL/v1/chat/completions"
	else
		set -- "$@" "$URL/v1/models"
	fi
	curl "$@" >"$TMP/$name.status" 2>"$TMP/$name.err"
}

# --- identities by certificate ------------------------------------------------
call svc svc - "$CHAT"
expect_status svc 200 "a certificate without a key is its client"
expect_grep '"content":"echo: hello mtls"' "$TMP/svc.body" "the model's answer"
call models svc -
expect_status models 200 "the client's role lists models"
expect_grep '"tiny"' "$TMP/models.body" "the role's model is listed"

n=$(seen)
call nobody nobody - "$CHAT"
expect_status nobody 401 "a CA-signed certificate no client matches"
expect_unseen "$n" "an unmatched certificate"
call twin twin - "$CHAT"
expect_status twin 401 "the pinned client's name on another certificate"
expect_unseen "$n" "a certificate failing its pin"
call forged forged - "$CHAT"
if [ "$(cat "$TMP/forged.status")" = 000 ]; then pass; else
	fail "a certificate from another CA: status $(cat "$TMP/forged.status"), want a failed handshake"
fi
expect_unseen "$n" "a certificate from another CA"
call none - - "$CHAT"
expect_status none 401 "neither a certificate nor a key"
expect_unseen "$n" "an anonymous request"

# A key still works, with or without a certificate, and wins over it.
call keyonly - "$KEY" "$CHAT"
expect_status keyonly 200 "an API key without a certificate"
call keycert nobody "$KEY" "$CHAT"
expect_status keycert 200 "an API key over a connection with an unmatched certificate"
call badkey svc "sk-pal-bad" "$CHAT"
expect_status badkey 401 "a bad key is not rescued by a good certificate"

# The client's own limits: 2 a minute with a burst of 1.
call p1 pinned - "$CHAT"
expect_status p1 200 "the pinned client"
call p2 pinned - "$CHAT"
call p3 pinned - "$CHAT"
if [ "$(cat "$TMP/p2.status")$(cat "$TMP/p3.status")" != 200200 ]; then pass; else
	fail "the pinned client's limits were not applied"
fi

# The client's role: its model only.
call narrow_cert svc - '{"model":"other","messages":[{"role":"user","content":"x"}]}'
expect_status narrow_cert 403 "a model outside the client's role"

# --- blocking a certificate identity ---------------------------------------------
admin() {
	curl -sS --cacert "$ST/tls/admin-ca.pem" --cert "$ST/tls/admin-client.pem" \
		--key "$ST/tls/admin-client.key" -X "$1" "https://127.0.0.1:$APORT$2" \
		${3:+-H 'Content-Type: application/json' --data-binary "$3"}
}
admin GET /keys >"$TMP/keys.json" 2>&1
expect_grep '"id":"cert:svc"' "$TMP/keys.json" "the admin listener lists certificate identities"
admin POST /block '{"key":"cert:svc"}' >/dev/null 2>&1
n=$(seen)
call blocked svc - "$CHAT"
expect_status blocked 403 "a blocked certificate identity"
expect_unseen "$n" "a blocked certificate identity"
admin POST /unblock '{"key":"cert:svc"}' >/dev/null 2>&1
call unblocked svc - "$CHAT"
expect_status unblocked 200 "an unblocked certificate identity"

# --- the log ------------------------------------------------------------------------
kill "$GW_PID"; wait "$GW_PID"; GW_PID=
log_entries "$ST/log" >"$TMP/log.all" 2>&1
expect_grep '"status":200.*"key":"cert:svc"' "$TMP/log.all" "a request under a certificate identity is logged with it"
expect_grep '"status":401.*"reason":"client certificate sha256:[0-9a-f]\{64\} is no configured client"' \
	"$TMP/log.all" "an unmatched certificate is logged with its fingerprint"

finish
