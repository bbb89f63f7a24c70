"""Forecast cycles started by a manifest, against moto (issue 14): the starter starts on the manifest (and,
with cycleManifestRequired, not on the data file); the prepare step reads the manifest, checks the listing
and the counts, and goes on with the data file, or rejects the cycle with the report rejected cycles have."""

from __future__ import annotations

import gzip
import hashlib
import json
from typing import Any

import boto3
import pytest

from tests.conftest import FakeLambdaContext, load_handler
from tests.integration.conftest import Aws, sqs_event
from tests.integration.test_forecast_cycles import BUCKET, RUNS, put, s3_created

prepare = load_handler("cycle_prepare")
starter = load_handler("cycle_starter")
summary = load_handler("cycle_summary")



@pytest.fixture
def cycles(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    """The landing bucket and the cycle runs table (as test_forecast_cycles.py has them)."""
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    boto3.client("dynamodb").create_table(
        TableName=RUNS, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "cycleId", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "cycleId", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
    )
    for name, value in (("CYCLE_RUNS_TABLE_NAME", RUNS), ("LANDING_BUCKET_NAME", BUCKET),
                        ("CYCLE_TOLERANCE_PERCENT", "2")):
        monkeypatch.setenv(name, value)
    return aws


BODY = b"itemId,locationId,safetyStock,reorderPoint\nSKU-1,DC-1,110,220\nSKU-2,DC-1,5,9\nSKU-3,DC-1,1,2\n"


def manifest(cycle_id: str, name: str, rows: int, sha256: str | None = None) -> bytes:
    entry: dict[str, Any] = {"name": name, "rows": rows}
    if sha256:
        entry["sha256"] = sha256
    return json.dumps({"cycleId": cycle_id, "files": [entry]}).encode()


def report(cycle_id: str) -> dict[str, Any]:
    key = f"rejected/cycles/{cycle_id}/file.errors.json"
    return json.loads(boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())


def state_machine(monkeypatch: pytest.MonkeyPatch) -> str:
    sfn = boto3.client("stepfunctions")
    definition = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 30, "End": True}}}
    arn = sfn.create_state_machine(name="cycle", definition=json.dumps(definition),
                                   roleArn="arn:aws:iam::123456789012:role/sfn")["stateMachineArn"]
    monkeypatch.setenv("CYCLE_STATE_MACHINE_ARN", arn)
    return arn


def test_with_the_convention_the_manifest_starts_the_cycle_not_the_data_file(
        cycles: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    arn = state_machine(monkeypatch)
    monkeypatch.setenv("CYCLE_MANIFEST_REQUIRED", "true")
    context = FakeLambdaContext("cycle_starter")
    assert starter.lambda_handler(sqs_event(s3_created("cycles/w49.csv.gz")), context) == {"batchItemFailures": []}
    assert boto3.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"] == []  # waits
    starter.lambda_handler(sqs_event(s3_created("cycles/w49.manifest.json")), context)
    (execution,) = boto3.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"]
    described = boto3.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])
    assert json.loads(described["input"]) == {"cycleId": "w49", "bucket": BUCKET, "key": "cycles/w49.manifest.json"}
    details = [h["detail"] for h in cycles.items("TRACE_TABLE_NAME") if h["correlationId"] == "cycle-w49"]
    assert any("starts on cycles/w49.manifest.json" in d for d in details)


def test_without_the_convention_the_data_file_starts_the_cycle_as_before(
        cycles: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    arn = state_machine(monkeypatch)  # CYCLE_MANIFEST_REQUIRED unset: false
    starter.lambda_handler(sqs_event(s3_created("cycles/w50.csv")), FakeLambdaContext("cycle_starter"))
    (execution,) = boto3.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"]
    assert execution["name"] == "w50"


def test_a_matching_manifest_prepares_its_data_file(cycles: Aws) -> None:
    packed = gzip.compress(BODY)
    put("cycles/w48.csv.gz", packed)
    put("cycles/w48.manifest.json", manifest("w48", "w48.csv.gz", 3, hashlib.sha256(packed).hexdigest()))
    out = prepare.lambda_handler({"cycleId": "w48", "bucket": BUCKET, "key": "cycles/w48.manifest.json"},
                                 FakeLambdaContext("cycle_prepare"))
    assert (out["sourceKey"], out["csvKey"], out["plainBytes"]) == ("cycles/w48.csv.gz", "work/cycles/w48.csv", len(BODY))
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key="work/cycles/w48.csv")["Body"].read()
    assert body == BODY  # what the Distributed Map reads
    run = boto3.resource("dynamodb").Table("cycle-runs").get_item(Key={"cycleId": "w48", "sk": "RUN"})["Item"]
    assert run["sourceKey"] == "cycles/w48.csv.gz" and run["status"] == "RUNNING"


@pytest.mark.parametrize(("files", "listed", "reason"), [
    ({"cycles/m.csv": BODY}, manifest("m", "m.csv", 4), "the manifest says 4 rows, the cycle file has 3"),
    ({"cycles/m.csv.gz": gzip.compress(BODY)}, manifest("m", "m.csv.gz", 2), "says 2 rows, the cycle file has 3"),
    ({"cycles/m.csv": BODY}, manifest("m", "m.csv", 3, "0" * 64), "the cycle file's sha256 is"),
    ({}, manifest("m", "m.csv", 3), "m.csv is listed but not in cycles/"),
    ({"cycles/m.csv": BODY, "cycles/m.csv.gz": gzip.compress(BODY)}, manifest("m", "m.csv", 3),
     "cycles/m.csv.gz is there but not listed"),
    ({"cycles/m.csv": BODY}, b'{"files": [{"name": "m.csv", "rows": 3}', "not JSON"),
    ({"cycles/m.csv": BODY}, json.dumps({"files": [{"name": "m.csv", "rows": 3},
                                                   {"name": "m-prices.csv", "rows": 1}]}).encode(), "lists m-prices.csv"),
], ids=["count-plain", "count-gzip", "sha256", "missing", "unlisted", "bad-json", "extra-file"])
def test_a_mismatch_rejects_the_cycle_with_the_report(cycles: Aws, files: dict[str, bytes], listed: bytes,
                                                      reason: str) -> None:
    for key, body in files.items():
        put(key, body)
    put("cycles/m.manifest.json", listed)
    event = {"cycleId": "m", "bucket": BUCKET, "key": "cycles/m.manifest.json"}
    with pytest.raises(Exception, match="manifest|sha256") as raised:
        prepare.lambda_handler(event, FakeLambdaContext("cycle_prepare"))
    assert type(raised.value).__name__ == "CycleFileRejected"  # what the state machine catches
    assert reason in str(raised.value)
    found = report("m")
    assert set(found) == {"cycleId", "file", "reason"} and reason in found["reason"]
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert "work/cycles/m.csv" not in keys  # no copy left behind (the multipart upload was aborted)
    # ... and the summary reports the cycle as rejected, pointing at that report
    cause = json.dumps({"errorType": "CycleFileRejected", "errorMessage": str(raised.value)})
    out = summary.lambda_handler({**event, "error": {"Error": "CycleFileRejected", "Cause": cause}},
                                 FakeLambdaContext("cycle_summary"))
    assert out["status"] == "rejected"
    (completed,) = [e for e in cycles.probe() if e["detail-type"] == "ForecastCycleCompleted"]
    assert completed["detail"]["data"]["rejectedReport"] == f"s3://{BUCKET}/rejected/cycles/m/"
