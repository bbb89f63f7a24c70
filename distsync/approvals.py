"""Pending approvals for people: the order (``--sort impact|change|age``) and the impact columns that
``distsync approvals list`` and the console show."""

from __future__ import annotations

from typing import Any

SORTS = ("impact", "change", "age")


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def sort_approvals(rows: list[dict[str, Any]], by: str) -> list[dict[str, Any]]:
    """``impact``: the biggest move in days of cover first (unknown impact last); ``change``: the biggest change
    percent first; ``age``: the oldest request first (the one waiting longest)."""
    if by not in SORTS:
        raise ValueError(f"--sort takes one of {', '.join(SORTS)}, got {by!r}")
    if by == "age":
        return sorted(rows, key=lambda r: r.get("requestedAt") or "")
    if by == "change":
        return sorted(rows, key=lambda r: -abs(_number(r.get("changePercent")) or 0.0))

    def impact_key(r: dict[str, Any]) -> tuple[int, float]:
        score = _number((r.get("impact") or {}).get("score"))
        return (1, 0.0) if score is None else (0, -score)

    return sorted(rows, key=impact_key)


def cover(row: dict[str, Any]) -> str:
    impact = row.get("impact") or {}
    if impact.get("coverDaysBefore") is None:
        return "unknown"
    return f"{float(impact['coverDaysBefore']):g} -> {float(impact['coverDaysAfter']):g} d"


def stockout(row: dict[str, Any]) -> str:
    impact = row.get("impact") or {}
    if "stockout" in (impact.get("unknown") or {}):
        return "unknown"
    return f"{impact.get('stockoutBefore') or 'none'} -> {impact.get('stockoutAfter') or 'none'}"


def working_capital(row: dict[str, Any]) -> str:
    impact = row.get("impact") or {}
    if impact.get("workingCapitalChange") is None:
        return "unknown (no unit cost)"
    return f"{float(impact['workingCapitalChange']):+,.2f} {impact.get('currency') or ''}".rstrip()
