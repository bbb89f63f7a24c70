"""Use of deprecated contract versions, counted per day, source, event type and version, so owners know whom
to chase (``distsync contracts usage``).

One item per UTC day in the idempotency table (which the webhook intake already writes), id
``contract-usage#<YYYY-MM-DD>``, one number attribute per ``<source>|<eventType>|<version>`` incremented with
``UpdateItem ADD`` (atomic, no read first); it expires with the table's TTL after :data:`RETENTION_DAYS`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import date
from typing import Any

from .aws import client

ID_PREFIX = "contract-usage#"
COUNTER_PREFIX = "n:"  # counters apart from the item's id and expiration
RETENTION_DAYS = 400
_TTL_ATTRIBUTE = "expiration"  # the table's TTL attribute (Powertools idempotency's default)


def counter_name(source: str, event_type: str, version: str) -> str:
    return f"{COUNTER_PREFIX}{source}|{event_type}|{version}"


def record(table_name: str, day: date, source: str, event_type: str, version: str) -> None:
    client("dynamodb").update_item(
        TableName=table_name,
        Key={"id": {"S": f"{ID_PREFIX}{day.isoformat()}"}},
        UpdateExpression="ADD #counter :one SET #ttl = if_not_exists(#ttl, :expires)",
        ExpressionAttributeNames={"#counter": counter_name(source, event_type, version), "#ttl": _TTL_ATTRIBUTE},
        ExpressionAttributeValues={
            ":one": {"N": "1"},
            ":expires": {"N": str(int(time.time()) + RETENTION_DAYS * 86400)},
        },
    )


def read(table_name: str, days: Iterable[date]) -> list[dict[str, Any]]:
    """``[{day, source, eventType, version, count}]`` of the given days, oldest day first."""
    keys = [{"id": {"S": f"{ID_PREFIX}{day.isoformat()}"}} for day in sorted(set(days))]
    items: list[dict[str, Any]] = []
    dynamodb = client("dynamodb")
    for start in range(0, len(keys), 100):  # BatchGetItem takes at most 100 keys
        request: dict[str, Any] = {table_name: {"Keys": keys[start:start + 100], "ConsistentRead": True}}
        for attempt in range(8):
            answer = dynamodb.batch_get_item(RequestItems=request)
            items += answer.get("Responses", {}).get(table_name, [])
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.05 * 2**attempt)  # throttled: back off as AWS advises for unprocessed keys
        else:
            raise RuntimeError("DynamoDB kept throttling the usage read; try again")
    rows = []
    for item in items:
        day = item["id"]["S"].removeprefix(ID_PREFIX)
        for name, value in item.items():
            if name.startswith(COUNTER_PREFIX):
                source, event_type, version = name.removeprefix(COUNTER_PREFIX).split("|")
                rows.append({"day": day, "source": source, "eventType": event_type, "version": version,
                             "count": int(value["N"])})
    return sorted(rows, key=lambda r: (r["day"], r["source"], r["eventType"], r["version"]))
