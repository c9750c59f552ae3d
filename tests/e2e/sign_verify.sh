#!/bin/bash
# sign_verify.sh - palisade hash, sign and verify end to end: the signed
# examples of model_signing 0.2.0 to 1.1.0 and the OMS spec vectors, sign ->
# verify round trips, and every tamper the verifier must catch.
. "$(dirname "$0")/common.bash"

OMS=$PAL_SRC/tests/data/oms
MT=$OMS/model-transparency/tests
CA=$MT/keys/certificate
ROOT=$OMS/sigstore-public-good-trusted_root.json
PKI=$TMP/pki
mkdir -p "$PKI"
$PY "$PAL_SRC/tests/e2e/gen-pki.py" "$PKI" || { echo "gen-pki failed"; exit 2; }

# --- the model_signing examples -------------------------------------------
for d in "$MT"/v*-elliptic-key; do
	model=$d
	[ -e "$d/signme-2" ] || model=$d/signme-1	# single-file examples
	expect_exit 0 "$(basename "$d") verifies" -- \
		"$PALISADE" verify "$model" --signature "$d/model.sig" \
		--key "$CA/signing-key-pub.pem" --ignore-path ignore-me
done
for d in "$MT"/v*-certificate; do
	expect_exit 0 "$(basename "$d") verifies" -- \
		"$PALISADE" verify "$d" --signature "$d/model.sig" \
		--ca "$CA/ca-cert.pem" --ignore-path ignore-me
done
for d in "$MT"/v*-sigstore; do
	expect_exit 0 "$(basename "$d") verifies offline" -- \
		"$PALISADE" verify "$d" --signature "$d/model.sig" \
		--trusted-root "$ROOT" --identity stefanb@us.ibm.com \
		--issuer https://sigstore.verify.ibm.com/oauth2 \
		--ignore-path ignore-me
done
d=$MT/v1.1.0-sigstore
expect_exit 1 "sigstore: wrong identity fails" -- \
	"$PALISADE" verify "$d" --signature "$d/model.sig" \
	--trusted-root "$ROOT" --identity someone@example.com \
	--issuer https://sigstore.verify.ibm.com/oauth2
expect_grep "identity" "$TMP/out" "wrong identity is named"
expect_exit 1 "sigstore: wrong issuer fails" -- \
	"$PALISADE" verify "$d" --signature "$d/model.sig" \
	--trusted-root "$ROOT" --identity stefanb@us.ibm.com \
	--issuer https://accounts.google.com
# v1.0.1 records no ignore paths: its extra file must fail without the flag.
d=$MT/v1.0.1-certificate
expect_exit 1 "an unsigned file fails" -- \
	"$PALISADE" verify "$d" --signature "$d/model.sig" --ca "$CA/ca-cert.pem"
expect_grep "unsigned *ignore-me" "$TMP/out" "the unsigned file is named"
d=$MT/v1.1.0-certificate
expect_exit 1 "an untrusted CA fails" -- \
	"$PALISADE" verify "$d" --signature "$d/model.sig" --ca "$PKI/root.pem"
expect_grep "certificate chain" "$TMP/out" "the chain failure is named"
expect_exit 1 "the wrong key fails" -- \
	"$PALISADE" verify "$MT/v1.1.0-elliptic-key" \
	--signature "$MT/v1.1.0-elliptic-key/model.sig" --key "$PKI/leaf.pub"

# The spec's vectors sign the model_signing 1.1.0 example models.
SPEC=$OMS/spec/test-vectors/v1.0
EK=$MT/v1.1.0-elliptic-key
expect_exit 0 "spec vector valid/key verifies" -- \
	"$PALISADE" verify "$EK" --signature "$SPEC/valid/key.bundle.json" \
	--key "$CA/signing-key-pub.pem" --ignore-path model.sig
expect_exit 0 "spec vector valid/certificate verifies" -- \
	"$PALISADE" verify "$EK" \
	--signature "$SPEC/valid/certificate.bundle.json" --ca "$CA/ca-cert.pem" \
	--ignore-path model.sig
expect_exit 0 "spec vector valid/sigstore verifies" -- \
	"$PALISADE" verify "$MT/v1.1.0-sigstore" \
	--signature "$SPEC/valid/sigstore.bundle.json" --trusted-root "$ROOT" \
	--identity stefanb@us.ibm.com \
	--issuer https://sigstore.verify.ibm.com/oauth2
for v in empty:"not JSON" missing-envelope:"no dsseEnvelope" \
	missing-verification-material:"no verificationMaterial" \
	missing-tlog-entries:"needs tlogEntries"; do
	expect_exit 1 "spec vector invalid/${v%%:*} is rejected" -- \
		"$PALISADE" verify "$EK" --key "$CA/signing-key-pub.pem" \
		--signature "$SPEC/invalid/${v%%:*}.bundle.json"
	expect_grep "${v#*:}" "$TMP/out" "invalid/${v%%:*}: the reason is named"
done
expect_exit 1 "spec vector invalid-payload/wrong-predicate is rejected" -- \
	"$PALISADE" verify "$EK" --key "$CA/signing-key-pub.pem" \
	--signature "$SPEC/invalid-payload/wrong-predicate.bundle.json"
# Its payload was edited after signing: the signature is checked first.
expect_grep "signature does not verify" "$TMP/out" "wrong predicate: reason"

# --- round trips ------------------------------------------------------------
M=$TMP/model
mkdir -p "$M/sub/deeper" "$M/.git"
head -c 100000 /dev/urandom > "$M/weights.bin"
echo '{"a": 1}' > "$M/config.json"
: > "$M/empty"
echo nested > "$M/sub/deeper/file.txt"
echo ignored > "$M/.git/HEAD"

sign_ok() {	# sign_ok NAME ARGS... : sign $M with ARGS, must succeed
	what=$1; shift
	expect_exit 0 "sign: $what" -- "$PALISADE" sign "$M" -o "$TMP/m.sig" "$@"
}
verify_is() {	# verify_is WANT NAME ARGS...
	want=$1 what=$2; shift 2
	expect_exit "$want" "verify: $what" -- \
		"$PALISADE" verify "$M" --signature "$TMP/m.sig" "$@"
}

for k in leaf leaf384 leaf521; do
	sign_ok "key $k" --key "$PKI/$k.key"
	verify_is 0 "key $k" --key "$PKI/$k.pub"
done
sign_ok "certificate with chain" --key "$PKI/leaf.key" \
	--cert "$PKI/leaf.pem" --chain "$PKI/intermediate.pem"
verify_is 0 "certificate chain to the root" --ca "$PKI/root.pem"
verify_is 1 "certificate from another root" --ca "$PKI/other-root.pem"
verify_is 2 "certificate bundle with --key" --key "$PKI/leaf.pub"

sign_ok "expired certificate" --key "$PKI/expired.key" \
	--cert "$PKI/expired.pem" --chain "$PKI/intermediate.pem"
verify_is 1 "expired certificate" --ca "$PKI/root.pem"
expect_grep "expired" "$TMP/out" "expiry is named"
sign_ok "certificate without codeSigning" --key "$PKI/notcodesign.key" \
	--cert "$PKI/notcodesign.pem" --chain "$PKI/intermediate.pem"
verify_is 1 "certificate without codeSigning" --ca "$PKI/root.pem"
expect_exit 2 "sign: certificate for another key is refused" -- \
	"$PALISADE" sign "$M" -o "$TMP/x.sig" --key "$PKI/leaf.key" \
	--cert "$PKI/foreign.pem"

# Tampering, each on a fresh copy signed with a key.
sign_ok "for tampering" --key "$PKI/leaf.key"
cp -a "$M" "$TMP/pristine"
tamper() {	# tamper NAME KIND COMMAND...: COMMAND changes $M, verify fails
	what=$1 kind=$2; shift 2
	"$@"
	verify_is 1 "$what" --key "$PKI/leaf.pub"
	expect_grep "$kind" "$TMP/out" "$what is reported as $kind"
	rm -rf "$M"; cp -a "$TMP/pristine" "$M"
}
flip() { printf 'X' | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
tamper "flipped byte" "modified *weights.bin" flip "$M/weights.bin" 5000
tamper "flipped nested byte" "modified *sub/deeper/file.txt" \
	flip "$M/sub/deeper/file.txt" 0
tamper "added file" "unsigned *extra" touch "$M/extra"
tamper "added nested file" "unsigned *sub/new" touch "$M/sub/new"
tamper "added file whose name moves the cursor" 'unsigned *evil\\x1b\[2J' \
	touch "$M/evil"$'\e'"[2J"
tamper "removed file" "missing *config.json" rm "$M/config.json"
tamper "renamed file" "missing *config.json" mv "$M/config.json" "$M/config2.json"
tamper "emptied file" "modified *weights.bin" truncate -s 0 "$M/weights.bin"
tamper "filled empty file" "modified *empty" sh -c "echo x > '$M/empty'"
verify_is 0 "pristine copy still verifies" --key "$PKI/leaf.pub"
expect_grep "verified" "$TMP/out" "verified is printed"

# The signature itself.
cp "$TMP/m.sig" "$TMP/good.sig"
head -c 300 "$TMP/good.sig" > "$TMP/m.sig"
verify_is 1 "truncated signature" --key "$PKI/leaf.pub"
$PY - "$TMP/good.sig" "$TMP/m.sig" <<'PYEOF'
import base64, json, sys
b = json.load(open(sys.argv[1]))
s = bytearray(base64.b64decode(b["dsseEnvelope"]["signatures"][0]["sig"]))
s[10] ^= 1
b["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(s).decode()
json.dump(b, open(sys.argv[2], "w"))
PYEOF
verify_is 1 "flipped signature bit" --key "$PKI/leaf.pub"
expect_grep "signature does not verify" "$TMP/out" "bad signature named"
$PY - "$TMP/good.sig" "$TMP/m.sig" <<'PYEOF'
import base64, json, sys
b = json.load(open(sys.argv[1]))
p = json.loads(base64.b64decode(b["dsseEnvelope"]["payload"]))
p["predicate"]["resources"][0]["digest"] = "00" * 32
b["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(p).encode()).decode()
json.dump(b, open(sys.argv[2], "w"))
PYEOF
verify_is 1 "payload edited after signing" --key "$PKI/leaf.pub"
cp "$MT/v1.1.0-elliptic-key/model.sig" "$TMP/m.sig"
verify_is 1 "signature of another model" --key "$CA/signing-key-pub.pem"
echo "{" > "$TMP/m.sig"
verify_is 1 "signature that is not JSON" --key "$PKI/leaf.pub"
verify_is 2 "missing signature file" --key "$PKI/leaf.pub" \
	--signature "$TMP/nonexistent.sig"
cp "$TMP/good.sig" "$TMP/m.sig"

# --- hashing settings recorded in the bundle --------------------------------
sign_ok "blake2b" --key "$PKI/leaf.key" --hash blake2b
verify_is 0 "blake2b" --key "$PKI/leaf.pub"
expect_grep '"hash_type":"blake2b"' <(base64 -d <<<"$(
	$PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["dsseEnvelope"]["payload"])' "$TMP/m.sig")") \
	"blake2b recorded"
sign_ok "shards" --key "$PKI/leaf.key" --shard-size 30000
verify_is 0 "shards" --key "$PKI/leaf.pub"
flip "$M/weights.bin" 95000
verify_is 1 "shards: flipped byte in the last shard" --key "$PKI/leaf.pub"
expect_grep "weights.bin:90000:100000" "$TMP/out" "the shard is named"
rm -rf "$M"; cp -a "$TMP/pristine" "$M"
sign_ok "ignore path" --key "$PKI/leaf.key" --ignore-path sub
touch "$M/sub/unsigned-but-ignored"
verify_is 0 "ignore path recorded in the bundle" --key "$PKI/leaf.pub"
rm -rf "$M"; cp -a "$TMP/pristine" "$M"

# Signature inside the model directory: left out and recorded.
expect_exit 0 "sign with the bundle inside the model" -- \
	"$PALISADE" sign "$M" -o "$M/model.sig" --key "$PKI/leaf.key"
expect_exit 0 "verify with the bundle inside the model" -- \
	"$PALISADE" verify "$M" --signature "$M/model.sig" --key "$PKI/leaf.pub"
rm -f "$M/model.sig"

# Single-file model.
expect_exit 0 "sign a single file" -- "$PALISADE" sign "$M/weights.bin" \
	-o "$TMP/w.sig" --key "$PKI/leaf.key"
expect_exit 0 "verify a single file" -- "$PALISADE" verify "$M/weights.bin" \
	--signature "$TMP/w.sig" --key "$PKI/leaf.pub"
expect_exit 1 "a different file with the single-file signature" -- \
	"$PALISADE" verify "$M/config.json" --signature "$TMP/w.sig" \
	--key "$PKI/leaf.pub"

# --- symlinks ----------------------------------------------------------------
ln -s config.json "$M/link"
expect_exit 2 "sign: a symlink is refused by default" -- \
	"$PALISADE" sign "$M" -o "$TMP/s.sig" --key "$PKI/leaf.key"
expect_grep "symbolic link" "$TMP/err" "the symlink is named"
expect_exit 0 "sign: --allow-symlinks follows one inside" -- \
	"$PALISADE" sign "$M" -o "$TMP/s.sig" --key "$PKI/leaf.key" \
	--allow-symlinks
expect_exit 0 "verify with symlinks allowed by the bundle" -- \
	"$PALISADE" verify "$M" --signature "$TMP/s.sig" --key "$PKI/leaf.pub"
rm "$M/link"
echo secret > "$TMP/outside"
ln -s "$TMP/outside" "$M/escape"
expect_exit 2 "sign: a symlink leaving the model is refused" -- \
	"$PALISADE" sign "$M" -o "$TMP/s.sig" --key "$PKI/leaf.key" \
	--allow-symlinks
ln -sf ../../outside "$M/escape"
expect_exit 2 "sign: a relative symlink leaving the model is refused" -- \
	"$PALISADE" sign "$M" -o "$TMP/s.sig" --key "$PKI/leaf.key" \
	--allow-symlinks
rm "$M/escape"

# --- trust policy ---------------------------------------------------------------
cat > "$PKI/policy.yaml" <<YAML
version: 1
sources:
  - match: "acme/*"
    keys: [leaf.pub, leaf384.pub]
    cas:
      - root: root.pem
  - match: "ibm/*"
    sigstore:
      trusted_root: $ROOT
      identities:
        - identity: stefanb@us.ibm.com
          issuer: https://sigstore.verify.ibm.com/oauth2
  - match: "frozen/*"
YAML
"$PALISADE" sign "$M" -o "$TMP/p.sig" --key "$PKI/leaf384.key" >/dev/null
expect_exit 0 "policy: a key the rule allows" -- "$PALISADE" verify "$M" \
	--signature "$TMP/p.sig" --policy "$PKI/policy.yaml" --source acme/model
expect_exit 1 "policy: a source no rule matches" -- "$PALISADE" verify "$M" \
	--signature "$TMP/p.sig" --policy "$PKI/policy.yaml" --source evil/model
expect_grep "evil/model" "$TMP/out" "the unmatched source is named"
expect_exit 1 "policy: a rule that allows nothing" -- "$PALISADE" verify "$M" \
	--signature "$TMP/p.sig" --policy "$PKI/policy.yaml" --source frozen/m
expect_exit 1 "policy: a key the rule does not allow" -- "$PALISADE" verify \
	"$M" --signature "$TMP/p.sig" --policy "$PKI/policy.yaml" \
	--source ibm/model
expect_grep "allows no key signer" "$TMP/out" "the rule is named"
"$PALISADE" sign "$M" -o "$TMP/p.sig" --key "$PKI/leaf521.key" >/dev/null
expect_exit 1 "policy: a key outside the rule's list" -- "$PALISADE" verify \
	"$M" --signature "$TMP/p.sig" --policy "$PKI/policy.yaml" \
	--source acme/model
"$PALISADE" sign "$M" -o "$TMP/p.sig" --key "$PKI/leaf.key" \
	--cert "$PKI/leaf.pem" --chain "$PKI/intermediate.pem" >/dev/null
expect_exit 0 "policy: a certificate under the rule's CA" -- "$PALISADE" \
	verify "$M" --signature "$TMP/p.sig" --policy "$PKI/policy.yaml" \
	--source acme/model
d=$MT/v1.1.0-sigstore
expect_exit 0 "policy: a Sigstore identity the rule allows" -- "$PALISADE" \
	verify "$d" --signature "$d/model.sig" --policy "$PKI/policy.yaml" \
	--source ibm/granite
expect_exit 1 "policy: the same bundle under another source" -- "$PALISADE" \
	verify "$d" --signature "$d/model.sig" --policy "$PKI/policy.yaml" \
	--source acme/granite
echo "version: 2" > "$TMP/bad.yaml"
expect_exit 2 "policy: a malformed policy" -- "$PALISADE" verify "$M" \
	--signature "$TMP/p.sig" --policy "$TMP/bad.yaml"
expect_grep "bad.yaml:1" "$TMP/err" "the policy error names file:line"
expect_exit 2 "policy with --key" -- "$PALISADE" verify "$M" \
	--signature "$TMP/p.sig" --policy "$PKI/policy.yaml" --key "$PKI/leaf.pub"

# --- hash ----------------------------------------------------------------------
expect_exit 0 "hash" -- "$PALISADE" hash "$M"
(cd "$M" && grep -v '^#' "$TMP/out" | sha256sum -c --quiet) >"$TMP/c" 2>&1 \
	&& pass || fail "hash output is what sha256sum -c accepts"
expect_exit 0 "hash --json" -- "$PALISADE" hash --json "$M"
expect_grep '"root_digest"' "$TMP/out" "json has the root digest"
expect_exit 2 "hash of a missing path" -- "$PALISADE" hash "$TMP/none"
mkdir "$TMP/emptydir"
expect_exit 2 "hash of a model with no files" -- "$PALISADE" hash "$TMP/emptydir"
expect_exit 2 "hash --hash md5 is refused" -- "$PALISADE" hash --hash md5 "$M"
expect_exit 2 "sign without --key" -- "$PALISADE" sign "$M"
expect_exit 2 "sign with a key that is not a key" -- \
	"$PALISADE" sign "$M" -o "$TMP/x.sig" --key "$M/config.json"
[ ! -e "$TMP/x.sig" ] && pass || fail "no bundle is left behind on failure"

finish
