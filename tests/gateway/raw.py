#!/usr/bin/env python3
"""raw.py - sends exact bytes to the gateway over TLS and reports what came back.

  raw.py HOST:PORT CAFILE REQUEST_FILE [--slow SECONDS_PER_BYTE] [--wait S]

The request file's bytes are sent as they are (a test writes the
smuggling shapes with printf, CRLFs and all).  Prints the status line of
each response received, then "closed" if the gateway closed the
connection, or "open" if it was still open after --wait seconds.  With
--slow, one byte is sent every so many seconds (slowloris); a send that
fails because the gateway closed the connection prints "closed-while-sending".
"""
import socket
import ssl
import sys
import time


def main():
    args = sys.argv[1:]
    slow = 0.0
    wait = 2.0
    if "--slow" in args:
        i = args.index("--slow")
        slow = float(args[i + 1])
        del args[i:i + 2]
    if "--wait" in args:
        i = args.index("--wait")
        wait = float(args[i + 1])
        del args[i:i + 2]
    hostport, cafile, reqfile = args
    host, port = hostport.rsplit(":", 1)
    data = open(reqfile, "rb").read()
    ctx = ssl.create_default_context(cafile=cafile)
    raw = socket.create_connection((host, int(port)), timeout=30)
    s = ctx.wrap_socket(raw, server_hostname=host)
    try:
        if slow > 0:
            for b in data:
                s.sendall(bytes([b]))
                time.sleep(slow)
        else:
            s.sendall(data)
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
        print("closed-while-sending")
        return
    s.settimeout(wait)
    got = b""
    state = "open"
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                state = "closed"
                break
            got += chunk
    except socket.timeout:
        state = "open"
    except (ConnectionResetError, ssl.SSLError, OSError):
        state = "closed"
    for line in got.split(b"\r\n"):
        if line.startswith(b"HTTP/1.1 "):
            print(line.decode("latin-1"))
    print(state)


if __name__ == "__main__":
    main()
