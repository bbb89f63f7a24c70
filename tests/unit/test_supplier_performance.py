"""Supplier performance (pure): lead time and fill rate per supplier and item-location from PO confirmations,
ship notices and goods receipts; the run request; which events are the supplier's facts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from distsync_core.contracts import FinancialPostingRecorded, ShipmentMilestone, SupplierPerformanceMeasured
from distsync_core.supplier.performance import (
    ConfirmedLine,
    Receipt,
    RunRequest,
    Shipment,
    is_po_receipt,
    is_ship_notice,
    measure,
    measurement_event,
    worth_publishing,
)

SINCE, TODAY = date(2026, 9, 1), date(2026, 12, 5)


def line(po: str, qty: float, *, due: str = "2026-11-11", confirmed: str = "2026-11-01", item: str = "SKU-1",
         location: str = "DC-1", number: int = 1, supplier: str = "SUP-1") -> ConfirmedLine:
    return ConfirmedLine(purchase_order_id=po, supplier_id=supplier, line_number=number, item_id=item,
                         location_id=location, confirmed_quantity=qty, confirmed_delivery_date=date.fromisoformat(due),
                         first_confirmed_at=datetime.fromisoformat(f"{confirmed}T15:30:00+00:00"))


def receipt(po: str, on: str, quantities: dict[tuple[str, str], float] | None = None, posting: str = "GR-1") -> Receipt:
    return Receipt(purchase_order_id=po, posting_id=posting, received_on=date.fromisoformat(on),
                   quantities=quantities or {})


def one(*args, **kw) -> SupplierPerformanceMeasured:
    [m] = measure(*args, since=SINCE, today=TODAY, **kw)
    return m


def test_a_po_not_received_yet_counts_but_measures_nothing():
    m = one([line("PO-1", 100)], [])
    assert (m.purchase_orders, m.received_purchase_orders) == (1, 0)
    assert (m.actual_lead_time_days, m.fill_rate_percent, m.on_time_percent) == (None, None, None)
    assert (m.confirmed_quantity, m.received_quantity) == (0, 0)  # only received POs are measured
    assert not worth_publishing(m)


def test_a_full_receipt_on_time_gives_its_lead_time_in_days_and_a_full_fill_rate():
    m = one([line("PO-1", 100, confirmed="2026-11-01", due="2026-11-11")],
            [receipt("PO-1", "2026-11-09", {("SKU-1", "DC-1"): 100})], master_lead_times={("SKU-1", "DC-1"): 7})
    assert (m.actual_lead_time_days, m.promised_lead_time_days, m.master_data_lead_time_days) == (8, 10, 7)
    assert (m.fill_rate_percent, m.on_time_percent, m.over_delivered_quantity) == (100, 100, 0)
    assert (m.window_start, m.window_end) == (SINCE, TODAY)
    assert worth_publishing(m)


def test_partial_receipts_add_up_and_the_first_one_ends_the_lead_time():
    m = one([line("PO-1", 100, due="2026-11-11")],
            [receipt("PO-1", "2026-11-14", {("SKU-1", "DC-1"): 40}, posting="GR-2"),
             receipt("PO-1", "2026-11-20", {("SKU-1", "DC-1"): 35}, posting="GR-3")])
    assert m.actual_lead_time_days == 13  # 11-01 -> 11-14, the first receipt
    assert (m.received_quantity, m.fill_rate_percent) == (75, 75)
    assert m.on_time_percent == 0  # the first receipt came after the confirmed date


def test_an_over_delivery_is_capped_and_does_not_make_up_for_another_pos_short_one():
    m = one([line("PO-1", 100), line("PO-2", 100)],
            [receipt("PO-1", "2026-11-05", {("SKU-1", "DC-1"): 150}),
             receipt("PO-2", "2026-11-07", {("SKU-1", "DC-1"): 50})])
    assert (m.confirmed_quantity, m.received_quantity, m.over_delivered_quantity) == (200, 200, 50)
    assert m.fill_rate_percent == 75  # (100 + 50) / 200, not 100 %


def test_several_pos_average_their_lead_times_and_open_ones_are_counted_apart():
    m = one([line("PO-1", 10, confirmed="2026-11-01"), line("PO-2", 10, confirmed="2026-11-02"),
             line("PO-3", 10, confirmed="2026-11-03")],
            [receipt("PO-1", "2026-11-08", {("SKU-1", "DC-1"): 10}),
             receipt("PO-2", "2026-11-13", {("SKU-1", "DC-1"): 10})])
    assert (m.purchase_orders, m.received_purchase_orders) == (3, 2)
    assert m.actual_lead_time_days == 9  # (7 + 11) / 2
    assert m.on_time_percent == 50  # PO-2 came two days after its 11-11 promise


def test_measurements_are_per_supplier_and_item_location_and_a_receipt_names_its_own_lines():
    lines = [line("PO-1", 10, item="A"), line("PO-1", 20, item="B", number=2),
             line("PO-9", 5, item="A", supplier="SUP-2")]
    out = measure(lines, [receipt("PO-1", "2026-11-06", {("A", "DC-1"): 10})], since=SINCE, today=TODAY)
    by_key = {(m.supplier_id, m.item_id): m for m in out}
    assert sorted(by_key) == [("SUP-1", "A"), ("SUP-1", "B"), ("SUP-2", "A")]
    assert (by_key[("SUP-1", "A")].fill_rate_percent, by_key[("SUP-1", "A")].actual_lead_time_days) == (100, 5)
    assert by_key[("SUP-1", "B")].received_purchase_orders == 0  # the receipt said nothing of B
    assert [m.supplier_id for m in measure(lines, [], since=SINCE, today=TODAY, supplier_id="SUP-2")] == ["SUP-2"]


def test_a_receipt_without_quantities_gives_the_lead_time_but_no_fill_rate():
    m = one([line("PO-1", 10)], [receipt("PO-1", "2026-11-04")])
    assert (m.received_purchase_orders, m.actual_lead_time_days, m.fill_rate_percent) == (1, 3, None)


def test_pos_confirmed_before_the_window_are_left_out_and_a_late_confirmation_is_no_negative_lead_time():
    assert measure([line("PO-0", 10, confirmed="2026-08-31")], [], since=SINCE, today=TODAY) == []
    m = one([line("PO-1", 10, confirmed="2026-11-05", due="2026-11-05")],
            [receipt("PO-1", "2026-11-03", {("SKU-1", "DC-1"): 10})])
    assert m.actual_lead_time_days == 0


def test_the_supplier_ship_notice_gives_the_transit_time():
    m = one([line("PO-1", 10)], [receipt("PO-1", "2026-11-09", {("SKU-1", "DC-1"): 10})],
            [Shipment("PO-1", "ASN-1", datetime(2026, 11, 6, 8, tzinfo=UTC))])
    assert m.actual_transit_days == 3


def test_a_measurement_event_is_the_same_for_a_retried_run_and_valid_on_the_bus():
    m = one([line("PO-1", 10)], [receipt("PO-1", "2026-11-09", {("SKU-1", "DC-1"): 10})])
    a, b = measurement_event(m, "schedule-x", "cid"), measurement_event(m, "schedule-x", "cid")
    assert a.metadata.event_id == b.metadata.event_id != measurement_event(m, "other", "cid").metadata.event_id
    assert a.metadata.event_type == "SupplierPerformanceMeasured" and a.data["fillRatePercent"] == 100
    assert SupplierPerformanceMeasured.model_validate(a.data) == m


def test_the_run_request_names_a_scheduled_run_by_its_time_and_refuses_a_bad_window():
    scheduled = RunRequest.model_validate({"trigger": "schedule", "scheduledTime": "2026-12-07T06:00:00Z"})
    assert scheduled.run_id("fallback") == "schedule-2026-12-07T06:00:00Z"
    assert RunRequest.model_validate({}).run_id("fallback") == "fallback"
    with pytest.raises(ValidationError, match="sinceDays"):
        RunRequest.model_validate({"sinceDays": 0})
    with pytest.raises(ValidationError, match="supplierId"):
        RunRequest.model_validate({"supplierId": "not a/supplier"})


def _milestone(milestone: str) -> ShipmentMilestone:
    return ShipmentMilestone.model_validate({"shipmentId": "ASN-1", "orderIds": ["PO-1"], "milestone": milestone,
                                             "carrier": "DHL", "milestoneAt": "2026-11-06T08:00:00+00:00"})


def _posting(posting_type: str, domain: str) -> FinancialPostingRecorded:
    return FinancialPostingRecorded.model_validate({
        "postingId": "GR-1", "postingType": posting_type, "domain": domain, "amountMinor": 100, "currency": "EUR",
        "postingDate": "2026-11-09", "reference": "PO-1"})


def test_only_a_suppliers_shipped_milestone_and_a_supplier_goods_receipt_are_facts():
    assert is_ship_notice(_milestone("shipped"), "supplier")
    assert not is_ship_notice(_milestone("shipped"), "wms") and not is_ship_notice(_milestone("delivered"), "supplier")
    assert is_po_receipt(_posting("goods_receipt", "supplier"))
    assert not is_po_receipt(_posting("goods_receipt", "inventory")) and not is_po_receipt(_posting("invoice", "supplier"))
    assert _posting("goods_receipt", "supplier").lines == []  # a v1 posting without lines still validates


def test_the_cli_window_is_days_or_weeks_within_what_the_function_accepts():
    import typer

    from distsync.suppliers import parse_since

    assert (parse_since("90d"), parse_since("90"), parse_since("12w")) == (90, 90, 84)
    for bad in ("forever", "0d", "3651d", "-5d", "1y"):
        with pytest.raises(typer.BadParameter):
            parse_since(bad)
