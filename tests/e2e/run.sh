#!/bin/bash
# run.sh - palisade run's sandbox, attacked from inside.  Each escape
# attempt of tests/sandbox/escape.c is made inside the sandbox, where it
# must fail (the errno is shown) or be killed by the seccomp filter
# (SIGSYS: exit 159, each in its own sandbox), and, where the machine
# allows it, the same attempt is made outside, where it must succeed, so
# that the test can fail.  Then: exit statuses and signals passed on, the
# sandbox dying with palisade run, SIGINT forwarded, sealed memfds and
# PALISADE_UNSEALED, the listening socket (Unix and TCP loopback), the
# scrubbed environment, dropped capabilities, profile errors with
# file:line, and the shipped profiles.  As root, the attempts are made a
# second time as an unprivileged user (nobody).  All of it runs through
# both entry points, `palisade run` and the small palisade-run beside it
# ($PALISADE_RUN), which must behave the same.
. "$(dirname "$0")/common.bash"

ESC=$(dirname "$PALISADE")/sandbox_escape
if [ ! -x "$ESC" ]; then
	echo "FAIL: $ESC is not built (cmake --build ... --target sandbox_escape)"
	exit 1
fi
PALISADE_RUN=${PALISADE_RUN:-$(dirname "$PALISADE")/palisade-run}
# A library directory of the built-in profile (src/sandbox/paths.c).
LIBDIR=/usr/lib/$(uname -m)-linux-gnu
if [ ! -x "$PALISADE_RUN" ]; then
	echo "FAIL: $PALISADE_RUN is not built (cmake --build ... --target palisade-run)"
	exit 1
fi
BIN=$(python3 -c 'import os,sys; print(os.path.realpath(sys.argv[1]))' "$ESC")
SIGSYS_EXIT=159

# show WHERE: ATTEMPT... prints the escape program's line and status.
show() { printf '  %-8s %s\n' "$1" "$2"; }

# inside_fails ATTEMPT ARGS...: exit 1, a "failed:" line naming an errno.
inside_fails() {
	"${RUN[@]}" -- "$BIN" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	got=$?
	line=$(head -n 1 "$TMP/out")
	if [ "$got" -eq 1 ] && echo "$line" | grep -q ": failed: E[A-Z0-9]*"; then
		pass; show inside "$line"
	else
		fail "inside: $*: exit $got, want 1 and an errno: $line $(cat "$TMP/err")"
	fi
}

# inside_killed ATTEMPT ARGS...: killed by SIGSYS (128+31).
inside_killed() {
	"${RUN[@]}" -- "$BIN" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	got=$?
	if [ "$got" -eq "$SIGSYS_EXIT" ] && [ ! -s "$TMP/out" ]; then
		pass; show inside "$1: killed by SIGSYS (exit $got)"
	else
		fail "inside: $*: exit $got, want $SIGSYS_EXIT: $(cat "$TMP/out" "$TMP/err")"
	fi
}

# outside_succeeds [PREFIX...] -- ATTEMPT ARGS...: the same, unconfined.
outside_succeeds() {
	pre=()
	while [ "$1" != "--" ]; do pre+=("$1"); shift; done
	shift
	"${pre[@]}" "$BIN" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	got=$?
	line=$(head -n 1 "$TMP/out")
	if [ "$got" -eq 0 ] && echo "$line" | grep -q ": succeeded"; then
		pass; show outside "$line"
	else
		fail "outside: $*: exit $got, want 0: $line $(cat "$TMP/err")"
	fi
}

# Secrets standing for the vault's key and the log's key, outside every
# profile, readable by everyone so that only the sandbox stands between.
echo "vault-key-$$" >"$TMP/vault.key"
echo "log-key-$$" >"$TMP/log.key"
chmod 644 "$TMP/vault.key" "$TMP/log.key"
chmod 755 "$TMP"

# A listener on the host's loopback for TCP and UDP, logging what comes.
cat >"$TMP/listener.py" <<'EOF'
import select, socket, sys, time
t = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d %d\n" % (t.getsockname()[1], u.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
end = time.time() + 600
log = open(sys.argv[2], "a", buffering=1)
while time.time() < end:
    r, _, _ = select.select([t, u], [], [], 1)
    if t in r:
        c, _ = t.accept(); c.settimeout(2)
        try: log.write("tcp " + c.recv(100).decode(errors="replace"))
        except OSError: pass
        c.close()
    if u in r:
        log.write("udp " + u.recv(100).decode(errors="replace") + "\n")
EOF
python3 "$TMP/listener.py" "$TMP/ports" "$TMP/heard" &
LISTENER=$!
sleep 600 &
VICTIM=$!
trap 'kill $LISTENER $VICTIM 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do [ -f "$TMP/ports" ] && break; sleep 0.1; done
read -r TCP_PORT UDP_PORT <"$TMP/ports"
: >>"$TMP/heard"

attempts() {
	who=$1
	echo "escape attempts ($who):"
	# The network: nothing reaches the host's loopback.
	heard_before=$(wc -l <"$TMP/heard")
	inside_fails tcp "$TCP_PORT"
	inside_fails udp "$UDP_PORT" "from-inside-$who"
	sleep 0.3
	if tail -n +$((heard_before + 1)) "$TMP/heard" | grep -q .; then
		fail "the host's listener heard the sandbox ($who)"
	else pass; fi
	# Files: the secrets, /etc/shadow, writing outside the private /tmp.
	inside_fails read "$TMP/vault.key"
	inside_fails read "$TMP/log.key"
	inside_fails read /etc/shadow
	inside_fails write "$TMP/written-$who"
	# Beside the test binary, unless the build tree is under /tmp: then
	# its directory is a mount point's parent in the private /tmp, where
	# writing is allowed and leaves the host untouched.
	case $(dirname "$BIN") in
	/tmp/*) ;;
	*) inside_fails write "$(dirname "$BIN")/written-$who" ;;
	esac
	# Into a directory the built-in profile exposes (read-only).
	inside_fails write "$LIBDIR/written-$who"
	[ ! -e "$TMP/written-$who" ] && pass || fail "a host file was written"
	# Processes: ptrace and /proc/PID/mem of one outside, PID 1's memory.
	inside_killed ptrace "$VICTIM"
	inside_fails procmem "$VICTIM"
	inside_fails procmem 1
	# The kernel's riskier interfaces: each killed in its own sandbox.
	inside_killed mount /tmp
	inside_killed userns
	inside_killed keyctl
	inside_killed bpf
	inside_killed perf
	inside_killed io_uring
	inside_killed tiocsti
	inside_killed x32
	inside_killed i386
	# A descriptor palisade run was given but did not pass on.
	exec 7<"$TMP/log.key"
	inside_fails fd 7
	exec 7<&-
}

echo "the same attempts outside the sandbox:"
outside_succeeds -- tcp "$TCP_PORT"
outside_succeeds -- udp "$UDP_PORT" from-outside
sleep 0.3
expect_grep "udp from-outside" "$TMP/heard" "the listener hears the outside"
outside_succeeds -- read "$TMP/vault.key"
outside_succeeds -- read "$TMP/log.key"
outside_succeeds -- write "$TMP/written-outside"
exec 7<"$TMP/log.key"
outside_succeeds -- fd 7
exec 7<&-
outside_succeeds -- userns
outside_succeeds -- keyctl
outside_succeeds -- i386
outside_succeeds -- tiocsti
if [ "$(id -u)" -eq 0 ]; then
	outside_succeeds -- read /etc/shadow
	outside_succeeds -- ptrace "$VICTIM"
	outside_succeeds -- procmem "$VICTIM"
	mkdir -p "$TMP/mnt"
	outside_succeeds unshare -m -- mount "$TMP/mnt"
	outside_succeeds -- bpf
	outside_succeeds -- perf
	outside_succeeds -- io_uring
fi
"$BIN" x32 >"$TMP/out" 2>&1
show outside "$(cat "$TMP/out") (this kernel has no x32: not possible outside either)"

# Everything made inside the sandbox, through one entry point: RUN is
# the command before "--" (palisade run, or palisade-run).
sandboxed() {
	attempts root-caller
	# The private /tmp is writable and is not the host's.
	expect_exit 0 "write in the private /tmp" -- "${RUN[@]}" -- "$BIN" write \
		"/tmp/palisade-run-test-$$"
	[ ! -e "/tmp/palisade-run-test-$$" ] && pass ||
		fail "the sandbox's /tmp is the host's"

	echo "statuses and signals:"
	expect_exit 7 "exit 7 passes on" -- "${RUN[@]}" -- "$BIN" exit 7
	expect_exit 143 "SIGTERM: 128+15" -- "${RUN[@]}" -- "$BIN" signal 15
	expect_exit 137 "SIGKILL: 128+9" -- "${RUN[@]}" -- "$BIN" signal 9
	expect_exit 127 "a command not found: 127" -- "${RUN[@]}" -- no-such-cmd
	expect_grep "not found" "$TMP/err" "not found named"
	expect_exit 0 "a command named relative to the directory" -- \
		sh -c 'cd /bin && exec "$@" -- ./true' sh "${RUN[@]}"

	# sandbox_pids PID: the sandbox's init and server under palisade run PID.
	sandbox_pids() {
		local init server
		for _ in $(seq 300); do
			init=$(pgrep -P "$1" | head -n 1)
			server=
			[ -n "$init" ] && server=$(pgrep -P "$init" | head -n 1)
			[ -n "$server" ] && { echo "$init $server"; return; }
			sleep 0.1
		done
	}

	# A process the server leaves behind ends with it, before palisade
	# run returns: PID 1 exits with the server, the kernel kills the
	# rest of the namespace, and palisade run waits for PID 1.
	orphan="pal-orphan-$$"
	expect_exit 0 "the server leaves a process behind" -- "${RUN[@]}" -- \
		"$BIN" orphan "$orphan"
	if pgrep -x "$orphan" >/dev/null; then
		fail "a process of the sandbox outlived its server"
		pkill -KILL -x "$orphan"
	else
		pass
	fi
	echo "  left behind by the server: gone when palisade run returned"

	for sig in INT TERM; do
		"${RUN[@]}" -- "$BIN" sleep 30 &
		pid=$!
		read -r init server < <(sandbox_pids $pid)
		kill -"$sig" $pid
		wait $pid
		got=$?
		want=$((128 + $(kill -l "$sig")))
		[ "$got" -eq "$want" ] && pass ||
			fail "SIG$sig to palisade run: exit $got, want $want"
		echo "  SIG$sig to palisade run: forwarded, exit $got"
	done

	# Ctrl-C typed on the terminal reaches palisade run alone (the
	# sandbox is a session of its own), which forwards it.
	expect_exit 130 "Ctrl-C typed on the terminal: 128+2" -- $PY \
		"$PAL_SRC/tests/e2e/ctrl_c.py" "$TMP/tty" "text:sleep:" -- \
		"${RUN[@]}" -- "$BIN" sleep 30
	echo "  Ctrl-C on the terminal: forwarded, exit $got"

	"${RUN[@]}" -- "$BIN" sleep 30 &
	pid=$!
	init= server=
	read -r init server < <(sandbox_pids $pid)
	if [ -z "$server" ]; then
		fail "no sandbox processes under palisade run"
	else
		kill -KILL $pid
		wait $pid 2>/dev/null
		gone=0
		for _ in $(seq 50); do
			kill -0 "$init" 2>/dev/null || kill -0 "$server" 2>/dev/null ||
				{ gone=1; break; }
			sleep 0.1
		done
		[ "$gone" -eq 1 ] && pass ||
			fail "the sandbox outlived palisade run (init $init, server $server)"
		echo "  palisade run killed: init $init and server $server gone"
	fi

	echo "sealed weights:"
	printf 'weights-%s' $$ >"$TMP/w.bin"
	expect_exit 0 "the server reads a sealed memfd" -- "$BIN" seal "$TMP/w.bin" \
		-- "${RUN[@]}" -- "$BIN" unsealed
	expect_grep "/proc/self/fd/[0-9]*: weights-$$" "$TMP/out" "the weights, inside"
	show inside "$(grep weights "$TMP/out")"
	expect_exit 125 "an unsealed memfd is refused" -- "$BIN" seal --unsealed-only \
		"$TMP/w.bin" -- "${RUN[@]}" -- "$BIN" unsealed
	expect_grep "not a sealed memfd" "$TMP/err" "refusal named"

	echo "the listening socket:"
	# serve ADDR CONNECT: one connection through the socket handed in.
	serve() {
		"${RUN[@]}" --listen "$1" -- "$BIN" serve >"$TMP/serve.out" 2>&1 &
		spid=$!
		python3 - "$2" >"$TMP/client.out" 2>&1 <<'EOF'
import socket, sys, time
a = sys.argv[1]
for _ in range(100):
    try:
        if a.startswith("/"):
            s = socket.socket(socket.AF_UNIX); s.connect(a)
        else:
            s = socket.create_connection(("127.0.0.1", int(a)))
        break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit("could not connect to " + a)
print(s.recv(200).decode().strip())
EOF
		wait $spid
		got=$?
		[ "$got" -eq 0 ] && pass || fail "serve on $1: exit $got $(cat "$TMP/serve.out")"
		expect_grep "hello from the sandbox, fd 3, LISTEN_FDS=1, LISTEN_PID=2" \
			"$TMP/client.out" "served through $1"
		show client "$(cat "$TMP/client.out")"
	}
	serve "unix:$TMP/model.sock" "$TMP/model.sock"
	[ ! -e "$TMP/model.sock" ] && pass || fail "the socket file was left behind"
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	serve "127.0.0.1:$PORT" "$PORT"
	expect_exit 125 "a non-loopback address is refused" -- "${RUN[@]}" \
		--listen 192.0.2.1:80 -- "$BIN" serve
	expect_grep "only a loopback address" "$TMP/err" "refusal named"

	echo "environment and credentials:"
	export PALISADE_TEST_SECRET=do-not-pass
	expect_exit 0 "env" -- "${RUN[@]}" --env FOO=bar --env LANG -- /usr/bin/env
	expect_grep "^FOO=bar$" "$TMP/out" "a set variable"
	expect_grep "^PATH=/usr/local/bin:/usr/bin:/bin$" "$TMP/out" "the default PATH"
	if grep -q PALISADE_TEST_SECRET "$TMP/out"; then
		fail "an unnamed variable passed through"
	else pass; fi
	unset PALISADE_TEST_SECRET
	expect_exit 0 "status" -- "${RUN[@]}" -- /usr/bin/cat /proc/self/status
	for f in CapInh CapPrm CapEff CapBnd CapAmb; do
		expect_grep "^$f:[[:space:]]*0000000000000000$" "$TMP/out" "$f empty"
	done
	expect_grep "^NoNewPrivs:[[:space:]]*1$" "$TMP/out" "no_new_privs"
	expect_grep "^Seccomp:[[:space:]]*2$" "$TMP/out" "seccomp filter"
	if [ "$(id -u)" -eq 0 ]; then
		expect_grep "^Uid:[[:space:]]*65534" "$TMP/out" "root runs it as nobody"
	fi
	show inside "$(grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp|Uid):' "$TMP/out" | tr -s '\t\n' '  ')"
	if grep -q "warning" "$TMP/err"; then
		show note "$(cat "$TMP/err")"
	fi

	echo "profiles:"
	cat >"$TMP/bad.yaml" <<'EOF'
version: 1
read_only: [/usr/bin]
bogus_key: 1
EOF
	expect_exit 125 "an unknown key" -- "${RUN[@]}" --profile "$TMP/bad.yaml" \
		-- /usr/bin/true
	expect_grep "bad.yaml:3:1: unknown key 'bogus_key'" "$TMP/err" "file:line named"
	show refused "$(cat "$TMP/err")"
	# The strict profile's shape: the binary, its libraries, nothing else.
	{
		printf 'version: 1\nnetwork: none\nread_only:\n  - %s\n' "$BIN"
		ldd "$BIN" | grep -o '/[^ ]*' | sed 's/^/  - /'
	} >"$TMP/none.yaml"
	expect_exit 125 "network: none refuses --listen" -- "${RUN[@]}" --profile \
		"$TMP/none.yaml" --listen "unix:$TMP/x.sock" -- "$BIN" serve
	printf 'version: 1\nread_only: [/]\n' >"$TMP/root.yaml"
	expect_exit 125 "read_only: [/] is refused" -- "${RUN[@]}" --profile \
		"$TMP/root.yaml" -- /usr/bin/true
	expect_exit 0 "the strict profile's shape runs a C program" -- \
		"${RUN[@]}" --profile "$TMP/none.yaml" -- "$BIN" exit 0
	# A profile that allows one more call gets seccomp programs made at
	# start instead of the built-in ones: they must kill the same.
	sed 's/^network: none$/network: listen/' "$TMP/none.yaml" >"$TMP/more.yaml"
	printf 'syscalls: [sysfs]\n' >>"$TMP/more.yaml"
	expect_exit 0 "a profile with 'syscalls' runs a C program" -- \
		"${RUN[@]}" --profile "$TMP/more.yaml" -- "$BIN" exit 0
	for a in keyctl tiocsti i386; do
		expect_exit "$SIGSYS_EXIT" "with 'syscalls', $a is still killed" \
			-- "${RUN[@]}" --profile "$TMP/more.yaml" -- "$BIN" "$a"
	done
	expect_exit 0 "the python profile runs python" -- "${RUN[@]}" --profile \
		"$PAL_SRC/profiles/python-cpu.yaml" -- /usr/bin/python3 -c \
		'import json, ssl; print("python ok")'
	expect_grep "python ok" "$TMP/out" "python ran"
	if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
		expect_exit 0 "the python profile runs PyTorch" -- "${RUN[@]}" \
			--profile "$PAL_SRC/profiles/python-cpu.yaml" -- /usr/bin/python3 \
			-c 'import torch; print("torch", float(torch.ones(3).sum()))'
		expect_grep "torch 3.0" "$TMP/out" "torch computed inside"
	fi
	expect_exit 127 "the strict profile names a binary that is not here" -- \
		"${RUN[@]}" --profile "$PAL_SRC/profiles/strict-c.yaml" -- \
		/usr/local/bin/model-server
	expect_grep "model-server: not found" "$TMP/err" "the missing binary named"

	# As root, the same attempts from an unprivileged caller: the sandbox
	# must build its namespaces without privilege and confine the same way.
	if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
		outer=("${RUN[@]}")
		wrapper=$TMP/as-nobody
		printf '#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups -- %s "$@"\n' \
			"${RUN[*]}" >"$wrapper"
		chmod 755 "$wrapper"
		RUN=("$wrapper")
		attempts unprivileged-caller
		expect_exit 0 "status as nobody" -- "${RUN[@]}" -- /usr/bin/cat \
			/proc/self/status
		expect_grep "^CapEff:[[:space:]]*0000000000000000$" "$TMP/out" \
			"no capabilities (unprivileged caller)"
		expect_exit 0 "sealed memfd as nobody" -- "$BIN" seal "$TMP/w.bin" \
			-- "${RUN[@]}" -- "$BIN" unsealed
		expect_grep "weights-$$" "$TMP/out" "the weights (unprivileged caller)"
		expect_exit 3 "exit 3 as nobody" -- "${RUN[@]}" -- "$BIN" exit 3
		RUN=("${outer[@]}")
	fi
}

for entry in "palisade run" palisade-run; do
	case $entry in
	"palisade run") RUN=("$PALISADE" run) ;;
	*) RUN=("$PALISADE_RUN") ;;
	esac
	echo "== $entry =="
	sandboxed
done

finish
