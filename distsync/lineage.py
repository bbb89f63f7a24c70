"""Lineage of an item-location's replenishment parameters: "why is safety stock 60?" (``distsync why``).

Pure: built from the ledger's hops of one business key (``SKU@DC``) and, if known, its master-data record; no
AWS here. Each correlation id is one change: a planning recommendation (cycle row or webhook) through its
decision (automatic under the threshold, or a planner's approval or rejection), the ERP write and the warehouse
notification; or a change the ERP reported itself (``ItemLocationUpserted``). Within a change the steps follow
causation ids (a step comes after the step of the event that caused it), time breaking ties, so a consumer's
clock a few milliseconds behind its producer's cannot put an effect before its cause.

The current parameters are explained by the newest change that set them: distsync's newest ERP write, unless
the ERP reported other values after it (a change made in the ERP, not by distsync).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .trace import status_of

ERP_CHANGE = "changed in the ERP (ItemLocationUpserted), not by distsync"
EXPORT_COLUMNS = ("item", "location", "correlationId", "step", "outcome", "at", "actor", "values", "eventId",
                  "causationId", "detail")
# change status: what happened to a recommendation (or what an ERP master-data change was)
APPLIED, ERP_CHANGED, ERP_CONFIRMED = "applied", "changed_in_erp", "confirmed_by_erp"

_DECIDED_BY = re.compile(r" by (\S+?)(?: \((.*)\))?(?:;|$)")  # hops recorded before decidedBy was an attribute
_PARAMETERS = ("safetyStock", "reorderPoint")


def split_key(key: str) -> tuple[str, str]:
    """``ITEM@LOCATION`` -> (item, location); ValueError with the reason otherwise."""
    item, sep, location = key.partition("@")
    if not sep or not item or not location or "@" in location:
        raise ValueError(f"expected ITEM@LOCATION (e.g. SKU-100@DC-1), not {key!r}")
    return item, location


def lineage(business_key: str, hops: Iterable[Mapping[str, Any]], master_data: Mapping[str, Any] | None = None,
            since: str | None = None) -> dict[str, Any]:
    """The lineage document: ``current`` (the values and why), ``chain`` (its steps), ``history`` (every
    change, newest first) and ``masterData`` (the ERP values distsync holds, and whether the ledger explains them)."""
    item, location = split_key(business_key)
    groups: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for hop in hops:
        groups.setdefault(_change_key(hop), []).append(dict(hop))
    changes = [_change(cid, group) for (cid, _), group in groups.items()]
    changes.sort(key=lambda c: c["at"])
    current = _classify(changes)
    explained = _master_data(master_data, current)
    return {
        "businessKey": business_key,
        "itemId": item,
        "locationId": location,
        "since": since,
        "current": None if current is None else {
            "values": current["values"],
            "correlationId": current["correlationId"],
            "kind": current["kind"],
            "at": current["appliedAt"],
            "explanation": current["summary"],
        },
        "chain": [] if current is None else current["steps"],
        "history": list(reversed(changes)),
        "masterData": explained,
    }


# ------------------------------------------------------------------------------------------------ changes
def _change_key(hop: Mapping[str, Any]) -> tuple[str, str | None]:
    """A change is a correlation id; each master-data event of the ERP is one of its own, even when a
    partner sends several under one correlation id."""
    if hop["stage"] == "masterdata" or hop.get("eventType") == "ItemLocationUpserted":
        return hop["correlationId"], hop.get("eventId")
    return hop["correlationId"], None


def _change(cid: str, hops: list[dict[str, Any]]) -> dict[str, Any]:
    steps = [step_of(h) for h in causal_order(hops)]
    erp_reported = [s for s in steps if s["step"] == "erp_master_data" and s["values"]]
    kind = "erp" if erp_reported and not any(s["step"] == "recommendation" for s in steps) else "recommendation"
    change: dict[str, Any] = {
        "correlationId": cid,
        "kind": kind,
        "at": steps[0]["at"],
        "steps": steps,
        "planningCycleId": next((s["planningCycleId"] for s in steps if s.get("planningCycleId")), None),
        "values": next((s["values"] for s in reversed(steps) if s["values"]), None),
        "appliedAt": None,
    }
    if kind == "erp":
        change["appliedAt"] = erp_reported[-1]["at"]
        change["values"] = erp_reported[-1]["values"]
        change["status"] = ERP_CHANGED  # refined by _classify against distsync's own writes
        return change
    write = next((s for s in reversed(steps) if s["step"] == "erp_write"), None)
    if write is not None:
        change["status"], change["appliedAt"] = APPLIED, write["at"]
        change["values"] = write["values"] or change["values"]
    elif any(s["step"] == "no_change" for s in steps):
        change["status"] = "no_change"
    else:
        change["status"] = status_of(hops)
    change["summary"] = _summary(change)
    return change


def _classify(changes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Walk the changes in time order: the one that last set the values is current. An ERP report of the
    values distsync just wrote is the ERP confirming that write, not a change of its own."""
    current: dict[str, Any] | None = None
    for change in sorted((c for c in changes if c["appliedAt"]), key=lambda c: c["appliedAt"]):
        if change["kind"] == "erp":
            same = current is not None and _same(current["values"], change["values"])
            change["status"] = ERP_CONFIRMED if same and current and current["kind"] != "erp" else ERP_CHANGED
            change["summary"] = _summary(change, confirmed=current if change["status"] == ERP_CONFIRMED else None)
            if change["status"] == ERP_CONFIRMED:
                continue
        current = change
    return current


def _summary(change: dict[str, Any], confirmed: dict[str, Any] | None = None) -> str:
    steps, values = change["steps"], _values_text(change["values"])
    if change["kind"] == "erp":
        if confirmed is not None:
            return f"{values}: the ERP reported the values distsync wrote ({confirmed['correlationId']})"
        return f"{values}: {ERP_CHANGE}, at {_when(change['appliedAt'])}"
    parts = [values or "no values recorded"]
    # The recommendation's own step (webhook or cycle row); else the decision that names its cycle (a
    # recommendation that reached the bus some other way: a connector, a replay of an expired ledger).
    rec = next((s for s in steps if s["step"] == "recommendation"), None) or next(
        (s for s in steps if s["stage"] == "planning" and s.get("planningCycleId")), None)
    if rec:
        cycle = f"planning cycle {rec['planningCycleId']}" if rec.get("planningCycleId") else "planning"
        parts.append(f"recommended by {cycle} at {_when(rec['at'])}")
    decision = next((s for s in reversed(steps) if s["step"] in ("approved", "rejected", "timed_out", "automatic")), None)
    if decision and decision["step"] == "automatic":
        parts.append(f"applied automatically ({decision['detail'].split(':')[0]})")
    elif decision and decision["step"] == "timed_out":
        parts.append(f"no planner decided within the approval window (closed {_when(decision['decidedAt'])})")
    elif decision:
        comment = f" ({decision['comment']!r})" if decision.get("comment") else ""
        parts.append(f"{decision['step']} by {decision['actor']} at {_when(decision.get('decidedAt', decision['at']))}{comment}")
    write = next((s for s in reversed(steps) if s["step"] == "erp_write"), None)
    if write:
        request = f", ERP request {write['erpRequestId']}" if write.get("erpRequestId") else ""
        parts.append(f"written to {write['actor']} at {_when(write['at'])}{request}")
    notified = next((s for s in steps if s["step"] == "warehouse_notified"), None)
    if notified:
        parts.append(f"warehouse notified at {_when(notified['at'])}")
    if change["status"] not in (APPLIED, "in_flight"):
        last = steps[-1]
        parts.append(f"{change['status'].replace('_', ' ')}: {last['detail']}")
    return "; ".join(parts)


def _master_data(record: Mapping[str, Any] | None, current: dict[str, Any] | None) -> dict[str, Any] | None:
    if not record:
        return None
    values = {k: record[k] for k in _PARAMETERS if record.get(k) is not None}
    out = {
        "values": values,
        "recordVersion": record.get("recordVersion"),
        "erpReportedAt": record.get("occurredAt"),
        "erpConfirmedAt": record.get("erpConfirmedAt"),
        "unitOfMeasure": record.get("unitOfMeasure"),
        "explained": current is not None and _same(values, current["values"]),
    }
    if not out["explained"]:
        out["note"] = ("the ledger does not explain these values (changed before the window or the ledger's "
                       "retention, or a change still in flight)")
    return out


# -------------------------------------------------------------------------------------------------- steps
def causal_order(hops: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Hops in time order, except that none comes before a hop of the event that caused it."""
    pending = sorted(hops, key=lambda h: h["at"])
    present = {h.get("eventId") for h in pending if h.get("eventId")}
    placed_events: dict[str, int] = {}  # event id -> hops of it still to place
    for h in pending:
        if h.get("eventId"):
            placed_events[h["eventId"]] = placed_events.get(h["eventId"], 0) + 1
    ordered: list[Mapping[str, Any]] = []
    while pending:
        # the earliest hop whose cause is placed (or unknown); a cycle in bad data falls back to time order
        pick = next((h for h in pending if not _waits(h, present, placed_events)), pending[0])
        pending.remove(pick)
        ordered.append(pick)
        if pick.get("eventId"):
            placed_events[pick["eventId"]] -= 1
    return ordered


def _waits(hop: Mapping[str, Any], present: set[str], remaining: dict[str, int]) -> bool:
    cause = hop.get("causationId")
    return bool(cause and cause in present and cause != hop.get("eventId") and remaining.get(cause, 0) > 0)


# (stage, outcome) -> (step, actor) of the steps that need nothing but a name
_NAMED = {
    ("masterdata", "delivered"): ("erp_master_data", "erp"),  # without values: an older version left out
    ("planning", "delivered"): ("no_change", "distsync"),
    ("approval", "pending_approval"): ("approval_requested", "planners"),
    ("warehouse", "delivered"): ("warehouse_notified", "wms"),
}
_KEPT_OUTCOMES = ("superseded", "quarantined", "dead_lettered", "released", "redriven", "replayed", "held")


def step_of(hop: Mapping[str, Any]) -> dict[str, Any]:
    stage, outcome = hop["stage"], hop["outcome"]
    event = _event(hop)
    name, actor = _NAMED.get((stage, outcome), (outcome if outcome in _KEPT_OUTCOMES else f"{stage}_{outcome}", stage))
    values, extra = _values(hop.get("values")), {}
    if stage == "cycle" or (stage == "webhook" and event["eventType"] == "ReplenishmentRecommended"):
        name, actor, extra = _recommendation(hop, event["data"])
        values = values or _values({"safetyStock": event["data"].get("recommendedSafetyStock"),
                                    "reorderPoint": event["data"].get("recommendedReorderPoint")})
    elif stage == "webhook" and event["eventType"] == "ItemLocationUpserted":
        name, actor = "erp_master_data_received", "erp"
    elif (stage, outcome) == ("planning", "ok"):
        automatic = hop.get("decision") == "automatic" or "without approval" in hop.get("detail", "")
        name, actor = ("automatic" if automatic else "approval_required"), "distsync"
        extra = {k: hop.get(k) for k in ("changePercent", "thresholdPercent", "planningCycleId", "approvalId")}
    elif stage == "approval" and outcome in ("approved", "rejected"):
        name, actor, extra = _decision(hop)
    elif (stage, outcome) == ("erp", "delivered"):
        name, actor = "erp_write", hop.get("erpConnection") or "erp"
        extra = {"erpRequestId": hop.get("erpRequestId") or None, "erpOutcome": hop.get("erpOutcome"),
                 "approvalId": hop.get("approvalId")}
    return {
        "step": name,
        "at": hop["at"],
        "actor": actor,
        "stage": stage,
        "outcome": outcome,
        "values": values,
        "detail": hop.get("detail", ""),
        "correlationId": hop["correlationId"],
        "eventId": hop.get("eventId"),
        "causationId": hop.get("causationId"),
        **{k: v for k, v in extra.items() if v is not None},
    }


def _recommendation(hop: Mapping[str, Any], data: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    cycle = hop.get("planningCycleId") or data.get("planningCycleId")
    return "recommendation", f"planning cycle {cycle}" if cycle else "planning", {"planningCycleId": cycle}


def _decision(hop: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    by, comment = hop.get("decidedBy"), hop.get("comment")
    if by is None:
        match = _DECIDED_BY.search(hop.get("detail", ""))
        by, comment = (match.group(1), match.group(2)) if match else ("unknown", None)
    name = "timed_out" if hop.get("decision") == "timeout" else hop["outcome"]  # the window closed: nobody decided
    return name, by, {"comment": comment, "decidedAt": hop.get("decidedAt") or hop["at"],
                                "approvalId": hop.get("approvalId"), "decision": hop.get("decision")}


def _event(hop: Mapping[str, Any]) -> dict[str, Any]:
    """The webhook hop keeps the accepted envelope (for replays): its type and data, if readable."""
    raw = hop.get("event")
    try:
        envelope = json.loads(raw) if isinstance(raw, str) else {}
    except ValueError:
        envelope = {}
    event_type = hop.get("eventType") or envelope.get("metadata", {}).get("eventType")
    return {"eventType": event_type, "data": envelope.get("data") or {}}


def _values(raw: Any) -> dict[str, float] | None:
    if not isinstance(raw, Mapping):
        return None
    values = {k: raw[k] for k in _PARAMETERS if isinstance(raw.get(k), int | float)}
    return values or None


def _same(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    return bool(a and b) and all(float(a.get(k, -1)) == float(b.get(k, -2)) for k in _PARAMETERS)  # type: ignore[union-attr]


def _when(iso: str) -> str:
    """A hop time for a sentence: to the second, UTC (the steps keep the full time)."""
    return iso[:19].replace("T", " ") + " UTC"


def _values_text(values: Mapping[str, Any] | None) -> str:
    if not values:
        return ""
    return ", ".join(f"{label} {values[k]:g}" for k, label in (("safetyStock", "safety stock"),
                                                                ("reorderPoint", "reorder point")) if k in values)


# ------------------------------------------------------------------------------------------------- export
def export_rows(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per step of every change (newest change first), for auditors."""
    rows = []
    for change in doc["history"]:
        for step in change["steps"]:
            rows.append({
                "item": doc["itemId"], "location": doc["locationId"], "correlationId": step["correlationId"],
                "step": step["step"], "outcome": step["outcome"], "at": step["at"], "actor": step["actor"],
                "values": step["values"], "eventId": step["eventId"], "causationId": step["causationId"],
                "detail": step["detail"],
            })
    return rows


def export_csv(doc: Mapping[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in export_rows(doc):
        values = row["values"] or {}
        writer.writerow({**row, "values": ";".join(f"{k}={values[k]:g}" for k in _PARAMETERS if k in values)})
    return out.getvalue()


def export_json(doc: Mapping[str, Any]) -> str:
    return json.dumps(export_rows(doc), indent=2)
