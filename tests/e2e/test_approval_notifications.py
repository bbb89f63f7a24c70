"""Impact-aware approvals and notifications on the shared stack: a change above the threshold on an
item-location with a unit cost, a forecast and a balance reaches the planners' topic with its impact and the
command to decide it (at ``/_sim/notifications``, drained from moto's SNS -> SQS delivery), and ``approvals
list`` and the console show the impact; an opened shipment exception case reaches operations with the command
that resolves it."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from distsync.sim.clients import send
from tests.e2e.test_replenishment_flow import pending_approval

pytestmark = pytest.mark.e2e


def notifications_for(stack, reference: str, timeout: float = 30) -> list[dict]:
    """SNS delivers after the task returned: poll the recorder until the message is there (or the deadline)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [n for n in send(stack.url + "/_sim/notifications").body["notifications"]
                 if n["reference"] == reference]
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no notification for {reference}")


def test_an_approval_above_the_threshold_notifies_the_planners_with_its_impact(stack):
    sku = f"SKU-{uuid.uuid4().hex[:8]}"
    tag = uuid.uuid4().hex[:6]
    # master data: 100 / 200 with a 25-day lead time, and the item's unit cost
    stack.expect(stack.erp.upsert_item_location(sku, "DC-1", safety_stock=100, reorder_point=200, lead_time_days=25,
                                                correlation_id=f"md-{tag}"), f"md-{tag}", "delivered")
    stack.expect(stack.erp.upsert("ItemUpserted", {"itemId": sku, "description": "Widget", "unitOfMeasure": "EA",
                                                    "status": "active", "unitCost": 2.5, "currency": "EUR"},
                                   correlation_id=f"item-{tag}"), f"item-{tag}", "delivered")
    stack.wait_idle()
    # 70 a week from this week on (10 a day), and 500 available
    today = datetime.now(UTC).date()
    week = today - timedelta(days=today.weekday())
    weeks = [((week + timedelta(weeks=i)).isoformat(), 70) for i in range(4)]
    stack.expect(stack.planning.forecast(sku, "DC-1", f"F-{tag}", weeks, correlation_id=f"fc-{tag}"),
                 f"fc-{tag}", "delivered")
    stack.expect(stack.erp.inventory_balance(sku, "DC-1", on_hand=520, allocated=20, correlation_id=f"inv-{tag}"),
                 f"inv-{tag}", "delivered")
    stack.wait_idle()

    cid = stack.recommend(sku, 300, 400, expect="delivered")  # +200%: above the 20% threshold; approved below
    stack.wait_idle()
    approval_id = pending_approval(stack, cid)

    [note] = notifications_for(stack, approval_id)
    assert (note["audience"], note["kind"]) == ("planners", "approval_requested")
    assert note["subject"] == f"Approval needed: {sku}@DC-1 safety stock 100 -> 300 (+200%)"
    text = note["message"]
    assert f"Approval {approval_id} waits for a planner: {sku}@DC-1" in text
    assert "safety stock cover 10 -> 30 days (demand 10/day)" in text and "ATP 500 covers 50 days" in text
    assert f"stockout {(today + timedelta(days=50)).isoformat()} -> none projected" in text
    assert "working capital +500.00 EUR" in text
    assert f"distsync approvals approve {approval_id}" in text and f"{stack.url}/console#approvals" in text

    listed = stack.cli("approvals", "list", "--json", "--sort", "impact")
    assert listed.returncode == 0, listed.stderr
    [row] = [a for a in json.loads(listed.stdout) if a["approvalId"] == approval_id]
    impact = row["impact"]
    assert (impact["coverDaysBefore"], impact["coverDaysAfter"], impact["score"]) == (10, 30, 20)
    assert (impact["workingCapitalChange"], impact["currency"]) == (500, "EUR")
    table = stack.cli("approvals", "list", "--sort", "impact")
    assert table.returncode == 0 and "10 -> 30 d" in table.stdout and "+500.00 EUR" in table.stdout

    # the console's approvals view (its API): sorted by impact, with the impact in one line
    console = send(stack.url + "/_local/ops/approvals?sort=impact").body
    [shown] = [a for a in console if a["approvalId"] == approval_id]
    assert "safety stock cover 10 -> 30 days" in shown["impactSummary"]
    assert send(stack.url + "/_local/ops/approvals?sort=size").status == 400

    # approved, so it ends delivered as the shared stack's accounting expects
    assert stack.cli("approvals", "approve", approval_id, "--by", "planner-e2e").returncode == 0
    stack.wait_idle()


def test_an_opened_exception_case_notifies_operations_with_the_command_that_resolves_it(stack):
    tag = uuid.uuid4().hex[:8]
    shipment, orders, cid = f"SHP-{tag}", [f"SO-{tag}-1"], f"SHP-{tag}-exception"
    stack.expect(stack.wms.milestone(shipment, orders, "exception", source="tms", correlation_id=cid,
                                     exception={"kind": "damaged", "description": "pallet crushed"}), cid, "delivered")
    stack.wait_idle()
    [opened] = notifications_for_subject(stack, shipment)  # the case opens in a workflow task, after idle
    assert opened["audience"] == "operations"
    case_id = opened["reference"]
    assert f"Shipment exception case {case_id} is open: shipment {shipment} (orders {orders[0]}), damaged: " \
           "pallet crushed." in opened["message"]
    assert f"distsync exceptions resolve {case_id} " in opened["message"]
    assert f"{stack.url}/console#transactions" in opened["message"]

    resolved = stack.cli("exceptions", "resolve", case_id, "reshipped", "--by", "ops-e2e")  # as the message says
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    stack.wait_idle()


def notifications_for_subject(stack, text: str, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [n for n in send(stack.url + "/_sim/notifications").body["notifications"] if text in n["subject"]]
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no notification about {text}")
