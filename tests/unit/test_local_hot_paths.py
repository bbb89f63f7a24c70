"""What the local runtime changes for speed under load answers as before, without the costs it removes
(docs/performance.md, section 7): moto's SQS scans per message, and the simulators' and the gateway's
Nagle stalls on kept-alive connections."""

from __future__ import annotations

import http.client
import re
import time
from datetime import datetime

import pytest
from moto import mock_aws

from distsync.local import moto_backend
from distsync.local.gateway import Gateway
from distsync.sim.http import JsonServer

ACCOUNT, REGION = moto_backend.ACCOUNT_ID, moto_backend.REGION


@pytest.fixture
def sqs_patched(monkeypatch):
    """moto's SQS with the runtime's patch, undone after the test (this process's other tests use moto too)."""
    from moto.sqs import models

    for name in ("unix_time", "unix_time_millis"):
        monkeypatch.setattr(models, name, getattr(models, name))
    monkeypatch.setattr(models.SQSBackend, "is_message_valid_based_on_retention_period",
                        models.SQSBackend.is_message_valid_based_on_retention_period)
    with mock_aws():
        yield lambda: moto_backend._sqs_without_repeated_queue_scans()


def _queue_with(count: int, retention: int = 345_600, name: str = "work"):
    from moto.sqs.models import sqs_backends

    backend = sqs_backends[ACCOUNT][REGION]
    backend.create_queue(name, MessageRetentionPeriod=str(retention))
    for i in range(count):
        backend.send_message(name, f"m{i}")
    return backend


def _counting_attributes(monkeypatch):
    """How many times the queue's full attribute set (three scans of all its messages) is built."""
    from moto.sqs.models import Queue

    built = [0]
    original = Queue.attributes

    def attributes(queue):
        built[0] += 1
        return original.fget(queue)

    monkeypatch.setattr(Queue, "attributes", property(attributes))
    return built


def test_a_receive_no_longer_builds_the_queue_attributes_per_message(sqs_patched, monkeypatch):
    backend = _queue_with(50)
    built = _counting_attributes(monkeypatch)
    # moto as shipped: one attribute set per message handed out (if this fails, moto fixed it: drop the patch)
    assert len(backend.receive_message("work", 10, 0, 30, ["All"])) == 10
    assert built[0] >= 10

    sqs_patched()
    built[0] = 0
    received = backend.receive_message("work", 10, 0, 30, ["All"])
    assert [m.body for m in received] == [f"m{i}" for i in range(10, 20)]
    assert built[0] == 0


def test_a_message_past_the_retention_period_is_still_not_delivered(sqs_patched):
    sqs_patched()
    backend = _queue_with(1, retention=60, name="expired")
    backend.get_queue("expired")._messages[0].sent_timestamp -= 61_000  # sent 61 s ago: past the 60 s
    assert backend.receive_message("expired", 10, 0, 30, ["All"]) == []
    _queue_with(1, retention=60, name="fresh")
    assert [m.body for m in backend.receive_message("fresh", 10, 0, 30, ["All"])] == ["m0"]


def test_the_sqs_clock_reads_the_same_time(sqs_patched):
    from moto.sqs import models

    sqs_patched()
    sqs_patched()  # a second MotoServer.start in the same process wraps nothing twice
    assert abs(models.unix_time() - time.time()) < 1
    assert abs(models.unix_time_millis() - time.time() * 1000) < 1000
    assert models.unix_time(datetime(2020, 1, 1)) == 1_577_836_800.0  # a given time still converts
    assert models.unix_time_millis(datetime(2020, 1, 1)) == 1_577_836_800_000.0
    # A delayed message is still delayed, and visible once due.
    backend = _queue_with(0)
    backend.send_message("work", "later", delay_seconds=30)
    assert backend.receive_message("work", 10, 0, 30, ["All"]) == []
    backend.get_queue("work")._messages[0].delayed_until = time.time() * 1000 - 1
    assert [m.body for m in backend.receive_message("work", 10, 0, 30, ["All"])] == ["later"]


def _twenty_requests(port: int, path: str, body: bytes | None = None) -> float:
    """Seconds for 20 sequential requests on one kept-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    started = time.perf_counter()
    for _ in range(20):
        connection.request("POST" if body else "GET", path, body=body,
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        assert response.status == 200
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


# Each response leaves in two writes (headers, body). With Nagle's algorithm the body waits for the client's
# delayed ACK, ~40 ms per request: 20 took 0.83 s; with TCP_NODELAY 0.01 s.
def test_a_simulator_answers_a_kept_alive_connection_without_waiting_for_acks():
    server = JsonServer([("POST", re.compile(r"/write"), lambda _req: (200, {"ok": True}, {}))]).start()
    try:
        assert _twenty_requests(server.port, "/write", b'{"a": 1}') < 0.4
    finally:
        server.stop()


def test_the_gateway_answers_a_kept_alive_connection_without_waiting_for_acks():
    gateway = Gateway(0, [], lambda *_: None, stage="v1", extras={},
                      local_routes={"/_local/idle": lambda: {"idle": True}}).start()
    try:
        assert _twenty_requests(gateway.port, "/_local/idle") < 0.4
    finally:
        gateway.stop()
