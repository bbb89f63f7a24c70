"""Parameter drift on the shared local stack: recommendations applied through the webhook, the planning
pipeline and the ERP updater at a location of this module's own (``DR-<hex>``, so ``--location`` keeps the
drift run, and above all its ``--fix``, to this module's item-locations); then the ERP changed by hand at the
ERP simulator. ``distsync drift --json`` reports both as changed by hand; ``--fix`` sends the corrections
through the planning pipeline: the small one is applied directly, the large one waits for a planner, who
approves it; the traces show each reaching the ERP, and the next drift run finds them in sync."""

from __future__ import annotations

import json
import uuid

import pytest

from distsync.sim.clients import send
from tests.e2e.test_approval_notifications import notifications_for
from tests.e2e.test_replenishment_flow import pending_approval

pytestmark = pytest.mark.e2e


def by_hand(stack, item: str, loc: str, ss: float, rop: float) -> None:
    """Someone edits the parameters in the ERP itself, not through distsync."""
    url = f"{stack.info['erpSimulator']}/v1/items/{item}/locations/{loc}/replenishment-parameters"
    answer = send(url, "PUT", json.dumps({"safetyStock": ss, "reorderPoint": rop}).encode(),
                  {"Idempotency-Key": f"by-hand-{uuid.uuid4().hex}", "Content-Type": "application/json"})
    assert answer.status == 200, answer.body


def drift(stack, *args: str) -> tuple[int, dict]:
    run = stack.cli("drift", "--json", *args)
    assert run.returncode in (0, 1), run.stdout + run.stderr
    return run.returncode, json.loads(run.stdout)


def test_a_change_by_hand_is_reported_and_fixed_through_the_governed_path(stack):
    loc = f"DR-{uuid.uuid4().hex[:6]}"
    small, large = f"SKU-{uuid.uuid4().hex[:8]}", f"SKU-{uuid.uuid4().hex[:8]}"
    for sku in (small, large):
        stack.master_data(sku, loc)
    stack.wait_idle()
    for sku in (small, large):
        stack.recommend(sku, 110, 220, loc=loc, expect="delivered")  # 10 %: applied without approval
    stack.wait_idle()

    code, report = drift(stack, "--location", loc)
    assert code == 0 and report["counts"]["in_sync"] == 2 and report["location"] == loc

    by_hand(stack, small, loc, 105, 220)  # back to 110: 4.8 %, under the 20 % threshold
    by_hand(stack, large, loc, 50, 220)  # back to 110: 120 %, a planner decides
    code, report = drift(stack, "--location", loc)
    assert code == 1 and report["counts"]["changed_by_hand"] == 2
    found = {f["itemId"]: f for f in report["findings"]}
    assert found[small]["class"] == "changed_by_hand"
    assert (found[small]["erp"], found[small]["applied"]) == ({"safetyStock": 105, "reorderPoint": 220},
                                                              {"safetyStock": 110, "reorderPoint": 220})
    assert report["corrections"] == []  # reported only
    # ... and the planners are told, with the commands to look and to correct
    [note] = notifications_for(stack, report["runId"])
    assert note["kind"] == "drift_found" and "2 item-location(s) drifted (2 changed by hand" in note["message"]
    assert f"{small}@{loc}" in note["message"] and "distsync drift --fix" in note["message"]

    code, fixed = drift(stack, "--location", loc, "--fix")
    corrections = {c["itemId"]: c for c in fixed["corrections"]}
    assert corrections[small]["path"] == "direct" and corrections[large]["path"] == "approval"
    assert "waits for a planner" in corrections[large]["why"]
    stack.wait_idle()

    direct = stack.trace(corrections[small]["correlationId"])
    assert direct["status"] == "delivered"
    assert [h["stage"] for h in direct["hops"]][:3] == ["drift", "planning", "erp"]
    [update] = stack.erp_updates(corrections[small]["correlationId"])
    assert (update["itemId"], update["safetyStock"], update["reorderPoint"]) == (small, 110, 220)

    waiting = corrections[large]["correlationId"]
    assert stack.trace(waiting)["status"] == "pending_approval" and stack.erp_updates(waiting) == []
    approval_id = pending_approval(stack, waiting)
    approved = stack.cli("approvals", "approve", approval_id, "--comment", "restore after drift", "--by", "planner-3")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    stack.wait_idle()
    doc = stack.trace(waiting)
    assert doc["status"] == "delivered"
    assert [(h["stage"], h["outcome"]) for h in doc["hops"]][:5] == [
        ("drift", "ok"), ("planning", "ok"), ("approval", "pending_approval"), ("approval", "approved"),
        ("erp", "delivered")]
    [update] = stack.erp_updates(waiting)
    assert (update["safetyStock"], update["approvalId"]) == (110, approval_id)

    code, after = drift(stack, "--location", loc)
    assert code == 0 and after["counts"]["in_sync"] == 2, after
    printed = stack.cli("drift", "--location", loc, "--latest")
    assert printed.returncode == 0 and "2 item-location(s) checked: all in sync" in printed.stdout
