#!/usr/bin/env python3
"""A webhook receiver for the tests: verifies Standard Webhooks signatures on its own (Python's
hmac, independent of the daemon's code), records every request, and answers as told.

Prints its port on the first line. POST /_control {"secrets": [...], "fail_first": n,
"status": code, "delay_ms": n} sets how it answers; GET /_received lists what came."""
import base64, hashlib, hmac, json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
state = {"secrets": [], "fail_first": 0, "status": 200, "delay_ms": 0}
received = []


def verify(msg_id, timestamp, body, header):
    """The indexes of the configured secrets whose v1 signature is in the header."""
    given = set()
    for entry in (header or "").split(" "):
        version, _, sig = entry.partition(",")
        if version == "v1":
            given.add(sig)
    matched = []
    for i, secret in enumerate(state["secrets"]):
        key = base64.b64decode(secret[len("whsec_"):])
        signed = f"{msg_id}.{timestamp}.".encode() + body
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        if any(hmac.compare_digest(expected, g) for g in given):
            matched.append(i)
    return matched


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with lock:
            self.reply(200, json.dumps(received))

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/_control":
            with lock:
                state.update(json.loads(body))
            return self.reply(200, "ok")
        msg_id = self.headers.get("webhook-id")
        timestamp = self.headers.get("webhook-timestamp", "0")
        with lock:
            fresh = abs(time.time() - int(timestamp)) <= 300
            record = {
                "path": self.path,
                "id": msg_id,
                "timestamp": int(timestamp),
                "fresh": fresh,
                "signatures": len((self.headers.get("webhook-signature") or "").split(" ")),
                "verified_with": verify(msg_id, timestamp, body, self.headers.get("webhook-signature")),
                "content_type": self.headers.get("Content-Type"),
                "body": json.loads(body) if body else None,
                "received_at": time.time(),
            }
            received.append(record)
            if state["fail_first"] > 0:
                state["fail_first"] -= 1
                code, text = 500, "receiver says no"
            else:
                code, text = state["status"], "thanks " + str(msg_id)
            delay = state["delay_ms"]
        if delay:
            time.sleep(delay / 1000)
        self.reply(code, text)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
