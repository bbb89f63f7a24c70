"""ERP changes in as governed master data (issue 14), the handlers in-process on moto, the ERPs simulated on
real sockets: an S/4HANA business event pushed to ``POST /v1/connectors/{name}/events`` (Basic credentials,
then a claim check: the record is read over OData), and a NetSuite delta pull from the stored cursor."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest

from distsync.sim.netsuite import NetSuiteSimulator
from distsync.sim.s4 import S4Simulator
from distsync_core.contracts import CONTRACTS, ItemLocationUpserted, new_envelope
from tests.conftest import FakeLambdaContext, load_handler
from tests.integration.conftest import api_event, bus_event, sqs_event

MESH = ("event-mesh", "mesh-password")
RESOURCE = "/v1/connectors/{name}/events"


def master(item: str, location: str) -> dict:
    """distsync's master data of the item-location (supplier, unit of measure come from here)."""
    envelope = new_envelope(CONTRACTS[("ItemLocationUpserted", "1")], ItemLocationUpserted(
        item_id=item, location_id=location, unit_of_measure="EA", safety_stock=100, reorder_point=200,
        supplier_id="SUP-7", lead_time_days=4), correlation_id=f"md-{item}", source="erp",
        occurred_at=datetime(2026, 11, 27, tzinfo=UTC))
    return bus_event(envelope)


@pytest.fixture
def state_table(aws, monkeypatch):
    boto3.client("dynamodb").create_table(
        TableName="connector-state", KeySchema=[{"AttributeName": "connection", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "connection", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    monkeypatch.setenv("CONNECTOR_STATE_TABLE_NAME", "connector-state")


@pytest.fixture
def s4(aws, state_table, monkeypatch):
    sim = S4Simulator(push_on_api_writes=False).start()
    boto3.client("secretsmanager").create_secret(Name="s4-credentials", SecretString=json.dumps(
        {"user": "DISTSYNC", "password": "s4-password", "inboundUser": MESH[0], "inboundPassword": MESH[1]}))
    monkeypatch.setenv("ERP_CONNECTIONS", json.dumps([{
        "name": "s4", "kind": "s4hana", "baseUrl": sim.base_url, "secretName": "s4-credentials",
        "locations": ["S4-*"], "options": {"plantMap": {"S4-1010": "1010"}}}]))
    yield sim
    sim.stop()


def cloud_event(product: str, **overrides) -> bytes:
    event = {"specversion": "1.0", "type": "sap.s4.beh.product.v1.Product.Changed.v1",
             "source": "/default/sap.s4.beh/s4demo", "id": "8f1d2c3b-1", "time": "2026-12-05T08:00:00Z",
             "datacontenttype": "application/json", "data": {"Product": product}}
    return json.dumps({**event, **overrides}).encode()


def push(body: bytes, user: str = MESH[0], password: str = MESH[1], name: str = "s4") -> tuple[int, dict]:
    import base64

    headers = {"Content-Type": "application/cloudevents+json",
               "Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
    event = api_event("POST", f"/v1/connectors/{name}/events", RESOURCE, {"name": name}, body, headers, sign=False)
    answer = load_handler("connector_events").lambda_handler(event, FakeLambdaContext("connector_events"))
    return answer["statusCode"], json.loads(answer["body"])


def run(folder, *events):
    return load_handler(folder).lambda_handler(sqs_event(*events), FakeLambdaContext(folder))


def test_an_s4hana_event_is_read_back_and_published_as_master_data(aws, s4):
    run("masterdata_transformer", master("SKU-9", "S4-1010"))
    s4.put_record({"itemId": "SKU-9", "locationId": "1010", "safetyStock": 140, "reorderPoint": 260,
                   "leadTimeDays": 6}, push=False)  # a planner changed it in S/4
    status, body = push(cloud_event("SKU-9"))
    assert (status, body["published"], body["quarantined"]) == (202, 1, 0)
    [event] = aws.probe(wait=0.5, expect=1)
    data = event["detail"]["data"]
    assert event["detail-type"] == "ItemLocationUpserted" and event["detail"]["metadata"]["source"] == "erp"
    assert (data["locationId"], data["safetyStock"], data["reorderPoint"], data["leadTimeDays"]) == ("S4-1010", 140, 260, 6)
    assert data["supplierId"] == "SUP-7" and data["unitOfMeasure"] == "EA"  # completed from master data
    reads = [r for r in s4.request_log() if r["method"] == "GET"]
    assert reads and "A_ProductSupplyPlanning" in reads[0]["path"]  # the claim check


def test_an_s4hana_event_without_the_mesh_credentials_reads_nothing(aws, s4):
    status, body = push(cloud_event("SKU-9"), password="guess")
    assert status == 401 and body["detail"] == "Basic credentials missing or wrong"
    assert s4.request_log() == [] and aws.probe(wait=0.3) == []


def test_a_malformed_cloud_event_is_refused_naming_the_field(aws, s4):
    status, body = push(cloud_event("SKU-9", specversion="0.3"))
    assert status == 400 and "specversion" in body["detail"]
    event = json.loads(cloud_event("SKU-9"))
    del event["type"]
    status, body = push(json.dumps(event).encode())
    assert status == 400 and "type" in body["detail"]
    assert push(cloud_event("SKU-9"), name="nobody")[0] == 404


def test_a_change_without_master_data_is_quarantined_with_the_reason(aws, s4):
    s4.put_record({"itemId": "SKU-NEW", "locationId": "1010", "safetyStock": 5, "reorderPoint": 9}, push=False)
    status, body = push(cloud_event("SKU-NEW"))
    assert (status, body["published"], body["quarantined"]) == (202, 0, 1)
    [q] = aws.items("QUARANTINE_TABLE_NAME")
    assert q["stage"] == "connector:s4" and "no master data to complete" in q["reason"]
    assert aws.probe(wait=0.3) == []


@pytest.fixture
def netsuite(aws, state_table, monkeypatch):
    sim = NetSuiteSimulator().start()
    boto3.client("secretsmanager").create_secret(Name="ns-credentials", SecretString=json.dumps(sim.credentials()))
    monkeypatch.setenv("ERP_CONNECTIONS", json.dumps([{
        "name": "netsuite", "kind": "netsuite", "baseUrl": sim.base_url, "secretName": "ns-credentials",
        "locations": ["NS-*"]}]))
    yield sim
    sim.stop()


def test_a_netsuite_delta_pull_publishes_each_change_once_and_moves_the_cursor(aws, netsuite):
    for item in ("SKU-A", "SKU-B"):
        run("masterdata_transformer", master(item, "NS-EAST"))
        netsuite.edit({"itemId": item, "locationId": "NS-EAST", "safetyStock": 30, "reorderPoint": 60})
    sync = load_handler("connector_sync")
    first = sync.lambda_handler({"connection": "netsuite", "action": "sync"}, FakeLambdaContext("connector_sync"))
    assert (first["changes"], first["published"]) == (2, 2)
    events = aws.probe(wait=0.5, expect=2)
    assert sorted(e["detail"]["data"]["itemId"] for e in events) == ["SKU-A", "SKU-B"]
    assert run("masterdata_transformer", *events) == {"batchItemFailures": []}  # master data takes them
    [state] = boto3.resource("dynamodb").Table("connector-state").scan()["Items"]
    assert state["connection"] == "netsuite" and state["cursor"]

    again = sync.lambda_handler({"connection": "netsuite", "action": "sync"}, FakeLambdaContext("connector_sync"))
    # the last second is read again (a row saved in it after the read would be missed), published: nothing
    assert again["published"] == 0 and aws.probe(wait=0.3) == []
    netsuite.edit({"itemId": "SKU-B", "locationId": "NS-EAST", "safetyStock": 35, "reorderPoint": 70})
    third = sync.lambda_handler({"connection": "netsuite", "action": "sync"}, FakeLambdaContext("connector_sync"))
    assert third["published"] == 1  # saved in the same second as the cursor, and still found
    [event] = aws.probe(wait=0.5, expect=1)
    assert (event["detail"]["data"]["itemId"], event["detail"]["data"]["safetyStock"]) == ("SKU-B", 35)


def test_a_stock_pull_publishes_the_erps_balance_of_every_governed_item_location_it_owns(aws, netsuite):
    """ERP stock through the connector port (issue 14): each governed item-location the connection owns is read
    and published as InventoryBalanceChanged (source erp); the inventory pipeline keeps the newest as-of."""
    for item in ("SKU-S1", "SKU-S2"):
        run("masterdata_transformer", master(item, "NS-EAST"))
        netsuite.edit({"itemId": item, "locationId": "NS-EAST", "safetyStock": 1, "reorderPoint": 2})
    run("masterdata_transformer", master("SKU-S3", "NS-EAST"))  # governed, but NetSuite books nothing there
    run("masterdata_transformer", master("SKU-OTHER", "DC-1"))  # another connection's location: not read
    netsuite.set_stock({"itemId": "SKU-S1", "locationId": "NS-EAST", "onHand": 120, "allocated": 20, "inTransit": 5})
    result = load_handler("connector_sync").lambda_handler({"connection": "netsuite", "action": "stock"},
                                                           FakeLambdaContext("connector_sync"))
    assert (result["itemLocations"], result["published"], result["none"]) == (3, 2, 1)
    events = {e["detail"]["data"]["itemId"]: e for e in aws.probe(wait=0.5, expect=2)}
    assert set(events) == {"SKU-S1", "SKU-S2"}
    data = events["SKU-S1"]["detail"]["data"]
    assert events["SKU-S1"]["detail-type"] == "InventoryBalanceChanged" and data["sourceSystem"] == "erp"
    assert (data["onHand"], data["allocated"], data["inTransit"]) == (120, 20, 5)
    assert events["SKU-S2"]["detail"]["data"]["onHand"] == 0  # booked there, with nothing on hand
