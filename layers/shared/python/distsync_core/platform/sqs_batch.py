"""Partial batch responses for an SQS event source: the loop every pipeline consumer runs.

The semantics are those of Powertools' ``BatchProcessor(EventType.SQS)`` and, for a FIFO queue,
``SqsFifoPartialProcessor(skip_group_on_error=True)``: each record is handled on its own; the failed ones are
named in ``batchItemFailures`` (the event source mapping has ``ReportBatchItemFailures``) and come back; on a
FIFO queue, once a record of a message group fails, the group's later records of the batch are named too,
untried, so they cannot overtake it, while other groups go on; a batch whose records all failed raises
Powertools' ``BatchProcessingError`` (the invocation fails as a whole, as with Powertools).

Why not Powertools' utility itself: importing ``aws_lambda_powertools.utilities.batch`` and its SQS data class
costs 85-130 ms per cold start once pydantic is loaded (the package imports Powertools' parser models of every
event source, asyncio, the DynamoDB stream data classes), which alone put every pipeline handler above 1.5x
``import boto3`` (docs/performance.md, section 3). What a consumer does with a record (parsing, quarantine,
idempotency, hops) is distsync's own code either way; this module is only the loop.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SqsMessage:
    """The parts of an SQS record a consumer reads."""

    message_id: str
    body: str
    receive_count: int = 1
    group_id: str | None = None  # FIFO queues only
    message_attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, record: dict[str, Any]) -> SqsMessage:
        attributes = record.get("attributes") or {}
        return cls(
            message_id=record["messageId"],
            body=record["body"],
            receive_count=int(attributes.get("ApproximateReceiveCount") or 1),
            group_id=attributes.get("MessageGroupId"),
            message_attributes=record.get("messageAttributes") or {},
        )


def run_batch(messages: Iterable[SqsMessage], handle: Callable[[SqsMessage], None], *, fifo: bool,
              after: Callable[[], Iterable[str]] | None = None) -> dict[str, list[dict[str, str]]]:
    """Handle each message; ``after`` runs once they have all run and names the ones that failed at the end
    of the batch. Returns the partial batch response."""
    messages = list(messages)
    failed: list[str] = []
    errors: list[Any] = []
    broken_groups: set[str] = set()
    for message in messages:
        if fifo and message.group_id in broken_groups:
            failed.append(message.message_id)  # untried: an earlier record of its group failed
            continue
        try:
            handle(message)
        except Exception:
            failed.append(message.message_id)
            errors.append(sys.exc_info())
            if fifo and message.group_id is not None:
                broken_groups.add(message.group_id)
    if after is not None:
        failed.extend(mid for mid in after() if mid not in failed)
    if messages and len(failed) == len(messages):
        from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

        raise BatchProcessingError(
            msg=f"All records failed processing. {len(errors)} individual errors logged separately below.",
            child_exceptions=errors,
        )
    return {"batchItemFailures": [{"itemIdentifier": mid} for mid in failed]}
