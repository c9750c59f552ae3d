#!/bin/bash
# serve_tls.sh - testssl (Debian's testssl.sh) against palisade serve's TLS
# listener: no weak protocol or cipher.  Three gateways on loopback, each
# with its own state and a small configuration:
#   default  listen.tls as shipped: TLS 1.3 only (the state's self-signed
#            P-256 certificate);
#   tls12    listen.tls.min_version "1.2": TLS 1.2 as well, and then only
#            ECDHE key exchange with AEAD ciphers (same kind of certificate:
#            the ECDHE-ECDSA suites);
#   tls12rsa the same with an RSA certificate, so that the ECDHE-RSA suites
#            are offered and a plain RSA key exchange would show.
# No upstream is needed for the scan (nothing listens at the upstream's
# address), and prompt-injection rules are off so that start-up is fast.
#
# testssl's checks, chosen for what they say about protocols and ciphers
# and for time (a full run takes minutes; this set about 25 s a gateway
# alone; the three scans run side by side, 40-65 s in all on two busy
# cores, with or without sanitizers):
#   -p  protocols: SSLv2, SSLv3, TLS 1, 1.1, 1.2, 1.3 each offered or not
#   -s  cipher categories: NULL, aNULL, EXPORT, LOW, 3DES/IDEA, CBC, AEAD
#   -f  forward secrecy and the key exchange groups
#   -E  every cipher, per protocol, with its key exchange and encryption
#   -U  the known attacks (Heartbleed, CCS, ROBOT, CRIME, POODLE, SWEET32,
#       FREAK, DROWN, LOGJAM, BEAST, LUCKY13, RC4, renegotiation, ...)
# Left out: -S (server defaults) is about the certificate and sessions,
# not protocols or ciphers, and adds some 13 s; on the self-signed test
# certificate it reports cert_chain_of_trust (CRITICAL: self-signed),
# cert_revocation (HIGH: no CRL or OCSP address) and cert_validityPeriod
# (MEDIUM: over 825 days), which say nothing about the listener.  -e
# repeats -E without the protocol, -P only shows the server's order.
# Also: --nodns none (an address on loopback: no lookups), connect and
# openssl timeouts and an overall timeout so that nothing hangs, --warnings
# off and --quiet (no questions, no banner), --color 0.
#
# The script checks first that each port serves its gateway's certificate
# (the gateway listens with SO_REUSEPORT, so a stray process on the same
# port would share its connections).  From the JSON it asserts, for every
# gateway: every check ran (no scanProblem, no warning but the Debian
# openssl's missing GOST engine);
# SSLv2, SSLv3, TLS 1 and TLS 1.1 not offered, TLS 1.3 offered; no NULL,
# aNULL, EXPORT, LOW, 3DES/IDEA or CBC cipher category offered; forward
# secrecy offered; no finding of severity LOW or above (stricter than
# MEDIUM: testssl rates offered CBC ciphers, LUCKY13 and TLS 1.1 as LOW).
# TLS 1.3 ciphers are among the three AEAD suites.  TLS 1.2: not offered
# by default; with min_version "1.2" offered, and each of its ciphers is
# ECDHE (authenticated by the certificate's kind) with AES-GCM or
# ChaCha20-Poly1305.  Nothing is excluded.
. "$(dirname "$0")/common.bash"

if ! command -v testssl >/dev/null 2>&1; then
	fail "testssl is not installed (Debian package testssl.sh, scripts/bootstrap)"
	finish
fi

UPORT=$(free_port)	# the upstream: nothing listens there
PIDS=
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT

# gateway NAME CERT TLS_EXTRA: a gateway with its own state in $TMP/NAME,
# its port in $TMP/NAME/port; CERT is ec (the state's own certificate) or
# rsa (an RSA one made here); TLS_EXTRA is added to listen.tls.
gateway() {
	d=$TMP/$1
	mkdir -p "$d"
	"$PALISADE" serve key list --state "$d/st" >/dev/null 2>&1
	cert=st/tls/server.pem key=st/tls/server.key
	if [ "$2" = rsa ]; then
		cert=rsa.pem key=rsa.key
		openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=127.0.0.1 \
			-addext subjectAltName=IP:127.0.0.1 -keyout "$d/$key" \
			-out "$d/$cert" >/dev/null 2>&1
	fi
	port=$(free_port)
	while grep -qx "$port" "$TMP"/*/port 2>/dev/null; do port=$(free_port); done
	echo "$port" >"$d/port"
	cat >"$d/gw.yaml" <<EOF
version: 1
listen:
  address: "127.0.0.1:$port"
  tls: { cert: $cert, key: $key$3 }
  limits: { threads: 1 }
upstreams:
  - name: local
    url: "http://127.0.0.1:$UPORT"
keys:
  store: st/keys.db
roles:
  - name: user
    models: [tiny]
    routes: [chat]
injection: { action: off }
log:
  dir: st/log
EOF
	"$PALISADE" serve --config "$d/gw.yaml" >"$d/gw.out" 2>&1 &
	PIDS="$PIDS $!"
	for _ in $(seq 300); do grep -qs listening "$d/gw.out" && break; sleep 0.1; done
	if ! grep -q listening "$d/gw.out"; then
		fail "$1: the gateway did not start"; sed 's/^/    /' "$d/gw.out" >&2
		return 1
	fi
	# The port serves this gateway's certificate (and not another's).
	want=$(openssl x509 -in "$d/$cert" -noout -fingerprint -sha256)
	got=$(openssl s_client -connect "127.0.0.1:$port" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256)
	if [ -n "$want" ] && [ "$got" = "$want" ]; then pass; else
		fail "$1: 127.0.0.1:$port does not serve the gateway's certificate"
		return 1
	fi
}

# scan NAME: testssl against gateway NAME, in the background, JSON in
# $TMP/NAME/testssl.json.
scan() {
	d=$TMP/$1
	timeout 300 testssl --quiet --color 0 --warnings off --nodns none \
		--connect-timeout 10 --openssl-timeout 10 \
		--jsonfile "$d/testssl.json" -p -s -f -E -U \
		"127.0.0.1:$(cat "$d/port")" >"$d/testssl.out" 2>&1 &
	SCANS="$SCANS $!"
}

# check NAME MODE CERT: the assertions on the JSON; MODE is tls13 or
# tls12, CERT ec or rsa (the authentication the TLS 1.2 suites must use).
check() {
	$PY - "$TMP/$1/testssl.json" "$2" "$3" >"$TMP/$1/check.out" 2>&1 <<'EOF'
import json, re, sys

path, mode, cert = sys.argv[1], sys.argv[2], sys.argv[3]
auth = "ECDSA" if cert == "ec" else "RSA"
results = []
def check(ok, what):
    results.append((bool(ok), what))

try:
    with open(path) as f:
        findings = json.load(f)
except (OSError, ValueError) as e:
    print("FAIL testssl left no JSON: %s" % e)
    sys.exit(0)
by_id = {}
for x in findings:
    by_id.setdefault(x["id"], []).append(x)
def finding(i):
    xs = by_id.get(i)
    return xs[0]["finding"] if xs else None

# Every check ran.  engine_problem: Debian's openssl has no GOST engine,
# which only matters for GOST ciphers (never offered here).
for x in findings:
    if x["severity"] in ("WARN", "FATAL") and x["id"] != "engine_problem":
        check(False, "testssl could not complete a check: %s %s: %s"
              % (x["id"], x["severity"], x["finding"]))
expected = ["SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3",
            "cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT",
            "cipherlist_LOW", "cipherlist_3DES_IDEA", "cipherlist_AVERAGE",
            "cipherlist_STRONG", "PFS", "heartbleed", "CCS", "ROBOT",
            "secure_client_renego", "CRIME_TLS", "POODLE_SSL", "FREAK",
            "DROWN", "LOGJAM", "BEAST", "LUCKY13", "RC4"]
for i in expected:
    check(i in by_id, "testssl reported %s" % i)

# Protocols.
for p in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
    check((finding(p) or "").startswith("not offered"),
          "%s not offered (testssl: %s)" % (p, finding(p)))
check((finding("TLS1_3") or "").startswith("offered"),
      "TLS 1.3 offered (testssl: %s)" % finding("TLS1_3"))
if mode == "tls12":
    check((finding("TLS1_2") or "").startswith("offered"),
          "TLS 1.2 offered with min_version 1.2 (testssl: %s)" % finding("TLS1_2"))
else:
    check((finding("TLS1_2") or "").startswith("not offered"),
          "TLS 1.2 not offered by default (testssl: %s)" % finding("TLS1_2"))

# Cipher categories and forward secrecy.
for c in ("NULL", "aNULL", "EXPORT", "LOW", "3DES_IDEA", "AVERAGE"):
    i = "cipherlist_" + c
    check((finding(i) or "").startswith("not offered"),
          "no %s ciphers (testssl: %s)" % (c, finding(i)))
check((finding("cipherlist_STRONG") or "").startswith("offered"),
      "AEAD ciphers offered")
check((finding("PFS") or "").startswith("offered"), "forward secrecy offered")

# Every cipher offered, per protocol (-E):
# "TLS 1.2   xc02c   ECDHE-ECDSA-AES256-GCM-SHA384  ECDH 253  AESGCM  256  TLS_ECDHE_..."
tls13_ok = {"TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_AES_128_GCM_SHA256"}
aead12 = re.compile(r"^TLS_ECDHE_" + auth + "_WITH_"
                    r"(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)$")
n = {"tls1_2": 0, "tls1_3": 0}
for x in findings:
    m = re.match(r"^cipher-(\w+?)_x[0-9a-f]+$", x["id"])
    if not m:
        continue
    proto, f = m.group(1), x["finding"].split()
    rfc, kx = f[-1], f[4] if len(f) > 4 else "?"
    if proto == "tls1_3":
        check(rfc in tls13_ok, "TLS 1.3 cipher %s is one of the three AEAD suites" % rfc)
    elif proto == "tls1_2":
        check(mode == "tls12", "TLS 1.2 cipher %s offered by default" % rfc)
        check(aead12.match(rfc) and kx == "ECDH",
              "TLS 1.2 cipher %s (key exchange %s) is ECDHE_%s with AEAD"
              % (rfc, kx, auth))
    else:
        check(False, "cipher %s offered with %s" % (rfc, proto))
    if proto in n:
        n[proto] += 1
check(n["tls1_3"] > 0, "testssl listed the TLS 1.3 ciphers")
if mode == "tls12":
    check(n["tls1_2"] > 0, "testssl listed the TLS 1.2 ciphers")

# No finding rated LOW or worse, none left out.
for x in findings:
    if x["severity"] in ("LOW", "MEDIUM", "HIGH", "CRITICAL"):
        check(False, "testssl: %s %s: %s" % (x["id"], x["severity"], x["finding"]))

for ok, what in results:
    print(("PASS " if ok else "FAIL ") + what)
EOF
	while read -r verdict what; do
		case $verdict in
		PASS) pass ;;
		FAIL) fail "$1: $what" ;;
		*) fail "$1: $verdict $what" ;;
		esac
	done <"$TMP/$1/check.out"
	grep -q . "$TMP/$1/check.out" || fail "$1: the JSON check printed nothing"
	if grep -q '^FAIL' "$TMP/$1/check.out"; then
		sed 's/^/    /' "$TMP/$1/testssl.out" | tail -n 20 >&2
	fi
}

t0=$(date +%s)
SCANS=
GWS="default:tls13:ec tls12:tls12:ec tls12rsa:tls12:rsa"
for g in $GWS; do
	IFS=: read -r name mode cert <<<"$g"
	extra=
	[ "$mode" = tls12 ] && extra=', min_version: "1.2"'
	gateway "$name" "$cert" "$extra" && scan "$name"
done
for s in $SCANS; do wait "$s"; done
for g in $GWS; do
	IFS=: read -r name mode cert <<<"$g"
	[ -f "$TMP/$name/port" ] && check "$name" "$mode" "$cert"
done
echo "testssl: $(( $(date +%s) - t0 )) s"
finish
