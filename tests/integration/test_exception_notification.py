"""An opened shipment exception case tells operations (their topic, read through an SQS subscription as SNS
delivers) with the command to resolve it; a redelivered open of a case already resolved does not."""

from __future__ import annotations

import json
import os

import boto3

from tests.conftest import FakeLambdaContext, load_handler
from tests.integration.test_shipments import milestone, shipments  # noqa: F401  (the fixture)


def operations_inbox() -> tuple[str, object]:
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="operations-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(TopicArn=os.environ["OPERATIONS_TOPIC_ARN"], Protocol="sqs", Endpoint=arn)

    def read() -> list[dict]:
        return [json.loads(m["Body"]) for m in
                sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])]

    return queue, read


def test_an_opened_case_tells_operations_once(aws, shipments):  # noqa: F811
    _, inbox = operations_inbox()
    event = milestone("SHP-5", ["SO-5"], kind="exception", exception="damaged", cid="corr-n")
    task = load_handler("shipment_exception_task")
    opening = {"action": "open", "case": {"caseId": "exc-n", "milestone": event["detail"]},
               "taskToken": "token-1", "executionArn": "arn:x"}
    task.lambda_handler(opening, FakeLambdaContext("shipment_exception_task"))

    [message] = inbox()
    assert message["Subject"] == "Shipment exception: shipment SHP-5 (orders SO-5)"
    assert message["MessageAttributes"]["reference"]["Value"] == "exc-n"
    assert "case exc-n is open: shipment SHP-5 (orders SO-5), damaged" in message["Message"]
    assert "distsync exceptions resolve exc-n" in message["Message"]
    assert "https://ops.example.com/console#transactions" in message["Message"]

    closing = {"action": "close", "case": {"caseId": "exc-n", "milestone": event["detail"],
                                           "resolution": {"decision": "reshipped"}}}
    task.lambda_handler(closing, FakeLambdaContext("shipment_exception_task"))
    task.lambda_handler(opening, FakeLambdaContext("shipment_exception_task"))  # redelivered after it closed
    assert inbox() == []
