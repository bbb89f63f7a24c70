"""Lineage of an item-location's parameters from ledger hops, shaped as the handlers record them."""

from __future__ import annotations

import csv
import io
import json

import pytest

from distsync.lineage import ERP_CHANGE, causal_order, export_csv, export_json, lineage, split_key

KEY = "SKU-1@DC-1"


class Ledger:
    """Hops as the handlers record them, one second apart."""

    def __init__(self) -> None:
        self.hops: list[dict] = []
        self.clock = 0

    def hop(self, cid: str, stage: str, outcome: str, detail: str = "", **attrs) -> None:
        self.clock += 1
        self.hops.append({"correlationId": cid, "at": f"2026-12-01T10:{self.clock // 60:02d}:{self.clock % 60:02d}+00:00",
                          "stage": stage, "outcome": outcome, "detail": detail, "businessKey": KEY, **attrs})

    def master_data(self, cid: str, ss: float, rop: float) -> None:
        self.hop(cid, "webhook", "ok", "accepted ItemLocationUpserted v1 from erp", eventId=f"{cid}-e",
                 eventType="ItemLocationUpserted")
        self.hop(cid, "masterdata", "delivered", "master data stored", eventId=f"{cid}-e", eventType="ItemLocationUpserted",
                 values={"safetyStock": ss, "reorderPoint": rop})

    def recommend(self, cid: str, ss: float, rop: float, cycle: str = "C-1") -> None:
        event = {"metadata": {"eventType": "ReplenishmentRecommended"},
                 "data": {"recommendedSafetyStock": ss, "recommendedReorderPoint": rop, "planningCycleId": cycle}}
        self.hop(cid, "webhook", "ok", "accepted ReplenishmentRecommended v1 from planning", eventId=f"{cid}-rec",
                 eventType="ReplenishmentRecommended", event=json.dumps(event))

    def decide_automatic(self, cid: str, ss: float, rop: float, cycle: str = "C-1") -> None:
        self.hop(cid, "planning", "ok", "change 5.0% <= 20.0%: ERP update requested without approval",
                 eventId=f"{cid}-rec", decision="automatic", planningCycleId=cycle, changePercent=5.0,
                 thresholdPercent=20.0, values={"safetyStock": ss, "reorderPoint": rop})

    def approval(self, cid: str, ss: float, rop: float, outcome: str, by: str, comment: str = "") -> None:
        values = {"safetyStock": ss, "reorderPoint": rop}
        self.hop(cid, "planning", "ok", "change 50.0% > 20.0%: approval apr-1 started", eventId=f"{cid}-rec",
                 decision="approval", approvalId="apr-1", values=values)
        self.hop(cid, "approval", "pending_approval", "approval apr-1 waits for a planner", eventId=f"{cid}-upd",
                 causationId=f"{cid}-rec", approvalId="apr-1", values=values)
        event = f"{cid}-approved" if outcome == "approved" else f"{cid}-upd"
        self.hop(cid, "approval", outcome, f"approval apr-1 {outcome} by {by}", eventId=event,
                 causationId=f"{cid}-upd", approvalId="apr-1", decidedBy=by, comment=comment or None,
                 decidedAt="2026-12-01T11:00:00+00:00", values=values)

    def erp_write(self, cid: str, ss: float, rop: float, cause: str) -> None:
        self.hop(cid, "erp", "delivered", "erp-main ERP updated", eventId=f"{cid}-write", causationId=cause,
                 erpConnection="erp-main", erpRequestId=f"req-{cid}", values={"safetyStock": ss, "reorderPoint": rop})
        self.hop(cid, "warehouse", "delivered", "warehouse notified", eventId=f"{cid}-wms", causationId=f"{cid}-write")


def test_automatic_path_names_the_cycle_the_threshold_the_connection_and_the_request():
    led = Ledger()
    led.master_data("md-1", 50, 100)
    led.recommend("c-1", 52, 105)
    led.decide_automatic("c-1", 52, 105)
    led.erp_write("c-1", 52, 105, cause="c-1-rec")
    doc = lineage(KEY, led.hops, {"safetyStock": 52, "reorderPoint": 105, "recordVersion": 3})

    assert doc["current"]["values"] == {"safetyStock": 52, "reorderPoint": 105}
    assert doc["current"]["correlationId"] == "c-1"
    assert [s["step"] for s in doc["chain"]] == ["recommendation", "automatic", "erp_write", "warehouse_notified"]
    explanation = doc["current"]["explanation"]
    assert "planning cycle C-1" in explanation and "applied automatically (change 5.0% <= 20.0%)" in explanation
    assert "written to erp-main" in explanation and "ERP request req-c-1" in explanation
    assert doc["masterData"]["explained"] is True and doc["masterData"]["recordVersion"] == 3
    # the initial master data is the older change in the history (newest first)
    assert [(c["correlationId"], c["status"]) for c in doc["history"]] == [("c-1", "applied"), ("md-1", "changed_in_erp")]


def test_approved_path_names_the_planner_the_comment_and_when():
    led = Ledger()
    led.master_data("md-1", 40, 80)
    led.recommend("c-1", 60, 120, cycle="C-7")
    led.approval("c-1", 60, 120, "approved", by="planner-7", comment="season peak")
    led.erp_write("c-1", 60, 120, cause="c-1-upd")
    doc = lineage(KEY, led.hops)

    assert doc["current"]["values"] == {"safetyStock": 60, "reorderPoint": 120}
    decision = next(s for s in doc["chain"] if s["step"] == "approved")
    assert (decision["actor"], decision["comment"], decision["decidedAt"]) == (
        "planner-7", "season peak", "2026-12-01T11:00:00+00:00")
    assert "approved by planner-7" in doc["current"]["explanation"] and "'season peak'" in doc["current"]["explanation"]
    assert "planning cycle C-7" in doc["current"]["explanation"]
    assert doc["masterData"] is None


def test_rejected_then_a_later_automatic_change():
    led = Ledger()
    led.master_data("md-1", 40, 80)
    led.recommend("c-1", 90, 180)
    led.approval("c-1", 90, 180, "rejected", by="planner-2", comment="forecast outlier")
    led.recommend("c-2", 42, 84, cycle="C-2")
    led.decide_automatic("c-2", 42, 84, cycle="C-2")
    led.erp_write("c-2", 42, 84, cause="c-2-rec")
    doc = lineage(KEY, led.hops)

    assert doc["current"]["correlationId"] == "c-2" and doc["current"]["values"] == {"safetyStock": 42, "reorderPoint": 84}
    assert [(c["correlationId"], c["status"]) for c in doc["history"]] == [
        ("c-2", "applied"), ("c-1", "rejected"), ("md-1", "changed_in_erp")]
    rejected = doc["history"][1]
    assert "rejected by planner-2" in rejected["summary"] and "forecast outlier" in rejected["summary"]
    assert not any(s["step"] == "erp_write" for s in rejected["steps"])


def test_superseded_recommendation_is_in_the_history_but_not_current():
    led = Ledger()
    led.master_data("md-1", 40, 80)
    led.recommend("c-new", 45, 90, cycle="C-2")
    led.decide_automatic("c-new", 45, 90, cycle="C-2")
    led.erp_write("c-new", 45, 90, cause="c-new-rec")
    led.recommend("c-old", 70, 140, cycle="C-1")
    led.approval("c-old", 70, 140, "approved", by="planner-1")
    led.hop("c-old", "erp", "superseded", "superseded: recommended earlier; nothing sent to the ERP",
            eventId="c-old-approved", causationId="c-old-upd")
    doc = lineage(KEY, led.hops)

    assert doc["current"]["correlationId"] == "c-new"
    old = next(c for c in doc["history"] if c["correlationId"] == "c-old")
    assert old["status"] == "superseded" and "nothing sent to the ERP" in old["summary"]


def test_quarantined_recommendation_never_sets_the_values():
    led = Ledger()
    led.recommend("c-1", 45, 90)
    led.hop("c-1", "planning", "quarantined", "unknown item-location SKU-1@DC-1: no ItemLocationUpserted",
            eventId="c-1-rec")
    doc = lineage(KEY, led.hops)

    assert doc["current"] is None and doc["chain"] == []
    [change] = doc["history"]
    assert change["status"] == "quarantined" and change["steps"][-1]["step"] == "quarantined"
    assert "unknown item-location" in change["summary"]


def test_a_manual_erp_change_after_distsync_wrote_explains_the_current_values():
    led = Ledger()
    led.master_data("md-1", 40, 80)
    led.recommend("c-1", 44, 88)
    led.decide_automatic("c-1", 44, 88)
    led.erp_write("c-1", 44, 88, cause="c-1-rec")
    led.master_data("md-echo", 44, 88)  # the ERP reporting distsync's own write back: not a change
    led.master_data("md-hand", 60, 88)  # someone changed it in the ERP
    doc = lineage(KEY, led.hops, {"safetyStock": 60, "reorderPoint": 88})

    assert doc["current"]["correlationId"] == "md-hand" and doc["current"]["kind"] == "erp"
    assert ERP_CHANGE in doc["current"]["explanation"]
    statuses = {c["correlationId"]: c["status"] for c in doc["history"]}
    assert statuses == {"md-hand": "changed_in_erp", "md-echo": "confirmed_by_erp", "c-1": "applied",
                        "md-1": "changed_in_erp"}
    assert doc["masterData"]["explained"] is True


def test_master_data_the_ledger_does_not_explain_says_so():
    led = Ledger()
    led.recommend("c-1", 44, 88)
    led.decide_automatic("c-1", 44, 88)
    led.erp_write("c-1", 44, 88, cause="c-1-rec")
    doc = lineage(KEY, led.hops, {"safetyStock": 70, "reorderPoint": 88})
    assert doc["masterData"]["explained"] is False and "does not explain" in doc["masterData"]["note"]


def test_steps_follow_causation_even_when_a_clock_puts_an_effect_first():
    hops = [
        {"correlationId": "c", "at": "2026-12-01T10:00:02+00:00", "stage": "warehouse", "outcome": "delivered",
         "eventId": "e3", "causationId": "e2"},
        {"correlationId": "c", "at": "2026-12-01T10:00:01+00:00", "stage": "erp", "outcome": "delivered",
         "eventId": "e2", "causationId": "e1"},
        {"correlationId": "c", "at": "2026-12-01T10:00:03+00:00", "stage": "planning", "outcome": "ok",
         "eventId": "e1"},
    ]
    assert [h["stage"] for h in causal_order(hops)] == ["planning", "erp", "warehouse"]


def test_decider_of_hops_recorded_before_the_attribute_is_read_from_the_detail():
    led = Ledger()
    led.recommend("c-1", 60, 120)
    led.hop("c-1", "approval", "approved", "approval apr-1 approved by planner-9 (peak); ERP update requested")
    doc = lineage(KEY, led.hops)
    step = next(s for s in doc["history"][0]["steps"] if s["step"] == "approved")
    assert (step["actor"], step["comment"]) == ("planner-9", "peak")


def test_export_has_one_row_per_step_with_the_audit_columns():
    led = Ledger()
    led.master_data("md-1", 40, 80)
    led.recommend("c-1", 60, 120)
    led.approval("c-1", 60, 120, "approved", by="planner-7", comment="season peak")
    led.erp_write("c-1", 60, 120, cause="c-1-upd")
    doc = lineage(KEY, led.hops)

    rows = list(csv.DictReader(io.StringIO(export_csv(doc))))
    assert len(rows) == len(led.hops)
    approved = next(r for r in rows if r["step"] == "approved")
    assert (approved["item"], approved["location"], approved["actor"], approved["values"], approved["eventId"]) == (
        "SKU-1", "DC-1", "planner-7", "safetyStock=60;reorderPoint=120", "c-1-approved")
    assert approved["correlationId"] == "c-1"
    objects = json.loads(export_json(doc))
    assert len(objects) == len(rows) and objects[0]["values"] is not None


@pytest.mark.parametrize("bad", ["SKU-1", "@DC", "SKU@", "A@B@C"])
def test_key_must_be_item_at_location(bad):
    with pytest.raises(ValueError, match="ITEM@LOCATION"):
        split_key(bad)


def test_each_erp_master_data_event_is_a_change_of_its_own_even_under_one_correlation_id():
    led = Ledger()
    led.hop("md", "masterdata", "delivered", "stored", eventId="e1", values={"safetyStock": 40, "reorderPoint": 80})
    led.hop("md", "masterdata", "delivered", "stored", eventId="e2", values={"safetyStock": 55, "reorderPoint": 80})
    doc = lineage(KEY, led.hops)
    assert [c["values"]["safetyStock"] for c in doc["history"]] == [55, 40]
    assert doc["current"]["values"] == {"safetyStock": 55, "reorderPoint": 80}


def test_a_forecast_cycle_row_is_the_recommendation():
    led = Ledger()
    led.hop("cycle-C-3-SKU-1-DC-1", "cycle", "ok", "cycle C-3 row 12: change 8.00% is material", eventId="r",
            planningCycleId="C-3", cycleRow=12, values={"safetyStock": 54, "reorderPoint": 108})
    led.decide_automatic("cycle-C-3-SKU-1-DC-1", 54, 108, cycle="C-3")
    led.hops[-1]["eventId"] = "r"
    led.erp_write("cycle-C-3-SKU-1-DC-1", 54, 108, cause="r")
    doc = lineage(KEY, led.hops)
    [rec, *_] = doc["chain"]
    assert (rec["step"], rec["actor"], rec["values"]) == ("recommendation", "planning cycle C-3",
                                                          {"safetyStock": 54, "reorderPoint": 108})
    assert "recommended by planning cycle C-3" in doc["current"]["explanation"]


def test_an_approval_window_that_closed_is_no_planner_s_rejection():
    led = Ledger()
    led.recommend("c-1", 90, 180)
    led.hop("c-1", "approval", "rejected", "approval apr-1 timed_out by system (no planner decision)",
            decision="timeout", decidedBy="system", comment="no planner decision within the approval window")
    [change] = lineage(KEY, led.hops)["history"]
    assert change["status"] == "rejected" and change["steps"][-1]["step"] == "timed_out"
    assert "no planner decided within the approval window" in change["summary"]
