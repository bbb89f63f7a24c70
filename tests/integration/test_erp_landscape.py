"""One landscape of many ERPs (issue 14): the planning transformer names the connection that owns the
location on each update, with that connection's approval threshold; the ERP updater writes through that
connection's connector (two REST ERP simulators here, on real sockets); a location no connection owns is
quarantined with that reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from distsync.sim.erp import ErpSimulator
from distsync_core.contracts import CONTRACTS, ItemLocationUpserted, ReplenishmentRecommended, new_envelope
from tests.conftest import FakeLambdaContext, load_handler
from tests.integration.conftest import bus_event, sqs_event


def envelope(event_type, data, cid, source):
    return new_envelope(CONTRACTS[(event_type, "1")], data, correlation_id=cid, source=source,
                        occurred_at=datetime(2026, 11, 27, tzinfo=UTC))


def master(location):
    return bus_event(envelope("ItemLocationUpserted", ItemLocationUpserted(
        item_id="SKU-1", location_id=location, unit_of_measure="EA", safety_stock=100, reorder_point=200,
        supplier_id="SUP-1", lead_time_days=4), f"md-{location}", "erp"))


def recommendation(location, ss, rop):
    return bus_event(envelope("ReplenishmentRecommended", ReplenishmentRecommended(
        item_id="SKU-1", location_id=location, recommended_safety_stock=ss, recommended_reorder_point=rop,
        planning_cycle_id="c-1"), f"rec-{location}", "planning"))


def run(folder, *events):
    return load_handler(folder).lambda_handler(sqs_event(*events), FakeLambdaContext(folder))


@pytest.fixture
def landscape(aws, monkeypatch):
    """``east`` owns DC-E* with a 5 % threshold; ``rest`` owns the rest (the global 20 %); DC-X* belongs to
    nobody once the catch-all is taken away."""
    east, rest = ErpSimulator().start(), ErpSimulator().start()
    connections = [
        {"name": "east", "kind": "rest", "baseUrl": east.base_url, "locations": ["DC-E*"], "approvalThresholdPercent": 5},
        {"name": "rest", "kind": "rest", "baseUrl": rest.base_url, "locations": ["*"]},
    ]
    monkeypatch.setenv("ERP_CONNECTIONS", json.dumps(connections))
    monkeypatch.setenv("ERP_BACKOFF_SECONDS", "0.01")
    yield {"east": east, "rest": rest, "connections": connections}
    east.stop()
    rest.stop()


def test_each_update_names_its_connection_and_reaches_that_erp_only(aws, landscape):
    run("masterdata_transformer", master("DC-EAST"), master("DC-WEST"))
    assert run("planning_transformer", recommendation("DC-WEST", 110, 220)) == {"batchItemFailures": []}
    assert run("planning_transformer", recommendation("DC-EAST", 104, 208)) == {"batchItemFailures": []}
    updates = {e["detail"]["data"]["locationId"]: e for e in aws.probe(wait=0.5, expect=2)}
    assert updates["DC-WEST"]["detail"]["data"]["erpConnection"] == "rest"
    assert updates["DC-EAST"]["detail"]["data"]["erpConnection"] == "east"
    for event in updates.values():
        assert run("erp_updater", event) == {"batchItemFailures": []}
    assert [u["locationId"] for u in landscape["east"].snapshot()] == ["DC-EAST"]
    assert [u["locationId"] for u in landscape["rest"].snapshot()] == ["DC-WEST"]
    hops = [h for h in aws.items("TRACE_TABLE_NAME") if h["stage"] == "erp"]
    assert {h["erpConnection"] for h in hops} == {"east", "rest"}
    assert all(h["erpRequestId"].startswith("erp-") for h in hops)  # the ERP's own id of the write


def test_a_connection_s_own_threshold_decides_the_approval(aws, landscape, monkeypatch):
    """A 10 % change: straight to the ERP under the global 20 % (DC-WEST), an approval above east's 5 %."""
    import boto3

    sfn = boto3.client("stepfunctions")
    arn = sfn.create_state_machine(name="approval", roleArn="arn:aws:iam::123456789012:role/sfn",
                                   definition='{"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": true}}}'
                                   )["stateMachineArn"]
    monkeypatch.setenv("APPROVAL_STATE_MACHINE_ARN", arn)
    run("masterdata_transformer", master("DC-EAST"), master("DC-WEST"))
    run("planning_transformer", recommendation("DC-WEST", 110, 220), recommendation("DC-EAST", 110, 220))
    assert [e["detail"]["data"]["locationId"] for e in aws.probe(wait=0.5, expect=1)] == ["DC-WEST"]
    [execution] = sfn.list_executions(stateMachineArn=arn)["executions"]
    started = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    assert started["thresholdPercent"] == 5 and started["update"]["data"]["locationId"] == "DC-EAST"
    assert started["update"]["data"]["erpConnection"] == "east"


def test_a_location_no_connection_owns_is_quarantined_with_that_reason(aws, landscape, monkeypatch):
    monkeypatch.setenv("ERP_CONNECTIONS", json.dumps(landscape["connections"][:1]))  # no catch-all
    run("masterdata_transformer", master("DC-WEST"))
    assert run("planning_transformer", recommendation("DC-WEST", 110, 220)) == {"batchItemFailures": []}
    [q] = aws.items("QUARANTINE_TABLE_NAME")
    assert q["stage"] == "planning" and q["reason"] == "no ERP connection owns location DC-WEST (context erpConnections)"
    assert aws.probe(wait=0.3) == []
