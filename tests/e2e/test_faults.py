"""Fault injection on the running stack: the ERP rate-limits, times out, a Lambda dies mid-batch, a poison
message sits in a batch of good ones. Each time: every event ends delivered or quarantined, once."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid

import pytest

from distsync.sim.clients import send

pytestmark = pytest.mark.e2e


def items(stack, n: int) -> list[str]:
    return [stack.new_item() for _ in range(n)]


def test_erp_rate_limiting_then_recovery_applies_once(stack):
    [sku] = items(stack, 1)
    stack.faults(429, 3)
    cid = stack.recommend(sku, 106, 200, expect="delivered")
    stack.wait_idle()
    assert len(stack.erp_updates(cid)) == 1 and stack.trace(cid)["status"] == "delivered"


def test_erp_timeouts_then_recovery_applies_once(stack):
    [sku] = items(stack, 1)
    # The ERP answers after 6 s, past the adapter's 5 s timeout, twice; then it is fast again.
    assert stack.api.post("/_sim/erp/faults", {"status": 503, "count": 2, "delaySeconds": 6}).status == 200
    cid = stack.recommend(sku, 107, 200, expect="delivered")
    stack.wait_idle(timeout=120)
    assert len(stack.erp_updates(cid)) == 1 and stack.trace(cid)["status"] == "delivered"


def test_a_lambda_dying_mid_batch_applies_every_update_once(stack):
    skus = items(stack, 5)
    # Each ERP call takes 1.5 s, so the ERP adapter is still inside its batch when it is killed.
    assert stack.api.post("/_sim/erp/faults", {"status": 200, "count": 5, "delaySeconds": 1.5}).status == 200
    cids = [stack.recommend(sku, 108, 200, expect="delivered") for sku in skus]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(stack.erp_updates(c) for c in cids):
        time.sleep(0.1)
    functions = send(stack.url + "/_local/info").body["functions"]
    pid = next(v["pid"] for k, v in functions.items() if k.startswith("ErpUpdater"))
    assert pid, "the ERP adapter should be running"
    os.kill(pid, signal.SIGKILL)
    stack.wait_idle(timeout=120)
    for cid in cids:
        assert len(stack.erp_updates(cid)) == 1, cid
        assert len(stack.wms_notifications(cid)) == 1, cid
        assert stack.trace(cid)["status"] == "delivered", stack.trace(cid)
    after = send(stack.url + "/_local/info").body["functions"]
    assert next(v["coldStarts"] for k, v in after.items() if k.startswith("ErpUpdater")) >= 2


def test_a_poison_message_is_quarantined_and_its_batch_mates_delivered(stack):
    skus = items(stack, 3)
    queue = stack.info["queues"][next(q for q in stack.info["queues"] if q.startswith("PlanningPipelineQueue"))]
    cids = [f"batch-{sku}" for sku in skus]
    recommendation = {
        "version": "0", "id": "x", "detail-type": "ReplenishmentRecommended", "source": "distsync.planning",
        "account": "123456789012", "time": "2026-11-27T08:00:00Z", "region": "us-east-1", "resources": [],
    }
    entries = [{"Id": "poison", "MessageBody": json.dumps({**recommendation, "detail": {"metadata": {"eventId": 7}}})}]
    for i, (sku, cid) in enumerate(zip(skus, cids, strict=True)):
        envelope = {
            "metadata": {"eventId": str(uuid.uuid4()), "eventType": "ReplenishmentRecommended", "eventVersion": "1",
                         "source": "planning", "occurredAt": "2026-11-27T08:00:00+00:00",
                         "receivedAt": "2026-11-27T08:00:00+00:00", "correlationId": cid},
            "data": {"itemId": sku, "locationId": "DC-1", "recommendedSafetyStock": 109, "recommendedReorderPoint": 200,
                     "planningCycleId": "c-poison"},
        }
        entries.append({"Id": f"good{i}", "MessageBody": json.dumps({**recommendation, "detail": envelope})})
        stack.accepted[cid] = "delivered"
    stack.sqs.send_message_batch(QueueUrl=queue, Entries=entries)  # one batch for the consumer
    stack.wait_idle()
    for cid in cids:
        assert len(stack.erp_updates(cid)) == 1 and stack.trace(cid)["status"] == "delivered"
    poisoned = [q for q in json.loads(stack.cli("quarantine", "list", "--json").stdout)
                if '"eventId": 7' in q["body"]]
    assert len(poisoned) == 1 and poisoned[0]["reason"] == "envelope breaks the contract"
