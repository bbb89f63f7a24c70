"""The alarm notifier on moto: an alarm state change delivered by the alarm topic (SNS -> Lambda event)
reaches the operations topic as a message naming the command to act on; a message that is not an alarm's
JSON is left out (and logged)."""

from __future__ import annotations

import json
import os

import boto3

from tests.conftest import FakeLambdaContext, load_handler


def sns_event(*messages: str) -> dict:
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": "arn:x",
                         "Sns": {"Type": "Notification", "MessageId": f"m-{i}", "TopicArn": "arn:alarms",
                                 "Subject": "ALARM", "Message": m, "Timestamp": "2026-12-07T10:00:00.000Z",
                                 "SignatureVersion": "1", "Signature": "x", "SigningCertUrl": "x",
                                 "UnsubscribeUrl": "x", "MessageAttributes": {}}}
                        for i, m in enumerate(messages)]}


def test_an_alarm_reaches_operations_with_the_command(aws, monkeypatch):
    monkeypatch.setenv("CONSOLE_URL", "https://ops.example.com")
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="ops-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(TopicArn=os.environ["OPERATIONS_TOPIC_ARN"], Protocol="sqs", Endpoint=arn)
    alarm = {"AlarmName": "distsync-dev-PlanningPipeline-dlq-age", "NewStateValue": "ALARM",
             "NewStateReason": "Threshold Crossed", "AlarmDescription": "PlanningPipeline: a message has waited"}

    handler = load_handler("alarm_notifier")
    result = handler.lambda_handler(sns_event(json.dumps(alarm), "hello, not an alarm"),
                                    FakeLambdaContext("alarm_notifier"))

    assert result == {"published": 1}
    [message] = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]]
    assert message["Subject"] == "ALARM: distsync-dev-PlanningPipeline-dlq-age"
    assert "distsync dlq list" in message["Message"] and "https://ops.example.com/console#dlqs" in message["Message"]
