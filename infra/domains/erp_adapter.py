"""ERP adapter: replenishment parameter updates applied through the ERP's API, once each."""

from __future__ import annotations

from infra.platform import Domain, Platform
from infra.platform.platform import PARTNER_CALL_TIMEOUT


def build(platform: Platform) -> None:
    tables = platform.tables
    updater = platform.function(
        "ErpUpdaterFunction",
        "erp_updater",
        PARTNER_CALL_TIMEOUT,
        "Applies replenishment parameter updates through the ERP REST API",
        **platform.partner_environment,
        EVENT_BUS_NAME=platform.bus.event_bus_name,
        MASTERDATA_TABLE_NAME=tables.masterdata.table_name,
    )
    platform.bus.grant_put_events_to(updater)
    tables.masterdata.grant_read_write_data(updater)
    platform.pipeline(
        "ErpUpdatePipeline",
        function=updater,
        batch_size=5,
        sources=("distsync.replenishment",),
        detail_types=("ReplenishmentUpdateRequested",),
        quarantine=None,
    )
    platform.metrics.count("ErpUpdatesApplied", "ErpUpdatesSuperseded")
    platform.dashboard(
        Domain(
            key="erp-adapter",
            title="ERP adapter (replenishment parameter updates)",
            pipelines=("ErpUpdatePipeline",),
            metrics=("ErpUpdatesApplied", "ErpUpdatesSuperseded", "RecordsRetried", "RecordsDeadLettered",
                     "ForecastToErpLatency"),
        )
    )
