"""The runtime's own access to moto's SQS queues, in process.

The pollers and the idle check run in the process that hosts moto, so they call its SQS backend directly
instead of over HTTP: the same receive (moto's own: visibility timeout, receive count, FIFO group locks,
redrive to the DLQ at maxReceiveCount), without a botocore round trip per poll, and an idle poller sleeps
until a message arrives (moto's queue condition, what its long poll waits on) instead of polling on a timer.
Profiled idle, the HTTP polls alone kept the runtime at 60 % of a core (docs/performance.md, section 7). The Lambda workers, the CLI and the tests still call moto over HTTP, like any AWS client.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from .moto_backend import ACCOUNT_ID, REGION

MAX_WAIT = 1.0  # seconds an idle poller sleeps at most: a delayed message (DelaySeconds) wakes nobody when due


def _backend() -> Any:
    from moto.sqs.models import sqs_backends

    return sqs_backends[ACCOUNT_ID][REGION]


def api_message(message: Any) -> dict[str, Any]:
    """A moto message as ReceiveMessage returns it with AttributeNames and MessageAttributeNames ``All``
    (the fields moto's own response handler writes)."""
    attributes = {
        "SenderId": message.sender_id,
        "SentTimestamp": str(message.sent_timestamp),
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    for name, value in (("MessageDeduplicationId", message.deduplication_id), ("MessageGroupId", message.group_id),
                        ("SequenceNumber", message.sequence_number)):
        if value is not None:
            attributes[name] = value
    trace = (message.system_attributes or {}).get("AWSTraceHeader")
    if trace:
        attributes["AWSTraceHeader"] = trace.get("StringValue")
    out = {"MessageId": message.id, "ReceiptHandle": message.receipt_handle, "MD5OfBody": message.body_md5,
           "Body": message.body, "Attributes": attributes}
    if message.message_attributes:
        out["MessageAttributes"] = message.message_attributes
        out["MD5OfMessageAttributes"] = message.attribute_md5
    return out


class LocalQueue:
    """One queue of the deployed stack, by URL."""

    def __init__(self, url: str):
        self.url = url
        self.name = url.rsplit("/", 1)[-1]
        self._receive_lock = threading.Lock()  # moto's receive marks messages outside any lock of its own
        self._due: list[float] = []  # when messages this runtime made invisible turn visible again

    @property
    def _queue(self) -> Any:
        return _backend().get_queue(self.name)

    @property
    def arn(self) -> str:
        return str(self._queue.queue_arn)

    def receive(self, count: int) -> list[dict[str, Any]]:
        queue = self._queue
        with self._receive_lock:
            found = _backend().receive_message(self.name, count, 0, queue.visibility_timeout, ["All"])
        return [api_message(m) for m in found]

    def delete(self, receipt_handles: list[str]) -> None:
        _backend().delete_message_batch(self.name, [{"Id": str(i), "ReceiptHandle": h}
                                                    for i, h in enumerate(receipt_handles)])

    def retry_after(self, receipt_handle: str, seconds: int) -> None:
        """Make a received message visible again in ``seconds`` (ChangeMessageVisibility)."""
        _backend().change_message_visibility(self.name, receipt_handle, seconds)
        if seconds:
            with self._receive_lock:
                self._due.append(time.time() + seconds)

    def wait(self, stop: threading.Event) -> None:
        """Sleep until a message may be receivable: one arrives, one this runtime retried turns visible, or
        ``MAX_WAIT`` passed."""
        now = time.time()
        with self._receive_lock:
            self._due = [d for d in self._due if d > now]
            timeout = min([MAX_WAIT, *(d - now for d in self._due)]) + 0.005
        queue = self._queue
        if queue.messages:  # visible yet not received: a FIFO group still in flight holds them back
            stop.wait(min(timeout, 0.05))
        elif not stop.is_set():
            queue.wait_for_messages(timeout)

    def depth(self, delayed: bool = True) -> int:
        """Visible + in flight (+ delayed): what ApproximateNumberOfMessages* add up to."""
        queue = self._queue
        count = queue.approximate_number_of_messages + queue.approximate_number_of_messages_not_visible
        return count + (queue.approximate_number_of_messages_delayed if delayed else 0)
