"""Hops of one business transaction and the status they add up to.

A hop is what one component did with one event: ``stage`` (where), ``outcome`` (what happened) and a
human ``detail``. Terminal outcomes set the transaction status; ``ok``, ``retrying`` and ``held`` keep it in flight.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# outcome -> status it sets (None: leaves the current one)
_STATUS_BY_OUTCOME: dict[str, str | None] = {
    "ok": None,
    "retrying": None,
    "held": None,  # kept by its consumer until its predecessor arrives (an order update ahead of its sequence)
    "approved": "in_flight",
    "redriven": "in_flight",  # moved back from a DLQ by an operator
    "released": "in_flight",  # released from quarantine by an operator
    "replayed": None,  # re-published from the archive: consumers' idempotency decides what happens
    "pending_approval": "pending_approval",
    "delivered": "delivered",
    "rejected": "rejected",
    "escalated": "escalated",  # a workflow's window closed without a decision (shipment exception)
    "superseded": "superseded",  # not sent: a newer update of the same item-location was applied already
    "quarantined": "quarantined",
    "dead_lettered": "dead_lettered",
}
OUTCOMES = frozenset(_STATUS_BY_OUTCOME)
STATUSES = (
    "in_flight", "delivered", "pending_approval", "rejected", "escalated", "superseded", "quarantined",
    "dead_lettered",
)


def status_of(hops: Iterable[Mapping[str, Any]]) -> str:
    status = "in_flight"
    for hop in sorted(hops, key=lambda h: h["at"]):
        new = _STATUS_BY_OUTCOME.get(hop["outcome"])
        # Once delivered, a later notification hop cannot take it back to in-flight, nor a replay of the
        # same event, superseded since, undo the delivery it had.
        if new and not (status == "delivered" and new in ("in_flight", "superseded")):
            status = new
    return status


def trace_document(correlation_id: str, hops: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    ordered = sorted(hops, key=lambda h: h["at"])
    return {
        "correlationId": correlation_id,
        "status": status_of(ordered),
        "hops": [
            {"at": h["at"], "stage": h["stage"], "outcome": h["outcome"], "detail": h.get("detail", "")}
            for h in ordered
        ],
    }
