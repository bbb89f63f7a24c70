"""Supplier performance: what suppliers really did against what they promised. Pure logic.

Facts come from three events, kept per purchase order: its confirmed lines (``PurchaseOrderConfirmed``), the
supplier's ship notices (``ShipmentMilestone`` "shipped" from a supplier) and its goods receipts
(``FinancialPostingRecorded`` goods_receipt, domain supplier, referencing the PO). :func:`measure` turns them
into one ``SupplierPerformanceMeasured`` per supplier and item-location:

- lead time: days from the PO's first confirmation to its first goods receipt of the item-location (the PO's
  order date is not on any event; the first confirmation is the closest promise we see), against the
  confirmed delivery date and the master data lead time;
- fill rate: received of the confirmed quantity, each PO capped at its confirmed quantity (an over-delivery
  does not make up for another PO's short one); receipts that do not say quantities count for the lead time
  only;
- a PO not received yet counts in ``purchaseOrders`` only: it is not late or short before it arrives.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..contracts import (
    CONTRACTS,
    Envelope,
    FinancialPostingRecorded,
    Identifier,
    ShipmentMilestone,
    SupplierPerformanceMeasured,
    derive_id,
    new_envelope,
)


@dataclass(frozen=True)
class ConfirmedLine:
    purchase_order_id: str
    supplier_id: str
    line_number: int
    item_id: str
    location_id: str
    confirmed_quantity: float
    confirmed_delivery_date: date
    first_confirmed_at: datetime  # the PO's first confirmation (a re-confirmation keeps it)


@dataclass(frozen=True)
class Receipt:
    purchase_order_id: str
    posting_id: str
    received_on: date
    # item-location -> quantity; empty: the posting did not say (lead time only)
    quantities: Mapping[tuple[str, str], float] = field(default_factory=dict)


@dataclass(frozen=True)
class Shipment:
    purchase_order_id: str
    shipment_id: str
    shipped_at: datetime


@dataclass
class _PoLine:
    """One PO's lines of one item-location, with what was received of them."""

    confirmed_on: date
    promised_on: date
    confirmed: float = 0.0
    received_on: date | None = None
    received: float | None = None  # None: no receipt said a quantity
    shipped_on: date | None = None


def _days(start: date, end: date) -> int:
    # A receipt booked before the confirmation arrived (a late confirmation) is no negative lead time.
    return max(0, (end - start).days)


def _mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def measure(
    lines: Iterable[ConfirmedLine],
    receipts: Iterable[Receipt],
    shipments: Iterable[Shipment] = (),
    *,
    since: date,
    today: date,
    master_lead_times: Mapping[tuple[str, str], int] | None = None,
    supplier_id: str | None = None,
) -> list[SupplierPerformanceMeasured]:
    """One measurement per supplier and item-location with a PO confirmed from ``since`` on (sorted)."""
    receipts_by_po: dict[str, list[Receipt]] = defaultdict(list)
    for r in receipts:
        receipts_by_po[r.purchase_order_id].append(r)
    shipped_by_po: dict[str, date] = {}
    for s in shipments:
        day = s.shipped_at.date()
        shipped_by_po[s.purchase_order_id] = min(day, shipped_by_po.get(s.purchase_order_id, day))

    groups: dict[tuple[str, str, str], dict[str, _PoLine]] = defaultdict(dict)
    for line in lines:
        confirmed_on = line.first_confirmed_at.date()
        if confirmed_on < since or (supplier_id and line.supplier_id != supplier_id):
            continue
        po = groups[(line.supplier_id, line.item_id, line.location_id)].setdefault(
            line.purchase_order_id, _PoLine(confirmed_on=confirmed_on, promised_on=line.confirmed_delivery_date))
        po.confirmed += line.confirmed_quantity
        po.promised_on = max(po.promised_on, line.confirmed_delivery_date)  # all its lines are due by then

    for (_, item, location), pos in groups.items():
        for po_id, po in pos.items():
            po.shipped_on = shipped_by_po.get(po_id)
            for receipt in receipts_by_po.get(po_id, ()):
                said = (item, location) in receipt.quantities
                if receipt.quantities and not said:
                    continue  # a receipt of the PO's other item-locations
                po.received_on = min(receipt.received_on, po.received_on or receipt.received_on)
                if said:
                    po.received = (po.received or 0.0) + receipt.quantities[(item, location)]

    masters = master_lead_times or {}
    return [
        _measurement(supplier, item, location, pos, since, today, masters.get((item, location)))
        for (supplier, item, location), pos in sorted(groups.items())
    ]


def _measurement(supplier: str, item: str, location: str, pos: dict[str, _PoLine], since: date, today: date,
                 master_days: int | None) -> SupplierPerformanceMeasured:
    received = [po for po in pos.values() if po.received_on is not None]
    lead = [_days(po.confirmed_on, po.received_on) for po in received if po.received_on]
    promised = [_days(po.confirmed_on, po.promised_on) for po in received]
    on_time = [po for po in received if po.received_on and po.received_on <= po.promised_on]
    counted = [po for po in received if po.received is not None]  # receipts that said quantities
    confirmed = sum(po.confirmed for po in counted)
    got = sum(po.received or 0.0 for po in counted)
    filled = sum(min(po.received or 0.0, po.confirmed) for po in counted)
    over = sum(max(0.0, (po.received or 0.0) - po.confirmed) for po in counted)
    return SupplierPerformanceMeasured(
        supplier_id=supplier,
        item_id=item,
        location_id=location,
        window_start=since,
        window_end=today,
        purchase_orders=len(pos),
        received_purchase_orders=len(received),
        actual_lead_time_days=_mean(lead),
        promised_lead_time_days=_mean(promised),
        master_data_lead_time_days=master_days,
        on_time_percent=round(100 * len(on_time) / len(received), 2) if received else None,
        confirmed_quantity=round(confirmed, 6),
        received_quantity=round(got, 6),
        fill_rate_percent=round(100 * filled / confirmed, 2) if confirmed > 0 else None,
        over_delivered_quantity=round(over, 6),
        actual_transit_days=_mean([_days(po.shipped_on, po.received_on) for po in received
                                   if po.shipped_on and po.received_on]),
    )


def worth_publishing(measurement: SupplierPerformanceMeasured) -> bool:
    """Planning hears only of item-locations with a receipt: an open PO says nothing about lead times yet."""
    return measurement.received_purchase_orders > 0


SUPPLIER_SOURCE = "supplier"  # the webhook source (and file partners' source) of suppliers


def is_ship_notice(milestone: ShipmentMilestone, source: str) -> bool:
    """A supplier's advance ship notice (webhook, X12 856, DESADV): "shipped", sent by a supplier."""
    return milestone.milestone == "shipped" and source == SUPPLIER_SOURCE


def is_po_receipt(posting: FinancialPostingRecorded) -> bool:
    """A goods receipt of a supplier purchase order (its reference is the PO)."""
    return posting.posting_type == "goods_receipt" and posting.domain == "supplier"


MEASURED_SOURCE = "distsync.supplier"


def measurement_event(measurement: SupplierPerformanceMeasured, run_id: str, correlation_id: str) -> Envelope:
    """The measurement's envelope; its id is derived from the run's, so a retried run publishes the same ids
    (planning deduplicates on them)."""
    contract = CONTRACTS[("SupplierPerformanceMeasured", "1")]
    m = measurement
    return new_envelope(contract, m, source=MEASURED_SOURCE, correlation_id=correlation_id,
                        event_id=derive_id(run_id, contract.event_type, m.supplier_id, m.item_id, m.location_id))


class RunRequest(BaseModel):
    """What a run is asked for: by the weekly schedule (``scheduledTime``) or on demand."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    trigger: Literal["schedule", "on-demand"] = "on-demand"
    scheduled_time: str | None = Field(default=None, alias="scheduledTime")
    supplier_id: Identifier | None = Field(default=None, alias="supplierId")
    since_days: int = Field(default=90, ge=1, le=3650, strict=True, alias="sinceDays")
    publish: bool = True

    def run_id(self, fallback: str) -> str:
        """A scheduled run is named by its scheduled time (a retried invocation is the same run)."""
        return f"schedule-{self.scheduled_time}" if self.trigger == "schedule" and self.scheduled_time else fallback
