"""The governed master-data records as the domains read them: pure logic, no AWS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ItemLocationRecord:
    """Governed master data of one item-location, with the ERP's current parameters."""

    item_id: str
    location_id: str
    unit_of_measure: str
    safety_stock: float
    reorder_point: float
    supplier_id: str
    lead_time_days: int


@dataclass(frozen=True)
class AppliedUpdate:
    """The replenishment update the ERP last applied to an item-location, as recorded beside its parameters:
    the newest recommendation so far, which an older one must not overwrite."""

    recommended_at: datetime
    erp_idempotency_key: str
    planning_cycle_id: str
    safety_stock: float
    reorder_point: float
    approval_id: str | None = None
    correlation_id: str | None = None
    # what the update replaced (the parameter drift report tells a lost write by the ERP showing these again)
    previous_safety_stock: float | None = None
    previous_reorder_point: float | None = None


def item_location_key(item_id: str, location_id: str) -> str:
    """The master-data key of an item-location (see ``ItemLocationUpserted.master_key``)."""
    return f"ITEMLOC#{item_id}#{location_id}"


def item_key(item_id: str) -> str:
    """The master-data key of an item (see ``ItemUpserted.master_key``): its base unit and conversions."""
    return f"ITEM#{item_id}"


def supplier_key(supplier_id: str) -> str:
    """The master-data key of a supplier (see ``SupplierUpserted.master_key``)."""
    return f"SUPPLIER#{supplier_id}"


def relative_change_percent(current: float, proposed: float) -> float:
    """Change of a governed parameter relative to its current value; from zero, any increase counts as 100 %
    per unit."""
    if current == proposed:
        return 0.0
    return abs(proposed - current) / max(abs(current), 1.0) * 100.0
