"""Forecast cycle, step 3 (state machine task): close the cycle's run record and publish
``ForecastCycleCompleted`` with the totals the batches added up (never the Map's results, whatever the size
of the cycle). Input: the execution's state (``cycleId``, ``bucket``, ``key``, ``prepared`` and, when a step
failed for good, the caught ``error``). Returns the status the state machine ends with."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.contracts import ForecastCycleCompleted, derive_id, new_envelope
from distsync_core.planning.cycle_store import CycleRunStore, delete_object
from distsync_core.planning.cycles import (
    COMPLETED,
    WORK_PREFIX,
    cycle_correlation_id,
    cycle_status,
    rejected_prefix_uri,
)
from distsync_core.platform import ledger
from distsync_core.platform.config import env, env_float
from distsync_core.platform.events import EventPublisher
from distsync_core.platform.observability import instrument, logger, metrics

STAGE = "cycle"
OUTCOME = {"completed": "delivered", "rejected": "rejected", "failed": "dead_lettered"}


def summarize(state: dict[str, Any]) -> ForecastCycleCompleted:
    cycle_id = state["cycleId"]
    status, reason = cycle_status(state)
    run = CycleRunStore(env("CYCLE_RUNS_TABLE_NAME")).finish(cycle_id, status.upper())
    rejected = int(run["rejected"])
    bucket = env("LANDING_BUCKET_NAME")
    completed = ForecastCycleCompleted(
        cycle_id=cycle_id,
        status=status,
        source_file=state["key"],
        rows_read=int(run["rowsRead"]),
        changed=int(run["changed"]),
        unchanged=int(run["unchanged"]),
        rejected=rejected,
        approvals_required=int(run["approvalsRequired"]),
        events_emitted=int(run["eventsEmitted"]),
        tolerance_percent=env_float("CYCLE_TOLERANCE_PERCENT"),
        started_at=datetime.fromisoformat(run["startedAt"]),
        finished_at=datetime.fromisoformat(run["finishedAt"]),
        rejected_report=rejected_prefix_uri(bucket, cycle_id) if rejected or status == "rejected" else None,
        reason=reason,
    )
    if run["closedNow"]:  # counted once per cycle, not again by a retried summary
        _add_metrics(completed)
    return completed


def _add_metrics(cycle: ForecastCycleCompleted) -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    for name, value in (("CycleRowsRead", cycle.rows_read), ("CycleRowsChanged", cycle.changed),
                        ("CycleRowsRejected", cycle.rejected), ("CycleApprovalsRequired", cycle.approvals_required),
                        ("CyclesFailed", int(cycle.status != "completed"))):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    metrics.add_metric(name="CycleDuration", unit=MetricUnit.Seconds,
                       value=max(0.0, (cycle.finished_at - cycle.started_at).total_seconds()))


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    cycle_id = event["cycleId"]
    cid = cycle_correlation_id(cycle_id)
    logger.set_correlation_id(cid)
    summary = summarize(event)
    envelope = new_envelope(COMPLETED, summary, source="distsync.cycles", correlation_id=cid,
                            event_id=derive_id(COMPLETED.event_type, cycle_id), occurred_at=summary.finished_at)
    EventPublisher(env("EVENT_BUS_NAME")).publish([envelope])
    csv_key = (event.get("prepared") or {}).get("csvKey")
    if csv_key and csv_key.startswith(WORK_PREFIX):
        delete_object(env("LANDING_BUCKET_NAME"), csv_key)  # the decompressed copy; the original stays
    detail = (f"cycle {summary.status}: {summary.rows_read} rows read, {summary.changed} changed "
              f"({summary.approvals_required} for a planner), {summary.unchanged} unchanged, {summary.rejected} rejected")
    if summary.reason:
        detail += f"; {summary.reason}"
    ledger.hop(cid, STAGE, OUTCOME[summary.status], detail, business_key=f"CYCLE#{cycle_id}",
               event_id=envelope.metadata.event_id)
    logger.info("cycle summarized", extra=summary.model_dump(mode="json", by_alias=True))
    return {"status": summary.status, "eventId": envelope.metadata.event_id, **summary.model_dump(
        mode="json", by_alias=True, include={"rows_read", "changed", "unchanged", "rejected", "approvals_required",
                                              "events_emitted"})}
