"""Orders pipeline (FIFO, one message group per order): apply ERP order updates strictly in sequence and pass
them to the warehouse and the customer-facing channels.

The queue before the router is not ordered, so an update can reach this group ahead of its predecessor: it
is held (kept with its event in the holds table, a ``held`` hop in the trace) and a timer for it goes to the
gap queue; when the predecessor applies, the held successors apply right after it, in order, in the same
invocation. A timer that finds the gap still open quarantines the update (functions/order_gap). An update
older than the one applied, or a second event for a sequence applied or held, is rejected into quarantine
with the reason; the warehouse and the channels deduplicate on the event id, so a retried update reaches
them once.
"""

from __future__ import annotations

import json

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.contracts import Envelope, Metadata, OrderStatusChanged, upcast_to_latest, utcnow
from distsync_core.orders.policy import (
    Duplicate,
    HeldUpdate,
    Hold,
    OutOfOrder,
    check_sequence,
    held_twice,
    releasable,
)
from distsync_core.orders.store import OrderStore
from distsync_core.partners import partner
from distsync_core.partners.base import PartnerRejected, segment
from distsync_core.platform import ledger
from distsync_core.platform.aws import client
from distsync_core.platform.config import env, env_int
from distsync_core.platform.observability import instrument, logger, metrics
from distsync_core.platform.pipeline import Consumer, Delivery, Held, PermanentFailure

STAGE = "orders"


def _store() -> OrderStore:
    return OrderStore(env("ORDERS_TABLE_NAME"), env("ORDER_HOLDS_TABLE_NAME"))


def apply_order_update(delivery: Delivery) -> None:
    order: OrderStatusChanged = delivery.data
    meta = delivery.envelope.metadata
    store = _store()
    applied = store.applied(order.order_id)
    verdict = check_sequence(order.order_id, order.sequence, meta.event_id, applied)
    if isinstance(verdict, OutOfOrder):
        metrics.add_metric(name="OrderUpdatesOutOfOrder", unit=MetricUnit.Count, value=1)
        raise PermanentFailure(verdict.reason)
    if isinstance(verdict, Duplicate):  # quarantined too: kept with the reason, so nothing vanishes unexplained
        raise PermanentFailure(verdict.reason)
    if isinstance(verdict, Hold):
        hold(store, delivery, verdict)

    inform_partners(order, meta)
    if not store.apply(order, meta):  # cannot happen within one message group; say so if it does
        raise PermanentFailure(f"order {order.order_id}: a later update was applied while {order.sequence} ran")
    delivery.record("delivered", f"order {order.order_id} update {order.sequence} ({order.status}) applied; "
                                 "warehouse and customer channels informed")
    if applied is not None and applied.holds_up_to > order.sequence:  # successors may be held: look only then
        apply_held_successors(store, order.order_id, order.sequence)


def hold(store: OrderStore, delivery: Delivery, verdict: Hold) -> None:
    """Keep the update and start its gap timer; raises :class:`Held` (acknowledged, not processed)."""
    order: OrderStatusChanged = delivery.data
    meta = delivery.envelope.metadata
    held = store.held_update(order.order_id, order.sequence)
    if held is not None and (duplicate := held_twice(order.order_id, order.sequence, meta.event_id, held)):
        raise PermanentFailure(duplicate.reason)
    if not store.hold(order, meta, delivery.raw_body, verdict.waiting_for):
        raise RuntimeError(f"order {order.order_id} update {order.sequence}: held by another event meanwhile")
    # The timer is the update's own event, delayed: if it arrives to find the gap still open it quarantines
    # the update with that event (a release re-sends it). Sent after the hold, so a retry only resends it.
    timeout = env_int("ORDER_GAP_TIMEOUT_SECONDS", 300)
    client("sqs").send_message(QueueUrl=env("ORDER_GAP_QUEUE_URL"), MessageBody=delivery.raw_body,
                               DelaySeconds=timeout)
    metrics.add_metric(name="OrderUpdatesHeld", unit=MetricUnit.Count, value=1)
    raise Held(f"{verdict.reason} (or is quarantined after {timeout} s)")


def inform_partners(order: OrderStatusChanged, meta: Metadata) -> None:
    payload = order.model_dump(by_alias=True, mode="json", exclude_none=True)
    try:
        partner("wms").send("PUT", f"/v1/orders/{segment(order.order_id)}", payload,
                            idempotency_key=meta.event_id, correlation_id=meta.correlation_id)
        partner("channels").send("POST", "/v1/order-updates", payload,
                                 idempotency_key=meta.event_id, correlation_id=meta.correlation_id)
    except PartnerRejected as exc:
        raise PermanentFailure(str(exc)) from exc
    # Order status propagation: changed in the ERP -> warehouse and channels informed.
    metrics.add_metric(name="OrderStatusPropagation", unit=MetricUnit.Seconds,
                       value=max(0.0, (utcnow() - meta.occurred_at).total_seconds()))


def apply_held_successors(store: OrderStore, order_id: str, applied: int) -> None:
    """The gap before the held updates that follow ``applied`` is filled: apply them now, in order. A failure
    (a partner down) fails the record that filled the gap; its retry resumes it and comes back here."""
    holds = {int(h["sequence"]): h for h in store.held(order_id)}
    for update in releasable(applied, [HeldUpdate(s, h["eventId"]) for s, h in holds.items()]):
        item = holds[update.sequence]
        envelope = Envelope.model_validate(json.loads(item["body"])["detail"])
        order = upcast_to_latest(envelope)
        if not isinstance(order, OrderStatusChanged):  # it was validated as one when it was held
            raise TypeError(f"held event {envelope.metadata.event_id} is not an OrderStatusChanged")
        meta = envelope.metadata
        try:
            inform_partners(order, meta)
        except PermanentFailure as exc:  # a partner rejected this one: quarantined, its successors wait on
            qid = store.quarantine_held(item, stage=STAGE, reason=str(exc), quarantine_table=env("QUARANTINE_TABLE_NAME"))
            _hop(meta, order, "quarantined", str(exc), quarantineId=qid)
            metrics.add_metric(name="RecordsQuarantined", unit=MetricUnit.Count, value=1)
            return
        if not store.apply(order, meta, from_hold=True):
            logger.warning("held update no longer applicable", extra={"orderId": order_id, "sequence": order.sequence})
            return
        _hop(meta, order, "delivered", f"order {order_id} update {order.sequence} ({order.status}) applied after "
                                       f"sequence {order.sequence - 1}, which it was held for; warehouse and "
                                       "customer channels informed")


def _hop(meta: Metadata, order: OrderStatusChanged, outcome: str, detail: str, **attrs: str | None) -> None:
    ledger.hop(meta.correlation_id, STAGE, outcome, detail, business_key=order.business_key(),
               event_id=meta.event_id, **{k: v for k, v in attrs.items() if v is not None})


def read_applied_orders(updates: list[OrderStatusChanged]) -> None:
    _store().prefetch(u.order_id for u in updates)


consumer = Consumer(STAGE, OrderStatusChanged, apply_order_update, fifo=True, prefetch=read_applied_orders)


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return consumer(event, context)
