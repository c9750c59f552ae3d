"""up_server.py - the model server of tests/e2e/up.sh when tiny-llm-server
is not built: an OpenAI-compatible server as palisade up starts one, in
the sandbox, with its listening socket in PALISADE_LISTEN_FD and its
weights named in PALISADE_UNSEALED (sealed memfds as /proc/self/fd/N).
It answers GET /v1/models and POST /v1/chat/completions, the answer
naming the weights' SHA-256 (so that the test sees the served bytes),
with a system_fingerprint for the gateway to strip.  Standard library
only: it runs under /usr/bin/python3 with the sandbox's read-only root.
"""
import hashlib
import http.server
import json
import os
import signal
import socket
import socketserver
import sys

unsealed = json.loads(os.environ["PALISADE_UNSEALED"])
digests = {}
for name, path in sorted(unsealed.items()):
    with open(path, "rb") as f:
        digests[name] = hashlib.sha256(f.read()).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def send(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/v1/models":
            self.send(200, {"object": "list", "data": [
                {"id": "tiny", "object": "model", "owned_by": "test"}]})
        else:
            self.send(404, {"error": {"message": "not found"}})

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(n) or b"{}")
        if self.path != "/v1/chat/completions":
            self.send(404, {"error": {"message": "not found"}})
            return
        text = "weights " + " ".join(
            "%s=%s" % (k, v[:16]) for k, v in digests.items())
        self.send(200, {
            "id": "chatcmpl-test", "object": "chat.completion",
            "created": 0, "model": req.get("model", "tiny"),
            "system_fingerprint": "fp_test_internal",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1,
                      "total_tokens": 2}})

    def log_message(self, fmt, *args):
        sys.stderr.write("up_server: " + (fmt % args) + "\n")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def __init__(self, sock):
        http.server.HTTPServer.__init__(self, None, Handler,
                                        bind_and_activate=False)
        self.socket = sock
        self.server_address = "model"

    def server_bind(self):
        pass

    def get_request(self):
        conn, _ = self.socket.accept()
        return conn, ("local", 0)


sock = socket.socket(fileno=int(os.environ["PALISADE_LISTEN_FD"]))
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
sys.stderr.write("up_server: serving %s\n" % ", ".join(sorted(digests)))
Server(sock).serve_forever()
