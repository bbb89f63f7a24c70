"""Parameter drift against moto and the REST ERP simulator (a real socket): recommendations applied through
the planning transformer and the ERP updater, then the ERP changed by hand, a write lost, a recommendation
rejected by a planner; the drift function classifies each, writes the report (JSON + CSV), publishes
ParameterDriftDetected and a metric per class; with ``fix`` it sends corrections into the planning pipeline
(never to the ERP), and once they ran through it the item-locations are in sync."""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from datetime import UTC, datetime

import boto3
import pytest

from distsync.sim.erp import ErpSimulator
from distsync_core.contracts import CONTRACTS, ItemLocationUpserted, ReplenishmentRecommended, new_envelope
from tests.conftest import FakeLambdaContext, load_handler
from tests.integration.conftest import bus_event, sqs_event
from tests.integration.test_reconciliation_pipeline import emitted_metrics

BUCKET = "landing"
ITEMS = ("SKU-HAND", "SKU-LOST", "SKU-SYNC", "SKU-REJ")


def envelope(event_type, data, cid, source):
    return new_envelope(CONTRACTS[(event_type, "1")], data, correlation_id=cid, source=source)


def run(folder, *events):
    return load_handler(folder).lambda_handler(sqs_event(*events), FakeLambdaContext(folder))


def recommend(aws, item, ss, rop, cycle):
    rec = ReplenishmentRecommended(item_id=item, location_id="DC-1", recommended_safety_stock=ss,
                                   recommended_reorder_point=rop, planning_cycle_id=cycle)
    assert run("planning_transformer", bus_event(envelope("ReplenishmentRecommended", rec, f"rec-{item}-{cycle}",
                                                          "planning"))) == {"batchItemFailures": []}
    return aws.probe()  # what the handler published is on the probe queue when it returns


def apply_all(events):
    for event in events:
        if event["detail-type"] == "ReplenishmentUpdateRequested":
            assert run("erp_updater", event) == {"batchItemFailures": []}


def drift(**event):
    return load_handler("parameter_drift").lambda_handler(event, FakeLambdaContext("parameter_drift"))


@pytest.fixture
def erp(aws, monkeypatch):
    sim = ErpSimulator().start()
    monkeypatch.setenv("ERP_CONNECTIONS", json.dumps(
        [{"name": "rest", "kind": "rest", "baseUrl": sim.base_url, "locations": ["DC-*"]}]))
    monkeypatch.setenv("ERP_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("LANDING_BUCKET_NAME", BUCKET)
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    sfn = boto3.client("stepfunctions")  # approvals start an execution; the test plays the planner's part
    arn = sfn.create_state_machine(name="approval", roleArn="arn:aws:iam::123456789012:role/sfn",
                                   definition='{"StartAt": "W", "States": {"W": {"Type": "Pass", "End": true}}}'
                                   )["stateMachineArn"]
    monkeypatch.setenv("APPROVAL_STATE_MACHINE_ARN", arn)
    masters = [bus_event(envelope("ItemLocationUpserted", ItemLocationUpserted(
        item_id=item, location_id="DC-1", unit_of_measure="EA", safety_stock=100, reorder_point=200,
        supplier_id="SUP-1", lead_time_days=4), f"md-{item}", "erp")) for item in ITEMS]
    assert run("masterdata_transformer", *masters) == {"batchItemFailures": []}
    aws.probe()
    for item in ITEMS:  # 10 %: applied without approval; the ERP then holds 110/220, distsync recorded it
        apply_all(recommend(aws, item, 110, 220, "C-1"))
    aws.probe()
    yield {"sim": sim, "sfn": sfn, "arn": arn}
    sim.stop()


def by_hand(sim, item, ss, rop):
    """A planner edits the ERP itself (not through distsync)."""
    request = urllib.request.Request(
        f"{sim.base_url}/v1/items/{item}/locations/DC-1/replenishment-parameters", method="PUT",
        data=json.dumps({"safetyStock": ss, "reorderPoint": rop}).encode(),
        headers={"Idempotency-Key": f"hand-{item}-{ss}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def reject_the_approval(aws, erp, item):
    """A 2nd recommendation above the threshold waits for a planner, who rejects it."""
    recommend(aws, item, 200, 220, "C-2")
    sfn = erp["sfn"]
    execution = sfn.list_executions(stateMachineArn=erp["arn"])["executions"][0]
    approval = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    load_handler("approval_request").lambda_handler(
        {"approval": approval, "taskToken": "t-1", "executionArn": execution["executionArn"]}, FakeLambdaContext())
    load_handler("approval_outcome").lambda_handler(
        {"approvalId": approval["approvalId"], "update": approval["update"],
         "decision": {"decision": "reject", "decidedBy": "planner-7", "comment": "too much stock"}},
        FakeLambdaContext())


def test_drift_is_classified_reported_published_and_fixed_through_the_planning_pipeline(aws, erp, capsys):
    sim = erp["sim"]
    by_hand(sim, "SKU-HAND", 105, 220)
    by_hand(sim, "SKU-LOST", 100, 200)  # what distsync's update replaced: the write was lost
    reject_the_approval(aws, erp, "SKU-REJ")
    aws.probe()
    capsys.readouterr()

    summary = drift(trigger="on-demand")
    assert summary["counts"] == {"changed_by_hand": 1, "applied_but_lost": 1, "never_applied": 1, "in_sync": 1,
                                 "not_compared": 0}
    assert summary["corrections"] == []  # no fix asked: nothing sent
    s3 = boto3.client("s3")
    report = json.loads(s3.get_object(Bucket=BUCKET, Key=summary["reportKey"])["Body"].read())
    assert summary["reportKey"].startswith(f"reports/drift/{datetime.now(UTC):%Y-%m-%d}/")
    classes = {f["itemId"]: f for f in report["findings"]}
    assert classes["SKU-HAND"]["class"] == "changed_by_hand"
    assert (classes["SKU-HAND"]["erp"], classes["SKU-HAND"]["applied"]) == (
        {"safetyStock": 105, "reorderPoint": 220}, {"safetyStock": 110, "reorderPoint": 220})
    assert classes["SKU-LOST"]["class"] == "applied_but_lost"
    assert classes["SKU-REJ"]["class"] == "never_applied"
    assert "rejected by a planner" in classes["SKU-REJ"]["reason"] and "planner-7" in classes["SKU-REJ"]["reason"]
    assert classes["SKU-SYNC"]["class"] == "in_sync"
    rows = list(csv.DictReader(io.StringIO(s3.get_object(Bucket=BUCKET, Key=summary["csvKey"])["Body"].read().decode())))
    assert {r["itemId"]: r["class"] for r in rows} == {k: v["class"] for k, v in classes.items()}
    latest = json.loads(s3.get_object(Bucket=BUCKET, Key="reports/drift/latest.json")["Body"].read())
    assert latest == report

    published = [e for e in aws.probe() if e["detail-type"] == "ParameterDriftDetected"]
    assert sorted((e["detail"]["data"]["itemId"], e["detail"]["data"]["driftClass"]) for e in published) == [
        ("SKU-HAND", "changed_by_hand"), ("SKU-LOST", "applied_but_lost"), ("SKU-REJ", "never_applied")]
    assert {e["source"] for e in published} == {"distsync.drift"}
    metrics = emitted_metrics(capsys)
    assert (metrics["DriftChangedByHand"], metrics["DriftAppliedButLost"], metrics["DriftNeverApplied"],
            metrics["DriftInSync"]) == ([1.0], [1.0], [1.0], [1.0])

    fixed = drift(fix=True)
    paths = {c["itemId"]: (c["path"], c["why"]) for c in fixed["corrections"]}
    assert paths["SKU-HAND"] == ("direct", "change 4.76% <= 20%: applied without approval")
    assert paths["SKU-LOST"] == ("direct", "change 10% <= 20%: applied without approval")
    assert paths["SKU-REJ"] == ("none", "a planner rejected it: not re-requested")
    assert len(sim.snapshot()) == 4 + 2  # nothing went to the ERP: the corrections are recommendations
    corrections = [e for e in aws.probe() if e["detail-type"] == "ReplenishmentRecommended"]
    assert sorted((e["detail"]["data"]["itemId"], e["detail"]["data"]["recommendedSafetyStock"],
                   e["detail"]["metadata"]["source"], e["source"]) for e in corrections) == [
        ("SKU-HAND", 110, "distsync.drift", "distsync.planning"), ("SKU-LOST", 110, "distsync.drift", "distsync.planning")]

    # the planning pipeline measures each correction from what the ERP was seen to hold, then the ERP updater
    assert run("planning_transformer", *corrections) == {"batchItemFailures": []}
    apply_all(aws.probe())
    held = {(u["itemId"], u["safetyStock"], u["reorderPoint"]) for u in sim.snapshot()[-2:]}
    assert held == {("SKU-HAND", 110, 220), ("SKU-LOST", 110, 220)}
    hops = [h for h in aws.items("TRACE_TABLE_NAME") if h["correlationId"] == fixed["corrections"][0]["correlationId"]]
    assert sorted(h["stage"] for h in hops) == ["drift", "erp", "planning"]

    after = drift()
    assert after["counts"] == {"changed_by_hand": 0, "applied_but_lost": 0, "never_applied": 1, "in_sync": 3,
                               "not_compared": 0}


def test_a_location_glob_narrows_the_run_and_an_unreachable_erp_is_not_compared(aws, erp, monkeypatch):
    monkeypatch.setenv("ERP_CONNECTIONS", json.dumps(  # nothing listens there: connection refused
        [{"name": "down", "kind": "rest", "baseUrl": "http://127.0.0.1:9/api", "locations": ["DC-*"]}]))
    monkeypatch.setenv("ERP_MAX_ATTEMPTS", "1")
    summary = drift(location="DC-1")
    assert summary["counts"]["not_compared"] == 4 and summary["location"] == "DC-1"
    report = json.loads(boto3.client("s3").get_object(Bucket=BUCKET, Key=summary["reportKey"])["Body"].read())
    assert all(f["reason"].startswith("down: could not read the ERP") for f in report["findings"])
    assert sum(drift(location="DC-9*")["counts"].values()) == 0


def test_each_location_is_read_from_the_erp_that_owns_it_through_its_connector(aws, erp, monkeypatch):
    """An S/4HANA plant beside the REST ERP: the drift run reads S4-1010 through the s4hana connector (OData,
    Basic auth from the connection's secret), and tells its change by hand in S/4HANA from the REST ERP's
    item-locations, which stay as they were."""
    from distsync.sim.s4 import S4Simulator

    s4 = S4Simulator().start()
    try:
        boto3.client("secretsmanager").create_secret(
            Name="s4-creds", SecretString=json.dumps({"user": "DISTSYNC", "password": "s4-password"}))
        monkeypatch.setenv("ERP_CONNECTIONS", json.dumps([
            {"name": "s4", "kind": "s4hana", "baseUrl": s4.base_url, "secretName": "s4-creds",
             "locations": ["S4-*"], "options": {"plantMap": {"S4-1010": "1010"}}},
            {"name": "rest", "kind": "rest", "baseUrl": erp["sim"].base_url, "locations": ["*"]}]))
        s4.put_record({"itemId": "SKU-S4", "locationId": "1010", "safetyStock": 100, "reorderPoint": 200,
                       "leadTimeDays": 5}, push=False)
        master = ItemLocationUpserted(item_id="SKU-S4", location_id="S4-1010", unit_of_measure="EA",
                                      safety_stock=100, reorder_point=200, supplier_id="SUP-1", lead_time_days=5)
        run("masterdata_transformer", bus_event(envelope("ItemLocationUpserted", master, "md-s4", "erp")))
        aws.probe()
        rec = ReplenishmentRecommended(item_id="SKU-S4", location_id="S4-1010", recommended_safety_stock=110,
                                       recommended_reorder_point=220, planning_cycle_id="C-1")
        run("planning_transformer", bus_event(envelope("ReplenishmentRecommended", rec, "rec-s4", "planning")))
        apply_all(aws.probe())  # through the s4hana connector
        s4.put_record({"itemId": "SKU-S4", "locationId": "1010", "safetyStock": 90, "reorderPoint": 220,
                       "leadTimeDays": 5}, push=False)  # a planner edits the plant's MRP view in S/4HANA

        summary = drift(location="S4-*")
        report = json.loads(boto3.client("s3").get_object(Bucket=BUCKET, Key=summary["reportKey"])["Body"].read())
        [finding] = report["findings"]
        assert (finding["itemId"], finding["erpConnection"], finding["class"]) == ("SKU-S4", "s4", "changed_by_hand")
        assert (finding["erp"], finding["applied"]) == ({"safetyStock": 90, "reorderPoint": 220},
                                                        {"safetyStock": 110, "reorderPoint": 220})
        assert drift()["counts"]["in_sync"] == 4  # the REST ERP's item-locations, read through their own
    finally:
        s4.stop()
