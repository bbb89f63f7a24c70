"""DLQ tooling against moto queues (the same calls run against AWS)."""

import json

import boto3
import pytest
from moto import mock_aws

from distsync import dlq


def _queue_with_dlq(sqs, name: str, fifo: bool = False) -> tuple[str, str]:
    suffix = ".fifo" if fifo else ""
    extra = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    dead = sqs.create_queue(QueueName=f"{name}-dlq{suffix}", Attributes=extra)["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = sqs.create_queue(QueueName=f"{name}{suffix}", Attributes={
        **extra, "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": "1"})})["QueueUrl"]
    return source, dead


def _envelope(event_type: str, cid: str, event_id: str) -> str:
    return json.dumps({"detail": {"metadata": {"eventType": event_type, "correlationId": cid, "eventId": event_id}}})


@pytest.fixture
def sqs():
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def _drain(sqs, url):
    """(event id, message group) of everything in the queue, in the order it is delivered."""
    out = []
    while msgs := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages"):
        for m in msgs:
            out.append((json.loads(m["Body"])["detail"]["metadata"]["eventId"], m["Attributes"].get("MessageGroupId")))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


def test_discovers_each_dlq_with_its_source(sqs):
    source, dead = _queue_with_dlq(sqs, "erp")
    other = sqs.create_queue(QueueName="plain")["QueueUrl"]
    [found] = dlq.discover(sqs, [source, dead, other])
    assert (found.name, found.source_url) == ("erp-dlq", source)
    assert dlq.select([found], "ERP").name == "erp-dlq"
    with pytest.raises(LookupError, match="matches 0"):
        dlq.select([found], "planning")


def test_peek_shows_messages_and_leaves_them(sqs):
    source, dead = _queue_with_dlq(sqs, "erp")
    sqs.send_message(QueueUrl=dead, MessageBody=_envelope("ReplenishmentUpdateRequested", "c-1", "e-1"))
    sqs.send_message(QueueUrl=dead, MessageBody="not an envelope")
    [queue] = dlq.discover(sqs, [source, dead])
    seen = dlq.peek(sqs, queue, reason_of=lambda m: f"why {m.event_id}")
    assert sorted((m.event_type, m.correlation_id, m.reason) for m in seen if m.event_id) == [
        ("ReplenishmentUpdateRequested", "c-1", "why e-1")]
    assert dlq.depth(sqs, queue) == 2


def test_dry_run_moves_nothing_and_filters_select(sqs):
    source, dead = _queue_with_dlq(sqs, "erp")
    for i, (etype, cid) in enumerate([("A", "c-1"), ("B", "c-1"), ("A", "c-2")]):
        sqs.send_message(QueueUrl=dead, MessageBody=_envelope(etype, cid, f"e-{i}"))
    [queue] = dlq.discover(sqs, [source, dead])
    report = dlq.redrive(sqs, queue, dlq.Filters(event_type="A"), dry_run=True)
    assert (report.scanned, len(report.matched), report.moved) == (3, 2, 0)
    assert dlq.depth(sqs, queue) == 3 and _drain(sqs, source) == []

    moved = []
    report = dlq.redrive(sqs, queue, dlq.Filters(event_type="A", correlation_id="c-2"), dry_run=False,
                         on_moved=moved.append)
    assert report.moved == 1 and [m.event_id for m in moved] == ["e-2"]
    assert [b[0] for b in _drain(sqs, source)] == ["e-2"]
    assert dlq.depth(sqs, queue) == 2
    assert dlq.redrive(sqs, queue, dlq.Filters(older_than_seconds=3600), dry_run=False).moved == 0


def test_redrive_moves_everything_once_and_keeps_fifo_groups(sqs):
    source, dead = _queue_with_dlq(sqs, "orders", fifo=True)
    for i in range(3):
        sqs.send_message(QueueUrl=dead, MessageBody=_envelope("OrderStatusChanged", f"c-{i}", f"e-{i}"),
                         MessageGroupId=f"order-{i % 2}")
    [queue] = dlq.discover(sqs, [source, dead])
    assert queue.fifo
    assert dlq.redrive(sqs, queue, dlq.Filters(), dry_run=False).moved == 3
    assert dlq.redrive(sqs, queue, dlq.Filters(), dry_run=False).moved == 0  # a second run finds nothing
    received = _drain(sqs, source)
    assert sorted(received) == [("e-0", "order-0"), ("e-1", "order-1"), ("e-2", "order-0")]
    group0 = [e for e, g in received if g == "order-0"]
    assert group0 == ["e-0", "e-2"]  # order within a message group survives the redrive
