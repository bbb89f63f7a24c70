"""One landscape of many ERPs: which connection owns an item-location. Plain Python, no AWS.

Context ``erpConnections`` (a list, in order) becomes the functions' ``ERP_CONNECTIONS``; a location belongs to
the first connection with a glob (``fnmatch``, case-sensitive) that matches it, so specific patterns go before a
catch-all ``*``. A location no connection owns is quarantined with that reason."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

KINDS = ("rest", "s4hana", "netsuite", "businesscentral")


@dataclass(frozen=True)
class Connection:
    name: str
    kind: str
    base_url: str
    locations: tuple[str, ...]
    secret_id: str | None = None  # the connection's credentials (a JSON secret, by name or ARN); none for rest
    max_concurrency: int | None = None
    requests_per_second: float | None = None
    approval_threshold_percent: float | None = None  # overrides approvalThresholdPercent for its locations
    options: dict[str, Any] = field(default_factory=dict)

    def owns(self, location_id: str) -> bool:
        return any(fnmatchcase(location_id, pattern) for pattern in self.locations)


def parse(raw: str | list[dict[str, Any]]) -> list[Connection]:
    """The ``ERP_CONNECTIONS`` value (JSON text, or the list itself)."""
    items = json.loads(raw) if isinstance(raw, str) else raw
    connections = []
    for item in items:
        if item.get("kind") not in KINDS:
            raise ValueError(f"ERP connection {item.get('name')!r}: kind must be one of {', '.join(KINDS)}")
        connections.append(Connection(
            name=item["name"], kind=item["kind"], base_url=item["baseUrl"], locations=tuple(item["locations"]),
            secret_id=item.get("secretName") or item.get("secretArn"), max_concurrency=item.get("maxConcurrency"),
            requests_per_second=item.get("requestsPerSecond"),
            approval_threshold_percent=item.get("approvalThresholdPercent"), options=item.get("options", {})))
    return connections


def owner(location_id: str, connections: list[Connection]) -> Connection | None:
    return next((c for c in connections if c.owns(location_id)), None)
