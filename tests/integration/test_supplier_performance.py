"""Supplier performance against moto, with the ERP and planning simulators over real HTTP: the supplier
transformer keeps each PO's confirmed lines, the supplier's ship notices and PO goods receipts (and no
other milestones or postings), the measuring function publishes ``SupplierPerformanceMeasured`` and the planning sync
sends it to planning."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest
from pydantic import ValidationError

from distsync_core.contracts import (
    ConfirmedLine,
    FinancialPostingRecorded,
    PurchaseOrderConfirmed,
    ReceivedLine,
    ShipmentMilestone,
)
from tests.conftest import FakeLambdaContext, load_handler
from tests.integration.test_supplier_and_forecast import (
    envelope,
    hops,
    master_data,
    partners_up,
    planning,
    run,
)

__all__ = ["master_data", "partners_up", "planning"]  # fixtures used by name

@pytest.fixture(autouse=True)
def performance_env(monkeypatch):
    monkeypatch.setenv("SUPPLIER_PERFORMANCE_WINDOW_DAYS", "90")


def po(po_id: str, quantity: float, *, cid: str | None = None, due: date = date(2026, 12, 3)) -> dict[str, Any]:
    return envelope("PurchaseOrderConfirmed", PurchaseOrderConfirmed(
        purchase_order_id=po_id, supplier_id="SUP-1", lines=[
            ConfirmedLine(line_number=1, item_id="SKU-1", location_id="DC-1", confirmed_quantity=quantity,
                          confirmed_delivery_date=due)]), cid or f"po-{po_id}", "supplier")


def shipped(po_id: str, source: str = "supplier", milestone: str = "shipped") -> dict[str, Any]:
    return envelope("ShipmentMilestone", ShipmentMilestone(
        shipment_id=f"ASN-{po_id}", order_ids=[po_id], milestone=milestone, carrier="DHL",
        milestone_at=datetime(2026, 12, 1, 9, tzinfo=UTC)), f"asn-{po_id}", source)


def receipt(po_id: str, quantity: float | None, *, on: date = date(2026, 12, 4), domain: str = "supplier",
            posting: str | None = None) -> dict[str, Any]:
    lines = [] if quantity is None else [ReceivedLine(item_id="SKU-1", location_id="DC-1", received_quantity=quantity)]
    return envelope("FinancialPostingRecorded", FinancialPostingRecorded(
        posting_id=posting or f"GR-{po_id}", posting_type="goods_receipt", domain=domain, amount_minor=12345,
        currency="EUR", posting_date=on, reference=po_id, lines=lines), f"gr-{po_id}", "erp")


def facts(aws) -> dict[tuple[str, str], dict[str, Any]]:
    return {(i["pk"], i["sk"]): i for i in aws.items("SUPPLIER_PERFORMANCE_TABLE_NAME")}


def measure(**request: Any) -> dict[str, Any]:
    return load_handler("supplier_performance").lambda_handler(
        {"trigger": "on-demand", "sinceDays": 3650, **request}, FakeLambdaContext("supplier_performance"))


def test_the_supplier_transformer_keeps_the_confirmed_lines_and_a_late_older_confirmation_changes_nothing(
        aws, planning, master_data):
    assert run("supplier_transformer", po("PO-1", 100)) == {"batchItemFailures": []}
    line = facts(aws)[("PO#PO-1", "LINE#1")]
    assert (line["supplierId"], line["itemId"], line["confirmedQuantity"], line["confirmedDeliveryDate"]) == (
        "SUP-1", "SKU-1", 100, "2026-12-03")
    assert line["firstConfirmedAt"] == line["confirmedAt"] == "2026-11-27T00:00:00.000000+00:00"

    newer = po("PO-1", 80, cid="po-again")
    newer["detail"]["metadata"]["occurredAt"] = "2026-11-28T00:00:00+00:00"
    older = po("PO-1", 999, cid="po-late")
    older["detail"]["metadata"]["occurredAt"] = "2026-11-20T00:00:00+00:00"
    assert run("supplier_transformer", newer, older) == {"batchItemFailures": []}
    line = facts(aws)[("PO#PO-1", "LINE#1")]
    assert line["confirmedQuantity"] == 80  # the newer one; the older one reached distsync late
    assert line["firstConfirmedAt"] == "2026-11-27T00:00:00.000000+00:00"  # the lead time starts at the first


def test_only_the_suppliers_ship_notices_and_po_goods_receipts_are_kept(aws):
    assert run("supplier_transformer", shipped("PO-1"), shipped("PO-2", source="wms"),
               shipped("PO-3", milestone="delivered"), receipt("PO-1", 60),
               receipt("PO-4", 5, domain="inventory")) == {"batchItemFailures": []}
    assert set(facts(aws)) == {("PO#PO-1", "SHIPPED#ASN-PO-1"), ("PO#PO-1", "RECEIPT#GR-PO-1")}
    stored = facts(aws)[("PO#PO-1", "RECEIPT#GR-PO-1")]
    assert stored["receivedOn"] == "2026-12-04"
    assert stored["lines"] == [{"itemId": "SKU-1", "locationId": "DC-1", "receivedQuantity": 60}]
    assert [(s, o) for s, o, _ in hops(aws, "gr-PO-1")] == [("supplier", "delivered")]
    assert hops(aws, "asn-PO-2") == [] and hops(aws, "gr-PO-4") == []  # not the supplier's: no hop either


def test_a_run_measures_publishes_and_the_planning_sync_sends_it_to_planning(aws, planning, master_data):
    run("supplier_transformer", po("PO-1", 100), po("PO-2", 50, due=date(2026, 12, 6)))
    run("supplier_transformer", shipped("PO-1"), receipt("PO-1", 60, posting="GR-1a"),
        receipt("PO-1", 50, on=date(2026, 12, 5), posting="GR-1b"))  # partial, then over-delivered
    aws.probe()

    summary = measure()
    [m] = summary["measurements"]
    assert (m["supplierId"], m["itemId"], m["locationId"]) == ("SUP-1", "SKU-1", "DC-1")
    assert (m["purchaseOrders"], m["receivedPurchaseOrders"]) == (2, 1)  # PO-2 is still open
    assert (m["actualLeadTimeDays"], m["promisedLeadTimeDays"], m["masterDataLeadTimeDays"]) == (7, 6, 10)
    assert (m["confirmedQuantity"], m["receivedQuantity"], m["fillRatePercent"], m["overDeliveredQuantity"]) == (
        100, 110, 100, 10)
    assert (m["onTimePercent"], m["actualTransitDays"]) == (0, 3)  # 12-04 > 12-03; shipped 12-01
    assert summary["published"] == 1

    [published] = aws.probe()
    assert (published["source"], published["detail-type"]) == ("distsync.supplier-performance",
                                                                 "SupplierPerformanceMeasured")
    assert published["detail"]["data"] == m
    assert published["detail"]["metadata"]["correlationId"] == summary["correlationId"]

    published["detail"]["metadata"]["receivedAt"] = datetime.now(UTC).isoformat()
    assert run("planning_sync", published) == {"batchItemFailures": []}
    [sent] = planning.snapshot("supplier-performance")
    assert (sent["supplierId"], sent["itemId"], sent["locationId"]) == ("SUP-1", "SKU-1", "DC-1")
    assert sent["body"]["actualLeadTimeDays"] == 7 and sent["idempotencyKey"] == published["detail"]["metadata"]["eventId"]


def test_a_scheduled_run_publishes_the_same_event_ids_again_and_a_measure_only_run_publishes_nothing(
        aws, planning, master_data):
    run("supplier_transformer", po("PO-1", 10))
    run("supplier_transformer", receipt("PO-1", None))
    aws.probe()
    scheduled = {"trigger": "schedule", "scheduledTime": "2026-12-07T06:00:00Z"}
    first, again = measure(**scheduled), measure(**scheduled)
    assert first["runId"] == again["runId"] == "schedule-2026-12-07T06:00:00Z"
    events = aws.probe()
    assert len(events) == 2 and events[0]["detail"]["metadata"]["eventId"] == events[1]["detail"]["metadata"]["eventId"]
    assert events[0]["detail"]["data"]["fillRatePercent"] is None  # the receipt said no quantities
    assert events[0]["detail"]["data"]["actualLeadTimeDays"] == 7

    quiet = measure(publish=False, supplierId="SUP-1")
    assert (quiet["published"], len(quiet["measurements"])) == (0, 1) and aws.probe() == []
    assert measure(supplierId="SUP-OTHER")["measurements"] == []


def test_a_bad_on_demand_request_is_refused_with_the_field(aws):
    with pytest.raises(ValidationError, match="sinceDays"):
        measure(sinceDays=0)
    assert boto3.client("dynamodb").scan(TableName="supplier-performance")["Count"] == 0
