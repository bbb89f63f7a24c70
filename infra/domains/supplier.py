"""Supplier collaboration: reported lead times checked against master data and sent to planning (a change
above the threshold raises a planning exception); purchase order confirmations go to the ERP."""

from __future__ import annotations

from infra.platform import Domain, Platform
from infra.platform.platform import PARTNER_CALL_TIMEOUT

OWNER = "supplier-collaboration"  # the team its functions, pipelines and alarms name (infra/config.py DEFAULT_OWNERS)


def build(platform: Platform) -> None:
    config, tables = platform.config, platform.tables
    transformer = platform.function(
        "SupplierTransformerFunction",
        "supplier_transformer",
        PARTNER_CALL_TIMEOUT,
        "Lead times to planning (exceptions above the threshold), PO confirmations to the ERP",
        **platform.partner_environment,
        PLANNING_BASE_URL=config.planning_base_url,
        MASTERDATA_TABLE_NAME=tables.masterdata.table_name,
        EVENT_BUS_NAME=platform.bus.event_bus_name,
        LEAD_TIME_EXCEPTION_PERCENT=str(config.lead_time_exception_percent),
    )
    tables.masterdata.grant_read_write_data(transformer)  # records the supplier's lead time
    platform.bus.grant_put_events_to(transformer)
    platform.pipeline(
        "SupplierPipeline",
        function=transformer,
        batch_size=5,
        sources=("distsync.supplier",),
        detail_types=("SupplierLeadTimeChanged", "PurchaseOrderConfirmed"),
    )
    # supplier lead times older than the one recorded (they reached distsync late)
    platform.metrics.count("PlanningExceptionsRaised", "StaleLeadTimesIgnored")
    platform.dashboard(
        Domain(
            key="supplier",
            title="Supplier collaboration (lead times, purchase order confirmations)",
            pipelines=("SupplierPipeline",),
            metrics=("PlanningExceptionsRaised", "StaleLeadTimesIgnored", "RecordsQuarantined"),
        )
    )
