#!/usr/bin/env python3
"""upstream.py - a small OpenAI-compatible model server for the gateway tests.

It answers the four routes the gateway allows (/v1/models,
/v1/chat/completions, /v1/completions, /v1/embeddings) the way vLLM and
llama.cpp's server do, including SSE streaming with a final usage chunk
when stream_options.include_usage is set, and it leaks what the gateway
must strip (system_fingerprint, logprobs).  The reply text echoes the last
user message, so tests can see what reached it.

Modes, chosen by the request's "model":
  tiny         normal answers
  slow         waits --slow seconds before answering (streams slowly)
  fail         answers 500 with a JSON error
  drop         closes the connection without answering
  garbage      answers 200 with a body that is not JSON
  hang         never answers

Every request that reaches it is appended to --record (one JSON line:
method, path, headers, body), so a test can prove a refused request never
got here.  Listens on --port (127.0.0.1) or --unix PATH; prints "ready" on
standard output once listening.  Uses only the standard library.
"""
import argparse
import json
import os
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

ARGS = None
RECORD_LOCK = threading.Lock()


def record(handler, body):
    if not ARGS.record:
        return
    line = json.dumps({
        "method": handler.command,
        "path": handler.path,
        "headers": {k.lower(): v for k, v in handler.headers.items()},
        "body": body.decode("utf-8", "replace"),
    })
    with RECORD_LOCK, open(ARGS.record, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def last_user_text(req):
    if "messages" in req:
        for m in reversed(req["messages"]):
            if m.get("role") == "user":
                c = m.get("content")
                if isinstance(c, list):
                    return " ".join(p.get("text", "") for p in c)
                return str(c)
        return ""
    p = req.get("prompt", "")
    return p if isinstance(p, str) else " ".join(map(str, p))


def words_for(req):
    n = req.get("max_tokens") or req.get("max_completion_tokens") or 16
    text = "echo: " + last_user_text(req)
    words = text.split(" ")
    return words[: max(1, min(int(n), len(words)))]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "upstream-test/1.0"

    def log_message(self, fmt, *args):
        if ARGS.verbose:
            sys.stderr.write("upstream: " + (fmt % args) + "\n")

    def read_body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n) if n > 0 else b""

    def send_json(self, code, obj, extra=None):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        record(self, b"")
        if self.path == "/v1/models":
            self.send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0,
                 "owned_by": "test"}
                for m in ("tiny", "slow", "fail", "drop", "garbage", "hang")]})
        elif self.path == "/internal/debug":
            self.send_json(200, {"secret": "the gateway must never route here"})
        else:
            self.send_json(404, {"error": {"message": "no such route"}})

    def do_POST(self):
        body = self.read_body()
        record(self, body)
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            self.send_json(400, {"error": {"message": "bad json"}})
            return
        model = req.get("model", "tiny")
        if model == "hang":
            time.sleep(3600)
            return
        if model == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if model == "fail":
            self.send_json(500, {"error": {"message": "model crashed"}})
            return
        if model == "garbage":
            data = b"<html>not json"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if model == "slow":
            time.sleep(ARGS.slow)
        if self.path == "/v1/chat/completions":
            self.chat(req)
        elif self.path == "/v1/completions":
            self.completion(req)
        elif self.path == "/v1/embeddings":
            self.embeddings(req)
        else:
            self.send_json(404, {"error": {"message": "no such route"}})

    def usage(self, req, words):
        p = len(last_user_text(req).split())
        return {"prompt_tokens": p, "completion_tokens": len(words),
                "total_tokens": p + len(words)}

    def chat(self, req):
        words = words_for(req)
        if req.get("stream"):
            self.stream(req, words, chat=True)
            return
        choice = {"index": 0, "finish_reason": "stop",
                  "message": {"role": "assistant", "content": " ".join(words)}}
        if req.get("logprobs"):
            choice["logprobs"] = {"content": [
                {"token": w, "logprob": -0.5, "top_logprobs": []}
                for w in words]}
        self.send_json(200, {
            "id": "chatcmpl-test", "object": "chat.completion",
            "created": int(time.time()), "model": req.get("model"),
            "system_fingerprint": "fp_internal_build_42",
            "choices": [choice], "usage": self.usage(req, words)})

    def completion(self, req):
        words = words_for(req)
        if req.get("stream"):
            self.stream(req, words, chat=False)
            return
        self.send_json(200, {
            "id": "cmpl-test", "object": "text_completion",
            "created": int(time.time()), "model": req.get("model"),
            "system_fingerprint": "fp_internal_build_42",
            "choices": [{"index": 0, "text": " ".join(words),
                         "finish_reason": "stop", "logprobs": None}],
            "usage": self.usage(req, words)})

    def embeddings(self, req):
        inp = req.get("input", "")
        items = inp if isinstance(inp, list) else [inp]
        self.send_json(200, {
            "object": "list", "model": req.get("model"),
            "data": [{"object": "embedding", "index": i,
                      "embedding": [0.125 * (len(str(t)) % 8), -0.5, 0.25]}
                     for i, t in enumerate(items)],
            "usage": {"prompt_tokens": len(items), "total_tokens": len(items)}})

    def stream(self, req, words, chat):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        created = int(time.time())

        def event(obj):
            data = b"data: " + json.dumps(obj).encode() + b"\n\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        for i, w in enumerate(words):
            piece = (w if i == 0 else " " + w)
            if chat:
                delta = {"content": piece}
                if i == 0:
                    delta["role"] = "assistant"
                choice = {"index": 0, "delta": delta, "finish_reason": None}
            else:
                choice = {"index": 0, "text": piece, "finish_reason": None}
            if req.get("logprobs"):
                choice["logprobs"] = {"content": [{"token": w, "logprob": -1}]}
            event({"id": "chatcmpl-test",
                   "object": "chat.completion.chunk" if chat else "text_completion",
                   "created": created, "model": req.get("model"),
                   "system_fingerprint": "fp_internal_build_42",
                   "choices": [choice]})
            if req.get("model") == "slow":
                time.sleep(ARGS.slow)
        last = {"index": 0, "finish_reason": "stop"}
        last.update({"delta": {}} if chat else {"text": ""})
        event({"id": "chatcmpl-test",
               "object": "chat.completion.chunk" if chat else "text_completion",
               "created": created, "model": req.get("model"),
               "system_fingerprint": "fp_internal_build_42",
               "choices": [last]})
        if (req.get("stream_options") or {}).get("include_usage"):
            event({"id": "chatcmpl-test",
                   "object": "chat.completion.chunk" if chat else "text_completion",
                   "created": created, "model": req.get("model"),
                   "choices": [], "usage": self.usage(req, words)})
        data = b"data: [DONE]\n\n"
        self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
        self.wfile.flush()


class TCPServer(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        conn, _ = self.socket.accept()
        return conn, ("unix", 0)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--unix")
    ap.add_argument("--record")
    ap.add_argument("--slow", type=float, default=0.3)
    ap.add_argument("--verbose", action="store_true")
    ARGS = ap.parse_args()
    if ARGS.unix:
        if os.path.exists(ARGS.unix):
            os.unlink(ARGS.unix)
        srv = UnixServer(ARGS.unix, Handler)
        print("ready unix:" + ARGS.unix, flush=True)
    else:
        srv = TCPServer(("127.0.0.1", ARGS.port), Handler)
        print("ready %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
