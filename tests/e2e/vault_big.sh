#!/bin/bash
# vault_big.sh - a round trip of a sparse file past 4 GiB through seal and
# unseal, so that no offset or length on the path can be 32 bits wide.
. "$(dirname "$0")/common.bash"
command -v softhsm2-util >/dev/null || { echo "softhsm2 missing"; exit 77; }

export PALISADE_PKCS11_PIN=1234 PALISADE_PKCS11_SO_PIN=5678
V=$TMP/vault
M=$TMP/model
mkdir -p "$M"
# 4 GiB + 12345 bytes: holes, with data at the start, across 2^31 and 2^32,
# and at the end (the final, short chunk).
truncate -s $(( (4 << 30) + 12345 )) "$M/big.bin"
for off in 0 $(( (2 << 30) - 3 )) $(( (4 << 30) - 5 )) $(( (4 << 30) + 12300 )); do
	printf 'palisade%012d' "$off" | dd of="$M/big.bin" bs=1 seek="$off" \
		conv=notrunc 2>/dev/null
done
for k in admin alice bob; do
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$TMP/$k.pem" 2>/dev/null
	openssl pkey -in "$TMP/$k.pem" -pubout -out "$TMP/$k.pub" 2>/dev/null
done
expect_exit 0 "keys init" -- "$PALISADE" keys init "$V" \
	--admin-key "$TMP/admin.pem" --approver "alice=$TMP/alice.pub" \
	--approver "bob=$TMP/bob.pub"
expect_exit 0 "seal 4 GiB" -- "$PALISADE" seal "$M" --release big -o "$V"
expect_grep "4294979641 bytes" "$TMP/out" "every byte sealed"
"$PALISADE" request unseal "$V" --release big --requester dave \
	-o "$TMP/req" >/dev/null
for k in alice bob; do
	"$PALISADE" approve "$TMP/req" --key "$TMP/$k.pem" --vault "$V" \
		-o "$TMP/req.$k" >/dev/null || fail "approve by $k"
done
"$PALISADE" unseal "$V" --release big --approvals "$TMP/req.alice" \
	"$TMP/req.bob" --stdout --file big.bin 2>"$TMP/err" |
	cmp - "$M/big.bin" && pass || { fail "4 GiB round trip"; cat "$TMP/err" >&2; }
finish
