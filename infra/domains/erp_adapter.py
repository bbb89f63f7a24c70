"""ERP adapter: replenishment parameter updates applied through each ERP connection's connector, once each.

One pipeline (queue + DLQ + alarm) per connection of context ``erpConnections``, so a slow or down ERP never
holds back another: the planning transformer names the owning connection on each update (``erpConnection``)
and each connection's rule takes its own. The first ``rest`` connection (else the first) keeps the pipeline id
of the single-ERP stack (``ErpUpdatePipeline``: its queue updates in place) and also takes updates that name no
connection (in flight at deploy, or replayed from before connections).

Freeze windows (context ``freezeWindows`` and manual ones, issue 15): the updater keeps a write inside a window
in the freeze table and acknowledges it (held, not failed: no receive of it counts towards the DLQ); the
freeze function, every minute and on ``distsync freeze end``, sends what no window covers any more back to
its connection's queue, oldest first."""

from __future__ import annotations

import json

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam

from infra.platform import Domain, Platform
from infra.platform.platform import PARTNER_CALL_TIMEOUT
from infra.platform.schedule import invoke_schedule

OWNER = "planning-integration"  # the team its functions, pipelines and alarms name (infra/config.py DEFAULT_OWNERS)


def pipeline_id(name: str, legacy: bool) -> str:
    return "ErpUpdatePipeline" if legacy else f"ErpUpdatePipeline{name.capitalize()}"


def build(platform: Platform) -> None:
    config, tables = platform.config, platform.tables
    # pk "WINDOW" (manual windows) or "HELD" (held writes, oldest first by sk); see distsync_core/connectors/freeze_store.py
    freeze = platform.table("FreezeTable", "pk", sort_key="sk", ttl_attribute="expiresAt")
    freeze_windows = json.dumps(config.freeze_windows, separators=(",", ":"), sort_keys=True)
    updater = platform.function(
        "ErpUpdaterFunction",
        "erp_updater",
        PARTNER_CALL_TIMEOUT,
        "Applies replenishment parameter updates through each ERP connection's connector",
        **platform.partner_environment,
        EVENT_BUS_NAME=platform.bus.event_bus_name,
        MASTERDATA_TABLE_NAME=tables.masterdata.table_name,
        FREEZE_TABLE_NAME=freeze.table_name,
        FREEZE_WINDOWS=freeze_windows,
    )
    # Reads the manual windows (Query), puts the writes it holds.
    iam.Grant.add_to_principal(grantee=updater, actions=["dynamodb:Query", "dynamodb:PutItem"],
                               resource_arns=[freeze.table_arn])
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
    _freeze_function(platform, freeze, freeze_windows, {c["name"]: pipelines[i] for i, c in enumerate(connections)})
    platform.metrics.count("ErpUpdatesApplied", "ErpUpdatesSuperseded", "ErpWritesHeld")
    platform.dashboard(
        Domain(
            key="erp-adapter",
            title="ERP adapter (replenishment parameter updates, one pipeline per ERP connection)",
            pipelines=tuple(pipelines),
            functions=("freeze_windows",),
            metrics=("ErpUpdatesApplied", "ErpUpdatesSuperseded", "ErpWritesHeld", "RecordsRetried",
                     "RecordsDeadLettered", "ForecastToErpLatency"),
        )
    )


def _freeze_function(platform: Platform, freeze: dynamodb.Table, windows: str, pipelines: dict[str, str]) -> None:
    """Lists, adds and ends windows (``distsync freeze``) and releases held writes (every minute)."""
    queues = {name: platform.pipelines[pid].queue for name, pid in pipelines.items()}
    function = platform.function(
        "FreezeWindowsFunction", "freeze_windows", Duration.minutes(1),
        "Freeze windows of ERP writes: lists, adds and ends them; releases held writes when their window ends",
        FREEZE_TABLE_NAME=freeze.table_name,
        FREEZE_WINDOWS=windows,
        ERP_UPDATE_QUEUES=json.dumps({name: q.queue_url for name, q in queues.items()}, separators=(",", ":")),
    )
    function.add_environment("ERP_CONNECTIONS", platform.config.erp_connections_environment())  # names only: no secrets
    iam.Grant.add_to_principal(
        grantee=function, resource_arns=[freeze.table_arn],
        actions=["dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                 "dynamodb:BatchWriteItem"])
    # SendMessage only: it has the URLs (SQS-managed encryption, so no KMS either).
    iam.Grant.add_to_principal(grantee=function, actions=["sqs:SendMessage"],
                               resource_arns=[q.queue_arn for q in queues.values()])
    name = f"distsync-{platform.config.stage}-freeze-release"
    # Every minute: a held write waits at most a minute past its window's end (an ended manual window releases
    # at once). One schedule for every window, rather than one per window end, keeps overlaps one decision.
    invoke_schedule(
        platform.scope, "FreezeReleaseSchedule", name=name,
        description="Releases ERP writes held by freeze windows that have ended",
        role_description=f"{name}: invokes the freeze windows function, nothing else",
        function=function, expression="rate(1 minute)", payload={"action": "release"},
        max_event_age_seconds=60, max_retries=0)
    platform.output("FreezeWindowsFunctionName", function.function_name)
    platform.output("FreezeTableName", freeze.table_name)
