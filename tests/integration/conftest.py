"""Handlers against moto: small builders for the resources each test needs (as moto's own tests do)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
import pytest
from moto import mock_aws

from distsync_core.platform import aws as aws_clients
from distsync_core.platform.aws import reset_clients
from distsync_core.platform.signing import request_target, signed_headers
from tests.conftest import fresh_timestamp

SECRET = "integration-secret"
SIGNING_NAMES = ("erp", "planning", "wms", "tms", "supplier", "channels", "planners", "operations")
TABLES = {
    "MASTERDATA_TABLE_NAME": ("masterdata", [("pk", "HASH")]),
    "QUARANTINE_TABLE_NAME": ("quarantine", [("quarantineId", "HASH")]),
    "APPROVALS_TABLE_NAME": ("approvals", [("approvalId", "HASH")]),
    "TRACE_TABLE_NAME": ("trace", [("correlationId", "HASH"), ("sk", "RANGE")]),
    "IDEMPOTENCY_TABLE_NAME": ("idempotency", [("id", "HASH")]),
    "SUPPLIER_PERFORMANCE_TABLE_NAME": ("supplier-performance", [("pk", "HASH"), ("sk", "RANGE")]),
    "INVENTORY_TABLE_NAME": ("inventory-projection", [("pk", "HASH")]),  # tests of its own make "inventory"
}


@dataclass
class Aws:
    probe_url: str

    def probe(self, wait: float = 0.0, expect: int | None = None) -> list[dict[str, Any]]:
        """Every event that reached the bus (a catch-all rule -> queue), drained; with ``wait``, also what
        arrives within that many seconds (a state machine's tasks run on moto's own thread), or until
        ``expect`` events have arrived (then whatever else is already there is drained too, so a duplicate
        delivered with them still shows). moto's EventBridge delivers to the queue inside PutEvents: what a
        handler published before it returned is there without waiting."""
        sqs = aws_clients.client("sqs")
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait
        while True:
            msgs = sqs.receive_message(QueueUrl=self.probe_url, MaxNumberOfMessages=10).get("Messages", [])
            for m in msgs:
                out.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=self.probe_url, ReceiptHandle=m["ReceiptHandle"])
            if not msgs:
                if time.monotonic() >= deadline or (expect is not None and len(out) >= expect):
                    return out
                time.sleep(0.05)  # an empty receive costs moto a scan: no busy loop while waiting

    def items(self, env_name: str) -> list[dict[str, Any]]:
        return aws_clients.table(TABLES[env_name][0]).scan()["Items"]


@cache
def _shared_session() -> boto3.Session:
    """One boto3 session per test process: mock_aws starts each test with a fresh default session, whose
    clients load every service model from disk again (23 ms a client, a quarter of this tier's time). The
    credentials and region are the same in every test, and moto intercepts any session's clients. Made
    once, so the clients cached before it (of another session, outside moto) are dropped once, here."""
    reset_clients()
    return boto3.Session()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        # The handlers' cached clients (and the fixture's own) live as long as the shared session: moto
        # intercepts every client of the process, and keeps its state in its backends, which it resets
        # between tests. A client costs ~10 ms to make, 14 of them a test. (mock_aws sets DEFAULT_SESSION
        # to None on entry: it is no sign of other clients; a test that makes a session of its own forgets
        # the cached clients itself, test_forecast_cycles.Counting.)
        boto3.DEFAULT_SESSION = _shared_session()
        ddb = aws_clients.client("dynamodb")
        for env_name, (name, keys) in TABLES.items():
            extra: dict[str, Any] = {}
            attributes = [k for k, _ in keys]
            index = {"TRACE_TABLE_NAME": ("byBusinessKey", "businessKey", "at"),  # as in the stack
                     "QUARANTINE_TABLE_NAME": ("byWaitingFor", "waitingFor", "quarantinedAt")}.get(env_name)
            if index:
                attributes += list(index[1:])
                extra["GlobalSecondaryIndexes"] = [{
                    "IndexName": index[0], "Projection": {"ProjectionType": "ALL"},
                    "KeySchema": [{"AttributeName": index[1], "KeyType": "HASH"},
                                  {"AttributeName": index[2], "KeyType": "RANGE"}]}]
            ddb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys],
                AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in attributes],
                BillingMode="PAY_PER_REQUEST",
                **extra,
            )
            monkeypatch.setenv(env_name, name)
        events, sqs = aws_clients.client("events"), aws_clients.client("sqs")
        events.create_event_bus(Name="distsync-test")
        probe_url = sqs.create_queue(QueueName="probe")["QueueUrl"]
        probe_arn = sqs.get_queue_attributes(QueueUrl=probe_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="probe", EventBusName="distsync-test", EventPattern=json.dumps({"source": [{"prefix": ""}]}))
        events.put_targets(Rule="probe", EventBusName="distsync-test", Targets=[{"Id": "probe", "Arn": probe_arn}])
        sm = aws_clients.client("secretsmanager")  # one signing key secret per source and role, as deployed
        key_arns = {name: sm.create_secret(Name=f"signing-{name}", SecretString=SECRET)["ARN"] for name in SIGNING_NAMES}
        monkeypatch.setenv("EVENT_BUS_NAME", "distsync-test")
        monkeypatch.setenv("SIGNING_KEY_ARNS", json.dumps(key_arns))
        monkeypatch.setenv("APPROVAL_THRESHOLD_PERCENT", "20")
        monkeypatch.setenv("MAX_RECEIVE_COUNT", "3")
        # approval requests notify the planners, opened exception cases operations (test_*_notification*.py)
        for audience in ("planners", "operations"):
            arn = aws_clients.client("sns").create_topic(Name=audience)["TopicArn"]
            monkeypatch.setenv(f"{audience.upper()}_TOPIC_ARN", arn)
        monkeypatch.setenv("CONSOLE_URL", "https://ops.example.com")
        yield Aws(probe_url)


@pytest.fixture
def own_clients(aws: Aws) -> Iterator[None]:
    """For a test that instruments the cached clients (event hooks that count calls): clients of its own,
    forgotten after it, so its hooks never run in another test."""
    reset_clients()
    yield
    reset_clients()


def api_event(method: str, path: str, resource: str, params: dict[str, str], body: bytes | None,
              headers: dict[str, str] | None = None, sign: bool = True,
              bound_to_path: bool = False) -> dict[str, Any]:
    """``bound_to_path``: the signature covers ``"<method> <path>.<body>"`` (the decision APIs)."""
    hdrs = {"Content-Type": "application/json"}
    if sign and body is not None:  # a fresh timestamp per request: distsync refuses a replayed signature
        signed = request_target(method, path, body) if bound_to_path else body
        hdrs.update(signed_headers(SECRET, signed, fresh_timestamp(signed)))
    hdrs.update(headers or {})
    return {
        "resource": resource, "path": path, "httpMethod": method, "headers": hdrs,
        "multiValueHeaders": {k: [v] for k, v in hdrs.items()}, "pathParameters": params or None,
        "queryStringParameters": None, "multiValueQueryStringParameters": None, "stageVariables": None,
        "requestContext": {"resourcePath": resource, "httpMethod": method, "path": path, "stage": "test",
                           "requestId": "r-1", "identity": {"sourceIp": "127.0.0.1"}},
        "body": body.decode() if body is not None else None, "isBase64Encoded": False,
    }


def sqs_event(*bodies: Any, receive_count: int = 1) -> dict[str, Any]:
    return {"Records": [
        {"messageId": f"m-{i}", "receiptHandle": f"rh-{i}", "body": b if isinstance(b, str) else json.dumps(b),
         "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": "0",
                        "SenderId": "x", "ApproximateFirstReceiveTimestamp": "0"},
         "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
         "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"}
        for i, b in enumerate(bodies)
    ]}


def bus_event(envelope: Any) -> dict[str, Any]:
    """An EventBridge event as the rule delivers it to SQS."""
    detail = json.loads(envelope.model_dump_json(by_alias=True))
    return {"version": "0", "id": "e-1", "detail-type": detail["metadata"]["eventType"], "source": "distsync.x",
            "account": "123456789012", "time": "2026-11-27T00:00:00Z", "region": "us-east-1", "resources": [],
            "detail": detail}
