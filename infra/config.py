"""Typed view of the CDK context keys of docs/infrastructure-contract.md.

Defaults live here *and* in cdk.json (the contract says cdk.json carries them); a test keeps the two equal.
Values given on the command line (``-c key=value``) arrive as strings, so every field is coerced.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a type only: importing it starts jsii's Node process, which the pure checks here never need
    from constructs import Node

# Partners that may drop files (the folder under inbound/ is the partner id); cdk.json carries the same.
DEFAULT_FILE_PARTNERS: dict[str, dict] = {
    "acme-3pl": {
        "source": "wms", "senderIds": ["ACMEWMS"], "receiverIds": ["DISTSYNC"], "formats": ["x12", "edifact"],
        "locationMap": {"ACME-E1": "DC-EAST", "ACME-W1": "DC-WEST"}, "defaultLocationId": "DC-EAST",
    },
    "globex-supplier": {
        "source": "supplier", "senderIds": ["1556150"], "formats": ["x12", "edifact"], "supplierId": "SUP-1",
        "defaultLocationId": "DC-EAST",
    },
    "planning": {"source": "planning", "formats": ["csv"]},
    "erp": {"source": "erp", "formats": ["csv"]},
}
FILE_PARTNER_SOURCES = frozenset({"erp", "planning", "wms", "tms", "supplier"})
_PARTNER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")

ERP_CONNECTION_KINDS = ("rest", "s4hana", "netsuite", "businesscentral")
_CONNECTION_NAME = re.compile(r"^[a-z][a-z0-9]{0,19}$")
DEFAULT_ERP_CONNECTIONS: list[dict] = [{"name": "rest", "kind": "rest", "locations": ["*"]}]
DEFAULT_FREEZE_WINDOWS: list[dict] = []

CONTEXT_DEFAULTS: dict[str, str | int | float | dict] = {
    "stage": "dev",
    "approvalThresholdPercent": 20,
    "approvalTimeoutSeconds": 86400,
    "maxReceiveCount": 3,
    "erpBaseUrl": "https://erp.example.invalid/api",
    "wmsBaseUrl": "https://wms.example.invalid/api",
    "erpMaxAttempts": 4,
    "logRetentionDays": 30,
    "archiveRetentionDays": 90,
    "dlqMaxAgeMinutes": 60,
    "errorRatePercent": 5,
    "forecastToErpSlaSeconds": 900,
    "approvalTurnaroundSlaHours": 24,
    "wafRateLimitPer5Min": 2000,
    "webhookRateLimit": 100,
    "webhookBurstLimit": 200,
    "planningBaseUrl": "https://planning.example.invalid/api",
    "channelsBaseUrl": "https://channels.example.invalid/api",
    "atpHorizonDays": 14,
    "leadTimeExceptionPercent": 25,
    "planningSyncMaxReceiveCount": 20,
    "planningSyncMaxLagMinutes": 60,
    "shipmentExceptionTimeoutSeconds": 172800,
    "fileArchiveTransitionDays": 90,
    "fileRejectedExpiryDays": 365,
    # partner id (the folder under inbound/) -> profile; see distsync_core/files/intake.py partner_profiles
    "filePartners": DEFAULT_FILE_PARTNERS,
    # segments (EDI) or rows (CSV) per partner file; past it the file is rejected unread
    "fileMaxRecords": 200_000,
    "cycleTolerancePercent": 2,
    "cycleChunkSize": 500,
    "cycleMaxConcurrency": 10,
    # a forecast cycle file past either is rejected: its plain (unzipped) bytes and its data rows
    "cycleMaxUnzippedBytes": 1_073_741_824,
    "cycleMaxRows": 10_000_000,
    "reconciliationSchedule": "cron(30 2 * * ? *)",
    "reconciliationTimeZone": "UTC",
    # X-Ray SDK subsegments (Powertools Tracer) in the functions; Lambda's active tracing is on either way
    "xraySdkSubsegments": False,
    # how far ahead of distsync's clock an event's business time may be (occurredAt, asOf, milestoneAt)
    "maxFutureSkewMinutes": 15,
    # while partners move from the one shared webhook key to their own: also accept the old shared key on
    # partner webhooks (never on the approval, exception or ATP APIs); see README.md "Signing keys"
    "acceptLegacyWebhookSecret": False,
    # the ERPs distsync writes to, each owning locations by glob (first match wins); see docs/connectors.md
    "erpConnections": DEFAULT_ERP_CONNECTIONS,
    # how often connections that are polled (NetSuite, Business Central) are asked for their changes
    "connectorPullMinutes": 5,
    # how often each connection's stock of the governed item-locations it owns is read (not the rest kind)
    "connectorStockMinutes": 60,
    # batches at once (SQS event source maximum concurrency, 2-1000) of every consumer that calls the partner
    "erpMaxConcurrency": 5,
    "wmsMaxConcurrency": 5,
    "planningMaxConcurrency": 5,
    "channelsMaxConcurrency": 5,
    # reserved concurrency of the webhook intake (its ceiling in a flood) and of each of the approval,
    # exception and ATP APIs (their floor, whatever the webhooks do); 0 leaves a function unreserved
    "webhookReservedConcurrency": 20,
    "decisionApiReservedConcurrency": 5,
    # how long an order update ahead of its predecessor is held before it is quarantined (SQS delay: <= 900)
    "orderGapTimeoutSeconds": 300,
    # a forecast cycle starts on its manifest (cycles/<cycleId>.manifest.json) only, not on its data file
    "cycleManifestRequired": False,
    # planning partners on the SFTP endpoint (AWS Transfer Family): {"<user>": {"publicKeys": [...],
    # "homePrefix": "cycles/"}}; empty: no server (infra/domains/sftp.py)
    "sftpPartners": {},
    "sftpSecurityPolicy": "TransferSecurityPolicy-2024-01",
    # the item-location parameters extract for planning (outbound/planning/extracts/<date>/), in UTC
    "planningExtractSchedule": "cron(0 4 * * ? *)",
    # per partner source and API role: {"<name>": {"ratePerSecond": N, "burst": N, "dailyQuota": N}} (quota
    # optional), an API Gateway usage plan each; a name left out gets its share of webhookRateLimit/-BurstLimit
    # (sources) or the stage's method default (roles); see infra/platform/partner_limits.py
    "partnerLimits": {},
    # the signed routes require the caller's API key (x-api-key); false only while partners move to keys after
    # the first deploy with usage plans (issue them, hand them over, then deploy with true): docs/infrastructure-contract.md
    "apiKeysRequired": True,
    # inventory visibility accuracy (infra/domains/inventory.py): the daily run (UTC); ERP and WMS balances of
    # an item-location are comparable when their as-of times are at most this far apart; they agree when their
    # on-hand differs by at most the absolute or the percent tolerance (of the larger); alarm below the target
    "inventoryAccuracySchedule": "cron(30 5 * * ? *)",
    "inventoryAccuracyAsOfToleranceMinutes": 15,
    "inventoryAccuracyQuantityTolerance": 0,
    "inventoryAccuracyQuantityTolerancePercent": 0,
    "inventoryAccuracyTargetPercent": 98,
    # deprecation and sunset of contract versions: {"<EventType>/<version>": {"deprecated": "<date>", "sunset":
    # "<date>"}}, over the registry's own (CONTRACT_LIFECYCLE on webhook_api; docs/event-catalogue.md)
    "contractLifecycle": {},
    # {team: contact}: replaces a team's default contact (DEFAULT_OWNERS) in alarms and the schema registry
    "owners": {},
    # ERP parameter writes wait during these windows (the ERP's MRP run, a period close) and flow when they end:
    # [{"name", "schedule": "cron(...)" (UTC) or "at(yyyy-mm-ddThh:mm:ss)", "durationMinutes", "scope":
    # {"connections": [...], "locations": [globs]}}] (a scope part left out: all); infra/domains/erp_adapter.py
    "freezeWindows": DEFAULT_FREEZE_WINDOWS,
    # supplier performance (infra/domains/supplier.py): the weekly run (UTC) and the days of POs it measures
    "supplierPerformanceSchedule": "cron(0 6 ? * MON *)",
    "supplierPerformanceWindowDays": 90,
    # parameter drift (infra/domains/drift.py): the daily run (UTC) comparing planning's latest recommendation,
    # distsync's last applied parameters and the ERP's values per item-location
    "parameterDriftSchedule": "cron(0 6 * * ? *)",
    # notifications (infra/platform/notifications.py): email subscribers per audience, {"planners": ["a@x"],
    # "operations": [...]}; and the ops console the messages link to ("<consoleUrl>/console#approvals")
    "notificationEmails": {},
    "consoleUrl": "http://127.0.0.1:8080",
}

# The teams that own event types and pipelines, with their default contacts (emails or on-call handles, never
# secrets). distsync_core.contracts.TEAMS is the same table for the registry; a test keeps the two equal.
DEFAULT_OWNERS: dict[str, str] = {
    "integration-platform": "integration-oncall@example.com",
    "masterdata": "masterdata-oncall@example.com",
    "planning-integration": "planning-oncall@example.com",
    "inventory": "inventory-oncall@example.com",
    "orders": "orders-oncall@example.com",
    "fulfillment": "fulfillment-oncall@example.com",
    "supplier-collaboration": "supplier-oncall@example.com",
    "finance": "finance-oncall@example.com",
}
_CONTACT = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$|^[@#][A-Za-z0-9._-]{1,80}$")  # an email, @handle or #channel

# AWS WAF rate-based rules accept 10..2,000,000,000 requests per evaluation window.
WAF_RATE_LIMIT_RANGE = (10, 2_000_000_000)
# API Gateway's default account-level throttle (per region): a method limit above it has no effect.
ACCOUNT_RATE_LIMIT, ACCOUNT_BURST_LIMIT = 10_000, 5_000

# A Distributed Map batch (ItemBatcher) is at most 256 KB of JSON: 1000 rows of the longest identifiers the
# contract allows stay below it. Distributed Map runs at most 10 000 child executions at once.
MAX_CYCLE_CHUNK_SIZE, MAX_DISTRIBUTED_MAP_CONCURRENCY = 1_000, 10_000

# SQS DelaySeconds is at most 15 minutes (the orders gap timer).
MAX_SQS_DELAY_SECONDS = 900

# Transfer Family user names: 3-100 of letters, digits, '_', '-', '.', '@', not starting with '-', '.', '@'.
_SFTP_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_@.-]{2,99}$")
_SFTP_PREFIX = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*/)+$")
_SSH_KEY = re.compile(r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( .*)?$")
# Tolerances of the inventory accuracy KPI: 0 asks for equal quantities (the default) or equal as-of times.
_ZERO_TOLERANCES = frozenset({"inventory_accuracy_as_of_tolerance_minutes", "inventory_accuracy_quantity_tolerance",
                              "inventory_accuracy_quantity_tolerance_percent"})
_SCHEDULE_PATTERN = re.compile(r"^(cron\([^()]+\)|rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\))$")
def _json_object(value: object, key: str) -> dict:
    """A context value that is an object: from cdk.json as is, from ``-c key='{...}'`` as JSON text."""
    import json

    parsed = json.loads(value) if isinstance(value, str) else value
    if not isinstance(parsed, dict):
        raise ValueError(f"context {key} must be a JSON object")
    return parsed




NOTIFICATION_AUDIENCES = ("planners", "operations")
_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")


def _notification_emails(value: object) -> dict[str, list[str]]:
    """``notificationEmails``: audience -> email addresses (an email subscription each, confirmed by the owner)."""
    parsed = _json_object(value, "notificationEmails")
    out = {}
    for audience, emails in parsed.items():
        if audience not in NOTIFICATION_AUDIENCES:
            raise ValueError(f"notificationEmails: unknown audience {audience!r}; audiences: {list(NOTIFICATION_AUDIENCES)}")
        if not isinstance(emails, list) or not all(isinstance(e, str) and _EMAIL.match(e) for e in emails):
            raise ValueError(f"notificationEmails.{audience} must be a list of email addresses, got {emails!r}")
        out[audience] = list(emails)
    return out


def _owners(value: object) -> dict[str, str]:
    """DEFAULT_OWNERS with the context's contacts (only for teams that exist)."""
    overrides = _json_object(value, "owners")
    unknown = sorted(set(overrides) - set(DEFAULT_OWNERS))
    if unknown:
        raise ValueError(f"owners: unknown team(s) {unknown}; teams: {sorted(DEFAULT_OWNERS)}")
    for team, contact in overrides.items():
        if not isinstance(contact, str) or not _CONTACT.match(contact):
            raise ValueError(f"owners: the contact of {team} must be an email, @handle or #channel, got {contact!r}")
    return {**DEFAULT_OWNERS, **overrides}


def _registered_versions() -> dict[str, set[int]]:
    """Event type -> its versions, from the exported schemas (schemas/*.json, generated from the registry: the
    infra does not import the Lambda layer)."""
    import json

    from infra import REPO_ROOT

    versions: dict[str, set[int]] = {}
    for path in (REPO_ROOT / "schemas").glob("*.json"):
        meta = json.loads(path.read_text(encoding="utf-8")).get("x-distsync", {})
        versions.setdefault(meta["eventType"], set()).add(int(meta["eventVersion"]))
    return versions


def _lifecycle_moment(value: object, what: str) -> str:
    """The same rule as distsync_core.platform.lifecycle.parse_moment: an ISO date, or a date-time with offset."""
    from datetime import date, datetime

    try:
        if isinstance(value, str) and len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time()).isoformat() + "+00:00"
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError(f"contractLifecycle: {what} must be an ISO date (2027-06-30) or date-time with an offset, "
                         f"got {value!r}")
    return moment.isoformat()


def _contract_lifecycle(value: object) -> dict[str, dict]:
    """Checked at synth: a registered type and version that is not its type's latest, ISO dates, sunset after
    the deprecation (a sunset needs a deprecation). The function checks the same with the registry's own dates."""
    from datetime import datetime

    parsed = _json_object(value, "contractLifecycle")
    versions = _registered_versions() if parsed else {}
    for key, entry in parsed.items():
        event_type, _, version = str(key).partition("/")
        if not version.isdigit() or int(version) not in versions.get(event_type, set()):
            raise ValueError(f"contractLifecycle: {key!r} is not a registered <EventType>/<version>")
        if int(version) == max(versions[event_type]):
            raise ValueError(f"contractLifecycle: {key} is the latest version; it has no successor to move to")
        if not isinstance(entry, dict) or not entry or set(entry) - {"deprecated", "sunset"}:
            raise ValueError(f"contractLifecycle: {key} takes an object of 'deprecated' and 'sunset' dates")
        moments = {name: _lifecycle_moment(entry[name], f"{key} {name}") for name in entry}
        if "sunset" in moments and "deprecated" not in moments:
            raise ValueError(f"contractLifecycle: {key} has a sunset but no deprecation date")
        if "sunset" in moments and datetime.fromisoformat(moments["sunset"]) <= datetime.fromisoformat(
                moments["deprecated"]):
            raise ValueError(f"contractLifecycle: {key} sunset must come after its deprecation")
    return parsed


def _sftp_partners(value: object) -> dict[str, dict]:
    """Context ``sftpPartners``: user name -> ``{publicKeys: [...], homePrefix}`` (homePrefix default
    ``cycles/``, a key prefix of the landing bucket). Checked here so a typo fails the synth."""
    partners = _json_object(value, "sftpPartners")
    out = {}
    for name, partner in partners.items():
        if not isinstance(name, str) or not _SFTP_USER.match(name) or not isinstance(partner, dict):
            raise ValueError(f"sftpPartners: {name!r} needs a user name of 3-100 letters, digits, '_', '-', '.', '@' "
                             "and an object of publicKeys and homePrefix")
        keys = partner.get("publicKeys")
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) and _SSH_KEY.match(k.strip())
                                                              for k in keys):
            raise ValueError(f"sftpPartners: {name}: publicKeys must be a non-empty list of OpenSSH public keys "
                             "(ssh-ed25519, ssh-rsa or ecdsa-sha2-nistp*)")
        prefix = partner.get("homePrefix", "cycles/")
        if not isinstance(prefix, str) or not _SFTP_PREFIX.match(prefix):
            raise ValueError(f"sftpPartners: {name}: homePrefix must be a key prefix like 'cycles/' (ending in '/')")
        out[name] = {"publicKeys": [k.strip() for k in keys], "homePrefix": prefix}
    return out


def _check_connection_limits(name: str, item: dict) -> None:
    cap = item.get("maxConcurrency")
    if cap is not None and not 2 <= int(cap) <= 1000:
        raise ValueError(f"erpConnections: {name}: maxConcurrency must be in 2..1000")
    rate = item.get("requestsPerSecond")
    if rate is not None and not float(rate) > 0:
        raise ValueError(f"erpConnections: {name}: requestsPerSecond must be positive")
    threshold = item.get("approvalThresholdPercent")
    if threshold is not None and not 0 < float(threshold) <= 100:
        raise ValueError(f"erpConnections: {name}: approvalThresholdPercent must be in 1..100")


def _erp_connections(value: object, erp_base_url: str) -> list[dict]:
    """Context ``erpConnections``: a list of ``{name, kind, baseUrl, secretName, locations, maxConcurrency,
    requestsPerSecond, approvalThresholdPercent, options}``; a ``rest`` connection without a baseUrl takes
    ``erpBaseUrl``. Checked here so a bad landscape fails the synth, not the first update."""
    import json

    items = json.loads(value) if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ValueError("context erpConnections must be a non-empty JSON list")
    names = set()
    out = []
    for item in items:
        name, kind = item.get("name"), item.get("kind")
        if not isinstance(name, str) or not _CONNECTION_NAME.match(name) or name in names:
            raise ValueError(f"erpConnections: {name!r} needs a unique lowercase name (a-z0-9, at most 20)")
        names.add(name)
        if kind not in ERP_CONNECTION_KINDS:
            raise ValueError(f"erpConnections: {name}: kind must be one of {', '.join(ERP_CONNECTION_KINDS)}")
        locations = item.get("locations")
        if not isinstance(locations, list) or not locations or not all(isinstance(p, str) and p for p in locations):
            raise ValueError(f"erpConnections: {name}: locations must be a list of location globs")
        if kind != "rest" and not item.get("secretName"):
            raise ValueError(f"erpConnections: {name}: a {kind} connection needs the secretName of its credentials")
        _check_connection_limits(name, item)
        base_url = item.get("baseUrl") or (erp_base_url if kind == "rest" else None)
        if not base_url:
            raise ValueError(f"erpConnections: {name}: baseUrl is required for a {kind} connection")
        out.append({**item, "baseUrl": base_url})
    return out


# The EventBridge cron subset freeze windows are evaluated with (distsync_core.connectors.freeze; the infra does not
# import the layer, a unit test keeps the two in step): per field its range and names; L, W and # are refused.
_CRON_FIELDS = (("minutes", 0, 59, ()), ("hours", 0, 23, ()), ("day-of-month", 1, 31, ()),
                ("month", 1, 12, tuple("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())),
                ("day-of-week", 1, 7, tuple("SUN MON TUE WED THU FRI SAT".split())), ("year", 1970, 2199, ()))
_CRON_PART = re.compile(r"^(\*|(?P<a>[0-9A-Za-z]+)(-(?P<b>[0-9A-Za-z]+))?)(/(?P<step>[1-9][0-9]*))?$")
FREEZE_MAX_DURATION_MINUTES = 7 * 24 * 60


def _cron_field_problem(text: str, field: tuple[str, int, int, tuple[str, ...]]) -> str | None:
    name, low, high, names = field
    for part in text.split(","):
        match = _CRON_PART.match(part)
        if not match:
            return f"{name} field {text!r} is not supported (L, W and # are not)"
        bounds = []
        for token in (t for t in (match["a"], match["b"]) if t is not None):
            value = names.index(token.upper()) + 1 if token.upper() in names else int(token) if token.isdigit() else None
            if value is None:
                return f"{name} field: {token!r} is not supported (L, W and # are not)"
            if not low <= value <= high:
                return f"{name} field: {token!r} is not in {low}..{high}"
            bounds.append(value)
        if bounds != sorted(bounds):
            return f"{name} field: range {part!r} runs backwards"
    return None


def _schedule_problem(schedule: object) -> str | None:
    from datetime import datetime

    if isinstance(schedule, str) and schedule.startswith("cron(") and schedule.endswith(")"):
        parts = schedule[5:-1].split()
        if len(parts) != 6:
            return f"{schedule} needs 6 fields (minutes hours day-of-month month day-of-week year)"
        if (parts[2] == "?") == (parts[4] == "?"):
            return f"{schedule}: exactly one of day-of-month and day-of-week must be '?'"
        problems = (_cron_field_problem(t, f) for t, f in zip(parts, _CRON_FIELDS, strict=True) if t not in ("*", "?"))
        problem = next((p for p in problems if p), None)
        return f"{schedule}: {problem}" if problem else None
    if isinstance(schedule, str) and schedule.startswith("at(") and schedule.endswith(")"):
        try:
            datetime.strptime(schedule[3:-1], "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            return f"{schedule} must be at(yyyy-mm-ddThh:mm:ss) (UTC)"
        return None
    return f"schedule must be cron(...) or at(yyyy-mm-ddThh:mm:ss) (UTC), got {schedule!r}"


def _scope_problem(scope: object, connections: set[str]) -> str | None:
    if not isinstance(scope, dict) or set(scope) - {"connections", "locations"}:
        return "scope must be an object with connections and/or locations"
    for key, values in scope.items():
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            return f"scope.{key} must be a non-empty list (leave it out for all)"
    strangers = sorted(set(scope.get("connections", [])) - connections)
    if strangers:
        return f"no ERP connection named {', '.join(strangers)} (erpConnections: {', '.join(sorted(connections))})"
    return None


def _freeze_windows(value: object, connections: set[str]) -> list[dict]:
    """Context ``freezeWindows``, checked at synth so a window that could never be evaluated fails the deploy."""
    import json

    items = json.loads(value) if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ValueError("context freezeWindows must be a JSON list of windows")
    names: set[str] = set()
    for item in items:
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", name) or name in names:
            raise ValueError(f"freezeWindows: {name!r} needs a unique name of a-z, 0-9 and '-' (at most 63)")
        names.add(name)
        unknown = set(item) - {"name", "schedule", "durationMinutes", "scope"}
        minutes = item.get("durationMinutes")
        problem = f"unknown keys {sorted(unknown)}" if unknown else \
            _schedule_problem(item.get("schedule")) or _scope_problem(item.get("scope", {}), connections)
        if not problem and (isinstance(minutes, bool) or not isinstance(minutes, int)
                            or not 1 <= minutes <= FREEZE_MAX_DURATION_MINUTES):
            problem = f"durationMinutes must be a whole number in 1..{FREEZE_MAX_DURATION_MINUTES}, got {minutes!r}"
        if problem:
            raise ValueError(f"freezeWindows: {name}: {problem}")
    return list(items)


def _flag(value: object, key: str) -> bool:
    """A context value that is a boolean: from cdk.json as is, from ``-c key=true|false`` as text."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise ValueError(f"context {key} must be true or false, got {value!r}")
    return text == "true"


_LIMIT_FIELDS = {"ratePerSecond": float, "burst": int, "dailyQuota": int}


def _partner_limits(value: object) -> dict[str, dict]:
    """``partnerLimits``: each name's ratePerSecond (> 0) and burst (>= 1), dailyQuota optional (>= 1). Which
    names exist, and that the sources' limits fit the webhook method's, is checked by the platform."""
    limits = _json_object(value, "partnerLimits")
    checked: dict[str, dict] = {}
    for name, item in limits.items():
        if not isinstance(item, dict) or not {"ratePerSecond", "burst"} <= set(item) <= set(_LIMIT_FIELDS):
            raise ValueError(f"partnerLimits.{name} must be {{\"ratePerSecond\": N, \"burst\": N}} with an optional "
                             f"\"dailyQuota\": N, got {item!r}")
        try:
            checked[name] = {k: _LIMIT_FIELDS[k](v) for k, v in item.items() if not isinstance(v, bool)}
        except (TypeError, ValueError) as exc:
            raise ValueError(f"partnerLimits.{name}: every limit must be a number ({exc})") from exc
        if len(checked[name]) != len(item) or any(v <= 0 for v in checked[name].values()):
            raise ValueError(f"partnerLimits.{name}: every limit must be a positive number, got {item!r}")
    return checked


@dataclass(frozen=True)
class PartnerLimit:
    rate_per_second: float
    burst: int
    daily_quota: int | None = None


def resolve_limits(
    configured: Mapping[str, Mapping[str, float]],
    sources: Sequence[str],
    roles: Sequence[str],
    *,
    webhook_rate_limit: int,
    webhook_burst_limit: int,
    role_rate_limit: int,
    role_burst_limit: int,
) -> dict[str, PartnerLimit]:
    """Every source's and role's limit: ``configured`` (context partnerLimits) where it names one; else a
    source gets an equal share of what the named sources leave of the webhook method's limits, a role its
    method's stage default. The sources' limits never add up to more than the method's (isolation)."""
    unknown = set(configured) - set(sources) - set(roles)
    if unknown:
        raise ValueError(f"partnerLimits names {sorted(unknown)}; known sources and roles: "
                         f"{sorted({*sources, *roles})}")

    def limit(name: str, rate: float, burst: int) -> PartnerLimit:
        given = configured.get(name)
        if given is None:
            return PartnerLimit(rate, burst)
        quota = given.get("dailyQuota")
        return PartnerLimit(float(given["ratePerSecond"]), int(given["burst"]), int(quota) if quota else None)

    named = [limit(s, 0, 0) for s in sources if s in configured]
    rate_left = webhook_rate_limit - sum(n.rate_per_second for n in named)
    burst_left = webhook_burst_limit - sum(n.burst for n in named)
    unnamed = [s for s in sources if s not in configured]
    if rate_left < 0 or burst_left < 0 or (unnamed and (rate_left <= 0 or burst_left < len(unnamed))):
        raise ValueError(
            f"partnerLimits give the sources {webhook_rate_limit - rate_left:g}/s, burst {webhook_burst_limit - burst_left}"
            f"{f' and leave nothing for {unnamed}' if unnamed else ''}: the webhook method allows "
            f"webhookRateLimit {webhook_rate_limit}/s, webhookBurstLimit {webhook_burst_limit} in all, so one partner's "
            "flood could take another's share; lower partnerLimits or raise the webhook limits"
        )
    # A source left out gets an equal share of what the named ones leave of the method's limits.
    limits = {s: limit(s, rate_left / max(1, len(unnamed)), burst_left // max(1, len(unnamed))) for s in sources}
    limits.update({r: limit(r, role_rate_limit, role_burst_limit) for r in roles})
    return limits


_STAGE_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,19}$")


@dataclass(frozen=True)
class DistsyncConfig:
    stage: str
    approval_threshold_percent: int
    approval_timeout_seconds: int
    max_receive_count: int
    erp_base_url: str
    wms_base_url: str
    erp_max_attempts: int
    log_retention_days: int
    archive_retention_days: int
    # alarm thresholds (infra/platform/observability.py)
    dlq_max_age_minutes: int
    error_rate_percent: float
    forecast_to_erp_sla_seconds: int
    approval_turnaround_sla_hours: int
    # edge protection (infra/platform/web_acl.py, infra/platform/webhook_api.py)
    waf_rate_limit_per_5_min: int
    webhook_rate_limit: int
    webhook_burst_limit: int
    # domains (issue 3)
    planning_base_url: str
    channels_base_url: str
    atp_horizon_days: int
    lead_time_exception_percent: int
    planning_sync_max_receive_count: int
    planning_sync_max_lag_minutes: int
    shipment_exception_timeout_seconds: int
    # partner files (issue 6)
    file_archive_transition_days: int
    file_rejected_expiry_days: int
    file_partners: dict
    file_max_records: int
    # forecast cycles at planning scale (issue 6, infra/domains/forecast_cycles.py)
    cycle_tolerance_percent: float
    cycle_chunk_size: int
    cycle_max_concurrency: int
    cycle_max_unzipped_bytes: int
    cycle_max_rows: int
    # financial reconciliation (issue 6, infra/domains/finance.py)
    reconciliation_schedule: str
    reconciliation_time_zone: str
    # observability (distsync_core/platform/observability.py): POWERTOOLS_TRACE_DISABLED=false on every function
    xray_sdk_subsegments: bool
    # contracts (distsync_core/contracts.py): MAX_FUTURE_SKEW_MINUTES on every function
    max_future_skew_minutes: int
    accept_legacy_webhook_secret: bool
    partner_max_concurrency: dict[str, int]
    erp_connections: list[dict]
    connector_pull_minutes: int
    connector_stock_minutes: int
    webhook_reserved_concurrency: int
    decision_api_reserved_concurrency: int
    # orders (infra/domains/orders.py): ORDER_GAP_TIMEOUT_SECONDS, the delay of a held update's gap timer
    order_gap_timeout_seconds: int
    # planning platforms by file (infra/domains/forecast_cycles.py, sftp.py, planning_extracts.py)
    cycle_manifest_required: bool
    sftp_partners: dict[str, dict]
    sftp_security_policy: str
    planning_extract_schedule: str
    # API governance (infra/platform/partner_limits.py): usage plan limits per partner source and API role
    partner_limits: dict[str, dict]
    api_keys_required: bool
    # inventory visibility accuracy (infra/domains/inventory.py)
    inventory_accuracy_schedule: str
    inventory_accuracy_as_of_tolerance_minutes: int
    inventory_accuracy_quantity_tolerance: float
    inventory_accuracy_quantity_tolerance_percent: float
    inventory_accuracy_target_percent: float
    # governance (issue 16): the versions' lifecycle as given (CONTRACT_LIFECYCLE), team -> contact (resolved)
    contract_lifecycle: dict[str, dict]
    owners: dict[str, str]
    # freeze windows of ERP parameter writes (issue 15, infra/domains/erp_adapter.py): FREEZE_WINDOWS
    freeze_windows: list[dict]
    # supplier performance (infra/domains/supplier.py)
    supplier_performance_schedule: str
    supplier_performance_window_days: int
    # parameter drift (issue 15, infra/domains/drift.py)
    parameter_drift_schedule: str
    # notifications (infra/platform/notifications.py)
    notification_emails: dict[str, list[str]]
    console_url: str

    @property
    def is_prod(self) -> bool:
        return self.stage == "prod"

    @classmethod
    def from_node(cls, node: Node) -> DistsyncConfig:
        def get(key: str) -> str | int | float:
            value = node.try_get_context(key)
            return CONTEXT_DEFAULTS[key] if value is None or value == "" else value

        config = cls(
            stage=str(get("stage")),
            approval_threshold_percent=int(get("approvalThresholdPercent")),
            approval_timeout_seconds=int(get("approvalTimeoutSeconds")),
            max_receive_count=int(get("maxReceiveCount")),
            erp_base_url=str(get("erpBaseUrl")),
            wms_base_url=str(get("wmsBaseUrl")),
            erp_max_attempts=int(get("erpMaxAttempts")),
            log_retention_days=int(get("logRetentionDays")),
            archive_retention_days=int(get("archiveRetentionDays")),
            dlq_max_age_minutes=int(get("dlqMaxAgeMinutes")),
            error_rate_percent=float(get("errorRatePercent")),
            forecast_to_erp_sla_seconds=int(get("forecastToErpSlaSeconds")),
            approval_turnaround_sla_hours=int(get("approvalTurnaroundSlaHours")),
            waf_rate_limit_per_5_min=int(get("wafRateLimitPer5Min")),
            webhook_rate_limit=int(get("webhookRateLimit")),
            webhook_burst_limit=int(get("webhookBurstLimit")),
            planning_base_url=str(get("planningBaseUrl")),
            channels_base_url=str(get("channelsBaseUrl")),
            atp_horizon_days=int(get("atpHorizonDays")),
            lead_time_exception_percent=int(get("leadTimeExceptionPercent")),
            planning_sync_max_receive_count=int(get("planningSyncMaxReceiveCount")),
            planning_sync_max_lag_minutes=int(get("planningSyncMaxLagMinutes")),
            shipment_exception_timeout_seconds=int(get("shipmentExceptionTimeoutSeconds")),
            file_archive_transition_days=int(get("fileArchiveTransitionDays")),
            file_rejected_expiry_days=int(get("fileRejectedExpiryDays")),
            file_partners=_json_object(get("filePartners"), "filePartners"),
            file_max_records=int(get("fileMaxRecords")),
            cycle_tolerance_percent=float(get("cycleTolerancePercent")),
            cycle_chunk_size=int(get("cycleChunkSize")),
            cycle_max_concurrency=int(get("cycleMaxConcurrency")),
            cycle_max_unzipped_bytes=int(get("cycleMaxUnzippedBytes")),
            cycle_max_rows=int(get("cycleMaxRows")),
            reconciliation_schedule=str(get("reconciliationSchedule")),
            reconciliation_time_zone=str(get("reconciliationTimeZone")),
            xray_sdk_subsegments=_flag(get("xraySdkSubsegments"), "xraySdkSubsegments"),
            max_future_skew_minutes=int(get("maxFutureSkewMinutes")),
            accept_legacy_webhook_secret=_flag(get("acceptLegacyWebhookSecret"), "acceptLegacyWebhookSecret"),
            partner_max_concurrency={p: int(get(f"{p}MaxConcurrency")) for p in ("erp", "wms", "planning", "channels")},
            erp_connections=_erp_connections(get("erpConnections"), str(get("erpBaseUrl"))),
            connector_pull_minutes=int(get("connectorPullMinutes")),
            connector_stock_minutes=int(get("connectorStockMinutes")),
            webhook_reserved_concurrency=int(get("webhookReservedConcurrency")),
            decision_api_reserved_concurrency=int(get("decisionApiReservedConcurrency")),
            order_gap_timeout_seconds=int(get("orderGapTimeoutSeconds")),
            cycle_manifest_required=_flag(get("cycleManifestRequired"), "cycleManifestRequired"),
            sftp_partners=_sftp_partners(get("sftpPartners")),
            sftp_security_policy=str(get("sftpSecurityPolicy")),
            planning_extract_schedule=str(get("planningExtractSchedule")),
            partner_limits=_partner_limits(get("partnerLimits")),
            api_keys_required=_flag(get("apiKeysRequired"), "apiKeysRequired"),
            inventory_accuracy_schedule=str(get("inventoryAccuracySchedule")),
            inventory_accuracy_as_of_tolerance_minutes=int(get("inventoryAccuracyAsOfToleranceMinutes")),
            inventory_accuracy_quantity_tolerance=float(get("inventoryAccuracyQuantityTolerance")),
            inventory_accuracy_quantity_tolerance_percent=float(get("inventoryAccuracyQuantityTolerancePercent")),
            inventory_accuracy_target_percent=float(get("inventoryAccuracyTargetPercent")),
            contract_lifecycle=_contract_lifecycle(get("contractLifecycle")),
            owners=_owners(get("owners")),
            freeze_windows=_freeze_windows(get("freezeWindows"), {  # a scope names connections of the landscape
                c["name"] for c in _erp_connections(get("erpConnections"), str(get("erpBaseUrl")))}),
            supplier_performance_schedule=str(get("supplierPerformanceSchedule")),
            supplier_performance_window_days=int(get("supplierPerformanceWindowDays")),
            parameter_drift_schedule=str(get("parameterDriftSchedule")),
            notification_emails=_notification_emails(get("notificationEmails")),
            console_url=str(get("consoleUrl")).rstrip("/"),
        )
        config.validate()
        return config

    def _validate_file_partners(self) -> None:
        for partner_id, partner in self.file_partners.items():
            if not _PARTNER_ID.match(partner_id) or partner.get("source") not in FILE_PARTNER_SOURCES:
                raise ValueError(f"filePartners: {partner_id!r} needs a lowercase id and a source in "
                                 f"{sorted(FILE_PARTNER_SOURCES)}")

    def owner(self, team: str) -> str:
        """"<team> (<contact>)": whom an alarm or a schema names."""
        return f"{team} ({self.owners[team]})"

    def erp_connections_environment(self) -> str:
        """``ERP_CONNECTIONS`` for the functions that route or write by connection (no credentials in it: each
        connection names its secret)."""
        import json

        return json.dumps(self.erp_connections, separators=(",", ":"), sort_keys=True)

    def validate(self) -> None:
        # The stage is part of resource names (bus, registry, stack), so keep it name-safe.
        if not _STAGE_PATTERN.match(self.stage):
            raise ValueError(f"context 'stage' must match {_STAGE_PATTERN.pattern}, got {self.stage!r}")
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, int | float) and not isinstance(value, bool) and value <= 0 \
                    and not (value == 0 and field.name.endswith("_reserved_concurrency")) \
                    and not (value == 0 and field.name in _ZERO_TOLERANCES):  # 0: unreserved; exact match
                raise ValueError(f"context value for {field.name} must be positive, got {value}")
        self._validate_file_partners()
        self._validate_concurrency()
        if not 0 < self.approval_threshold_percent <= 100:
            raise ValueError("approvalThresholdPercent must be in 1..100")
        if not 0 < self.error_rate_percent < 100:
            raise ValueError("errorRatePercent must be in (0, 100)")
        low, high = WAF_RATE_LIMIT_RANGE
        if not low <= self.waf_rate_limit_per_5_min <= high:
            raise ValueError(f"wafRateLimitPer5Min must be in {low}..{high} (AWS WAF rate-based rule limits)")
        if self.webhook_rate_limit > ACCOUNT_RATE_LIMIT or self.webhook_burst_limit > ACCOUNT_BURST_LIMIT:
            raise ValueError(
                f"webhookRateLimit/webhookBurstLimit above the account throttle ({ACCOUNT_RATE_LIMIT} rps, "
                f"burst {ACCOUNT_BURST_LIMIT}) would never apply"
            )
        if self.webhook_burst_limit < self.webhook_rate_limit:
            raise ValueError("webhookBurstLimit must be at least webhookRateLimit (one second's worth)")
        self._validate_cycles()
        self._validate_reconciliation()
        self._validate_inventory_accuracy()
        if self.order_gap_timeout_seconds > MAX_SQS_DELAY_SECONDS:
            raise ValueError(f"orderGapTimeoutSeconds must be in 1..{MAX_SQS_DELAY_SECONDS} (the gap timer is an SQS "
                             "message delay)")

    def _validate_concurrency(self) -> None:
        for partner, cap in self.partner_max_concurrency.items():
            if not 2 <= cap <= 1000:  # what an SQS event source's MaximumConcurrency accepts
                raise ValueError(f"{partner}MaxConcurrency must be in 2..1000, got {cap}")

    def _validate_reconciliation(self) -> None:
        # EventBridge Scheduler: a recurring schedule is cron(...) or rate(...); at(...) would run once only.
        for key, value in (("reconciliationSchedule", self.reconciliation_schedule),
                           ("planningExtractSchedule", self.planning_extract_schedule),
                           ("inventoryAccuracySchedule", self.inventory_accuracy_schedule),
                           ("supplierPerformanceSchedule", self.supplier_performance_schedule),
                           ("parameterDriftSchedule", self.parameter_drift_schedule)):
            if not _SCHEDULE_PATTERN.match(value):
                raise ValueError(f"{key} must be an EventBridge Scheduler cron(...) or rate(...) expression, "
                                 f"got {value!r}")
        if not 1 <= self.supplier_performance_window_days <= 3650:  # RunRequest.since_days of the function
            raise ValueError("supplierPerformanceWindowDays must be in 1..3650")
        if not re.fullmatch(r"Transfer[A-Za-z0-9]*SecurityPolicy-[A-Za-z0-9-]+", self.sftp_security_policy):
            raise ValueError(f"sftpSecurityPolicy must name a Transfer Family security policy, got "
                             f"{self.sftp_security_policy!r}")
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.reconciliation_time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"reconciliationTimeZone must be an IANA time zone name, got {self.reconciliation_time_zone!r}"
            ) from exc

    def _validate_inventory_accuracy(self) -> None:
        if self.inventory_accuracy_as_of_tolerance_minutes < 0:
            raise ValueError("inventoryAccuracyAsOfToleranceMinutes must be 0 or more")
        if self.inventory_accuracy_quantity_tolerance < 0 or not 0 <= self.inventory_accuracy_quantity_tolerance_percent <= 100:
            raise ValueError("inventoryAccuracyQuantityTolerance must be 0 or more and "
                             "inventoryAccuracyQuantityTolerancePercent in 0..100")
        if not 0 < self.inventory_accuracy_target_percent <= 100:
            raise ValueError("inventoryAccuracyTargetPercent must be in (0, 100]")

    def _validate_cycles(self) -> None:
        if self.cycle_tolerance_percent >= self.approval_threshold_percent:
            raise ValueError(
                "cycleTolerancePercent must be below approvalThresholdPercent (a change no larger than the "
                "tolerance is no change at all; one above the threshold waits for a planner)"
            )
        if not 1 <= self.cycle_chunk_size <= MAX_CYCLE_CHUNK_SIZE:
            raise ValueError(f"cycleChunkSize must be in 1..{MAX_CYCLE_CHUNK_SIZE} (a batch is at most 256 KB)")
        if not 1 <= self.cycle_max_concurrency <= MAX_DISTRIBUTED_MAP_CONCURRENCY:
            raise ValueError(f"cycleMaxConcurrency must be in 1..{MAX_DISTRIBUTED_MAP_CONCURRENCY}")


# CloudWatch Logs accepts only these retention periods; they are listed in the order of logs.RetentionDays.
_VALID_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip


def retention_days(days: int):  # -> aws_logs.RetentionDays
    """Map the integer context value to the CDK enum, failing synth on a value CloudWatch would reject."""
    from aws_cdk import aws_logs as logs

    if days not in _VALID_RETENTION_DAYS:
        raise ValueError(f"logRetentionDays must be one of {_VALID_RETENTION_DAYS}, got {days}")
    return list(logs.RetentionDays)[_VALID_RETENTION_DAYS.index(days)]
