"""Dead-letter queues of a stack: list, peek, redrive; they know distsync's envelope and trace.

Works the same on AWS and on the local stack (moto): the DLQs are found through the stack's queues and
their redrive policies, and a redrive moves each message back to the queue it came from with receive /
send / delete (SQS's own message-move task knows nothing of event types, correlation ids or ages, and
moto lacks it). A redrive is safe to run twice: a message is deleted from the DLQ only after it was sent,
and the consumers are idempotent per event id, so a duplicate has no second effect.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

VISIBILITY_WHILE_SCANNING = 120  # seconds a scanned message stays hidden, so one scan sees it once


@dataclass(frozen=True)
class DeadLetterQueue:
    name: str
    url: str
    arn: str
    source_url: str
    source_name: str
    pipeline: str  # what an operator calls it: "ErpUpdate", "Order (FIFO)" (see pipeline_name)

    @property
    def fifo(self) -> bool:
        return self.url.endswith(".fifo")


@dataclass
class DeadMessage:
    message_id: str
    sent_at: float
    receive_count: int
    event_type: str | None
    event_id: str | None
    correlation_id: str | None
    reason: str | None = None
    body: str = field(default="", repr=False)

    @property
    def age_seconds(self) -> float:
        return max(0.0, time.time() - self.sent_at)

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("body")
        out["ageSeconds"] = round(self.age_seconds, 1)
        return out


@dataclass(frozen=True)
class Filters:
    event_type: str | None = None
    correlation_id: str | None = None
    older_than_seconds: float | None = None

    def match(self, msg: DeadMessage) -> bool:
        return (
            (self.event_type is None or msg.event_type == self.event_type)
            and (self.correlation_id is None or msg.correlation_id == self.correlation_id)
            and (self.older_than_seconds is None or msg.age_seconds >= self.older_than_seconds)
        )


@dataclass
class RedriveReport:
    queue: str
    dry_run: bool
    scanned: int = 0
    matched: list[dict[str, Any]] = field(default_factory=list)
    moved: int = 0


def _name(url: str) -> str:
    return url.rsplit("/", 1)[-1]


_CDK_HASH = re.compile(r"[0-9A-F]{8}$")
_PIPELINE_QUEUE = re.compile(r"(?P<name>.+?)Pipeline(?P<variant>[A-Za-z0-9]*?)(?:DeadLetterQueue|Queue)$")


def pipeline_name(logical_id: str | None, url: str) -> str:
    """The pipeline a queue belongs to, from its logical id (``ErpUpdatePipelineS4Queue3DF7C76A`` ->
    ``ErpUpdate S4``); without one, its physical name without the stack name and CloudFormation's suffix.
    A FIFO queue says so (``Order (FIFO)``)."""
    fifo = " (FIFO)" if url.endswith(".fifo") else ""
    base = _CDK_HASH.sub("", logical_id or "")
    if not base:  # e.g. distsync-dev-OrderPipelineQueueCA0CCF18-1X2Y3Z4W5V6U.fifo
        name = _name(url).removesuffix(".fifo")
        base = _CDK_HASH.sub("", next((p for p in name.split("-") if "Pipeline" in p), name))
    found = _PIPELINE_QUEUE.match(base)
    if not found:
        return base + fifo
    return found["name"] + (f" {found['variant']}" if found["variant"] else "") + fifo


def discover(sqs: Any, queues: Mapping[str, str | None] | list[str]) -> list[DeadLetterQueue]:
    """The DLQs among ``queues`` (URLs, or URL -> logical id), each with the source queue whose redrive
    policy targets it and the pipeline they belong to; sorted by pipeline."""
    logical = queues if isinstance(queues, Mapping) else dict.fromkeys(queues)
    arns, sources = {}, {}
    for url in logical:
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn", "RedrivePolicy"])["Attributes"]
        arns[attrs["QueueArn"]] = url
        if "RedrivePolicy" in attrs:
            sources[json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"]] = url
    return sorted(
        (DeadLetterQueue(_name(arns[arn]), arns[arn], arn, src, _name(src), pipeline_name(logical[src], src))
         for arn, src in sources.items() if arn in arns),
        key=lambda q: (q.pipeline, q.name),
    )


def select(queues: list[DeadLetterQueue], wanted: str) -> DeadLetterQueue:
    """By pipeline (``ErpUpdate``), queue name, URL or ARN, or by a unique part of the queue name."""
    exact = [q for q in queues if wanted in (q.name, q.url, q.arn) or wanted.lower() == q.pipeline.lower()]
    partial = exact or [q for q in queues if wanted.lower() in q.name.lower()]
    if len(partial) != 1:
        names = ", ".join(q.pipeline for q in queues)
        raise LookupError(f"{wanted!r} matches {len(partial)} dead-letter queues; choose one of: {names}")
    return partial[0]


def depth(sqs: Any, queue: DeadLetterQueue) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def _parse(message: dict[str, Any]) -> DeadMessage:
    attrs = message.get("Attributes", {})
    meta: dict[str, Any] = {}
    try:
        meta = json.loads(message["Body"])["detail"]["metadata"]
    except (ValueError, KeyError, TypeError):
        pass  # not a distsync envelope: still listed and movable, just without event fields
    return DeadMessage(
        message_id=message["MessageId"],
        sent_at=int(attrs.get("SentTimestamp", "0")) / 1000,
        receive_count=int(attrs.get("ApproximateReceiveCount", "0")),
        event_type=meta.get("eventType"),
        event_id=meta.get("eventId"),
        correlation_id=meta.get("correlationId"),
        body=message["Body"],
    )


def _scan(sqs: Any, queue: DeadLetterQueue, limit: int | None) -> Iterator[tuple[DeadMessage, dict[str, Any]]]:
    seen = 0
    while limit is None or seen < limit:
        batch = sqs.receive_message(
            QueueUrl=queue.url,
            MaxNumberOfMessages=10 if limit is None else min(10, limit - seen),
            VisibilityTimeout=VISIBILITY_WHILE_SCANNING,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not batch:
            return
        for message in batch:
            seen += 1
            yield _parse(message), message


def _release(sqs: Any, queue: DeadLetterQueue, raw: list[dict[str, Any]]) -> None:
    for message in raw:
        sqs.change_message_visibility(QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)


def peek(sqs: Any, queue: DeadLetterQueue, limit: int = 10,
         reason_of: Callable[[DeadMessage], str | None] | None = None) -> list[DeadMessage]:
    """Up to ``limit`` messages with their reason; they stay in the DLQ (visible again at once)."""
    found, raw = [], []
    for msg, message in _scan(sqs, queue, limit):
        msg.reason = reason_of(msg) if reason_of else None
        found.append(msg)
        raw.append(message)
    _release(sqs, queue, raw)
    return found


DEAD_LETTERED_AT = "distsyncDeadLetteredAt"  # message attribute: when the ledger saw it dead-lettered


def record_redriven(ledger: Any, queue: DeadLetterQueue) -> Callable[[DeadMessage], None]:
    """``on_moved`` for :func:`redrive`: a ``redriven`` hop in the ledger per moved distsync event."""

    def record(msg: DeadMessage) -> None:
        if msg.correlation_id:
            ledger.hop(msg.correlation_id, "redrive", "redriven", f"moved from {queue.name} back to {queue.source_name}",
                       event_id=msg.event_id)

    return record


def dead_lettered_at(ledger: Any) -> Callable[[DeadMessage], dict[str, Any]]:
    """``attributes`` for :func:`redrive`: when the ledger recorded the message dead-lettered, so the
    consumer that finally delivers it can report the failure recovery time."""

    def attributes(msg: DeadMessage) -> dict[str, Any]:
        hops = [h for h in ledger.hops(msg.correlation_id) if h["outcome"] == "dead_lettered"
                and h.get("eventId") in (None, msg.event_id)] if msg.correlation_id else []
        if not hops:
            return {}
        at = max(h["at"] for h in hops)
        return {DEAD_LETTERED_AT: {"DataType": "String", "StringValue": at}}

    return attributes

def redrive(sqs: Any, queue: DeadLetterQueue, filters: Filters, *, dry_run: bool,
            on_moved: Callable[[DeadMessage], None] | None = None,
            attributes: Callable[[DeadMessage], dict[str, Any]] | None = None,
            progress: Callable[[int], None] | None = None) -> RedriveReport:
    """Move matching messages back to their source queue, in the order received (FIFO groups kept)."""
    report = RedriveReport(queue.name, dry_run)
    keep: list[dict[str, Any]] = []
    for msg, message in _scan(sqs, queue, None):
        report.scanned += 1
        if not filters.match(msg):
            keep.append(message)
            continue
        report.matched.append(msg.summary())
        if dry_run:
            keep.append(message)
            continue
        send: dict[str, Any] = {"QueueUrl": queue.source_url, "MessageBody": message["Body"]}
        extra = attributes(msg) if attributes else {}
        if message.get("MessageAttributes") or extra:
            send["MessageAttributes"] = {**message.get("MessageAttributes", {}), **extra}
        if queue.fifo:
            attrs = message.get("Attributes", {})
            send["MessageGroupId"] = attrs["MessageGroupId"]
            send["MessageDeduplicationId"] = attrs.get("MessageDeduplicationId") or message["MessageId"]
        sqs.send_message(**send)
        sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"])  # only after the send
        report.moved += 1
        if on_moved:
            on_moved(msg)
        if progress:
            progress(report.moved)
    _release(sqs, queue, keep)
    return report
