#!/bin/bash
# formats.sh - detection across formats, from the command line: template
# files, text that only looks like a template, and polyglots that loaders
# read in different ways.
. "$(dirname "$0")/common.bash"

# A chat template file is a template; a README with braces is not.
printf '{%% for m in messages %%}{{ m["content"] }}{%% endfor %%}' >"$TMP/chat_template.jinja"
expect_exit 0 "benign chat_template.jinja" -- "$PALISADE" scan --json "$TMP/chat_template.jinja"
expect_grep '"format": "jinja"' "$TMP/out" "template detected from content"
printf '{{ cycler.__init__.__globals__.os.popen("id").read() }}\n' >"$TMP/chat_template.jinja"
expect_exit 1 "hostile chat_template.jinja" -- "$PALISADE" scan "$TMP/chat_template.jinja"
expect_grep "jinja.sandbox-escape" "$TMP/out" "sandbox escape named"
printf 'Write {{ name }} in templates; {%% unclosed\n' >"$TMP/README.md"
expect_exit 0 "README with braces" -- "$PALISADE" scan "$TMP/README.md"
expect_grep "not a template" "$TMP/out" "README listed as text"

# A pickle with a zip appended: torch.load reads the pickle, zipfile the
# zip.  Both must be scanned.
$PY - "$TMP/poly.bin" <<'PYEOF'
import io, pickle, sys, zipfile
class E:
    def __reduce__(self):
        import os
        return (os.system, ("id",))
z = io.BytesIO()
with zipfile.ZipFile(z, "w") as f:
    f.writestr("archive/data.pkl", pickle.dumps(E(), 2))
open(sys.argv[1], "wb").write(pickle.dumps({"ok": 1}, 2) + z.getvalue())
PYEOF
expect_exit 1 "pickle with a zip behind it" -- "$PALISADE" scan "$TMP/poly.bin"
expect_grep "<zip view>!archive/data.pkl" "$TMP/out" "the zip view is scanned"
expect_grep "posix.system\|os.system" "$TMP/out" "payload in the zip view found"

# TorchScript archives: their pickles go to torch's C++ unpickler, which
# resolves __torch__ classes and torch.jit._pickle builders; real ones are
# clean, and a Python global in them is still found.
for f in torchscript_scripted.pt torchscript_traced.pt; do
	expect_exit 0 "benign TorchScript $f" -- "$PALISADE" scan "$PAL_SRC/tests/data/zip/$f"
done
$PY - "$PAL_SRC/tests/data/zip/torchscript_scripted.pt" "$TMP/ts_evil.pt" <<'PYEOF'
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
evil = b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R."
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
    for i in zin.infolist():
        data = zin.read(i)
        if i.filename.endswith("/data.pkl"):
            data = evil
        zout.writestr(i, data)
PYEOF
expect_exit 1 "TorchScript archive with a Python global" -- "$PALISADE" scan "$TMP/ts_evil.pt"
expect_grep "posix.system" "$TMP/out" "global in a TorchScript pickle named"

# A SavedModel whose attribute map entry lists its value before its key
# (protobuf allows either order): the attribute is still read.
expect_exit 1 "attribute value before key" -- "$PALISADE" scan "$PAL_SRC/tests/data/savedmodel/regress/attr_value_before_key.pb"
expect_grep "DecodeProtoV2" "$TMP/out" "op judged by its attribute"
finish
