"""The quarantine: events that can never succeed as they are, kept with the reason (:class:`QuarantineStore`),
and their release: put the original event back on the bus, where it is validated again.

The quarantine record holds the event exactly as its consumer received it. Releasing marks the record
RELEASED first (only one operator can release it) and then re-publishes the original source, detail type
and envelope (same event id); if it still cannot succeed, its consumer quarantines it again with the new
reason. Consumers' idempotency does not block it: a quarantined event was never recorded as processed.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from .aws import table
from .dynamo import conditional, from_item, scan_all, to_item
from .times import now_iso


class QuarantineStore:
    def __init__(self, table_name: str):
        self._table = table(table_name)

    def put(
        self,
        *,
        stage: str,
        reason: str,
        body: str,
        correlation_id: str | None,
        event_id: str | None = None,
        event_type: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        waiting_for: str | None = None,
    ) -> str:
        """``waiting_for``: the master-data key whose arrival releases the event (index byWaitingFor)."""
        record = quarantine_record(stage=stage, reason=reason, body=body, correlation_id=correlation_id,
                                   event_id=event_id, event_type=event_type, errors=errors, waiting_for=waiting_for)
        self._table.put_item(Item=to_item(record))
        return str(record["quarantineId"])

    def waiting_for(self, key: str) -> list[dict[str, Any]]:
        """Quarantined events that wait for the master data ``key``."""
        from boto3.dynamodb.conditions import Key

        page = self._table.query(IndexName="byWaitingFor", KeyConditionExpression=Key("waitingFor").eq(key))
        return [from_item(i) for i in page.get("Items", []) if i.get("status") == "QUARANTINED"]

    def list(self, status: str | None = None) -> list[dict[str, Any]]:
        items = [from_item(i) for i in scan_all(self._table)]
        return [i for i in items if status is None or i.get("status") == status]

    def get(self, quarantine_id: str) -> dict[str, Any] | None:
        raw = self._table.get_item(Key={"quarantineId": quarantine_id}, ConsistentRead=True).get("Item")
        return from_item(raw) if raw else None

    def set_status(self, quarantine_id: str, new: str, expected: str) -> bool:
        """``expected`` -> ``new`` exactly once; False when the record was not in ``expected``."""
        return conditional(
            self._table.update_item,
            Key={"quarantineId": quarantine_id},
            UpdateExpression="SET #s = :new, statusChangedAt = :at",
            ConditionExpression="#s = :expected",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":new": new, ":expected": expected, ":at": now_iso()},
        )


def quarantine_record(
    *,
    stage: str,
    reason: str,
    body: str,
    correlation_id: str | None,
    event_id: str | None = None,
    event_type: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    waiting_for: str | None = None,
) -> dict[str, Any]:
    """The quarantine item (plain values); :meth:`QuarantineStore.put` writes it, a store that must quarantine
    atomically with a write of its own puts it into its transaction."""
    record = {
        "quarantineId": f"q-{event_id}" if event_id else f"q-{uuid.uuid4()}",
        "stage": stage,
        "reason": reason,
        "errors": errors or [],
        "body": body,
        "correlationId": correlation_id or "unknown",
        "eventId": event_id,
        "eventType": event_type,
        "waitingFor": waiting_for,
        "quarantinedAt": now_iso(),
        "status": "QUARANTINED",
    }
    return {k: v for k, v in record.items() if v is not None}


class NotReleasable(Exception):
    pass


@dataclass(frozen=True)
class Released:
    quarantine_id: str
    correlation_id: str
    event_type: str


def release(store: QuarantineStore, events: Any, bus_name: str, quarantine_id: str) -> Released:
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
