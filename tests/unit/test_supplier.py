"""Supplier lead-time policy (pure) and the forecast contract's week ordering."""

import json
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from distsync_core.contracts import DemandForecastPublished
from distsync_core.platform.problems import ContractViolation
from distsync_core.platform.signing import signed_headers
from distsync_core.platform.webhooks import accept
from distsync_core.supplier import assess_lead_time


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
