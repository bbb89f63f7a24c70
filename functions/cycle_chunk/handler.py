"""Forecast cycle, step 2 (the Distributed Map's item processor): one batch of cycle rows.

Input, as the Distributed Map passes it: ``{"Items": [{"index": n, "row": {"itemId": ..., ...}}, ...],
"BatchInput": {"cycleId", "startedAt"}}``. Master data of the batch's item-locations in ``BatchGetItem``s;
material changes out as ``ReplenishmentRecommended`` (PutEvents, 10 per call, ids derived from cycle and
item-location); rejected rows to one report object; the counts added to the cycle's totals once."""

from __future__ import annotations

from datetime import datetime

from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.planning.cycle_store import CycleRunStore, batch_get_item_locations, put_json
from distsync_core.planning.cycles import cycle_correlation_id, plan_chunk, rejected_report_key
from distsync_core.platform import ledger
from distsync_core.platform.config import env, env_float
from distsync_core.platform.events import EventPublisher
from distsync_core.platform.observability import instrument, logger

STAGE = "cycle"


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    batch = event["BatchInput"]
    cycle_id, items = batch["cycleId"], event["Items"]
    logger.set_correlation_id(cycle_correlation_id(cycle_id))
    masterdata = env("MASTERDATA_TABLE_NAME")
    plan = plan_chunk(
        cycle_id,
        items,
        lambda keys: batch_get_item_locations(masterdata, keys),
        occurred_at=datetime.fromisoformat(batch["startedAt"]),
        tolerance_percent=env_float("CYCLE_TOLERANCE_PERCENT"),
        threshold_percent=env_float("APPROVAL_THRESHOLD_PERCENT"),
    )
    # Events first, counts last: a failure in between retries the whole batch, which emits the same ids
    # again (applied once downstream) and counts it once.
    EventPublisher(env("EVENT_BUS_NAME")).publish(plan.events)
    for change, event_ in zip(plan.changes, plan.events, strict=True):
        path = "a planner decides" if change.requires_approval else "direct ERP update"
        ledger.hop(event_.metadata.correlation_id, STAGE, "ok",
                   f"cycle {cycle_id} row {change.row.index + 1}: change {change.change_percent:.2f}% is material "
                   f"({path}); ReplenishmentRecommended published",
                   business_key=f"{change.row.item_id}@{change.row.location_id}", event_id=event_.metadata.event_id,
                   planningCycleId=cycle_id, cycleRow=change.row.index + 1,  # for lineage (`distsync why`)
                   values={"safetyStock": change.row.safety_stock, "reorderPoint": change.row.reorder_point})
    report = None
    if plan.rejected:
        report = rejected_report_key(cycle_id, plan.first_index)
        put_json(env("LANDING_BUCKET_NAME"), report,
                 {"cycleId": cycle_id, "rows": [r.report() for r in plan.rejected]})
    counted = CycleRunStore(env("CYCLE_RUNS_TABLE_NAME")).add_chunk(cycle_id, plan.first_index, plan.counts.as_dict())
    logger.info("cycle batch processed", extra={**plan.counts.as_dict(), "firstIndex": plan.first_index,
                                                "counted": counted, "report": report})
    return {**plan.counts.as_dict(), "firstIndex": plan.first_index, "counted": counted}
