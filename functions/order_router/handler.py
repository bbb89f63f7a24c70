"""Order router: from the bus into the orders FIFO queue, one message group per order.

An EventBridge rule can only give an SQS FIFO target a fixed message group, which would serialise every
order behind one another. This small hop sets the group to the order id (orders proceed in parallel, each
one strictly in order) and the deduplication id to the event id (a redelivered event enters the queue once).

The batch's valid updates go out in SendMessageBatch calls of up to 10, in batch order, with at most one
update per order in a call: when SQS refuses an entry, that record and the order's later records of the batch
are reported as failed (SQS retries them in order), while every other order goes on.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.contracts import OrderStatusChanged
from distsync_core.platform.aws import client
from distsync_core.platform.config import env, env_int
from distsync_core.platform.observability import instrument, logger
from distsync_core.platform.pipeline import Consumer, Delivery

SEND_MESSAGE_BATCH_MAX = 10
_pending: list[Delivery] = []


def route(delivery: Delivery) -> None:
    """Valid updates wait for the batch send (below); invalid ones were quarantined by the consumer."""
    _pending.append(delivery)


def _calls(pending: list[Delivery]) -> list[list[Delivery]]:
    """An order's n-th update of the batch goes in round n (rounds in order, each in batch order), and a round
    in calls of 10: every call holds at most one update per order, and no update overtakes an earlier one."""
    rounds: list[list[Delivery]] = []
    seen: dict[str, int] = {}
    for d in pending:
        n = seen[d.data.order_id] = seen.get(d.data.order_id, -1) + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(d)
    return [r[i : i + SEND_MESSAGE_BATCH_MAX] for r in rounds for i in range(0, len(r), SEND_MESSAGE_BATCH_MAX)]


def send_pending() -> list[str]:
    """Send what the batch routed; returns the SQS message ids of the records to retry."""
    failed: list[str] = []
    held: set[str] = set()  # orders with a refused update: their later updates wait for the retry
    sqs = client("sqs")
    for call in _calls(_pending):
        sending = [d for d in call if d.data.order_id not in held]
        for d in call:
            if d.data.order_id in held:
                failed.append(d.message_id)
                d.record("retrying", f"held back behind a refused update of order {d.data.order_id}")
        if not sending:
            continue
        entries = [
            {
                "Id": str(i),
                "MessageBody": d.raw_body,
                "MessageGroupId": d.data.order_id,
                "MessageDeduplicationId": d.envelope.metadata.event_id,
            }
            for i, d in enumerate(sending)
        ]
        try:
            result = sqs.send_message_batch(QueueUrl=env("ORDERS_QUEUE_URL"), Entries=entries)
            refused = {int(f["Id"]): f.get("Message", f.get("Code", "refused")) for f in result.get("Failed", [])}
        except Exception as exc:  # the whole call failed: every record of it is retried
            logger.warning("orders queue unavailable", extra={"error": str(exc)})
            refused = {i: f"{exc.__class__.__name__}: {exc}" for i in range(len(sending))}
        for i, d in enumerate(sending):
            order: OrderStatusChanged = d.data
            if i in refused:
                failed.append(d.message_id)
                held.add(order.order_id)
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

