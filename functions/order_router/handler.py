"""Order router: from the bus into the orders FIFO queue, one message group per order.

An EventBridge rule can only give an SQS FIFO target a fixed message group, which would serialise every
order behind one another. This small hop sets the group to the order id and the deduplication id to the
event id; the batch's updates leave together at its end (distsync_core.orders.routing).
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.contracts import OrderStatusChanged
from distsync_core.orders.routing import OrdersQueue, send_rounds
from distsync_core.platform.config import env
from distsync_core.platform.observability import instrument
from distsync_core.platform.pipeline import Consumer, Delivery


def route(delivery: Delivery) -> None:
    """A valid update waits for the end of the batch (``send_routed``); invalid ones were quarantined."""


def send_routed(routed: list[Delivery]) -> list[tuple[Delivery, str]]:
    """Send the batch's valid updates; returns those to retry, with the reason."""
    retry: list[tuple[Delivery, str]] = []
    held: set[str] = set()  # orders with a refused update: their later updates wait for the retry
    queue = OrdersQueue(env("ORDERS_QUEUE_URL"))
    for call in send_rounds(routed, lambda d: d.data.order_id):
        for d in call:
            if d.data.order_id in held:
                retry.append((d, f"held back behind a refused update of order {d.data.order_id}"))
        sending = [d for d in call if d.data.order_id not in held]
        if not sending:
            continue
        refused = queue.send([(d.raw_body, d.data.order_id, d.envelope.metadata.event_id) for d in sending])
        for i, d in enumerate(sending):
            order: OrderStatusChanged = d.data
            if i in refused:
                held.add(order.order_id)
                retry.append((d, f"orders queue refused update {order.sequence} of {order.order_id}: {refused[i]}"))
            else:
                d.record("ok", f"order {order.order_id} update {order.sequence} queued in its message group")
    return retry


# The FIFO queue deduplicates on the event id for five minutes, and the order transformer is idempotent.
consumer = Consumer("order-router", OrderStatusChanged, route, idempotent=False, at_batch_end=send_routed)


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return consumer(event, context)
