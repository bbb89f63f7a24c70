"""Routing order updates into the orders FIFO queue: one message group per order (orders proceed in
parallel, each one strictly in order), the event id as deduplication id (a redelivered event enters once).

A batch's updates go out in SendMessageBatch calls of up to 10, in batch order, with at most one update per
order in a call: an order's n-th update of the batch goes in round n. When SQS refuses an entry, that update
and the order's later updates of the batch are retried (SQS redelivers them in order) while every other order
goes on. :func:`send_rounds` is the pure part; :class:`OrdersQueue` the SQS side.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..platform.aws import client

SEND_MESSAGE_BATCH_MAX = 10
T = TypeVar("T")


def send_rounds(updates: Sequence[T], order_of: Callable[[T], str], size: int = SEND_MESSAGE_BATCH_MAX) -> list[list[T]]:
    """The calls, in order: round n holds each order's n-th update (in batch order), cut into calls of
    ``size``; no call holds two updates of one order, and no update overtakes an earlier one of its order."""
    rounds: list[list[T]] = []
    seen: dict[str, int] = {}
    for update in updates:
        n = seen[order_of(update)] = seen.get(order_of(update), -1) + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(update)
    return [r[i : i + size] for r in rounds for i in range(0, len(r), size)]


class OrdersQueue:
    def __init__(self, url: str) -> None:
        self.url = url

    def send(self, messages: Sequence[tuple[str, str, str]]) -> dict[int, str]:
        """(body, group id, deduplication id) in one SendMessageBatch; returns the refused ones by position,
        with SQS's reason (all of them when the call itself failed)."""
        entries = [
            {"Id": str(i), "MessageBody": body, "MessageGroupId": group, "MessageDeduplicationId": dedup}
            for i, (body, group, dedup) in enumerate(messages)
        ]
        try:
            result: dict[str, Any] = client("sqs").send_message_batch(QueueUrl=self.url, Entries=entries)
        except Exception as exc:  # the whole call failed: every entry is retried
            return {i: f"{exc.__class__.__name__}: {exc}" for i in range(len(entries))}
        return {int(f["Id"]): f.get("Message", f.get("Code", "refused")) for f in result.get("Failed", [])}
