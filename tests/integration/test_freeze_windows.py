"""Freeze windows on moto (issue 15): the ERP updater holds writes inside a window of their scope (in the freeze
table, acknowledged, a ``held`` hop naming the window, nothing at the ERP simulator, never towards the DLQ);
the freeze function keeps them while the window runs and, when it ends, sends them back to the ERP update
queue oldest first; the updater then applies them (the latest reaches the ERP) with the time held counted
apart."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from distsync.sim.erp import ErpSimulator
from distsync_core.contracts import CONTRACTS, ItemLocationUpserted, ReplenishmentRecommended, new_envelope
from tests.conftest import FakeLambdaContext, load_handler
from tests.integration.conftest import bus_event, sqs_event


def envelope(event_type: str, data: Any, cid: str, source: str, hour: int = 0) -> Any:
    return new_envelope(CONTRACTS[(event_type, "1")], data, correlation_id=cid, source=source,
                        occurred_at=datetime(2026, 11, 27, hour, tzinfo=UTC))


def master(location: str) -> dict:
    return bus_event(envelope("ItemLocationUpserted", ItemLocationUpserted(
        item_id="SKU-1", location_id=location, unit_of_measure="EA", safety_stock=100, reorder_point=200,
        supplier_id="SUP-1", lead_time_days=4), f"md-{location}", "erp"))


def recommendation(location: str, ss: int, rop: int, cid: str, hour: int = 0) -> dict:
    """``hour``: when planning produced it (the updates' recommendedAt), on 2026-11-27."""
    return bus_event(envelope("ReplenishmentRecommended", ReplenishmentRecommended(
        item_id="SKU-1", location_id=location, recommended_safety_stock=ss, recommended_reorder_point=rop,
        planning_cycle_id=cid), cid, "planning", hour))


def run(folder: str, *events: Any, receive_count: int = 1) -> Any:
    return load_handler(folder).lambda_handler(sqs_event(*events, receive_count=receive_count),
                                               FakeLambdaContext(folder))


def freeze(**event: Any) -> dict:
    return load_handler("freeze_windows").lambda_handler(event, FakeLambdaContext("freeze_windows"))


@pytest.fixture
def erp(aws, monkeypatch):
    sim = ErpSimulator().start()
    monkeypatch.setenv("ERP_CONNECTIONS", json.dumps([{"name": "rest", "kind": "rest", "baseUrl": sim.base_url,
                                                       "locations": ["*"]}]))
    monkeypatch.setenv("ERP_BACKOFF_SECONDS", "0.01")
    boto3.client("dynamodb").create_table(
        TableName="freeze", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}])
    monkeypatch.setenv("FREEZE_TABLE_NAME", "freeze")
    queue = boto3.client("sqs").create_queue(QueueName="erp-updates")["QueueUrl"]
    monkeypatch.setenv("ERP_UPDATE_QUEUES", json.dumps({"rest": queue}))
    yield {"sim": sim, "queue": queue}
    sim.stop()


def updates(aws, *recommendations: dict) -> list[dict]:
    run("masterdata_transformer", master("FRZ-1"), master("DC-1"))
    for rec in recommendations:
        assert run("planning_transformer", rec) == {"batchItemFailures": []}
    found = [e for e in aws.probe() if e["detail-type"] == "ReplenishmentUpdateRequested"]  # published in run()
    assert len(found) == len(recommendations)
    return found


def drain(queue: str) -> list[str]:
    sqs, out = boto3.client("sqs"), []
    while msgs := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        for m in msgs:
            out.append(m["Body"])
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    return out


def hops(aws, stage: str, outcome: str) -> list[dict]:
    return sorted((h for h in aws.items("TRACE_TABLE_NAME") if h["stage"] == stage and h["outcome"] == outcome),
                  key=lambda h: h["at"])


def test_manual_window_holds_in_order_and_releases_when_ended(aws, erp):
    first, second = updates(aws, recommendation("FRZ-1", 105, 210, "c-1", hour=1),
                            recommendation("FRZ-1", 112, 224, "c-2", hour=2))
    added = freeze(action="add", name="stocktake", minutes=30, locations=["FRZ-*"])
    assert added["added"]["active"] and added["added"]["scope"] == {"locations": ["FRZ-*"]}

    # Held on the last receive the queue allows: acknowledged, not a failure, so never dead-lettered.
    assert run("erp_updater", first, receive_count=3) == {"batchItemFailures": []}
    assert run("erp_updater", second) == {"batchItemFailures": []}
    assert erp["sim"].snapshot() == []
    held = hops(aws, "erp", "held")
    assert [h["freezeWindow"] for h in held] == ["stocktake", "stocktake"]
    assert "freeze window stocktake until" in held[0]["detail"]
    assert not hops(aws, "erp", "dead_lettered") and not hops(aws, "erp", "retrying")
    listed = freeze(action="list")
    assert [h["businessKey"] for h in listed["held"]] == ["SKU-1@FRZ-1", "SKU-1@FRZ-1"]
    assert [w["name"] for w in listed["windows"] if w["active"]] == ["stocktake"]

    # The scheduled release leaves them while the window runs.
    assert freeze(action="release") == {"released": 0, "superseded": 0, "stillHeld": 2, "businessKeys": []}
    assert drain(erp["queue"]) == []

    ended = freeze(action="end", name="stocktake")
    assert (ended["ended"], ended["released"], ended["superseded"]) == ("stocktake", 1, 1)
    # Per item-location only the latest recommendation goes back to the queue (two at once would race to
    # the ERP on a standard queue); the older one ends superseded, as the updater would have recorded it.
    (body,) = drain(erp["queue"])
    assert json.loads(body)["detail"]["data"]["planningCycleId"] == "c-2"
    assert json.loads(body)["distsync-held"]["windows"] == ["stocktake"]
    assert freeze(action="list")["held"] == []
    (older,) = hops(aws, "freeze", "superseded")
    assert older["correlationId"] == "c-1" and "a newer recommendation of SKU-1@FRZ-1" in older["detail"]

    assert run("erp_updater", body) == {"batchItemFailures": []}  # a new message: receive count 1 again
    assert [(u["locationId"], u["safetyStock"]) for u in erp["sim"].snapshot()] == [("FRZ-1", 112)]
    (delivered,) = hops(aws, "erp", "delivered")
    assert delivered["correlationId"] == "c-2" and delivered["heldSeconds"] >= 0
    assert "held by a freeze window" in delivered["detail"]
    (released,) = hops(aws, "freeze", "released")
    assert released["freezeWindow"] == "stocktake" and released["correlationId"] == "c-2"


def test_release_sends_the_latest_even_when_it_was_held_first(aws, erp):
    """Held order is arrival order; what goes to the ERP is the latest recommendation (recommendedAt)."""
    newer, older = updates(aws, recommendation("FRZ-1", 112, 224, "c-new", hour=9),
                           recommendation("FRZ-1", 105, 210, "c-old", hour=8))
    assert freeze(action="add", name="count", minutes=5, locations=["FRZ-1"])["added"]["active"]
    assert run("erp_updater", newer) == {"batchItemFailures": []}  # held first
    assert run("erp_updater", older) == {"batchItemFailures": []}  # held last, recommended earlier
    ended = freeze(action="end", name="count")
    assert (ended["released"], ended["superseded"]) == (1, 1)
    (body,) = drain(erp["queue"])
    assert json.loads(body)["detail"]["data"]["planningCycleId"] == "c-new"
    assert [h["correlationId"] for h in hops(aws, "freeze", "superseded")] == ["c-old"]


def test_configured_window_holds_only_its_scope(aws, erp, monkeypatch):
    now = datetime.now(UTC)
    # A window that started this minute and runs an hour, for FRZ-* only.
    monkeypatch.setenv("FREEZE_WINDOWS", json.dumps([{
        "name": "mrp-run", "schedule": f"cron({now.minute} {now.hour} * * ? *)", "durationMinutes": 60,
        "scope": {"connections": ["rest"], "locations": ["FRZ-*"]}}]))
    frozen, free = updates(aws, recommendation("FRZ-1", 105, 210, "c-1"), recommendation("DC-1", 105, 210, "c-2"))
    assert run("erp_updater", frozen, free) == {"batchItemFailures": []}
    assert [u["locationId"] for u in erp["sim"].snapshot()] == ["DC-1"]
    assert [h["businessKey"] for h in hops(aws, "erp", "held")] == ["SKU-1@FRZ-1"]
    assert freeze(action="release")["stillHeld"] == 1  # a configured window ends on its schedule only
    assert "error" in freeze(action="end", name="mrp-run")


@pytest.mark.parametrize(("event", "reason"), [
    ({"action": "add", "name": "x", "minutes": 0}, "minutes must be a whole number"),
    ({"action": "add", "name": "Bad Name", "minutes": 5}, "name must match"),
    ({"action": "add", "name": "x", "minutes": 5, "connections": ["sap"]}, "no ERP connection named sap"),
    ({"action": "end", "name": "nothing"}, "no running manual freeze window"),
    ({"action": "pause"}, "unknown action"),
])
def test_requests_it_cannot_take_say_why(aws, erp, event, reason):
    assert reason in freeze(**event)["error"]


def test_a_running_window_cannot_be_added_twice(aws, erp):
    assert "added" in freeze(action="add", name="count", minutes=5)
    assert "already running" in freeze(action="add", name="count", minutes=5)["error"]


def test_the_same_event_held_twice_is_released_once(aws, erp):
    """SQS delivers at least once: a duplicate delivery during the window is held again, sent once."""
    (update,) = updates(aws, recommendation("FRZ-1", 105, 210, "c-dup"))
    assert "added" in freeze(action="add", name="dup", minutes=5, locations=["FRZ-*"])
    assert run("erp_updater", update) == {"batchItemFailures": []}
    assert run("erp_updater", update) == {"batchItemFailures": []}
    assert len(freeze(action="list")["held"]) == 2
    ended = freeze(action="end", name="dup")
    assert (ended["released"], ended["superseded"]) == (1, 0)
    assert len(drain(erp["queue"])) == 1
    assert not hops(aws, "freeze", "superseded")
