"""What the ops console shows and does: the same library code as the `distsync` CLI, as JSON-ready data.

Nothing here re-implements an operation: transactions and KPIs come from the ledger
(:class:`distsync_core.platform.ledger.Ledger`, :func:`distsync.trace.trace_document`,
:func:`distsync.kpis.compute`), dead-letter queues from :mod:`distsync.dlq`, quarantine and approvals from
the stores, releases from :mod:`distsync_core.platform.quarantine`, and approval decisions go through the
signed approval API like ``distsync approvals approve``. Problems are raised as
:mod:`distsync_core.platform.problems`.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from distsync import dlq
from distsync.trace import STATUSES, trace_document
from distsync_core.platform.problems import BadRequest, Conflict, NotFound

AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_LIMIT = 500


def parse_since(text: str, field: str = "since") -> str:
    """An age (``90s``, ``30m``, ``24h``, ``7d``) or an ISO-8601 time -> the ISO time the window starts at."""
    text = text.strip()
    if text and text[-1] in AGE_UNITS and text[:-1].replace(".", "", 1).isdigit():
        return (datetime.now(UTC) - timedelta(seconds=float(text[:-1]) * AGE_UNITS[text[-1]])).isoformat()
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{field} must be an age such as 24h or an ISO-8601 time, not {text!r}",
                         [{"field": field, "message": "use a number with s, m, h or d, or an ISO-8601 time"}]) from None
    return (start if start.tzinfo else start.replace(tzinfo=UTC)).isoformat()


def _summary(correlation_id: str, hops: list[dict[str, Any]]) -> dict[str, Any]:
    doc = trace_document(correlation_id, hops)
    ordered = sorted(hops, key=lambda h: h["at"])
    first, last = doc["hops"][0], doc["hops"][-1]
    duration = datetime.fromisoformat(last["at"]) - datetime.fromisoformat(first["at"])
    return {
        **doc,
        "businessKey": next((h["businessKey"] for h in ordered if h.get("businessKey")), None),
        "eventType": next((h["eventType"] for h in ordered if h.get("eventType")), None),
        "firstAt": first["at"],
        "lastAt": last["at"],
        "lastHop": last,
        "durationSeconds": round(duration.total_seconds(), 3),
    }


@dataclass
class Ops:
    """One stack's operations. ``outputs`` are the stack outputs; ``queues`` maps every SQS queue's URL of
    the stack to its logical id; ``sqs`` / ``events`` are clients for it; ``decide(approval_id, decision, comment, by)``
    sends a planner decision through the signed approval API and returns ``(HTTP status, body)``."""

    outputs: dict[str, str]
    queues: Callable[[], dict[str, str]]  # URL -> logical id
    sqs: Any
    events: Any
    decide: Callable[[str, str, str, str], tuple[int, Any]]

    def _ledger(self) -> Any:
        from distsync_core.platform.ledger import Ledger

        return Ledger(self.outputs["TraceTableName"])

    # ------------------------------------------------------------------------------------ transactions
    def transactions(self, limit: int = 50, status: str | None = None, query: str | None = None) -> dict[str, Any]:
        """The most recently active transactions (newest first), each with its hops, and counts by status."""
        by_cid: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for hop in self._ledger().scan():
            by_cid[hop["correlationId"]].append(hop)
        rows = sorted((_summary(cid, hops) for cid, hops in by_cid.items()), key=lambda r: r["lastAt"], reverse=True)
        counts = Counter(r["status"] for r in rows)
        needle = (query or "").strip().lower()
        matched = [r for r in rows if (status is None or r["status"] == status)
                   and (not needle or needle in r["correlationId"].lower() or needle in (r["businessKey"] or "").lower())]
        return {"total": len(rows), "byStatus": {s: counts.get(s, 0) for s in STATUSES},
                "matched": len(matched), "transactions": matched[:limit]}

    def transaction(self, correlation_id: str) -> dict[str, Any]:
        hops = self._ledger().hops(correlation_id)
        if not hops:
            raise NotFound(f"no hops recorded for {correlation_id}")
        return _summary(correlation_id, hops)

    # --------------------------------------------------------------------------------- dead-letter queues
    def _dead_letter_queues(self) -> list[dlq.DeadLetterQueue]:
        return dlq.discover(self.sqs, self.queues())

    def dlqs(self) -> list[dict[str, Any]]:
        return [{"pipeline": q.pipeline, "name": q.name, "source": q.source_name, "depth": dlq.depth(self.sqs, q)}
                for q in self._dead_letter_queues()]

    def redrive(self, queue: str, filters: dlq.Filters, dry_run: bool = False) -> dict[str, Any]:
        """Move a DLQ's matching messages back to their source queue, with a ``redriven`` hop per moved
        message, exactly as ``distsync dlq redrive`` does."""
        try:
            dead = dlq.select(self._dead_letter_queues(), queue)
        except LookupError as exc:
            raise NotFound(str(exc)) from None
        ledger = self._ledger()
        record = dlq.record_redriven(ledger, dead)

        try:
            report = dlq.redrive(self.sqs, dead, filters, dry_run=dry_run, on_moved=record,
                                 attributes=dlq.dead_lettered_at(ledger))
        finally:
            ledger.flush()
        return {"queue": report.queue, "source": dead.source_name, "dryRun": report.dry_run,
                "scanned": report.scanned, "matched": report.matched, "moved": report.moved}

    # ------------------------------------------------------------------------------------------ quarantine
    def _quarantine_store(self) -> Any:
        from distsync_core.platform.quarantine import QuarantineStore

        return QuarantineStore(self.outputs["QuarantineTableName"])

    def quarantine(self, status: str | None = "QUARANTINED") -> list[dict[str, Any]]:
        items = self._quarantine_store().list(status)
        rows = [{k: v for k, v in i.items() if k != "body"} for i in items]
        return sorted(rows, key=lambda r: r.get("quarantinedAt", ""), reverse=True)

    def release(self, quarantine_id: str) -> dict[str, Any]:
        """Put a quarantined event back on the bus, as ``distsync quarantine release`` does."""
        from distsync_core.platform.quarantine import NotReleasable, release

        store = self._quarantine_store()
        if store.get(quarantine_id) is None:
            raise NotFound(f"no quarantine record {quarantine_id}")
        try:
            done = release(store, self.events, self.outputs["EventBusName"], quarantine_id)
        except NotReleasable as exc:
            raise Conflict(str(exc)) from None
        ledger = self._ledger()
        ledger.hop(done.correlation_id, "quarantine", "released", f"{quarantine_id} released by an operator")
        ledger.flush()
        return {"quarantineId": quarantine_id, "released": True, "correlationId": done.correlation_id,
                "eventType": done.event_type}

    # ------------------------------------------------------------------------------------------- approvals
    def approvals(self, status: str | None = "PENDING", sort: str | None = None) -> list[dict[str, Any]]:
        """Newest first, or in ``sort`` order (distsync.approvals.SORTS); each with its impact in one line."""
        from distsync.approvals import sort_approvals
        from distsync_core.planning.approvals import ApprovalStore
        from distsync_core.planning.impact import summary

        items = ApprovalStore(self.outputs["ApprovalsTableName"]).list(status)
        rows = [{k: v for k, v in i.items() if k != "taskToken"} for i in items]
        for row in rows:
            row["impactSummary"] = summary(row["impact"]) if row.get("impact") else "impact unknown (requested before impacts)"
        if sort:
            return sort_approvals(rows, sort)
        return sorted(rows, key=lambda r: r.get("requestedAt", ""), reverse=True)

    # --------------------------------------------------------------------------------------------- lineage
    def lineage(self, key: str, since: str | None = None) -> dict[str, Any]:
        """Why ``key`` (ITEM@LOCATION) has its parameters, as ``distsync why --json`` prints it."""
        from distsync.lineage_reader import read_lineage

        start = parse_since(since) if since else None
        try:
            doc = read_lineage(self.outputs["TraceTableName"], self.outputs["MasterDataTableName"], key, start)
        except ValueError as exc:
            raise BadRequest(str(exc), [{"field": "key", "message": "ITEM@LOCATION"}]) from None
        if not doc["history"] and doc["masterData"] is None:
            raise NotFound(f"nothing recorded about {key}" + (f" since {start}" if start else ""))
        return doc

    # ------------------------------------------------------------------------------------------------ kpis
    def kpis(self, since: str = "24h") -> dict[str, Any]:
        """SLA figures from the ledger since ``since``, with DLQ depth per domain (as ``distsync kpis``)."""
        from distsync.kpis import compute, inventory_accuracy

        start = parse_since(since)
        figures = compute(self._ledger().scan(since=start))
        figures["deadLetterQueueDepth"] = {q.pipeline: dlq.depth(self.sqs, q) for q in self._dead_letter_queues()}
        figures["window"] = {"from": start, "to": datetime.now(UTC).isoformat()}
        figures["inventoryVisibilityAccuracy"] = inventory_accuracy(self.outputs["LandingBucketName"])
        return figures


def to_json(data: Any) -> bytes:
    return json.dumps(data, default=str).encode()
