"""Supplier performance (EventBridge Scheduler weekly, context ``supplierPerformanceSchedule``; or ``distsync
suppliers performance`` on demand): the facts of every purchase order from the supplier performance table,
measured per supplier and item-location (:mod:`distsync_core.supplier.performance`) against the master data
lead time; each measurement with a receipt is published as ``SupplierPerformanceMeasured``, which the planning
sync forwards to planning. Returns every measurement (also those without a receipt yet)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.contracts import utcnow
from distsync_core.masterdata.records import item_location_key
from distsync_core.masterdata.store import MasterDataStore
from distsync_core.platform.config import env, env_int
from distsync_core.platform.events import EventPublisher
from distsync_core.platform.observability import instrument, logger, metrics
from distsync_core.supplier.performance import RunRequest, measure, measurement_event, worth_publishing
from distsync_core.supplier.performance_store import PerformanceStore
from distsync_core.supplier.policy import known_lead_time


def run(event: dict[str, Any]) -> dict[str, Any]:
    # the schedule's window unless the request names one; a bad on-demand request fails with pydantic's reasons
    request = RunRequest.model_validate({"sinceDays": env_int("SUPPLIER_PERFORMANCE_WINDOW_DAYS", 90), **event})
    today = utcnow().date()
    since = today - timedelta(days=request.since_days)
    lines, receipts, shipments = PerformanceStore(env("SUPPLIER_PERFORMANCE_TABLE_NAME")).facts()

    masterdata = MasterDataStore(env("MASTERDATA_TABLE_NAME"))
    pairs = {(ln.item_id, ln.location_id) for ln in lines}  # a GetItem each (a weekly run, not a hot path)
    masters = {}
    for item, location in pairs:
        record = masterdata.get_record(item_location_key(item, location))
        if record is not None:
            masters[(item, location)] = known_lead_time(record)

    measurements = measure(lines, receipts, shipments, since=since, today=today, master_lead_times=masters,
                           supplier_id=request.supplier_id)
    run_id = request.run_id(str(uuid.uuid4()))
    correlation_id = f"supplier-performance-{run_id}"
    events = [measurement_event(m, run_id, correlation_id) for m in measurements if worth_publishing(m)]
    if request.publish and events:
        EventPublisher(env("EVENT_BUS_NAME")).publish(events)
    metrics.add_metric(name="SupplierPerformanceMeasured", unit=MetricUnit.Count,
                       value=len(events) if request.publish else 0)
    summary = {
        "trigger": request.trigger,
        "runId": run_id,
        "correlationId": correlation_id,
        "windowStart": since.isoformat(),
        "windowEnd": today.isoformat(),
        "supplierId": request.supplier_id,
        "published": len(events) if request.publish else 0,
        "measurements": [m.model_dump(by_alias=True, mode="json") for m in measurements],
    }
    logger.info("supplier performance measured", extra={k: v for k, v in summary.items() if k != "measurements"})
    return summary


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return run(event or {})
