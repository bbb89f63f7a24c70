"""Notification recorder: what the stack's notification topics (planners, operations) published, as an email
or Slack subscriber would have received it.

Locally moto's SNS delivers to an SQS queue subscribed to each topic (what SNS does on AWS for an ``sqs``
subscription); the recorder drains that queue and keeps the messages in arrival order.

- ``GET /_sim/notifications``: every message, oldest first (audience, kind, reference, subject, message)
"""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime
from typing import Any

from .http import JsonRequest, JsonServer

QUEUE_NAME = "distsync-local-notifications"


class NotificationRecorder(JsonServer):
    def __init__(self, sqs: Any, topics: dict[str, str], port: int = 0):
        """``sqs``: a boto3 SQS client of the local moto; ``topics``: audience -> topic ARN."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.records: list[dict[str, Any]] = []
        self.sqs, self.topics = sqs, topics
        self.audiences = {arn: audience for audience, arn in topics.items()}
        super().__init__([("GET", re.compile(r"/_sim/notifications"), self._list)], port=port)

    def subscribe(self, sns: Any) -> NotificationRecorder:
        """One queue subscribed to every topic (moto delivers the SNS JSON envelope to it)."""
        self.queue_url = self.sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for topic in self.topics.values():
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        return self

    def start(self) -> NotificationRecorder:
        super().start()
        self._drainer = threading.Thread(target=self._drain, name="NotificationRecorder", daemon=True)
        self._drainer.start()
        return self

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                                    WaitTimeSeconds=1).get("Messages", [])
            except Exception:  # noqa: BLE001  (moto stopping under us at shutdown)
                if self._stop.wait(0.2):
                    return
                continue
            for message in messages:
                self._record(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _record(self, envelope: dict[str, Any]) -> None:
        attributes = {k: v.get("Value") for k, v in (envelope.get("MessageAttributes") or {}).items()}
        record = {
            "audience": self.audiences.get(envelope.get("TopicArn", ""), "unknown"),
            "kind": attributes.get("kind"),
            "reference": attributes.get("reference"),
            "subject": envelope.get("Subject"),
            "message": envelope.get("Message"),
            "messageId": envelope.get("MessageId"),
            "topicArn": envelope.get("TopicArn"),
            "receivedAt": datetime.now(UTC).isoformat(),
        }
        with self._lock:
            self.records.append(record)

    def snapshot(self, **filters: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.records if all(r.get(k) == v for k, v in filters.items() if v)]

    def _list(self, _request: JsonRequest) -> tuple[int, Any, dict[str, str]]:
        return 200, {"notifications": self.snapshot()}, {}

    def stop(self) -> None:
        self._stop.set()
        super().stop()
