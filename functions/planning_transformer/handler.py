"""Planning pipeline: validate each recommendation against master data, enrich it, measure the change,
then update the ERP directly (at or below the threshold) or start the planner approval workflow."""

from __future__ import annotations

import json

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.connectors.factory import connections
from distsync_core.connectors.landscape import owner
from distsync_core.contracts import CONTRACTS, ReplenishmentRecommended, derive_id, new_envelope
from distsync_core.masterdata.records import item_location_key
from distsync_core.masterdata.store import MasterDataStore
from distsync_core.planning.replenishment import ApplyDirectly, NoChange, Quarantine, RequireApproval, decide
from distsync_core.platform.aws import client
from distsync_core.platform.config import env, env_float
from distsync_core.platform.observability import instrument, logger, metrics
from distsync_core.platform.pipeline import Consumer, Delivery, PermanentFailure

UPDATE_CONTRACT = CONTRACTS[("ReplenishmentUpdateRequested", "1")]
STAGE = "planning"


def plan_replenishment(delivery: Delivery) -> None:
    rec = delivery.data
    meta = delivery.envelope.metadata
    connection = owner(rec.location_id, connections())
    if connection is None:
        raise PermanentFailure(f"no ERP connection owns location {rec.location_id} (context erpConnections)")
    threshold = connection.approval_threshold_percent or env_float("APPROVAL_THRESHOLD_PERCENT", 20)
    current = MasterDataStore(env("MASTERDATA_TABLE_NAME")).get(rec.item_id, rec.location_id)
    decision = decide(rec, current, threshold, recommended_at=meta.occurred_at, erp_connection=connection.name)

    if isinstance(decision, Quarantine):
        raise PermanentFailure(decision.reason, waiting_for=decision.waiting_for)
    if isinstance(decision, NoChange):
        delivery.record("delivered", decision.reason)
        return

    update = new_envelope(
        UPDATE_CONTRACT,
        decision.update,
        source="distsync.replenishment",
        caused_by=meta,
        event_id=derive_id(meta.event_id, UPDATE_CONTRACT.event_type),
    )
    change = decision.update.change_percent
    # What lineage (`distsync why`) shows of the decision: the cycle, the values, the change and the threshold.
    lineage = {"planningCycleId": rec.planning_cycle_id, "changePercent": change, "thresholdPercent": threshold,
               "values": {"safetyStock": rec.recommended_safety_stock, "reorderPoint": rec.recommended_reorder_point},
               "previousValues": {"safetyStock": current.safety_stock, "reorderPoint": current.reorder_point}
               if current else None}
    if isinstance(decision, ApplyDirectly):
        delivery.publish([update])
        delivery.record("ok", f"change {change}% <= {threshold}%: ERP update requested without approval",
                        decision="automatic", **lineage)
        metrics.add_metric(name="UpdatesAutoApproved", unit=MetricUnit.Count, value=1)
        return

    _start_approval(decision, update.model_dump(mode="json", by_alias=True), threshold)
    delivery.record("ok", f"change {change}% > {threshold}%: approval {decision.approval_id} started",
                    approvalId=decision.approval_id, decision="approval", **lineage)
    metrics.add_metric(name="ApprovalsStarted", unit=MetricUnit.Count, value=1)


def _start_approval(decision: RequireApproval, update: dict, threshold: float) -> None:
    sfn = client("stepfunctions")
    payload = {"approvalId": decision.approval_id, "thresholdPercent": threshold, "update": update}
    try:
        # The execution name is the approval id: a redelivered recommendation cannot start a second one.
        sfn.start_execution(
            stateMachineArn=env("APPROVAL_STATE_MACHINE_ARN"), name=decision.approval_id, input=json.dumps(payload)
        )
    except sfn.exceptions.ExecutionAlreadyExists:
        logger.info("approval already started", extra={"approvalId": decision.approval_id})


def read_master_data(recommendations: list[ReplenishmentRecommended]) -> None:
    MasterDataStore(env("MASTERDATA_TABLE_NAME")).prefetch(
        item_location_key(r.item_id, r.location_id) for r in recommendations)


consumer = Consumer(STAGE, ReplenishmentRecommended, plan_replenishment, prefetch=read_master_data)


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return consumer(event, context)
