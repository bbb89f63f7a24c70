"""Connector upkeep, invoked by EventBridge Scheduler (and by ``distsync connectors sync|subscribe``):

- ``{"connection": <name>, "action": "sync"}``: a delta pull from the stored cursor (NetSuite's SuiteQL,
  Business Central's lastModifiedDateTime), published as master data;
- ``{"connection": <name>, "action": "stock"}``: the ERP's stock of every governed item-location the connection
  owns, published as ``InventoryBalanceChanged`` (source ``erp``);
- ``{"connection": <name>, "action": "subscribe"}``: create or renew the Business Central webhook subscription
  (renewed when it is within a day of its three-day expiry), answering BC's validation handshake meanwhile
  (the events API sees the subscription pending in the connector state table)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.connectors.factory import connections, connector
from distsync_core.connectors.landscape import Connection
from distsync_core.connectors.state import ConnectorState
from distsync_core.connectors.sync import pull
from distsync_core.platform import ledger
from distsync_core.platform.config import env
from distsync_core.platform.observability import instrument, logger


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    name, action = event.get("connection"), event.get("action", "sync")
    connection = next((c for c in connections() if c.name == name), None)
    if connection is None:
        return {"error": f"no ERP connection named {name!r}"}
    correlation_id = f"{name}-{action}-{uuid.uuid4()}"
    logger.set_correlation_id(correlation_id)
    if action == "sync":
        result: dict[str, Any] = pull(connection, correlation_id=correlation_id)
    elif action == "subscribe" and connection.kind == "businesscentral":
        result = subscribe(connection, correlation_id)
    elif action == "check":
        result = check(connection, correlation_id)
    elif action == "stock":
        from distsync_core.connectors.stock import pull_stock

        result = pull_stock(connection, correlation_id=correlation_id)
    else:
        return {"error": f"{connection.name} ({connection.kind}) has no action {action!r}"}
    ledger.hop(correlation_id, f"connector:{name}", "ok", f"{action}: {result}")
    return {"connection": name, "action": action, "correlationId": correlation_id, **result}


def check(connection: Connection, correlation_id: str) -> dict[str, Any]:
    """What `distsync connectors check` reports: the credentials work and a read succeeds (a probe that
    changes nothing), and how far the ERP's clock is from this one. Writes are not tried: they would change
    data; the ERP-side permissions for them are in docs/connectors/<kind>.md."""
    from email.utils import parsedate_to_datetime

    from distsync_core.connectors.port import ConnectorError
    from distsync_core.contracts import utcnow
    from distsync_core.partners.base import PartnerRejected, PartnerUnavailable

    erp: Any = connector(connection)
    mapped = connection.options.get("plantMap") or connection.options.get("locationMap") or {}
    probe = next(iter(mapped), connection.locations[0].replace("*", "CHECK"))  # a location the kind can address
    try:
        if connection.kind in ("netsuite", "businesscentral"):
            erp.read_changes(None, correlation_id=correlation_id, limit=1)
        else:
            erp.read_parameters("DISTSYNC-CHECK", probe, correlation_id=correlation_id)
    except (PartnerRejected, PartnerUnavailable, ConnectorError) as exc:
        return {"ok": False, "read": f"failed: {exc}"}
    date = getattr(getattr(erp, "http", None), "last_date", None)
    skew = round((parsedate_to_datetime(date) - utcnow()).total_seconds(), 1) if date else None
    return {"ok": True, "auth": "ok", "read": "ok", "clockSkewSeconds": skew,
            "writes": "not tried (they would change data): see the ERP-side permissions in the docs"}


def subscribe(connection: Connection, correlation_id: str) -> dict[str, Any]:
    from distsync_core.connectors.businesscentral import Subscription
    from distsync_core.connectors.factory import credentials
    from distsync_core.connectors.port import NotFound

    state = ConnectorState(env("CONNECTOR_STATE_TABLE_NAME"))
    erp: Any = connector(connection)
    current = state.get(connection.name).get("subscription")
    state.mark_pending(connection.name)
    try:
        if current and not Subscription(**current).needs_renewal():
            return {"subscription": current["subscription_id"], "renewed": False}
        try:
            if current:
                subscription = erp.renew(Subscription(**current), correlation_id=correlation_id)
            else:
                raise NotFound("no subscription yet")
        except NotFound:
            url = f"{env('CONNECTOR_EVENTS_URL').rstrip('/')}/{connection.name}/events"
            client_state = credentials(connection).get("clientState")
            if not client_state:  # the events API checks every notification against the secret's
                return {"error": f"{connection.name}: its secret has no clientState for BC's notifications"}
            subscription = erp.subscribe(url, client_state, correlation_id=correlation_id)
        state.save_subscription(connection.name, asdict(subscription))
        return {"subscription": subscription.subscription_id, "expires": subscription.expiration, "renewed": True}
    finally:
        state.clear_pending(connection.name)
