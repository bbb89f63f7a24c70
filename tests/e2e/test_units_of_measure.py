"""Units of measure on the shared local stack: an item's governed conversions (ItemUpserted v2 from the ERP),
a WMS balance in cases through the signed webhook and a partner's 846 in cases both show in the base unit in
ATP; a balance in a unit the item has no conversion for is quarantined with the reason (`distsync
quarantine list`), never applied."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.test_partner_files import Landing, template


def new_sku() -> str:
    return f"SKU-UOM-{uuid.uuid4().hex[:8].upper()}"


def governed_item(stack, item: str, loc: str, conversions: list[dict[str, Any]]) -> None:
    """The ERP's item (v2, with its conversions) and item-location, both in EA, in master data."""
    cid = f"md-item-{item}"
    stack.expect(stack.erp.webhook("erp", "ItemUpserted", {
        "itemId": item, "description": "Widget", "unitOfMeasure": "EA", "status": "active",
        "unitConversions": conversions}, version="2", correlation_id=cid), cid, "delivered")
    stack.master_data(item, loc)
    stack.wait_idle()


def balance_in(stack, item: str, unit: str, on_hand: float, allocated: float = 0) -> tuple[str, Any]:
    cid = f"uom-{item}-{unit}"
    result = stack.wms.webhook("wms", "InventoryBalanceChanged", {
        "itemId": item, "locationId": "DC-1", "onHand": on_hand, "allocated": allocated, "inTransit": 0,
        "asOf": datetime.now(UTC).isoformat(), "sourceSystem": "wms", "unitOfMeasure": unit}, version="2",
        correlation_id=cid)
    return cid, result


@pytest.fixture(scope="module")
def landing(stack) -> Landing:
    return Landing(stack)


def test_a_wms_balance_in_cases_shows_in_the_base_unit_in_atp(stack):
    item = new_sku()
    governed_item(stack, item, "DC-1", [{"unit": "CS", "toBase": 12}, {"unit": "PAL", "toBase": 480}])
    cid, result = balance_in(stack, item, "CS", 10, allocated=1)
    stack.expect(result, cid, "delivered")
    stack.wait_idle()

    atp = stack.api.atp(item, "DC-1")
    assert atp.status == 200, atp.body
    assert (atp.body["onHand"], atp.body["allocated"], atp.body["availableToPromise"]) == (120, 12, 108)
    [hop] = [h for h in stack.trace(cid)["hops"] if h["stage"] == "inventory"]
    assert hop["outcome"] == "ok" and "converted from 10 CS on hand to EA" in hop["detail"]


def test_a_balance_in_an_unknown_unit_is_quarantined_with_the_reason(stack):
    item = new_sku()
    governed_item(stack, item, "DC-1", [{"unit": "CS", "toBase": 12}])
    cid, result = balance_in(stack, item, "BOX", 3)
    stack.expect(result, cid, "quarantined")
    stack.wait_idle()

    assert stack.trace(cid)["status"] == "quarantined"
    listed = stack.cli("quarantine", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [record] = [q for q in json.loads(listed.stdout) if q["correlationId"] == cid]
    assert record["reason"] == (f"unit BOX of item {item} has no conversion to its base unit EA in master data "
                                "(known units: CS, EA)")
    assert stack.api.atp(item, "DC-1").status == 404  # nothing applied, nothing written unconverted


def test_a_partner_846_line_in_cases_converts_the_same_way(stack, landing):
    a, b, c = new_sku(), new_sku(), new_sku()
    for item, loc in ((a, "DC-EAST"), (b, "DC-EAST"), (c, "DC-WEST")):
        governed_item(stack, item, loc, [{"unit": "CS", "toBase": 12}])
    # SKU-100's quantities in cases (the other lines stay in EA, the base unit)
    body = template("x12/846_inventory.edi", **{
        "SKU-100": a, "SKU-200": b, "SKU-300": c,
        "QTY*17*500*EA~\nQTY*27*120*EA~\nQTY*IQ*80*EA~\nSCH*80*EA": "QTY*17*50*CS~\nQTY*27*10*CS~\nQTY*IQ*5*CS~\nSCH*5*CS"})
    name = f"846-cases-{a}.edi"
    landing.drop("acme-3pl", name, body)
    landing.account("acme-3pl", name, body, rejected=set())

    atp = stack.api.atp(a, "DC-EAST")
    assert (atp.body["onHand"], atp.body["allocated"], atp.body["inTransit"]) == (600, 120, 60)
    assert stack.api.atp(b, "DC-EAST").body["onHand"] == 500  # EA: unchanged
