"""Parameter drift (issue 15): per governed item-location, planning's latest recommendation (the ledger),
distsync's last applied parameters (master data) and the ERP's values (each connection's connector), each
difference classified (changed by hand, applied but lost, never applied and why, in sync).

- ``parameter_drift`` scans the master data item-locations, queries the ledger by business key, reads the
  ERP, writes the report under ``reports/drift/`` of the landing bucket (JSON and CSV), publishes one
  ``ParameterDriftDetected`` per drifted item-location and a metric per class (the drift dashboard).
  Invoked with ``fix``, it sends corrections as ``ReplenishmentRecommended`` into the planning pipeline
  (threshold and approvals apply), never to the ERP itself.
- An **EventBridge Scheduler** schedule (``parameterDriftSchedule``, UTC) invokes it daily; its role may invoke
  this one function only. ``distsync drift`` invokes it on demand.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam

from infra.platform import Domain, Platform
from infra.platform.schedule import invoke_schedule

OWNER = "planning-integration"  # the team its functions, pipelines and alarms name (infra/config.py DEFAULT_OWNERS)

REPORT_PREFIX = "reports/drift/"  # distsync_core.drift.store.REPORT_PREFIX
BUSINESS_KEY_INDEX = "byBusinessKey"  # distsync_core.platform.ledger.BUSINESS_KEY_INDEX
TIMEOUT = Duration.minutes(5)  # a scan, a ledger query and an ERP read per item-location
CLASS_METRICS = ("DriftChangedByHand", "DriftAppliedButLost", "DriftNeverApplied", "DriftInSync", "DriftNotCompared")
SCHEDULE_INPUT = {"trigger": "schedule", "scheduledTime": "<aws.scheduler.scheduled-time>"}


def build(platform: Platform) -> None:
    config, tables, bucket = platform.config, platform.tables, platform.landing.bucket
    function = platform.function(
        "ParameterDriftFunction",
        "parameter_drift",
        TIMEOUT,
        "Parameter drift: planning's recommendation, the last applied and the ERP's values per item-location",
        **platform.partner_environment,
        MASTERDATA_TABLE_NAME=tables.masterdata.table_name,
        LANDING_BUCKET_NAME=bucket.bucket_name,
        EVENT_BUS_NAME=platform.bus.event_bus_name,
        APPROVAL_THRESHOLD_PERCENT=str(config.approval_threshold_percent),
        PLANNERS_TOPIC_ARN=platform.notifications.topics["planners"].topic_arn,  # drift found: a message
        CONSOLE_URL=config.console_url,
    )
    platform.notifications.grant_publish("planners", function)
    platform.erp_connections(function)  # ERP_CONNECTIONS and each connection's credentials: the ERP reads
    platform.bus.grant_put_events_to(function)
    # the item-locations (Scan) and, for a correction, master data's "ERP's current parameters" (UpdateItem)
    iam.Grant.add_to_principal(grantee=function, actions=["dynamodb:Scan", "dynamodb:UpdateItem"],
                               resource_arns=[tables.masterdata.table_arn])
    # the ledger of an item-location: its business key index only
    iam.Grant.add_to_principal(grantee=function, actions=["dynamodb:Query"],
                               resource_arns=[f"{tables.trace.table_arn}/index/{BUSINESS_KEY_INDEX}"])
    platform.grant_landing_writes(function, REPORT_PREFIX, f"The drift run writes its report (named by the time of "
                                  f"the run) under {REPORT_PREFIX} of the landing bucket and nothing else of it.")

    schedule_name = f"distsync-{config.stage}-parameter-drift"
    schedule, _ = invoke_schedule(
        platform.scope,
        "ParameterDriftSchedule",
        name=schedule_name,
        description="Daily parameter drift: planning's recommendation, the last applied and the ERP's values",
        role_description=f"{schedule_name}: invokes the parameter drift function, nothing else",
        function=function,
        expression=config.parameter_drift_schedule,
        payload=SCHEDULE_INPUT,
        time_zone="UTC",
    )

    platform.metrics.count(*CLASS_METRICS, "DriftCorrectionsSent")
    platform.dashboard(
        Domain(
            key="drift",
            title="Parameter drift (ERP against distsync's last applied and planning's latest, per class)",
            functions=("parameter_drift",),
            metrics=(*CLASS_METRICS, "DriftCorrectionsSent"),
        )
    )
    platform.output("ParameterDriftFunctionName", function.function_name)
    platform.output("ParameterDriftScheduleName", schedule.ref)
