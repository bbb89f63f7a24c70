"""Shipments end to end on the local stack: WMS/TMS milestones through the webhook to the simulated ERP
(delivery status per order) and customer channels; an exception milestone opens a case in the exception
workflow (Step Functions on moto), which the signed resolution API closes."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def new_shipment() -> tuple[str, list[str]]:
    tag = uuid.uuid4().hex[:8]
    return f"SHP-{tag}", [f"SO-{tag}-1", f"SO-{tag}-2"]


def wait_status(stack, cid: str, status: str, timeout: float = 60) -> dict[str, Any]:
    """The trace once it reached ``status`` (a workflow task runs after the pipelines settled)."""
    deadline = time.monotonic() + timeout
    while True:
        trace = stack.trace(cid)
        if trace["status"] == status or time.monotonic() > deadline:
            assert trace["status"] == status, trace
            return trace
        time.sleep(0.2)


def test_milestones_reach_the_erp_for_every_order_and_the_customer_channels(stack):
    shipment, orders = new_shipment()
    cids = {}
    for milestone, source in (("picked", "wms"), ("packed", "wms"), ("shipped", "tms"), ("delivered", "tms")):
        cid = f"{shipment}-{milestone}"
        result = stack.wms.milestone(shipment, orders, milestone, tracking_number="TRK-42", source=source,
                                     correlation_id=cid)
        cids[milestone] = stack.expect(result, cid, "delivered")
        stack.wait_idle()  # one milestone after the other, as a carrier reports them

    for milestone, cid in cids.items():
        statuses = stack.sim_records("erp", "delivery-status", cid)
        assert sorted(s["orderId"] for s in statuses) == orders, statuses
        assert {(s["body"]["shipmentId"], s["body"]["milestone"], s["body"]["trackingNumber"]) for s in statuses} == {
            (shipment, milestone, "TRK-42")}
        assert len({s["idempotencyKey"] for s in statuses}) == 2  # one per order
        [update] = stack.sim_records("channels", "shipment-update", cid)
        assert (update["body"]["milestone"], update["body"]["orderIds"]) == (milestone, orders)
        trace = stack.trace(cid)
        assert trace["status"] == "delivered" and [h["stage"] for h in trace["hops"]] == ["webhook", "shipments"]
    # the ERP sees every order's milestones in the order they happened
    for order in orders:
        seen = [r["body"]["milestone"] for r in stack.sim_records("erp", "delivery-status")
                if r.get("orderId") == order]
        assert seen == ["picked", "packed", "shipped", "delivered"]


def test_an_exception_opens_a_case_that_the_signed_resolution_closes(stack):
    shipment, orders = new_shipment()
    cid = f"{shipment}-exception"
    result = stack.wms.milestone(shipment, orders, "exception", source="tms", correlation_id=cid,
                                 exception={"kind": "damaged", "description": "pallet crushed in transit"})
    stack.expect(result, cid, "delivered")
    stack.wait_idle()

    trace = wait_status(stack, cid, "pending_approval")
    [opened] = stack.sim_records("channels", "exception-notice", cid)
    case_id = opened["body"]["caseId"]
    assert (opened["body"]["status"], opened["body"]["kind"], opened["body"]["orderIds"]) == ("OPEN", "damaged", orders)
    assert any(case_id in h["detail"] and h["stage"] == "shipments" for h in trace["hops"]), trace
    statuses = stack.sim_records("erp", "delivery-status", cid)
    assert sorted(s["orderId"] for s in statuses) == orders
    assert {s["body"]["exception"]["kind"] for s in statuses} == {"damaged"}

    assert stack.api.resolve_exception("exc-does-not-exist", "reshipped").status == 404
    answer = stack.api.resolve_exception(case_id, "reshipped", comment="replacement sent", resolved_by="ops-e2e")
    assert answer.status == 200, answer.body
    assert answer.body == {"caseId": case_id, "resolution": "reshipped", "status": "RESOLVING"}
    stack.wait_idle()

    trace = wait_status(stack, cid, "delivered")
    last = trace["hops"][-1]
    assert (last["stage"], last["outcome"]) == ("shipment-exception", "delivered")
    assert f"case {case_id} resolved: reshipped replacement sent" == last["detail"]
    notices = stack.sim_records("channels", "exception-notice", cid)
    assert [(n["body"]["status"], n["body"].get("resolution")) for n in notices] == [
        ("OPEN", None), ("RESOLVED", "reshipped")]
    case = stack.dynamodb.Table(stack.info["outputs"]["ExceptionCasesTableName"]).get_item(
        Key={"caseId": case_id}, ConsistentRead=True)["Item"]
    assert (case["status"], case["decision"], case["decidedBy"]) == ("RESOLVED", "reshipped", "ops-e2e")

    second = stack.api.resolve_exception(case_id, "refunded")
    assert second.status == 409 and second.body["caseStatus"] == "RESOLVED", second.body
    stack.wait_idle()
    assert stack.trace(cid)["status"] == "delivered"
    assert len(stack.sim_records("channels", "exception-notice", cid)) == 2  # the 409 changed nothing


def test_an_erp_rejection_quarantines_the_milestone_with_its_answer(stack):
    shipment, orders = new_shipment()
    stack.faults(422, 1)
    try:
        cid = f"{shipment}-rejected"
        result = stack.wms.milestone(shipment, orders, "shipped", correlation_id=cid)
        stack.expect(result, cid, "quarantined")
        stack.wait_idle()
    finally:
        stack.faults(503, 0)
    trace = stack.trace(cid)
    assert trace["status"] == "quarantined" and "ERP rejected the call with HTTP 422" in trace["hops"][-1]["detail"]
    assert stack.sim_records("channels", "shipment-update", cid) == []
