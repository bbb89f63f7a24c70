"""Units of measure: a partner's quantity in its own unit, converted to the item's base unit (the ERP's
``unitOfMeasure``) by the item's governed conversions (``ItemUpserted`` v2 ``unitConversions``). Pure logic,
no AWS: the transformers convert before any comparison or write, and quarantine what cannot be converted."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..contracts import InventoryBalanceChangedV2, PurchaseOrderConfirmed


class UnknownUnit(ValueError):
    """The quantity's unit has no governed conversion for the item: never guessed, never written as sent."""

    def __init__(self, reason: str, item_id: str):
        super().__init__(reason)
        self.item_id = item_id


@dataclass(frozen=True)
class ItemUnits:
    """An item's base unit and how many base units one of each other unit holds."""

    item_id: str
    base_unit: str
    to_base: Mapping[str, Decimal]

    @classmethod
    def from_record(cls, item_id: str, record: Mapping[str, Any] | None, fallback_base: str | None = None) -> ItemUnits:
        """From the stored ``ItemUpserted`` record (None: the item is not in master data yet, only the
        ``fallback_base`` unit, e.g. the item-location's, is known)."""
        if record is None:
            return cls(item_id, fallback_base or "", {})
        # Through str: a factor stored as 0.1 (float or DynamoDB Decimal) is read as exactly 0.1.
        factors = {c["unit"]: Decimal(str(c["toBase"])) for c in record.get("unitConversions") or []}
        return cls(item_id, record["unitOfMeasure"], factors)

    def known(self) -> list[str]:
        return sorted({self.base_unit, *self.to_base} - {""})

    def factor(self, unit: str | None) -> Decimal:
        """Base units in one ``unit`` (1 for the base unit, or no unit: the base unit is implied)."""
        if unit is None or unit == self.base_unit:
            return Decimal(1)
        if unit in self.to_base:
            return self.to_base[unit]
        known = ", ".join(self.known()) or "none: the item is not in master data"
        raise UnknownUnit(f"unit {unit} of item {self.item_id} has no conversion to its base unit "
                          f"{self.base_unit or '(unknown)'} in master data (known units: {known})", self.item_id)

    def to_base_quantity(self, quantity: float, unit: str | None) -> float:
        """``quantity`` of ``unit`` in base units, computed in decimal (12 x 0.1 CS is 1.2 EA, not
        1.2000000000000002) and returned as the float the contracts carry."""
        return float(Decimal(str(quantity)) * self.factor(unit))


def convert_all(units: ItemUnits, unit: str | None, quantities: Iterable[float]) -> list[float]:
    """Several quantities in one unit (a balance's on hand, allocated, in transit, lots)."""
    factor = units.factor(unit)
    return [float(Decimal(str(q)) * factor) for q in quantities]


def balance_in_base_unit(balance: InventoryBalanceChangedV2, units: ItemUnits) -> InventoryBalanceChangedV2:
    """The balance with every quantity (lots too) in the item's base unit. Raises :class:`UnknownUnit`; a
    converted quantity beyond the contract's bounds raises ``ValueError`` (pydantic's) naming it."""
    if balance.unit_of_measure is None or balance.unit_of_measure == units.base_unit:
        return balance
    unit = balance.unit_of_measure
    on_hand, allocated, in_transit, *lots = convert_all(
        units, unit, [balance.on_hand, balance.allocated, balance.in_transit, *(lot.quantity for lot in balance.lots)])
    data = balance.model_dump(by_alias=True, mode="json")
    data.update(onHand=on_hand, allocated=allocated, inTransit=in_transit, unitOfMeasure=units.base_unit,
                lots=[{**lot, "quantity": q} for lot, q in zip(data["lots"], lots, strict=True)])
    return InventoryBalanceChangedV2.model_validate(data)


def confirmation_in_base_unit(po: PurchaseOrderConfirmed,
                              units_of: Callable[[str, str], ItemUnits]) -> PurchaseOrderConfirmed:
    """The confirmation with every line's quantity in its item's base unit (``units_of(item_id,
    location_id)``). Raises :class:`UnknownUnit` for the first line whose unit has no conversion."""
    data = po.model_dump(by_alias=True, mode="json")
    for line, model in zip(data["lines"], po.lines, strict=True):
        if model.unit_of_measure is None:
            continue
        units = units_of(model.item_id, model.location_id)
        line["confirmedQuantity"] = units.to_base_quantity(model.confirmed_quantity, model.unit_of_measure)
        line["unitOfMeasure"] = units.base_unit
    return PurchaseOrderConfirmed.model_validate(data)
