"""Types Ctrl-C on the terminal of a command, as a user would.

    ctrl_c.py OUT WHEN -- COMMAND [ARGS...]

Runs COMMAND on a new pseudo-terminal, as its session's foreground job,
copies everything it writes there into the file OUT as it comes, and
types Ctrl-C (the byte 0x03, which the terminal turns into SIGINT for the
whole foreground process group) once WHEN holds: "text:STRING" when
STRING has appeared in the output, "file:PATH" when PATH exists.  Exits
as a shell would report COMMAND's end (its status, or 128+S for a signal
S); 124 when WHEN never held or COMMAND did not end within 60 seconds of
the Ctrl-C (it is then killed).
"""
import os
import pty
import select
import sys
import time

LIMIT = 60.0


def ready(when, out):
    kind, _, arg = when.partition(":")
    if kind == "text":
        return arg.encode() in out
    if kind == "file":
        return os.path.exists(arg)
    sys.exit("ctrl_c.py: WHEN is text:STRING or file:PATH, not " + when)


def main():
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        sys.exit(__doc__)
    path, when, cmd = sys.argv[1], sys.argv[2], sys.argv[4:]
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    out = b""
    sent = None
    start = time.monotonic()
    with open(path, "wb", buffering=0) as log:
        while True:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    data = os.read(fd, 4096)
                except OSError:  # EIO: the terminal's last user is gone
                    data = b""
                if not data:
                    break
                out += data
                log.write(data)
            now = time.monotonic()
            if sent is None and ready(when, out):
                os.write(fd, b"\x03")
                sent = now
            if (sent is None and now - start > LIMIT) or \
                    (sent is not None and now - sent > LIMIT):
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                sys.exit(124)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    sys.exit(code if code >= 0 else 128 - code)


main()
