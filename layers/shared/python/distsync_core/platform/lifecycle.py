"""Deprecation and sunset of contract versions: which versions are deprecated or gone, and what a partner
posting one is told.

A version's lifecycle comes from the registry (``Contract.deprecated``/``sunset``) and, per deployment, from
context ``contractLifecycle`` (``{"<EventType>/<version>": {"deprecated": "<date>", "sunset": "<date>"}}``),
which the stack gives the intake as ``CONTRACT_LIFECYCLE``. A date is an ISO date (midnight UTC) or an ISO
date-time with an offset. The latest version of a type is never deprecated: its successor is the next version.

Headers: ``Deprecation`` (RFC 9745, a structured-field Date ``@<epoch seconds>``, which may lie ahead),
``Sunset`` (RFC 8594, an IMF-fixdate HTTP-date) and ``Link`` to the successor's schema
(``rel="successor-version"``, RFC 5829) and to the catalogue (``rel="deprecation"``, RFC 9745).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime
from functools import cache
from typing import Any, Literal

from ..contracts import CONTRACTS, Contract, latest_version

# Where a partner reads a schema and the deprecation policy: the schemas the repository exports (the same
# files the stack loads into its EventBridge schema registry, distsync-<stage>, under the same names).
SCHEMA_BASE_URL = "https://github.com/distsync/distsync/blob/main/schemas/"
DEPRECATION_POLICY_URL = "https://github.com/distsync/distsync/blob/main/docs/event-catalogue.md"
ENVIRONMENT_VARIABLE = "CONTRACT_LIFECYCLE"

Status = Literal["current", "deprecated", "sunset"]


@dataclass(frozen=True)
class Lifecycle:
    deprecated: datetime | None = None
    sunset: datetime | None = None


def parse_moment(value: Any, what: str) -> datetime:
    """An ISO date (that day, 00:00 UTC) or an ISO date-time with an offset, as an aware UTC datetime."""
    if isinstance(value, str):
        try:
            if len(value) == 10:
                return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                return moment.astimezone(UTC)
    raise ValueError(f"{what} must be an ISO date (2027-06-30) or date-time with an offset, got {value!r}")


def _registry() -> dict[tuple[str, str], Lifecycle]:
    def moment(day: date | None) -> datetime | None:
        return datetime.combine(day, datetime.min.time(), UTC) if day else None

    return {key: Lifecycle(moment(c.deprecated), moment(c.sunset))
            for key, c in CONTRACTS.items() if c.deprecated or c.sunset}


def lifecycles(overrides: Any = None) -> dict[tuple[str, str], Lifecycle]:
    """The registry's lifecycles with ``overrides`` (the context value, as JSON text or an object) applied field
    by field; every entry checked: known type and version, not the latest, sunset after deprecation."""
    table = _registry()
    parsed = json.loads(overrides) if isinstance(overrides, str) and overrides.strip() else overrides or {}
    if not isinstance(parsed, Mapping):
        raise ValueError("contractLifecycle must be a JSON object")
    for key, entry in parsed.items():
        event_type, _, version = str(key).partition("/")
        if (event_type, version) not in CONTRACTS:
            raise ValueError(f"contractLifecycle: {key!r} is not a registered <EventType>/<version>")
        if not isinstance(entry, Mapping) or not entry or set(entry) - {"deprecated", "sunset"}:
            raise ValueError(f"contractLifecycle: {key} takes an object of 'deprecated' and 'sunset' dates")
        current = table.get((event_type, version), Lifecycle())
        table[(event_type, version)] = Lifecycle(
            parse_moment(entry["deprecated"], f"{key} deprecated") if "deprecated" in entry else current.deprecated,
            parse_moment(entry["sunset"], f"{key} sunset") if "sunset" in entry else current.sunset,
        )
    for (event_type, version), life in table.items():
        key = f"{event_type}/{version}"
        if latest_version(event_type).version == version:
            raise ValueError(f"contractLifecycle: {key} is the latest version; it has no successor to move to")
        if life.deprecated is None:
            raise ValueError(f"contractLifecycle: {key} has a sunset but no deprecation date")
        if life.sunset is not None and life.sunset <= life.deprecated:
            raise ValueError(f"contractLifecycle: {key} sunset must come after its deprecation")
    return table


@cache
def _deployed(text: str) -> dict[tuple[str, str], Lifecycle]:
    return lifecycles(text)


def deployed_lifecycles() -> dict[tuple[str, str], Lifecycle]:
    """The registry's lifecycles with this deployment's ``CONTRACT_LIFECYCLE`` (parsed once per value)."""
    return _deployed(os.environ.get(ENVIRONMENT_VARIABLE, ""))


def successor(contract: Contract) -> Contract:
    return CONTRACTS[(contract.event_type, str(int(contract.version) + 1))]


def schema_url(contract: Contract) -> str:
    return f"{SCHEMA_BASE_URL}{contract.schema_name}.json"


def sf_date(moment: datetime) -> str:
    """RFC 9651 Date (RFC 9745 Deprecation): ``@`` and integer seconds since the epoch."""
    return f"@{int(moment.timestamp())}"


def http_date(moment: datetime) -> str:
    """IMF-fixdate (RFC 9110 5.6.7), e.g. ``Wed, 30 Jun 2027 00:00:00 GMT``."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


@dataclass(frozen=True)
class Decision:
    contract: Contract
    status: Status
    lifecycle: Lifecycle | None = None

    @property
    def successor(self) -> Contract | None:
        return successor(self.contract) if self.lifecycle else None

    def headers(self) -> dict[str, str]:
        """What the 202 carries: nothing for a version with no lifecycle; a deprecation announced for a later
        date is told too (RFC 9745 allows a future date), so partners hear of it before it applies."""
        if self.lifecycle is None or self.lifecycle.deprecated is None or self.status == "sunset":
            return {}
        next_version = successor(self.contract)
        headers = {
            "Deprecation": sf_date(self.lifecycle.deprecated),
            "Link": f'<{schema_url(next_version)}>; rel="successor-version", '
                    f'<{DEPRECATION_POLICY_URL}>; rel="deprecation"; type="text/html"',
        }
        if self.lifecycle.sunset is not None:
            headers["Sunset"] = http_date(self.lifecycle.sunset)
        return headers


def decide(contract: Contract, now: datetime, table: Mapping[tuple[str, str], Lifecycle]) -> Decision:
    """``sunset`` from the sunset moment on, ``deprecated`` from the deprecation moment on, else ``current``."""
    life = table.get((contract.event_type, contract.version))
    if life is None:
        return Decision(contract, "current")
    if life.sunset is not None and now >= life.sunset:
        return Decision(contract, "sunset", life)
    if life.deprecated is not None and now >= life.deprecated:
        return Decision(contract, "deprecated", life)
    return Decision(contract, "current", life)
