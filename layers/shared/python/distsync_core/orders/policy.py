"""Order sequencing: which ERP order updates may be applied, given the last one applied. Pure logic.

The ERP numbers the changes of an order (``sequence``). The queue before the router is not ordered, so two
updates sent back to back can reach the orders FIFO queue the wrong way round: an update ahead of its
predecessor (3 before 2) is held, neither applied nor rejected, and applied as soon as the gap fills
(:func:`releasable`); a gap still open after the timeout quarantines it (:func:`gap_timed_out`). An update
older than the one applied is rejected with the reason, and so is a second event for a sequence applied or
held (the ERP sent the change again, e.g. a webhook retried without an Idempotency-Key: applying it would
inform the warehouse and channels twice). The first update distsync sees of an order applies whatever its
sequence: with no predecessor known there is nothing to wait for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class AppliedOrder:
    sequence: int
    event_id: str
    holds_up_to: int = 0  # the highest sequence ever held for the order: above ``sequence``, some may wait


@dataclass(frozen=True)
class HeldUpdate:
    sequence: int
    event_id: str


@dataclass(frozen=True)
class Apply:
    resumed: bool = False  # this very event was applied before (a retry after a crash): finish its work


@dataclass(frozen=True)
class Hold:
    waiting_for: int  # the sequence whose arrival releases it
    reason: str


@dataclass(frozen=True)
class OutOfOrder:
    reason: str


@dataclass(frozen=True)
class Duplicate:
    reason: str


def check_sequence(order_id: str, sequence: int, event_id: str,
                   applied: AppliedOrder | None) -> Apply | Hold | OutOfOrder | Duplicate:
    if applied is None:
        return Apply()
    if sequence == applied.sequence and event_id == applied.event_id:
        return Apply(resumed=True)
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
    if sequence > applied.sequence + 1:
        waiting_for = applied.sequence + 1
        return Hold(waiting_for, f"held: order {order_id} update sequence {sequence} arrived before sequence "
                                 f"{waiting_for}; it applies once {waiting_for} has")
    return Apply()


def held_twice(order_id: str, sequence: int, event_id: str, held: HeldUpdate) -> Duplicate | None:
    """A second event for a held sequence is a duplicate, as for an applied one (None: the same event again)."""
    if held.event_id == event_id:
        return None
    return Duplicate(
        f"duplicate: order {order_id} update sequence {sequence} is held already from event {held.event_id}; "
        f"this copy ({event_id}) is left out"
    )


def releasable(applied_sequence: int, held: Iterable[HeldUpdate]) -> list[HeldUpdate]:
    """The held updates that now follow the applied one without a gap, in the order to apply them."""
    out: list[HeldUpdate] = []
    following = applied_sequence + 1
    for update in sorted(held, key=lambda h: h.sequence):
        if update.sequence == following:
            out.append(update)
            following += 1
        elif update.sequence > following:
            break
    return out


def gap_timed_out(order_id: str, sequence: int, applied: AppliedOrder | None, timeout_seconds: int) -> str | None:
    """The quarantine reason for a held update whose timeout passed, if its gap is still open (None: its
    predecessor was applied meanwhile, so it was or is being applied)."""
    waiting_for = (applied.sequence if applied else 0) + 1
    if sequence <= waiting_for:
        return None
    return (f"waiting for sequence {waiting_for}: order {order_id} update sequence {sequence} was held "
            f"{timeout_seconds} s and sequence {waiting_for} never arrived")
