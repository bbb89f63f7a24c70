"""Service-level figures computed from the ledger's hops (plain logic: give it hops, get numbers).

- forecast-to-ERP latency: a ``ReplenishmentRecommended`` webhook accepted -> the ERP update applied; also
  without the time a freeze window held the write (``held`` -> ``released``), and that held time on its own
- approval turnaround: approval requested -> decided (approved, rejected or timed out)
- failure recovery time: first dead-lettered -> delivered afterwards (after a redrive or replay)
- order status propagation: an ``OrderStatusChanged`` webhook accepted -> warehouse and channels informed
- inventory visibility freshness: an ``InventoryBalanceChanged`` webhook accepted -> the balance in planning
- transactions by status
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from .trace import status_of

Hop = Mapping[str, Any]


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (what CloudWatch's pNN reports for a small sample)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _summary(seconds: list[float]) -> dict[str, Any]:
    return {
        "count": len(seconds),
        "p50Seconds": _round(percentile(seconds, 50)),
        "p95Seconds": _round(percentile(seconds, 95)),
        "maxSeconds": _round(max(seconds) if seconds else None),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _at(hop: Hop) -> datetime:
    return datetime.fromisoformat(hop["at"])


def _first(hops: list[Hop], predicate: Any, after: datetime | None = None) -> Hop | None:
    return next((h for h in hops if predicate(h) and (after is None or _at(h) >= after)), None)


def compute(hops: Iterable[Hop]) -> dict[str, Any]:
    by_cid: dict[str, list[Hop]] = defaultdict(list)
    for hop in hops:
        by_cid[hop["correlationId"]].append(hop)

    forecast, approvals, recovery, orders, inventory = [], [], [], [], []
    processing, held_times = [], []
    statuses: dict[str, int] = defaultdict(int)
    for transaction in by_cid.values():
        transaction.sort(key=lambda h: h["at"])
        statuses[status_of(transaction)] += 1
        received = _first(transaction, lambda h: h["stage"] == "webhook" and h.get("eventType") == "ReplenishmentRecommended")
        applied = _first(transaction, lambda h: h["stage"] == "erp" and h["outcome"] == "delivered")
        if received and applied:
            total = (_at(applied) - _at(received)).total_seconds()
            held = _held_seconds(transaction, _at(applied))
            forecast.append(total)
            processing.append(total - held)
            if held:
                held_times.append(held)
        orders += _span(transaction, "OrderStatusChanged", "orders")
        inventory += _span(transaction, "InventoryBalanceChanged", "planning-sync")
        requested = _first(transaction, lambda h: h["outcome"] == "pending_approval")
        if requested:
            decided = _first(transaction, lambda h: h["stage"] == "approval" and h["outcome"] in ("approved", "rejected"),
                             after=_at(requested))
            if decided:
                approvals.append((_at(decided) - _at(requested)).total_seconds())
        failed = _first(transaction, lambda h: h["outcome"] == "dead_lettered")
        if failed:
            recovered = _first(transaction, lambda h: h["outcome"] == "delivered", after=_at(failed))
            if recovered:
                recovery.append((_at(recovered) - _at(failed)).total_seconds())

    return {
        "transactions": len(by_cid),
        "byStatus": dict(sorted(statuses.items())),
        "forecastToErpLatency": _summary(forecast),
        "forecastToErpLatencyExcludingHeld": _summary(processing),
        "erpWritesHeldTime": _summary(held_times),
        "approvalTurnaround": _summary(approvals),
        "failureRecoveryTime": _summary(recovery),
        "orderStatusPropagation": _summary(orders),
        "inventoryVisibilityFreshness": _summary(inventory),
    }


def _held_seconds(transaction: list[Hop], until: datetime) -> float:
    """The time freeze windows held the ERP write: each ``held`` hop (erp, naming a window) to the freeze
    function's ``released`` hop after it, before ``until``."""
    total, since = 0.0, None
    for h in transaction:
        if _at(h) > until:
            break
        if h["stage"] == "erp" and h["outcome"] == "held" and h.get("freezeWindow") and since is None:
            since = _at(h)
        elif h["stage"] == "freeze" and h["outcome"] == "released" and since is not None:
            total += (_at(h) - since).total_seconds()
            since = None
    return total


def _span(transaction: list[Hop], event_type: str, stage: str) -> list[float]:
    """[seconds] from the webhook that accepted ``event_type`` to ``stage`` delivering it, if both happened."""
    received = _first(transaction, lambda h: h["stage"] == "webhook" and h.get("eventType") == event_type)
    if not received:
        return []
    done = _first(transaction, lambda h: h["stage"] == stage and h["outcome"] == "delivered", after=_at(received))
    return [(_at(done) - _at(received)).total_seconds()] if done else []


def inventory_accuracy(bucket: str) -> dict[str, Any] | None:
    """The inventory visibility accuracy of the newest run (daily, or ``distsync inventory accuracy``), read
    from its report's ``latest.json``: ``None`` before the first run. Read, not computed: ``distsync kpis``
    and the console's refresh are views, and a run writes a report and a metric (the alarm's datapoint)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from distsync_core.inventory.reports import latest_report

    try:
        report = latest_report(bucket)
    except (BotoCoreError, ClientError) as exc:  # e.g. no s3:GetObject: the other KPIs still show
        return {"unavailable": f"the latest report could not be read: {exc}"}
    return None if report is None else accuracy_summary(report)


LISTED_DISAGREEMENTS = 20  # the report (distsync inventory accuracy) has them all


def accuracy_summary(report: Any) -> dict[str, Any]:
    """The figures of an :class:`~distsync_core.inventory.accuracy.AccuracyReport`, with its first
    disagreeing item-locations."""
    figures = report.model_dump(by_alias=True, mode="json", exclude={"disagreeing", "not_comparable", "tolerance"})
    return {
        **figures,  # computedAt, targetPercent, accuracyPercent, compared, agreeing: as in the report's JSON
        "belowTarget": report.below_target,
        "disagreeing": len(report.disagreeing),
        "notComparable": len(report.not_comparable),
        "sentence": report.sentence(),
        "disagreeingItemLocations": [d.model_dump(by_alias=True, mode="json")
                                     for d in report.disagreeing[:LISTED_DISAGREEMENTS]],
    }


def print_accuracy(console: Any, figure: dict[str, Any] | None) -> None:
    """The accuracy as ``distsync kpis`` shows it: a sentence and a table row."""
    from rich.table import Table

    if figure is None:
        console.print("Inventory visibility accuracy: no run yet (distsync inventory accuracy runs it).")
        return
    if "unavailable" in figure:
        console.print(f"[yellow]Inventory visibility accuracy: unavailable ({figure['unavailable']}).[/]")
        return
    style = "red" if figure["belowTarget"] else "green"
    console.print(f"[{style}]{figure['sentence']}[/]")
    table = Table("KPI", "accuracy", "target", "compared", "agree", "disagree", "not comparable", "computed at")
    pct = figure["accuracyPercent"]
    table.add_row("inventoryVisibilityAccuracy", "-" if pct is None else f"[{style}]{pct:.2f} %[/]",
                  f"{figure['targetPercent']:g} %", *(str(figure[k]) for k in
                                                     ("compared", "agreeing", "disagreeing", "notComparable")),
                  figure["computedAt"][:19])
    console.print(table)
