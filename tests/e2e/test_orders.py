"""Orders end to end on the local stack: ERP order updates through the webhook, the router into the orders
FIFO queue (one message group per order) and the in-order consumer, to the simulated WMS and customer
channels. Includes the out-of-order deliveries fault (issue #5): updates ahead of their predecessor are held
and applied in sequence (issue 12, finding 10)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from distsync.sim.clients import send

pytestmark = pytest.mark.e2e

STATUSES = ("created", "confirmed", "allocated", "picking", "shipped", "delivered")
LINES = [{"lineNumber": 1, "itemId": "SKU-E2E", "quantity": 4, "status": "open"}]


def new_order() -> str:
    return f"SO-{uuid.uuid4().hex[:10]}"


def status_of(sequence: int) -> str:
    return STATUSES[(sequence - 1) % len(STATUSES)]


def send_update(stack, order_id: str, sequence: int, expect: str) -> str:
    """ERP order update ``sequence`` under the correlation id ``<order>-<sequence>``; returns its event id."""
    cid = f"{order_id}-{sequence}"
    result = stack.erp.order_status(order_id, sequence, status_of(sequence), LINES, correlation_id=cid)
    stack.expect(result, cid, expect)
    return result.body["eventId"]


def wms_updates(stack, order_id: str) -> list[dict[str, Any]]:
    """Updates the WMS recorded for the order, in arrival order (once per idempotency key)."""
    return [o for o in send(stack.url + "/_sim/wms/orders").body["orders"] if o["orderId"] == order_id]


def channel_updates(stack, order_id: str) -> list[dict[str, Any]]:
    return [r for r in stack.sim_records("channels", "order-update") if r["body"]["orderId"] == order_id]


def quarantined(stack, event_id: str) -> dict[str, Any] | None:
    table = stack.dynamodb.Table(stack.info["outputs"]["QuarantineTableName"])
    return table.get_item(Key={"quarantineId": f"q-{event_id}"}, ConsistentRead=True).get("Item")


def stored_order(stack, order_id: str) -> dict[str, Any]:
    return stack.dynamodb.Table(stack.info["outputs"]["OrdersTableName"]).get_item(
        Key={"orderId": order_id}, ConsistentRead=True)["Item"]


def test_updates_of_one_order_sent_in_order_reach_the_warehouse_and_channels_in_order(stack):
    order = new_order()
    event_ids = [send_update(stack, order, seq, expect="delivered") for seq in range(1, 7)]  # back to back
    stack.wait_idle()

    wms = wms_updates(stack, order)
    assert [(u["sequence"], u["status"]) for u in wms] == [(s, status_of(s)) for s in range(1, 7)]
    assert [u["idempotencyKey"] for u in wms] == event_ids  # each update once, under its event id
    assert [u["correlationId"] for u in wms] == [f"{order}-{s}" for s in range(1, 7)]
    assert [r["body"]["sequence"] for r in channel_updates(stack, order)] == list(range(1, 7))
    for seq in range(1, 7):
        trace = stack.trace(f"{order}-{seq}")
        stages = [(h["stage"], h["outcome"]) for h in trace["hops"]]
        assert trace["status"] == "delivered", trace
        assert stages == [("webhook", "ok"), ("order-router", "ok"), ("orders", "delivered")], trace
        assert "never arrived" not in trace["hops"][-1]["detail"]
    assert (int(stored_order(stack, order)["sequence"]), stored_order(stack, order)["lastEventId"]) == (6, event_ids[-1])


def test_updates_ahead_of_their_predecessor_are_held_and_every_update_applied_once_in_sequence(stack):
    """Three orders interleaved; some updates reach distsync ahead of their predecessor (3 before 2, 5 before
    4). Each round is sent back to back and settles before the next one, so "ahead" is deterministic. The ones
    ahead are held, neither applied nor quarantined, and apply in sequence once the gap fills."""
    a, b, c = new_order(), new_order(), new_order()
    rounds: list[list[tuple[str, int]]] = [
        [(a, 1), (b, 1), (c, 1), (b, 2), (c, 2)],
        [(a, 3), (c, 4), (b, 3), (a, 4)],  # a3 and a4 wait for a2, c4 for c3
        [(a, 2), (c, 3), (b, 5)],  # the gaps of a and c fill; b5 waits for b4
        [(b, 4), (a, 5), (c, 5)],  # b's gap fills
    ]
    held = {(a, 3): 2, (a, 4): 2, (c, 4): 3, (b, 5): 4}  # -> the sequence it waited for
    event_ids: dict[tuple[str, int], str] = {}
    for number, batch in enumerate(rounds):
        for order, seq in batch:
            event_ids[(order, seq)] = send_update(stack, order, seq, expect="delivered")
        stack.wait_idle()
        if number == 1:  # held: nothing of them reached the partners yet, nothing quarantined
            assert [u["sequence"] for u in wms_updates(stack, a)] == [1]
            assert [u["sequence"] for u in wms_updates(stack, c)] == [1, 2]
            for key in [(a, 3), (a, 4), (c, 4)]:
                trace = stack.trace(f"{key[0]}-{key[1]}")
                assert trace["status"] == "in_flight" and trace["hops"][-1]["outcome"] == "held", trace
                assert quarantined(stack, event_ids[key]) is None

    for order in (a, b, c):
        wms, channels = wms_updates(stack, order), channel_updates(stack, order)
        # every update applied, in sequence, once (the partners record each idempotency key once, and the
        # list would show a second key for the same sequence)
        assert [u["sequence"] for u in wms] == [1, 2, 3, 4, 5], (order, wms)
        assert [r["body"]["sequence"] for r in channels] == [1, 2, 3, 4, 5], (order, channels)
        assert [u["idempotencyKey"] for u in wms] == [event_ids[(order, s)] for s in range(1, 6)]
        assert int(stored_order(stack, order)["sequence"]) == 5

    for (order, seq), waited_for in held.items():
        trace = stack.trace(f"{order}-{seq}")
        stages = [(h["stage"], h["outcome"]) for h in trace["hops"]]
        assert trace["status"] == "delivered", trace
        assert stages == [("webhook", "ok"), ("order-router", "ok"), ("orders", "held"), ("orders", "delivered")]
        assert f"arrived before sequence {waited_for}" in trace["hops"][2]["detail"]
    # in = delivered, nothing in flight, nothing quarantined, nothing lost
    assert {stack.trace(f"{o}-{s}")["status"] for o, s in event_ids} == {"delivered"} and len(event_ids) == 15
    assert all(quarantined(stack, eid) is None for eid in event_ids.values())


def test_the_demo_sequence_1_3_2_is_applied_as_1_2_3(stack):
    """What `make run` shows for SO-1001 (distsync/local/demo.py, step 6)."""
    order = new_order()
    for seq in (1, 3, 2):
        send_update(stack, order, seq, expect="delivered")
        stack.wait_idle()
    assert [u["sequence"] for u in wms_updates(stack, order)] == [1, 2, 3]
    assert [r["body"]["sequence"] for r in channel_updates(stack, order)] == [1, 2, 3]


def test_a_transient_failure_holds_back_its_orders_later_updates_while_other_orders_go_on(stack):
    """The channels fail every attempt of the first call (a1's): a1 is retried, a2 and a3 wait behind it in
    their message group and apply in order afterwards; order b does not wait. Nothing is quarantined."""
    a, b = new_order(), new_order()
    assert stack.api.post("/_sim/channels/faults", {"status": 503, "count": 3}).status == 200
    sent = [(a, 1), (b, 1), (a, 2), (b, 2), (a, 3)]
    # a1 enters its message group first: the intake queue before the router is not ordered (the sequence check
    # covers that), and this test is about what FIFO does once a1 is in the group.
    event_ids = {(a, 1): send_update(stack, a, 1, expect="delivered")}
    deadline = time.monotonic() + 30
    # ... and fails there before the others are sent: the order consumer runs two batches at once (its
    # partners' concurrency cap), so a b update sent now could take the channels' failures instead.
    while not any(h["stage"] == "orders" and h["outcome"] == "retrying" for h in stack.trace(f"{a}-1")["hops"]):
        assert time.monotonic() < deadline, "a1 never failed at the channels"
        time.sleep(0.05)
    event_ids.update({(o, s): send_update(stack, o, s, expect="delivered") for o, s in sent[1:]})
    stack.wait_idle()

    assert [u["sequence"] for u in wms_updates(stack, a)] == [1, 2, 3]
    assert [r["body"]["sequence"] for r in channel_updates(stack, a)] == [1, 2, 3]
    assert [r["body"]["sequence"] for r in channel_updates(stack, b)] == [1, 2]
    assert all(quarantined(stack, eid) is None for eid in event_ids.values())
    a1 = [(h["stage"], h["outcome"]) for h in stack.trace(f"{a}-1")["hops"]]
    assert a1 == [("webhook", "ok"), ("order-router", "ok"), ("orders", "retrying"), ("orders", "delivered")], a1
    assert all(stack.trace(f"{o}-{s}")["status"] == "delivered" for o, s in sent)
    # b went on while a1 waited for its retry
    reached = {(r["body"]["orderId"], r["body"]["sequence"]): r["receivedAt"]
               for r in stack.sim_records("channels", "order-update")}
    assert reached[(b, 2)] < reached[(a, 1)]


def test_the_same_webhook_twice_with_different_signatures_is_applied_once(stack):
    order = new_order()
    data = {"orderId": order, "customerId": "CUST-1", "sequence": 1, "status": "confirmed", "lines": LINES}
    occurred = datetime.now(UTC).isoformat()

    # With an Idempotency-Key: the retry gets the first answer and nothing is published again.
    first = stack.erp.webhook("erp", "OrderStatusChanged", data, correlation_id=f"{order}-1",
                              idempotency_key=f"erp-{order}-1", occurred_at=occurred)
    retry = stack.erp.webhook("erp", "OrderStatusChanged", data, correlation_id=f"{order}-1",
                              idempotency_key=f"erp-{order}-1", occurred_at=occurred)
    stack.expect(first, f"{order}-1", "delivered")
    assert retry.status == 202 and retry.body == first.body

    # Without one (the ERP re-sent the change as a new event): accepted, and held back as already applied.
    stack.wait_idle()
    resent = stack.erp.webhook("erp", "OrderStatusChanged", data, occurred_at=occurred)
    resent_cid = stack.expect(resent, resent.body["correlationId"], "quarantined")
    stack.wait_idle()

    [wms] = wms_updates(stack, order)
    assert wms["idempotencyKey"] == first.body["eventId"]
    assert len(channel_updates(stack, order)) == 1
    record = quarantined(stack, resent.body["eventId"])
    assert record and record["reason"] == (f"duplicate: order {order} update sequence 1 was applied already from "
                                           f"event {first.body['eventId']}; this copy ({resent.body['eventId']}) "
                                           "is left out")
    assert stack.trace(f"{order}-1")["status"] == "delivered"
    assert stack.trace(resent_cid)["status"] == "quarantined"
    webhook_hops = [h for h in stack.trace(f"{order}-1")["hops"] if h["stage"] == "webhook"]
    assert len(webhook_hops) == 1  # the retry published nothing
