"""Times and change counters the contracts refuse (issue 12, finding 8): a balance dated 9999-12-31 would
freeze an item-location's ATP forever, 9999-12-31T23:00-05:00 overflowed in utc_iso() and dead-lettered, and
a record version or order sequence of 10^37 would freeze its record (39 digits fail the DynamoDB write)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from distsync_core.contracts import InventoryBalanceChanged, ItemUpserted, OrderStatusChanged


def now() -> datetime:
    """Read at each use: the suite may collect this module minutes before it runs it."""
    return datetime.now(UTC)


def balance(**overrides):
    data = {"itemId": "SKU-1", "locationId": "DC-1", "onHand": 5.0, "allocated": 0.0, "inTransit": 0.0,
            "asOf": now().isoformat(), "sourceSystem": "erp", **overrides}
    return InventoryBalanceChanged.model_validate(data)


def fields_of(exc: ValidationError) -> list[str]:
    return [".".join(str(p) for p in e["loc"]) for e in exc.errors()]


@pytest.mark.parametrize(
    ("as_of", "why"),
    [
        ("9999-12-31T23:00:00-05:00", "ahead of distsync's clock"),
        (timedelta(minutes=16), "more than 15 minutes ahead"),
        ("1999-12-31T23:59:59Z", "before 2000-01-01"),
    ],
)
def test_a_business_time_out_of_bounds_is_refused_naming_the_field(as_of, why, monkeypatch):
    monkeypatch.delenv("MAX_FUTURE_SKEW_MINUTES", raising=False)
    if isinstance(as_of, timedelta):  # ahead of the clock as the test runs
        as_of = (now() + as_of).isoformat()
    with pytest.raises(ValidationError, match=why) as refused:
        balance(asOf=as_of)
    assert fields_of(refused.value) == ["asOf"]


def test_the_future_skew_comes_from_the_stack(monkeypatch):
    ahead = (now() + timedelta(minutes=16)).isoformat()
    monkeypatch.setenv("MAX_FUTURE_SKEW_MINUTES", "30")  # context maxFutureSkewMinutes
    assert balance(asOf=ahead).as_of > now()
    monkeypatch.setenv("MAX_FUTURE_SKEW_MINUTES", "15")
    with pytest.raises(ValidationError):
        balance(asOf=ahead)
    assert balance(asOf=(now() + timedelta(minutes=14)).isoformat()).as_of > now()


def test_a_due_date_may_lie_ahead_but_not_past_2100():
    assert balance(inTransitDueAt=(now() + timedelta(days=60)).isoformat()).in_transit_due_at is not None
    with pytest.raises(ValidationError) as refused:
        balance(inTransitDueAt="9999-12-31T23:00:00-05:00")
    assert fields_of(refused.value) == ["inTransitDueAt"]


def test_change_counters_stop_at_10_to_the_15():
    item = {"itemId": "SKU-1", "description": "x", "unitOfMeasure": "EA", "status": "active"}
    assert ItemUpserted.model_validate({**item, "recordVersion": 10**15}).record_version == 10**15
    with pytest.raises(ValidationError) as refused:
        ItemUpserted.model_validate({**item, "recordVersion": 10**37})
    assert fields_of(refused.value) == ["recordVersion"]
    order = {"orderId": "SO-1", "customerId": "C-1", "status": "created",
             "lines": [{"lineNumber": 1, "itemId": "SKU-1", "quantity": 1.0, "status": "open"}]}
    with pytest.raises(ValidationError) as refused:
        OrderStatusChanged.model_validate({**order, "sequence": 10**15 + 1})
    assert fields_of(refused.value) == ["sequence"]
