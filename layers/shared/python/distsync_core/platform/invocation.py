"""The current invocation's time left, so a partner's Retry-After is waited out only while the function still
has time for it (then the message goes back to its queue). :func:`observability.instrument` sets it for every
handler from its Lambda context; outside an invocation (tests of plain code, the CLI) there is no bound."""

from __future__ import annotations

import threading
from collections.abc import Callable

_deadline = threading.local()


def set_deadline(remaining_seconds: Callable[[], float] | None) -> None:
    _deadline.remaining = remaining_seconds


def time_left() -> float:
    remaining = getattr(_deadline, "remaining", None)
    return float("inf") if remaining is None else remaining()
