"""The unit of work of one SQS batch: what its records share, reads made once for the whole batch, and the
writes that wait for its end (the events its records publish, the idempotency completion marks).

Why: a consumer that reads, publishes and marks completion per record makes three round trips per record
where the services take 100 keys (BatchGetItem), 10 entries (PutEvents) and 25 items (BatchWriteItem) per
call. The idempotency *claim* stays one conditional write per record, made before the record runs: it is
what stops a second delivery from running it again.

At the end of the batch, in this order:

1. the events of every record that succeeded, 10 entries per PutEvents;
2. for each record whose events all went out, its completion mark, handed to the invocation's ledger, which
   writes marks and trace hops together (BatchWriteItem, any mix of tables) when the invocation ends;
3. for each record with an event EventBridge refused: the record fails (partial batch response), its claim
   is deleted (so its retry is not refused as "in progress"), its hops are dropped, a ``retrying`` (or, on
   the last receive, ``dead_lettered``) hop says why, and its retry publishes the same event ids again.

A crash between 1 and 2 leaves claims in progress until the invocation's deadline; the redelivery, later than
that (the visibility timeout exceeds the function timeout), runs the record again and publishes the same
event ids, which downstream consumers deduplicate. A FIFO consumer publishes at once instead (``defer_events``
False): a batch-end failure would let a group's later records overtake it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from ..contracts import Envelope
from . import ledger
from .aws import client
from .config import env
from .dynamo import from_wire
from .events import PUT_EVENTS_MAX_ENTRIES, EventPublisher

_ACTIVE: ContextVar[Batch | None] = ContextVar("distsync_batch", default=None)
BATCH_GET_MAX_KEYS = 100


@dataclass
class _Record:
    events: list[Envelope] = field(default_factory=list)
    completion: dict[str, Any] | None = None  # the idempotency item, DynamoDB wire format
    claim_key: dict[str, Any] | None = None
    table_name: str = ""
    hops: tuple[int, int] | None = None  # the record's hops in the ledger's pending list


@dataclass
class Failed:
    """A record whose events EventBridge did not take at the end of the batch."""

    message_id: str
    reason: str


class Batch:
    """One SQS batch of one consumer invocation; its records are named by their SQS message ids."""

    def __init__(self, bus_name: str | None = None, *, defer_events: bool = True):
        self.bus_name = bus_name
        self.defer_events = defer_events
        self._records: dict[str, _Record] = {}
        self._reads: dict[tuple[str, str], dict[str, Any] | None] = {}

    # ----------------------------------------------------------------------------------------- records
    def emit(self, message_id: str, envelopes: Iterable[Envelope]) -> None:
        """The record's events: published at the end of the batch with the other records' events (at once
        for a FIFO consumer)."""
        envelopes = list(envelopes)
        if not self.defer_events:
            EventPublisher(self._bus()).publish(envelopes)
            return
        self._records.setdefault(message_id, _Record()).events.extend(envelopes)

    def complete(self, message_id: str, table_name: str, item: dict[str, Any], key: dict[str, Any]) -> None:
        """The record's idempotency completion mark: written at the end, once its events are out."""
        record = self._records.setdefault(message_id, _Record())
        record.table_name, record.completion, record.claim_key = table_name, item, key

    def ran(self, message_id: str, hops: tuple[int, int]) -> None:
        self._records.setdefault(message_id, _Record()).hops = hops

    def discard(self, message_id: str) -> None:
        """The record failed or was quarantined: nothing it left for the end is written."""
        self._records.pop(message_id, None)

    # ------------------------------------------------------------------------------------------- reads
    def prefetch(self, table_name: str, key_name: str, keys: Iterable[str]) -> None:
        """Read the items of ``keys`` for the whole batch (consistent, 100 keys per BatchGetItem)."""
        wanted = sorted({k for k in keys if (table_name, k) not in self._reads})
        dynamodb = client("dynamodb")
        for start in range(0, len(wanted), BATCH_GET_MAX_KEYS):
            chunk = wanted[start : start + BATCH_GET_MAX_KEYS]
            request: dict[str, Any] = {
                table_name: {"Keys": [{key_name: {"S": k}} for k in chunk], "ConsistentRead": True}
            }
            found: dict[str, dict[str, Any]] = {}
            for _ in range(8):  # unprocessed keys (throttling) are asked for again
                page = dynamodb.batch_get_item(RequestItems=request)
                for raw in page.get("Responses", {}).get(table_name, []):
                    item = from_wire(raw)
                    found[item[key_name]] = item
                request = page.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                continue  # keys still unprocessed are not cached: their readers fall back to GetItem
            for k in chunk:
                self._reads[(table_name, k)] = found.get(k)

    def read(self, table_name: str, key: str, fetch: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
        """The prefetched item (None if it does not exist), else ``fetch()``."""
        if (table_name, key) in self._reads:
            return self._reads[(table_name, key)]
        return fetch()

    def remember(self, table_name: str, key: str, item: dict[str, Any]) -> None:
        """This batch wrote ``item``: its later records read it from here."""
        self._reads[(table_name, key)] = item

    def forget(self, table_name: str, key: str) -> None:
        """The item changed: later records of the batch read it again."""
        self._reads.pop((table_name, key), None)

    # -------------------------------------------------------------------------------------------- end
    def flush(self) -> list[Failed]:
        """Publish the batch's events, then hand the completions of the records whose events all went out to
        the ledger. Returns the records that failed to publish (their claims and hops already handled)."""
        records, self._records = self._records, {}
        failed = self._publish(records)
        book = ledger.current()
        for message_id, record in records.items():
            if message_id in failed:
                if book is not None and record.hops:
                    book.discard(*record.hops)
                if record.claim_key is not None:
                    self._write(book, record.table_name, {"DeleteRequest": {"Key": record.claim_key}})
            elif record.completion is not None:
                self._write(book, record.table_name, {"PutRequest": {"Item": record.completion}})
        return [Failed(mid, reason) for mid, reason in failed.items()]

    @staticmethod
    def _write(book: Any, table_name: str, request: dict[str, Any]) -> None:
        """With the ledger's writes at the end of the invocation; without a ledger (tests), now."""
        if book is not None:
            book.write(table_name, request)
            return
        client("dynamodb").batch_write_item(RequestItems={table_name: [request]})

    def _publish(self, records: dict[str, _Record]) -> dict[str, str]:
        pending = [(mid, envelope) for mid, record in records.items() for envelope in record.events]
        failed: dict[str, str] = {}
        publisher = EventPublisher(self._bus()) if pending else None
        for start in range(0, len(pending), PUT_EVENTS_MAX_ENTRIES):
            chunk = pending[start : start + PUT_EVENTS_MAX_ENTRIES]
            try:
                refused = publisher.put([envelope for _, envelope in chunk])  # type: ignore[union-attr]
            except Exception as exc:  # throttled past retries, network: every record of the chunk retries
                refused = {envelope.metadata.event_id: f"{exc.__class__.__name__}: {exc}" for _, envelope in chunk}
            for mid, envelope in chunk:
                if envelope.metadata.event_id in refused:
                    failed.setdefault(mid, f"EventBridge did not accept {envelope.metadata.event_type} "
                                           f"{envelope.metadata.event_id}: {refused[envelope.metadata.event_id]}")
        return failed

    def _bus(self) -> str:
        if not self.bus_name:
            self.bus_name = env("EVENT_BUS_NAME")
        return self.bus_name


def current() -> Batch | None:
    return _ACTIVE.get()


# What the stores call: the running batch's reads and writes, or the plain read (no batch, no cache).
def prefetch(table_name: str, key_name: str, keys: Iterable[str]) -> None:
    batch = current()
    if batch is not None:
        batch.prefetch(table_name, key_name, keys)


def read(table_name: str, key: str, fetch: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
    batch = current()
    return batch.read(table_name, key, fetch) if batch is not None else fetch()


def wrote(table_name: str, key: str, item: dict[str, Any] | None) -> None:
    """The item of ``key`` changed: remember it for the batch's later records (None: read it again)."""
    batch = current()
    if batch is not None:
        if item is None:
            batch.forget(table_name, key)
        else:
            batch.remember(table_name, key, item)


@contextmanager
def running(batch: Batch) -> Iterator[Batch]:
    token = _ACTIVE.set(batch)
    try:
        yield batch
    finally:
        _ACTIVE.reset(token)
