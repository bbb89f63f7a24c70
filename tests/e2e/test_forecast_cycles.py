"""End to end: forecast cycles in bulk. A planning cycle file dropped into the landing bucket (as the planning
platform would, through the stack's S3 endpoint) runs through the cycle state machine - locally the chunked
runner over the same Lambda code - and only material changes reach the ERP."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import uuid
from typing import Any

import boto3
import pytest

pytestmark = pytest.mark.e2e

SS, ROP = 100.0, 200.0  # the master data every known item-location of these cycles starts with


def _client(stack: Any, service: str) -> Any:
    return boto3.client(service, endpoint_url=stack.info["awsEndpoint"], region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _csv(rows: list[list[Any]], header: tuple[str, ...] = ("itemId", "locationId", "safetyStock", "reorderPoint")) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def _summaries(stack: Any, cycle_id: str) -> list[dict[str, Any]]:
    return [e["detail"] for e in stack.drain_probe()
            if e["detail-type"] == "ForecastCycleCompleted" and e["detail"]["data"]["cycleId"] == cycle_id]


def _executions(stack: Any, cycle_id: str) -> list[dict[str, Any]]:
    sfn = _client(stack, "stepfunctions")
    arn = stack.info["outputs"]["CycleStateMachineArn"]
    return [e for e in sfn.list_executions(stateMachineArn=arn)["executions"] if e["name"] == cycle_id]


def _seed(stack: Any, items: list[str], location: str = "DC-1") -> None:
    for item in items:
        stack.master_data(item, location, ss=SS, rop=ROP)
    stack.wait_idle(timeout=120)


MALFORMED = [
    ["", "DC-1", "10", "20"],  # empty itemId
    ["SKU with space", "DC-1", "10", "20"],  # not an identifier
    ["{item}", "DC-1", "abc", "20"],  # not a number
    ["{item}", "DC-1", "-5", "20"],  # negative
    ["{item}", "DC-1", "nan", "20"],  # not finite
    ["{item}", "DC-1", "10", "1e12"],  # above the contract's maximum
    ["{item}", "DC-1"],  # short row: the reader fills the missing fields with empty strings
    ["{item}", "", "10", "20"],  # empty locationId
]


def _malformed(tag: str, count: int) -> list[list[str]]:
    rows = []
    for n in range(count):
        template = MALFORMED[n % len(MALFORMED)]
        rows.append([v.replace("{item}", f"SKU-{tag}-M{n:03d}") for v in template])
    return rows


def test_a_cycle_file_applies_only_material_changes_and_reports_the_rest(stack):
    tag = uuid.uuid4().hex[:6]
    cycle_id = f"cycle-a-{tag}"
    known = [f"SKU-{tag}-{n:03d}" for n in range(60)]
    _seed(stack, known)
    rows: list[list[Any]] = []
    rows += [[known[n], "DC-1", SS, ROP] for n in range(0, 20)]  # equal: unchanged
    rows += [[known[n], "DC-1", 101, 201] for n in range(20, 30)]  # 1 %: within the 2 % tolerance
    rows += [[known[n], "DC-1", 102, 204] for n in range(30, 35)]  # exactly 2 %: not above it, unchanged
    direct = [known[n] for n in range(35, 50)]
    rows += [[item, "DC-1", 110, 220] for item in direct]  # 10 %: material, within the approval threshold
    approvals = [known[n] for n in range(50, 60)]
    rows += [[item, "DC-1", 150, 300] for item in approvals]  # 50 %: material, a planner decides
    rows += _malformed(tag, 40)
    rows += [[f"SKU-{tag}-U{n:04d}", "DC-9", 5, 10] for n in range(999)]  # no master data: unknown
    rows.append([f"SKU-{tag}-U0999", "DC-9", 5, 10, "an extra column"])  # extra fields are dropped by the reader
    random.Random(7).shuffle(rows)  # material changes, unknown and malformed rows spread over the batches
    body = _csv(rows)
    assert len(rows) == 1100

    s3 = _client(stack, "s3")
    bucket = stack.info["outputs"]["LandingBucketName"]
    s3.put_object(Bucket=bucket, Key=f"cycles/{cycle_id}.csv", Body=body)
    stack.wait_idle(timeout=300)

    (summary,) = _summaries(stack, cycle_id)
    data = summary["data"]
    assert data["status"] == "completed"
    assert data["sourceFile"] == f"cycles/{cycle_id}.csv"
    assert (data["rowsRead"], data["changed"], data["unchanged"], data["rejected"]) == (1100, 25, 35, 1040)
    assert (data["approvalsRequired"], data["eventsEmitted"]) == (10, 25)
    assert data["tolerancePercent"] == 2.0
    assert data["rejectedReport"] == f"s3://{bucket}/rejected/cycles/{cycle_id}/"
    assert summary["metadata"]["correlationId"] == f"cycle-{cycle_id}"
    assert data["startedAt"] <= data["finishedAt"]
    (execution,) = _executions(stack, cycle_id)
    assert execution["status"] == "SUCCEEDED"

    # only the material changes went out, each once, with ids derived from the cycle and item-location
    recommended = [e for e in stack.drain_probe() if e["detail-type"] == "ReplenishmentRecommended"
                   and e["detail"]["data"]["planningCycleId"] == cycle_id]
    assert sorted(e["detail"]["data"]["itemId"] for e in recommended) == sorted(direct + approvals)
    assert len({e["detail"]["metadata"]["eventId"] for e in recommended}) == 25

    # the ERP got exactly the changes within the approval threshold; the others wait for a planner
    updates = [u for u in stack.erp_updates() if (u["correlationId"] or "").startswith(f"cycle-{cycle_id}-")]
    assert sorted(u["itemId"] for u in updates) == sorted(direct)
    assert {(u["safetyStock"], u["reorderPoint"], u["planningCycleId"]) for u in updates} == {(110, 220, cycle_id)}
    pending = [a["itemId"] for a in json.loads(stack.cli("approvals", "list", "--json").stdout)
               if a["correlationId"].startswith(f"cycle-{cycle_id}-")]
    assert sorted(pending) == sorted(approvals)

    # every rejected row is in the report, with its line and the reason
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"rejected/cycles/{cycle_id}/")["Contents"]
    reported = [r for obj in listed for r in json.loads(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())["rows"]]
    assert len(reported) == 1040
    reasons = [r["reason"] for r in reported]
    assert sum("unknown item-location" in r for r in reasons) == 1000
    assert any("safetyStock 'abc' is not a number" in r for r in reasons)
    assert any("safetyStock is empty" in r for r in reasons)  # the short row
    assert all(r["line"] == r["row"] + 1 for r in reported)

    stack.accepted[f"cycle-{cycle_id}"] = "delivered"
    for item in direct:
        stack.accepted[f"cycle-{cycle_id}-{item}-DC-1"] = "delivered"
    for item in approvals:
        stack.accepted[f"cycle-{cycle_id}-{item}-DC-1"] = "pending_approval"
    assert stack.trace(f"cycle-{cycle_id}")["status"] == "delivered"

    # the same file dropped again starts no second run and changes nothing
    s3.put_object(Bucket=bucket, Key=f"cycles/{cycle_id}.csv", Body=body)
    stack.wait_idle(timeout=120)
    assert len(_executions(stack, cycle_id)) == 1
    assert len(_summaries(stack, cycle_id)) == 1  # every event the bus carried this session: still one summary
    again = [u for u in stack.erp_updates() if (u["correlationId"] or "").startswith(f"cycle-{cycle_id}-")]
    assert len(again) == len(direct)


def test_a_gzip_cycle_with_its_columns_in_another_order_is_read_through_its_plain_copy(stack):
    tag = uuid.uuid4().hex[:6]
    cycle_id = f"cycle-b-{tag}"
    known = [f"SKU-{tag}-B{n:03d}" for n in range(30)]
    _seed(stack, known)
    header = ("locationId", "itemId", "reorderPoint", "safetyStock")
    rows: list[list[Any]] = [["DC-1", item, ROP, SS] for item in known[:20]]
    changed = known[20:]
    rows += [["DC-1", item, 240, 120] for item in changed]  # exactly 20 %: applied without approval
    rows += [["DC-1", f"SKU-{tag}-M{n}", "x", "1"] for n in range(5)]  # reorderPoint not a number
    body = gzip.compress(_csv(rows, header))

    s3 = _client(stack, "s3")
    bucket = stack.info["outputs"]["LandingBucketName"]
    s3.put_object(Bucket=bucket, Key=f"cycles/{cycle_id}.csv.gz", Body=body)
    stack.wait_idle(timeout=180)

    (summary,) = _summaries(stack, cycle_id)
    data = summary["data"]
    assert data["status"] == "completed"
    assert (data["rowsRead"], data["changed"], data["unchanged"], data["rejected"]) == (35, 10, 20, 5)
    assert (data["approvalsRequired"], data["eventsEmitted"]) == (0, 10)
    updates = [u for u in stack.erp_updates() if (u["correlationId"] or "").startswith(f"cycle-{cycle_id}-")]
    assert sorted(u["itemId"] for u in updates) == sorted(changed)
    assert {(u["safetyStock"], u["reorderPoint"]) for u in updates} == {(120, 240)}
    # the plain copy the Distributed Map read is gone once summarized; the original stays
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="work/cycles/").get("Contents", [])]
    assert f"work/cycles/{cycle_id}.csv" not in keys
    assert s3.head_object(Bucket=bucket, Key=f"cycles/{cycle_id}.csv.gz")["ContentLength"] == len(body)
    stack.accepted[f"cycle-{cycle_id}"] = "delivered"
    for item in changed:
        stack.accepted[f"cycle-{cycle_id}-{item}-DC-1"] = "delivered"


def test_a_file_without_the_cycle_columns_is_rejected_with_a_report_and_a_summary(stack):
    cycle_id = f"cycle-c-{uuid.uuid4().hex[:6]}"
    s3 = _client(stack, "s3")
    bucket = stack.info["outputs"]["LandingBucketName"]
    s3.put_object(Bucket=bucket, Key=f"cycles/{cycle_id}.csv", Body=b"item,location,ss\nSKU-1,DC-1,5\n")
    stack.wait_idle(timeout=120)

    (summary,) = _summaries(stack, cycle_id)
    data = summary["data"]
    assert data["status"] == "rejected"
    assert "missing itemId, locationId, safetyStock, reorderPoint" in data["reason"]
    assert (data["rowsRead"], data["changed"], data["eventsEmitted"]) == (0, 0, 0)
    report = json.loads(s3.get_object(Bucket=bucket, Key=f"rejected/cycles/{cycle_id}/file.errors.json")["Body"].read())
    assert "missing itemId" in report["reason"]
    (execution,) = _executions(stack, cycle_id)
    assert execution["status"] == "FAILED"
    stack.accepted[f"cycle-{cycle_id}"] = "rejected"
