"""What-if, the pure part: which events a window holds, what each transaction did, and how two runs compare.

No AWS here (``distsync whatif`` in :mod:`distsync.whatif_cli` reads the ledgers and runs the throwaway stack).
A transaction is one correlation id; its outcome is read from its ledger hops the way lineage reads them
(:func:`distsync.lineage.step_of`): the decision (applied directly, approval requested, no change, quarantined, ...),
the approval's outcome and the ERP writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from .lineage import causal_order, step_of
from .trace import status_of

APPLIED_DIRECTLY, APPROVAL_REQUESTED, NO_CHANGE = "applied directly", "approval requested", "no change"
# a transaction's status (trace) when no replenishment decision explains it
_STATUS_TEXT = {"quarantined": "quarantined", "dead_lettered": "dead-lettered", "rejected": "rejected",
                "superseded": "superseded", "in_flight": "in flight", "delivered": "delivered",
                "pending_approval": APPROVAL_REQUESTED, "escalated": "escalated"}


class WhatIfError(RuntimeError):
    pass


def parse_settings(pairs: list[str], known: set[str]) -> dict[str, str]:
    """``key=value`` pairs -> context overrides; a key the app does not read is refused (CDK would ignore it)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise WhatIfError(f"--set takes key=value, not {pair!r}")
        if key not in known:
            raise WhatIfError(f"--set {key}: not a context key of this app (cdk.json lists them)")
        out[key] = value
    return out


def synth_reason(output: str) -> str:
    """The reason in a failed synth's output: its last ``...Error: ...`` line (the app's config validation)."""
    lines = [line.strip() for line in output.splitlines()]
    errors = [line for line in lines if re.match(r"^[A-Za-z_.]*(Error|Exception): ", line)]
    return errors[-1] if errors else "\n".join(lines[-5:])

def window_events(hops: Iterable[Mapping[str, Any]], start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The webhook hops received in ``start``..``end`` (inclusive) that keep their original event, oldest first;
    a hop written twice (same sort key) counts once."""
    seen: set[tuple[str, str]] = set()
    chosen = []
    for hop in sorted(hops, key=lambda h: (h["at"], h.get("sk", ""))):
        if hop.get("stage") != "webhook" or "event" not in hop:
            continue
        if not start <= datetime.fromisoformat(hop["at"]) <= end:
            continue
        key = (hop["correlationId"], hop.get("sk") or hop.get("eventId") or hop["at"])
        if key not in seen:
            seen.add(key)
            chosen.append(dict(hop))
    return chosen


def outcome(hops: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One transaction's outcome: ``decision``, ``approval`` (its outcome, or None), ``erpWrites``, ``businessKey``."""
    hops = list(hops)
    steps = [step_of(h) for h in causal_order(hops)]
    names = [s["step"] for s in steps]
    if "automatic" in names:
        decision = APPLIED_DIRECTLY
    elif {"approval_required", "approval_requested"} & set(names):
        decision = APPROVAL_REQUESTED
    elif "no_change" in names:
        decision = NO_CHANGE
    else:
        decision = _STATUS_TEXT.get(status_of(hops), status_of(hops))
    approval = None
    if decision == APPROVAL_REQUESTED:
        decided = [s for s in steps if s["step"] in ("approved", "rejected", "timed_out")]
        approval = decided[-1]["step"] if decided else "pending"
    writes = [{"values": s["values"], "connection": s["actor"]} for s in steps if s["step"] == "erp_write"]
    key = next((h["businessKey"] for h in hops if h.get("businessKey")), None)
    return {"businessKey": key, "decision": decision, "approval": approval, "erpWrites": writes}


def outcomes(hops: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """correlation id -> :func:`outcome`, from the hops of any number of transactions."""
    by_cid: dict[str, list[Mapping[str, Any]]] = {}
    for hop in hops:
        by_cid.setdefault(hop["correlationId"], []).append(hop)
    return {cid: outcome(group) for cid, group in by_cid.items()}


def label(result: Mapping[str, Any] | None) -> str:
    """What a transaction did, in a few words: ``approval requested (approved), ERP write SS 60 / ROP 90``."""
    if result is None:
        return "not replayed"
    text = result["decision"] + (f" ({result['approval']})" if result.get("approval") else "")
    for write in result["erpWrites"]:
        values = write.get("values") or {}
        text += f", ERP write {_values(values)} via {write['connection']}"
    return text


def _values(values: Mapping[str, Any]) -> str:
    return " / ".join(f"{'SS' if k == 'safetyStock' else 'ROP'} {v:g}" if isinstance(v, int | float) else f"{k} {v}"
                      for k, v in values.items()) or "-"


def compare(happened: Mapping[str, Mapping[str, Any]], would: Mapping[str, Mapping[str, Any]],
            order: Iterable[str]) -> dict[str, Any]:
    """Per transaction (in ``order``), what happened beside what would happen, and the summary's counts.

    A transaction ``changed`` when its decision or its ERP writes (values, connection) differ. An approval that
    a planner decided counts as requested in both runs; the throwaway run asks no planner, so its approvals stay
    ``pending`` and only the request is compared."""
    rows = []
    for cid in order:
        before, after = happened.get(cid), would.get(cid)
        changed = before is None or after is None or before["decision"] != after["decision"] or \
            _writes(before) != _writes(after)
        rows.append({
            "correlationId": cid,
            "businessKey": (after or before or {}).get("businessKey"),
            "happened": dict(before) if before else None,
            "wouldHappen": dict(after) if after else None,
            "happenedText": label(before),
            "wouldHappenText": label(after),
            "changed": changed,
        })
    return {"transactions": rows, "summary": {
        "transactions": len(rows),
        "changed": sum(r["changed"] for r in rows),
        "writes": {"happened": _count(rows, "happened", _n_writes), "wouldHappen": _count(rows, "wouldHappen", _n_writes)},
        "approvals": {"happened": _count(rows, "happened", _n_approvals),
                      "wouldHappen": _count(rows, "wouldHappen", _n_approvals)},
    }}


def _writes(result: Mapping[str, Any]) -> list[tuple[str, tuple[tuple[str, Any], ...]]]:
    return sorted((w["connection"], tuple(sorted((w.get("values") or {}).items()))) for w in result["erpWrites"])


def _n_writes(result: Mapping[str, Any]) -> int:
    return len(result["erpWrites"])


def _n_approvals(result: Mapping[str, Any]) -> int:
    return int(result["decision"] == APPROVAL_REQUESTED)


def _count(rows: list[dict[str, Any]], side: str, measure: Any) -> int:
    return sum(measure(r[side]) for r in rows if r[side])


def rewind_master_data(records: Iterable[Mapping[str, Any]], hops: Iterable[Mapping[str, Any]],
                       start: datetime) -> tuple[list[dict[str, Any]], list[str]]:
    """The master data to seed the throwaway run with: the item-location records as they are now, each one the
    window changed set back to the values its first change in the window replaced (the planning hop's
    ``previousValues``), without the window's applied-update mark (a replayed recommendation would otherwise look
    older than the one it replays and be superseded). Returns (records, business keys rewound)."""
    first: dict[str, Mapping[str, Any]] = {}
    for hop in sorted(hops, key=lambda h: h["at"]):
        if hop.get("stage") == "planning" and hop.get("previousValues") and hop.get("businessKey") \
                and datetime.fromisoformat(hop["at"]) >= start:
            first.setdefault(hop["businessKey"], hop["previousValues"])
    out, rewound = [], []
    for record in records:
        record = dict(record)
        key = f"{record.get('itemId')}@{record.get('locationId')}"
        if key in first:
            record.update({k: v for k, v in first[key].items() if v is not None})
            for attr in ("appliedUpdate", "appliedRecommendedAt", "erpConfirmedAt"):
                record.pop(attr, None)
            rewound.append(key)
        out.append(record)
    return out, sorted(rewound)
