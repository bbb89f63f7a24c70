"""Master data: the ERP's items, locations, item-locations, suppliers and customers, validated and stored as the
governed record every other domain checks its events against; events quarantined while waiting for a record
are released when it arrives."""

from __future__ import annotations

from infra.platform import Domain, Platform
from infra.platform.platform import TRANSFORMER_TIMEOUT

OWNER = "masterdata"  # the team its functions, pipelines and alarms name (infra/config.py DEFAULT_OWNERS)

# Every master-data event type the ERP sends (webhook /v1/webhooks/erp); one rule routes them all.
MASTERDATA_DETAIL_TYPES = (
    "ItemUpserted",
    "LocationUpserted",
    "ItemLocationUpserted",
    "SupplierUpserted",
    "CustomerUpserted",
)


def build(platform: Platform) -> None:
    tables = platform.tables
    transformer = platform.function(
        "MasterdataTransformerFunction",
        "masterdata_transformer",
        TRANSFORMER_TIMEOUT,
        "Validates ERP master data, stores the governed record and releases events waiting for it",
        MASTERDATA_TABLE_NAME=tables.masterdata.table_name,
        EVENT_BUS_NAME=platform.bus.event_bus_name,
    )
    tables.masterdata.grant_read_write_data(transformer)
    platform.bus.grant_put_events_to(transformer)  # republishes the events it releases
    platform.pipeline(
        "MasterdataPipeline",
        function=transformer,
        batch_size=10,
        sources=("distsync.erp",),
        detail_types=MASTERDATA_DETAIL_TYPES,
        quarantine="release",
    )
    platform.dashboard(
        Domain(
            key="masterdata",
            title="Master data (ERP items, locations, item-locations, suppliers, customers)",
            pipelines=("MasterdataPipeline",),
            metrics=("RecordsQuarantined", "RecordsRetried", "RecordsDeadLettered"),
        )
    )
