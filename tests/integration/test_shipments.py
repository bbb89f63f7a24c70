"""The shipments pipeline and the shipment-exception workflow against moto: the transformer with the ERP and
channels simulators over HTTP; the ASL file on moto's interpreter with its Lambda task routed to the real
handler in-process; the signed resolution API."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from moto.awslambda.models import LambdaBackend

from distsync.local.lambdas import InvokeError
from distsync.local.moto_backend import route_lambda_invokes
from distsync.sim.erp import ErpSimulator
from distsync.sim.partner import ChannelsSimulator
from distsync_core import partners
from distsync_core.contracts import (
    CONTRACTS,
    ShipmentExceptionDetail,
    ShipmentMilestone,
    derive_id,
    new_envelope,
)
from tests.conftest import ROOT, FakeLambdaContext, load_handler
from tests.integration.conftest import api_event, bus_event, sqs_event

FN = "arn:aws:lambda:us-east-1:123456789012:function:"


class Shipments:
    def __init__(self, erp: ErpSimulator, channels: ChannelsSimulator):
        self.erp, self.channels = erp, channels
        self.sfn = boto3.client("stepfunctions")
        self.arn = ""

    def workflow(self, timeout_seconds: int = 3600) -> str:
        """The exception state machine from its ASL file; its ARN is what the transformer starts."""
        asl = (ROOT / "state_machines" / "shipment_exception.asl.json").read_text()
        asl = (asl.replace("${ExceptionTaskFunctionArn}", FN + "shipment_exception_task")
                  .replace('"${ExceptionTimeoutSeconds}"', str(timeout_seconds)))
        self.arn = self.sfn.create_state_machine(
            name=f"shipment-exception-{timeout_seconds}", definition=asl,
            roleArn="arn:aws:iam::123456789012:role/sfn")["stateMachineArn"]
        return self.arn

    def executions(self) -> list[dict[str, Any]]:
        return self.sfn.list_executions(stateMachineArn=self.arn)["executions"]

    def cases(self) -> list[dict[str, Any]]:
        return boto3.resource("dynamodb").Table("exception-cases").scan()["Items"]

    def delivery_statuses(self) -> list[dict[str, Any]]:
        return self.erp.recorded("delivery-status")


@pytest.fixture
def shipments(aws, monkeypatch):
    boto3.client("dynamodb").create_table(
        TableName="exception-cases", KeySchema=[{"AttributeName": "caseId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "caseId", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    erp, channels = ErpSimulator().start(), ChannelsSimulator().start()
    monkeypatch.setenv("EXCEPTIONS_TABLE_NAME", "exception-cases")
    monkeypatch.setenv("ERP_BASE_URL", erp.base_url)
    monkeypatch.setenv("ERP_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("ERP_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("CHANNELS_BASE_URL", channels.base_url)
    monkeypatch.setattr(partners, "_clients", {})  # partner clients are cached per process: use these simulators
    task = load_handler("shipment_exception_task")

    def invoke(function_name: str, event: dict[str, Any]) -> Any:
        try:
            return task.lambda_handler(event, FakeLambdaContext(function_name.split(":")[-1]))
        except Exception as exc:  # a function error, as the Lambda service reports it to Step Functions
            raise InvokeError(function_name, {"errorType": type(exc).__name__, "errorMessage": str(exc)}) from exc

    previous = route_lambda_invokes(invoke)
    state = Shipments(erp, channels)
    monkeypatch.setenv("EXCEPTION_STATE_MACHINE_ARN", state.workflow())
    yield state
    LambdaBackend.invoke = previous
    erp.stop()
    channels.stop()


def milestone(shipment_id: str, order_ids: list[str], kind: str = "shipped", cid: str = "corr-s",
              exception: str | None = None) -> dict[str, Any]:
    detail = ShipmentExceptionDetail(kind=exception, description="parcel damaged at the hub") if exception else None
    data = ShipmentMilestone(shipment_id=shipment_id, order_ids=order_ids, milestone=kind, carrier="DHL",
                             tracking_number="TRK-1", milestone_at=datetime(2026, 11, 27, 8, tzinfo=UTC),
                             exception=detail)
    return bus_event(new_envelope(CONTRACTS[("ShipmentMilestone", "1")], data, source="tms", correlation_id=cid))


def run(event: dict[str, Any], receive_count: int = 1) -> dict[str, Any]:
    return load_handler("shipment_transformer").lambda_handler(sqs_event(event, receive_count=receive_count),
                                                               FakeLambdaContext("shipment_transformer"))


def hops(aws, cid: str) -> list[tuple[str, str]]:
    return [(h["stage"], h["outcome"]) for h in sorted(aws.items("TRACE_TABLE_NAME"), key=lambda h: h["at"])
            if h["correlationId"] == cid]


def wait_for(predicate, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def finished(sfn, execution_arn: str) -> str | None:
    status = sfn.describe_execution(executionArn=execution_arn)["status"]
    return None if status == "RUNNING" else status


def resolve(case_id: str, body: Any, *, sign: bool = True, raw: bytes | None = None) -> tuple[int, dict[str, Any]]:
    payload = raw if raw is not None else json.dumps(body).encode()
    response = load_handler("exception_api").lambda_handler(
        api_event("POST", f"/v1/shipment-exceptions/{case_id}/resolution",
                  "/v1/shipment-exceptions/{caseId}/resolution", {"caseId": case_id}, payload, sign=sign,
                  bound_to_path=True),
        FakeLambdaContext("exception_api"))
    return response["statusCode"], json.loads(response["body"])


# --------------------------------------------------------------------------------------------- milestones
def test_every_order_of_the_shipment_gets_its_delivery_status_once(aws, shipments):
    event = milestone("SHP-1", ["SO-1", "SO-2", "SO-3"])
    assert run(event) == {"batchItemFailures": []}
    assert run(event, receive_count=2) == {"batchItemFailures": []}  # SQS redelivery: no second effect

    statuses = shipments.delivery_statuses()
    assert [s["orderId"] for s in statuses] == ["SO-1", "SO-2", "SO-3"]
    event_id = event["detail"]["metadata"]["eventId"]
    assert [s["idempotencyKey"] for s in statuses] == [derive_id(event_id, o) for o in ("SO-1", "SO-2", "SO-3")]
    assert len({s["idempotencyKey"] for s in statuses}) == 3  # one key per order, or the ERP keeps only one
    assert {(s["body"]["shipmentId"], s["body"]["milestone"], s["body"]["trackingNumber"], s["correlationId"])
            for s in statuses} == {("SHP-1", "shipped", "TRK-1", "corr-s")}
    [update] = shipments.channels.snapshot("shipment-update")
    assert (update["body"]["orderIds"], update["idempotencyKey"]) == (["SO-1", "SO-2", "SO-3"], event_id)
    assert hops(aws, "corr-s") == [("shipments", "delivered")]
    assert shipments.executions() == []


def test_a_redelivery_after_a_partial_erp_update_completes_the_remaining_orders_once(aws, shipments):
    """The ERP takes the first order, then is down: the retry sends all again under the same keys, the
    ERP applies the first one once."""
    event = milestone("SHP-2", ["SO-1", "SO-2"])
    shipments.erp.inject_faults(503, 0)
    original = shipments.erp._take_fault
    calls = {"n": 0}

    def second_call_down():  # only SO-2's attempts fail
        calls["n"] += 1
        return {"status": 503, "delaySeconds": 0} if calls["n"] > 1 else original()

    shipments.erp._take_fault = second_call_down
    with pytest.raises(BatchProcessingError):
        run(event)
    assert [s["orderId"] for s in shipments.delivery_statuses()] == ["SO-1"]
    assert hops(aws, "corr-s") == [("shipments", "retrying")]
    shipments.erp._take_fault = original
    assert run(event, receive_count=2) == {"batchItemFailures": []}
    assert [s["orderId"] for s in shipments.delivery_statuses()] == ["SO-1", "SO-2"]
    assert len(shipments.channels.snapshot("shipment-update")) == 1
    assert hops(aws, "corr-s")[-1] == ("shipments", "delivered")


def test_an_erp_rejection_is_quarantined_with_its_answer(aws, shipments):
    shipments.erp.inject_faults(422, 1)
    assert run(milestone("SHP-3", ["SO-1"], cid="corr-r")) == {"batchItemFailures": []}
    [q] = aws.items("QUARANTINE_TABLE_NAME")
    assert q["stage"] == "shipments" and q["correlationId"] == "corr-r"
    assert q["reason"].startswith("ERP rejected the call with HTTP 422")
    assert shipments.channels.snapshot() == [] and shipments.executions() == []
    assert hops(aws, "corr-r") == [("shipments", "quarantined")]


# --------------------------------------------------------------------------------------------- exceptions
def forget_idempotency(aws) -> None:
    table = boto3.resource("dynamodb").Table("idempotency")
    for item in aws.items("IDEMPOTENCY_TABLE_NAME"):
        table.delete_item(Key={"id": item["id"]})


def open_case(aws, shipments, cid: str = "corr-x") -> tuple[dict[str, Any], str, str]:
    """An exception milestone through the transformer: (event, case id, execution ARN) once the case waits."""
    event = milestone("SHP-9", ["SO-7", "SO-8"], kind="exception", exception="damaged", cid=cid)
    assert run(event) == {"batchItemFailures": []}
    [execution] = shipments.executions()
    case = wait_for(lambda: [c for c in shipments.cases() if c["caseId"] == execution["name"]])[0]
    return event, case["caseId"], execution["executionArn"]


def test_an_exception_opens_one_case_even_when_redelivered(aws, shipments):
    event, case_id, execution_arn = open_case(aws, shipments)
    assert case_id.startswith("exc-") and "--" not in case_id and not case_id.endswith("-")
    run(event, receive_count=2)  # redelivered: idempotency skips it
    forget_idempotency(aws)  # the invocation died after starting the workflow, before its record was saved
    assert run(event, receive_count=3) == {"batchItemFailures": []}  # same name and input: the same execution
    assert [e["name"] for e in shipments.executions()] == [case_id]

    [case] = shipments.cases()
    assert (case["status"], case["shipmentId"], case["orderIds"], case["kind"], case["correlationId"]) == (
        "PENDING", "SHP-9", ["SO-7", "SO-8"], "damaged", "corr-x")
    assert case["taskToken"] and case["executionArn"] == execution_arn
    assert [s["orderId"] for s in shipments.delivery_statuses()] == ["SO-7", "SO-8"]
    assert {s["body"]["exception"]["kind"] for s in shipments.delivery_statuses()} == {"damaged"}
    [notice] = wait_for(lambda: shipments.channels.snapshot("exception-notice"))
    assert (notice["body"]["caseId"], notice["body"]["status"]) == (case_id, "OPEN")
    assert finished(shipments.sfn, execution_arn) is None  # waiting for a resolution
    assert ("shipment-exception", "pending_approval") in hops(aws, "corr-x")


def test_a_resolution_closes_the_case_and_a_second_one_gets_409(aws, shipments):
    event, case_id, execution_arn = open_case(aws, shipments)
    status, body = resolve(case_id, {"resolution": "reshipped", "comment": "sent again", "resolvedBy": "ops-1"})
    assert (status, body) == (200, {"caseId": case_id, "resolution": "reshipped", "status": "RESOLVING"})
    assert wait_for(lambda: finished(shipments.sfn, execution_arn)) == "SUCCEEDED"

    [case] = shipments.cases()
    assert (case["status"], case["decision"], case["decidedBy"]) == ("RESOLVED", "reshipped", "ops-1")
    assert "taskToken" not in case
    notices = [(n["body"]["status"], n["body"].get("resolution")) for n in shipments.channels.snapshot("exception-notice")]
    assert notices == [("OPEN", None), ("RESOLVED", "reshipped")]
    trace = hops(aws, "corr-x")
    assert trace[-2:] == [("shipment-exception", "pending_approval"), ("shipment-exception", "delivered")]

    status, body = resolve(case_id, {"resolution": "refunded"})
    assert status == 409 and body["caseStatus"] == "RESOLVED" and "already resolved" in body["detail"]
    assert shipments.cases()[0]["decision"] == "reshipped"  # the first resolution won

    # The milestone redelivered once its case is closed (Step Functions refuses the name now): no new case.
    forget_idempotency(aws)
    assert run(event, receive_count=2) == {"batchItemFailures": []}
    assert [e["status"] for e in shipments.executions()] == ["SUCCEEDED"]
    assert shipments.cases()[0]["status"] == "RESOLVED"
    assert len(shipments.channels.snapshot("exception-notice")) == 2


def test_no_resolution_within_the_window_escalates_the_case(aws, shipments, monkeypatch):
    monkeypatch.setenv("EXCEPTION_STATE_MACHINE_ARN", shipments.workflow(timeout_seconds=1))
    _, case_id, execution_arn = open_case(aws, shipments, cid="corr-e")
    assert wait_for(lambda: finished(shipments.sfn, execution_arn), timeout=30) == "SUCCEEDED"
    [case] = shipments.cases()
    assert case["status"] == "ESCALATED" and "exception window" in case["outcomeComment"]
    assert hops(aws, "corr-e")[-1] == ("shipment-exception", "escalated")
    assert [n["body"]["status"] for n in shipments.channels.snapshot("exception-notice")] == ["OPEN", "ESCALATED"]
    status, body = resolve(case_id, {"resolution": "reshipped"})
    assert status == 409 and body["caseStatus"] == "ESCALATED"


def fail_first(channels: ChannelsSimulator, kind: str, calls: int) -> None:
    """The channels answer 503 to the first ``calls`` calls of ``kind`` (one task attempt makes 3)."""
    seen = {"n": 0}

    def accept(call_kind, _params, _body):
        if call_kind == kind and seen["n"] < calls:
            seen["n"] += 1
            return 503, {"error": "channels briefly down"}
        return None

    channels.accept = accept


def test_a_brief_channels_outage_while_opening_or_closing_a_case_is_retried(aws, shipments):
    """The task fails when the channels stay down through its HTTP retries; the workflow retries the task
    instead of failing, which would leave the case with a dead task token and the transaction in flight."""
    fail_first(shipments.channels, "exception-notice", 3)
    _, case_id, execution_arn = open_case(aws, shipments)
    wait_for(lambda: shipments.channels.snapshot("exception-notice"), timeout=30)
    assert finished(shipments.sfn, execution_arn) is None
    wait_for(lambda: ("shipment-exception", "pending_approval") in hops(aws, "corr-x"))

    fail_first(shipments.channels, "exception-notice", 3)
    assert resolve(case_id, {"resolution": "delivered_late"})[0] == 200  # the token of the retried attempt
    assert wait_for(lambda: finished(shipments.sfn, execution_arn), timeout=30) == "SUCCEEDED"
    assert [n["body"]["status"] for n in shipments.channels.snapshot("exception-notice")] == ["OPEN", "RESOLVED"]
    assert shipments.cases()[0]["status"] == "RESOLVED"
    assert hops(aws, "corr-x")[-1] == ("shipment-exception", "delivered")


def test_an_open_attempt_that_fails_leaves_no_task_token_to_resolve_with(aws, shipments):
    """The workflow retries a failed open with a new task token: the failed attempt's token must not be
    stored, or a resolution arriving between the attempts would be sent to a dead token."""
    event = milestone("SHP-9", ["SO-7"], kind="exception", exception="lost", cid="corr-t")
    task = load_handler("shipment_exception_task")
    opening = {"action": "open", "case": {"caseId": "exc-test", "milestone": event["detail"]},
               "taskToken": "token-attempt-1", "executionArn": "arn:x"}
    fail_first(shipments.channels, "exception-notice", 3)
    with pytest.raises(partners.channels.ChannelsUnavailable):
        task.lambda_handler(opening, FakeLambdaContext("shipment_exception_task"))
    assert shipments.cases() == []
    assert resolve("exc-test", {"resolution": "reshipped"})[0] == 404
    task.lambda_handler({**opening, "taskToken": "token-attempt-2"}, FakeLambdaContext("shipment_exception_task"))
    [case] = shipments.cases()
    assert (case["status"], case["taskToken"]) == ("PENDING", "token-attempt-2")


def test_the_resolution_api_refuses_unknown_unsigned_and_invalid_requests(aws, shipments):
    _, case_id, execution_arn = open_case(aws, shipments)
    assert resolve("exc-unknown", {"resolution": "reshipped"})[0] == 404
    status, body = resolve(case_id, {"resolution": "reshipped"}, sign=False)
    assert status == 401
    status, body = resolve(case_id, {"resolution": "teleported"})
    assert status == 400 and [e["field"] for e in body["errors"]] == ["resolution"]
    assert resolve(case_id, {"resolution": "reshipped", "extra": 1})[0] == 400
    assert resolve(case_id, None, raw=b"{not json")[0] == 400
    # None of these touched the case: it still waits, and a valid resolution still wins.
    [case] = shipments.cases()
    assert case["status"] == "PENDING" and finished(shipments.sfn, execution_arn) is None
    assert resolve(case_id, {"resolution": "written_off"})[0] == 200
    assert wait_for(lambda: finished(shipments.sfn, execution_arn)) == "SUCCEEDED"
