"""Available to promise, from a stock balance: pure logic, no AWS.

ATP = on hand - allocated + in transit when it is due within the horizon (in transit without a due time is
not promised). It can be negative (over-allocated): callers get the shortfall separately.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Availability:
    available_to_promise: float
    shortfall: float
    inbound_counted: float

    def as_dict(self) -> dict[str, float]:
        return {
            "availableToPromise": self.available_to_promise,
            "shortfall": self.shortfall,
            "inboundCounted": self.inbound_counted,
        }


def available_to_promise(
    on_hand: float,
    allocated: float,
    in_transit: float,
    in_transit_due_at: datetime | None,
    *,
    now: datetime,
    horizon_days: float,
) -> Availability:
    inbound = in_transit if in_transit_due_at is not None and in_transit_due_at <= now + timedelta(days=horizon_days) else 0.0
    raw = on_hand - allocated + inbound
    return Availability(available_to_promise=max(raw, 0.0), shortfall=max(-raw, 0.0), inbound_counted=inbound)
