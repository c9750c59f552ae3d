#!/bin/bash
# tiny_llm.sh - the reference model server (examples/tiny-llm) end to end:
# on a loopback port, a Unix socket and an inherited socket with the
# weights in a sealed memfd; greedy output against the torch reference
# computed from the same safetensors file (train.py generate), streamed
# against whole, seeds, stop sequences, the chat template; every refusal
# with its status; corrupted weights refused at start naming the problem;
# SIGTERM and SIGINT ending with status 0.
. "$(dirname "$0")/common.bash"

SERVER=${TINY_LLM_SERVER:-$(dirname "$PALISADE")/tiny-llm-server}
EX=$PAL_SRC/examples/tiny-llm
MODEL=$EX/model.safetensors
if [ ! -x "$SERVER" ]; then
	echo "FAIL: $SERVER is not built (cmake --build ... --target tiny-llm-server)"
	exit 1
fi
PIDS=
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

# start NAME ARGS...: runs the server in the background until it says
# where it listens; sets PID and WHERE.
start() {
	name=$1; shift
	"$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	PID=$!
	PIDS="$PIDS $PID"
	for _ in $(seq 100); do
		WHERE=$(sed -n 's/.*listening on \(.*\)$/\1/p' "$TMP/$name.out")
		[ -n "$WHERE" ] && return 0
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "$name did not start"; cat "$TMP/$name.err" >&2
	finish
}

# stop PID SIGNAL NAME: the server must exit 0 on the signal.
stop() {
	kill "-$2" "$1"
	wait "$1"
	rc=$?
	[ "$rc" -eq 0 ] && pass || {
		fail "$3: exit $rc after SIG$2"; tail -n 20 "$TMP/$3.err" >&2; }
}

# req METHOD PATH [BODY [CURL ARGS...]]: the answer in $TMP/resp, the
# status in $CODE.  Uses $BASE and the curl arguments in ${VIA[@]}.
req() {
	m=$1 path=$2; shift 2
	if [ $# -gt 0 ]; then
		body=$1; shift
		CODE=$(curl -sS -o "$TMP/resp" -w '%{http_code}' "${VIA[@]}" \
			-X "$m" -H 'Content-Type: application/json' \
			--data-binary "$body" "$@" "$BASE$path")
	else
		CODE=$(curl -sS -o "$TMP/resp" -w '%{http_code}' "${VIA[@]}" \
			-X "$m" "$BASE$path")
	fi
}

# expect_status WANT DESCRIPTION: checks $CODE and, for an error, its
# OpenAI shape.
expect_status() {
	if [ "$CODE" != "$1" ]; then
		fail "$2: HTTP $CODE, want $1"; head -c 400 "$TMP/resp" >&2
		echo >&2; return
	fi
	if [ "$1" -ge 400 ]; then
		$PY -c 'import json,sys; e=json.load(open(sys.argv[1]))["error"]
assert isinstance(e["message"], str) and e["message"]
assert e["type"] in ("invalid_request_error", "server_error")
assert "param" in e and "code" in e' "$TMP/resp" 2>/dev/null && pass ||
			{ fail "$2: not an OpenAI error"; cat "$TMP/resp" >&2; }
	else
		pass
	fi
}

# text FILE: the choice's text of a whole answer (completion or chat).
text() {
	$PY -c 'import json,sys; c=json.load(open(sys.argv[1]))["choices"][0]
sys.stdout.write(c["text"] if "text" in c else c["message"]["content"])' "$1"
}
field() {	# field FILE PYTHON-EXPR-OF-j
	$PY -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# sse FILE: checks a stream (events, JSON chunks, a finish_reason, [DONE]
# last) and prints its text, then a line "finish usage" on stderr.
sse() {
	$PY - "$1" <<'EOF'
import json, sys
raw = open(sys.argv[1], encoding="utf-8").read()
assert raw.endswith("\n\n"), "the stream does not end an event"
events = raw[:-2].split("\n\n")
assert all(e.startswith("data: ") and "\n" not in e for e in events), events
assert events[-1] == "data: [DONE]", "no [DONE] at the end"
text, finish, usage, ids = "", None, None, set()
for e in events[:-1]:
    c = json.loads(e[6:])
    ids.add(c["id"])
    assert "system_fingerprint" in c
    if not c["choices"]:
        assert usage is None and finish is not None
        usage = c["usage"]
        continue
    assert usage is None, "a choice after the usage chunk"
    ch = c["choices"][0]
    assert finish is None, "a chunk after the finish_reason"
    if c["object"] == "chat.completion.chunk":
        text += ch["delta"].get("content", "")
    else:
        assert c["object"] == "text_completion"
        text += ch["text"]
    finish = ch.get("finish_reason")
assert len(ids) == 1 and finish in ("stop", "length")
sys.stdout.write(text)
sys.stderr.write("%s %s\n" % (finish, usage["completion_tokens"] if usage else "-"))
EOF
}

# --- a loopback port -------------------------------------------------------
start tcp "$SERVER" --model "$MODEL" --listen 127.0.0.1:0
TCP_PID=$PID
BASE=http://$WHERE
VIA=()
case $WHERE in 127.0.0.1:[0-9]*) pass ;; *) fail "listening on '$WHERE'" ;; esac

req GET /v1/models
expect_status 200 "models"
[ "$(field "$TMP/resp" 'j["data"][0]["id"]')" = tiny ] && pass ||
	fail "/v1/models does not list tiny"
req GET /health
expect_status 200 "health"

PROMPT="Deploying AI systems securely requires"
GREEDY='{"model":"tiny","prompt":"'$PROMPT'","max_tokens":64,"temperature":0}'
req POST /v1/completions "$GREEDY"
expect_status 200 "greedy completion"
text "$TMP/resp" >"$TMP/greedy1"
cp "$TMP/resp" "$TMP/greedy1.json"
[ -s "$TMP/greedy1" ] && pass || fail "the greedy completion is empty"
[ "$(field "$TMP/greedy1.json" 'j["usage"]')" = \
  "{'prompt_tokens': ${#PROMPT}, 'completion_tokens': 64, 'total_tokens': $((${#PROMPT} + 64))}" ] &&
	pass || fail "usage: $(field "$TMP/greedy1.json" 'j["usage"]')"
[ "$(field "$TMP/greedy1.json" 'j["choices"][0]["finish_reason"]')" = length ] &&
	pass || fail "finish_reason is not length"
field "$TMP/greedy1.json" 'j["system_fingerprint"]' | grep -q '^fp_' &&
	pass || fail "no system_fingerprint"
req POST /v1/completions "$GREEDY"
text "$TMP/resp" >"$TMP/greedy2"
cmp -s "$TMP/greedy1" "$TMP/greedy2" && pass ||
	fail "two greedy completions differ"
echo "greedy: $PROMPT|$(cat "$TMP/greedy1")"

# The chat template (request.h): "<role>: <content>\n"..., "assistant: ".
CHAT='{"model":"tiny","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What should be protected?"}],"max_tokens":48,"temperature":0}'
CHAT_PROMPT=$'system: Be brief.\nuser: What should be protected?\nassistant: '
req POST /v1/chat/completions "$CHAT"
expect_status 200 "greedy chat"
text "$TMP/resp" >"$TMP/chat1"
[ "$(field "$TMP/resp" 'j["object"], j["choices"][0]["message"]["role"]')" = \
  "('chat.completion', 'assistant')" ] && pass || fail "chat answer shape"
[ "$(field "$TMP/resp" 'j["usage"]["prompt_tokens"]')" = "${#CHAT_PROMPT}" ] &&
	pass || fail "chat prompt tokens are not the template's bytes"

# Near the end of the context: max_tokens is cut to what is left.
LONG=$(head -c 230 "$EX/corpus/deploying-ai-systems-securely.txt" | tr -cd 'a-zA-Z ,.')
req POST /v1/completions '{"model":"tiny","prompt":"'"$LONG"'","max_tokens":100,"temperature":0}'
expect_status 200 "completion to the end of the context"
text "$TMP/resp" >"$TMP/long"
[ "$(field "$TMP/resp" 'j["usage"]["total_tokens"], j["choices"][0]["finish_reason"]')" = \
  "(256, 'length')" ] && pass || fail "the context's end: $(field "$TMP/resp" 'j["usage"]')"

# --- the torch reference, from the same file ---------------------------
# train.py generate runs the model in torch, recomputing every position
# without a cache: equal bytes prove the C forward pass and its cache.
reference() {	# reference PROMPT N OUT
	$PY "$EX/train.py" generate --model "$MODEL" --prompt "$1" \
		--max-tokens "$2" >"$TMP/ref.json" 2>"$TMP/ref.err" ||
		{ fail "train.py generate"; cat "$TMP/ref.err" >&2; return; }
	$PY -c 'import json,sys
sys.stdout.write(bytes.fromhex(json.load(open(sys.argv[1]))["hex"]).decode("utf-8", "replace"))' \
		"$TMP/ref.json" >"$3"
}
if $PY -c 'import torch' 2>/dev/null; then
	reference "$PROMPT" 64 "$TMP/ref1"
	cmp -s "$TMP/greedy1" "$TMP/ref1" && pass || {
		fail "greedy completion differs from the torch reference"
		echo "  server: $(cat "$TMP/greedy1")" >&2
		echo "  torch:  $(cat "$TMP/ref1")" >&2; }
	reference "$CHAT_PROMPT" 48 "$TMP/ref2"
	cmp -s "$TMP/chat1" "$TMP/ref2" && pass ||
		fail "greedy chat differs from the torch reference"
	reference "$LONG" 100 "$TMP/ref3"
	cmp -s "$TMP/long" "$TMP/ref3" && pass ||
		fail "completion to the context's end differs from torch"
else
	echo "SKIP: torch cannot be imported by $PY: the C forward pass is not compared with the reference"
fi

# --- streaming -------------------------------------------------------------
STREAM='{"model":"tiny","prompt":"'$PROMPT'","max_tokens":64,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}'
curl -sSN "$BASE/v1/completions" -d "$STREAM" -D "$TMP/sse.head" >"$TMP/sse1"
grep -qi '^content-type: text/event-stream' "$TMP/sse.head" && pass ||
	fail "the stream's content type"
sse "$TMP/sse1" >"$TMP/sse1.text" 2>"$TMP/sse1.meta" && pass ||
	{ fail "malformed stream"; cat "$TMP/sse1.meta" >&2; }
cmp -s "$TMP/sse1.text" "$TMP/greedy1" && pass ||
	fail "the streamed text differs from the whole one"
[ "$(cat "$TMP/sse1.meta")" = "length 64" ] && pass ||
	fail "stream finish/usage: $(cat "$TMP/sse1.meta")"
[ "$(grep -c '^data: ' "$TMP/sse1")" -gt 10 ] && pass ||
	fail "the stream is not a chunk per token or so"
curl -sSN "$BASE/v1/chat/completions" \
	-d "${CHAT%\}},\"stream\":true}" >"$TMP/sse2"
sse "$TMP/sse2" >"$TMP/sse2.text" 2>"$TMP/sse2.meta" && pass ||
	{ fail "malformed chat stream"; cat "$TMP/sse2.meta" >&2; }
cmp -s "$TMP/sse2.text" "$TMP/chat1" && pass ||
	fail "the streamed chat differs from the whole one"
[ "$(cat "$TMP/sse2.meta")" = "length -" ] && pass ||
	fail "a usage chunk nobody asked for: $(cat "$TMP/sse2.meta")"

# --- stop sequences and seeds ----------------------------------------------
# A stop sequence taken from the greedy text ends it where it first
# appears, and is not part of it.
STOP=$(head -c 14 "$TMP/greedy1" | tail -c 3)
$PY -c 'import sys; t=open(sys.argv[1]).read(); sys.stdout.write(t[:t.find(sys.argv[2])])' \
	"$TMP/greedy1" "$STOP" >"$TMP/want_stop"
SB='{"model":"tiny","prompt":"'$PROMPT'","max_tokens":64,"temperature":0,"stop":["zzzz",'$($PY -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$STOP")']'
req POST /v1/completions "$SB}"
expect_status 200 "stop sequence"
text "$TMP/resp" >"$TMP/stop"
cmp -s "$TMP/stop" "$TMP/want_stop" && pass ||
	fail "stop '$STOP': '$(cat "$TMP/stop")', want '$(cat "$TMP/want_stop")'"
[ "$(field "$TMP/resp" 'j["choices"][0]["finish_reason"]')" = stop ] && pass ||
	fail "finish_reason is not stop"
curl -sSN "$BASE/v1/completions" -d "$SB,\"stream\":true}" >"$TMP/sse3"
sse "$TMP/sse3" >"$TMP/sse3.text" 2>/dev/null && cmp -s "$TMP/sse3.text" "$TMP/stop" &&
	pass || fail "a streamed stop differs"

SEEDED='{"model":"tiny","prompt":"AI systems","max_tokens":64,"temperature":1.5,"top_p":0.95,"seed":42}'
req POST /v1/completions "$SEEDED"
text "$TMP/resp" >"$TMP/seed1"
req POST /v1/completions "$SEEDED"
text "$TMP/resp" >"$TMP/seed2"
[ -s "$TMP/seed1" ] && cmp -s "$TMP/seed1" "$TMP/seed2" && pass ||
	fail "the same seed gave different text"

# --- refusals --------------------------------------------------------------
req POST /v1/completions '{"model":"tiny","prompt":"x"'
expect_status 400 "malformed JSON"
req POST /v1/completions '{"model":"tiny","prompt":"x","prompt":"y"}'
expect_status 400 "duplicate keys"
grep -q duplicate "$TMP/resp" && pass || fail "duplicate keys not named"
req POST /v1/completions '{"model":"tiny","prompt":5}'
expect_status 400 "prompt of the wrong type"
[ "$(field "$TMP/resp" 'j["error"]["param"]')" = prompt ] && pass ||
	fail "the wrong field is not named"
for bad in '"temperature":"hot"' '"max_tokens":-1' '"stream":"yes"' \
	   '"top_p":0' '"n":2' '"stop":[1]' '"seed":1.5' \
	   '"stream_options":{"include_usage":true}'; do
	req POST /v1/completions '{"model":"tiny","prompt":"x",'"$bad"'}'
	expect_status 400 "wrong $bad"
done
req POST /v1/chat/completions '{"model":"tiny","messages":[{"role":"wizard","content":"x"}]}'
expect_status 400 "unknown role"
req POST /v1/chat/completions '{"model":"tiny","messages":"hi"}'
expect_status 400 "messages of the wrong type"
req POST /v1/completions '[1,2]'
expect_status 400 "a body that is not an object"
req POST /v1/completions '{"model":"gpt-4","prompt":"x"}'
expect_status 404 "unknown model"
req POST /v1/completions '{"model":"tiny","prompt":"'"$(head -c 300 /dev/zero | tr '\0' a)"'"}'
expect_status 400 "a prompt longer than the context"
grep -q context_length_exceeded "$TMP/resp" && pass || fail "context code"
req POST /v1/completions '{"model":"tiny","prompt":""}'
expect_status 400 "an empty prompt"
req GET /v1/nothing
expect_status 404 "unknown route"
req DELETE /v1/models
expect_status 405 "wrong method"
req GET /v1/completions
expect_status 405 "GET on a POST route"
head -c 1100000 /dev/zero | tr '\0' ' ' >"$TMP/big"
req POST /v1/completions "@$TMP/big"
expect_status 413 "oversized body (Expect: 100-continue)"
req POST /v1/completions "@$TMP/big" -H 'Expect:'
expect_status 413 "oversized body sent at once"
req POST /v1/completions '{}' -H 'Transfer-Encoding: chunked'
expect_status 411 "a chunked body"

# Raw heads: what curl would not send.
raw() {	# raw BYTES: the status line of the answer
	exec 3<>"/dev/tcp/${WHERE%:*}/${WHERE##*:}"
	printf '%b' "$1" >&3
	head -n 1 <&3 | tr -d '\r'
	exec 3<&-
}
[ "$(raw 'GET /v1/models HTTP/1.1\nHost: x\n\n')" = "HTTP/1.1 400 Bad Request" ] &&
	pass || fail "a bare LF"
[ "$(raw 'GET /v1/models HTTP/1.1\r\n\r\n')" = "HTTP/1.1 400 Bad Request" ] &&
	pass || fail "HTTP/1.1 without Host"
[ "$(raw 'GET /v1/models HTTP/2.0\r\nHost: x\r\n\r\n')" = \
  "HTTP/1.1 505 HTTP Version Not Supported" ] && pass || fail "HTTP/2.0"
[ "$(raw 'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx')" = \
  "HTTP/1.1 400 Bad Request" ] && pass || fail "two Content-Lengths"
[ "$(raw "GET /$(head -c 20000 /dev/zero | tr '\0' a) HTTP/1.1\r\nHost: x\r\n\r\n")" = \
  "HTTP/1.1 414 URI Too Long" ] && pass || fail "a long target"
[ "$(raw "GET / HTTP/1.1\r\nHost: x\r\n$(for i in $(seq 70); do printf 'X-%d: y\\r\\n' $i; done)\r\n")" = \
  "HTTP/1.1 431 Request Header Fields Too Large" ] && pass || fail "many headers"

# Keep-alive: several requests on one connection, a pipelined pair too.
curl -sS -v "$BASE/v1/models" "$BASE/v1/models" -o /dev/null -o /dev/null \
	2>"$TMP/keep.err"
grep -q 'Re-using existing connection' "$TMP/keep.err" && pass ||
	fail "the connection was not kept alive"
exec 3<>"/dev/tcp/${WHERE%:*}/${WHERE##*:}"
printf 'GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
# (The second status line follows the first body on its line.)
[ "$(grep -o 'HTTP/1.1 200 OK' <&3 | wc -l)" = 2 ] && pass ||
	fail "pipelined requests"
exec 3<&-

stop "$TCP_PID" TERM tcp

# --- a Unix socket ------------------------------------------------------
SOCK=$TMP/tiny.sock
start unix "$SERVER" --model "$MODEL" --listen "unix:$SOCK" --threads 3 --quiet
UNIX_PID=$PID
[ "$WHERE" = "unix:$SOCK" ] && pass || fail "listening on '$WHERE'"
BASE=http://localhost
VIA=(--unix-socket "$SOCK")
req POST /v1/completions "$GREEDY"
expect_status 200 "greedy on the Unix socket"
text "$TMP/resp" | cmp -s - "$TMP/greedy1" && pass ||
	fail "the Unix socket's greedy text differs"
[ -s "$TMP/unix.err" ] && fail "--quiet still logs" || pass
stop "$UNIX_PID" INT unix
[ -e "$SOCK" ] && fail "the socket file is left behind" || pass

# --- an inherited socket, the weights in a sealed memfd ---------------------
# How a sandbox starts it: no network of its own, no file system path to
# the weights.
cat >"$TMP/launch.py" <<'EOF'
import fcntl, os, socket, sys
server, model = sys.argv[1], sys.argv[2]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
fd = os.memfd_create("weights", os.MFD_ALLOW_SEALING)
with open(model, "rb") as f:
    os.write(fd, f.read())
fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE | fcntl.F_SEAL_GROW |
            fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL)
os.set_inheritable(s.fileno(), True)
os.set_inheritable(fd, True)
os.execv(server, [server, "--model", "/proc/self/fd/%d" % fd,
                  "--listen-fd", str(s.fileno())])
EOF
start fd $PY "$TMP/launch.py" "$SERVER" "$MODEL"
FD_PID=$PID
BASE=http://$WHERE
VIA=()
req POST /v1/completions "$GREEDY"
expect_status 200 "greedy on an inherited socket"
text "$TMP/resp" | cmp -s - "$TMP/greedy1" && pass ||
	fail "the inherited socket's greedy text differs"
stop "$FD_PID" TERM fd

# --- bad weights and options -----------------------------------------------
# refused DESCRIPTION PATTERN ARGS...: exit 1 at start, saying PATTERN.
refused() {
	what=$1 pattern=$2; shift 2
	timeout 20 "$SERVER" "$@" --listen 127.0.0.1:0 >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ "$rc" -ne 1 ]; then
		fail "$what: exit $rc, want 1"; cat "$TMP/err" >&2
	else
		expect_grep "$pattern" "$TMP/err" "$what"
	fi
}
bad_model() {	# bad_model NAME PYTHON: edits (h header dict, d data) into NAME
	$PY - "$MODEL" "$TMP/$1.safetensors" "$2" <<'EOF'
import json, struct, sys
src, dst, code = sys.argv[1:4]
raw = open(src, "rb").read()
(n,) = struct.unpack_from("<Q", raw)
h = json.loads(raw[8:8 + n])
d = bytearray(raw[8 + n:])
hb = None
exec(code)
if hb is None:
    hb = json.dumps(h).encode()
open(dst, "wb").write(struct.pack("<Q", len(hb)) + hb + bytes(d))
EOF
}
head -c 100000 "$MODEL" >"$TMP/trunc.safetensors"
refused "truncated" "tensor '.*': data_offsets .* not inside" --model "$TMP/trunc.safetensors"
head -c 5 "$MODEL" >"$TMP/tiny.safetensors"
refused "five bytes" "too short" --model "$TMP/tiny.safetensors"
: >"$TMP/empty.safetensors"
refused "empty" "too short" --model "$TMP/empty.safetensors"
refused "missing file" "No such file" --model "$TMP/none.safetensors"
refused "a directory" "not a regular file" --model "$TMP"
{ printf '\377\377\377\377\0\0\0\0'; tail -c +9 "$MODEL"; } >"$TMP/hlen.safetensors"
refused "header length" "header length 4294967295" --model "$TMP/hlen.safetensors"
bad_model dtype 'h["norm.weight"]["dtype"] = "F16"'
refused "dtype" "tensor 'norm.weight': dtype F16, want F32" --model "$TMP/dtype.safetensors"
bad_model shape 'h["layers.2.attention.wk.weight"]["shape"] = [96, 95]'
refused "shape" "tensor 'layers.2.attention.wk.weight': shape \[96, 95\], want \[96, 96\]" \
	--model "$TMP/shape.safetensors"
bad_model overlap 'h["norm.weight"]["data_offsets"] = [0, 384]'
refused "overlap" "overlap" --model "$TMP/overlap.safetensors"
bad_model missing 'del h["layers.3.feed_forward.w2.weight"]'
refused "missing tensor" "tensor 'layers.3.feed_forward.w2.weight' is missing" \
	--model "$TMP/missing.safetensors"
bad_model extra 'h["output.weight"] = h.pop("norm.weight")'
refused "extra tensor" "unexpected tensor 'output.weight'" --model "$TMP/extra.safetensors"
bad_model trailing 'd += b"\0\0\0\0"'
refused "trailing bytes" "4 bytes after the last tensor" --model "$TMP/trailing.safetensors"
bad_model meta 'h["__metadata__"]["n_heads"] = "5"'
refused "metadata" "dim 96 is not n_heads 5" --model "$TMP/meta.safetensors"
bad_model nometa 'del h["__metadata__"]["context"]'
refused "no context" '__metadata__ has no "context"' --model "$TMP/nometa.safetensors"
bad_model nan 'o = h["norm.weight"]["data_offsets"][0]; d[o + 8:o + 12] = b"\0\0\xc0\x7f"'
refused "NaN" "tensor 'norm.weight': element 2 is not a finite number" --model "$TMP/nan.safetensors"
bad_model dup 'hb = json.dumps(h).encode()[:-1] + b", \"norm.weight\": {}}"'
refused "duplicate key" "duplicate object key" --model "$TMP/dup.safetensors"

expect_exit 2 "no --model" -- "$SERVER" --listen 127.0.0.1:0
expect_grep "model PATH is required" "$TMP/err" "no --model named"
expect_exit 2 "--threads 0" -- "$SERVER" --model "$MODEL" --threads 0
expect_grep "threads '0'" "$TMP/err" "--threads named"
expect_exit 2 "unknown option" -- "$SERVER" --model "$MODEL" --frobnicate
expect_grep "frobnicate" "$TMP/err" "the unknown option named"
expect_exit 1 "bad --listen" -- "$SERVER" --model "$MODEL" --listen localhost:80
expect_grep "not a numeric IP address" "$TMP/err" "bad --listen named"
expect_exit 1 "--listen-fd of a file" -- "$SERVER" --model "$MODEL" --listen-fd 0
expect_grep "not a listening stream socket" "$TMP/err" "bad --listen-fd named"
expect_exit 0 "--help" -- "$SERVER" --help
expect_grep "/v1/chat/completions" "$TMP/out" "--help says the routes"

finish
