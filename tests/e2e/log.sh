#!/bin/bash
# log.sh - palisade log end to end: create, append, read, verify, record
# what hash/sign/verify did, and catch every kind of tampering.
. "$(dirname "$0")/common.bash"

L=$TMP/log
expect_exit 0 "init" -- "$PALISADE" log init "$L" --origin palisade.test/e2e
expect_exit 2 "init twice is refused" -- \
	"$PALISADE" log init "$L" --origin palisade.test/e2e
[ "$(stat -c %a "$L/log.key")" = 600 ] && pass || fail "log.key is not 0600"
expect_exit 0 "verify the empty log" -- "$PALISADE" log verify "$L"
"$PALISADE" log init "$TMP/other" --origin palisade.test/e2e >/dev/null

for i in $(seq 0 299); do
	printf 'entry %d\n' "$i" | "$PALISADE" log append "$L" >"$TMP/idx" ||
		{ fail "append $i"; break; }
	[ "$(cat "$TMP/idx")" = "$i" ] || { fail "append $i got $(cat "$TMP/idx")"; break; }
done
pass
printf 'from a file' > "$TMP/e"
expect_exit 0 "append a file" -- "$PALISADE" log append "$L" "$TMP/e"
expect_grep '^300$' "$TMP/out" "the file's index"
expect_exit 0 "get" -- "$PALISADE" log get "$L" --index 257
expect_grep '^entry 257$' "$TMP/out" "entry 257 reads back"
expect_exit 0 "get the last" -- "$PALISADE" log get "$L" --index 300
expect_grep '^from a file$' "$TMP/out" "entry 300 reads back"
expect_exit 2 "get past the end" -- "$PALISADE" log get "$L" --index 301
expect_exit 0 "checkpoint" -- "$PALISADE" log checkpoint "$L"
expect_grep '^301$' "$TMP/out" "checkpoint size"
expect_grep '^— palisade.test/e2e ' "$TMP/out" "checkpoint signed by the log"
expect_exit 0 "verify" -- "$PALISADE" log verify "$L"
expect_grep "301 entries, 302 checkpoints" "$TMP/out" "every checkpoint checked"
expect_exit 0 "verify --json" -- "$PALISADE" log verify --json "$L"
expect_grep '"verified": true' "$TMP/out" "json verdict"
head -c 70000 /dev/zero > "$TMP/big"
expect_exit 2 "an entry over 65535 bytes" -- "$PALISADE" log append "$L" "$TMP/big"
: > "$TMP/empty"
expect_exit 2 "an empty entry" -- "$PALISADE" log append "$L" "$TMP/empty"

# Proofs.
expect_exit 0 "prove" -- "$PALISADE" log prove "$L" --index 257
cp "$TMP/out" "$TMP/proof"
expect_grep '^c2sp.org/tlog-proof@v1$' "$TMP/proof" "proof header"
expect_exit 0 "verify-proof offline" -- "$PALISADE" log verify-proof \
	"$TMP/proof" --vkey "$L/log.vkey"
expect_grep "entry 257 is in the log: entry 257" "$TMP/out" "proven entry"
printf 'entry 257\n' > "$TMP/e257"
expect_exit 0 "verify-proof with the entry given" -- "$PALISADE" log \
	verify-proof "$TMP/proof" --vkey "$L/log.vkey" --entry "$TMP/e257"
printf 'entry 258\n' > "$TMP/e258"
expect_exit 1 "verify-proof with another entry" -- "$PALISADE" log \
	verify-proof "$TMP/proof" --vkey "$L/log.vkey" --entry "$TMP/e258"
expect_exit 1 "verify-proof with another log's key" -- "$PALISADE" log \
	verify-proof "$TMP/proof" --vkey "$TMP/other/log.vkey"
sed '4s/^./A/' "$TMP/proof" > "$TMP/proof.bad"
expect_exit 1 "verify-proof of a changed proof hash" -- "$PALISADE" log \
	verify-proof "$TMP/proof.bad" --vkey "$L/log.vkey"
expect_exit 0 "prove at an older size" -- "$PALISADE" log prove "$L" \
	--index 10 --size 100
expect_grep '^100$' "$TMP/out" "the older checkpoint is used"
expect_exit 2 "prove past the size" -- "$PALISADE" log prove "$L" \
	--index 100 --size 100
expect_exit 0 "consistency" -- "$PALISADE" log consistency "$L" --from 100
expect_grep '^consistency 100 ' "$TMP/out" "consistency sizes"
expect_exit 2 "consistency from a size never published" -- "$PALISADE" \
	log consistency "$L" --from 100000

# Mirrors.
expect_exit 0 "export" -- "$PALISADE" log export "$L" "$TMP/mirror"
[ ! -e "$TMP/mirror/log.key" ] && pass || fail "the signing key was exported"
expect_exit 0 "verify the mirror against the log" -- "$PALISADE" log verify \
	"$L" --mirror "$TMP/mirror"
expect_grep "the same tree" "$TMP/out" "mirror agrees"
echo more | "$PALISADE" log append "$L" >/dev/null
expect_exit 0 "a mirror behind the log still agrees" -- "$PALISADE" log \
	verify "$L" --mirror "$TMP/mirror"
expect_exit 0 "export again is incremental" -- "$PALISADE" log export "$L" \
	"$TMP/mirror"
expect_grep "new files" "$TMP/out" "export counts new files"
# A fork: a log with the same key but different entries.
rm -rf "$TMP/fork"; cp -a "$TMP/mirror" "$TMP/fork"
cp "$L/log.key" "$TMP/fork/log.key"
echo fork-a | "$PALISADE" log append "$L" >/dev/null
echo fork-b | "$PALISADE" log append "$TMP/fork" >/dev/null
expect_exit 1 "a split view is caught" -- "$PALISADE" log verify "$L" \
	--mirror "$TMP/fork"
expect_grep "split view\|diverged\|differ" "$TMP/out" "the split is named"
expect_exit 1 "export onto a diverged mirror stops" -- "$PALISADE" log \
	export "$L" "$TMP/fork"

# Witnesses: cosignatures and a 2-of-2 policy.
W1=$("$PALISADE" log witness-key w1.example --key "$TMP/w1.key")
W2=$("$PALISADE" log witness-key w2.example --key "$TMP/w2.key")
printf 'witness w1.example %s\nwitness w2.example %s\ngroup both all w1.example w2.example\nquorum both\n' \
	"$W1" "$W2" > "$TMP/policy"
expect_exit 1 "no cosignature: the quorum fails" -- "$PALISADE" log verify \
	"$L" --witnesses "$TMP/policy"
expect_grep "quorum" "$TMP/out" "the quorum is named"
expect_exit 0 "witness 1 cosigns" -- "$PALISADE" log cosign "$L" \
	--key "$TMP/w1.key" --state "$TMP/w1.state"
expect_exit 1 "one of two" -- "$PALISADE" log verify "$L" \
	--witnesses "$TMP/policy"
expect_exit 0 "witness 2 cosigns" -- "$PALISADE" log cosign "$L" \
	--key "$TMP/w2.key" --state "$TMP/w2.state"
expect_exit 0 "two of two" -- "$PALISADE" log verify "$L" \
	--witnesses "$TMP/policy"
"$PALISADE" log prove "$L" --index 3 > "$TMP/wproof"
expect_exit 0 "a witnessed proof verifies offline" -- "$PALISADE" log \
	verify-proof "$TMP/wproof" --vkey "$L/log.vkey" --witnesses "$TMP/policy"
echo more | "$PALISADE" log append "$L" >/dev/null
expect_exit 0 "the witness cosigns a grown, consistent log" -- "$PALISADE" \
	log cosign "$L" --key "$TMP/w1.key" --state "$TMP/w1.state"
rm -rf "$TMP/fork"; cp -a "$L" "$TMP/fork"
"$PALISADE" log export "$L" "$TMP/wfork" >/dev/null
cp "$L/log.key" "$TMP/wfork/log.key"
echo honest | "$PALISADE" log append "$L" >/dev/null
echo forged | "$PALISADE" log append "$TMP/wfork" >/dev/null
expect_exit 0 "the witness cosigns the honest log" -- "$PALISADE" log \
	cosign "$L" --key "$TMP/w1.key" --state "$TMP/w1.state"
echo more | "$PALISADE" log append "$TMP/wfork" >/dev/null
expect_exit 1 "the witness refuses a fork of what it cosigned" -- \
	"$PALISADE" log cosign "$TMP/wfork" --key "$TMP/w1.key" \
	--state "$TMP/w1.state"
expect_grep "not consistent" "$TMP/err" "the fork is named"

# Records from the other commands.
M=$TMP/model
mkdir -p "$M"
echo weights > "$M/w.bin"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/k" 2>/dev/null
openssl pkey -in "$TMP/k" -pubout -out "$TMP/k.pub" 2>/dev/null
expect_exit 0 "sign --log" -- "$PALISADE" sign "$M" --key "$TMP/k" \
	-o "$TMP/m.sig" --log "$L"
expect_grep "logged as entry [0-9]* of" "$TMP/err" "sign says where it logged"
expect_exit 0 "verify --log" -- "$PALISADE" verify "$M" --signature \
	"$TMP/m.sig" --key "$TMP/k.pub" --log "$L"
echo changed > "$M/w.bin"
expect_exit 1 "failed verify --log" -- "$PALISADE" verify "$M" \
	--signature "$TMP/m.sig" --key "$TMP/k.pub" --log "$L"
failed_idx=$(sed -n 's/.*logged as entry \([0-9]*\) .*/\1/p' "$TMP/err")
expect_exit 0 "get the failed verification" -- "$PALISADE" log get "$L" \
	--index "${failed_idx:-none}"
expect_grep '"type":"model.verify-failed"' "$TMP/out" "the refusal is recorded"
expect_grep '"subject":"sha256:' "$TMP/out" "with the model's root digest"
printf 'cos\nsystem\n(S'"'"'id'"'"'\ntR.' > "$M/evil.pkl"
expect_exit 1 "scan --log" -- "$PALISADE" scan --log "$L" "$M"
scan_idx=$(sed -n 's/.*logged as entry \([0-9]*\) .*/\1/p' "$TMP/err")
expect_exit 0 "get the scan verdict" -- "$PALISADE" log get "$L" \
	--index "${scan_idx:-none}"
expect_grep '"type":"model.scan-findings"' "$TMP/out" "the scan verdict is recorded"
expect_grep '"exit":1' "$TMP/out" "with its exit status"
expect_exit 0 "verify after records" -- "$PALISADE" log verify "$L"

# Tampering: each on a fresh copy.
tamper() {	# tamper NAME PATTERN COMMAND...
	what=$1 pat=$2; shift 2
	rm -rf "$TMP/t"; cp -a "$L" "$TMP/t"
	"$@"
	expect_exit 1 "tamper: $what" -- "$PALISADE" log verify "$TMP/t"
	expect_grep "$pat" "$TMP/out" "tamper: $what is named"
}
flip() { printf 'X' | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
tamper "a leaf hash" "tile/0/000 is not" flip "$TMP/t/tile/0/000" 40
tamper "an entry" "not consistent\|is not what" flip "$TMP/t/tile/entries/000" 3
tamper "the partial entry bundle" "root\|not what" \
	sh -c 'w=$(( $(sed -n 2p "$1/checkpoint") % 256 ));
		printf X | dd of="$1/tile/entries/001.p/$w" bs=1 seek=3 \
		conv=notrunc status=none' sh "$TMP/t"
tamper "an old checkpoint replaced by another" "holds a checkpoint" \
	cp "$TMP/t/checkpoints/5" "$TMP/t/checkpoints/6"
# (The first base64 character becomes another one: 'B' if it was 'A'.)
tamper "the checkpoint's signature" "signature\|verif" \
	sed -i 's/^\(— palisade.test\/e2e \)A/\1B/;t;s/^\(— palisade.test\/e2e \)./\1A/' \
	"$TMP/t/checkpoint"
# A log whose key is not the one it is checked against.
expect_exit 1 "verify with another log's key" -- "$PALISADE" log verify "$L" \
	--vkey "$TMP/other/log.vkey"

finish
