"""Replay events.

- A time window (optionally only to the rules consuming one event type) goes through EventBridge's
  archive and StartReplay, on AWS and, with the runtime's window/filter fix, on the local moto. Replayed
  events carry ``replay-name`` and each consumer records a ``replayed`` hop.
- One transaction (``--correlation-id``): an archive cannot be filtered by content, so its original
  events are re-published from the ledger, which keeps each accepted webhook's envelope.
Consumers are idempotent per event id, so a replay re-applies nothing that was already applied.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class ReplayError(RuntimeError):
    pass


@dataclass
class ReplayResult:
    name: str
    state: str
    archive: str
    rules: list[str]
    window: tuple[str, str]


def _rules_for_type(events: Any, bus_name: str, event_type: str) -> list[str]:
    arns = []
    for page in events.get_paginator("list_rules").paginate(EventBusName=bus_name):
        for rule in page["Rules"]:
            pattern = json.loads(rule.get("EventPattern") or "{}")
            if rule.get("ManagedBy") or "detail-type" not in pattern:
                continue  # archives' and other services' rules
            if event_type in pattern["detail-type"]:
                arns.append(rule["Arn"])
    return arns


def replay(events: Any, bus_name: str, start: datetime, end: datetime, event_type: str | None = None,
           timeout: float = 300) -> ReplayResult:
    bus_arn = events.describe_event_bus(Name=bus_name)["Arn"]
    archives = events.list_archives(EventSourceArn=bus_arn).get("Archives", [])
    if not archives:
        raise ReplayError(f"bus {bus_name} has no archive")
    archive = archives[0]
    archive_arn = events.describe_archive(ArchiveName=archive["ArchiveName"])["ArchiveArn"]
    destination: dict[str, Any] = {"Arn": bus_arn}
    rules: list[str] = []
    if event_type:
        rules = _rules_for_type(events, bus_name, event_type)
        if not rules:
            raise ReplayError(f"no rule on {bus_name} consumes {event_type}")
        destination["FilterArns"] = rules
    name = f"distsync-{datetime.now().strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    events.start_replay(ReplayName=name, EventSourceArn=archive_arn, EventStartTime=start, EventEndTime=end,
                        Destination=destination)
    deadline = time.monotonic() + timeout
    while True:
        state = events.describe_replay(ReplayName=name)["State"]
        if state in ("COMPLETED", "FAILED", "CANCELLED") or time.monotonic() > deadline:
            return ReplayResult(name, state, archive["ArchiveName"], rules, (start.isoformat(), end.isoformat()))
        time.sleep(2)


def replay_transaction(events: Any, bus_name: str, hops: list[dict[str, Any]],
                       start: datetime | None = None, end: datetime | None = None) -> list[str]:
    """Re-publish the original events (same ids) that entered one transaction; returns their event ids."""
    from distsync_core.contracts import Envelope
    from distsync_core.platform.events import EventPublisher

    originals = []
    for hop in sorted(hops, key=lambda h: h["at"]):
        if "event" not in hop:
            continue
        at = datetime.fromisoformat(hop["at"])
        if (start is None or at >= start) and (end is None or at <= end):
            originals.append(Envelope.model_validate_json(hop["event"]))
    if not originals:
        raise ReplayError("the ledger holds no original event of this transaction in that window")
    EventPublisher(bus_name).publish(originals)
    return [e.metadata.event_id for e in originals]
