"""An approval request on moto: its impact is computed from what the pipelines stored (master data with a unit
cost, the latest forecast written by the forecast transformer, the inventory projection) and it reaches the
planners' topic (an SQS subscription, as SNS delivers) with the impact and the command to decide it."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from distsync_core.contracts import (
    CONTRACTS,
    DemandForecastPublished,
    ForecastBucket,
    InventoryBalanceChangedV2,
    ItemLocationUpserted,
    ItemUpserted,
    ReplenishmentRecommended,
    new_envelope,
)
from distsync_core.inventory.store import InventoryStore
from distsync_core.masterdata.records import ItemLocationRecord
from distsync_core.planning.replenishment import decide
from tests.conftest import FakeLambdaContext, load_handler
from tests.integration.conftest import bus_event
from tests.integration.test_pipelines import erp, run  # noqa: F401  (the ERP simulator fixture)

TODAY = datetime.now(UTC).date()


def envelope(event_type: str, data, cid: str, source: str = "erp") -> dict:
    event = bus_event(new_envelope(CONTRACTS[(event_type, "1")], data, correlation_id=cid, source=source))
    event["source"] = CONTRACTS[(event_type, "1")].bus_source
    return event


@pytest.fixture
def planners(aws):
    """A queue subscribed to the planners' topic."""
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = os.environ["PLANNERS_TOPIC_ARN"]  # the aws fixture's
    queue = sqs.create_queue(QueueName="planners-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    def inbox() -> list[dict]:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    return inbox


def request_approval(approval_id_suffix: str = "") -> dict:
    rec = ReplenishmentRecommended(item_id="SKU-1", location_id="DC-1", recommended_safety_stock=300,
                                   recommended_reorder_point=400, planning_cycle_id="c-1" + approval_id_suffix)
    decision = decide(rec, ItemLocationRecord("SKU-1", "DC-1", "EA", 100, 200, "SUP-1", 25), 20)
    update = new_envelope(CONTRACTS[("ReplenishmentUpdateRequested", "1")], decision.update, correlation_id="apr-c",
                          source="distsync.replenishment")
    event = {"approval": {"approvalId": decision.approval_id, "thresholdPercent": 20,
                          "update": update.model_dump(mode="json", by_alias=True)},
             "taskToken": "token-1", "executionArn": "arn:aws:states:us-east-1:123456789012:execution:a:b"}
    load_handler("approval_request").lambda_handler(event, FakeLambdaContext("approval_request"))
    return {"approvalId": decision.approval_id}


def test_the_approval_request_publishes_its_impact_to_the_planners(aws, erp, planners):  # noqa: F811
    week = TODAY - timedelta(days=TODAY.weekday())
    assert run("masterdata_transformer", envelope("ItemLocationUpserted", ItemLocationUpserted(
        item_id="SKU-1", location_id="DC-1", unit_of_measure="EA", safety_stock=100, reorder_point=200,
        supplier_id="SUP-1", lead_time_days=25), "md-1"), envelope("ItemUpserted", ItemUpserted(
        item_id="SKU-1", description="Widget", unit_of_measure="EA", status="active", unit_cost=2.5,
        currency="EUR"), "md-2")) == {"batchItemFailures": []}
    # 70 a week: 10 a day, over the four weeks from this one
    assert run("forecast_transformer", envelope("DemandForecastPublished", DemandForecastPublished(
        item_id="SKU-1", location_id="DC-1", forecast_id="F-1", unit_of_measure="EA",
        buckets=[ForecastBucket(week_start=week + timedelta(weeks=i), quantity=70) for i in range(4)]),
        "fc-1", "planning")) == {"batchItemFailures": []}
    balance = InventoryBalanceChangedV2(item_id="SKU-1", location_id="DC-1", on_hand=520, allocated=20, in_transit=0,
                                        as_of=datetime.now(UTC) - timedelta(minutes=1), source_system="erp")
    InventoryStore(os.environ["INVENTORY_TABLE_NAME"]).apply(balance, new_envelope(
        CONTRACTS[("InventoryBalanceChanged", "2")], balance, source="erp", correlation_id="inv-1").metadata)

    approval_id = request_approval()["approvalId"]

    [stored] = aws.items("APPROVALS_TABLE_NAME")
    impact = json.loads(json.dumps(stored["impact"], default=float))
    assert impact["availableToPromise"] == 500 and impact["dailyDemand"] == 10 and impact["atpCoverDays"] == 50
    assert (impact["coverDaysBefore"], impact["coverDaysAfter"]) == (10, 30)
    # reorder point 200 lasts 20 of the 25 lead-time days: out 30 + 20 days from now; 400 lasts them
    assert impact["stockoutBefore"] == (TODAY + timedelta(days=50)).isoformat() and impact["stockoutAfter"] is None
    assert (impact["workingCapitalChange"], impact["currency"]) == (500, "EUR")

    [message] = planners()
    assert message["Subject"] == "Approval needed: SKU-1@DC-1 safety stock 100 -> 300 (+200%)"
    assert message["MessageAttributes"]["kind"]["Value"] == "approval_requested"
    text = message["Message"]
    assert f"Approval {approval_id} waits for a planner" in text
    assert "safety stock cover 10 -> 30 days (demand 10/day)" in text and "+500.00 EUR" in text
    assert f"distsync approvals approve {approval_id}" in text and "https://ops.example.com/console#approvals" in text


def test_without_forecast_or_cost_the_message_says_unknown(aws, planners):
    request_approval()
    [stored] = aws.items("APPROVALS_TABLE_NAME")
    assert stored["impact"]["unknown"]["coverDays"] == "no demand forecast for this item-location"
    [message] = planners()
    assert "days of cover unknown (no demand forecast for this item-location)" in message["Message"]
    assert "working capital unknown (no unit cost in master data)" in message["Message"]
