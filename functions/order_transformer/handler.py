"""Orders pipeline (FIFO, one message group per order): apply ERP order updates strictly in order and pass
them to the warehouse and the customer-facing channels.

An update older than the one applied (it reached distsync late) is rejected into quarantine with the reason;
the warehouse and the channels deduplicate on the event id, so a retried update reaches them once.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.contracts import OrderStatusChanged, utcnow
from distsync_core.orders.policy import Duplicate, OutOfOrder, check_sequence
from distsync_core.orders.store import OrderStore
from distsync_core.partners import partner
from distsync_core.partners.base import PartnerRejected, segment
from distsync_core.platform.config import env
from distsync_core.platform.observability import instrument, metrics
from distsync_core.platform.pipeline import Consumer, Delivery, PermanentFailure


def apply_order_update(delivery: Delivery) -> None:
    order: OrderStatusChanged = delivery.data
    meta = delivery.envelope.metadata
    store = OrderStore(env("ORDERS_TABLE_NAME"))
    verdict = check_sequence(order.order_id, order.sequence, meta.event_id, store.applied(order.order_id))
    if isinstance(verdict, OutOfOrder):
        metrics.add_metric(name="OrderUpdatesOutOfOrder", unit=MetricUnit.Count, value=1)
        raise PermanentFailure(verdict.reason)
    if isinstance(verdict, Duplicate):  # quarantined too: kept with the reason, so nothing vanishes unexplained
        raise PermanentFailure(verdict.reason)

    payload = order.model_dump(by_alias=True, mode="json", exclude_none=True)
    try:
        partner("wms").send("PUT", f"/v1/orders/{segment(order.order_id)}", payload,
                            idempotency_key=meta.event_id, correlation_id=meta.correlation_id)
        partner("channels").send("POST", "/v1/order-updates", payload,
                                 idempotency_key=meta.event_id, correlation_id=meta.correlation_id)
    except PartnerRejected as exc:
        raise PermanentFailure(str(exc)) from exc
    if not store.apply(order, meta):  # cannot happen within one message group; say so if it does
        raise PermanentFailure(f"order {order.order_id}: a later update was applied while {order.sequence} ran")
    gap = f" ({verdict.gap} earlier update(s) never arrived)" if verdict.gap else ""
    # Order status propagation: changed in the ERP -> warehouse and channels informed.
    metrics.add_metric(name="OrderStatusPropagation", unit=MetricUnit.Seconds,
                       value=max(0.0, (utcnow() - meta.occurred_at).total_seconds()))
    delivery.record("delivered", f"order {order.order_id} update {order.sequence} ({order.status}) applied; "
                                 f"warehouse and customer channels informed{gap}")


def read_applied_orders(updates: list[OrderStatusChanged]) -> None:
    OrderStore(env("ORDERS_TABLE_NAME")).prefetch(u.order_id for u in updates)


consumer = Consumer("orders", OrderStatusChanged, apply_order_update, fifo=True, prefetch=read_applied_orders)


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return consumer(event, context)
