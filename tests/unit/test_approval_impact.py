"""The impact of a replenishment change (days of cover, stockout dates, working capital) and the planners'
message: pure code, every unknown figure named with its reason, never a division by zero."""

from __future__ import annotations

from datetime import date

import pytest

from distsync_core.fulfillment.notices import exception_opened
from distsync_core.planning.impact import Parameters, compute, daily_demand, stockout_date, summary
from distsync_core.planning.notices import approval_requested
from distsync_core.platform.notifications import SUBJECT_MAX

TODAY = date(2026, 12, 7)  # a Monday
WEEKS = [(date(2026, 11, 30), 700.0), (date(2026, 12, 7), 70.0), (date(2026, 12, 14), 140.0),
         (date(2026, 12, 21), 70.0), (date(2026, 12, 28), 140.0), (date(2027, 1, 4), 7000.0)]


def test_daily_demand_averages_the_four_weeks_from_the_current_one():
    # the past week (700) and the fifth week ahead (7000) are left out: (70+140+70+140)/4/7 = 15
    assert daily_demand(WEEKS, TODAY) == (15.0, None)


@pytest.mark.parametrize(("buckets", "reason"), [
    (None, "no demand forecast"),
    ([], "no demand forecast"),
    ([(date(2026, 11, 23), 70.0)], "ends before today"),
    ([(date(2026, 12, 7), 0.0), (date(2026, 12, 14), 0.0)], "demand is zero"),
])
def test_no_usable_demand_is_unknown_with_its_reason(buckets, reason):
    demand, why = daily_demand(buckets, TODAY)
    assert demand is None and reason in why


def test_stockout_in_the_reorder_point_model():
    # 10/day, lead time 5 days: a reorder point of 50 covers the lead time, 30 does not
    assert stockout_date(100, 10, Parameters(20, 50), 5, TODAY) is None
    # 7 days to reach 30, then 3 days of stock while the order takes 5: out after 10 days
    assert stockout_date(100, 10, Parameters(20, 30), 5, TODAY) == date(2026, 12, 17)
    assert stockout_date(0, 10, Parameters(20, 50), 5, TODAY) == TODAY


def test_full_impact_of_a_change():
    result = compute(before=Parameters(30, 60), after=Parameters(90, 120), atp=150, buckets=WEEKS, lead_time_days=6,
                     unit_cost=2.5, currency="EUR", today=TODAY).as_dict()
    assert result["dailyDemand"] == 15 and result["atpCoverDays"] == 10
    assert (result["coverDaysBefore"], result["coverDaysAfter"]) == (2, 6)
    # before: 6 days to the reorder point 60, which lasts 4 of the 6 lead-time days; after: 120 lasts 8 >= 6
    assert (result["stockoutBefore"], result["stockoutAfter"]) == ("2026-12-17", None)
    assert (result["workingCapitalChange"], result["currency"]) == (150.0, "EUR")
    assert result["score"] == 4 and result["unknown"] == {}
    line = summary(result)
    assert "2 -> 6 days" in line and "stockout 2026-12-17 -> none projected" in line and "+150.00 EUR" in line


def test_without_forecast_atp_or_cost_the_figures_are_unknown_not_zero():
    result = compute(before=Parameters(30, 60), after=Parameters(90, 120), atp=None, buckets=None,
                     lead_time_days=6, unit_cost=None, currency=None, today=TODAY).as_dict()
    assert result["coverDaysBefore"] is None and result["stockoutBefore"] is None and result["score"] is None
    assert result["workingCapitalChange"] is None
    assert result["unknown"]["coverDays"] == "no demand forecast for this item-location"
    assert result["unknown"]["workingCapital"] == "no unit cost in master data"
    line = summary(result)
    assert "days of cover unknown (no demand forecast" in line and "working capital unknown (no unit cost" in line


def test_zero_demand_with_atp_says_unknown():
    result = compute(before=Parameters(30, 60), after=Parameters(90, 120), atp=150,
                     buckets=[(TODAY, 0.0)], lead_time_days=6, unit_cost=1.0, currency="USD", today=TODAY)
    assert result.atp_cover_days is None and result.unknown["stockout"] == "the forecast demand is zero"
    assert result.working_capital_change == 60.0  # the cost is known without any demand


APPROVAL = {"approvalId": "apr-123", "itemId": "SKU-1", "locationId": "DC-1", "changePercent": 200.0,
            "thresholdPercent": 20, "currentSafetyStock": 30, "recommendedSafetyStock": 90,
            "currentReorderPoint": 60, "recommendedReorderPoint": 120}


def test_the_planners_message_names_the_approval_its_impact_and_the_commands():
    impact = compute(before=Parameters(30, 60), after=Parameters(90, 120), atp=150, buckets=WEEKS,
                     lead_time_days=6, unit_cost=2.5, currency="EUR", today=TODAY).as_dict()
    note = approval_requested({**APPROVAL, "impact": impact}, "https://ops.example.com")
    assert note.audience == "planners" and note.reference == "apr-123"
    assert "distsync approvals approve apr-123" in note.text and "distsync approvals reject apr-123" in note.text
    assert "https://ops.example.com/console#approvals" in note.text
    assert "safety stock cover 2 -> 6 days" in note.text and "+150.00 EUR" in note.text
    assert note.subject == "Approval needed: SKU-1@DC-1 safety stock 30 -> 90 (+200%)"
    assert note.attributes()["kind"]["StringValue"] == "approval_requested"


def test_subject_stays_within_the_sns_limit():
    long_id = "S" * 64
    note = approval_requested({**APPROVAL, "itemId": long_id, "locationId": long_id}, "http://c")
    assert len(note.subject) == SUBJECT_MAX and note.subject.endswith("...")


def test_the_operations_message_for_an_exception_case():
    note = exception_opened({"caseId": "case-9", "shipmentId": "SH-1", "orderIds": ["SO-1", "SO-2"],
                             "kind": "damaged", "description": "pallet crushed"}, "http://c")
    assert note.audience == "operations"
    assert "case-9 is open: shipment SH-1 (orders SO-1, SO-2), damaged: pallet crushed." in note.text
    assert "distsync exceptions resolve case-9" in note.text


def test_approvals_sort_by_impact_change_and_age():
    from distsync.approvals import sort_approvals, working_capital

    rows = [
        {"approvalId": "a", "changePercent": 50, "requestedAt": "2026-12-07T10:00", "impact": {"score": 2}},
        {"approvalId": "b", "changePercent": -90, "requestedAt": "2026-12-07T09:00", "impact": {"score": None}},
        {"approvalId": "c", "changePercent": 30, "requestedAt": "2026-12-07T11:00", "impact": {"score": 12.5}},
    ]
    assert [r["approvalId"] for r in sort_approvals(rows, "impact")] == ["c", "a", "b"]  # unknown impact last
    assert [r["approvalId"] for r in sort_approvals(rows, "change")] == ["b", "a", "c"]  # a cut counts as much
    assert [r["approvalId"] for r in sort_approvals(rows, "age")] == ["b", "a", "c"]
    with pytest.raises(ValueError, match="impact, change, age"):
        sort_approvals(rows, "size")
    assert working_capital(rows[0]) == "unknown (no unit cost)"


def _alarm(name: str, state: str = "ALARM") -> dict:
    return {"AlarmName": name, "NewStateValue": state, "NewStateReason": "Threshold Crossed: 1 datapoint [3.0]",
            "AlarmDescription": "ErpUpdatePipeline: messages in the dead-letter queue need attention. "
                                "Owner: integration-platform (integration-oncall@example.com)"}


def test_a_dlq_alarm_tells_operations_how_to_redrive():
    from distsync_core.platform.notifications import alarm_changed

    [note] = alarm_changed(_alarm("distsync-dev-ErpUpdatePipeline-dlq-depth"), "http://c")
    assert (note.audience, note.kind, note.subject) == ("operations", "alarm",
                                                         "ALARM: distsync-dev-ErpUpdatePipeline-dlq-depth")
    assert "distsync dlq redrive <pipeline>" in note.text and "http://c/console#dlqs" in note.text
    assert "Owner: integration-platform" in note.text and "Threshold Crossed" in note.text


def test_the_approval_sla_also_tells_the_planners_and_ok_needs_no_command():
    from distsync_core.platform.notifications import alarm_changed

    notes = alarm_changed(_alarm("distsync-dev-approval-turnaround-sla"), "http://c")
    assert [n.audience for n in notes] == ["operations", "planners"]
    assert "distsync approvals list --sort age" in notes[0].text
    [ok] = alarm_changed(_alarm("distsync-dev-forecast-to-erp-sla", "OK"), "http://c")
    assert ok.subject.startswith("OK: ") and "Inspect:" not in ok.text
    assert alarm_changed(_alarm("x", "INSUFFICIENT_DATA"), "http://c") == []


def test_a_unit_cost_needs_its_currency():
    from pydantic import ValidationError

    from distsync_core.contracts import ItemUpserted

    base = {"itemId": "SKU-1", "description": "Widget", "unitOfMeasure": "EA", "status": "active"}
    assert ItemUpserted.model_validate(base).unit_cost is None  # older producers: still valid
    assert ItemUpserted.model_validate({**base, "unitCost": 2.5, "currency": "EUR"}).unit_cost == 2.5
    with pytest.raises(ValidationError, match="currency is required with unitCost"):
        ItemUpserted.model_validate({**base, "unitCost": 2.5})
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        ItemUpserted.model_validate({**base, "unitCost": -1, "currency": "EUR"})
