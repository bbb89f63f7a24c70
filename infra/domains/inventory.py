"""Inventory availability: the available-to-promise projection per item-location (the newest balance wins),
served to sales channels by a signed API; and the inventory visibility accuracy KPI (issue 16): each source's
newest balance, kept in the same table, ERP against WMS per item-location.

- ``inventory_accuracy`` scans the projection's per-source balances, writes the report to the landing bucket
  under ``reports/inventory-accuracy/`` (JSON, and CSV of the disagreeing item-locations) and emits
  ``InventoryAccuracyPercent``; an alarm fires below ``inventoryAccuracyTargetPercent``.
- An **EventBridge Scheduler** schedule (``inventoryAccuracySchedule``, UTC) invokes it daily; its role may
  invoke this one function only. ``distsync inventory accuracy`` and ``distsync kpis`` invoke it on demand.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam

from infra.platform import Domain, Platform
from infra.platform.platform import API_TIMEOUT, TRANSFORMER_TIMEOUT
from infra.platform.schedule import invoke_schedule

OWNER = "inventory"  # the team its functions, pipelines and alarms name (infra/config.py DEFAULT_OWNERS)

ACCURACY_METRIC = "InventoryAccuracyPercent"
ACCURACY_REPORT_PREFIX = "reports/inventory-accuracy/"  # distsync_core.inventory.reports.REPORT_PREFIX
ACCURACY_TIMEOUT = Duration.minutes(5)  # a scan of the projection and two uploads
ACCURACY_ALARM_PERIOD = Duration.hours(1)
SCHEDULE_INPUT = {"trigger": "schedule", "scheduledTime": "<aws.scheduler.scheduled-time>"}


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

    accuracy_alarm = _accuracy(platform, inventory)

    platform.metrics.count("StaleBalancesIgnored")
    platform.metrics.latency("InventoryFreshness", "s")  # balance as-of -> applied to the ATP projection
    platform.dashboard(
        Domain(
            key="inventory",
            title="Inventory availability (balances, available to promise)",
            pipelines=("InventoryPipeline",),
            functions=("atp_api", "inventory_accuracy"),
            metrics=("StaleBalancesIgnored", "RecordsQuarantined", "InventoryFreshness", ACCURACY_METRIC),
            alarms=(accuracy_alarm,),
        )
    )
    platform.output("InventoryTableName", inventory.table_name)


def _accuracy(platform: Platform, inventory: dynamodb.Table) -> str:
    """The accuracy function, its daily schedule and its alarm; returns the alarm's name."""
    config, bucket = platform.config, platform.landing.bucket
    function = platform.function(
        "InventoryAccuracyFunction",
        "inventory_accuracy",
        ACCURACY_TIMEOUT,
        "Inventory visibility accuracy: ERP against WMS on-hand per item-location, report to S3, metric",
        INVENTORY_TABLE_NAME=inventory.table_name,
        LANDING_BUCKET_NAME=bucket.bucket_name,
        ACCURACY_AS_OF_TOLERANCE_MINUTES=str(config.inventory_accuracy_as_of_tolerance_minutes),
        ACCURACY_QUANTITY_TOLERANCE=str(config.inventory_accuracy_quantity_tolerance),
        ACCURACY_QUANTITY_TOLERANCE_PERCENT=str(config.inventory_accuracy_quantity_tolerance_percent),
        ACCURACY_TARGET_PERCENT=str(config.inventory_accuracy_target_percent),
    )
    # a scan only (no grant_read_data: it adds GetItem, Query, ...), and the report's two objects
    iam.Grant.add_to_principal(grantee=function, actions=["dynamodb:Scan"], resource_arns=[inventory.table_arn])
    platform.grant_landing_writes(function, ACCURACY_REPORT_PREFIX, "The accuracy run writes its report (named by the "
                                  f"time of the run) under {ACCURACY_REPORT_PREFIX} of the landing bucket and nothing "
                                  "else of it.")

    schedule_name = f"distsync-{config.stage}-inventory-accuracy"
    schedule, _ = invoke_schedule(
        platform.scope,
        "InventoryAccuracySchedule",
        name=schedule_name,
        description="Daily inventory visibility accuracy: ERP against WMS on-hand per item-location",
        role_description=f"{schedule_name}: invokes the inventory accuracy function, nothing else",
        function=function,
        expression=config.inventory_accuracy_schedule,
        payload=SCHEDULE_INPUT,
        time_zone="UTC",
    )

    # A count (sum per 5 min) on the dashboard: one run per period, so the sum is the run's figure. The alarm
    # takes the minimum, right however many on-demand runs share an hour. No run, no datapoint: not breaching.
    platform.metrics.count(ACCURACY_METRIC)
    alarm_name = f"distsync-{config.stage}-inventory-accuracy"
    alarm = cloudwatch.Alarm(
        platform.scope,
        "InventoryAccuracyAlarm",
        alarm_name=alarm_name,
        alarm_description=f"distsync-{config.stage}: inventory visibility accuracy (ERP against WMS on-hand) below "
        f"{config.inventory_accuracy_target_percent:g} % (the report under {ACCURACY_REPORT_PREFIX} lists the "
        f"disagreeing item-locations; distsync inventory accuracy re-runs it). Owner: {platform.owner()}",
        metric=platform.metrics.metric(ACCURACY_METRIC, statistic="Minimum", period=ACCURACY_ALARM_PERIOD,
                                       labelled=False),
        threshold=config.inventory_accuracy_target_percent,
        comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    alarm.add_alarm_action(cw_actions.SnsAction(platform.alarm_topic))
    platform.output("InventoryAccuracyFunctionName", function.function_name)
    platform.output("InventoryAccuracyScheduleName", schedule.ref)
    return alarm_name
