"""Units of measure: the ItemUpserted v2 contract (conversions validated, v1 upcast with none) and the pure
conversion policy (distsync_core.masterdata.units)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from distsync_core.contracts import (
    CONTRACTS,
    InventoryBalanceChangedV2,
    ItemUpsertedV2,
    PurchaseOrderConfirmed,
    new_envelope,
    upcast_to_latest,
)
from distsync_core.masterdata.units import (
    ItemUnits,
    UnknownUnit,
    balance_in_base_unit,
    confirmation_in_base_unit,
)

ITEM = {"itemId": "SKU-1", "description": "Widget", "unitOfMeasure": "EA", "status": "active"}
CASES = {"unitOfMeasure": "EA", "unitConversions": [{"unit": "CS", "toBase": 12}, {"unit": "PAL", "toBase": 480}]}


# ------------------------------------------------------------------------------------------ contract
def test_v2_carries_conversions_and_a_v1_item_is_upcast_with_none():
    item = ItemUpsertedV2.model_validate({**ITEM, **CASES})
    assert [(c.unit, c.to_base) for c in item.unit_conversions] == [("CS", 12), ("PAL", 480)]
    v1 = new_envelope(CONTRACTS[("ItemUpserted", "1")], CONTRACTS[("ItemUpserted", "1")].model.model_validate(ITEM),
                      source="erp", correlation_id="c-1")
    latest = upcast_to_latest(v1)
    assert isinstance(latest, ItemUpsertedV2) and latest.unit_conversions == [] and latest.item_id == "SKU-1"


@pytest.mark.parametrize(("conversions", "reason"), [
    ([{"unit": "CS", "toBase": 0}], "greater than or equal to 0.000001"),
    ([{"unit": "CS", "toBase": -12}], "greater than or equal to 0.000001"),
    ([{"unit": "CS", "toBase": 12}, {"unit": "CS", "toBase": 10}], "unit CS is listed twice"),
    ([{"unit": "EA", "toBase": 2}], "the base unit EA can only convert with toBase 1"),
    ([{"unit": "cs", "toBase": 12}], "should match pattern"),
    ([{"unit": "CS", "toBase": "12"}], "valid number"),
])
def test_conversions_that_cannot_be_governed_are_refused_with_the_reason(conversions, reason):
    with pytest.raises(ValidationError) as refused:
        ItemUpsertedV2.model_validate({**ITEM, "unitConversions": conversions})
    assert reason in str(refused.value)


def test_the_base_unit_may_be_listed_with_factor_one():
    assert ItemUpsertedV2.model_validate({**ITEM, "unitConversions": [{"unit": "EA", "toBase": 1}]})


# ------------------------------------------------------------------------------------------ policy
UNITS = ItemUnits.from_record("SKU-1", {**ITEM, **CASES})


def test_a_known_unit_converts_to_the_base_unit_and_the_base_unit_passes():
    assert UNITS.to_base_quantity(10, "CS") == 120
    assert UNITS.to_base_quantity(1.5, "PAL") == 720
    assert UNITS.to_base_quantity(7, "EA") == 7
    assert UNITS.to_base_quantity(7, None) == 7  # no unit: the base unit is implied


def test_conversion_is_exact_in_decimal():
    tenths = ItemUnits.from_record("SKU-1", {**ITEM, "unitConversions": [{"unit": "DM", "toBase": 0.1}]})
    assert tenths.to_base_quantity(3, "DM") == 0.3  # 3 * 0.1 as floats is 0.30000000000000004
    assert UNITS.to_base_quantity(0.1, "CS") == 1.2  # 0.1 * 12 as floats is 1.2000000000000002


def test_an_unknown_unit_is_refused_naming_the_item_the_unit_and_the_known_units():
    with pytest.raises(UnknownUnit) as refused:
        UNITS.to_base_quantity(3, "BOX")
    assert str(refused.value) == ("unit BOX of item SKU-1 has no conversion to its base unit EA in master data "
                                  "(known units: CS, EA, PAL)")
    assert refused.value.item_id == "SKU-1"


def test_an_item_not_in_master_data_knows_only_the_item_locations_unit():
    units = ItemUnits.from_record("SKU-9", None, "EA")
    assert units.to_base_quantity(4, "EA") == 4
    with pytest.raises(UnknownUnit, match=r"unit CS of item SKU-9 .* \(known units: EA\)"):
        units.to_base_quantity(4, "CS")


def test_a_balance_converts_every_quantity_lots_too():
    balance = InventoryBalanceChangedV2.model_validate({
        "itemId": "SKU-1", "locationId": "DC-1", "onHand": 10, "allocated": 2, "inTransit": 1.5,
        "asOf": datetime(2026, 11, 27, tzinfo=UTC).isoformat(), "sourceSystem": "wms", "unitOfMeasure": "CS",
        "lots": [{"lotNumber": "L-1", "quantity": 4}, {"lotNumber": "L-2", "quantity": 6}]})
    base = balance_in_base_unit(balance, UNITS)
    assert (base.on_hand, base.allocated, base.in_transit, base.unit_of_measure) == (120, 24, 18, "EA")
    assert [lot.quantity for lot in base.lots] == [48, 72]
    assert balance_in_base_unit(base, UNITS) is base  # already in the base unit
    with pytest.raises(UnknownUnit):
        balance_in_base_unit(balance.model_copy(update={"unit_of_measure": "BOX"}), UNITS)


def test_a_po_confirmation_converts_each_line_by_its_own_item():
    po = PurchaseOrderConfirmed.model_validate({"purchaseOrderId": "PO-1", "supplierId": "SUP-1", "lines": [
        {"lineNumber": 1, "itemId": "SKU-1", "locationId": "DC-1", "confirmedQuantity": 2,
         "confirmedDeliveryDate": "2026-12-01", "unitOfMeasure": "PAL"},
        {"lineNumber": 2, "itemId": "SKU-2", "locationId": "DC-1", "confirmedQuantity": 5,
         "confirmedDeliveryDate": "2026-12-01"}]})
    items = {("SKU-1", "DC-1"): UNITS}

    def units_of(item: str, location: str) -> ItemUnits:
        return items[item, location]

    base = confirmation_in_base_unit(po, units_of)
    assert [(line.confirmed_quantity, line.unit_of_measure) for line in base.lines] == [(960, "EA"), (5, None)]
    unknown = po.model_copy(update={"lines": [po.lines[0].model_copy(update={"unit_of_measure": "BOX"})]})
    with pytest.raises(UnknownUnit, match="unit BOX of item SKU-1"):
        confirmation_in_base_unit(unknown, units_of)
