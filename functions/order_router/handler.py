"""Order router: from the bus into the orders FIFO queue, one message group per order.

An EventBridge rule can only give an SQS FIFO target a fixed message group, which would serialise every
order behind one another. This small hop sets the group to the order id (orders proceed in parallel, each
one strictly in order) and the deduplication id to the event id (a redelivered event enters the queue once).

The batch's valid updates go out in SendMessageBatch calls of 10 (in batch order, so an order's updates keep
their order); an entry SQS refuses is reported as a failed record and retried by SQS.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.adapters import client
from distsync_core.config import env, env_int
from distsync_core.contracts import OrderStatusChanged
from distsync_core.observability import instrument, logger
from distsync_core.pipeline import Consumer, Delivery

SEND_MESSAGE_BATCH_MAX = 10
_pending: list[Delivery] = []


def route(delivery: Delivery) -> None:
    """Valid updates wait for the batch send (below); invalid ones were quarantined by the consumer."""
    _pending.append(delivery)


def send_pending() -> list[str]:
    """Send what the batch routed; returns the SQS message ids of the records to retry."""
    failed: list[str] = []
    sqs = client("sqs")
    for start in range(0, len(_pending), SEND_MESSAGE_BATCH_MAX):
        chunk = _pending[start : start + SEND_MESSAGE_BATCH_MAX]
        entries = [
            {
                "Id": str(i),
                "MessageBody": d.raw_body,
                "MessageGroupId": d.data.order_id,
                "MessageDeduplicationId": d.envelope.metadata.event_id,
            }
            for i, d in enumerate(chunk)
        ]
        try:
            result = sqs.send_message_batch(QueueUrl=env("ORDERS_QUEUE_URL"), Entries=entries)
            refused = {int(f["Id"]): f.get("Message", f.get("Code", "refused")) for f in result.get("Failed", [])}
        except Exception as exc:  # the whole call failed: every record of the chunk is retried
            logger.warning("orders queue unavailable", extra={"error": str(exc)})
            refused = {i: f"{exc.__class__.__name__}: {exc}" for i in range(len(chunk))}
        for i, d in enumerate(chunk):
            order: OrderStatusChanged = d.data
            if i in refused:
                failed.append(d.message_id)
                final = d.receive_count >= env_int("MAX_RECEIVE_COUNT", 3)
                d.record("dead_lettered" if final else "retrying",
                         f"orders queue refused update {order.sequence} of {order.order_id}: {refused[i]}")
            else:
                d.record("ok", f"order {order.order_id} update {order.sequence} queued in its message group")
    return failed


# The FIFO queue deduplicates on the event id for five minutes, and the order transformer is idempotent.
consumer = Consumer("order-router", OrderStatusChanged, route, idempotent=False)


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    _pending.clear()
    response = consumer(event, context)
    failed = send_pending()
    _pending.clear()
    response["batchItemFailures"] = [*response.get("batchItemFailures", []),
                                     *({"itemIdentifier": m} for m in failed)]
    return response

