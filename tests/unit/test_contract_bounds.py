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


@pytest.mark.parametrize("field, value", [("asOf", 1_000_000_000), ("asOf", 1.7e9), ("inTransitDueAt", 0),
                                          ("asOf", True)])
def test_a_time_sent_as_a_number_is_refused_not_read_as_a_unix_timestamp(field, value):
    # the exported schema says ISO 8601 text; pydantic alone would read 1_000_000_000 as 2001-09-09
    with pytest.raises(ValidationError, match="ISO 8601 string, not a number") as refused:
        balance(**{field: value})
    assert fields_of(refused.value) == [field]


def test_a_date_sent_as_a_number_is_refused_and_text_or_a_date_is_taken():
    from datetime import date

    from distsync_core.contracts import PurchaseOrderConfirmed

    line = {"lineNumber": 1, "itemId": "SKU-1", "locationId": "DC-1", "confirmedQuantity": 5}
    with pytest.raises(ValidationError, match="ISO 8601 string, not a number"):  # fuzzing found 0 accepted
        PurchaseOrderConfirmed.model_validate({"purchaseOrderId": "PO-1", "supplierId": "S-1",
                                               "lines": [{**line, "confirmedDeliveryDate": 0}]})
    for given in ("2026-12-24", date(2026, 12, 24)):
        po = PurchaseOrderConfirmed.model_validate({"purchaseOrderId": "PO-1", "supplierId": "S-1",
                                                    "lines": [{**line, "confirmedDeliveryDate": given}]})
        assert po.lines[0].confirmed_delivery_date == date(2026, 12, 24)
