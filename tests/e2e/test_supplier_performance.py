"""Supplier performance on the shared stack: a supplier confirms a PO (signed webhook), ships it (its advance
ship notice, a "shipped" milestone from the supplier) and the ERP posts the goods receipt; then ``distsync
suppliers performance --json --local`` (the measuring function, invoked as its weekly schedule would) shows
the lead time and fill rate against the promise, and the planning simulator received the measurement.

A supplier of its own (a fresh id) keeps the measurement to this module's POs."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.e2e


def uid() -> str:
    return uuid.uuid4().hex[:8]


def test_a_confirmed_shipped_and_received_po_is_measured_and_reaches_planning(stack):
    supplier, sku, po_id = f"SUP-{uid()}", stack.new_item(), f"PO-{uid()}"
    now = datetime.now(UTC)
    confirmed_at, today = now - timedelta(days=8), now.date()
    cid = f"md-{supplier}"
    stack.expect(stack.erp.upsert("SupplierUpserted", {"supplierId": supplier, "name": "Initech Supplies",
                                                       "defaultLeadTimeDays": 7}, correlation_id=cid), cid, "delivered")
    stack.wait_idle()

    # confirmed eight days ago for delivery in 13 days from then, 100 units
    line = {"lineNumber": 1, "itemId": sku, "locationId": "DC-1", "confirmedQuantity": 100,
            "confirmedDeliveryDate": (confirmed_at.date() + timedelta(days=13)).isoformat()}
    po_cid = f"po-{po_id}"
    stack.expect(stack.supplier.webhook("supplier", "PurchaseOrderConfirmed", {
        "purchaseOrderId": po_id, "supplierId": supplier, "lines": [line]},
        correlation_id=po_cid, occurred_at=confirmed_at.isoformat()), po_cid, "delivered")
    # shipped three days ago (the supplier's ship notice names its PO)
    asn_cid = f"asn-{po_id}"
    stack.expect(stack.supplier.webhook("supplier", "ShipmentMilestone", {
        "shipmentId": f"ASN-{po_id}", "orderIds": [po_id], "milestone": "shipped", "carrier": "DHL",
        "milestoneAt": (now - timedelta(days=3)).isoformat()}, correlation_id=asn_cid), asn_cid, "delivered")
    # received today: 90 of the 100
    gr_cid = f"gr-{po_id}"
    stack.expect(stack.erp.webhook("erp", "FinancialPostingRecorded", {
        "postingId": f"GR-{po_id}", "postingType": "goods_receipt", "domain": "supplier", "amountMinor": 90000,
        "currency": "EUR", "postingDate": today.isoformat(), "reference": po_id,
        "lines": [{"itemId": sku, "locationId": "DC-1", "receivedQuantity": 90}]}, correlation_id=gr_cid),
        gr_cid, "delivered")
    stack.wait_idle()
    assert ("supplier", "delivered") in [(h["stage"], h["outcome"]) for h in stack.trace(gr_cid)["hops"]]
    assert ("supplier", "delivered") in [(h["stage"], h["outcome"]) for h in stack.trace(asn_cid)["hops"]]

    run = stack.cli("suppliers", "performance", "--supplier", supplier, "--since", "30d", "--json")
    assert run.returncode == 0, run.stderr + run.stdout
    result = json.loads(run.stdout)
    [m] = result["measurements"]
    assert (m["supplierId"], m["itemId"], m["locationId"]) == (supplier, sku, "DC-1")
    assert (m["purchaseOrders"], m["receivedPurchaseOrders"]) == (1, 1)
    assert (m["actualLeadTimeDays"], m["promisedLeadTimeDays"], m["onTimePercent"]) == (8, 13, 100)
    assert m["masterDataLeadTimeDays"] == 7  # the item-location's lead time in the ERP's master data
    assert (m["confirmedQuantity"], m["receivedQuantity"], m["fillRatePercent"]) == (100, 90, 90)
    assert m["actualTransitDays"] == 3
    assert result["published"] == 1 and result["windowEnd"] == today.isoformat()

    stack.wait_idle()
    [sent] = stack.sim_records("planning", "supplier-performance", result["correlationId"])
    assert (sent["supplierId"], sent["itemId"], sent["locationId"]) == (supplier, sku, "DC-1")
    assert (sent["body"]["actualLeadTimeDays"], sent["body"]["fillRatePercent"]) == (8, 90)
    assert [(h["stage"], h["outcome"]) for h in stack.trace(result["correlationId"])["hops"]] == [
        ("planning-sync", "delivered")]

    # the table for people, measuring only (nothing more sent to planning)
    text = stack.cli("suppliers", "performance", "--supplier", supplier, "--no-publish")
    assert text.returncode == 0, text.stderr
    assert sku in text.stdout and "90 %" in text.stdout and "0 measurement(s) sent to planning" in text.stdout


def test_a_since_that_is_no_number_of_days_is_refused_before_anything_runs(stack):
    run = stack.cli("suppliers", "performance", "--since", "forever")
    assert run.returncode == 2 and "not a number of days" in run.stderr
