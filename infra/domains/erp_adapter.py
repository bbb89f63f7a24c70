"""ERP adapter: replenishment parameter updates applied through each ERP connection's connector, once each.

One pipeline (queue + DLQ + alarm) per connection of context ``erpConnections``, so a slow or down ERP never
holds back another: the planning transformer names the owning connection on each update (``erpConnection``)
and each connection's rule takes its own. The first ``rest`` connection (else the first) keeps the pipeline id
of the single-ERP stack (``ErpUpdatePipeline``: its queue updates in place) and also takes updates that name no
connection (in flight at deploy, or replayed from before connections)."""

from __future__ import annotations

from infra.platform import Domain, Platform
from infra.platform.platform import PARTNER_CALL_TIMEOUT

OWNER = "planning-integration"  # the team its functions, pipelines and alarms name (infra/config.py DEFAULT_OWNERS)


def pipeline_id(name: str, legacy: bool) -> str:
    return "ErpUpdatePipeline" if legacy else f"ErpUpdatePipeline{name.capitalize()}"


def build(platform: Platform) -> None:
    config, tables = platform.config, platform.tables
    updater = platform.function(
        "ErpUpdaterFunction",
        "erp_updater",
        PARTNER_CALL_TIMEOUT,
        "Applies replenishment parameter updates through each ERP connection's connector",
        **platform.partner_environment,
        EVENT_BUS_NAME=platform.bus.event_bus_name,
        MASTERDATA_TABLE_NAME=tables.masterdata.table_name,
    )
    platform.bus.grant_put_events_to(updater)
    platform.erp_connections(updater)
    tables.masterdata.grant_read_write_data(updater)

    connections = config.erp_connections
    legacy = next((c for c in connections if c["kind"] == "rest"), connections[0])
    pipelines = []
    for connection in connections:
        name, is_legacy = connection["name"], connection is legacy
        matches: list = [name, {"exists": False}] if is_legacy else [name]
        pipelines.append(pipeline_id(name, is_legacy))
        platform.pipeline(
            pipelines[-1],
            function=updater,
            batch_size=5,
            sources=("distsync.replenishment",),
            detail_types=("ReplenishmentUpdateRequested",),
            detail={"data": {"erpConnection": matches}},
            quarantine=None,
            max_concurrency=int(connection.get("maxConcurrency") or config.partner_max_concurrency["erp"]),
        )
    platform.metrics.count("ErpUpdatesApplied", "ErpUpdatesSuperseded")
    platform.dashboard(
        Domain(
            key="erp-adapter",
            title="ERP adapter (replenishment parameter updates, one pipeline per ERP connection)",
            pipelines=tuple(pipelines),
            metrics=("ErpUpdatesApplied", "ErpUpdatesSuperseded", "RecordsRetried", "RecordsDeadLettered",
                     "ForecastToErpLatency"),
        )
    )
