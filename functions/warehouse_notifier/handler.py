"""Warehouse notification: tell the WMS about new replenishment parameters the ERP accepted."""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.contracts import ReplenishmentParametersUpdated
from distsync_core.partners.wms import WmsClient
from distsync_core.platform.config import env
from distsync_core.platform.observability import instrument
from distsync_core.platform.pipeline import Consumer, Delivery

STAGE = "warehouse"
_wms: WmsClient | None = None


def notify_warehouse(delivery: Delivery) -> None:
    global _wms
    data = delivery.data
    if _wms is None:
        _wms = WmsClient(env("WMS_BASE_URL"))
    _wms.notify(
        data.model_dump(mode="json", by_alias=True),
        idempotency_key=delivery.envelope.metadata.event_id,  # the WMS drops a redelivered notification
        correlation_id=delivery.correlation_id,
    )
    delivery.record("delivered", f"warehouse notified of new parameters for {data.item_id}@{data.location_id}")


# No idempotency table: the WMS deduplicates on the Idempotency-Key (the event id) itself.
consumer = Consumer(STAGE, ReplenishmentParametersUpdated, notify_warehouse, idempotent=False)


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return consumer(event, context)
