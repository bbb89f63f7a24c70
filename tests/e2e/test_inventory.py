"""Inventory & ATP on the running stack: v1 and v2 balances from the WMS and the ERP into the ATP projection,
served over signed HTTP and forwarded to planning; stale balances left out; bad inputs refused at the door;
and planning down for a while: its updates wait in the PlanningSyncPipeline queue and drain once it is back."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from distsync.sim.clients import HttpResult, send

pytestmark = pytest.mark.e2e

LOTS = [{"lotNumber": "L-1", "quantity": 50, "expiresOn": "2027-06-30", "serialNumbers": ["S-1", "S-2"]},
        {"lotNumber": "L-2", "quantity": 30}]


def cid_for(sku: str, what: str) -> str:
    return f"inv-{what}-{sku}-{uuid.uuid4().hex[:6]}"


def iso(at: datetime) -> str:
    return at.isoformat()


def header(result: HttpResult, name: str) -> str:
    return next((v for k, v in result.headers.items() if k.lower() == name.lower()), "")


def assert_problem(result: HttpResult, status: int, needle: str) -> dict[str, Any]:
    assert result.status == status, result.body
    assert header(result, "Content-Type") == "application/problem+json"
    assert result.body["status"] == status and needle in str(result.body), result.body
    return result.body


def hops_of(stack, cid: str, stage: str, outcome: str | None = None) -> list[dict[str, Any]]:
    return [h for h in stack.trace(cid)["hops"] if h["stage"] == stage and (outcome is None or h["outcome"] == outcome)]


def planning_balances(stack, cid: str) -> list[dict[str, Any]]:
    return stack.sim_records("planning", "inventory-balance", cid)


def test_a_v1_and_a_v2_balance_are_accepted_projected_and_sent_to_planning(stack):
    sku = stack.new_item()
    now = datetime.now(UTC)
    v1 = cid_for(sku, "v1")
    stack.expect(stack.wms.inventory_balance(sku, "DC-1", on_hand=100, allocated=30, in_transit=50,
                                             in_transit_due_at=iso(now + timedelta(days=3)),
                                             as_of=iso(now - timedelta(minutes=5)), correlation_id=v1), v1, "delivered")
    stack.wait_idle()
    atp = stack.api.atp(sku, "DC-1")
    assert atp.status == 200, atp.body
    assert (atp.body["availableToPromise"], atp.body["inboundCounted"], atp.body["lots"]) == (120, 50, [])
    assert atp.body["sourceSystem"] == "wms"

    v2 = cid_for(sku, "v2")
    stack.expect(stack.erp.inventory_balance(sku, "DC-1", on_hand=80, allocated=20, in_transit=0,
                                             as_of=iso(now), lots=LOTS, correlation_id=v2), v2, "delivered")
    stack.wait_idle()
    atp = stack.api.atp(sku, "DC-1")
    assert atp.status == 200, atp.body
    assert (atp.body["onHand"], atp.body["availableToPromise"], atp.body["sourceSystem"]) == (80, 60, "erp")
    assert [(lot["lotNumber"], lot["quantity"]) for lot in atp.body["lots"]] == [("L-1", 50), ("L-2", 30)]
    assert atp.body["lots"][0]["serialNumbers"] == ["S-1", "S-2"]

    for cid, version, lot_count, available in ((v1, "1", 0, 120), (v2, "2", 2, 60)):
        # On the bus the balance keeps the version it came in; the consumer saw it upcast to v2.
        [received] = [e for e in stack.bus_events_for(cid) if e["detail-type"] == "InventoryBalanceChanged"]
        assert received["detail"]["metadata"]["eventVersion"] == version
        [sent] = planning_balances(stack, cid)
        assert (sent["itemId"], sent["locationId"]) == (sku, "DC-1")
        assert (sent["body"]["lotCount"], sent["body"]["availableToPromise"]) == (lot_count, available)
        trace = stack.trace(cid)
        assert trace["status"] == "delivered"
        assert [(h["stage"], h["outcome"]) for h in trace["hops"]] == [
            ("webhook", "ok"), ("inventory", "ok"), ("planning-sync", "delivered")]


def test_a_stale_balance_does_not_overwrite_a_newer_one(stack):
    sku = stack.new_item()
    now = datetime.now(UTC)
    newer, older = cid_for(sku, "newer"), cid_for(sku, "older")
    stack.expect(stack.wms.inventory_balance(sku, "DC-1", on_hand=70, allocated=10, as_of=iso(now),
                                             correlation_id=newer), newer, "delivered")
    stack.wait_idle()
    # Arrives later but was true earlier (e.g. a delayed ERP snapshot).
    stack.expect(stack.erp.inventory_balance(sku, "DC-1", on_hand=500, allocated=0,
                                             as_of=iso(now - timedelta(hours=1)), correlation_id=older),
                 older, "delivered")
    stack.wait_idle()

    atp = stack.api.atp(sku, "DC-1")
    assert atp.status == 200, atp.body
    assert (atp.body["onHand"], atp.body["availableToPromise"], atp.body["sourceSystem"]) == (70, 60, "wms")
    assert datetime.fromisoformat(atp.body["asOf"]) == now
    # Planning got the newer balance once and never the stale one.
    assert [r["body"]["onHand"] for r in planning_balances(stack, newer)] == [70]
    assert planning_balances(stack, older) == []
    assert [r["body"]["onHand"] for r in stack.sim_records("planning", "inventory-balance")
            if r["itemId"] == sku] == [70]
    [left_out] = hops_of(stack, older, "inventory")
    assert left_out["outcome"] == "delivered" and "stale balance" in left_out["detail"] and "left out" in left_out["detail"]
    assert hops_of(stack, older, "planning-sync") == []


def test_atp_is_served_over_signed_http_with_problems_for_what_it_cannot_serve(stack):
    sku = stack.new_item()
    cid = cid_for(sku, "short")
    stack.expect(stack.wms.inventory_balance(sku, "DC-1", on_hand=10, allocated=25, in_transit=40,
                                             correlation_id=cid), cid, "delivered")  # in transit without a due time
    stack.wait_idle()
    atp = stack.api.atp(sku, "DC-1")
    assert atp.status == 200 and header(atp, "Content-Type").startswith("application/json")
    assert (atp.body["availableToPromise"], atp.body["shortfall"], atp.body["inboundCounted"]) == (0, 15, 0)
    assert atp.body["horizonDays"] == 14 and atp.body["inTransitDueAt"] is None

    assert_problem(stack.api.atp(f"SKU-none-{uuid.uuid4().hex[:6]}", "DC-1"), 404, "no inventory balance")
    assert_problem(stack.api.atp(sku, "DC-404"), 404, f"no inventory balance for {sku}@DC-404")
    assert_problem(send(f"{stack.url}/v1/atp/{sku}/DC-1", headers={"x-api-key": stack.api_keys["channels"]}), 401,
                   "missing X-Distsync-Timestamp")
    assert_problem(send(f"{stack.url}/v1/atp/{sku}/DC-1"), 403, "x-api-key")  # API Gateway's, before any of ours
    wrong_key = type(stack.api)(stack.url, "not-the-secret", stack.api_keys)
    assert_problem(wrong_key.atp(sku, "DC-1"), 401, "signature does not match")
    assert_problem(stack.api.get(f"/v1/atp/{sku}/DC-1", now=time.time() - 3600), 401, "window")
    assert_problem(stack.api.atp("-bad", "DC-1"), 400, "itemId must be")
    assert_problem(stack.api.atp(sku, "D" * 65), 400, "locationId must be")


def test_bad_balances_are_refused_at_the_door_and_never_reach_the_bus(stack):
    sku = stack.new_item()
    over, unknown, lots_in_v1 = cid_for(sku, "over"), cid_for(sku, "v3"), cid_for(sku, "v1lots")
    body = assert_problem(stack.wms.inventory_balance(sku, "DC-1", on_hand=79, lots=LOTS, correlation_id=over),
                          400, "the lots hold more than onHand")
    assert body["detail"] == "data breaks the InventoryBalanceChanged-v2 contract"
    data = {"itemId": sku, "locationId": "DC-1", "onHand": 1, "allocated": 0, "inTransit": 0,
            "asOf": iso(datetime.now(UTC)), "sourceSystem": "wms"}
    body = assert_problem(stack.wms.webhook("wms", "InventoryBalanceChanged", data, version="3",
                                            correlation_id=unknown),
                          400, "eventVersion '3' of InventoryBalanceChanged is not supported (supported: 1, 2)")
    assert [e["field"] for e in body["errors"]] == ["eventVersion"]
    body = assert_problem(stack.wms.webhook("wms", "InventoryBalanceChanged", {**data, "lots": LOTS},
                                            version="1", correlation_id=lots_in_v1), 400, "InventoryBalanceChanged-v1")
    assert [e["field"] for e in body["errors"]] == ["data.lots"]

    stack.wait_idle()
    for cid in (over, unknown, lots_in_v1):
        assert stack.bus_events_for(cid) == [], cid
        assert stack.trace(cid)["hops"] == [], cid
        assert planning_balances(stack, cid) == [], cid
    assert stack.api.atp(sku, "DC-1").status == 404  # nothing was projected


def queue_depth(stack, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
             "ApproximateNumberOfMessagesDelayed"]
    attrs = stack.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attrs.get(n, 0)) for n in names)


def planning_sync_queues(stack) -> tuple[str, str]:
    queues = send(stack.url + "/_local/info").body["queues"]
    [queue] = [url for lid, url in queues.items() if lid.startswith("PlanningSyncPipelineQueue")]
    [dlq] = [url for lid, url in queues.items() if lid.startswith("PlanningSyncPipelineDeadLetterQueue")]
    return queue, dlq


def planning_faults(stack, **body: Any) -> None:
    result = stack.api.post("/_sim/planning/faults", body)
    assert result.status == 200, result.body


def test_planning_down_balances_wait_in_the_queue_and_reach_planning_once_it_is_back(stack):
    """Issue #5: while the planning API is down, its updates wait in the PlanningSyncPipeline queue (not in
    its DLQ) and every one reaches planning exactly once when it is back."""
    n = 4
    skus = [stack.new_item() for _ in range(n)]
    queue, dlq = planning_sync_queues(stack)
    assert queue_depth(stack, queue) == 0  # settled: whatever is in it from now on is ours
    dlq_before = queue_depth(stack, dlq)

    planning_faults(stack, status=503, down=True)
    try:
        cids = []
        for i, sku in enumerate(skus):
            cid = cid_for(sku, "down")
            cids.append(stack.expect(stack.wms.inventory_balance(sku, "DC-1", on_hand=100 + i, allocated=i,
                                                                 correlation_id=cid), cid, "delivered"))
        # Projected at once (ATP does not depend on planning) ...
        for sku in skus:
            deadline = time.monotonic() + 60
            while (atp := stack.api.atp(sku, "DC-1")).status == 404 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert atp.status == 200 and atp.body["availableToPromise"] == 100, atp.body
        # ... while the updates for planning fail and are retried: wait until each was tried a few times.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(len(hops_of(stack, c, "planning-sync", "retrying")) >= 2
                                                      for c in cids):
            time.sleep(0.5)
        for cid in cids:
            retries = hops_of(stack, cid, "planning-sync", "retrying")
            assert len(retries) >= 2, stack.trace(cid)
            assert "HTTP 503" in retries[0]["detail"] and "of 20)" in retries[0]["detail"]
            assert hops_of(stack, cid, "planning-sync", "dead_lettered") == [], stack.trace(cid)
            assert stack.trace(cid)["status"] == "in_flight"
            assert planning_balances(stack, cid) == []
        # Nothing lost: all N wait in the queue, none went to the DLQ.
        assert queue_depth(stack, queue) == n
        assert queue_depth(stack, dlq) == dlq_before
        assert not send(stack.url + "/_local/idle").body["idle"]
    finally:
        planning_faults(stack, status=503, down=False)

    stack.wait_idle(timeout=120)
    assert queue_depth(stack, queue) == 0 and queue_depth(stack, dlq) == dlq_before
    for i, (sku, cid) in enumerate(zip(skus, cids, strict=True)):
        [sent] = planning_balances(stack, cid)  # exactly once
        assert (sent["itemId"], sent["body"]["onHand"], sent["body"]["availableToPromise"]) == (sku, 100 + i, 100)
        trace = stack.trace(cid)
        assert trace["status"] == "delivered", trace
        assert trace["hops"][-1]["stage"] == "planning-sync" and trace["hops"][-1]["outcome"] == "delivered"
        assert [h["outcome"] for h in trace["hops"] if h["stage"] == "planning-sync"].count("delivered") == 1
