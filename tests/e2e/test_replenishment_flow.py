"""The foundation's scenarios on the running local stack; every test counts what went in and came out."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from distsync.sim.clients import send
from distsync_core.platform.signing import signed_headers

pytestmark = pytest.mark.e2e


def item() -> str:
    return f"SKU-{uuid.uuid4().hex[:8]}"


def test_small_change_is_applied_to_the_erp_and_the_warehouse_is_notified(stack):
    sku = stack.new_item()
    cid = stack.recommend(sku, 110, 220, expect="delivered")
    stack.wait_idle()

    [update] = stack.erp_updates(cid)
    assert (update["itemId"], update["safetyStock"], update["reorderPoint"], update["approvalId"]) == (sku, 110, 220, None)
    assert len(stack.wms_notifications(cid)) == 1
    doc = stack.trace(cid)
    assert doc["status"] == "delivered"
    assert [h["stage"] for h in doc["hops"]] == ["webhook", "planning", "erp", "warehouse"]
    types = [e["detail-type"] for e in stack.bus_events_for(cid)]
    assert types == ["ReplenishmentRecommended", "ReplenishmentUpdateRequested", "ReplenishmentParametersUpdated"]


def pending_approval(stack, cid: str) -> str:
    table = stack.dynamodb.Table(stack.info["outputs"]["ApprovalsTableName"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [i for i in table.scan()["Items"] if i["correlationId"] == cid and i["status"] == "PENDING"]
        if found:
            return found[0]["approvalId"]
        time.sleep(0.2)
    raise AssertionError(f"no pending approval for {cid}")


def test_large_change_waits_for_a_planner_then_is_approved_through_the_cli(stack):
    sku = stack.new_item()
    cid = stack.recommend(sku, 150, 200, expect="delivered")
    stack.wait_idle()
    approval_id = pending_approval(stack, cid)
    assert stack.trace(cid)["status"] == "pending_approval"
    assert stack.erp_updates(cid) == []

    listed = stack.cli("approvals", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert approval_id in [a["approvalId"] for a in json.loads(listed.stdout)]
    approved = stack.cli("approvals", "approve", approval_id, "--comment", "season peak", "--by", "planner-7")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    stack.wait_idle()

    [update] = stack.erp_updates(cid)
    assert (update["safetyStock"], update["approvalId"]) == (150, approval_id)
    doc = stack.trace(cid)
    assert doc["status"] == "delivered"
    assert [(h["stage"], h["outcome"]) for h in doc["hops"]] == [
        ("webhook", "ok"), ("planning", "ok"), ("approval", "pending_approval"), ("approval", "approved"),
        ("erp", "delivered"), ("warehouse", "delivered")]
    assert "planner-7" in doc["hops"][3]["detail"]
    printed = stack.cli("trace", cid)  # the operator's view: the timeline with durations
    assert printed.returncode == 0 and "pending_approval" in printed.stdout and "approved" in printed.stdout
    assert "6 hops in" in printed.stdout
    again = stack.api.decide(approval_id, "reject")
    assert again.status == 409 and "already" in again.body["detail"]


def test_large_change_rejected_by_the_planner_never_reaches_the_erp(stack):
    sku = stack.new_item()
    cid = stack.recommend(sku, 100, 400, expect="rejected")
    stack.wait_idle()
    decided = stack.api.decide(pending_approval(stack, cid), "reject", comment="forecast outlier")
    assert decided.status == 200, decided.body
    stack.wait_idle()
    assert stack.erp_updates(cid) == []
    doc = stack.trace(cid)
    assert doc["status"] == "rejected" and "forecast outlier" in doc["hops"][-1]["detail"]
    assert stack.api.decide("apr-does-not-exist", "approve").status == 404


def test_unknown_item_location_is_quarantined_with_the_reason(stack):
    cid = stack.recommend(item(), 5, 10, expect="quarantined")
    stack.wait_idle()
    doc = stack.trace(cid)
    assert doc["status"] == "quarantined" and "no ItemLocationUpserted in master data" in doc["hops"][-1]["detail"]
    listed = stack.cli("quarantine", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [record] = [q for q in json.loads(listed.stdout) if q["correlationId"] == cid]
    assert record["stage"] == "planning" and "unknown item-location" in record["reason"]
    assert stack.erp_updates(cid) == []


def _raw_post(stack, body: bytes, headers: dict[str, str]):
    return send(stack.url + "/v1/webhooks/planning", "POST", body, {"x-api-key": stack.api_keys["planning"], **headers})


def _valid_body(cid: str) -> bytes:
    return json.dumps({"eventType": "ReplenishmentRecommended", "eventVersion": "1",
                       "occurredAt": "2026-11-27T08:00:00Z",
                       "data": {"itemId": "SKU-1", "locationId": "DC-1", "recommendedSafetyStock": 1,
                                "recommendedReorderPoint": 2, "planningCycleId": "c"}}).encode()


@pytest.mark.parametrize(
    ("case", "status"),
    [("bad-signature", 401), ("stale-timestamp", 401), ("malformed", 400), ("contract", 400),
     ("oversize", 413), ("content-type", 415), ("unknown-type", 400)],
)
def test_rejected_requests_say_why_and_put_nothing_on_the_bus(stack, case, status):
    from tests.e2e.conftest import SECRET

    cid = f"rejected-{case}-{uuid.uuid4().hex[:6]}"
    body = _valid_body(cid)
    now = time.time()
    if case == "malformed":
        body = b'{"eventType": "ReplenishmentRecommended",'
    elif case == "contract":
        body = body.replace(b'"recommendedSafetyStock": 1', b'"recommendedSafetyStock": -5')
    elif case == "oversize":
        body = b'{"pad": "' + b"x" * (300 * 1024) + b'"}'
    elif case == "unknown-type":
        body = body.replace(b"ReplenishmentRecommended", b"ReplenishmentTeleported")
    headers = {"Content-Type": "application/json", "X-Correlation-Id": cid,
               **signed_headers(SECRET, body, now - 3600 if case == "stale-timestamp" else now)}
    if case == "bad-signature":
        headers["X-Distsync-Signature"] = "sha256=" + "ab" * 32
    if case == "content-type":
        headers["Content-Type"] = "text/plain"

    result = _raw_post(stack, body, headers)
    assert result.status == status
    assert result.headers["Content-Type"] == "application/problem+json"
    assert result.body["status"] == status and result.body["detail"]
    if case == "contract":
        assert result.body["errors"] == [
            {"field": "data.recommendedSafetyStock", "message": "Input should be greater than or equal to 0"}]
    stack.wait_idle()
    assert stack.bus_events_for(cid) == []
    assert stack.trace(cid)["hops"] == []


def test_erp_failing_three_times_then_recovering_applies_the_update_once(stack):
    sku = stack.new_item()
    stack.faults(503, 3)
    cid = stack.recommend(sku, 105, 200, expect="delivered")
    stack.wait_idle()
    assert len(stack.erp_updates(cid)) == 1
    assert len(stack.wms_notifications(cid)) == 1
    assert stack.trace(cid)["status"] == "delivered"


def test_the_same_webhook_twice_updates_the_erp_once(stack):
    sku = stack.new_item()
    cid = f"dup-{sku}"
    same = dict(safety_stock=111, reorder_point=200, planning_cycle_id="c-dup", correlation_id=cid,
                occurred_at="2026-11-27T06:00:00+00:00")
    first = stack.planning.recommend(sku, "DC-1", idempotency_key=f"key-{sku}", **same)
    second = stack.planning.recommend(sku, "DC-1", idempotency_key=f"key-{sku}", **same)  # the partner's retry
    assert first.status == second.status == 202 and first.body == second.body
    # A partner retry without an Idempotency-Key is a new event: downstream idempotency still applies it once.
    third = stack.planning.recommend(sku, "DC-1", **same)
    assert third.status == 202 and third.body["eventId"] != first.body["eventId"]
    stack.accepted[cid] = "delivered"
    stack.wait_idle()
    recommended = [e for e in stack.bus_events_for(cid) if e["detail-type"] == "ReplenishmentRecommended"]
    assert len(recommended) == 2
    assert len(stack.erp_updates(cid)) == 1
    assert len(stack.wms_notifications(cid)) == 1


def test_erp_down_dead_letters_the_update_with_the_reason(stack):
    dlq = stack.info["queues"][next(q for q in stack.info["deadLetterQueues"] if q.startswith("ErpUpdatePipelineDeadLetter"))]
    before = _depth(stack, dlq)
    _, cid = stack.dead_letter_update(expect="dead_lettered")
    assert _depth(stack, dlq) == before + 1
    doc = stack.trace(cid)
    assert doc["status"] == "dead_lettered"
    assert [h["outcome"] for h in doc["hops"] if h["stage"] == "erp"] == ["retrying", "retrying", "dead_lettered"]
    assert "HTTP 503" in doc["hops"][-1]["detail"]
    assert stack.erp_updates(cid) == []


def _depth(stack, url: str) -> int:
    attrs = stack.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def test_trace_cli_prints_the_documented_json(stack):
    sku = stack.new_item()
    cid = stack.recommend(sku, 100, 210, expect="delivered")
    stack.wait_idle()
    result = stack.cli("trace", cid, "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == {"correlationId", "status", "hops"} and doc["status"] == "delivered"
    assert all(set(h) == {"at", "stage", "outcome", "detail"} for h in doc["hops"])
    assert stack.cli("trace", "no-such-correlation", "--json").returncode == 1


def test_every_function_on_the_path_logs_the_correlation_id(stack):
    sku = stack.new_item()
    cid = stack.recommend(sku, 150, 260, expect="delivered")
    stack.wait_idle()
    assert stack.api.decide(pending_approval(stack, cid), "approve").status == 200
    stack.wait_idle()
    logs = {}
    from pathlib import Path

    for path in Path(stack.info["logs"]).glob("*.log"):
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]
        logs[path.stem] = [entry for entry in lines if entry.get("correlation_id") == cid]
    with_cid = {name.split("Function")[0] for name, entries in logs.items() if entries}
    assert {"WebhookApi", "PlanningTransformer", "ApprovalRequest", "ApprovalApi", "ApprovalOutcome",
            "ErpUpdater", "WarehouseNotifier"} <= with_cid
    [update] = stack.erp_updates(cid)
    assert update["correlationId"] == cid  # sent to the ERP as X-Correlation-Id
