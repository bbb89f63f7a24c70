"""Supplier collaboration: reported lead times checked against master data and sent to planning (a change
above the threshold raises a planning exception); purchase order confirmations go to the ERP.

Supplier performance (issue 15): each PO's confirmed lines, the supplier's ship notices and its goods receipts
are kept in ``SupplierPerformanceTable`` by the supplier transformer;
``supplier_performance`` measures lead time and fill rate per supplier and item-location and publishes
``SupplierPerformanceMeasured`` (the planning sync forwards it to planning), weekly on an EventBridge Scheduler
schedule (``supplierPerformanceSchedule``, UTC) or on demand (``distsync suppliers performance``).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_iam as iam

from infra.platform import Domain, Platform
from infra.platform.platform import PARTNER_CALL_TIMEOUT
from infra.platform.schedule import invoke_schedule

OWNER = "supplier-collaboration"  # the team its functions, pipelines and alarms name (infra/config.py DEFAULT_OWNERS)


PERFORMANCE_TIMEOUT = Duration.minutes(5)  # a scan of the PO facts, master data reads, the publish
PERFORMANCE_SCHEDULE_INPUT = {"trigger": "schedule", "scheduledTime": "<aws.scheduler.scheduled-time>"}


def build(platform: Platform) -> None:
    config, tables = platform.config, platform.tables
    # pk PO#<id>, sk LINE#<n> / SHIPPED#<shipment> / RECEIPT#<posting> (distsync_core/supplier/performance_store.py)
    performance = platform.table("SupplierPerformanceTable", "pk", sort_key="sk")
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
        SUPPLIER_PERFORMANCE_TABLE_NAME=performance.table_name,
    )
    tables.masterdata.grant_read_write_data(transformer)  # records the supplier's lead time
    # the PO's confirmed lines (a conditional update each, keeping the first confirmation time), the supplier's
    # ship notices (a batch write of one item per PO it names) and its PO goods receipts (a put)
    iam.Grant.add_to_principal(grantee=transformer,
                               actions=["dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:BatchWriteItem"],
                               resource_arns=[performance.table_arn])
    platform.bus.grant_put_events_to(transformer)
    platform.pipeline(
        "SupplierPipeline",
        function=transformer,
        batch_size=5,
        # Every milestone and posting too: the handler keeps a supplier's ship notices and PO goods receipts for
        # supplier performance (no pipeline of their own: the stack is close to CloudFormation's 500 resources).
        routes={
            "distsync.supplier": ("SupplierLeadTimeChanged", "PurchaseOrderConfirmed"),
            "distsync.fulfillment": ("ShipmentMilestone",),
            "distsync.finance": ("FinancialPostingRecorded",),
        },
    )
    _performance(platform, performance)
    # supplier lead times older than the one recorded (they reached distsync late)
    platform.metrics.count("PlanningExceptionsRaised", "StaleLeadTimesIgnored", "SupplierPerformanceMeasured")
    platform.dashboard(
        Domain(
            key="supplier",
            title="Supplier collaboration (lead times, purchase order confirmations, supplier performance)",
            pipelines=("SupplierPipeline",),
            functions=("supplier_performance",),
            metrics=("PlanningExceptionsRaised", "StaleLeadTimesIgnored", "RecordsQuarantined",
                     "SupplierPerformanceMeasured"),
        )
    )
    platform.output("SupplierPerformanceTableName", performance.table_name)


def _performance(platform: Platform, performance: Any) -> None:
    """The measuring function and its weekly schedule."""
    config, tables = platform.config, platform.tables
    function = platform.function(
        "SupplierPerformanceFunction",
        "supplier_performance",
        PERFORMANCE_TIMEOUT,
        "Supplier performance: lead time and fill rate per supplier and item-location, published to planning",
        SUPPLIER_PERFORMANCE_TABLE_NAME=performance.table_name,
        MASTERDATA_TABLE_NAME=tables.masterdata.table_name,
        EVENT_BUS_NAME=platform.bus.event_bus_name,
        SUPPLIER_PERFORMANCE_WINDOW_DAYS=str(config.supplier_performance_window_days),
    )
    iam.Grant.add_to_principal(grantee=function, actions=["dynamodb:Scan"], resource_arns=[performance.table_arn])
    # the master data lead time of each measured item-location
    iam.Grant.add_to_principal(grantee=function, actions=["dynamodb:GetItem"],
                               resource_arns=[tables.masterdata.table_arn])
    platform.bus.grant_put_events_to(function)

    schedule_name = f"distsync-{config.stage}-supplier-performance"
    schedule, _ = invoke_schedule(
        platform.scope,
        "SupplierPerformanceSchedule",
        name=schedule_name,
        description="Weekly supplier performance (lead time, fill rate) to planning",
        role_description=f"{schedule_name}: invokes the supplier performance function, nothing else",
        function=function,
        expression=config.supplier_performance_schedule,
        payload=PERFORMANCE_SCHEDULE_INPUT,
        time_zone="UTC",
    )
    platform.output("SupplierPerformanceFunctionName", function.function_name)
    platform.output("SupplierPerformanceScheduleName", schedule.ref)
