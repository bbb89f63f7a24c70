"""The business transaction ledger: one item per hop per correlation id (and business key).

A hop is what one component did with one event: ``stage`` (where), ``outcome`` (what happened, see the ops
CLI's trace document, :mod:`distsync.trace`) and a human ``detail``. Handlers call :func:`hop`; the hops of
one invocation are buffered and written together when it ends (``BatchWriteItem``, 25 per call) by
:func:`distsync_core.platform.observability.instrument`, so recording costs no extra round trip per hop, and a
hop recorded just before a failure is still written. Other writes that can wait for the end of the
invocation (a batch's idempotency completion marks, see :mod:`distsync_core.platform.unit_of_work`) share
those calls.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from .aws import client, table
from .dynamo import from_item, to_wire
from .times import now_iso

TTL_DAYS = 30
BATCH_WRITE_MAX_ITEMS = 25
BUSINESS_KEY_INDEX = "byBusinessKey"
_ACTIVE: ContextVar[Ledger | None] = ContextVar("distsync_ledger", default=None)


class Ledger:
    def __init__(self, table_name: str):
        self.table_name = table_name
        self._table = table(table_name)
        self._pending: list[dict[str, Any] | None] = []  # None: a hop discarded before the flush
        self._other: list[tuple[str, dict[str, Any]]] = []  # (table, WriteRequest) of other tables

    # ------------------------------------------------------------------------------------------- write
    def hop(self, correlation_id: str, stage: str, outcome: str, detail: str = "", *,
            business_key: str | None = None, event_id: str | None = None, at: str | None = None,
            **attrs: Any) -> None:
        """``at``: when it happened, if not now (a step that publishes takes its time before publishing: the
        consumers' hops, taken after they received the event, then always sort after it)."""
        at = at or now_iso()
        # The sort key is derived from the hop itself, so writing the same hop again overwrites it.
        digest = hashlib.sha256(f"{stage}|{outcome}|{event_id}|{detail}".encode()).hexdigest()[:8]
        item = {
            "correlationId": correlation_id,
            "sk": f"{at}#{digest}",
            "at": at,
            "stage": stage,
            "outcome": outcome,
            "detail": detail[:1000],
            "businessKey": business_key,
            "eventId": event_id,
            "expiresAt": int(time.time() + timedelta(days=TTL_DAYS).total_seconds()),
            **attrs,
        }
        self._pending.append({k: v for k, v in item.items() if v is not None})

    def mark(self) -> int:
        return len(self._pending)

    def since(self, mark: int) -> list[dict[str, Any]]:
        """Hops recorded after ``mark`` and not yet written (plain JSON values)."""
        return [dict(item) for item in self._pending[mark:] if item is not None]

    def discard(self, start: int, end: int) -> None:
        """Drop the hops recorded between two marks (what a record that then failed said it did)."""
        for i in range(start, end):
            self._pending[i] = None

    def write(self, table_name: str, request: dict[str, Any]) -> None:
        """A BatchWriteItem request (``PutRequest``/``DeleteRequest``, wire format) written with the hops."""
        self._other.append((table_name, request))

    def restore(self, hops: list[dict[str, Any]]) -> None:
        """Write hops recorded by an earlier invocation again (same keys: an overwrite, never a duplicate)."""
        self._pending.extend(dict(h) for h in hops)

    def flush(self) -> None:
        """Write the pending hops and other writes, 25 per BatchWriteItem (unprocessed ones asked again)."""
        # The other writes first: an idempotency completion mark carries its record's hops too, so if the
        # invocation dies between two calls, the redelivery (skipped as done) writes the hops it finds there.
        requests = list(self._other)
        requests += [(self.table_name, {"PutRequest": {"Item": to_wire(h)}}) for h in self._pending if h is not None]
        self._pending, self._other = [], []
        for start in range(0, len(requests), BATCH_WRITE_MAX_ITEMS):
            request_items: dict[str, list[dict[str, Any]]] = {}
            for table_name, request in requests[start : start + BATCH_WRITE_MAX_ITEMS]:
                request_items.setdefault(table_name, []).append(request)
            _batch_write(request_items)

    # -------------------------------------------------------------------------------------------- read
    def hops(self, correlation_id: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        return self._query(KeyConditionExpression=Key("correlationId").eq(correlation_id))

    def hops_for_business_key(self, business_key: str, since: str | None = None) -> list[dict[str, Any]]:
        """``since``: only hops at or after this ISO time (the index's sort key, so the query reads no more)."""
        from boto3.dynamodb.conditions import Key

        condition = Key("businessKey").eq(business_key)
        if since:
            condition = condition & Key("at").gte(since)
        return self._query(IndexName=BUSINESS_KEY_INDEX, KeyConditionExpression=condition)

    def scan(self, since: str | None = None) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Attr

        kwargs: dict[str, Any] = {"FilterExpression": Attr("at").gte(since)} if since else {}
        return self._page("scan", kwargs)

    def _query(self, **kwargs: Any) -> list[dict[str, Any]]:
        return self._page("query", kwargs)

    def _page(self, operation: str, kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            page = getattr(self._table, operation)(**kwargs)
            items.extend(from_item(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _batch_write(request_items: dict[str, list[dict[str, Any]]]) -> None:
    dynamodb = client("dynamodb")
    for attempt in range(8):
        request_items = dynamodb.batch_write_item(RequestItems=request_items).get("UnprocessedItems") or {}
        if not request_items:
            return
        time.sleep(min(0.05 * 2**attempt, 1.0))  # unprocessed means throttled: back off before asking again
    raise RuntimeError(f"DynamoDB left {sum(map(len, request_items.values()))} write(s) unprocessed")


def current() -> Ledger | None:
    return _ACTIVE.get()


def hop(correlation_id: str, stage: str, outcome: str, detail: str = "", **kwargs: Any) -> None:
    """Record a hop in the ledger of the running invocation (see :func:`recording`)."""
    ledger = _ACTIVE.get()
    if ledger is None:
        raise RuntimeError("no ledger for this invocation: wrap the handler with observability.instrument")
    ledger.hop(correlation_id, stage, outcome, detail, **kwargs)


@contextmanager
def recording(table_name: str | None) -> Iterator[Ledger | None]:
    """Buffer this invocation's hops and write them when it ends, whatever way it ends."""
    ledger = Ledger(table_name) if table_name else None
    token = _ACTIVE.set(ledger)
    try:
        yield ledger
    finally:
        _ACTIVE.reset(token)
        if ledger is not None:
            ledger.flush()
