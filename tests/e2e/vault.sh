#!/bin/bash
# vault.sh - the vault end to end through the command: keys init on a
# fresh SoftHSM2 token, seal, request, approve, unseal into a directory,
# to standard output and into memfds handed to a command; every refusal
# (one approval, self-approval, a replayed or expired request, a
# forged approval, tampered files); rotation; shredding; replacing the
# approver set (keys approvers: a removed approver's approval refused, a
# new one's counted, a wrong admin key refused, an older set put back
# refused); the audit log.
. "$(dirname "$0")/common.bash"
command -v softhsm2-util >/dev/null || { echo "softhsm2 missing"; exit 77; }

export PALISADE_PKCS11_PIN=1234 PALISADE_PKCS11_SO_PIN=5678
V=$TMP/vault
L=$TMP/log
M=$TMP/model
for k in admin alice bob carol dave mallory; do
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$TMP/$k.pem" 2>/dev/null
	openssl pkey -in "$TMP/$k.pem" -pubout -out "$TMP/$k.pub" 2>/dev/null
done
mkdir -p "$M/sub"
head -c 100000 /dev/urandom > "$M/weights.bin"
head -c 16384 /dev/urandom > "$M/sub/chunk.bin"
printf '{"model_type": "test"}' > "$M/config.json"
: > "$M/empty.txt"

"$PALISADE" log init "$L" --origin palisade.test/vault >/dev/null
expect_exit 0 "keys init" -- "$PALISADE" keys init "$V" \
	--admin-key "$TMP/admin.pem" --approver "alice=$TMP/alice.pub" \
	--approver "bob=$TMP/bob.pub" --approver "carol=$TMP/carol.pub" \
	--log "$L"
expect_grep "3 approvers, 2 needed" "$TMP/out" "init reports the set"
[ -d "$V.hsm/tokens" ] && pass || fail "the token lives beside the vault"
expect_exit 2 "keys init twice" -- "$PALISADE" keys init "$V" \
	--admin-key "$TMP/admin.pem" --approver "alice=$TMP/alice.pub"

expect_exit 0 "seal" -- "$PALISADE" seal "$M" --release v1 -o "$V" \
	--name acme/test
expect_grep "sealed 4 files" "$TMP/out" "every file sealed"
expect_exit 2 "seal the same release again" -- \
	"$PALISADE" seal "$M" --release v1 -o "$V"
expect_grep "exists" "$TMP/err" "the refusal says why"
grep -rqa "model_type" "$V/releases" && fail "plaintext in the vault" || pass

# request OP RELEASE REQUESTER FILE
request() {
	"$PALISADE" request "$1" "$V" --release "$2" --requester "$3" \
		-o "$4" >/dev/null || fail "request $*"
}
# approve REQUEST NAME [OUT]
approve() {
	"$PALISADE" approve "$1" --key "$TMP/$2.pem" --vault "$V" \
		--log "$L" -o "${3:-$1.$2}" >/dev/null 2>"$TMP/approve.err" ||
		fail "approve $1 by $2: $(cat "$TMP/approve.err")"
}

request unseal v1 dave "$TMP/r1"
approve "$TMP/r1" alice
approve "$TMP/r1" bob
expect_exit 0 "unseal with two approvals" -- "$PALISADE" unseal "$V" \
	--release v1 --approvals "$TMP/r1.alice" "$TMP/r1.bob" --to "$TMP/out1"
expect_grep "approved by alice, bob" "$TMP/out" "the approvers are named"
diff -r "$M" "$TMP/out1" >/dev/null && pass || fail "unsealed files differ"
expect_exit 1 "the same request again" -- "$PALISADE" unseal "$V" \
	--release v1 --approvals "$TMP/r1.alice" "$TMP/r1.bob" --to "$TMP/out2"
expect_grep "already used" "$TMP/err" "a replay is named"

request unseal v1 dave "$TMP/r2"
approve "$TMP/r2" alice
expect_exit 1 "one approval" -- "$PALISADE" unseal "$V" --release v1 \
	--approvals "$TMP/r2.alice" --to "$TMP/out2"
expect_grep "1 of 2" "$TMP/err" "too few approvals"
[ -e "$TMP/out2" ] && fail "a refused unseal wrote" || pass

# Self-approval is refused when signing (and, in the unit tests of the
# check, when an approval made some other way is used).
request unseal v1 alice "$TMP/r3"
expect_exit 2 "the requester approving her own request" -- \
	"$PALISADE" approve "$TMP/r3" --key "$TMP/alice.pem" --vault "$V" \
	-o "$TMP/r3.alice"
expect_grep "alice is the requester" "$TMP/err" "self-approval is named"

request unseal v1 dave "$TMP/r4"
approve "$TMP/r4" alice
expect_exit 2 "mallory is not an approver" -- "$PALISADE" approve \
	"$TMP/r4" --key "$TMP/mallory.pem" --vault "$V" -o "$TMP/r4.mallory"
"$PALISADE" approve "$TMP/r4" --key "$TMP/mallory.pem" --as bob \
	-o "$TMP/r4.forged" >/dev/null 2>&1
expect_exit 1 "an approval signed by another key" -- "$PALISADE" unseal \
	"$V" --release v1 --approvals "$TMP/r4.alice" "$TMP/r4.forged" \
	--to "$TMP/out2"
expect_grep "bob" "$TMP/err" "the forged approval is named"
request unseal v1 dave "$TMP/r5"
approve "$TMP/r5" alice
approve "$TMP/r5" bob
expect_exit 1 "the same approver twice" -- "$PALISADE" unseal "$V" \
	--release v1 --approvals "$TMP/r5.alice" "$TMP/r5.alice" \
	--to "$TMP/out2"
expect_grep "alice" "$TMP/err" "the duplicate is named"
request shred v1 dave "$TMP/r5s"
approve "$TMP/r5s" alice
approve "$TMP/r5s" bob
expect_exit 1 "approvals for a shred do not unseal" -- "$PALISADE" unseal \
	"$V" --release v1 --approvals "$TMP/r5s.alice" "$TMP/r5s.bob" \
	--to "$TMP/out2"

request unseal v1 dave "$TMP/r6"
approve "$TMP/r6" bob
approve "$TMP/r6" carol
"$PALISADE" unseal "$V" --release v1 --approvals "$TMP/r6.bob" \
	"$TMP/r6.carol" --stdout --file weights.bin > "$TMP/w.bin" \
	2>"$TMP/err" && pass || fail "unseal to stdout"
cmp -s "$TMP/w.bin" "$M/weights.bin" && pass || fail "stdout differs"

request unseal v1 dave "$TMP/r7"
approve "$TMP/r7" alice
approve "$TMP/r7" carol
expect_exit 0 "unseal into memfds for a command" -- "$PALISADE" unseal \
	"$V" --release v1 --approvals "$TMP/r7.alice" "$TMP/r7.carol" \
	--memfd -- $PY -c '
import json, os, sys
m = json.loads(os.environ["PALISADE_UNSEALED"])
w = open(m["weights.bin"], "rb").read()
sys.exit(0 if w == open(sys.argv[1], "rb").read() and
         os.path.realpath(m["weights.bin"]).startswith("/memfd:") else 3)
' "$M/weights.bin"

expect_exit 0 "keys list" -- "$PALISADE" keys list "$V" --json
expect_grep '"generation": 1' "$TMP/out" "the release's key is listed"
expect_exit 0 "keys rotate" -- "$PALISADE" keys rotate "$V" --release v1
expect_grep "#2" "$TMP/out" "a new generation"
request unseal v1 dave "$TMP/r8"
approve "$TMP/r8" alice
approve "$TMP/r8" bob
expect_exit 0 "unseal after rotation" -- "$PALISADE" unseal "$V" \
	--release v1 --approvals "$TMP/r8.alice" "$TMP/r8.bob" \
	--to "$TMP/out3"
diff -r "$M" "$TMP/out3" >/dev/null && pass || fail "files differ after rotation"

# Key export to an RSA key, with two approvals; an independent reader
# (python3-cryptography, from the documents) opens a sealed file with it.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 \
	-out "$TMP/escrow.pem" 2>/dev/null
openssl pkey -in "$TMP/escrow.pem" -pubout -out "$TMP/escrow.pub"
request export v1 dave "$TMP/x1"
approve "$TMP/x1" alice
expect_exit 1 "export with one approval" -- "$PALISADE" keys export "$V" \
	--release v1 --approvals "$TMP/x1.alice" --recipient "$TMP/escrow.pub" \
	-o "$TMP/v1.key"
[ -e "$TMP/v1.key" ] && fail "a refused export wrote" || pass
request export v1 dave "$TMP/x2"
approve "$TMP/x2" bob
approve "$TMP/x2" carol
expect_exit 0 "export" -- "$PALISADE" keys export "$V" --release v1 \
	--approvals "$TMP/x2.bob" "$TMP/x2.carol" --recipient "$TMP/escrow.pub" \
	-o "$TMP/v1.key"
[ "$(stat -c %a "$TMP/v1.key")" = 600 ] && pass || fail "export not 0600"
for f in weights.bin sub/chunk.bin empty.txt; do
	$PY "$PAL_SRC/tests/e2e/open_sealed.py" "$TMP/v1.key" "$TMP/escrow.pem" \
		"$V/releases/v1/files/$f.sealed" > "$TMP/opened" 2>"$TMP/err" &&
		cmp -s "$TMP/opened" "$M/$f" && pass ||
		{ fail "the documented format does not open $f"; cat "$TMP/err" >&2; }
done

# A flipped byte in a sealed file: refused, nothing written.
f=$V/releases/v1/files/weights.bin.sealed
cp "$f" "$TMP/saved"
printf '\x00' | dd of="$f" bs=1 seek=5000 conv=notrunc 2>/dev/null
cmp -s "$f" "$TMP/saved" && printf '\x01' | dd of="$f" bs=1 seek=5000 \
	conv=notrunc 2>/dev/null
request unseal v1 dave "$TMP/r9"
approve "$TMP/r9" alice
approve "$TMP/r9" bob
expect_exit 1 "a tampered file" -- "$PALISADE" unseal "$V" --release v1 \
	--approvals "$TMP/r9.alice" "$TMP/r9.bob" --to "$TMP/out4"
expect_grep "weights.bin.sealed: chunk" "$TMP/err" "the chunk is named"
[ -e "$TMP/out4" ] && fail "plaintext written for a tampered release" || pass
cp "$TMP/saved" "$f"

request shred v1 dave "$TMP/s1"
approve "$TMP/s1" alice
expect_exit 1 "shred with one approval" -- "$PALISADE" shred "$V" \
	--release v1 --approvals "$TMP/s1.alice"
request shred v1 dave "$TMP/s2"
approve "$TMP/s2" alice
approve "$TMP/s2" carol
expect_exit 0 "shred" -- "$PALISADE" shred "$V" --release v1 \
	--approvals "$TMP/s2.alice" "$TMP/s2.carol"
request unseal v1 dave "$TMP/r10"
approve "$TMP/r10" alice
approve "$TMP/r10" bob
expect_exit 2 "unseal after shredding" -- "$PALISADE" unseal "$V" \
	--release v1 --approvals "$TMP/r10.alice" "$TMP/r10.bob" \
	--to "$TMP/out5"
expect_grep "not found" "$TMP/err" "the key is gone"

# The approver set after keys init: shown, then replaced by the admin.
expect_exit 0 "keys approvers --show" -- "$PALISADE" keys approvers "$V" \
	--show
expect_grep "serial 1, 2 of 3 approvals needed" "$TMP/out" "the set is shown"
expect_grep "carol  *$(sha256sum < "$TMP/carol.pub" | cut -c1-64)" \
	"$TMP/out" "each key's fingerprint is its PEM file's SHA-256"
cp "$V/approvers.dsse" "$TMP/approvers.serial1"
expect_exit 0 "seal v2" -- "$PALISADE" seal "$M" --release v2 -o "$V"
request unseal v2 eve "$TMP/c1"
approve "$TMP/c1" alice
approve "$TMP/c1" carol	# before carol is removed
# change EXIT DESCRIPTION [OPTIONS...]: alice, bob and dave, with OPTIONS.
change() {
	want=$1 what=$2
	shift 2
	expect_exit "$want" "$what" -- "$PALISADE" keys approvers "$V" \
		--approver "alice=$TMP/alice.pub" --approver "bob=$TMP/bob.pub" \
		--approver "dave=$TMP/dave.pub" "$@"
}
change 1 "a set signed with another key than the admin's" \
	--admin-key "$TMP/mallory.pem"
expect_grep "is not the vault's admin key ($V/admin.pub.pem" "$TMP/err" \
	"the wrong admin key is named"
change 2 "threshold 1, refused as by init" --admin-key "$TMP/admin.pem" \
	--threshold 1
expect_grep "threshold 1: at least 2" "$TMP/err" "the threshold rule is named"
change 2 "threshold 4 of 3" --admin-key "$TMP/admin.pem" --threshold 4
expect_grep "more than the 3 approvers" "$TMP/err" "too high a threshold"
expect_exit 2 "a member listed twice" -- "$PALISADE" keys approvers "$V" \
	--admin-key "$TMP/admin.pem" --approver "alice=$TMP/alice.pub" \
	--approver "alice=$TMP/bob.pub"
expect_grep "alice is listed twice" "$TMP/err" "the duplicate is named"
cmp -s "$V/approvers.dsse" "$TMP/approvers.serial1" && pass ||
	fail "a refused change touched the approver set"
change 0 "keys approvers" --admin-key "$TMP/admin.pem" --log "$L"
expect_grep "before: serial 1, alice, bob, carol; 2 needed" "$TMP/out" \
	"the old set is summarized"
expect_grep "now:    serial 2, alice, bob, dave; 2 needed" "$TMP/out" \
	"the new set is summarized"
expect_exit 1 "an approval by a removed approver" -- "$PALISADE" unseal \
	"$V" --release v2 --approvals "$TMP/c1.alice" "$TMP/c1.carol" \
	--to "$TMP/out6"
expect_grep "carol's was refused: unknown approver (not in vault .*'s \
approver set, serial 2)" "$TMP/err" "the removed approver is named, with why"
[ -e "$TMP/out6" ] && fail "a refused unseal wrote" || pass
request unseal v2 eve "$TMP/c2"
expect_exit 2 "a removed approver cannot sign with --vault" -- \
	"$PALISADE" approve "$TMP/c2" --key "$TMP/carol.pem" --vault "$V" \
	-o "$TMP/c2.carol"
approve "$TMP/c2" alice
approve "$TMP/c2" dave
expect_exit 0 "a new approver counts" -- "$PALISADE" unseal "$V" \
	--release v2 --approvals "$TMP/c2.alice" "$TMP/c2.dave" --to "$TMP/out6"
expect_grep "approved by alice, dave" "$TMP/out" "dave is named"
diff -r "$M" "$TMP/out6" >/dev/null && pass || fail "files differ (v2)"
expect_exit 0 "the new set, as JSON" -- "$PALISADE" keys approvers "$V" \
	--show --json
expect_grep '"serial": 2' "$TMP/out" "the serial in JSON"
expect_grep '"name": "dave"' "$TMP/out" "the new member in JSON"

# The older signed set put back: refused by the operations and --show,
# until the admin installs a set again (serial 3).
cp "$TMP/approvers.serial1" "$V/approvers.dsse"
request unseal v2 eve "$TMP/c3"
approve "$TMP/c3" bob
"$PALISADE" approve "$TMP/c3" --key "$TMP/carol.pem" --as carol \
	-o "$TMP/c3.carol" >/dev/null 2>&1 || fail "carol signs by name"
expect_exit 1 "an older approver set put back" -- "$PALISADE" unseal \
	"$V" --release v2 --approvals "$TMP/c3.bob" "$TMP/c3.carol" \
	--to "$TMP/out7"
expect_grep "serial 1 is older than serial 2" "$TMP/err" "the replay is named"
[ -e "$TMP/out7" ] && fail "unsealed under a replayed set" || pass
expect_exit 1 "--show refuses it too" -- "$PALISADE" keys approvers "$V" \
	--show
expect_grep "older than serial 2" "$TMP/err" "--show names the replay"
change 0 "the admin installs a set again" --admin-key "$TMP/admin.pem" \
	--threshold 3
expect_grep "before: refused (.*serial 1 is older than serial 2" \
	"$TMP/out" "the refused set is reported"
expect_grep "now:    serial 3, alice, bob, dave; 3 needed" "$TMP/out" \
	"the next serial"
request unseal v2 eve "$TMP/c4"
approve "$TMP/c4" alice
approve "$TMP/c4" bob
approve "$TMP/c4" dave
expect_exit 1 "three needed now: two are not enough" -- "$PALISADE" unseal \
	"$V" --release v2 --approvals "$TMP/c4.alice" "$TMP/c4.bob" \
	--to "$TMP/out7"
expect_grep "2 of 3 approvals" "$TMP/err" "the new threshold holds"

# Two replacements at once take turns: serials 4 and 5, the later one in
# force, each logged with the other's set (or the serial 3 one) before it.
for who in carol dave; do
	"$PALISADE" keys approvers "$V" --admin-key "$TMP/admin.pem" \
		--approver "alice=$TMP/alice.pub" --approver "bob=$TMP/bob.pub" \
		--approver "$who=$TMP/$who.pub" > "$TMP/race.$who" 2>&1 &
done
wait
serials=$(grep -ho "now:    serial [0-9]*" "$TMP/race.carol" "$TMP/race.dave" |
	sort | tr '\n' ' ')
[ "$serials" = "now:    serial 4 now:    serial 5 " ] && pass ||
	fail "two replacements at once: $serials"
last=$(grep -l "now:    serial 5" "$TMP/race.carol" "$TMP/race.dave")
expect_exit 0 "the set after the race" -- "$PALISADE" keys approvers "$V" \
	--show
expect_grep "  ${last##*.} " "$TMP/out" "the later replacement is in force"

# A vault from before serials: a version 1 approvers.dsse (written here
# with python3-cryptography, as the old Palisade did) and a state.db
# without the accepted sets.  It keeps working (serial 0), and once the
# admin replaces the set the old file is refused.
O=$TMP/old-vault
expect_exit 0 "keys init (to be made old)" -- "$PALISADE" keys init "$O" \
	--admin-key "$TMP/admin.pem" --approver "alice=$TMP/alice.pub" \
	--approver "bob=$TMP/bob.pub" --log "$L"
$PY - "$O" "$TMP" <<'PYEOF' || fail "cannot make the vault old"
import base64, json, sqlite3, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
vault, tmp = sys.argv[1], sys.argv[2]
vid = json.load(open(vault + "/vault.json"))["id"]
members = [{"key": open("%s/%s.pub" % (tmp, n)).read(), "name": n}
           for n in ("alice", "bob")]
payload = json.dumps({"approvers": members, "threshold": 2, "vault": vid,
                      "version": 1}, sort_keys=True,
                     separators=(",", ":")).encode()
t = b"application/vnd.palisade.approvers+json"
pae = b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)
admin = serialization.load_pem_private_key(
    open(tmp + "/admin.pem", "rb").read(), None)
sig = admin.sign(pae, ec.ECDSA(hashes.SHA256()))
env = {"payload": base64.b64encode(payload).decode(),
       "payloadType": t.decode(),
       "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}]}
open(vault + "/approvers.dsse", "w").write(
    json.dumps(env, sort_keys=True, separators=(",", ":")) + "\n")
db = sqlite3.connect(vault + "/state.db")
db.execute("DROP TABLE tpc_approver_sets")
db.commit()
PYEOF
cp "$O/approvers.dsse" "$TMP/approvers.v1"
expect_exit 0 "an old vault's set is shown" -- "$PALISADE" keys approvers \
	"$O" --show
expect_grep "serial 0, 2 of 2 approvals needed" "$TMP/out" "read as serial 0"
expect_exit 0 "seal into the old vault" -- "$PALISADE" seal "$M" \
	--release o1 -o "$O"
"$PALISADE" request unseal "$O" --release o1 --requester eve \
	-o "$TMP/o1" >/dev/null || fail "request in the old vault"
for k in alice bob; do
	"$PALISADE" approve "$TMP/o1" --key "$TMP/$k.pem" --vault "$O" \
		-o "$TMP/o1.$k" >/dev/null 2>&1 || fail "approve o1 by $k"
done
expect_exit 0 "an old vault unseals" -- "$PALISADE" unseal "$O" \
	--release o1 --approvals "$TMP/o1.alice" "$TMP/o1.bob" --to "$TMP/out8"
expect_exit 0 "an old vault's set is replaced" -- "$PALISADE" keys \
	approvers "$O" --admin-key "$TMP/admin.pem" \
	--approver "alice=$TMP/alice.pub" --approver "carol=$TMP/carol.pub"
expect_grep "before: serial 0, alice, bob; 2 needed" "$TMP/out" \
	"the old set is named"
expect_grep "now:    serial 1, alice, carol" "$TMP/out" "serial 1 follows 0"
cp "$TMP/approvers.v1" "$O/approvers.dsse"
expect_exit 1 "the version 1 set put back" -- "$PALISADE" keys approvers \
	"$O" --show
expect_grep "serial 0 is older than serial 1" "$TMP/err" \
	"the old file is refused by its serial"

expect_exit 0 "the audit log verifies" -- "$PALISADE" log verify "$L"
grep -rqa '"event":"adopted"' "$L/tile/entries" && pass ||
	fail "the log does not hold the old vault's set"
grep -rqa '"removed":\["carol"\]' "$L/tile/entries" && pass ||
	fail "the log does not name the removed approver"
grep -rqa '"event":"created"' "$L/tile/entries" && pass ||
	fail "the log does not hold the first set"
for t in vault.seal vault.unseal vault.refused vault.rotate vault.shred \
	vault.approve vault.export vault.approvers; do
	grep -rqa "\"type\":\"$t\"" "$L/tile/entries" && pass ||
		fail "no $t entry in the log"
done
finish
