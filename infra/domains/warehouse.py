"""Warehouse notifications: the WMS is told of changed replenishment parameters."""

from __future__ import annotations

from infra.platform import Domain, Platform
from infra.platform.platform import TRANSFORMER_TIMEOUT

OWNER = "inventory"  # the team its functions, pipelines and alarms name (infra/config.py DEFAULT_OWNERS)


def build(platform: Platform) -> None:
    notifier = platform.function(
        "WarehouseNotifierFunction",
        "warehouse_notifier",
        TRANSFORMER_TIMEOUT,
        "Notifies the warehouse system of changed replenishment parameters",
        WMS_BASE_URL=platform.config.wms_base_url,
    )
    platform.pipeline(
        "WarehouseNotificationPipeline",
        function=notifier,
        batch_size=10,
        sources=("distsync.erp-adapter",),
        detail_types=("ReplenishmentParametersUpdated",),
        quarantine=None,
        idempotency=False,
    )
    platform.dashboard(
        Domain(
            key="warehouse",
            title="Warehouse notifications",
            pipelines=("WarehouseNotificationPipeline",),
            metrics=("RecordsRetried", "RecordsDeadLettered"),
        )
    )
