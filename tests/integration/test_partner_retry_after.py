"""A partner's Retry-After is honoured up to RETRY_AFTER_CAP_SECONDS; a longer one gives the message back to
the queue at once instead of sleeping past the function's timeout (issue 12, finding 16). Real HTTP on
127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from distsync_core.partners.base import PartnerClient, RetryLater


@pytest.fixture
def partner():
    """A partner that answers 429 with the Retry-After each test sets, then 200."""
    state = {"retry_after": [], "requests": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state["requests"] += 1
            if state["retry_after"]:
                self.send_response(429)
                self.send_header("Retry-After", state["retry_after"].pop(0))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = json.dumps({"ok": True}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = PartnerClient(f"http://127.0.0.1:{server.server_port}", max_attempts=3, backoff_seconds=0)
    yield client, state
    server.shutdown()


def put(client: PartnerClient):
    return client.send("PUT", "/thing", {"a": 1}, idempotency_key="k-1", correlation_id="c-1")


def test_a_short_retry_after_is_honoured(partner):
    client, state = partner
    state["retry_after"] = ["1"]
    started = time.monotonic()
    assert put(client).status == 200
    assert state["requests"] == 2 and time.monotonic() - started >= 1.0


def test_a_retry_after_past_the_cap_hands_the_message_back_at_once(partner):
    client, state = partner
    state["retry_after"] = ["21600"]  # six hours: urllib3 would sleep that long
    started = time.monotonic()
    with pytest.raises(RetryLater, match="HTTP 429 with Retry-After 21600 s, more than the 10 s"):
        put(client)
    assert state["requests"] == 1 and time.monotonic() - started < 2.0
