"""Parameter drift classification: pure logic, no AWS, no HTTP.

Per item-location three views meet: planning's latest recommendation (what distsync received, with what
became of it), the parameters distsync last applied in the ERP, and what the ERP holds now (read through
the owning connection's connector). One class each:

- ``changed_by_hand``: the ERP differs from the last applied, and no later recommendation explains it;
- ``applied_but_lost``: the ERP shows the parameters the last applied update replaced (a restore, a rolled
  back transport, an MRP run writing an old copy): older than the one applied;
- ``never_applied``: the ERP holds the last applied, but planning's later recommendation never reached it
  (rejected, quarantined, dead-lettered, superseded, pending approval, still in flight), with why;
- ``in_sync``: nothing to say;
- ``not_compared``: no connection owns the location, the ERP has no record or could not be read (the reason).

A change by hand back to exactly the replaced values is indistinguishable from a lost write: it is reported
as lost (the correction is the same).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

DriftClass = Literal["changed_by_hand", "applied_but_lost", "never_applied", "in_sync", "not_compared"]
CLASSES: tuple[DriftClass, ...] = ("changed_by_hand", "applied_but_lost", "never_applied", "in_sync", "not_compared")
DRIFTED: frozenset[str] = frozenset({"changed_by_hand", "applied_but_lost", "never_applied"})
# What became of a recommendation (the ledger's status of its transaction, distsync.trace) and why that
# means it never reached the ERP; "delivered" did (or planning found nothing to change).
NOT_APPLIED_WHY = {
    "rejected": "rejected by a planner",
    "quarantined": "quarantined",
    "dead_lettered": "dead-lettered",
    "superseded": "superseded by a newer recommendation",
    "pending_approval": "pending approval",
    "escalated": "escalated without a decision",
    "in_flight": "still in flight",
}


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class Parameters(_Model):
    safety_stock: float
    reorder_point: float

    def same_as(self, other: Parameters | None) -> bool:
        # as the ERP stores them: quantities to 3 decimals (connectors.port.PlanningParameters.same_as)
        return other is not None and round(self.safety_stock, 3) == round(other.safety_stock, 3) and \
            round(self.reorder_point, 3) == round(other.reorder_point, 3)

    def text(self) -> str:
        return f"safety stock {self.safety_stock:g}, reorder point {self.reorder_point:g}"


class Applied(_Model):
    """What distsync last applied (master data's ``appliedUpdate``), with what it replaced when recorded."""

    parameters: Parameters
    recommended_at: datetime
    planning_cycle_id: str
    correlation_id: str | None = None
    approval_id: str | None = None
    previous: Parameters | None = None


class Recommendation(_Model):
    """Planning's latest recommendation as distsync received it; ``status``: its transaction's status in the
    ledger; ``parameters`` None when the ledger kept no copy (a forecast cycle's row)."""

    correlation_id: str
    received_at: datetime
    status: str
    detail: str = ""  # the hop that set the status (the reason)
    parameters: Parameters | None = None


class Observation(_Model):
    item_id: str
    location_id: str
    erp_connection: str | None = None
    applied: Applied | None = None
    recommendation: Recommendation | None = None
    erp: Parameters | None = None
    erp_error: str | None = None  # why the ERP's values are missing (no connection, no record, unreadable)


class Finding(_Model):
    item_id: str
    location_id: str
    drift_class: DriftClass = Field(alias="class")
    reason: str
    erp_connection: str | None = None
    erp: Parameters | None = None
    applied: Parameters | None = None
    recommended: Parameters | None = None
    recommendation_status: str | None = None
    recommendation_correlation_id: str | None = None
    # what a correction would restore (changed_by_hand, applied_but_lost): the last applied parameters
    correction: Parameters | None = None

    @property
    def business_key(self) -> str:
        return f"{self.item_id}@{self.location_id}"


class DriftReport(_Model):
    computed_at: datetime
    location: str = "*"
    counts: dict[str, int]
    findings: list[Finding]

    @property
    def drifted(self) -> list[Finding]:
        return [f for f in self.findings if f.drift_class in DRIFTED]

    def sentence(self) -> str:
        drifted = ", ".join(f"{self.counts[c]} {c.replace('_', ' ')}" for c in CLASSES if c in DRIFTED and self.counts[c])
        checked = sum(self.counts.values())
        if not checked:
            return "no item-location to check"
        return f"{checked} item-location(s) checked: " + (drifted or "all in sync") + \
            (f" ({self.counts['in_sync']} in sync, {self.counts['not_compared']} not compared)" if drifted else "")


def _finding(o: Observation, drift_class: DriftClass, reason: str, correction: Parameters | None = None) -> Finding:
    rec = o.recommendation
    return Finding.model_validate({
        "item_id": o.item_id, "location_id": o.location_id, "drift_class": drift_class, "reason": reason,
        "erp_connection": o.erp_connection, "erp": o.erp, "applied": o.applied.parameters if o.applied else None,
        "recommended": rec.parameters if rec else None, "recommendation_status": rec.status if rec else None,
        "recommendation_correlation_id": rec.correlation_id if rec else None, "correction": correction,
    })


def classify(o: Observation) -> Finding:
    rec = o.recommendation
    if o.erp is None:
        return _finding(o, "not_compared", o.erp_error or "the ERP holds no parameters")
    applied = o.applied
    # a recommendation after the last applied one that did not reach the ERP
    later = rec is not None and rec.status != "delivered" and (
        applied is None or rec.received_at > applied.recommended_at) and rec.correlation_id != (
        applied.correlation_id if applied else None)
    if applied is not None and not o.erp.same_as(applied.parameters):
        restore = applied.parameters
        if applied.previous is not None and o.erp.same_as(applied.previous):
            return _finding(o, "applied_but_lost",
                            f"the ERP shows {o.erp.text()}, the values distsync replaced on applying "
                            f"{restore.text()} (cycle {applied.planning_cycle_id}): the write was lost", restore)
        if later and rec is not None and rec.parameters is not None and o.erp.same_as(rec.parameters):
            # the ERP holds the later recommendation though distsync never applied it: set outside distsync
            # to planning's value; nothing to correct, but the ledger does not know it
            return _finding(o, "changed_by_hand",
                            f"the ERP holds planning's recommendation {rec.parameters.text()} that distsync did not "
                            f"apply ({_why(rec)}): set in the ERP by hand")
        note = f"; planning's later recommendation is {_why(rec)}" if later and rec is not None else ""
        # a later recommendation on its way (or waiting for a planner) will set the ERP: no second correction
        on_its_way = later and rec is not None and rec.status in ("in_flight", "pending_approval")
        return _finding(o, "changed_by_hand",
                        f"the ERP shows {o.erp.text()} but distsync last applied {restore.text()} "
                        f"(cycle {applied.planning_cycle_id}){note}", None if on_its_way else restore)
    if later and rec is not None:
        values = f" ({rec.parameters.text()})" if rec.parameters else ""
        return _finding(o, "never_applied", f"planning recommended{values} at {rec.received_at:%Y-%m-%d %H:%M} UTC "
                                            f"but it was never applied: {_why(rec)}")
    return _finding(o, "in_sync",
                    "the ERP holds the last applied parameters" if applied else "distsync has applied nothing here")


def _why(rec: Recommendation) -> str:
    why = NOT_APPLIED_WHY.get(rec.status, rec.status)
    return f"{why} ({rec.detail})" if rec.detail else why


def report(observations: Iterable[Observation], *, now: datetime, location: str = "*") -> DriftReport:
    findings = sorted((classify(o) for o in observations), key=lambda f: (f.location_id, f.item_id))
    counts: dict[str, int] = {c: sum(1 for f in findings if f.drift_class == c) for c in CLASSES}
    return DriftReport(computed_at=now, location=location, counts=counts, findings=findings)


CSV_COLUMNS = ("itemId", "locationId", "class", "erpConnection", "erpSafetyStock", "erpReorderPoint",
               "appliedSafetyStock", "appliedReorderPoint", "recommendedSafetyStock", "recommendedReorderPoint",
               "recommendationStatus", "reason")


def findings_csv(report: DriftReport) -> str:
    """Every item-location checked, one row each (an auditor filters by class)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    def q(p: Parameters | None) -> list[str]:
        return [f"{p.safety_stock:g}", f"{p.reorder_point:g}"] if p else ["", ""]

    for f in report.findings:
        writer.writerow([f.item_id, f.location_id, f.drift_class, f.erp_connection or "", *q(f.erp), *q(f.applied),
                         *q(f.recommended), f.recommendation_status or "", f.reason])
    return out.getvalue()


# ------------------------------------------------------------------------- the views, from stored records
# outcome -> the status it sets, as the ops CLI's trace (distsync.trace.status_of; the layer cannot import it)
_STATUS = {"approved": "in_flight", "redriven": "in_flight", "released": "in_flight",
           "pending_approval": "pending_approval", "delivered": "delivered", "rejected": "rejected",
           "escalated": "escalated", "superseded": "superseded", "quarantined": "quarantined",
           "dead_lettered": "dead_lettered"}
RECOMMENDATION_STAGES = frozenset({"planning"})  # the planning transformer's hops: every recommendation has one


def _status(hops: list[dict]) -> tuple[str, str]:
    status, detail = "in_flight", ""
    for hop in hops:
        new = _STATUS.get(hop["outcome"])
        if new and not (status == "delivered" and new in ("in_flight", "superseded")):
            status, detail = new, hop.get("detail", "")
        elif hop["outcome"] == "held" and status == "in_flight":
            detail = hop.get("detail", "")  # in flight, but waiting: a freeze window names itself here
    return status, detail


def latest_recommendation(hops: Iterable[dict]) -> Recommendation | None:
    """Planning's latest recommendation of one item-location from its ledger hops (by business key): the
    newest transaction the planning stage saw, its status, and its values where a hop kept the event (the
    webhook's and the drift correction's hops carry it)."""
    by_correlation: dict[str, list[dict]] = {}
    for hop in hops:
        by_correlation.setdefault(hop["correlationId"], []).append(hop)
    candidates = []
    for cid, group in by_correlation.items():
        group.sort(key=lambda h: h["at"])
        if any(h["stage"] in RECOMMENDATION_STAGES for h in group):
            candidates.append((group[0]["at"], cid, group))
    if not candidates:
        return None
    first_at, cid, group = max(candidates, key=lambda c: (c[0], c[1]))
    status, detail = _status(group)
    return Recommendation(correlation_id=cid, received_at=datetime.fromisoformat(first_at), status=status,
                          detail=detail, parameters=_recommended_values(group))


def _recommended_values(group: list[dict]) -> Parameters | None:
    import json

    for hop in group:
        if hop.get("eventType") == "ReplenishmentRecommended" and hop.get("event"):
            try:
                data = json.loads(hop["event"])["data"]
                return Parameters(safety_stock=float(data["recommendedSafetyStock"]),
                                  reorder_point=float(data["recommendedReorderPoint"]))
            except (ValueError, KeyError, TypeError):
                return None
    return None


def applied_from(item: dict) -> Applied | None:
    """The last applied update of a master data item-location record (``appliedUpdate``), if any."""
    update, at = item.get("appliedUpdate"), item.get("appliedRecommendedAt")
    if not update or not at:
        return None
    previous = None
    if update.get("previousSafetyStock") is not None and update.get("previousReorderPoint") is not None:
        previous = Parameters(safety_stock=float(update["previousSafetyStock"]),
                              reorder_point=float(update["previousReorderPoint"]))
    return Applied(parameters=Parameters(safety_stock=float(update["safetyStock"]),
                                         reorder_point=float(update["reorderPoint"])),
                   recommended_at=datetime.fromisoformat(at), planning_cycle_id=update.get("planningCycleId", ""),
                   correlation_id=update.get("correlationId"), approval_id=update.get("approvalId"),
                   previous=previous)


# ------------------------------------------------------------------------------------------- --fix
def change_percent(current: Parameters, target: Parameters) -> float:
    """As the planning transformer measures a change (masterdata.records.relative_change_percent)."""
    def rel(a: float, b: float) -> float:
        return 0.0 if a == b else abs(b - a) / max(abs(a), 1.0) * 100.0

    return round(max(rel(current.safety_stock, target.safety_stock),
                     rel(current.reorder_point, target.reorder_point)), 2)


def correction_path(finding: Finding, threshold_percent: float) -> tuple[str, str]:
    """What ``--fix`` does with a finding: ("direct" | "approval", why) for a correction it sends through the
    planning pipeline, ("none", why) for one it leaves alone."""
    if finding.correction is None or finding.erp is None:
        if finding.drift_class == "never_applied":
            why = {"rejected": "a planner rejected it: not re-requested",
                   "pending_approval": "it waits for a planner: decide it with distsync approvals",
                   "quarantined": "release it from quarantine (distsync quarantine) once its cause is fixed",
                   "dead_lettered": "redrive it (distsync dlq redrive) once its cause is fixed"}
            return "none", why.get(finding.recommendation_status or "", "planning's next recommendation supersedes it")
        if finding.drift_class == "changed_by_hand" and finding.recommendation_status in ("in_flight",
                                                                                          "pending_approval"):
            return "none", f"planning's later recommendation ({finding.recommendation_status}) will set the ERP"
        return "none", "nothing to correct"
    change = change_percent(finding.erp, finding.correction)
    if change <= threshold_percent:
        return "direct", f"change {change:g}% <= {threshold_percent:g}%: applied without approval"
    return "approval", f"change {change:g}% > {threshold_percent:g}%: waits for a planner's approval"
