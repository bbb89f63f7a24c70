"""ERP adapter: apply ``ReplenishmentUpdateRequested`` in the ERP of the connection that owns its location,
through that connection's connector (read, compare, write with the ERP's concurrency token; retries with
backoff), then publish ``ReplenishmentParametersUpdated`` for downstream systems (warehouse notification).

Only the latest recommendation of an item-location reaches the ERP: an older one (a planner approving an old
change after a newer one was applied, a DLQ redrive, an archive replay past the idempotency window) is
recorded as ``superseded`` and sends nothing.

A write inside a freeze window of its connection and location (context ``freezeWindows``, or one added with
``distsync freeze add``) is held: kept in the freeze table with the event as received and acknowledged (a
``held`` hop naming the window), so waiting never counts as a failed receive and never reaches the DLQ; the
freeze function sends it back to this queue when the window ends (per item-location the latest held; the older
ones it records ``superseded``, as this would). A write released that way carries ``distsync-held`` in its
event, so the SLA figures tell the time held from the time processing."""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.connectors.factory import connection_named, connector
from distsync_core.connectors.freeze import Freeze, Window, freeze_for
from distsync_core.connectors.freeze_store import FreezeStore, configured_windows
from distsync_core.connectors.port import ConnectorError, PlanningParameters, WriteRequest
from distsync_core.connectors.writes import apply_parameters
from distsync_core.contracts import (
    CONTRACTS,
    ReplenishmentParametersUpdated,
    ReplenishmentUpdateRequested,
    derive_id,
    new_envelope,
    utcnow,
)
from distsync_core.masterdata.records import AppliedUpdate, item_location_key
from distsync_core.masterdata.store import MasterDataStore
from distsync_core.partners.base import PartnerRejected
from distsync_core.planning.replenishment import recommended_at, superseded
from distsync_core.platform.config import env
from distsync_core.platform.observability import instrument, logger, metrics
from distsync_core.platform.pipeline import Consumer, Delivery, Held, PermanentFailure
from distsync_core.platform.times import utc_iso

UPDATED_CONTRACT = CONTRACTS[("ReplenishmentParametersUpdated", "1")]
STAGE = "erp"
CONFIGURED_WINDOWS = configured_windows()  # context freezeWindows (validated at synth), parsed once per cold start
# The windows in force for this batch: the configured ones and the manual ones, read once per batch (in the
# prefetch), not cached across batches, so `distsync freeze add` holds the very next batch.
_windows: list[Window] = []


def apply_update(delivery: Delivery) -> None:
    update = delivery.data
    meta = delivery.envelope.metadata
    key = f"{update.item_id}@{update.location_id}"
    store = MasterDataStore(env("MASTERDATA_TABLE_NAME"))
    at = recommended_at(update, meta.occurred_at)
    newer = superseded(update, at, store.last_applied(update.item_id, update.location_id))
    if newer:
        _superseded(delivery, f"{newer}; nothing sent to the ERP")
        return
    connection = connection_named(update.erp_connection, update.location_id)
    if connection is None:
        raise PermanentFailure(f"no ERP connection owns location {update.location_id} (context erpConnections)")
    freeze = freeze_for(_windows, connection.name, update.location_id, utcnow())
    if freeze is not None:
        _hold(delivery, connection.name, freeze, at)
    request = WriteRequest(update.item_id, update.location_id,
                           PlanningParameters(float(update.safety_stock), float(update.reorder_point)),
                           correlation_id=meta.correlation_id, unit_of_measure=update.unit_of_measure,
                           idempotency_key=update.erp_idempotency_key, planning_cycle_id=update.planning_cycle_id,
                           approval_id=update.approval_id)
    try:
        result = apply_parameters(connector(connection), request)
    except (PartnerRejected, ConnectorError) as exc:
        raise PermanentFailure(f"{connection.name}: {exc}") from exc

    applied = AppliedUpdate(at, update.erp_idempotency_key, update.planning_cycle_id, update.safety_stock,
                            update.reorder_point, update.approval_id, meta.correlation_id,
                            update.previous_safety_stock, update.previous_reorder_point)
    if not store.record_erp_parameters(update.item_id, update.location_id, applied):
        # Another updater recorded a newer recommendation while this one was at the ERP: that one stays the
        # recorded one and downstream hears nothing of this. The two ERP calls were concurrent, so which the
        # ERP holds depends on their order there: say so loudly.
        newer = superseded(update, at, store.last_applied(update.item_id, update.location_id))
        logger.warning("ERP update raced a newer one", extra={"itemLocation": key})
        _superseded(delivery, f"{newer or 'superseded by a newer update'}; this one reached the ERP at the same time (check the ERP holds the "
                              "newer parameters)")
        return
    erp_update_id = result.request_id or ""
    # Unchanged means the ERP already held these parameters (a retry after a later step failed, or a duplicate
    # recommendation); downstream still gets the event, whose id is derived from the change itself, so the
    # warehouse deduplicates it.
    unchanged = result.outcome == "unchanged"
    how = f"{connection.name} already held these parameters" if unchanged else f"{connection.name} ERP updated"
    conflicts = f"; re-read after {result.conflicts} conflict(s)" if result.conflicts else ""
    held_seconds = float(_held(delivery).get("heldSeconds") or 0)
    after_hold = f" after {held_seconds:.0f} s held by a freeze window" if held_seconds else ""
    delivery.record("delivered", f"{how} {key}: safety stock {update.safety_stock}, reorder point "
                                 f"{update.reorder_point} (ERP request {erp_update_id or 'n/a'}{conflicts}){after_hold}",
                    erpConnection=connection.name, erpRequestId=erp_update_id, erpOutcome=result.outcome,
                    planningCycleId=update.planning_cycle_id, approvalId=update.approval_id,
                    decidedBy=update.decided_by,
                    values={"safetyStock": update.safety_stock, "reorderPoint": update.reorder_point},
                    heldSeconds=held_seconds if held_seconds else None)
    if not unchanged:
        metrics.add_metric(name="ErpUpdatesApplied", unit=MetricUnit.Count, value=1)
        # The SLA of the whole flow: recommendation received by distsync -> parameters applied in the ERP,
        # with the time a freeze window held it, and without (what distsync itself took).
        latency_ms = (utcnow() - meta.origin).total_seconds() * 1000
        metrics.add_metric(name="ForecastToErpLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
        metrics.add_metric(name="ForecastToErpProcessingLatency", unit=MetricUnit.Milliseconds,
                           value=max(0.0, latency_ms - held_seconds * 1000))
        if held_seconds:
            metrics.add_metric(name="ErpWriteHeldTime", unit=MetricUnit.Seconds, value=held_seconds)
    updated = ReplenishmentParametersUpdated(
        item_id=update.item_id,
        location_id=update.location_id,
        safety_stock=update.safety_stock,
        reorder_point=update.reorder_point,
        unit_of_measure=update.unit_of_measure,
        planning_cycle_id=update.planning_cycle_id,
        erp_update_id=erp_update_id,
        approval_id=update.approval_id,
    )
    delivery.publish([
        new_envelope(
            UPDATED_CONTRACT, updated,
            source="distsync.erp-adapter",
            caused_by=meta,
            event_id=derive_id(update.erp_idempotency_key, UPDATED_CONTRACT.event_type),
        )
    ])


def _superseded(delivery: Delivery, reason: str) -> None:
    # Completed, not retried: no retry can make an older recommendation the latest again.
    delivery.record("superseded", reason)
    metrics.add_metric(name="ErpUpdatesSuperseded", unit=MetricUnit.Count, value=1)


def _hold(delivery: Delivery, connection: str, freeze: Freeze, recommended: datetime) -> None:
    """Keep the write in the freeze table (before acknowledging it) and acknowledge it as held."""
    now = utcnow()
    meta = delivery.envelope.metadata
    _freeze_store().hold(freeze, held_at=now, connection=connection, business_key=delivery.data.business_key(),
                         event_id=meta.event_id, correlation_id=meta.correlation_id, body=delivery.raw_body,
                         recommended_at=recommended)
    metrics.add_metric(name="ErpWritesHeld", unit=MetricUnit.Count, value=1)
    raise Held(f"{freeze.describe()}: the write to {connection} waits and is sent when it ends",
               freezeWindow=",".join(freeze.windows), heldUntil=utc_iso(freeze.until), erpConnection=connection)


def _held(delivery: Delivery) -> dict[str, Any]:
    """What the freeze function added to a released write's event (empty for one never held)."""
    try:
        held = json.loads(delivery.raw_body).get("distsync-held")
    except (ValueError, AttributeError):
        return {}
    return held if isinstance(held, dict) else {}


def _freeze_store() -> FreezeStore:
    return FreezeStore(env("FREEZE_TABLE_NAME"))


def read_master_data(updates: list[ReplenishmentUpdateRequested]) -> None:
    MasterDataStore(env("MASTERDATA_TABLE_NAME")).prefetch(
        item_location_key(u.item_id, u.location_id) for u in updates)
    global _windows
    # Without a freeze table (a stack before freeze windows) only the configured windows could hold, and they
    # would have nowhere to go: the stack always sets it with them.
    table_name = os.environ.get("FREEZE_TABLE_NAME")
    _windows = CONFIGURED_WINDOWS + (FreezeStore(table_name).manual_windows() if table_name else [])


consumer = Consumer(STAGE, ReplenishmentUpdateRequested, apply_update, prefetch=read_master_data)


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return consumer(event, context)
