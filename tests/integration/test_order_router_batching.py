"""The order router sends a batch's updates with SendMessageBatch (10 per call, in order) and reports only
the entries SQS refused, so SQS retries exactly those (issue #5: AWS requests per event)."""

from __future__ import annotations

from distsync_core.platform.aws import client
from tests.integration.test_orders_pipeline import event_id, order_update, orders, route  # noqa: F401 (fixture)


def test_ten_orders_leave_in_one_send_message_batch_call(aws, own_clients, orders):  # noqa: F811
    calls: list[str] = []
    client("sqs").meta.events.register("before-call.sqs.*", lambda model, **_: calls.append(model.name))
    assert route(*[order_update(f"SO-{i}", 1) for i in range(10)]) == {"batchItemFailures": []}
    assert calls == ["SendMessageBatch"]
    assert len(orders.receive_all()) == 10


def test_updates_of_one_order_go_in_separate_calls_in_order(aws, own_clients, orders):  # noqa: F811
    calls: list[int] = []
    client("sqs").meta.events.register("provide-client-params.sqs.SendMessageBatch",
                                       lambda params, **_: calls.append(len(params["Entries"])))
    updates = [order_update(f"SO-{i % 3}", i // 3 + 1) for i in range(10)]  # SO-0..2, sequences 1..4

    assert route(*updates) == {"batchItemFailures": []}

    assert calls == [3, 3, 3, 1]  # one update per order per call
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


def test_after_a_refused_update_the_orders_later_updates_wait_and_other_orders_go_on(aws, orders, monkeypatch):  # noqa: F811
    sqs = client("sqs")
    real = sqs.send_message_batch
    refused_once: list[str] = []

    def refuse_so_a_first(**kwargs):
        entries = kwargs["Entries"]
        bad = [e for e in entries if e["MessageGroupId"] == "SO-A" and not refused_once]
        refused_once.extend(e["Id"] for e in bad)
        result = real(**{**kwargs, "Entries": [e for e in entries if e not in bad]})
        result.setdefault("Failed", []).extend({"Id": e["Id"], "SenderFault": False, "Code": "InternalError",
                                                "Message": "try again"} for e in bad)
        return result

    monkeypatch.setattr(sqs, "send_message_batch", refuse_so_a_first)
    a1, b1, a2, b2 = order_update("SO-A", 1), order_update("SO-B", 1), order_update("SO-A", 2), order_update("SO-B", 2)

    result = route(a1, b1, a2, b2)

    assert result == {"batchItemFailures": [{"itemIdentifier": "m-0"}, {"itemIdentifier": "m-2"}]}  # a1, a2
    assert [m["Attributes"]["MessageDeduplicationId"] for m in orders.receive_all()] == [event_id(b1), event_id(b2)]


def test_a_batch_of_two_updates_for_each_of_five_orders_takes_two_calls(aws, own_clients, orders):  # noqa: F811
    calls: list[list[str]] = []
    client("sqs").meta.events.register(
        "provide-client-params.sqs.SendMessageBatch",
        lambda params, **_: calls.append([e["MessageGroupId"] for e in params["Entries"]]))
    updates = [order_update(f"SO-{i // 2}", i % 2 + 1) for i in range(10)]  # SO-0 1, SO-0 2, SO-1 1, ...

    assert route(*updates) == {"batchItemFailures": []}

    assert calls == [[f"SO-{k}" for k in range(5)]] * 2  # every first update, then every second one


def test_a_refused_update_is_reported_like_any_failed_record(aws, orders, monkeypatch, capsys):  # noqa: F811
    """A retried or dead-lettered router record emits RecordsRetried / RecordsDeadLettered and its hop, as every
    other consumer's failures do (the router used to patch its failures into the response unreported)."""
    import json

    sqs = client("sqs")
    monkeypatch.setattr(sqs, "send_message_batch", lambda **kwargs: {"Failed": [
        {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "try again"}
        for e in kwargs["Entries"] if e["MessageGroupId"] == "SO-R"]})
    ok, refused = order_update("SO-OK", 1), order_update("SO-R", 1)
    capsys.readouterr()
    assert route(ok, refused) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    # its last receive (maxReceiveCount 3): next to an update that goes through, so the batch is not all failed
    assert route(order_update("SO-OK2", 1), refused, receive_count=3) == {
        "batchItemFailures": [{"itemIdentifier": "m-1"}]
    }

    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    counted = [name for m in emitted for name in ("RecordsRetried", "RecordsDeadLettered") if name in m]
    assert counted == ["RecordsRetried", "RecordsDeadLettered"]
    hops = [(h["outcome"], h["detail"]) for h in aws.items("TRACE_TABLE_NAME") if h["correlationId"] == "SO-R-1"]
    assert sorted(o for o, _ in hops) == ["dead_lettered", "retrying"]
    assert all("orders queue refused update 1 of SO-R: try again (receive" in d for _, d in hops)
