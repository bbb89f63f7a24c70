"""Units of measure against moto: the master data transformer keeps an item's conversions (versioned), the
inventory transformer stores a balance in cases in the base unit and quarantines one in an unknown unit
(released once the item's master data brings the conversion), and the supplier transformer sends a PO
confirmation in the base unit to the ERP (the ERP simulator over real HTTP) or quarantines it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from distsync_core.contracts import CONTRACTS, ConfirmedLine, PurchaseOrderConfirmed, new_envelope
from tests.integration.test_inventory_pipeline import balance, hops, inventory, master, published, run, stored
from tests.integration.test_supplier_and_forecast import envelope, erp, master_data, partners_up, quarantined

__all__ = ["erp", "inventory", "master_data", "partners_up"]  # fixtures shared with the pipelines' own tests

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def item(version: int, conversions: list[dict[str, Any]] | None = None, *, item_id: str = "SKU-1",
         record_version: int | None = None) -> dict[str, Any]:
    """An ItemUpserted bus event: v1 (no conversions) or v2 with ``conversions``."""
    data: dict[str, Any] = {"itemId": item_id, "description": "Widget", "unitOfMeasure": "EA", "status": "active",
                            "recordVersion": record_version}
    if version == 2:
        data["unitConversions"] = conversions or []
    contract = CONTRACTS[("ItemUpserted", str(version))]
    env = new_envelope(contract, contract.model.model_validate(data), source="erp", correlation_id=f"md-{item_id}")
    event = {"version": "0", "id": "x", "detail-type": "ItemUpserted", "source": "distsync.erp",
             "account": "123456789012", "time": "2026-11-27T00:00:00Z", "region": "us-east-1", "resources": [],
             "detail": env.model_dump(mode="json", by_alias=True)}
    return event


def stored_item(aws, item_id: str = "SKU-1") -> dict[str, Any]:
    [record] = [i for i in aws.items("MASTERDATA_TABLE_NAME") if i["pk"] == f"ITEM#{item_id}"]
    return record


CASES = [{"unit": "CS", "toBase": 12}, {"unit": "PAL", "toBase": 480}]


def test_the_item_record_keeps_its_conversions_and_an_older_version_never_overwrites_them(aws):
    assert run("masterdata_transformer", item(2, CASES, record_version=5)) == {"batchItemFailures": []}
    assert (stored_item(aws)["unitConversions"], stored_item(aws)["entity"]) == (CASES, "Item")
    run("masterdata_transformer", item(2, [{"unit": "CS", "toBase": 6}], record_version=4))  # older: left out
    assert stored_item(aws)["unitConversions"] == CASES
    run("masterdata_transformer", item(1, record_version=6))  # a newer v1 item: upcast, no conversions
    assert (stored_item(aws)["unitConversions"], stored_item(aws)["recordVersion"]) == ([], 6)


def test_a_balance_in_cases_is_stored_and_published_in_the_base_unit(aws, inventory):
    run("masterdata_transformer", master(), item(2, CASES))
    lots = [{"lotNumber": "L-1", "quantity": 6}, {"lotNumber": "L-2", "quantity": 4}]
    event = balance("corr-cs", "2", onHand=10, allocated=2.5, inTransit=0, unitOfMeasure="CS", lots=lots)
    assert run("inventory_transformer", event) == {"batchItemFailures": []}
    row = stored(inventory)
    assert (row["onHand"], row["allocated"], row["unitOfMeasure"]) == (120, 30, "EA")
    assert [lot["quantity"] for lot in row["lots"]] == [72, 48]
    [availability] = published(aws)
    assert (availability["detail"]["data"]["onHand"], availability["detail"]["data"]["availableToPromise"]) == (120, 90)
    [hop] = hops(aws, "corr-cs")
    assert hop["outcome"] == "ok" and "converted from 10 CS on hand to EA" in hop["detail"]


def test_a_balance_in_the_base_unit_or_without_a_unit_passes_unchanged(aws, inventory):
    run("masterdata_transformer", master())  # no ItemUpserted at all: the item-location's EA is the base
    run("inventory_transformer", balance("corr-ea", onHand=7, unitOfMeasure="EA"))
    run("inventory_transformer", balance("corr-none", as_of=T0 + timedelta(minutes=1), onHand=8))
    assert [e["detail"]["data"]["onHand"] for e in published(aws)] == [7, 8]
    assert aws.items("QUARANTINE_TABLE_NAME") == []


def test_a_balance_in_an_unknown_unit_is_quarantined_with_the_reason_and_released_by_the_conversion(aws, inventory):
    run("masterdata_transformer", master(), item(2, CASES, record_version=1))
    event = balance("corr-box", onHand=3, unitOfMeasure="BOX")
    assert run("inventory_transformer", event) == {"batchItemFailures": []}  # acknowledged, not retried
    [q] = aws.items("QUARANTINE_TABLE_NAME")
    assert (q["stage"], q["status"], q["waitingFor"]) == ("inventory", "QUARANTINED", "ITEM#SKU-1")
    assert q["reason"] == ("unit BOX of item SKU-1 has no conversion to its base unit EA in master data "
                           "(known units: CS, EA, PAL)")
    assert stored(inventory) is None and published(aws, 0.2) == []  # never written unconverted

    # The ERP governs the new unit: the item's next version releases the balance, which now converts.
    run("masterdata_transformer", item(2, [*CASES, {"unit": "BOX", "toBase": 24}], record_version=2))
    assert aws.items("QUARANTINE_TABLE_NAME")[0]["status"] == "RELEASED"
    [released] = published(aws)
    assert run("inventory_transformer", released) == {"batchItemFailures": []}
    assert stored(inventory)["onHand"] == 72
    assert [h["outcome"] for h in hops(aws, "corr-box")] == ["quarantined", "released", "ok"]


def po(unit: str | None, quantity: float = 10) -> dict[str, Any]:
    return envelope("PurchaseOrderConfirmed", PurchaseOrderConfirmed(
        purchase_order_id="PO-U1", supplier_id="SUP-1", lines=[
            ConfirmedLine(line_number=1, item_id="SKU-1", location_id="DC-1", confirmed_quantity=quantity,
                          confirmed_delivery_date=date(2026, 12, 10), unit_of_measure=unit)]), "po-u1", "supplier")


def test_a_po_confirmation_in_cases_reaches_the_erp_in_the_base_unit(aws, erp, master_data):
    run("masterdata_transformer", item(2, CASES))
    assert run("supplier_transformer", po("CS")) == {"batchItemFailures": []}
    [recorded] = erp.recorded("po-confirmation")
    assert [(line["confirmedQuantity"], line["unitOfMeasure"]) for line in recorded["body"]["lines"]] == [(120, "EA")]
    [line] = [i for i in aws.items("SUPPLIER_PERFORMANCE_TABLE_NAME") if (i["pk"], i["sk"]) == ("PO#PO-U1", "LINE#1")]
    assert line["confirmedQuantity"] == 120  # what was promised, for fill rates, in the base unit too


def test_a_po_confirmation_in_an_unknown_unit_is_quarantined_and_not_sent(aws, erp, master_data):
    run("masterdata_transformer", item(2, CASES))
    assert run("supplier_transformer", po("DZ")) == {"batchItemFailures": []}
    [q] = quarantined(aws)
    assert q["stage"] == "supplier" and q["waitingFor"] == "ITEM#SKU-1"
    assert q["reason"] == ("purchase order PO-U1: unit DZ of item SKU-1 has no conversion to its base unit EA in "
                           "master data (known units: CS, EA, PAL)")
    assert erp.recorded() == [] and erp.calls == 0


def test_a_po_line_in_the_item_locations_unit_passes_without_an_item_record(aws, erp, master_data):
    assert run("supplier_transformer", po("EA", 7)) == {"batchItemFailures": []}  # SKU-1@DC-1 is in EA
    [recorded] = erp.recorded("po-confirmation")
    assert [(line["confirmedQuantity"], line["unitOfMeasure"]) for line in recorded["body"]["lines"]] == [(7, "EA")]
    assert quarantined(aws) == []
