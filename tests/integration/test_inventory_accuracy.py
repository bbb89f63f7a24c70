"""Inventory visibility accuracy against moto: the inventory transformer keeps each source's newest balance
beside the projection, and the accuracy function reads them, writes the report (JSON + CSV) and the metric."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from distsync_core.contracts import CONTRACTS, new_envelope
from distsync_core.inventory.reports import latest_report, read_report
from tests.conftest import FakeLambdaContext, load_handler
from tests.integration.test_inventory_pipeline import bus_event, master, run
from tests.integration.test_reconciliation_pipeline import emitted_metrics

T0 = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
BUCKET = "landing"


def balance(source: str, on_hand: float, *, as_of: datetime = T0, item: str = "SKU-1", loc: str = "DC-1",
            cid: str = "corr-acc") -> dict[str, Any]:
    fields = {"itemId": item, "locationId": loc, "onHand": on_hand, "allocated": 0, "inTransit": 0,
              "asOf": as_of.isoformat(), "sourceSystem": source}
    contract = CONTRACTS[("InventoryBalanceChanged", "2")]
    envelope = new_envelope(contract, contract.model.model_validate(fields), source=source, correlation_id=cid)
    return bus_event(envelope, "distsync.inventory")


@pytest.fixture
def inventory(aws, monkeypatch):
    boto3.client("dynamodb").create_table(
        TableName="inventory", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    for name, value in (("INVENTORY_TABLE_NAME", "inventory"), ("ATP_HORIZON_DAYS", "14"),
                        ("LANDING_BUCKET_NAME", BUCKET), ("ACCURACY_AS_OF_TOLERANCE_MINUTES", "15"),
                        ("ACCURACY_QUANTITY_TOLERANCE", "0"), ("ACCURACY_QUANTITY_TOLERANCE_PERCENT", "1"),
                        ("ACCURACY_TARGET_PERCENT", "98")):
        monkeypatch.setenv(name, value)
    for item, loc in (("SKU-1", "DC-1"), ("SKU-2", "DC-1"), ("SKU-3", "DC-1")):
        run("masterdata_transformer", master(item=item, loc=loc))
    aws.probe()
    return boto3.resource("dynamodb").Table("inventory")


def source_item(table, source: str, item: str = "SKU-1", loc: str = "DC-1") -> dict[str, Any] | None:
    return table.get_item(Key={"pk": f"SOURCE#{source}#{item}#{loc}"}, ConsistentRead=True).get("Item")


def test_each_source_keeps_its_newest_balance_even_when_the_projection_has_a_newer_one(aws, inventory):
    erp_new = balance("erp", 100, as_of=T0 + timedelta(minutes=5))
    wms_older = balance("wms", 90)
    assert run("inventory_transformer", erp_new, wms_older) == {"batchItemFailures": []}
    # the projection keeps the newest of both (the ERP's); the WMS's was stale for ATP ...
    projection = inventory.get_item(Key={"pk": "SKU-1#DC-1"}, ConsistentRead=True)["Item"]
    assert (projection["onHand"], projection["sourceSystem"]) == (100, "erp")
    # ... yet it is the WMS's newest word, kept for the accuracy comparison
    wms = source_item(inventory, "wms")
    assert (wms["onHand"], wms["asOf"], wms["entity"], wms["source"]) == (90, "2026-12-05T06:00:00.000000+00:00",
                                                                          "SourceBalance", "wms")
    assert source_item(inventory, "erp")["onHand"] == 100

    # an older WMS balance arriving late changes nothing; a newer one replaces it; a redelivery is harmless
    newer = balance("wms", 95, as_of=T0 + timedelta(minutes=10))
    run("inventory_transformer", balance("wms", 1, as_of=T0 - timedelta(hours=1)), newer, newer)
    assert (source_item(inventory, "wms")["onHand"], source_item(inventory, "erp")["onHand"]) == (95, 100)
    assert source_item(inventory, "wms")["sourceEventId"] == newer["detail"]["metadata"]["eventId"]


def test_the_accuracy_run_writes_the_report_and_the_metric(aws, inventory, capsys):
    run("inventory_transformer",
        balance("erp", 100), balance("wms", 90, as_of=T0 + timedelta(minutes=3)),  # disagree
        balance("erp", 50, item="SKU-2"), balance("wms", 49.6, item="SKU-2"),  # within 1 %: agree
        balance("erp", 7, item="SKU-3"))  # the WMS never reported: not comparable
    capsys.readouterr()

    out = load_handler("inventory_accuracy").lambda_handler({"trigger": "schedule"},
                                                            FakeLambdaContext("inventory_accuracy"))

    assert (out["accuracyPercent"], out["compared"], out["agreeing"], out["disagreeing"], out["notComparable"]) == (
        50.0, 2, 1, 1, 1)
    assert out["belowTarget"] and out["trigger"] == "schedule" and out["bucket"] == BUCKET
    assert out["reportKey"].startswith("reports/inventory-accuracy/") and out["reportKey"].endswith("-accuracy.json")
    assert emitted_metrics(capsys)["InventoryAccuracyPercent"] == [50.0]

    report = read_report(BUCKET, out["reportKey"])
    [d] = report.disagreeing
    assert (d.item_id, d.erp_on_hand, d.wms_on_hand, d.wms_as_of) == ("SKU-1", 100, 90, T0 + timedelta(minutes=3))
    assert [(n.item_id, n.reason) for n in report.not_comparable] == [("SKU-3", "only the ERP reported a balance")]
    assert report.tolerance.quantity_percent == 1
    obj = boto3.client("s3").get_object(Bucket=BUCKET, Key=out["csvKey"])
    assert obj["ContentType"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(obj["Body"].read().decode())))
    assert [(r["itemId"], r["erpOnHand"], r["wmsOnHand"], r["difference"]) for r in rows] == [
        ("SKU-1", "100.0", "90.0", "10.0")]
    assert json.loads(boto3.client("s3").get_object(Bucket=BUCKET, Key=out["reportKey"])["Body"].read())[
        "accuracyPercent"] == 50.0
    assert latest_report(BUCKET) == report


def test_latest_report_is_none_before_the_first_run_and_the_newest_after(aws, inventory):
    assert latest_report(BUCKET) is None
    accuracy = load_handler("inventory_accuracy")
    run("inventory_transformer", balance("erp", 10), balance("wms", 10))
    first = accuracy.lambda_handler({}, FakeLambdaContext("inventory_accuracy"))
    run("inventory_transformer", balance("wms", 4, as_of=T0 + timedelta(minutes=1)))
    second = accuracy.lambda_handler({}, FakeLambdaContext("inventory_accuracy"))
    assert (first["accuracyPercent"], second["accuracyPercent"]) == (100.0, 0.0)
    assert latest_report(BUCKET).accuracy_percent == 0.0


def test_nothing_comparable_writes_a_report_and_no_metric(aws, inventory, capsys):
    run("inventory_transformer", balance("wms", 3))
    capsys.readouterr()
    out = load_handler("inventory_accuracy").lambda_handler({}, FakeLambdaContext("inventory_accuracy"))
    assert (out["accuracyPercent"], out["compared"], out["notComparable"], out["belowTarget"]) == (None, 0, 1, False)
    assert "InventoryAccuracyPercent" not in emitted_metrics(capsys)
    assert read_report(BUCKET, out["reportKey"]).not_comparable[0].reason == "only the WMS reported a balance"
