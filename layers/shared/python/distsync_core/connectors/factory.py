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
_connectors: dict[str, ErpConnector] = {}


def connections() -> list[Connection]:
    return parse(env("ERP_CONNECTIONS"))


def connector_for_location(location_id: str) -> ErpConnector | None:
    found = owner(location_id, connections())
    return connector(found) if found else None


def connector(connection: Connection) -> ErpConnector:
    if connection.name not in _connectors:
        module, cls = KIND_CLASSES[connection.kind].split(":")
        kind = getattr(importlib.import_module(f"{__package__}.{module}"), cls)
        _connectors[connection.name] = kind(connection.name, connection.base_url,
                                            _credentials(connection.secret_arn), connection.options)
    return _connectors[connection.name]


def _credentials(secret_arn: str | None) -> Any:
    def read() -> dict[str, str]:
        if secret_arn is None:
            return {}
        from aws_lambda_powertools.utilities import parameters

        value = parameters.get_secret(secret_arn, max_age=SECRET_CACHE_SECONDS)
        return json.loads(str(value))

    return read
