"""Supplier lead-time policy (pure) and the forecast contract's week ordering."""

import json
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from distsync_core.contracts import (
    CONTRACTS,
    ConfirmedLine,
    DemandForecastPublished,
    PurchaseOrderConfirmed,
    SupplierLeadTimeChanged,
    new_envelope,
)
from distsync_core.platform.problems import ContractViolation
from distsync_core.platform.signing import signed_headers
from distsync_core.platform.webhooks import accept
from distsync_core.supplier.policy import (
    assess_lead_time,
    exception_event,
    is_stale,
    known_lead_time,
    master_data_keys,
    planning_exception,
)


@pytest.mark.parametrize(
    ("previous", "new", "percent", "exceptional", "severity"),
    [
        (8, 8, 0.0, False, "warning"),
        (8, 10, 25.0, False, "warning"),  # exactly the threshold: not an exception (strictly above)
        (4, 3, 25.0, False, "warning"),  # shorter counts the same as longer
        (10, 13, 30.0, True, "warning"),
        (10, 7, 30.0, True, "warning"),
        (3, 4, 33.33, True, "warning"),  # rounded to two decimals
        (4, 6, 50.0, True, "critical"),  # exactly twice the threshold: critical
        (10, 15, 50.0, True, "critical"),
        (10, 14, 40.0, True, "warning"),
        (7, 21, 200.0, True, "critical"),
        (10, 0, 100.0, True, "critical"),
    ],
)
def test_change_percent_exception_and_severity(previous, new, percent, exceptional, severity):
    change = assess_lead_time(previous, new, 25)
    assert (change.previous_days, change.new_days, change.threshold_percent) == (previous, new, 25)
    assert change.change_percent == percent
    assert change.exceptional is exceptional
    if exceptional:
        assert change.severity == severity


def test_a_lead_time_from_zero_counts_each_day_as_100_percent():
    change = assess_lead_time(0, 3, 25)
    assert change.change_percent == 300.0 and change.exceptional and change.severity == "critical"


def test_the_threshold_is_the_callers():
    assert not assess_lead_time(10, 13, 30).exceptional
    assert assess_lead_time(10, 13, 29.99).exceptional
    assert assess_lead_time(10, 11, 5).severity == "critical"  # 10 % >= 2 x 5 %
    assert assess_lead_time(10, 11, 5.01).severity == "warning"


def lead_time_change(days: int, supplier: str = "SUP-1") -> SupplierLeadTimeChanged:
    return SupplierLeadTimeChanged(supplier_id=supplier, item_id="SKU-1", location_id="DC-1", lead_time_days=days,
                                   effective_from=date(2026, 12, 1))


def test_a_lead_time_reported_before_the_recorded_one_is_stale():
    recorded = "2026-11-27T08:00:00.000000+00:00"
    assert is_stale("2026-11-27T07:59:59.999999+00:00", recorded)
    assert not is_stale(recorded, recorded)  # the same report again is not stale
    assert not is_stale("2026-11-27T08:00:00.000001+00:00", recorded)
    assert not is_stale("2026-11-27T07:00:00.000000+00:00", None)  # nothing recorded yet


def test_the_lead_time_known_so_far_is_the_suppliers_last_report_else_the_erps():
    assert known_lead_time({"leadTimeDays": 10}) == 10
    assert known_lead_time({"leadTimeDays": 10, "supplierLeadTimeDays": 12}) == 12


def test_a_batch_is_checked_against_its_suppliers_and_the_item_locations_of_its_lead_times():
    po = PurchaseOrderConfirmed(purchase_order_id="PO-1", supplier_id="SUP-2", lines=[ConfirmedLine(
        line_number=1, item_id="SKU-9", location_id="DC-9", confirmed_quantity=1,
        confirmed_delivery_date=date(2026, 12, 12))])
    assert master_data_keys([lead_time_change(5), po]) == {"SUPPLIER#SUP-1", "SUPPLIER#SUP-2", "ITEMLOC#SKU-1#DC-1"}


def test_an_exceptional_change_raises_a_planning_exception_caused_by_the_lead_time_event():
    change = lead_time_change(15)
    assessment = assess_lead_time(10, 15, 25)
    exception = planning_exception(change, assessment, "evt-1")
    assert exception == planning_exception(change, assessment, "evt-1")  # a redelivery raises the same one
    assert (exception.kind, exception.severity, exception.current_value, exception.previous_value) == (
        "lead_time_change", "critical", 15, 10)
    assert exception.message == "supplier SUP-1 changed the lead time from 10 to 15 days (50.0%, threshold 25%)"
    cause = new_envelope(CONTRACTS[("SupplierLeadTimeChanged", "1")], change, source="supplier",
                         correlation_id="lt-1").metadata
    event = exception_event(exception, cause)
    assert (event.metadata.event_type, event.metadata.source, event.metadata.correlation_id) == (
        "PlanningException", "distsync.supplier", "lt-1")
    assert event.metadata.event_id == exception_event(exception, cause).metadata.event_id


def forecast(*weeks: str) -> dict:
    return {"itemId": "SKU-1", "locationId": "DC-1", "forecastId": "F-1", "unitOfMeasure": "EA",
            "buckets": [{"weekStart": w, "quantity": 10 + i} for i, w in enumerate(weeks)]}


def test_forecast_weeks_in_ascending_order_are_accepted():
    model = DemandForecastPublished.model_validate(forecast("2026-11-30", "2026-12-07", "2027-01-04"))
    assert [b.week_start for b in model.buckets] == [date(2026, 11, 30), date(2026, 12, 7), date(2027, 1, 4)]
    assert DemandForecastPublished.model_validate(forecast("2026-11-30")).buckets[0].quantity == 10


@pytest.mark.parametrize("weeks", [
    ("2026-12-07", "2026-11-30"),  # descending
    ("2026-11-30", "2026-11-30"),  # the same week twice
    ("2026-11-30", "2026-12-14", "2026-12-07"),  # one out of place at the end
])
def test_forecast_weeks_out_of_order_or_repeated_are_refused(weeks):
    with pytest.raises(ValidationError, match="strictly ascending"):
        DemandForecastPublished.model_validate(forecast(*weeks))


def test_forecast_without_buckets_is_refused():
    with pytest.raises(ValidationError, match="at least 1 item"):
        DemandForecastPublished.model_validate(forecast())


def test_the_webhook_answers_unordered_weeks_with_a_contract_violation_naming_the_data():
    payload = {"eventType": "DemandForecastPublished", "eventVersion": "1",
               "occurredAt": datetime(2026, 11, 27, tzinfo=UTC).isoformat(),
               "data": forecast("2026-12-07", "2026-11-30")}
    raw = json.dumps(payload).encode()
    now = 1_800_000_000.0
    headers = {"content-type": "application/json", **signed_headers("s", raw, now)}
    with pytest.raises(ContractViolation) as info:
        accept("planning", headers, raw, ["s"], now)
    body = info.value.body()
    assert body["status"] == 400 and "DemandForecastPublished-v1" in body["detail"]
    [error] = body["errors"]
    assert error["field"] == "data" and "strictly ascending" in error["message"]
