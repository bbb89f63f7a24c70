"""Supplier lead-time policy: is a reported lead time stale, is its change a planning exception, and the
exception that says so. Pure logic."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..contracts import (
    CONTRACTS,
    Envelope,
    Metadata,
    PlanningException,
    PurchaseOrderConfirmed,
    SupplierLeadTimeChanged,
    derive_id,
    new_envelope,
)
from ..masterdata.records import item_key, item_location_key, relative_change_percent, supplier_key

EXCEPTION_CONTRACT = CONTRACTS[("PlanningException", "1")]
EXCEPTION_SOURCE = "distsync.supplier"


@dataclass(frozen=True)
class LeadTimeChange:
    previous_days: int
    new_days: int
    change_percent: float
    threshold_percent: float

    @property
    def exceptional(self) -> bool:
        return self.change_percent > self.threshold_percent

    @property
    def severity(self) -> Literal["warning", "critical"]:
        """Twice the threshold or more is critical."""
        return "critical" if self.change_percent >= 2 * self.threshold_percent else "warning"


def assess_lead_time(previous_days: int, new_days: int, threshold_percent: float) -> LeadTimeChange:
    return LeadTimeChange(previous_days, new_days, round(relative_change_percent(previous_days, new_days), 2),
                          threshold_percent)


def master_data_keys(events: Iterable[object]) -> set[str]:
    """The master data a batch of supplier events is checked against: each event's supplier, and the
    item-location of each lead time (ship notices and goods receipts, facts of supplier performance, none)."""
    supplier_events = [e for e in events if isinstance(e, SupplierLeadTimeChanged | PurchaseOrderConfirmed)]
    keys = {supplier_key(e.supplier_id) for e in supplier_events}
    keys |= {item_location_key(e.item_id, e.location_id) for e in supplier_events
             if isinstance(e, SupplierLeadTimeChanged)}
    # the items of lines in a supplier's own unit: their conversions
    lines = [line for e in supplier_events if isinstance(e, PurchaseOrderConfirmed) for line in e.lines
             if line.unit_of_measure]
    keys |= {k for line in lines for k in (item_key(line.item_id), item_location_key(line.item_id, line.location_id))}
    return keys


def is_stale(reported_at: str, last_reported: str | None) -> bool:
    """A lead time reported before the one recorded reached distsync late: the recorded one stays. Both are
    fixed-width UTC ISO times (:func:`distsync_core.platform.times.utc_iso`)."""
    return last_reported is not None and last_reported > reported_at


def known_lead_time(record: Mapping[str, Any]) -> int:
    """The lead time known so far for an item-location's master data record: the supplier's last reported
    one, else the ERP's."""
    return int(record.get("supplierLeadTimeDays", record["leadTimeDays"]))


def planning_exception(change: SupplierLeadTimeChanged, assessment: LeadTimeChange, event_id: str) -> PlanningException:
    """The ``PlanningException`` an exceptional lead-time change raises (its id derived from the event's)."""
    return PlanningException(
        exception_id=f"pex-{derive_id(event_id, 'PlanningException').replace('-', '')[:20]}",
        kind="lead_time_change",
        severity=assessment.severity,
        item_id=change.item_id,
        location_id=change.location_id,
        supplier_id=change.supplier_id,
        message=f"supplier {change.supplier_id} changed the lead time from {assessment.previous_days} to "
                f"{change.lead_time_days} days ({assessment.change_percent}%, threshold "
                f"{assessment.threshold_percent}%)",
        current_value=change.lead_time_days,
        previous_value=assessment.previous_days,
    )


def exception_event(exception: PlanningException, cause: Metadata) -> Envelope:
    """The exception's envelope, caused by the lead-time event (same event id for a redelivery)."""
    return new_envelope(EXCEPTION_CONTRACT, exception, source=EXCEPTION_SOURCE, caused_by=cause,
                        event_id=derive_id(cause.event_id, EXCEPTION_CONTRACT.event_type))
