"""The orders pipeline against moto and the WMS / channels simulators over HTTP: the router into the FIFO
queue (one message group per order), then the in-order consumer (sequence check, quarantine, idempotency)."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from distsync.local.pollers import sqs_record
from distsync.sim.partner import ChannelsSimulator
from distsync.sim.wms import WmsSimulator
from distsync_core import partners
from distsync_core.contracts import CONTRACTS, OrderLine, OrderStatusChanged, new_envelope
from tests.conftest import FakeLambdaContext, load_handler
from tests.integration.conftest import bus_event, sqs_event

STATUSES = ("created", "confirmed", "allocated", "picking", "shipped", "delivered")


@pytest.fixture
def orders(aws, monkeypatch):
    """The orders table, the orders FIFO queue and simulated WMS and customer channels."""
    boto3.client("dynamodb").create_table(
        TableName="orders", KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    boto3.client("dynamodb").create_table(
        TableName="order-holds", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}, {"AttributeName": "sequenceKey", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"},
                              {"AttributeName": "sequenceKey", "AttributeType": "S"}])
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="orders.fifo", Attributes={
        "FifoQueue": "true", "ContentBasedDeduplication": "false", "VisibilityTimeout": "30"})["QueueUrl"]
    gap_url = sqs.create_queue(QueueName="order-gap")["QueueUrl"]
    wms, channels = WmsSimulator().start(), ChannelsSimulator().start()
    monkeypatch.setenv("ORDERS_TABLE_NAME", "orders")
    monkeypatch.setenv("ORDER_HOLDS_TABLE_NAME", "order-holds")
    monkeypatch.setenv("ORDER_GAP_QUEUE_URL", gap_url)
    monkeypatch.setenv("ORDER_GAP_TIMEOUT_SECONDS", "300")
    monkeypatch.setenv("ORDERS_QUEUE_URL", url)
    monkeypatch.setenv("WMS_BASE_URL", wms.base_url)
    monkeypatch.setenv("CHANNELS_BASE_URL", channels.base_url)
    monkeypatch.setattr(partners, "_clients", {})  # partner clients are cached per process: use these simulators
    yield Orders(url, wms, channels, gap_url)
    wms.stop()
    channels.stop()


class Orders:
    def __init__(self, queue_url: str, wms: WmsSimulator, channels: ChannelsSimulator, gap_url: str):
        self.queue_url, self.wms, self.channels, self.gap_url = queue_url, wms, channels, gap_url

    def gap_timers(self, timeout: float = 0.0) -> list[dict[str, Any]]:
        """The gap timers that are due (received and deleted); waits up to ``timeout`` for the first."""
        sqs, deadline = boto3.client("sqs"), time.monotonic() + timeout
        while True:
            msgs = sqs.receive_message(QueueUrl=self.gap_url, MaxNumberOfMessages=10, WaitTimeSeconds=1 if timeout else 0,
                                       AttributeNames=["All"]).get("Messages", [])
            if msgs or time.monotonic() >= deadline:
                for m in msgs:
                    sqs.delete_message(QueueUrl=self.gap_url, ReceiptHandle=m["ReceiptHandle"])
                return msgs

    def gap_timers_delayed(self) -> int:
        attrs = boto3.client("sqs").get_queue_attributes(QueueUrl=self.gap_url, AttributeNames=["All"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessagesDelayed"])

    def receive_all(self) -> list[dict[str, Any]]:
        """Everything in the FIFO queue (deleted), in the order the queue hands it out."""
        sqs, out = boto3.client("sqs"), []
        while True:
            msgs = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                       AttributeNames=["All"]).get("Messages", [])
            if not msgs:
                return out
            out.extend(msgs)
            sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])

    def wms_sequences(self, order_id: str) -> list[int]:
        """Sequences the WMS received for an order, in arrival order (each idempotency key once)."""
        return [u["sequence"] for u in self.wms.order_updates() if u["orderId"] == order_id]

    def channel_sequences(self, order_id: str) -> list[int]:
        return [r["body"]["sequence"] for r in self.channels.snapshot("order-update") if r["body"]["orderId"] == order_id]


def order_update(order_id: str, sequence: int, cid: str | None = None) -> dict[str, Any]:
    data = OrderStatusChanged(order_id=order_id, customer_id="CUST-1", sequence=sequence,
                              status=STATUSES[(sequence - 1) % len(STATUSES)],
                              lines=[OrderLine(line_number=1, item_id="SKU-1", quantity=3, status="open")])
    envelope = new_envelope(CONTRACTS[("OrderStatusChanged", "1")], data, source="erp",
                            correlation_id=cid or f"{order_id}-{sequence}")
    return bus_event(envelope)


def scan(table: str) -> list[dict[str, Any]]:
    return boto3.resource("dynamodb").Table(table).scan()["Items"]


def event_id(event: dict[str, Any]) -> str:
    return event["detail"]["metadata"]["eventId"]


def fifo_event(*events: dict[str, Any], receive_count: int = 1) -> dict[str, Any]:
    """A FIFO batch as the event source mapping hands it over: the message group is the order id."""
    batch = sqs_event(*events, receive_count=receive_count)
    for record, event in zip(batch["Records"], events, strict=True):
        record["attributes"].update(MessageGroupId=event["detail"]["data"]["orderId"],
                                    MessageDeduplicationId=event_id(event), SequenceNumber="1")
    return batch


def route(*events: dict[str, Any], receive_count: int = 1) -> dict[str, Any]:
    return load_handler("order_router").lambda_handler(sqs_event(*events, receive_count=receive_count),
                                                       FakeLambdaContext("order_router"))


def gap_timer(*messages: dict[str, Any]) -> dict[str, Any]:
    """The gap timers, handed to the order gap function as its event source mapping would."""
    batch = {"Records": [sqs_record(m, "arn:aws:sqs:us-east-1:123456789012:order-gap") for m in messages]}
    return load_handler("order_gap").lambda_handler(batch, FakeLambdaContext("order_gap"))


def transform(batch: dict[str, Any], module: Any = None) -> dict[str, Any]:
    module = module or load_handler("order_transformer")
    return module.lambda_handler(batch, FakeLambdaContext("order_transformer"))


def failed(result: dict[str, Any]) -> list[str]:
    return [f["itemIdentifier"] for f in result["batchItemFailures"]]


def test_router_queues_each_update_in_its_orders_group_deduplicated_by_event_id(aws, orders):
    a1, b1, a2 = order_update("SO-A", 1), order_update("SO-B", 1), order_update("SO-A", 2)
    assert route(a1, b1, a2) == {"batchItemFailures": []}
    assert route(a1, receive_count=2) == {"batchItemFailures": []}  # SQS redelivered a1 to the router

    queued = orders.receive_all()
    assert [(m["Attributes"]["MessageGroupId"], m["Attributes"]["MessageDeduplicationId"]) for m in queued] == [
        ("SO-A", event_id(a1)), ("SO-B", event_id(b1)), ("SO-A", event_id(a2))]
    assert [json.loads(m["Body"]) for m in queued] == [a1, b1, a2]  # the EventBridge event, untouched
    hops = [(h["stage"], h["outcome"], h["businessKey"]) for h in aws.items("TRACE_TABLE_NAME")
            if h["correlationId"] == "SO-A-2"]
    assert hops == [("order-router", "ok", "ORDER#SO-A")]


def test_updates_pass_the_fifo_queue_and_reach_the_warehouse_and_channels_in_order(aws, orders):
    updates = [order_update("SO-A", 1), order_update("SO-B", 1), order_update("SO-A", 2),
               order_update("SO-B", 2), order_update("SO-A", 3)]
    route(*updates)
    messages = orders.receive_all()
    batch = {"Records": [sqs_record(m, "arn:aws:sqs:us-east-1:123456789012:orders.fifo") for m in messages]}
    assert transform(batch) == {"batchItemFailures": []}

    assert orders.wms_sequences("SO-A") == [1, 2, 3] and orders.wms_sequences("SO-B") == [1, 2]
    assert orders.channel_sequences("SO-A") == [1, 2, 3] and orders.channel_sequences("SO-B") == [1, 2]
    [wms_a3] = [u for u in orders.wms.order_updates() if u["orderId"] == "SO-A" and u["sequence"] == 3]
    assert (wms_a3["idempotencyKey"], wms_a3["correlationId"], wms_a3["status"]) == (
        event_id(updates[4]), "SO-A-3", "allocated")
    stored = {i["orderId"]: i for i in scan("orders")}
    assert (int(stored["SO-A"]["sequence"]), stored["SO-A"]["lastEventId"]) == (3, event_id(updates[4]))
    assert int(stored["SO-B"]["sequence"]) == 2
    [hop] = [h for h in aws.items("TRACE_TABLE_NAME") if h["correlationId"] == "SO-A-3" and h["stage"] == "orders"]
    assert hop["outcome"] == "delivered" and "update 3 (allocated) applied" in hop["detail"]


def test_a_batch_reads_its_orders_once_and_sees_its_own_applies(aws, orders, monkeypatch):
    """One BatchGetItem for the orders of the batch, no GetItem per update: the batch remembers what its
    records applied (SO-A 2 must see SO-A 1 applied a moment earlier, not the empty table it read)."""
    from botocore.client import BaseClient

    transform(fifo_event(order_update("SO-B", 1)))  # SO-B known before the batch, SO-A not
    calls: list[str] = []
    original = BaseClient._make_api_call

    def counting(self, operation, params):
        calls.append(operation)
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    batch = fifo_event(order_update("SO-A", 1), order_update("SO-B", 2), order_update("SO-A", 2))
    assert transform(batch) == {"batchItemFailures": []}
    assert calls.count("BatchGetItem") == 1 and "GetItem" not in calls
    assert orders.wms_sequences("SO-A") == [1, 2] and orders.wms_sequences("SO-B") == [1, 2]
    hops = {h["correlationId"]: h["detail"] for h in aws.items("TRACE_TABLE_NAME") if h["stage"] == "orders"}
    assert "never arrived" not in hops["SO-A-2"] and "never arrived" not in hops["SO-B-2"]


def test_a_failure_holds_back_the_rest_of_its_order_while_other_orders_proceed(aws, orders):
    a1, b1, a2, b2, a3 = (order_update("SO-A", 1), order_update("SO-B", 1), order_update("SO-A", 2),
                          order_update("SO-B", 2), order_update("SO-A", 3))
    orders.channels.inject_faults(503, 3)  # the channels fail every attempt of the first call (a1's)
    warm = load_handler("order_transformer")  # one container for both invocations
    result = transform(fifo_event(a1, b1, a2, b2, a3), warm)
    # a1 failed; a2 and a3 were not tried (they go back to the queue behind a1); SO-B went on.
    assert failed(result) == ["m-0", "m-2", "m-4"]
    assert orders.channel_sequences("SO-A") == [] and orders.channel_sequences("SO-B") == [1, 2]
    assert orders.wms_sequences("SO-A") == [1]  # a1 reached the WMS before the channels failed
    assert orders.wms_sequences("SO-B") == [1, 2]
    assert {i["orderId"]: int(i["sequence"]) for i in scan("orders")} == {"SO-B": 2}
    assert aws.items("QUARANTINE_TABLE_NAME") == []
    outcomes = {h["correlationId"]: h["outcome"] for h in aws.items("TRACE_TABLE_NAME") if h["stage"] == "orders"}
    assert outcomes == {"SO-A-1": "retrying", "SO-B-1": "delivered", "SO-B-2": "delivered"}

    # The queue hands the group back in order (to the same warm container, which must not remember the
    # failed group): everything applied once, in order, nothing quarantined.
    assert transform(fifo_event(a1, a2, a3, receive_count=2), warm) == {"batchItemFailures": []}
    assert orders.wms_sequences("SO-A") == [1, 2, 3] and orders.channel_sequences("SO-A") == [1, 2, 3]
    assert aws.items("QUARANTINE_TABLE_NAME") == []


def test_a_whole_batch_failing_is_raised_so_every_record_returns(aws, orders):
    orders.channels.set_down(True)
    with pytest.raises(BatchProcessingError):
        transform(fifo_event(order_update("SO-A", 1), order_update("SO-A", 2)))
    assert scan("orders") == []


def test_updates_reaching_the_group_out_of_order_in_one_batch_are_applied_in_sequence(aws, orders):
    a1, a3, a2, a4 = (order_update("SO-A", 1), order_update("SO-A", 3), order_update("SO-A", 2),
                      order_update("SO-A", 4))
    assert transform(fifo_event(a1, a3, a2, a4)) == {"batchItemFailures": []}

    assert orders.wms_sequences("SO-A") == [1, 2, 3, 4] and orders.channel_sequences("SO-A") == [1, 2, 3, 4]
    assert aws.items("QUARANTINE_TABLE_NAME") == [] and scan("order-holds") == []
    hops = [(h["correlationId"], h["outcome"]) for h in sorted(aws.items("TRACE_TABLE_NAME"), key=lambda h: h["sk"])
            if h["stage"] == "orders"]
    assert hops == [("SO-A-1", "delivered"), ("SO-A-3", "held"), ("SO-A-2", "delivered"), ("SO-A-3", "delivered"),
                    ("SO-A-4", "delivered")]
    [stored] = scan("orders")
    assert (int(stored["sequence"]), stored["lastEventId"]) == (4, event_id(a4))


def test_an_update_ahead_of_its_predecessor_is_held_then_applied_in_order_when_the_gap_fills(aws, orders):
    a1, a3, a4, a2 = (order_update("SO-A", 1), order_update("SO-A", 3), order_update("SO-A", 4),
                      order_update("SO-A", 2))
    b1 = order_update("SO-B", 1)
    transform(fifo_event(a1))
    assert transform(fifo_event(a3, b1)) == {"batchItemFailures": []}
    assert transform(fifo_event(a4)) == {"batchItemFailures": []}

    # 3 and 4 are held: neither applied nor quarantined; each has a gap timer, delayed by the timeout
    assert orders.wms_sequences("SO-A") == [1] and orders.channel_sequences("SO-A") == [1]
    assert orders.wms_sequences("SO-B") == [1]  # other orders go on
    assert aws.items("QUARANTINE_TABLE_NAME") == []
    assert [(h["sequence"], h["eventId"], h["waitingFor"]) for h in scan("order-holds")] == [
        (3, event_id(a3), 2), (4, event_id(a4), 2)]
    assert orders.gap_timers() == [] and orders.gap_timers_delayed() == 2
    trace = {h["correlationId"]: h for h in aws.items("TRACE_TABLE_NAME") if h["stage"] == "orders"}
    assert trace["SO-A-3"]["outcome"] == "held"
    assert trace["SO-A-3"]["detail"] == ("held: order SO-A update sequence 3 arrived before sequence 2; it applies "
                                         "once 2 has (or is quarantined after 300 s)")
    # held is not processed: nothing in the idempotency table stops its release from running it again
    assert {i["id"] for i in aws.items("IDEMPOTENCY_TABLE_NAME")} == {
        i["id"] for i in aws.items("IDEMPOTENCY_TABLE_NAME") if i["status"] == "COMPLETED"}
    assert len(aws.items("IDEMPOTENCY_TABLE_NAME")) == 2  # a1 and b1

    assert transform(fifo_event(a2)) == {"batchItemFailures": []}  # the gap fills: 2, then 3 and 4, in order
    assert orders.wms_sequences("SO-A") == [1, 2, 3, 4] and orders.channel_sequences("SO-A") == [1, 2, 3, 4]
    [wms_a3] = [u for u in orders.wms.order_updates() if u["orderId"] == "SO-A" and u["sequence"] == 3]
    assert (wms_a3["idempotencyKey"], wms_a3["correlationId"]) == (event_id(a3), "SO-A-3")
    assert scan("order-holds") == [] and aws.items("QUARANTINE_TABLE_NAME") == []
    [stored] = [i for i in scan("orders") if i["orderId"] == "SO-A"]
    assert (int(stored["sequence"]), stored["lastEventId"]) == (4, event_id(a4))
    a3_hops = [(h["outcome"], h["detail"]) for h in sorted(aws.items("TRACE_TABLE_NAME"), key=lambda h: h["sk"])
               if h["correlationId"] == "SO-A-3"]
    assert [o for o, _ in a3_hops] == ["held", "delivered"]
    assert "applied after sequence 2, which it was held for" in a3_hops[1][1]

    # the next update of the order applies at once (no held successors left to look for)
    a5 = order_update("SO-A", 5)
    assert transform(fifo_event(a5)) == {"batchItemFailures": []}
    assert orders.wms_sequences("SO-A") == [1, 2, 3, 4, 5]


def test_a_gap_still_open_at_the_timeout_quarantines_the_held_update_waiting_for_the_missing_one(aws, orders,
                                                                                                  monkeypatch):
    monkeypatch.setenv("ORDER_GAP_TIMEOUT_SECONDS", "1")
    a1, a3, a2 = order_update("SO-A", 1), order_update("SO-A", 3), order_update("SO-A", 2)
    transform(fifo_event(a1))
    transform(fifo_event(a3))
    [timer] = orders.gap_timers(timeout=10)  # due after the timeout
    assert json.loads(timer["Body"]) == a3
    assert gap_timer(timer) == {"batchItemFailures": []}

    [q] = aws.items("QUARANTINE_TABLE_NAME")
    reason = "waiting for sequence 2: order SO-A update sequence 3 was held 1 s and sequence 2 never arrived"
    assert (q["stage"], q["eventId"], q["correlationId"], q["status"], q["reason"]) == (
        "order-gap", event_id(a3), "SO-A-3", "QUARANTINED", reason)
    assert json.loads(q["body"]) == a3  # the original event, for a release
    assert scan("order-holds") == [] and orders.wms_sequences("SO-A") == [1]
    hops = [(h["stage"], h["outcome"], h["detail"]) for h in sorted(aws.items("TRACE_TABLE_NAME"), key=lambda h: h["sk"])
            if h["correlationId"] == "SO-A-3"]
    assert [(stage, outcome) for stage, outcome, _ in hops] == [("orders", "held"), ("order-gap", "quarantined")]
    assert hops[-1][2] == reason

    # 2 arrives after all: it applies; 3 stays in quarantine (never applied twice, never silently)
    assert transform(fifo_event(a2)) == {"batchItemFailures": []}
    assert orders.wms_sequences("SO-A") == [1, 2]
    # the same timer again (SQS delivers at least once): the hold is gone, nothing more happens
    assert gap_timer(timer) == {"batchItemFailures": []}
    assert len(aws.items("QUARANTINE_TABLE_NAME")) == 1
    # released by an operator, 3 comes back: not refused as processed, it follows 2
    assert transform(fifo_event(a3, receive_count=1)) == {"batchItemFailures": []}
    assert orders.wms_sequences("SO-A") == [1, 2, 3]


def test_a_timer_after_the_gap_filled_quarantines_nothing(aws, orders, monkeypatch):
    monkeypatch.setenv("ORDER_GAP_TIMEOUT_SECONDS", "1")
    a1, a3, a2 = order_update("SO-A", 1), order_update("SO-A", 3), order_update("SO-A", 2)
    transform(fifo_event(a1))
    transform(fifo_event(a3))
    transform(fifo_event(a2))
    [timer] = orders.gap_timers(timeout=10)
    assert gap_timer(timer) == {"batchItemFailures": []}
    assert aws.items("QUARANTINE_TABLE_NAME") == []
    assert orders.wms_sequences("SO-A") == [1, 2, 3]
    assert [h["outcome"] for h in aws.items("TRACE_TABLE_NAME") if h["stage"] == "order-gap"] == []


def test_a_second_event_for_a_held_sequence_is_quarantined_as_a_duplicate(aws, orders):
    a1, a3 = order_update("SO-A", 1), order_update("SO-A", 3)
    again = order_update("SO-A", 3, cid="SO-A-3-again")  # same change, a new event id
    transform(fifo_event(a1))
    assert transform(fifo_event(a3, again)) == {"batchItemFailures": []}
    [q] = aws.items("QUARANTINE_TABLE_NAME")
    assert (q["correlationId"], q["stage"]) == ("SO-A-3-again", "orders")
    assert q["reason"] == (f"duplicate: order SO-A update sequence 3 is held already from event {event_id(a3)}; "
                           f"this copy ({event_id(again)}) is left out")
    assert [h["eventId"] for h in scan("order-holds")] == [event_id(a3)]
    # the same held event again (a retry) is held again, not a duplicate
    assert transform(fifo_event(a3, receive_count=2)) == {"batchItemFailures": []}
    assert len(aws.items("QUARANTINE_TABLE_NAME")) == 1 and orders.gap_timers_delayed() == 2


def test_an_update_older_than_the_one_applied_is_quarantined_with_the_reason_and_its_order_goes_on(aws, orders):
    a1, a2, a3, a4 = (order_update("SO-A", s) for s in (1, 2, 3, 4))
    late = order_update("SO-A", 2, cid="SO-A-2-late")  # change 2 published again, after 3 was applied
    assert transform(fifo_event(a1, a2, a3, late, a4)) == {"batchItemFailures": []}
    assert orders.wms_sequences("SO-A") == [1, 2, 3, 4]
    [q] = aws.items("QUARANTINE_TABLE_NAME")
    assert (q["stage"], q["eventId"], q["correlationId"], q["status"]) == ("orders", event_id(late), "SO-A-2-late",
                                                                          "QUARANTINED")
    assert q["reason"] == "out of order: order SO-A update sequence 2 arrived after sequence 3 was applied"
    assert json.loads(q["body"]) == late  # the original event, for a release


def test_the_same_change_sent_again_as_a_new_event_is_not_applied_twice(aws, orders):
    a1 = order_update("SO-A", 1)
    again = order_update("SO-A", 1, cid="SO-A-1-again")  # same change, a new event id
    assert transform(fifo_event(a1, again)) == {"batchItemFailures": []}
    assert orders.wms_sequences("SO-A") == [1] and orders.channel_sequences("SO-A") == [1]
    [q] = aws.items("QUARANTINE_TABLE_NAME")
    assert q["correlationId"] == "SO-A-1-again"
    assert q["reason"].startswith("duplicate: order SO-A update sequence 1 was applied already from event ")


def test_redelivery_of_an_applied_update_has_no_second_effect(aws, orders):
    a1, a2 = order_update("SO-A", 1), order_update("SO-A", 2)
    transform(fifo_event(a1, a2))
    assert transform(fifo_event(a1, receive_count=2)) == {"batchItemFailures": []}  # after a2: idempotency skips it
    assert transform(fifo_event(a2, receive_count=2)) == {"batchItemFailures": []}
    assert orders.wms_sequences("SO-A") == [1, 2] and orders.channel_sequences("SO-A") == [1, 2]
    assert len(orders.wms.order_updates()) == 2 and len(orders.channels.snapshot()) == 2
    assert aws.items("QUARANTINE_TABLE_NAME") == []
    [stored] = scan("orders")
    assert (int(stored["sequence"]), stored["lastEventId"]) == (2, event_id(a2))
    outcomes = [h["outcome"] for h in aws.items("TRACE_TABLE_NAME") if h["stage"] == "orders"]
    assert outcomes == ["delivered", "delivered"]


def test_an_update_whose_invocation_died_after_applying_it_is_resumed_not_quarantined(aws, orders):
    """The idempotency record did not survive (the invocation died after the order store was written; the
    record expired before the retry): the sequence check recognises the very event and finishes its work."""
    a1 = order_update("SO-A", 1)
    transform(fifo_event(a1))
    idempotency = boto3.resource("dynamodb").Table("idempotency")
    for item in aws.items("IDEMPOTENCY_TABLE_NAME"):
        idempotency.delete_item(Key={"id": item["id"]})
    assert transform(fifo_event(a1, receive_count=2)) == {"batchItemFailures": []}
    assert aws.items("QUARANTINE_TABLE_NAME") == []
    assert orders.wms_sequences("SO-A") == [1] and orders.channel_sequences("SO-A") == [1]  # partners dedupe
    [stored] = scan("orders")
    assert (int(stored["sequence"]), stored["lastEventId"]) == (1, event_id(a1))


def test_a_partner_rejection_is_quarantined_and_the_next_update_still_applies(aws, orders):
    a1 = order_update("SO-A", 1)
    orders.channels.inject_faults(422, 1)
    a2 = order_update("SO-A", 2)
    assert transform(fifo_event(a1, a2)) == {"batchItemFailures": []}
    [q] = aws.items("QUARANTINE_TABLE_NAME")
    assert q["eventId"] == event_id(a1) and "customer channels rejected the call with HTTP 422" in q["reason"]
    assert orders.channel_sequences("SO-A") == [2]
    [stored] = scan("orders")
    assert int(stored["sequence"]) == 2
