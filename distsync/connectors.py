"""ERP connections of a stack (local or deployed): list them with their state, and run a connection's
check, delta pull or Business Central subscription now, as the schedule would (the stack's connector sync
function, invoked through Lambda; locally moto's Invoke is routed to the local workers)."""

from __future__ import annotations

import json
from typing import Any

from .target import OpsError, Target

INVOKE_READ_TIMEOUT_SECONDS = 320  # the sync function's timeout is 5 minutes


def connections(target: Target) -> list[dict[str, Any]]:
    """The landscape as the functions have it (context erpConnections), with each connection's cursor and
    Business Central subscription from the connector state table."""
    from distsync_core.platform.aws import client

    config = client("lambda").get_function_configuration(FunctionName=target.output("ConnectorSyncFunctionName"))
    landscape = json.loads(config["Environment"]["Variables"]["ERP_CONNECTIONS"])
    state_table = target.output("ConnectorStateTableName")
    states = {}
    for item in client("dynamodb").scan(TableName=state_table).get("Items", []):
        from distsync_core.platform.dynamo import from_wire

        row = from_wire(item)
        states[row["connection"]] = row
    out = []
    for c in landscape:
        state = states.get(c["name"], {})
        subscription = state.get("subscription") or {}
        out.append({"name": c["name"], "kind": c["kind"], "locations": c["locations"], "baseUrl": c["baseUrl"],
                    "cursor": state.get("cursor"), "pulledAt": state.get("pulledAt"),
                    "subscriptionExpires": subscription.get("expiration")})
    return out


def run(target: Target, name: str, action: str) -> dict[str, Any]:
    result = target.invoke("ConnectorSyncFunctionName", {"connection": name, "action": action},
                           what=f"{name} {action}", read_timeout=INVOKE_READ_TIMEOUT_SECONDS)
    if not isinstance(result, dict):
        raise OpsError(f"{name} {action} returned no result: {result!r}")
    if "error" in result:
        raise OpsError(result["error"])
    return result
