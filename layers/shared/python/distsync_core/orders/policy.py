"""Order sequencing: which ERP order updates may be applied, given the last one applied. Pure logic.

The ERP numbers the changes of an order (``sequence``). The FIFO queue keeps an order's updates in the order
they reached distsync; this check catches those that reached distsync late (the bus does not order events):
an update older than the one applied is rejected with the reason, and so is a second event for the sequence
applied (the ERP sent the change again, e.g. a webhook retried without an Idempotency-Key: applying it would
inform the warehouse and channels twice). Gaps are allowed (the ERP may not publish every change) and reported.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AppliedOrder:
    sequence: int
    event_id: str


@dataclass(frozen=True)
class Apply:
    gap: int  # sequences skipped since the last applied update (0: none)
    resumed: bool = False  # this very event was applied before (a retry after a crash): finish its work


@dataclass(frozen=True)
class OutOfOrder:
    reason: str


@dataclass(frozen=True)
class Duplicate:
    reason: str


def check_sequence(order_id: str, sequence: int, event_id: str,
                   applied: AppliedOrder | None) -> Apply | OutOfOrder | Duplicate:
    if applied is None:
        return Apply(gap=0)
    if sequence == applied.sequence and event_id == applied.event_id:
        return Apply(gap=0, resumed=True)
    if sequence == applied.sequence:
        return Duplicate(
            f"duplicate: order {order_id} update sequence {sequence} was applied already from event "
            f"{applied.event_id}; this copy ({event_id}) is left out"
        )
    if sequence < applied.sequence:
        return OutOfOrder(
            f"out of order: order {order_id} update sequence {sequence} arrived after sequence "
            f"{applied.sequence} was applied"
        )
    return Apply(gap=sequence - applied.sequence - 1)
