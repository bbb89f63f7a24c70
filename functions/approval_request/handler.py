"""Approval workflow task (``.waitForTaskToken``): record the pending approval and its task token.

The state machine then waits until the approval API sends the planner's decision, or the window closes.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from distsync_core.contracts import Envelope, ReplenishmentUpdateRequested
from distsync_core.planning.approvals import ApprovalStore
from distsync_core.platform import ledger
from distsync_core.platform.config import env
from distsync_core.platform.observability import instrument, logger


class ApprovalTask(BaseModel):
    approval: dict[str, Any]
    taskToken: str
    executionArn: str


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    task = ApprovalTask.model_validate(event)
    approval_id = task.approval["approvalId"]
    envelope = Envelope.model_validate(task.approval["update"])
    update = ReplenishmentUpdateRequested.model_validate(envelope.data)
    cid = envelope.metadata.correlation_id
    logger.set_correlation_id(cid)

    ApprovalStore(env("APPROVALS_TABLE_NAME")).put_pending(
        {
            "approvalId": approval_id,
            "taskToken": task.taskToken,
            "executionArn": task.executionArn,
            "correlationId": cid,
            "itemId": update.item_id,
            "locationId": update.location_id,
            "currentSafetyStock": update.previous_safety_stock,
            "currentReorderPoint": update.previous_reorder_point,
            "recommendedSafetyStock": update.safety_stock,
            "recommendedReorderPoint": update.reorder_point,
            "changePercent": update.change_percent,
            "thresholdPercent": task.approval.get("thresholdPercent"),
            "planningCycleId": update.planning_cycle_id,
        }
    )
    ledger.hop(
        cid, "approval", "pending_approval",
        f"approval {approval_id} waits for a planner: change {update.change_percent}% "
        f"(safety stock {update.previous_safety_stock} -> {update.safety_stock})",
        approvalId=approval_id, business_key=update.business_key(), event_id=envelope.metadata.event_id,
        causationId=envelope.metadata.causation_id, planningCycleId=update.planning_cycle_id,
        values={"safetyStock": update.safety_stock, "reorderPoint": update.reorder_point},
    )
    logger.info("approval requested", extra={"approvalId": approval_id})
    return {"approvalId": approval_id}
