"""Inventory availability: the available-to-promise projection per item-location (the newest balance wins),
served to sales channels by a signed API."""

from __future__ import annotations

from infra.platform import Domain, Platform
from infra.platform.platform import API_TIMEOUT, TRANSFORMER_TIMEOUT


def build(platform: Platform) -> None:
    config, tables = platform.config, platform.tables
    inventory = platform.domain_table("InventoryTable", "pk")  # the newest balance per "<item>#<location>"
    transformer = platform.function(
        "InventoryTransformerFunction",
        "inventory_transformer",
        TRANSFORMER_TIMEOUT,
        "Keeps the available-to-promise projection from ERP/WMS balances (newest as-of wins)",
        MASTERDATA_TABLE_NAME=tables.masterdata.table_name,
        INVENTORY_TABLE_NAME=inventory.table_name,
        EVENT_BUS_NAME=platform.bus.event_bus_name,
        ATP_HORIZON_DAYS=str(config.atp_horizon_days),
    )
    tables.masterdata.grant_read_data(transformer)
    inventory.grant_read_write_data(transformer)
    platform.bus.grant_put_events_to(transformer)
    platform.pipeline(
        "InventoryPipeline",
        function=transformer,
        batch_size=10,
        sources=("distsync.inventory",),
        detail_types=("InventoryBalanceChanged",),
    )

    atp = platform.function(
        "AtpApiFunction",
        "atp_api",
        API_TIMEOUT,
        "Serves available to promise per item-location from the inventory projection",
        INVENTORY_TABLE_NAME=inventory.table_name,
        ATP_HORIZON_DAYS=str(config.atp_horizon_days),
    )
    inventory.grant_read_data(atp)
    platform.signed_api("v1/atp/{itemId}/{locationId}", "GET", atp, keys=["channels"],
                        reserved_concurrency=platform.config.decision_api_reserved_concurrency)

    platform.metrics.count("StaleBalancesIgnored")
    platform.metrics.latency("InventoryFreshness", "s")  # balance as-of -> applied to the ATP projection
    platform.dashboard(
        Domain(
            key="inventory",
            title="Inventory availability (balances, available to promise)",
            pipelines=("InventoryPipeline",),
            functions=("atp_api",),
            metrics=("StaleBalancesIgnored", "RecordsQuarantined", "InventoryFreshness"),
        )
    )
    platform.output("InventoryTableName", inventory.table_name)
