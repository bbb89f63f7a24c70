"""The consumer side of a domain pipeline: one SQS batch in, partial batch response out.

Every transformer hands its per-event logic to :func:`consume`, which gives it, uniformly:
- parsing of the EventBridge event and validation of the envelope and data against the contract registry;
- quarantine (with the reason) for events that can never succeed: broken contract, unknown reference,
  a partner's permanent rejection; they are acknowledged, not retried forever;
- the correlation id on every log line of the record;
- idempotency per (consumer, event id) on DynamoDB, so a redelivered message has no second effect;
- a trace hop for every retry, and ``dead_lettered`` on the last receive before SQS moves it to the DLQ.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from . import ledger
from .adapters.stores import QuarantineStore
from .config import env, env_int
from .contracts import ContractModel, Envelope, UnknownContractError, upcast_to_latest
from .observability import logger, metrics
from .problems import pydantic_errors


class PermanentFailure(Exception):
    """Retrying cannot help (e.g. unknown master data, partner rejected): quarantine with this reason.
    ``waiting_for`` names the master data whose arrival releases it automatically."""

    def __init__(self, reason: str, waiting_for: str | None = None):
        super().__init__(reason)
        self.waiting_for = waiting_for


@dataclass(frozen=True)
class Delivery:
    """What a consumer's logic sees for one event."""

    envelope: Envelope
    data: ContractModel
    receive_count: int
    stage: str
    raw_body: str = ""  # the SQS message body as received (the EventBridge event)
    message_id: str = ""  # the SQS message id (what a partial batch response names)

    @property
    def correlation_id(self) -> str:
        return self.envelope.metadata.correlation_id

    def record(self, outcome: str, detail: str, **attrs: Any) -> None:
        """A ledger hop of this consumer for this event (correlation id, business key and event id filled in)."""
        ledger.hop(self.correlation_id, self.stage, outcome, detail, business_key=self.data.business_key(),
                   event_id=self.envelope.metadata.event_id, **attrs)


Handle = Callable[[Delivery], None]


class _Quarantined(Exception):
    def __init__(self, reason: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(reason)
        self.reason, self.errors = reason, errors or []


def _parse(body: str) -> tuple[Envelope, ContractModel, str | None]:
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
    # later records go back to the queue untried (Powertools SqsFifoPartialProcessor); other groups go on.
    fifo: bool = False

    def __post_init__(self) -> None:
        if self.fifo:
            from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor

            self._processor = SqsFifoPartialProcessor(skip_group_on_error=True)
        else:
            self._processor = BatchProcessor(event_type=EventType.SQS)
        self._once: Callable[..., Any] | None = None

    # Lazily built: the idempotency store needs the table name from the environment.
    def _idempotent_handle(self) -> Callable[..., Any]:
        if self._once is None:
            from aws_lambda_powertools.utilities.idempotency import (
                DynamoDBPersistenceLayer,
                IdempotencyConfig,
                idempotent_function,
            )

            store = DynamoDBPersistenceLayer(table_name=env("IDEMPOTENCY_TABLE_NAME"))
            config = IdempotencyConfig(event_key_jmespath="[consumer, eventId]", expires_after_seconds=7 * 24 * 3600)

            @idempotent_function(data_keyword_argument="key", config=config, persistence_store=store)
            def once(key: dict[str, str], delivery: Delivery) -> dict[str, Any]:
                self._ran = True
                book = ledger.current()
                mark = book.mark() if book else 0
                self.handle(delivery)
                # Saved with the idempotency record: if this invocation dies before its hops are written,
                # the redelivery (skipped as already processed) writes them then.
                return {"handled": key["eventId"], "hops": book.since(mark) if book else []}

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

        def record_handler(record: SQSRecord) -> None:
            self._handle_record(record, quarantine, once, max_receives)

        return process_partial_response(
            event=event, record_handler=record_handler, processor=self._processor, context=context
        )

    def _handle_record(
        self,
        record: SQSRecord,
        quarantine: QuarantineStore | None,
        once: Callable[..., Any] | None,
        max_receives: int,
    ) -> None:
        receive_count = int(record.attributes.approximate_receive_count or 1)
        envelope: Envelope | None = None
        data: ContractModel | None = None
        try:
            envelope, data, replay_name = _parse(record.body)
            logger.set_correlation_id(envelope.metadata.correlation_id)
            if not isinstance(data, self.accepts):  # misrouted: no retry can make this consumer take it
                accepted = self.accepts if isinstance(self.accepts, tuple) else (self.accepts,)
                names = ", ".join(a.__name__ for a in accepted)
                raise _Quarantined(f"{self.name} consumes {names}, not {envelope.metadata.event_type}")
            delivery = Delivery(envelope, data, receive_count, self.name, record.body, record.message_id)
            if replay_name:
                delivery.record("replayed", f"re-sent by replay {replay_name}; idempotency skips what was applied")
            if once is not None:
                self._ran = False
                result = once(key={"consumer": self.name, "eventId": envelope.metadata.event_id}, delivery=delivery)
                book = ledger.current()
                if not self._ran and book is not None:  # already processed: make sure its hops exist
                    book.restore(result.get("hops", []))
            else:
                self.handle(delivery)
            _report_recovery(record)
            logger.info(f"{self.name} handled {envelope.metadata.event_type}",
                        extra={"eventId": envelope.metadata.event_id, "receiveCount": receive_count})
        except _Quarantined as exc:
            self._quarantine(record, envelope, data, exc.reason, exc.errors, quarantine)
        except PermanentFailure as exc:
            self._quarantine(record, envelope, data, str(exc), [], quarantine, waiting_for=exc.waiting_for)
        except Exception as exc:
            final = receive_count >= max_receives
            outcome = "dead_lettered" if final else "retrying"
            reason = f"{exc.__class__.__name__}: {exc} (receive {receive_count} of {max_receives})"
            logger.warning(f"{self.name} failed", extra={"outcome": outcome, "reason": reason})
            metrics.add_metric(name="RecordsDeadLettered" if final else "RecordsRetried", unit=MetricUnit.Count, value=1)
            if envelope is not None:
                ledger.hop(envelope.metadata.correlation_id, self.name, outcome, reason,
                           event_id=envelope.metadata.event_id, business_key=_business_key(envelope, data))
            raise
        finally:
            logger.set_correlation_id(None)

    def _quarantine(
        self,
        record: SQSRecord,
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


def _report_recovery(record: SQSRecord) -> None:
    """A redriven message carries when it was dead-lettered: its delivery ends a failure's recovery."""
    attribute = (record.message_attributes or {}).get("distsyncDeadLetteredAt") or {}
    value = attribute.get("stringValue")
    if value:
        from datetime import datetime

        from .contracts import utcnow

        seconds = (utcnow() - datetime.fromisoformat(value)).total_seconds()
        metrics.add_metric(name="FailureRecoveryTime", unit=MetricUnit.Seconds, value=max(0.0, seconds))


def _business_key(envelope: Envelope | None, data: ContractModel | None) -> str | None:
    """The contract's own business key; for data that broke its contract, item@location if it has them."""
    if data is not None:
        return data.business_key()
    raw = envelope.data if envelope else {}
    item, location = raw.get("itemId"), raw.get("locationId")
    return f"{item}@{location}" if isinstance(item, str) and isinstance(location, str) else None
