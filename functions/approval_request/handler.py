"""Approval workflow task (``.waitForTaskToken``): record the pending approval, its impact and its task token,
and tell the planners (their notification topic) what it would change and how to decide it.

The state machine then waits until the approval API sends the planner's decision, or the window closes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from distsync_core.contracts import Envelope, ReplenishmentUpdateRequested, utcnow
from distsync_core.inventory.policy import available_to_promise
from distsync_core.inventory.store import InventoryStore
from distsync_core.masterdata.records import item_location_key
from distsync_core.masterdata.store import MasterDataStore
from distsync_core.planning import impact, notices
from distsync_core.planning.approvals import ApprovalStore
from distsync_core.platform import ledger, notifications
from distsync_core.platform.config import env, env_float
from distsync_core.platform.observability import instrument, logger


class ApprovalTask(BaseModel):
    approval: dict[str, Any]
    taskToken: str
    executionArn: str


def assess(update: ReplenishmentUpdateRequested) -> dict[str, Any]:
    """The change's impact from what distsync holds: the item-location's ATP (inventory projection), its
    latest forecast and lead time (master data) and the item's unit cost (master data, when the ERP sends it)."""
    now = utcnow()
    masterdata = MasterDataStore(env("MASTERDATA_TABLE_NAME"))
    location = masterdata.get_record(item_location_key(update.item_id, update.location_id)) or {}
    item = masterdata.get_record(f"ITEM#{update.item_id}") or {}
    balance = InventoryStore(env("INVENTORY_TABLE_NAME")).get(update.item_id, update.location_id)
    atp = None
    if balance is not None:
        due = balance.get("inTransitDueAt")
        atp = available_to_promise(
            float(balance["onHand"]), float(balance["allocated"]), float(balance["inTransit"]),
            datetime.fromisoformat(due) if due else None, now=now, horizon_days=env_float("ATP_HORIZON_DAYS", 14),
        ).available_to_promise
    buckets = [(date.fromisoformat(b["weekStart"]), float(b["quantity"])) for b in location.get("forecastBuckets", [])]
    lead_time = location.get("supplierLeadTimeDays") or location.get("leadTimeDays")
    return impact.compute(
        before=impact.Parameters(update.previous_safety_stock, update.previous_reorder_point),
        after=impact.Parameters(update.safety_stock, update.reorder_point),
        atp=atp, buckets=buckets, lead_time_days=int(lead_time) if lead_time is not None else None,
        unit_cost=float(item["unitCost"]) if item.get("unitCost") is not None else None,
        currency=item.get("currency"), today=now.date(),
    ).as_dict()


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    task = ApprovalTask.model_validate(event)
    approval_id = task.approval["approvalId"]
    envelope = Envelope.model_validate(task.approval["update"])
    update = ReplenishmentUpdateRequested.model_validate(envelope.data)
    cid = envelope.metadata.correlation_id
    logger.set_correlation_id(cid)

    record = {
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
        "impact": assess(update),
    }
    if not ApprovalStore(env("APPROVALS_TABLE_NAME")).put_pending(record):
        logger.info("approval already decided: not requested again", extra={"approvalId": approval_id})
        return {"approvalId": approval_id}
    ledger.hop(
        cid, "approval", "pending_approval",
        f"approval {approval_id} waits for a planner: change {update.change_percent}% "
        f"(safety stock {update.previous_safety_stock} -> {update.safety_stock}); "
        f"impact: {impact.summary(record['impact'])}",
        approvalId=approval_id, business_key=update.business_key(), event_id=envelope.metadata.event_id,
        causationId=envelope.metadata.causation_id, planningCycleId=update.planning_cycle_id,
        values={"safetyStock": update.safety_stock, "reorderPoint": update.reorder_point},
    )
    message = notices.approval_requested(record, env("CONSOLE_URL"))
    try:
        notifications.publish(env("PLANNERS_TOPIC_ARN"), message)
    except (ClientError, BotoCoreError):
        # The approval waits in the table (`distsync approvals list`, the console) either way: a lost message
        # must not fail the workflow that would then never ask anyone.
        logger.exception("planners notification not published", extra={"approvalId": approval_id})
    logger.info("approval requested", extra={"approvalId": approval_id})
    return {"approvalId": approval_id}
