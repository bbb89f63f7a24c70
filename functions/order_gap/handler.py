"""Order gap timer: an order update held for its predecessor comes back here ``orderGapTimeoutSeconds``
after it was held (its own event, sent to the gap queue with that delay). If the gap is still open, the update
moves from the holds into the quarantine with the reason ``waiting for sequence N``, in one transaction that
holds only while the order's applied sequence is still below the missing one; if the predecessor came, the
update was applied already and there is nothing to do. Timers may repeat (a re-held update after a release
starts a new one), so this consumer keeps no idempotency record of its own: the transaction is the guard.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.contracts import OrderStatusChanged
from distsync_core.orders.policy import gap_timed_out
from distsync_core.orders.store import OrderStore
from distsync_core.platform.config import env, env_int
from distsync_core.platform.observability import instrument, metrics
from distsync_core.platform.pipeline import Consumer, Delivery

STAGE = "order-gap"


def quarantine_if_still_waiting(delivery: Delivery) -> None:
    order: OrderStatusChanged = delivery.data
    meta = delivery.envelope.metadata
    store = OrderStore(env("ORDERS_TABLE_NAME"), env("ORDER_HOLDS_TABLE_NAME"))
    held = next((h for h in store.held(order.order_id)
                 if int(h["sequence"]) == order.sequence and h["eventId"] == meta.event_id), None)
    if held is None:  # applied (or quarantined) since: the timer has nothing left to do
        return
    reason = gap_timed_out(order.order_id, order.sequence, store.applied(order.order_id),
                           env_int("ORDER_GAP_TIMEOUT_SECONDS", 300))
    if reason is None:  # the predecessor is applied: the transformer applies this one right after it
        return
    qid = store.quarantine_held(held, stage=STAGE, reason=reason, quarantine_table=env("QUARANTINE_TABLE_NAME"),
                                while_applied_below=order.sequence - 1)
    if qid is not None:  # None: the gap filled between the read and the transaction
        metrics.add_metric(name="RecordsQuarantined", unit=MetricUnit.Count, value=1)
        delivery.record("quarantined", reason, quarantineId=qid)


consumer = Consumer(STAGE, OrderStatusChanged, quarantine_if_still_waiting, idempotent=False)


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return consumer(event, context)
