"""Supplier collaboration and demand forecasts on the running stack: a lead-time jump reaches planning as a
lead time and as an exception in its inbox under one correlation id; PO confirmations and forecasts reach
the ERP; a PO from a supplier the ERP has not sent yet waits in quarantine until it has; bad inputs are
refused at the door and never reach the bus."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from distsync.sim.clients import HttpResult
from distsync_core.contracts import derive_id

pytestmark = pytest.mark.e2e

LINES = [{"lineNumber": 1, "itemId": "SKU-LINE-1", "locationId": "DC-1", "confirmedQuantity": 120,
          "confirmedDeliveryDate": "2026-12-10"},
         {"lineNumber": 2, "itemId": "SKU-LINE-2", "locationId": "DC-1", "confirmedQuantity": 40.5,
          "confirmedDeliveryDate": "2026-12-14"}]


def uid() -> str:
    return uuid.uuid4().hex[:8]


def supplier(stack, supplier_id: str) -> str:
    """SupplierUpserted from the ERP (accepted, must end delivered); returns its correlation id."""
    cid = f"md-{supplier_id}-{uid()}"
    stack.expect(stack.erp.upsert("SupplierUpserted", {"supplierId": supplier_id, "name": "Acme Packaging",
                                                       "defaultLeadTimeDays": 7}, correlation_id=cid),
                 cid, "delivered")
    return cid


@pytest.fixture(scope="module")
def sup1(stack) -> str:
    """SUP-1, the supplier every ``stack.new_item()`` names (lead time 7 days), in master data."""
    supplier(stack, "SUP-1")
    stack.wait_idle()
    return "SUP-1"


def stages(stack, cid: str) -> list[tuple[str, str]]:
    return [(h["stage"], h["outcome"]) for h in stack.trace(cid)["hops"]]


def header(result: HttpResult, name: str) -> str:
    return next((v for k, v in result.headers.items() if k.lower() == name.lower()), "")


def test_a_lead_time_jump_reaches_planning_as_a_lead_time_and_as_an_exception(stack, sup1):
    sku = stack.new_item()
    cid = f"lt-{sku}"
    stack.expect(stack.supplier.lead_time(sup1, sku, "DC-1", 14, correlation_id=cid), cid, "delivered")
    stack.wait_idle()

    [lead_time] = stack.sim_records("planning", "lead-time", cid)
    assert (lead_time["supplierId"], lead_time["itemId"], lead_time["locationId"]) == (sup1, sku, "DC-1")
    assert (lead_time["body"]["leadTimeDays"], lead_time["body"]["effectiveFrom"]) == (14, "2026-12-01")
    [exception] = stack.sim_records("planning", "exception", cid)
    body = exception["body"]
    assert (body["kind"], body["severity"], body["itemId"], body["supplierId"]) == (
        "lead_time_change", "critical", sku, sup1)  # 7 -> 14 days: 100 %, at least twice the 25 % threshold
    assert (body["previousValue"], body["currentValue"]) == (7, 14)

    assert stack.trace(cid)["status"] == "delivered"
    assert stages(stack, cid) == [("webhook", "ok"), ("supplier", "ok"), ("planning-sync", "delivered")]
    events = stack.bus_events_for(cid)
    assert [e["detail-type"] for e in events] == ["SupplierLeadTimeChanged", "PlanningException"]
    assert events[1]["detail"]["metadata"]["causationId"] == events[0]["detail"]["metadata"]["eventId"]


def test_a_small_lead_time_change_reaches_planning_without_an_exception(stack, sup1):
    sku = stack.new_item()
    cid = f"lt-small-{sku}"
    stack.expect(stack.supplier.lead_time(sup1, sku, "DC-1", 8, correlation_id=cid), cid, "delivered")  # 14.3 %
    stack.wait_idle()
    assert [r["body"]["leadTimeDays"] for r in stack.sim_records("planning", "lead-time", cid)] == [8]
    assert stack.sim_records("planning", "exception", cid) == []
    assert stages(stack, cid) == [("webhook", "ok"), ("supplier", "delivered")]
    assert [e["detail-type"] for e in stack.bus_events_for(cid)] == ["SupplierLeadTimeChanged"]


def test_a_po_confirmation_reaches_the_erp(stack, sup1):
    po_id, cid = f"PO-{uid()}", f"po-{uid()}"
    stack.expect(stack.supplier.confirm_po(po_id, sup1, LINES, correlation_id=cid), cid, "delivered")
    stack.wait_idle()
    [recorded] = stack.sim_records("erp", "po-confirmation", cid)
    assert recorded["purchaseOrderId"] == po_id and recorded["body"]["supplierId"] == sup1
    assert [(line["itemId"], line["confirmedQuantity"]) for line in recorded["body"]["lines"]] == [
        ("SKU-LINE-1", 120), ("SKU-LINE-2", 40.5)]
    assert stages(stack, cid) == [("webhook", "ok"), ("supplier", "delivered")]


def test_a_forecast_reaches_the_erp_under_a_key_derived_from_it(stack):
    sku = stack.new_item()
    cid, forecast_id = f"fc-{sku}", f"F-{uid()}"
    weeks = [("2026-11-30", 50), ("2026-12-07", 65.5), ("2026-12-14", 70)]
    stack.expect(stack.planning.forecast(sku, "DC-1", forecast_id, weeks, correlation_id=cid), cid, "delivered")
    stack.wait_idle()
    [recorded] = stack.sim_records("erp", "demand-forecast", cid)
    assert (recorded["itemId"], recorded["locationId"]) == (sku, "DC-1")
    assert recorded["idempotencyKey"] == derive_id(forecast_id, sku, "DC-1")
    assert [(b["weekStart"], b["quantity"]) for b in recorded["body"]["buckets"]] == weeks
    assert stages(stack, cid) == [("webhook", "ok"), ("forecast", "delivered")]
    assert "3 weeks from 2026-11-30, 185.5 EA" in stack.trace(cid)["hops"][-1]["detail"]


def quarantine_records(stack, cid: str) -> list[dict[str, Any]]:
    table = stack.dynamodb.Table(stack.info["outputs"]["QuarantineTableName"])
    return [q for q in table.scan()["Items"] if q["correlationId"] == cid]


def test_a_po_from_an_unknown_supplier_waits_in_quarantine_until_the_supplier_arrives(stack):
    new_supplier, po_id, cid = f"SUP-{uid()}", f"PO-{uid()}", f"po-wait-{uid()}"
    stack.expect(stack.supplier.confirm_po(po_id, new_supplier, LINES, correlation_id=cid), cid, "delivered")
    stack.wait_idle()
    assert stack.trace(cid)["status"] == "quarantined"
    [held] = quarantine_records(stack, cid)
    assert (held["status"], held["waitingFor"], held["stage"]) == ("QUARANTINED", f"SUPPLIER#{new_supplier}", "supplier")
    assert stack.sim_records("erp", "po-confirmation", cid) == []

    supplier(stack, new_supplier)
    stack.wait_idle()
    [recorded] = stack.sim_records("erp", "po-confirmation", cid)
    assert recorded["purchaseOrderId"] == po_id
    assert [q["status"] for q in quarantine_records(stack, cid)] == ["RELEASED"]
    assert stack.trace(cid)["status"] == "delivered"
    assert stages(stack, cid) == [("webhook", "ok"), ("supplier", "quarantined"), ("quarantine", "released"),
                                  ("supplier", "delivered")]


@pytest.mark.parametrize(("what", "field", "needle"), [
    ("forecast with unordered weeks", "data", "strictly ascending"),
    ("lead time from the ERP", "source", "not accepted from source 'erp'"),
])
def test_bad_inputs_get_a_problem_and_never_reach_the_bus(stack, what, field, needle):
    sku, cid = f"SKU-{uid()}", f"bad-{uid()}"
    if what.startswith("forecast"):
        result = stack.planning.forecast(sku, "DC-1", "F-1", [("2026-12-07", 10), ("2026-11-30", 12)],
                                         correlation_id=cid)
    else:
        result = stack.erp.webhook("erp", "SupplierLeadTimeChanged", {
            "supplierId": "SUP-1", "itemId": sku, "locationId": "DC-1", "leadTimeDays": 9,
            "effectiveFrom": "2026-12-01"}, correlation_id=cid)
    assert result.status == 400, result.body
    assert header(result, "Content-Type") == "application/problem+json"
    assert result.body["type"].endswith("#contract-violation") and result.body["status"] == 400
    assert [e["field"] for e in result.body["errors"]] == [field] and needle in str(result.body["errors"])
    stack.wait_idle()
    assert stack.bus_events_for(cid) == []
    assert stack.trace(cid)["hops"] == []
