"""Connector events API: ``POST /v1/connectors/{name}/events``, where ERPs push their changes.

Each kind authenticates as its sender can be configured to: SAP Event Mesh webhook subscriptions with Basic
authentication (``inboundUser``/``inboundPassword`` in the connection's secret); Business Central with the
subscription's ``clientState`` in every notification, and its validation handshake (``?validationToken=``,
echoed only while distsync is subscribing). The changes are read back from the ERP where the push carries keys
only (claim check), then published as ``ItemLocationUpserted`` (or quarantined with the reason)."""

from __future__ import annotations

import hmac
import uuid
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.connectors.factory import connections, connector, credentials
from distsync_core.connectors.landscape import Connection
from distsync_core.connectors.port import ConnectorError
from distsync_core.connectors.publishing import publish_changes
from distsync_core.connectors.state import ConnectorState
from distsync_core.platform.api import raw_body, resolver
from distsync_core.platform.config import env
from distsync_core.platform.observability import instrument, logger
from distsync_core.platform.problems import BadRequest, NotFound, PayloadTooLarge, Unauthorized
from distsync_core.platform.webhooks import MAX_BODY_BYTES, header

app = resolver()


@app.post("/v1/connectors/<name>/events")
def receive(name: str) -> Response:
    connection = next((c for c in connections() if c.name == name), None)
    if connection is None:
        raise NotFound(f"no ERP connection named {name!r}")
    body = raw_body(app)
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}")
    correlation_id = f"{name}-{uuid.uuid4()}"  # one transaction per push, under the connection's name
    logger.set_correlation_id(correlation_id)
    if connection.kind == "s4hana":
        return _accepted(_s4hana(connection, body, correlation_id), correlation_id)
    if connection.kind == "businesscentral":
        return _businesscentral(connection, body, correlation_id)
    raise NotFound(f"connection {name} ({connection.kind}) pushes no events: its changes are pulled "
                   "(distsync connectors sync)")


def _s4hana(connection: Connection, body: bytes, correlation_id: str) -> dict[str, Any]:
    secret = credentials(connection)
    _require_basic(secret.get("inboundUser"), secret.get("inboundPassword"))
    erp: Any = connector(connection)
    try:
        changes = erp.parse_business_event(body)
    except ConnectorError as exc:
        raise BadRequest(str(exc)) from exc
    return publish_changes(connection.name, erp.claim_check(changes, correlation_id=correlation_id),
                           correlation_id=correlation_id).as_dict()


def _businesscentral(connection: Connection, body: bytes, correlation_id: str) -> Response:
    from distsync_core.connectors.businesscentral import ClientStateMismatch, CollectionChanged

    query = app.current_event.query_string_parameters or {}
    if "validationToken" in query:  # BC checks the URL before it creates or renews a subscription
        pending = ConnectorState(env("CONNECTOR_STATE_TABLE_NAME")).pending(connection.name)
        erp: Any = connector(connection)
        status, text = erp.validation_response(query, pending=pending)
        return Response(status_code=status, content_type="text/plain", body=text)
    erp = connector(connection)
    try:
        changes = erp.parse_notification(body, credentials(connection).get("clientState", ""),
                                         correlation_id=correlation_id)
    except ClientStateMismatch as exc:
        raise Unauthorized(f"{connection.name}: {exc}") from exc
    except ConnectorError as exc:
        raise BadRequest(str(exc)) from exc
    if any(isinstance(c, CollectionChanged) for c in changes):  # too many changes: pull them instead
        from distsync_core.connectors.sync import pull

        pulled = pull(connection, correlation_id=correlation_id)
        changes = [c for c in changes if not isinstance(c, CollectionChanged)]
        result = publish_changes(connection.name, changes, correlation_id=correlation_id).as_dict()
        return _accepted({**result, "pulled": pulled}, correlation_id)
    return _accepted(publish_changes(connection.name, changes, correlation_id=correlation_id).as_dict(), correlation_id)


def _require_basic(user: str | None, password: str | None) -> None:
    import base64

    if not user or not password:
        raise Unauthorized("this connection has no inbound credentials configured (inboundUser/inboundPassword)")
    given = header(app.current_event.headers, "Authorization") or ""
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    if not given.isascii() or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("Basic credentials missing or wrong")


def _accepted(result: dict[str, Any], correlation_id: str) -> Response:
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON,
                    body={**result, "correlationId": correlation_id}, headers={"X-Correlation-Id": correlation_id})


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
