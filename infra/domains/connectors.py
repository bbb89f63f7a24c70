"""ERP connectors' inbound side: the changes each ERP reports, as governed master data.

- ``POST /v1/connectors/{name}/events`` (``connector_events``): pushed changes (S/4HANA business events through
  an event mesh, Business Central webhook notifications and their validation handshake), authenticated per kind
  inside the function (docs/connectors.md);
- ``connector_sync``: the delta pull of connections that are polled (NetSuite, Business Central), every
  ``connectorPullMinutes`` by EventBridge Scheduler, and the Business Central subscription kept alive (renewed
  before its three-day expiry, every 12 hours);
- the connector state table: each connection's change cursor and subscription.
"""

from __future__ import annotations

import json

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler

from infra.platform import Domain, Platform
from infra.platform.platform import API_TIMEOUT

EVENTS_REASON = (
    "ERPs push to it as their senders can be configured to authenticate, checked inside the function before "
    "anything is read: SAP Event Mesh webhook subscriptions with Basic credentials (compared in constant time), "
    "Business Central with the subscription's clientState in every notification and a validation handshake "
    "answered only while distsync subscribes; neither can sign distsync's HMAC."
)
PULLED_KINDS = ("netsuite", "businesscentral")
SYNC_TIMEOUT = Duration.minutes(5)


def build(platform: Platform) -> None:
    config, tables = platform.config, platform.tables
    state = platform.table("ConnectorStateTable", "connection")
    common = {
        "EVENT_BUS_NAME": platform.bus.event_bus_name,
        "MASTERDATA_TABLE_NAME": tables.masterdata.table_name,
        "QUARANTINE_TABLE_NAME": tables.quarantine.table_name,
        "CONNECTOR_STATE_TABLE_NAME": state.table_name,
    }
    events = platform.function(
        "ConnectorEventsFunction", "connector_events", API_TIMEOUT,
        "Takes the changes ERPs push (S/4HANA events, Business Central notifications) as master data", **common)
    sync = platform.function(
        "ConnectorSyncFunction", "connector_sync", SYNC_TIMEOUT,
        "Pulls ERP changes since each connection's cursor; keeps Business Central subscriptions alive",
        CONNECTOR_EVENTS_URL=f"{platform.api.api.url}v1/connectors", **common)
    for fn in (events, sync):
        platform.erp_connections(fn)
        platform.bus.grant_put_events_to(fn)
        tables.masterdata.grant_read_data(fn)
        tables.grant_quarantine_write(fn)
        state.grant_read_write_data(fn)
    platform.api.add_route("v1/connectors/{name}/events", "POST", events, no_authorizer_reason=EVENTS_REASON)

    for connection in config.erp_connections:
        if connection["kind"] in PULLED_KINDS:
            _schedule(platform, sync, connection["name"], "sync", f"rate({config.connector_pull_minutes} minutes)")
        if connection["kind"] == "businesscentral":
            _schedule(platform, sync, connection["name"], "subscribe", "rate(12 hours)")
    platform.output("ConnectorSyncFunctionName", sync.function_name)
    platform.output("ConnectorStateTableName", state.table_name)
    platform.dashboard(Domain(key="connectors", title="ERP connectors (pushed and pulled changes)",
                              functions=("connector_events", "connector_sync"), api=True))


def _schedule(platform: Platform, function, name: str, action: str, expression: str) -> None:
    stack = Stack.of(platform.scope)
    schedule_name = f"distsync-{platform.config.stage}-connector-{name}-{action}"
    schedule_arn = stack.format_arn(service="scheduler", resource="schedule",
                                    resource_name=f"default/{schedule_name}", arn_format=ArnFormat.SLASH_RESOURCE_NAME)
    construct = f"Connector{name.capitalize()}{action.capitalize()}"
    role = iam.Role(
        platform.scope, f"{construct}ScheduleRole",
        description=f"{schedule_name}: invokes the connector sync function, nothing else",
        assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com", conditions={
            "StringEquals": {"aws:SourceAccount": stack.account}, "ArnEquals": {"aws:SourceArn": schedule_arn}}),
    )
    role.add_to_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function.function_arn]))
    scheduler.CfnSchedule(
        platform.scope, f"{construct}Schedule",
        name=schedule_name,
        description=f"ERP connection {name}: {action}",
        schedule_expression=expression,
        flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
        state="ENABLED",
        target=scheduler.CfnSchedule.TargetProperty(
            arn=function.function_arn, role_arn=role.role_arn,
            input=json.dumps({"connection": name, "action": action}),
            retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_event_age_in_seconds=600,
                                                                  maximum_retry_attempts=2),
        ),
    )
