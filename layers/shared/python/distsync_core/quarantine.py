"""Release quarantined events: put the original event back on the bus, where it is validated again.

The quarantine record holds the event exactly as its consumer received it. Releasing marks the record
RELEASED first (only one operator can release it) and then re-publishes the original source, detail type
and envelope (same event id); if it still cannot succeed, its consumer quarantines it again with the new
reason. Consumers' idempotency does not block it: a quarantined event was never recorded as processed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


class NotReleasable(Exception):
    pass


@dataclass(frozen=True)
class Released:
    quarantine_id: str
    correlation_id: str
    event_type: str


def release(store: Any, events: Any, bus_name: str, quarantine_id: str) -> Released:
    record = store.get(quarantine_id)
    if record is None:
        raise NotReleasable(f"no quarantine record {quarantine_id}")
    if record["status"] != "QUARANTINED":
        raise NotReleasable(f"{quarantine_id} is {record['status'].lower()}, not quarantined")
    try:
        event = json.loads(record["body"])
        entry = {"EventBusName": bus_name, "Source": event["source"], "DetailType": event["detail-type"],
                 "Detail": json.dumps(event["detail"])}
    except (ValueError, KeyError, TypeError) as exc:
        raise NotReleasable(f"{quarantine_id} does not hold an EventBridge event ({exc}); fix it at the source") from exc
    if not store.set_status(quarantine_id, "RELEASED", expected="QUARANTINED"):
        raise NotReleasable(f"{quarantine_id} was released by someone else")
    result = events.put_events(Entries=[entry])
    if result.get("FailedEntryCount"):
        store.set_status(quarantine_id, "QUARANTINED", expected="RELEASED")
        raise NotReleasable(f"the bus refused the event: {result['Entries'][0].get('ErrorMessage')}")
    return Released(quarantine_id, record.get("correlationId", "unknown"), event["detail-type"])
