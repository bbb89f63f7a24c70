"""SQS event source mappings, as the Lambda service runs them: poll, invoke with a batch, delete what
succeeded, leave failures to become visible again (SQS then redrives them to the DLQ at maxReceiveCount).

A mapping with ``ScalingConfig.MaximumConcurrency`` runs up to that many batches at once (bounded by the
function's local execution environments); one without runs one batch at a time, where the Lambda service would
scale out further (locally: fewer parallel invocations, same results).

Locally a failed message becomes visible again after ``retry_delay`` whole seconds instead of the queue's full
visibility timeout (minutes on AWS), so retries and dead-lettering happen within a test's time; after a
crashed or timed-out invocation it waits one function timeout (see ``_deliver``).

The poller reads moto's queue in process (``queues.LocalQueue``): an idle one sleeps until a message arrives.
"""

from __future__ import annotations

import threading
from typing import Any

from .assembly import EventSourceSpec
from .lambdas import InvokeError, LambdaService
from .moto_backend import REGION
from .queues import LocalQueue


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            k: {
                "stringValue": v.get("StringValue"),
                "binaryValue": v.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": v["DataType"],
            }
            for k, v in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


class SqsPoller(threading.Thread):
    def __init__(self, spec: EventSourceSpec, queue: LocalQueue, function_name: str,
                 lambdas: LambdaService, retry_delay: int, stop: threading.Event, environments: int = 1):
        super().__init__(name=f"poller-{spec.logical_id}", daemon=True)
        self.spec, self.queue, self.queue_arn = spec, queue, queue.arn
        self.function_name, self.lambdas, self.retry_delay, self.stop_event = function_name, lambdas, retry_delay, stop
        self.batches = self.succeeded = self.failed = 0
        self.lanes = max(1, min(spec.maximum_concurrency or 1, environments))  # batches at once
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        return self._in_flight > 0

    def run(self) -> None:
        for lane in range(1, self.lanes):
            threading.Thread(target=self._poll_loop, name=f"{self.name}-{lane}", daemon=True).start()
        self._poll_loop()

    def _poll_loop(self) -> None:
        while not self.stop_event.is_set():
            try:
                worked = self.poll_once()
            except Exception:  # keep polling, as the Lambda service does, whatever one batch did
                self.stop_event.wait(0.1)
                continue
            if not worked:
                self.queue.wait(self.stop_event)

    def poll_once(self) -> bool:
        messages = self.queue.receive(min(self.spec.batch_size, 10))
        if not messages:
            return False
        with self._lock:
            self._in_flight += 1
        try:
            self._deliver(messages)
        finally:
            with self._lock:
                self._in_flight -= 1
        return True

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        delay = self.retry_delay
        event = {"Records": [sqs_record(m, self.queue_arn) for m in messages]}
        try:
            result = self.lambdas.invoke(self.function_name, event) or {}
            failed_ids = (
                {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
                if self.spec.report_batch_item_failures
                else set()
            )
        except InvokeError as exc:
            failed_ids = {m["MessageId"] for m in messages}  # the whole batch returns to the queue
            if exc.error.get("errorType") in ("Sandbox.Timedout", "Runtime.ExitError"):
                # The environment died mid-batch: records it had started stay locked (idempotency "in
                # progress") until its deadline. On AWS the visibility timeout (6x the function timeout)
                # outlasts that lock; here the retry waits at least one function timeout for the same reason.
                delay = max(self.retry_delay, self.lambdas.worker(self.function_name).fn.spec.timeout + 1)
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        if done:
            self.queue.delete([m["ReceiptHandle"] for m in done])
        held: set[str] = set()  # FIFO groups whose first failed message waits out the delay
        for m in messages:
            if m["MessageId"] in failed_ids:
                group = m.get("Attributes", {}).get("MessageGroupId")
                # A group's later messages are visible again at once: its first one, still in flight, keeps
                # them back (SQS's group lock), and moto would otherwise hand them out before it when several
                # of one group come back at slightly different times.
                wait = 0 if group is not None and group in held else delay
                if group is not None:
                    held.add(group)
                self.queue.retry_after(m["ReceiptHandle"], wait)
        with self._lock:
            self.batches += 1
            self.succeeded += len(done)
            self.failed += len(failed_ids)
