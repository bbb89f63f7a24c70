"""Timestamps as distsync stores them: UTC ISO 8601, fixed width, so they compare correctly as strings (in a
DynamoDB condition expression, a sort key, a ``>`` between two of them)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_iso(at: datetime, timespec: str = "microseconds") -> str:
    """Fixed-width UTC ISO time: compares correctly as a string in a condition expression."""
    return at.astimezone(UTC).isoformat(timespec=timespec)


def now_iso(timespec: str = "microseconds") -> str:
    """Now, as :func:`utc_iso` writes it."""
    return utc_iso(datetime.now(UTC), timespec)
