"""Forecast-driven replenishment policy: validate, enrich, measure the change, decide the path.

Pure logic: the planning transformer feeds it a recommendation and the governed master data record and
gets back one decision; it never touches AWS.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from ..contracts import ReplenishmentRecommended, ReplenishmentUpdateRequested
from ..masterdata.records import AppliedUpdate, ItemLocationRecord, item_location_key, relative_change_percent


@dataclass(frozen=True)
class Quarantine:
    reason: str
    waiting_for: str | None = None  # the master data whose arrival makes it valid


@dataclass(frozen=True)
class NoChange:
    reason: str


@dataclass(frozen=True)
class ApplyDirectly:
    update: ReplenishmentUpdateRequested


@dataclass(frozen=True)
class RequireApproval:
    update: ReplenishmentUpdateRequested
    approval_id: str


Decision = Quarantine | NoChange | ApplyDirectly | RequireApproval


def erp_idempotency_key(rec: ReplenishmentRecommended) -> str:
    """Same item, location, cycle and values -> same key, so the ERP applies a duplicate only once."""
    raw = "|".join(
        [
            rec.item_id,
            rec.location_id,
            rec.planning_cycle_id,
            repr(float(rec.recommended_safety_stock)),
            repr(float(rec.recommended_reorder_point)),
        ]
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def decide(
    rec: ReplenishmentRecommended, current: ItemLocationRecord | None, threshold_percent: float,
    recommended_at: datetime | None = None, erp_connection: str | None = None,
) -> Decision:
    """``recommended_at``: the recommendation's event time, carried by the update so the ERP adapter can tell
    a newer update of the item-location from an older one (:func:`superseded`); ``erp_connection``: the ERP
    connection that owns the location (its queue and connector)."""
    if current is None:
        return Quarantine(
            f"unknown item-location {rec.item_id}@{rec.location_id}: no ItemLocationUpserted in master data",
            waiting_for=item_location_key(rec.item_id, rec.location_id),
        )
    change = max(
        relative_change_percent(current.safety_stock, rec.recommended_safety_stock),
        relative_change_percent(current.reorder_point, rec.recommended_reorder_point),
    )
    if change == 0.0:
        return NoChange("recommendation equals the ERP's current parameters")
    key = erp_idempotency_key(rec)
    update = ReplenishmentUpdateRequested(
        item_id=rec.item_id,
        location_id=rec.location_id,
        safety_stock=rec.recommended_safety_stock,
        reorder_point=rec.recommended_reorder_point,
        previous_safety_stock=current.safety_stock,
        previous_reorder_point=current.reorder_point,
        unit_of_measure=current.unit_of_measure,
        supplier_id=current.supplier_id,
        lead_time_days=current.lead_time_days,
        planning_cycle_id=rec.planning_cycle_id,
        change_percent=round(change, 2),
        erp_idempotency_key=key,
        recommended_at=recommended_at,
        erp_connection=erp_connection,
    )
    if change <= threshold_percent:
        return ApplyDirectly(update)
    return RequireApproval(update, approval_id=f"apr-{key[:24]}")


def recommended_at(update: ReplenishmentUpdateRequested, event_time: datetime) -> datetime:
    """What orders two updates of one item-location: when planning produced the recommendation. An update
    requested before ``recommendedAt`` existed falls back to its own event time (when it was requested)."""
    return update.recommended_at or event_time


def superseded(update: ReplenishmentUpdateRequested, at: datetime, applied: AppliedUpdate | None) -> str | None:
    """Why ``update`` (recommended ``at``) must not reach the ERP: the ERP already applied a newer
    recommendation for the item-location. None when it is still the latest, or the same one again (a
    re-delivery stays idempotent: the ERP replays its own answer). Two recommendations of the same instant
    are not ordered: the later applied wins, as before."""
    if applied is None or at >= applied.recommended_at:
        return None
    how = f"approval {applied.approval_id}" if applied.approval_id else "applied directly"
    return (f"superseded: recommended {_iso(at)} (cycle {update.planning_cycle_id}), but the ERP already applied "
            f"the newer recommendation of {_iso(applied.recommended_at)} (cycle {applied.planning_cycle_id}, {how}, "
            f"update {applied.erp_idempotency_key[:12]}: safety stock {applied.safety_stock:g}, reorder point "
            f"{applied.reorder_point:g})")


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")
