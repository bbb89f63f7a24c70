"""ERP connectors' inbound side: the changes each ERP reports, as governed master data.

- ``POST /v1/connectors/{name}/events`` (``connector_events``): pushed changes (S/4HANA business events through
  an event mesh, Business Central webhook notifications and their validation handshake), authenticated per kind
  inside the function (docs/connectors.md);
- ``connector_sync``: the delta pull of connections that are polled (NetSuite, Business Central), every
  ``connectorPullMinutes`` by EventBridge Scheduler, and the Business Central subscription kept alive (renewed
  before its three-day expiry, every 12 hours);
- ``connector_sync`` also pulls each connection's stock of the governed item-locations it owns every
  ``connectorStockMinutes`` (``InventoryBalanceChanged``, source erp);
- the connector state table: each connection's change cursor and subscription.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_

from infra.platform import Domain, Platform
from infra.platform.platform import API_TIMEOUT
from infra.platform.schedule import invoke_schedule

OWNER = "integration-platform"  # the team its functions, pipelines and alarms name (infra/config.py DEFAULT_OWNERS)

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
        if connection["kind"] != "rest":  # the REST ERP pushes its balances as signed webhooks
            _schedule(platform, sync, connection["name"], "stock", f"rate({config.connector_stock_minutes} minutes)")
    platform.output("ConnectorSyncFunctionName", sync.function_name)
    platform.output("ConnectorStateTableName", state.table_name)
    platform.dashboard(Domain(key="connectors", title="ERP connectors (pushed and pulled changes)",
                              functions=("connector_events", "connector_sync"), api=True))


def _schedule(platform: Platform, function: lambda_.IFunction, name: str, action: str, expression: str) -> None:
    schedule_name = f"distsync-{platform.config.stage}-connector-{name}-{action}"
    invoke_schedule(
        platform.scope,
        f"Connector{name.capitalize()}{action.capitalize()}Schedule",
        name=schedule_name,
        description=f"ERP connection {name}: {action}",
        role_description=f"{schedule_name}: invokes the connector sync function, nothing else",
        function=function,
        expression=expression,
        payload={"connection": name, "action": action},
        max_event_age_seconds=600,
        max_retries=2,
    )
