"""Lineage on moto: the real handlers record the hops (master data, planning, the approval workflow, the ERP
adapter against the ERP simulator), and ``distsync why`` reads them back by business key."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from distsync.lineage_reader import read_lineage
from distsync_core.platform import ledger
from tests.conftest import FakeLambdaContext, load_handler
from tests.integration.conftest import api_event, bus_event
from tests.integration.test_approval_workflow import wait_for, workflow  # noqa: F401  (fixture)
from tests.integration.test_forecast_cycles import batch, chunk, cycles, seed  # noqa: F401  (fixture)
from tests.integration.test_pipelines import erp, master, recommendation, run  # noqa: F401  (fixture)

KEY = "SKU-1@DC-1"


def approve(approval_id: str, by: str, comment: str) -> None:
    body = json.dumps({"decision": "approve", "comment": comment, "decidedBy": by}).encode()
    response = load_handler("approval_api").lambda_handler(
        api_event("POST", f"/v1/approvals/{approval_id}", "/v1/approvals/{approvalId}", {"approvalId": approval_id},
                  body, bound_to_path=True), FakeLambdaContext("approval_api"))
    assert response["statusCode"] == 200, response["body"]


def test_an_approved_change_then_a_change_by_hand_in_the_erp(aws, workflow, erp, monkeypatch):  # noqa: F811
    monkeypatch.setenv("APPROVAL_STATE_MACHINE_ARN", workflow(3600))
    run("masterdata_transformer", bus_event(master(ss=100, rop=200)))
    run("planning_transformer", bus_event(recommendation(300, 200, cid="corr-big", cycle="C-9")))
    [pending] = wait_for(lambda: [a for a in aws.items("APPROVALS_TABLE_NAME") if a["status"] == "PENDING"])
    approve(pending["approvalId"], "planner-1", "peak season")
    [event] = wait_for(lambda: aws.probe(wait=0.2))
    assert run("erp_updater", event) == {"batchItemFailures": []}
    [written] = erp.snapshot()

    doc = read_lineage("trace", "masterdata", KEY)
    current = doc["current"]
    assert (current["correlationId"], current["values"]) == ("corr-big", {"safetyStock": 300, "reorderPoint": 200})
    steps = {s["step"]: s for s in doc["chain"]}
    assert list(steps) == ["approval_required", "approval_requested", "approved", "erp_write"]
    assert (steps["approved"]["actor"], steps["approved"]["comment"]) == ("planner-1", "peak season")
    assert steps["erp_write"]["erpRequestId"] == written["updateId"]
    # causation: the write was caused by the update the planner approved, which the recommendation caused
    assert steps["erp_write"]["causationId"] == steps["approval_requested"]["eventId"]
    assert steps["approval_requested"]["causationId"] == steps["approval_required"]["eventId"]
    for part in ("planning cycle C-9", "approved by planner-1", "'peak season'",
                 f"written to {steps['erp_write']['actor']}", f"ERP request {written['updateId']}"):
        assert part in current["explanation"]
    assert doc["masterData"]["values"] == {"safetyStock": 300, "reorderPoint": 200} and doc["masterData"]["explained"]

    # Someone changes the safety stock in the ERP; the ERP reports it (a newer record version).
    run("masterdata_transformer", bus_event(master(ss=60, rop=200).model_copy(
        update={"data": {**master(ss=60, rop=200).data, "recordVersion": 7}})))
    doc = read_lineage("trace", "masterdata", KEY)
    assert doc["current"]["kind"] == "erp" and doc["current"]["values"] == {"safetyStock": 60, "reorderPoint": 200}
    assert "changed in the ERP (ItemLocationUpserted), not by distsync" in doc["current"]["explanation"]
    assert [c["status"] for c in doc["history"]][:2] == ["changed_in_erp", "applied"]
    assert doc["masterData"]["recordVersion"] == 7 and doc["masterData"]["explained"]


def test_a_cycle_row_applied_directly_is_followed_from_the_row_to_the_erp(cycles, erp):  # noqa: F811
    [item] = seed(1, ss=100, rop=200)
    chunk.lambda_handler(batch([(item, "DC-1", "110", "210")], cycle_id="C-42"), FakeLambdaContext("cycle_chunk"))
    [rec] = cycles.probe()
    assert run("planning_transformer", rec) == {"batchItemFailures": []}
    [update] = cycles.probe(wait=0.5, expect=1)
    assert run("erp_updater", update) == {"batchItemFailures": []}

    doc = read_lineage("trace", "masterdata", f"{item}@DC-1")
    steps = doc["chain"]
    assert [s["step"] for s in steps] == ["recommendation", "automatic", "erp_write"]
    assert (steps[0]["actor"], steps[0]["values"]) == ("planning cycle C-42", {"safetyStock": 110, "reorderPoint": 210})
    assert steps[0]["eventId"] == steps[1]["eventId"] == steps[2]["causationId"]  # the row's event caused the write
    assert "recommended by planning cycle C-42" in doc["current"]["explanation"]
    assert "applied automatically (change 10.0% <= 20.0%)" in doc["current"]["explanation"]


def test_since_reads_only_the_newer_hops_of_the_business_key(aws):
    now = datetime.now(UTC)
    with ledger.recording("trace"):
        for cid, age in (("old", 40), ("new", 2)):
            ledger.hop(cid, "masterdata", "delivered", "master data stored", business_key=KEY,
                       at=(now - timedelta(days=age)).isoformat(), values={"safetyStock": age, "reorderPoint": 1})
        ledger.hop("other", "masterdata", "delivered", "", business_key="SKU-2@DC-1", at=now.isoformat(),
                   values={"safetyStock": 5, "reorderPoint": 1})
    assert [c["correlationId"] for c in read_lineage("trace", "masterdata", KEY)["history"]] == ["new", "old"]
    since = (now - timedelta(days=30)).isoformat()
    doc = read_lineage("trace", "masterdata", KEY, since=since)
    assert [c["correlationId"] for c in doc["history"]] == ["new"] and doc["since"] == since
    assert doc["masterData"] is None  # no master data record for the item-location


def test_a_key_that_is_not_item_at_location_is_refused(aws):
    with pytest.raises(ValueError, match="ITEM@LOCATION"):
        read_lineage("trace", "masterdata", "ORDER#SO-1")
