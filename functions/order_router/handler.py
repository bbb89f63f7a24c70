"""Order router: from the bus into the orders FIFO queue, one message group per order.

An EventBridge rule can only give an SQS FIFO target a fixed message group, which would serialise every
order behind one another. This small hop sets the group to the order id (orders proceed in parallel, each
one strictly in order) and the deduplication id to the event id (a redelivered event enters the queue once).
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.adapters import client
from distsync_core.config import env
from distsync_core.contracts import OrderStatusChanged
from distsync_core.observability import instrument
from distsync_core.pipeline import Consumer, Delivery


def route(delivery: Delivery) -> None:
    order: OrderStatusChanged = delivery.data
    client("sqs").send_message(
        QueueUrl=env("ORDERS_QUEUE_URL"),
        MessageBody=delivery.raw_body,
        MessageGroupId=order.order_id,
        MessageDeduplicationId=delivery.envelope.metadata.event_id,
    )
    delivery.record("ok", f"order {order.order_id} update {order.sequence} queued in its message group")


# The FIFO queue deduplicates on the event id for five minutes, and the order transformer is idempotent.
consumer = Consumer("order-router", OrderStatusChanged, route, idempotent=False)


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return consumer(event, context)
