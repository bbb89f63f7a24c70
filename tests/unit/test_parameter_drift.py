"""Parameter drift classification (pure): each class from the three views, the ledger read into planning's
latest recommendation, the last applied from master data, and what --fix does with each finding."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from distsync_core.drift.classify import (
    Applied,
    Observation,
    Parameters,
    Recommendation,
    applied_from,
    classify,
    correction_path,
    findings_csv,
    latest_recommendation,
    report,
)

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def p(ss: float, rop: float) -> Parameters:
    return Parameters(safety_stock=ss, reorder_point=rop)


REPLACED, LATER = Parameters(safety_stock=40, reorder_point=90), Parameters(safety_stock=70, reorder_point=120)


def applied(ss: float = 50, rop: float = 100, previous: Parameters | None = REPLACED) -> Applied:
    return Applied(parameters=p(ss, rop), recommended_at=T0, planning_cycle_id="C-1", correlation_id="c-applied",
                   previous=previous)


def rec(status: str, at: datetime = T0 + timedelta(hours=1), values: Parameters | None = LATER,
        cid: str = "c-later", detail: str = "") -> Recommendation:
    return Recommendation(correlation_id=cid, received_at=at, status=status, parameters=values, detail=detail)


def obs(erp: Parameters | None, applied_: Applied | None = None, rec_: Recommendation | None = None,
        error: str | None = None) -> Observation:
    return Observation(item_id="SKU-1", location_id="DC-1", erp_connection="rest", applied=applied_,
                       recommendation=rec_, erp=erp, erp_error=error)


def test_erp_equal_to_the_last_applied_is_in_sync():
    f = classify(obs(p(50, 100), applied()))
    assert (f.drift_class, f.correction) == ("in_sync", None)


def test_erp_differing_from_the_last_applied_with_no_later_recommendation_was_changed_by_hand():
    f = classify(obs(p(45, 100), applied()))
    assert f.drift_class == "changed_by_hand"
    assert f.correction == p(50, 100)  # the correction restores what distsync applied
    assert "safety stock 45" in f.reason and "safety stock 50" in f.reason


def test_quantities_are_compared_as_the_erp_stores_them():
    assert classify(obs(p(50.0004, 100), applied())).drift_class == "in_sync"
    assert classify(obs(p(50.002, 100), applied())).drift_class == "changed_by_hand"


def test_erp_showing_the_values_the_applied_update_replaced_is_a_lost_write():
    f = classify(obs(p(40, 90), applied()))
    assert f.drift_class == "applied_but_lost"
    assert f.correction == p(50, 100) and "lost" in f.reason


def test_without_the_replaced_values_recorded_a_difference_counts_as_changed_by_hand():
    assert classify(obs(p(40, 90), applied(previous=None))).drift_class == "changed_by_hand"


def test_a_later_recommendation_that_never_reached_the_erp_says_why():
    for status, why in (("rejected", "rejected by a planner"), ("quarantined", "quarantined"),
                        ("dead_lettered", "dead-lettered"), ("superseded", "superseded"),
                        ("pending_approval", "pending approval")):
        f = classify(obs(p(50, 100), applied(), rec(status, detail="the hop's detail")))
        assert f.drift_class == "never_applied", status
        assert why in f.reason and "the hop's detail" in f.reason and "safety stock 70" in f.reason
        assert f.recommendation_status == status and f.correction is None


def test_a_delivered_or_older_recommendation_is_not_drift():
    assert classify(obs(p(50, 100), applied(), rec("delivered"))).drift_class == "in_sync"
    older = rec("rejected", at=T0 - timedelta(days=1), cid="c-old")
    assert classify(obs(p(50, 100), applied(), older)).drift_class == "in_sync"


def test_a_recommendation_never_applied_anywhere_is_reported_without_a_last_applied():
    f = classify(obs(p(10, 20), None, rec("quarantined", values=None)))
    assert f.drift_class == "never_applied" and f.applied is None
    assert classify(obs(p(10, 20))).drift_class == "in_sync"  # nothing distsync did, nothing planning asked


def test_changed_by_hand_while_a_later_recommendation_is_on_its_way_gets_no_second_correction():
    f = classify(obs(p(45, 100), applied(), rec("pending_approval")))
    assert f.drift_class == "changed_by_hand" and f.correction is None
    assert "pending approval" in f.reason
    assert correction_path(f, 20)[0] == "none"
    rejected = classify(obs(p(45, 100), applied(), rec("rejected")))
    assert rejected.correction == p(50, 100)  # a rejected one sets nothing: restore the last applied


def test_the_erp_holding_the_unapplied_recommendation_was_set_by_hand_and_needs_no_correction():
    f = classify(obs(p(70, 120), applied(), rec("rejected")))
    assert f.drift_class == "changed_by_hand" and f.correction is None and "set in the ERP by hand" in f.reason


def test_no_erp_values_is_not_compared_with_the_reason():
    f = classify(obs(None, applied(), error="rest: the ERP holds no parameters for SKU-1@DC-1"))
    assert (f.drift_class, f.reason) == ("not_compared", "rest: the ERP holds no parameters for SKU-1@DC-1")


def test_fix_goes_direct_at_or_below_the_threshold_and_to_a_planner_above_it():
    small = classify(obs(p(48, 100), applied()))  # 50 from 48: 4.17 %
    assert correction_path(small, 20) == ("direct", "change 4.17% <= 20%: applied without approval")
    large = classify(obs(p(20, 100), applied()))  # 50 from 20: 150 %
    assert correction_path(large, 20)[0] == "approval"
    path, why = correction_path(classify(obs(p(50, 100), applied(), rec("rejected"))), 20)
    assert path == "none" and "rejected" in why


def hop(cid: str, at: datetime, stage: str, outcome: str, **extra) -> dict:
    return {"correlationId": cid, "at": at.isoformat(), "stage": stage, "outcome": outcome, **extra}


def test_latest_recommendation_is_the_newest_transaction_the_planning_stage_saw_with_its_status_and_values():
    event = json.dumps({"data": {"recommendedSafetyStock": 70, "recommendedReorderPoint": 120}})
    hops = [
        hop("old", T0, "webhook", "ok"), hop("old", T0 + timedelta(seconds=1), "planning", "ok"),
        hop("old", T0 + timedelta(seconds=2), "erp", "delivered"),
        hop("new", T0 + timedelta(hours=1), "webhook", "ok", eventType="ReplenishmentRecommended", event=event),
        hop("new", T0 + timedelta(hours=1, seconds=1), "planning", "ok"),
        hop("new", T0 + timedelta(hours=1, seconds=2), "approval", "pending_approval", detail="waits"),
        hop("new", T0 + timedelta(hours=2), "approval", "rejected", detail="rejected by planner-7 (too high)"),
        hop("other", T0 + timedelta(hours=3), "warehouse", "delivered"),  # no planning hop: not a recommendation
    ]
    found = latest_recommendation(hops)
    assert found is not None
    assert (found.correlation_id, found.status, found.parameters) == ("new", "rejected", p(70, 120))
    assert found.detail == "rejected by planner-7 (too high)" and found.received_at == T0 + timedelta(hours=1)
    assert latest_recommendation([hop("x", T0, "warehouse", "delivered")]) is None


def test_a_delivered_transaction_stays_delivered_and_one_without_a_copy_has_no_values():
    hops = [hop("c", T0, "planning", "ok"), hop("c", T0 + timedelta(seconds=1), "erp", "delivered"),
            hop("c", T0 + timedelta(seconds=2), "warehouse", "superseded")]
    found = latest_recommendation(hops)
    assert found is not None and (found.status, found.parameters) == ("delivered", None)
    dead = latest_recommendation([hop("d", T0, "planning", "dead_lettered", detail="boom (receive 3 of 3)")])
    assert dead is not None and (dead.status, dead.detail) == ("dead_lettered", "boom (receive 3 of 3)")


def test_a_write_held_in_a_freeze_window_is_in_flight_and_says_where_it_waits():
    hops = [hop("h", T0 + timedelta(hours=1), "planning", "ok"), hop("h", T0 + timedelta(hours=1, seconds=1), "erp", "held",
                                                  detail="held by freeze window stocktake until 12:00")]
    found = latest_recommendation(hops)
    assert found is not None and (found.status, found.detail) == ("in_flight", "held by freeze window stocktake until 12:00")
    f = classify(obs(p(50, 100), applied(), found))
    assert f.drift_class == "never_applied" and "still in flight (held by freeze window stocktake" in f.reason


def test_applied_from_master_data():
    item = {"appliedRecommendedAt": T0.isoformat(), "appliedUpdate": {
        "safetyStock": 50, "reorderPoint": 100, "planningCycleId": "C-1", "correlationId": "c1",
        "previousSafetyStock": 40, "previousReorderPoint": 90, "erpIdempotencyKey": "k"}}
    a = applied_from(item)
    assert a is not None and (a.parameters, a.previous, a.correlation_id) == (p(50, 100), p(40, 90), "c1")
    assert applied_from({"safetyStock": 5}) is None
    older = applied_from({**item, "appliedUpdate": {"safetyStock": 5, "reorderPoint": 9, "planningCycleId": "C"}})
    assert older is not None and older.previous is None  # recorded before the replaced values were kept


def test_report_counts_every_class_and_the_csv_lists_every_item_location():
    observations = [obs(p(50, 100), applied()), obs(p(45, 100), applied()), obs(p(40, 90), applied()),
                    obs(p(50, 100), applied(), rec("rejected")), obs(None, error="no connection")]
    r = report(observations, now=T0, location="DC-*")
    assert r.counts == {"changed_by_hand": 1, "applied_but_lost": 1, "never_applied": 1, "in_sync": 1,
                        "not_compared": 1}
    assert r.sentence().startswith("5 item-location(s) checked: 1 changed by hand, 1 applied but lost")
    rows = findings_csv(r).splitlines()
    assert len(rows) == 6 and rows[0].startswith("itemId,locationId,class")
    assert report([], now=T0).sentence() == "no item-location to check"
    assert json.loads(r.model_dump_json(by_alias=True))["findings"][0]["class"]
