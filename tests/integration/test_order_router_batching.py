"""The order router sends a batch's updates with SendMessageBatch (10 per call, in order) and reports only
the entries SQS refused, so SQS retries exactly those (issue #5: AWS requests per event)."""

from __future__ import annotations

from distsync_core.adapters import client
from tests.integration.test_orders_pipeline import event_id, order_update, orders, route  # noqa: F401 (fixture)


def test_ten_updates_leave_in_one_send_message_batch_call_in_order(aws, orders):  # noqa: F811
    calls: list[str] = []
    client("sqs").meta.events.register("before-call.sqs.*", lambda model, **_: calls.append(model.name))
    updates = [order_update(f"SO-{i % 3}", i + 1) for i in range(10)]

    assert route(*updates) == {"batchItemFailures": []}

    assert calls == ["SendMessageBatch"]
    queued = orders.receive_all()
    assert sorted(m["Attributes"]["MessageDeduplicationId"] for m in queued) == sorted(event_id(u) for u in updates)
    for group in ("SO-0", "SO-1", "SO-2"):  # each order's updates in the order they were routed
        in_group = [m["Attributes"]["MessageDeduplicationId"] for m in queued
                    if m["Attributes"]["MessageGroupId"] == group]
        assert in_group == [event_id(u) for u in updates if u["detail"]["data"]["orderId"] == group]


def test_an_entry_sqs_refuses_is_the_only_record_retried(aws, orders, monkeypatch):  # noqa: F811
    sqs = client("sqs")
    real = sqs.send_message_batch

    def refuse_second(**kwargs):
        kept = [e for e in kwargs["Entries"] if e["Id"] != "1"]
        result = real(**{**kwargs, "Entries": kept})
        result.setdefault("Failed", []).append({"Id": "1", "SenderFault": False, "Code": "InternalError",
                                                "Message": "try again"})
        return result

    monkeypatch.setattr(sqs, "send_message_batch", refuse_second)
    first, second, third = order_update("SO-X", 1), order_update("SO-Y", 1), order_update("SO-Z", 1)
    batch_result = route(first, second, third)

    assert batch_result == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}  # the refused entry's record only
    assert [m["Attributes"]["MessageGroupId"] for m in orders.receive_all()] == ["SO-X", "SO-Z"]
    hops = {h["correlationId"]: (h["stage"], h["outcome"]) for h in aws.items("TRACE_TABLE_NAME")}
    assert hops["SO-Y-1"] == ("order-router", "retrying")
    assert hops["SO-X-1"] == hops["SO-Z-1"] == ("order-router", "ok")
