"""The approval state machine (the ASL file itself) executed by moto's interpreter, with its Lambda tasks
routed to the real handlers in-process: approve, and time out."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import boto3
import pytest
from moto.awslambda.models import LambdaBackend

from distsync.local.moto_backend import route_lambda_invokes
from distsync_core.contracts import CONTRACTS, ReplenishmentRecommended, new_envelope
from distsync_core.masterdata.records import ItemLocationRecord
from distsync_core.planning.replenishment import decide
from tests.conftest import ROOT, FakeLambdaContext, load_handler
from tests.integration.conftest import api_event, bus_event
from tests.integration.test_pipelines import erp  # noqa: F401  (the ERP simulator fixture)

FN = "arn:aws:lambda:us-east-1:123456789012:function:"


@pytest.fixture
def workflow(aws):
    handlers = {name: load_handler(name) for name in ("approval_request", "approval_outcome")}

    def invoke(function_name: str, event):
        name = function_name.split(":")[-1]
        return handlers[name].lambda_handler(event, FakeLambdaContext(name))

    previous = route_lambda_invokes(invoke)

    def create(timeout_seconds: int) -> str:
        asl = (ROOT / "state_machines" / "replenishment_approval.asl.json").read_text()
        asl = (asl.replace("${ApprovalRequestFunctionArn}", FN + "approval_request")
                  .replace("${ApprovalOutcomeFunctionArn}", FN + "approval_outcome")
                  .replace('"${ApprovalTimeoutSeconds}"', str(timeout_seconds)))
        return boto3.client("stepfunctions").create_state_machine(
            name=f"approval-{timeout_seconds}", definition=asl, roleArn="arn:aws:iam::123456789012:role/sfn"
        )["stateMachineArn"]

    yield create
    LambdaBackend.invoke = previous


def start(arn: str, cid: str = "corr-a") -> tuple[str, str]:
    rec = ReplenishmentRecommended(item_id="SKU-1", location_id="DC-1", recommended_safety_stock=300,
                                   recommended_reorder_point=200, planning_cycle_id="c-1")
    decision = decide(rec, ItemLocationRecord("SKU-1", "DC-1", "EA", 100, 200, "SUP-1", 4), 20)
    update = new_envelope(CONTRACTS[("ReplenishmentUpdateRequested", "1")], decision.update, correlation_id=cid,
                          source="distsync.replenishment")
    execution = boto3.client("stepfunctions").start_execution(
        stateMachineArn=arn, name=decision.approval_id,
        input=json.dumps({"approvalId": decision.approval_id, "thresholdPercent": 20,
                          "update": update.model_dump(mode="json", by_alias=True)}))
    return execution["executionArn"], decision.approval_id


def wait_for(predicate, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def finished(execution_arn: str) -> str | None:
    status = boto3.client("stepfunctions").describe_execution(executionArn=execution_arn)["status"]
    return None if status == "RUNNING" else status


def test_approved_change_is_published_with_the_approval(aws, workflow):
    execution, approval_id = start(workflow(3600))
    pending = wait_for(lambda: [a for a in aws.items("APPROVALS_TABLE_NAME") if a["status"] == "PENDING"])
    assert pending[0]["approvalId"] == approval_id and pending[0]["taskToken"]
    assert finished(execution) is None  # waiting for the planner

    api = load_handler("approval_api")
    body = json.dumps({"decision": "approve", "comment": "ok", "decidedBy": "planner-1"}).encode()
    response = api.lambda_handler(api_event("POST", f"/v1/approvals/{approval_id}", "/v1/approvals/{approvalId}",
                                            {"approvalId": approval_id}, body, bound_to_path=True),
                                  FakeLambdaContext("approval_api"))
    assert response["statusCode"] == 200, response["body"]
    assert wait_for(lambda: finished(execution)) == "SUCCEEDED"

    [event] = aws.probe(wait=0.5, expect=1)
    assert event["detail-type"] == "ReplenishmentUpdateRequested"
    assert (event["detail"]["data"]["approvalId"], event["detail"]["data"]["decidedBy"]) == (approval_id, "planner-1")
    [record] = aws.items("APPROVALS_TABLE_NAME")
    assert record["status"] == "APPROVED" and "taskToken" not in record


def test_no_decision_within_the_window_is_recorded_as_timed_out(aws, workflow):
    execution, approval_id = start(workflow(1), cid="corr-t")
    assert wait_for(lambda: finished(execution), timeout=30) == "SUCCEEDED"
    [record] = aws.items("APPROVALS_TABLE_NAME")
    assert record["status"] == "TIMED_OUT" and "approval window" in record["outcomeComment"]
    outcomes = [h["outcome"] for h in sorted(aws.items("TRACE_TABLE_NAME"), key=lambda h: h["at"])]
    assert outcomes == ["pending_approval", "rejected"]
    assert aws.probe(wait=0.3) == []


@pytest.mark.parametrize(
    ("handler", "path", "resource", "param", "body"),
    [
        ("approval_api", "/v1/approvals/{}", "/v1/approvals/{approvalId}", "approvalId",
         {"decision": "approve", "comment": "", "decidedBy": "planner-1"}),
        ("exception_api", "/v1/shipment-exceptions/{}/resolution", "/v1/shipment-exceptions/{caseId}/resolution",
         "caseId", {"resolution": "reshipped", "comment": "", "resolvedBy": "ops-1"}),
    ],
    ids=["approval", "exception-resolution"],
)
def test_a_decision_is_bound_to_its_record_and_used_once(aws, monkeypatch, handler, path, resource, param, body):
    """A request signed for record A, sent unchanged to B, decided both (the signature covered the body only),
    and these routes had no replay check (issue 12, finding 2)."""
    boto3.client("dynamodb").create_table(
        TableName="exception-cases", KeySchema=[{"AttributeName": "caseId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "caseId", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    monkeypatch.setenv("EXCEPTIONS_TABLE_NAME", "exception-cases")
    api = load_handler(handler)
    raw = json.dumps(body).encode()
    signed_for_a = api_event("POST", path.format("rec-A"), resource, {param: "rec-A"}, raw, bound_to_path=True)

    def call(event):
        response = api.lambda_handler(event, FakeLambdaContext(handler))
        return response["statusCode"], json.loads(response["body"])["detail"]

    to_b = {**signed_for_a, "path": path.format("rec-B"), "pathParameters": {param: "rec-B"}}
    status, detail = call(to_b)
    assert (status, detail) == (401, "signature does not match")
    status, detail = call(signed_for_a)  # its own record: the signature holds (no such record here: 404)
    assert status == 404
    status, detail = call(signed_for_a)  # the same signed request again
    assert status == 401 and "already received" in detail


def test_a_claim_whose_holder_died_is_taken_over_and_the_decision_is_written_once_taken(aws, workflow, monkeypatch):
    """A crash between claiming and SendTaskSuccess left the approval DECIDING until the workflow timed out
    (issue 12, finding 15): now a claim older than the timeout is taken over, and decision, comment and decider
    are written only once the workflow took the decision."""
    from distsync_core.planning.approvals import ApprovalStore
    from distsync_core.platform import waiting_tasks

    execution, approval_id = start(workflow(3600), cid="corr-claim")
    wait_for(lambda: [a for a in aws.items("APPROVALS_TABLE_NAME") if a["status"] == "PENDING"])
    assert ApprovalStore("approvals").claim_decision(approval_id)  # ... and the API call holding it dies here

    api = load_handler("approval_api")

    def decide_now(decided_by: str):
        body = json.dumps({"decision": "approve", "comment": "", "decidedBy": decided_by}).encode()
        event = api_event("POST", f"/v1/approvals/{approval_id}", "/v1/approvals/{approvalId}",
                          {"approvalId": approval_id}, body, bound_to_path=True)
        return api.lambda_handler(event, FakeLambdaContext("approval_api"))["statusCode"]

    assert decide_now("planner-2") == 409  # a live claim is someone else's decision in flight
    [record] = aws.items("APPROVALS_TABLE_NAME")
    assert record["status"] == "DECIDING" and "decision" not in record and "decidedBy" not in record
    monkeypatch.setattr(waiting_tasks, "CLAIM_TIMEOUT_SECONDS", -1)  # that claim is now older than the timeout
    assert decide_now("planner-3") == 200
    assert wait_for(lambda: finished(execution)) == "SUCCEEDED"
    [record] = [a for a in aws.items("APPROVALS_TABLE_NAME") if a["approvalId"] == approval_id]
    assert (record["decision"], record["decidedBy"], record["status"]) == ("approve", "planner-3", "APPROVED")


def test_a_decision_the_workflow_did_not_take_leaves_no_decision_behind(aws, workflow, monkeypatch):
    from distsync_core.platform import aws as aws_clients

    _, approval_id = start(workflow(3600), cid="corr-fail")
    wait_for(lambda: [a for a in aws.items("APPROVALS_TABLE_NAME") if a["status"] == "PENDING"])
    sfn = aws_clients.client("stepfunctions")

    def unavailable(**_kwargs):
        raise ConnectionError("Step Functions unreachable")

    monkeypatch.setattr(sfn, "send_task_success", unavailable)
    api = load_handler("approval_api")
    body = json.dumps({"decision": "reject", "comment": "no", "decidedBy": "planner-1"}).encode()
    with pytest.raises(ConnectionError):
        api.lambda_handler(api_event("POST", f"/v1/approvals/{approval_id}", "/v1/approvals/{approvalId}",
                                     {"approvalId": approval_id}, body, bound_to_path=True),
                           FakeLambdaContext("approval_api"))
    [record] = [a for a in aws.items("APPROVALS_TABLE_NAME") if a["approvalId"] == approval_id]
    assert record["status"] == "PENDING" and not {"decision", "decidedBy", "claimId"} & set(record)


def test_an_approval_decided_after_a_newer_change_was_applied_is_superseded(
        aws, workflow, erp, monkeypatch):  # noqa: F811  (erp: the fixture imported above)
    """A planner approving an old change after a newer one went to the ERP directly overwrote the newer
    parameters (issue 12, finding 6)."""
    from distsync.trace import status_of
    from tests.integration.test_pipelines import master, requested_at, run

    monkeypatch.setenv("APPROVAL_STATE_MACHINE_ARN", workflow(3600))
    run("masterdata_transformer", bus_event(master()))
    rec = new_envelope(CONTRACTS[("ReplenishmentRecommended", "1")], ReplenishmentRecommended(
        item_id="SKU-1", location_id="DC-1", recommended_safety_stock=300, recommended_reorder_point=200,
        planning_cycle_id="c-old"), correlation_id="corr-old", source="planning",
        occurred_at=datetime(2026, 11, 20, 6, tzinfo=UTC))
    assert run("planning_transformer", bus_event(rec)) == {"batchItemFailures": []}  # 200 %: approval
    [pending] = wait_for(lambda: [a for a in aws.items("APPROVALS_TABLE_NAME") if a["status"] == "PENDING"])

    newer = requested_at(aws, 110, 210, datetime(2026, 11, 27, 6, tzinfo=UTC), "corr-new", "c-new")  # 10 %
    assert run("erp_updater", newer) == {"batchItemFailures": []}
    assert len(aws.probe(wait=0.5, expect=1)) == 1  # its ReplenishmentParametersUpdated

    approval_id = pending["approvalId"]
    body = json.dumps({"decision": "approve", "comment": "", "decidedBy": "planner-1"}).encode()
    api = load_handler("approval_api")
    response = api.lambda_handler(api_event("POST", f"/v1/approvals/{approval_id}", "/v1/approvals/{approvalId}",
                                            {"approvalId": approval_id}, body, bound_to_path=True),
                                  FakeLambdaContext("approval_api"))
    assert response["statusCode"] == 200, response["body"]
    [approved] = wait_for(lambda: aws.probe())
    assert approved["detail"]["data"]["approvalId"] == approval_id
    assert run("erp_updater", approved) == {"batchItemFailures": []}

    assert [a["safetyStock"] for a in erp.snapshot()] == [110]
    assert aws.probe(wait=0.3) == []
    hops = sorted((h for h in aws.items("TRACE_TABLE_NAME") if h["correlationId"] == "corr-old"),
                  key=lambda h: h["at"])
    assert [(h["stage"], h["outcome"]) for h in hops] == [
        ("planning", "ok"), ("approval", "pending_approval"), ("approval", "approved"), ("erp", "superseded")]
    assert "(cycle c-new, applied directly" in hops[-1]["detail"] and status_of(hops) == "superseded"
    [md] = aws.items("MASTERDATA_TABLE_NAME")
    assert float(md["safetyStock"]) == 110
