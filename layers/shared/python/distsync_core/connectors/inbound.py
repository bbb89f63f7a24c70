"""A change an ERP reported (pushed event, notification, delta row), made into governed master data. Plain
Python, no AWS: the ERP owns the planning parameters it reported; what it did not report (supplier, unit of
measure, a lead time it does not carry) comes from the master data distsync already holds."""

from __future__ import annotations

from ..contracts import ItemLocationUpserted
from ..masterdata.records import ItemLocationRecord
from .port import ItemLocationChange


def unchanged(change: ItemLocationChange, current: ItemLocationRecord | None) -> bool:
    """The change holds what distsync already has (read again by an overlapping pull or a repeated push)."""
    if current is None or change.parameters is None:
        return False
    lead = change.parameters.lead_time_days
    return (round(change.parameters.safety_stock, 3) == round(current.safety_stock, 3)
            and round(change.parameters.reorder_point, 3) == round(current.reorder_point, 3)
            and (lead is None or lead == current.lead_time_days)
            and (change.unit_of_measure is None or change.unit_of_measure == current.unit_of_measure))


def item_location_upserted(change: ItemLocationChange,
                           current: ItemLocationRecord | None) -> ItemLocationUpserted | str:
    """The event to publish, or why there is none (the reason a quarantine record carries)."""
    key = f"{change.item_id}@{change.location_id}"
    if change.parameters is None:
        return f"{key}: the ERP reported a change but no parameters (read it first: claim check)"
    if current is None:
        return (f"{key}: no master data to complete the ERP's change (supplier, unit of measure): publish its "
                "ItemLocationUpserted first, then release this")
    lead_time = change.parameters.lead_time_days
    return ItemLocationUpserted(
        item_id=change.item_id,
        location_id=change.location_id,
        unit_of_measure=change.unit_of_measure or current.unit_of_measure,
        safety_stock=change.parameters.safety_stock,
        reorder_point=change.parameters.reorder_point,
        supplier_id=current.supplier_id,
        lead_time_days=current.lead_time_days if lead_time is None else lead_time,
    )
