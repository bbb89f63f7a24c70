"""The consumer side of a domain pipeline: one SQS batch in, partial batch response out.

Every transformer hands its per-event logic to :func:`consume`, which gives it, uniformly:
- parsing of the EventBridge event and validation of the envelope and data against the contract registry;
- quarantine (with the reason) for events that can never succeed: broken contract, unknown reference,
  a partner's permanent rejection; they are acknowledged, not retried forever;
- a ``held`` hop for events the consumer keeps to finish later itself (:class:`Held`);
- the correlation id on every log line of the record;
- idempotency per (consumer, event id) on DynamoDB, so a redelivered message has no second effect;
- a trace hop for every retry, and ``dead_lettered`` on the last receive before SQS moves it to the DLQ;
- batch-wide reads (``prefetch``) and writes left to the end of the batch: the events records publish and
  the idempotency completion marks (see :mod:`distsync_core.platform.unit_of_work` for the order and what a failure does).
"""

from __future__ import annotations

import functools
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from ..contracts import ContractModel, Envelope, UnknownContractError, upcast_to_latest, utcnow
from . import ledger, unit_of_work
from .config import env, env_int
from .events import EventPublisher
from .observability import logger, metrics
from .problems import pydantic_errors
from .quarantine import QuarantineStore
from .sqs_batch import SqsMessage, run_batch


class PermanentFailure(Exception):
    """Retrying cannot help (e.g. unknown master data, partner rejected): quarantine with this reason.
    ``waiting_for`` names the master data whose arrival releases it automatically."""

    def __init__(self, reason: str, waiting_for: str | None = None):
        super().__init__(reason)
        self.waiting_for = waiting_for


class Held(Exception):
    """The consumer keeps the event to finish it later itself (an order update ahead of its predecessor):
    acknowledged with a ``held`` hop and the reason, but not recorded as processed (the idempotency claim is
    dropped), so if it ends in quarantine its release runs it again. ``attrs`` go on the hop (a freeze
    window's name)."""

    def __init__(self, reason: str, **attrs: Any):
        super().__init__(reason)
        self.attrs = attrs


@dataclass(frozen=True)
class Delivery:
    """What a consumer's logic sees for one event."""

    envelope: Envelope
    data: ContractModel
    receive_count: int
    stage: str
    raw_body: str = ""  # the SQS message body as received (the EventBridge event)
    message_id: str = ""  # the SQS message id (what a partial batch response names)
    batch: unit_of_work.Batch | None = None

    @property
    def correlation_id(self) -> str:
        return self.envelope.metadata.correlation_id

    def publish(self, envelopes: list[Envelope]) -> None:
        """Publish with the batch's other events at its end (see :mod:`distsync_core.platform.unit_of_work`)."""
        if self.batch is not None:
            self.batch.emit(self.message_id, envelopes)
        else:
            EventPublisher(env("EVENT_BUS_NAME")).publish(envelopes)

    def record(self, outcome: str, detail: str, **attrs: Any) -> None:
        """A ledger hop of this consumer for this event (correlation id, business key and event id filled in)."""
        # causationId: the event that led to this one, so lineage (``distsync why``) can follow the chain.
        ledger.hop(self.correlation_id, self.stage, outcome, detail, business_key=self.data.business_key(),
                   event_id=self.envelope.metadata.event_id, causationId=self.envelope.metadata.causation_id,
                   **attrs)


Handle = Callable[[Delivery], None]
# Called once per batch, before its records run, with the data of every record that parsed: a consumer reads
# what the whole batch needs here (a store's ``prefetch``), so its records do not read one by one.
Prefetch = Callable[[list[ContractModel]], None]
# Called once per batch, after its records ran, with the deliveries that succeeded (in batch order), for a
# consumer whose work is one batched call at the end (the order router's SendMessageBatch). Returns the
# deliveries to retry, each with the reason: they are reported (retry or dead-letter hop, metric) like any
# record that failed.
AtBatchEnd = Callable[[list[Delivery]], list[tuple[Delivery, str]]]


class _Quarantined(Exception):
    def __init__(self, reason: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(reason)
        self.reason, self.errors = reason, errors or []


Parsed = tuple[Envelope, ContractModel, str | None]


def _parse(body: str) -> Parsed:
    """The envelope, its validated data, and the replay that re-sent it (if any)."""
    try:
        event = json.loads(body)
        envelope = Envelope.model_validate(event["detail"])
    except ValidationError as exc:  # before ValueError: pydantic's error is one
        raise _Quarantined("envelope breaks the contract", pydantic_errors(exc, "detail.")) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise _Quarantined(f"not an EventBridge event with a distsync envelope: {exc}") from exc
    try:
        return envelope, upcast_to_latest(envelope), event.get("replay-name")
    except UnknownContractError as exc:
        raise _Quarantined(str(exc)) from exc
    except ValidationError as exc:
        raise _Quarantined("data breaks the contract", pydantic_errors(exc, "detail.data.")) from exc


@dataclass
class Consumer:
    """A named pipeline consumer (the name is its trace stage prefix and idempotency scope)."""

    name: str
    accepts: type[ContractModel] | tuple[type[ContractModel], ...]
    handle: Handle
    idempotent: bool = True
    # A FIFO queue: records of a message group are handled strictly in order. After a failure the group's
    # later records go back to the queue untried (as Powertools' SqsFifoPartialProcessor); other groups go on.
    # Its events are published at once, not at the end of the batch.
    fifo: bool = False
    prefetch: Prefetch | None = None
    at_batch_end: AtBatchEnd | None = None

    def __post_init__(self) -> None:
        self._once: Callable[..., Any] | None = None
        self._store: Any = None  # idempotency.ConsumerIdempotencyStore, with the first idempotent record

    # Lazily built (on the first record, not at import): the store needs the table name from the environment.
    def _idempotent_handle(self) -> Callable[..., Any]:
        if self._once is None:
            from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

            from .idempotency import ConsumerIdempotencyStore

            self._store = ConsumerIdempotencyStore(env("IDEMPOTENCY_TABLE_NAME"))
            config = IdempotencyConfig(event_key_jmespath="[consumer, eventId]", expires_after_seconds=7 * 24 * 3600)

            @idempotent_function(data_keyword_argument="key", config=config, persistence_store=self._store)
            def once(key: dict[str, str], delivery: Delivery, run: str) -> dict[str, Any]:
                book = ledger.current()
                mark = book.mark() if book else 0
                self.handle(delivery)
                # Saved with the idempotency completion mark, which the ledger writes before the hops (25
                # items per call): if this invocation dies between the two, the redelivery (skipped as
                # already processed) writes the hops then. ``run`` tells this run's result from a stored one.
                return {"handled": key["eventId"], "run": run, "hops": book.since(mark) if book else []}

            self._once = once
            self._config = config
        return self._once

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        quarantine_table = os.environ.get("QUARANTINE_TABLE_NAME")
        quarantine = QuarantineStore(quarantine_table) if quarantine_table else None
        once = self._idempotent_handle() if self.idempotent else None
        if once is not None:
            self._config.register_lambda_context(context)
        max_receives = env_int("MAX_RECEIVE_COUNT", 3)
        batch = unit_of_work.Batch(os.environ.get("EVENT_BUS_NAME"), defer_events=not self.fifo)

        messages = [SqsMessage.of(r) for r in event.get("Records") or []]
        succeeded: list[Delivery] = []

        def handle(message: SqsMessage) -> None:
            delivery = self._handle_record(message, parsed.get(message.message_id), quarantine, once, max_receives,
                                           batch)
            if delivery is not None:
                succeeded.append(delivery)

        def at_end() -> list[str]:
            failed = batch.flush()
            self._report_unpublished(messages, failed, max_receives)
            retry = [f.message_id for f in failed]
            if self.at_batch_end is not None:
                for delivery, why in self.at_batch_end([d for d in succeeded if d.message_id not in retry]):
                    self._report_failure(why, delivery.receive_count, max_receives, delivery.envelope, delivery.data)
                    retry.append(delivery.message_id)
            return retry

        with unit_of_work.running(batch):
            parsed = self._parse_all(messages)
            return run_batch(messages, handle, fifo=self.fifo, after=at_end)

    def _parse_all(self, messages: list[SqsMessage]) -> dict[str, Parsed | _Quarantined]:
        """Every record parsed once, up front, so ``prefetch`` can read for the whole batch."""
        parsed: dict[str, Parsed | _Quarantined] = {}
        for message in messages:
            try:
                parsed[message.message_id] = _parse(message.body)
            except _Quarantined as exc:
                parsed[message.message_id] = exc
        if self.prefetch is not None:
            datas = [p[1] for p in parsed.values() if not isinstance(p, _Quarantined) and isinstance(p[1], self.accepts)]
            if datas:
                self.prefetch(datas)
        return parsed

    def _report_unpublished(self, messages: list[SqsMessage], failed: list[unit_of_work.Failed],
                            max_receives: int) -> None:
        by_id = {m.message_id: m for m in messages}
        for f in failed:
            message = by_id[f.message_id]
            envelope, data, _ = _parse(message.body)  # it ran, so it parses
            self._report_failure(f.reason, message.receive_count, max_receives, envelope, data)

    def _report_failure(self, why: str, receive_count: int, max_receives: int, envelope: Envelope | None,
                        data: ContractModel | None) -> None:
        """A record goes back to the queue: a retry, or on its last receive the DLQ."""
        final = receive_count >= max_receives
        outcome = "dead_lettered" if final else "retrying"
        reason = f"{why} (receive {receive_count} of {max_receives})"
        logger.warning(f"{self.name} failed", extra={"outcome": outcome, "reason": reason})
        metrics.add_metric(name="RecordsDeadLettered" if final else "RecordsRetried", unit=MetricUnit.Count, value=1)
        if envelope is not None:
            ledger.hop(envelope.metadata.correlation_id, self.name, outcome, reason,
                       event_id=envelope.metadata.event_id, business_key=_business_key(envelope, data))

    def _run(self, delivery: Delivery, once: Callable[..., Any] | None, batch: unit_of_work.Batch) -> None:
        if once is None:
            self.handle(delivery)
            return
        run = uuid.uuid4().hex
        # The completion mark waits for the end of the batch, after the record's events (unit_of_work).
        with self._store.completing_into(functools.partial(batch.complete, delivery.message_id)):
            result = once(key={"consumer": self.name, "eventId": delivery.envelope.metadata.event_id},
                          delivery=delivery, run=run)
        book = ledger.current()
        if result.get("run") != run and book is not None:  # processed before: make sure its hops exist
            book.restore(result.get("hops", []))

    def _handle_record(
        self,
        record: SqsMessage,
        parsed: Parsed | _Quarantined | None,
        quarantine: QuarantineStore | None,
        once: Callable[..., Any] | None,
        max_receives: int,
        batch: unit_of_work.Batch,
    ) -> Delivery | None:
        """Runs one record; returns its delivery when it succeeded (None: quarantined), raises to retry it."""
        receive_count = record.receive_count
        envelope: Envelope | None = None
        data: ContractModel | None = None
        book = ledger.current()
        start = book.mark() if book else 0
        try:
            if isinstance(parsed, _Quarantined):
                raise parsed
            envelope, data, replay_name = parsed if parsed is not None else _parse(record.body)
            logger.set_correlation_id(envelope.metadata.correlation_id)
            if not isinstance(data, self.accepts):  # misrouted: no retry can make this consumer take it
                accepted = self.accepts if isinstance(self.accepts, tuple) else (self.accepts,)
                names = ", ".join(a.__name__ for a in accepted)
                raise _Quarantined(f"{self.name} consumes {names}, not {envelope.metadata.event_type}")
            delivery = Delivery(envelope, data, receive_count, self.name, record.body, record.message_id, batch)
            if replay_name:
                delivery.record("replayed", f"re-sent by replay {replay_name}; idempotency skips what was applied")
            self._run(delivery, once, batch)
            if book is not None:
                batch.ran(record.message_id, (start, book.mark()))
            _report_recovery(record)
            logger.info(f"{self.name} handled {envelope.metadata.event_type}",
                        extra={"eventId": envelope.metadata.event_id, "receiveCount": receive_count})
            return delivery
        except _Quarantined as exc:
            _drop_hops(book, start)
            batch.discard(record.message_id)
            self._quarantine(record, envelope, data, exc.reason, exc.errors, quarantine)
        except PermanentFailure as exc:
            _drop_hops(book, start)
            batch.discard(record.message_id)
            self._quarantine(record, envelope, data, str(exc), [], quarantine, waiting_for=exc.waiting_for)
        except Held as exc:
            _drop_hops(book, start)
            batch.discard(record.message_id)
            if envelope is not None:
                ledger.hop(envelope.metadata.correlation_id, self.name, "held", str(exc),
                           event_id=envelope.metadata.event_id, business_key=_business_key(envelope, data), **exc.attrs)
        except Exception as exc:
            _drop_hops(book, start)
            batch.discard(record.message_id)
            self._report_failure(f"{exc.__class__.__name__}: {exc}", receive_count, max_receives, envelope, data)
            raise
        finally:
            logger.set_correlation_id(None)
        return None

    def _quarantine(
        self,
        record: SqsMessage,
        envelope: Envelope | None,
        data: ContractModel | None,
        reason: str,
        errors: list[dict[str, Any]],
        quarantine: QuarantineStore | None,
        waiting_for: str | None = None,
    ) -> None:
        meta = envelope.metadata if envelope else None
        if quarantine is None:  # a consumer without a quarantine table must not swallow the event
            raise RuntimeError(f"cannot quarantine ({reason}): no QUARANTINE_TABLE_NAME")
        qid = quarantine.put(
            stage=self.name,
            reason=reason,
            errors=errors,
            body=record.body,
            correlation_id=meta.correlation_id if meta else None,
            event_id=meta.event_id if meta else None,
            event_type=meta.event_type if meta else None,
            waiting_for=waiting_for,
        )
        logger.warning("event quarantined", extra={"reason": reason, "errors": errors, "quarantineId": qid})
        metrics.add_metric(name="RecordsQuarantined", unit=MetricUnit.Count, value=1)
        if meta:
            ledger.hop(meta.correlation_id, self.name, "quarantined", reason, quarantineId=qid, event_id=meta.event_id,
                       business_key=_business_key(envelope, data))


def _report_recovery(record: SqsMessage) -> None:
    """A redriven message carries when it was dead-lettered: its delivery ends a failure's recovery."""
    attribute = record.message_attributes.get("distsyncDeadLetteredAt") or {}
    value = attribute.get("stringValue")
    if value:
        seconds = (utcnow() - datetime.fromisoformat(value)).total_seconds()
        metrics.add_metric(name="FailureRecoveryTime", unit=MetricUnit.Seconds, value=max(0.0, seconds))


def _business_key(envelope: Envelope | None, data: ContractModel | None) -> str | None:
    """The contract's own business key; for data that broke its contract, item@location if it has them."""
    if data is not None:
        return data.business_key()
    raw = envelope.data if envelope else {}
    item, location = raw.get("itemId"), raw.get("locationId")
    return f"{item}@{location}" if isinstance(item, str) and isinstance(location, str) else None


def _drop_hops(book: ledger.Ledger | None, start: int) -> None:
    """What a record that then failed (or was quarantined, or held) said it did is not written: its outcome
    hop says what happened instead."""
    if book is not None:
        book.discard(start, book.mark())
