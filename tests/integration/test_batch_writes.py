"""A batch's records share their reads and their end-of-batch writes (distsync_core.platform.unit_of_work), against moto:
what each batch costs in AWS calls, and what a refused event or a write within the batch does."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from botocore.client import BaseClient

from distsync_core.contracts import ItemLocationUpserted, ReplenishmentRecommended
from tests.conftest import FakeLambdaContext, load_handler
from tests.integration.conftest import bus_event, sqs_event
from tests.integration.test_pipelines import envelope, run

ITEMS = [f"SKU-{i}" for i in range(10)]


def master(item: str) -> Any:
    return bus_event(envelope("ItemLocationUpserted", ItemLocationUpserted(
        item_id=item, location_id="DC-1", unit_of_measure="EA", safety_stock=100, reorder_point=200,
        supplier_id="SUP-1", lead_time_days=4)))


def recommendation(item: str) -> Any:
    return bus_event(envelope("ReplenishmentRecommended", ReplenishmentRecommended(
        item_id=item, location_id="DC-1", recommended_safety_stock=110, recommended_reorder_point=210,
        planning_cycle_id="c-1"), f"corr-{item}", "planning"))


@pytest.fixture
def calls(monkeypatch) -> list[tuple[str, dict[str, Any]]]:
    """Every AWS API call made from here on, by any client: (operation, parameters)."""
    made: list[tuple[str, dict[str, Any]]] = []
    original = BaseClient._make_api_call

    def counting(self, operation_name, api_params):
        made.append((operation_name, api_params))
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    return made


def test_a_batch_of_ten_reads_once_publishes_once_and_writes_once_after_ten_claims(aws, calls):
    run("masterdata_transformer", *(master(i) for i in ITEMS))
    calls.clear()
    assert run("planning_transformer", *(recommendation(i) for i in ITEMS)) == {"batchItemFailures": []}
    ops = Counter(op for op, _ in calls)
    assert ops == {"PutItem": 10, "BatchGetItem": 1, "PutEvents": 1, "BatchWriteItem": 1}
    [write] = [params for op, params in calls if op == "BatchWriteItem"]
    assert {table: len(requests) for table, requests in write["RequestItems"].items()} == {"trace": 10, "idempotency": 10}
    assert len([params for op, params in calls if op == "PutEvents"][0]["Entries"]) == 10
    # masterdata's 10 marks and planning's 10, none left "in progress"
    assert Counter(m["status"] for m in aws.items("IDEMPOTENCY_TABLE_NAME")) == {"COMPLETED": 20}
    assert len(aws.probe(wait=0.5, expect=10)) == 10


def test_an_event_the_bus_refuses_fails_only_its_own_record(aws, calls, monkeypatch):
    from distsync_core.platform import events

    run("masterdata_transformer", *(master(i) for i in ITEMS[:3]))
    original = events.EventPublisher.put

    def refuse_sku_1(self, envelopes):
        refused = {e.metadata.event_id: "InternalFailure: try again" for e in envelopes if e.data["itemId"] == "SKU-1"}
        accepted = original(self, [e for e in envelopes if e.metadata.event_id not in refused])
        return {**accepted, **refused}

    monkeypatch.setattr(events.EventPublisher, "put", refuse_sku_1)
    response = run("planning_transformer", *(recommendation(i) for i in ITEMS[:3]))
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert sorted(e["detail"]["data"]["itemId"] for e in aws.probe(wait=0.5, expect=2)) == ["SKU-0", "SKU-2"]
    trace = {h["correlationId"]: h for h in aws.items("TRACE_TABLE_NAME") if h["stage"] == "planning"}
    assert trace["corr-SKU-1"]["outcome"] == "retrying" and "InternalFailure: try again" in trace["corr-SKU-1"]["detail"]
    assert trace["corr-SKU-0"]["outcome"] == trace["corr-SKU-2"]["outcome"] == "ok"
    statuses = Counter(m["status"] for m in aws.items("IDEMPOTENCY_TABLE_NAME"))
    assert statuses == {"COMPLETED": 3 + 2}  # masterdata's 3, planning's 2; SKU-1's claim was deleted

    monkeypatch.setattr(events.EventPublisher, "put", original)
    assert run("planning_transformer", recommendation("SKU-1"), receive_count=2) == {"batchItemFailures": []}
    assert [e["detail"]["data"]["itemId"] for e in aws.probe(wait=0.5, expect=1)] == ["SKU-1"]


def test_a_record_that_fails_after_publishing_publishes_nothing(aws, monkeypatch):
    """Its events wait for the end of the batch, so a later failure of the same record discards them."""
    run("masterdata_transformer", *(master(i) for i in ITEMS[:2]))
    handler = load_handler("planning_transformer")
    original = handler.plan_replenishment

    def fail_after_publishing(delivery):
        original(delivery)
        if delivery.data.item_id == "SKU-0":
            raise RuntimeError("crashed after publishing")

    monkeypatch.setattr(handler.consumer, "handle", fail_after_publishing)
    response = handler.lambda_handler(sqs_event(*(recommendation(i) for i in ITEMS[:2])), FakeLambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert [e["detail"]["data"]["itemId"] for e in aws.probe(wait=0.5, expect=1)] == ["SKU-1"]
