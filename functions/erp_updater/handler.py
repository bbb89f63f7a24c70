"""ERP adapter: apply ``ReplenishmentUpdateRequested`` in the ERP of the connection that owns its location,
through that connection's connector (read, compare, write with the ERP's concurrency token; retries with
backoff), then publish ``ReplenishmentParametersUpdated`` for downstream systems (warehouse notification).

Only the latest recommendation of an item-location reaches the ERP: an older one (a planner approving an old
change after a newer one was applied, a DLQ redrive, an archive replay past the idempotency window) is
recorded as ``superseded`` and sends nothing."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.connectors.factory import connection_named, connector
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
from distsync_core.platform.pipeline import Consumer, Delivery, PermanentFailure

UPDATED_CONTRACT = CONTRACTS[("ReplenishmentParametersUpdated", "1")]
STAGE = "erp"


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
    delivery.record("delivered", f"{how} {key}: safety stock {update.safety_stock}, reorder point "
                                 f"{update.reorder_point} (ERP request {erp_update_id or 'n/a'}{conflicts})",
                    erpConnection=connection.name, erpRequestId=erp_update_id)
    if not unchanged:
        metrics.add_metric(name="ErpUpdatesApplied", unit=MetricUnit.Count, value=1)
        # The SLA of the whole flow: recommendation received by distsync -> parameters applied in the ERP.
        latency_ms = (utcnow() - meta.origin).total_seconds() * 1000
        metrics.add_metric(name="ForecastToErpLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
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


def read_master_data(updates: list[ReplenishmentUpdateRequested]) -> None:
    MasterDataStore(env("MASTERDATA_TABLE_NAME")).prefetch(
        item_location_key(u.item_id, u.location_id) for u in updates)


consumer = Consumer(STAGE, ReplenishmentUpdateRequested, apply_update, prefetch=read_master_data)


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return consumer(event, context)
