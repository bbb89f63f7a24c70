"""Connectors built from the function's environment: ``ERP_CONNECTIONS`` (the landscape) and each
connection's secret (Secrets Manager, cached five minutes by Powertools, so a rotated secret is picked up
without a redeploy). One connector per connection and container (one connection pool, one token cache)."""

from __future__ import annotations

import importlib
import json
from typing import Any

from ..platform.config import env
from .landscape import Connection, owner, parse
from .port import ErpConnector

SECRET_CACHE_SECONDS = 300
# kind -> "module:Class" under distsync_core.connectors (imported on first use: cold start)
KIND_CLASSES = {
    "rest": "rest:RestConnector",
    "s4hana": "s4hana:S4HanaConnector",
    "netsuite": "netsuite:NetSuiteConnector",
    "businesscentral": "businesscentral:BusinessCentralConnector",
}
_connectors: dict[tuple[str, str, str], ErpConnector] = {}  # (name, kind, base URL) -> connector


def connections() -> list[Connection]:
    """The landscape; without ``ERP_CONNECTIONS``, one ``rest`` connection at ``ERP_BASE_URL`` owning every
    location (a function deployed before connections, and the tests of a single ERP)."""
    import os

    raw = os.environ.get("ERP_CONNECTIONS")
    if not raw:
        return [Connection("rest", "rest", os.environ.get("ERP_BASE_URL", ""), ("*",))]
    return parse(raw)


def connection_named(name: str | None, location_id: str) -> Connection | None:
    """The connection an update names, else the one that owns its location."""
    landscape = connections()
    named = next((c for c in landscape if c.name == name), None) if name else None
    return named or owner(location_id, landscape)


def connector_for_location(location_id: str) -> ErpConnector | None:
    found = owner(location_id, connections())
    return connector(found) if found else None


def connector(connection: Connection) -> ErpConnector:
    key = (connection.name, connection.kind, connection.base_url)
    if key not in _connectors:
        module, cls = KIND_CLASSES[connection.kind].split(":")
        kind = getattr(importlib.import_module(f"{__package__}.{module}"), cls)
        options = dict(connection.options)
        if connection.requests_per_second:  # each of the queue's concurrent batches takes its share
            share = connection.requests_per_second / max(1, connection.max_concurrency or 1)
            options["http"] = {**options.get("http", {}), "requests_per_second": share}
        if connection.kind == "rest":  # the ERP client's retry settings, as the other partner clients have them
            options["http"] = {"max_attempts": int(env("ERP_MAX_ATTEMPTS", "4")),
                               "backoff_seconds": float(env("ERP_BACKOFF_SECONDS", "0.5")),
                               "timeout_seconds": float(env("ERP_TIMEOUT_SECONDS", "5")), **options.get("http", {})}
        _connectors[key] = kind(connection.name, connection.base_url, _credentials(connection.secret_id), options)
    return _connectors[key]


def credentials(connection: Connection) -> dict[str, str]:
    """The connection's secret (cached five minutes): its inbound settings (S/4HANA event mesh credentials,
    Business Central clientState) live beside the outbound ones."""
    return dict(_credentials(connection.secret_id)())


def _credentials(secret_id: str | None) -> Any:
    def read(force: bool = False) -> dict[str, str]:
        """``force``: after the ERP refused the cached credentials (401), past the cache: a rotated secret."""
        if secret_id is None:
            return {}
        from aws_lambda_powertools.utilities import parameters

        value = parameters.get_secret(secret_id, max_age=SECRET_CACHE_SECONDS, force_fetch=force)
        return json.loads(str(value))

    return read
