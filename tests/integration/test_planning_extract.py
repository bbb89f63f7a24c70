"""The planning extract against moto (issue 14): the master data's item-locations with their current (ERP
confirmed) parameters as a well-formed CSV under outbound/planning/extracts/<date>/."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import boto3
import pytest

from distsync_core.planning.extracts import COLUMNS
from tests.conftest import FakeLambdaContext, load_handler
from tests.integration.conftest import Aws

extract = load_handler("planning_extract")
BUCKET = "landing"


@pytest.fixture
def landing(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("LANDING_BUCKET_NAME", BUCKET)
    return aws


def test_the_extract_has_a_row_per_item_location_with_parameters(landing: Aws) -> None:
    table = boto3.resource("dynamodb").Table("masterdata")
    with table.batch_writer() as batch:
        for n in range(1200):
            batch.put_item(Item={"pk": f"ITEMLOC#SKU-{n:04d}#DC-1", "entity": "ItemLocation", "itemId": f"SKU-{n:04d}",
                                 "locationId": "DC-1", "unitOfMeasure": "EA", "safetyStock": Decimal(n),
                                 "reorderPoint": Decimal("2.5") * n, "supplierId": "SUP-1", "leadTimeDays": 7})
        batch.put_item(Item={"pk": "SUPPLIER#SUP-1", "entity": "Supplier", "supplierId": "SUP-1", "name": "Globex, Inc."})
    table.update_item(Key={"pk": "ITEMLOC#SKU-0007#DC-1"},
                      UpdateExpression="SET erpConfirmedAt = :at, appliedUpdate = :u",
                      ExpressionAttributeValues={":at": "2026-12-04T10:00:00Z", ":u": {"planningCycleId": "w48, final"}})

    out = extract.lambda_handler({"date": "2026-12-05"}, FakeLambdaContext("planning_extract"))

    assert out == {"bucket": BUCKET, "key": "outbound/planning/extracts/2026-12-05/item-locations.csv",
                   "date": "2026-12-05", "rows": 1200}
    obj = boto3.client("s3").get_object(Bucket=BUCKET, Key=out["key"])
    assert obj["ContentType"].startswith("text/csv")
    text = obj["Body"].read().decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == ",".join(COLUMNS) and len(rows) == 1200
    assert all(len(r) == len(COLUMNS) and None not in r for r in rows)  # every row has every column
    by_item = {r["itemId"]: r for r in rows}
    assert by_item["SKU-0010"] == {"itemId": "SKU-0010", "locationId": "DC-1", "unitOfMeasure": "EA",
                                   "safetyStock": "10", "reorderPoint": "25", "supplierId": "SUP-1",
                                   "leadTimeDays": "7", "erpConfirmedAt": "", "planningCycleId": ""}
    assert (by_item["SKU-0007"]["erpConfirmedAt"], by_item["SKU-0007"]["planningCycleId"]) == (
        "2026-12-04T10:00:00Z", "w48, final")  # quoted, read back whole
    assert by_item["SKU-0003"]["reorderPoint"] == "7.5"
