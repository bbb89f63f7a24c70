"""Approval workflow task: record the planner's decision (or the timeout) and, when approved, request the
ERP update with the approval attached."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from distsync_core.contracts import (
    CONTRACTS,
    Envelope,
    ReplenishmentUpdateRequested,
    derive_id,
    new_envelope,
    utcnow,
)
from distsync_core.planning.approvals import OUTCOME_STATUS, ApprovalStore
from distsync_core.platform import ledger
from distsync_core.platform.config import env
from distsync_core.platform.events import EventPublisher
from distsync_core.platform.observability import instrument, logger, metrics

UPDATE_CONTRACT = CONTRACTS[("ReplenishmentUpdateRequested", "1")]


class Decision(BaseModel):
    decision: Literal["approve", "reject", "timeout"]
    comment: str = ""
    decidedBy: str = "system"
    decidedAt: str | None = None  # set by the approval API; absent on a timeout


class OutcomeTask(BaseModel):
    approvalId: str
    update: dict[str, Any]
    decision: Decision


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    task = OutcomeTask.model_validate(event)
    envelope = Envelope.model_validate(task.update)
    meta = envelope.metadata
    logger.set_correlation_id(meta.correlation_id)
    status = OUTCOME_STATUS[task.decision.decision]
    logger.info("recording approval outcome", extra={"approvalId": task.approvalId, "status": status})
    before = ApprovalStore(env("APPROVALS_TABLE_NAME")).record_outcome(task.approvalId, status, task.decision.comment)
    if task.decision.decision != "timeout" and before.get("requestedAt"):
        waited = utcnow() - datetime.fromisoformat(before["requestedAt"])
        metrics.add_metric(name="ApprovalTurnaround", unit=MetricUnit.Seconds, value=waited.total_seconds())
    update = ReplenishmentUpdateRequested.model_validate(envelope.data)
    note = f" ({task.decision.comment})" if task.decision.comment else ""
    # Who decided, when and why, as attributes for lineage (`distsync why`), not only in the detail text.
    decided = {"decision": task.decision.decision, "decidedBy": task.decision.decidedBy,
               "comment": task.decision.comment or None, "decidedAt": task.decision.decidedAt,
               "planningCycleId": update.planning_cycle_id,
               "values": {"safetyStock": update.safety_stock, "reorderPoint": update.reorder_point}}

    if task.decision.decision != "approve":
        ledger.hop(meta.correlation_id, "approval", "rejected",
                   f"approval {task.approvalId} {status.lower()} by {task.decision.decidedBy}{note}",
                   approvalId=task.approvalId, business_key=update.business_key(), event_id=meta.event_id,
                   causationId=meta.causation_id, **decided)
        metrics.add_metric(name="ApprovalsRejected", unit=MetricUnit.Count, value=1)
        return {"approvalId": task.approvalId, "status": status}

    # The approved update keeps the recommendation's time, so the ERP adapter can tell that a newer one was
    # applied while the planner decided (one requested before recommendedAt existed: when it was requested).
    approved = update.model_copy(update={
        "approval_id": task.approvalId, "decided_by": task.decision.decidedBy,
        "recommended_at": update.recommended_at or meta.occurred_at,
    })
    approved_event = new_envelope(
        UPDATE_CONTRACT, approved,
        source="distsync.replenishment",
        caused_by=meta,
        event_id=derive_id(task.approvalId, "approved"),
    )
    EventPublisher(env("EVENT_BUS_NAME")).publish([approved_event])
    ledger.hop(meta.correlation_id, "approval", "approved",
               f"approval {task.approvalId} approved by {task.decision.decidedBy}{note}; ERP update requested",
               approvalId=task.approvalId, business_key=update.business_key(),
               event_id=approved_event.metadata.event_id, causationId=meta.event_id, **decided)
    metrics.add_metric(name="ApprovalsApproved", unit=MetricUnit.Count, value=1)
    return {"approvalId": task.approvalId, "status": status}
