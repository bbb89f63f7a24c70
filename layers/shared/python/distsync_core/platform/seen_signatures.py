"""Replay protection of signed requests: each valid signature is accepted once."""

from __future__ import annotations

import hashlib

from .aws import table
from .dynamo import conditional


class SeenSignatures:
    """Each valid signature is accepted once: a replayed request (same timestamp and signature, within the
    window) is refused. Kept in the idempotency table under ``sig#`` keys that expire after the window."""

    def __init__(self, table_name: str):
        self._table = table(table_name)

    def first_use(self, signature: str, timestamp: int, window_seconds: int) -> bool:
        key = "sig#" + hashlib.sha256(signature.encode()).hexdigest()
        return conditional(
            self._table.put_item,
            Item={"id": key, "expiration": timestamp + 2 * window_seconds, "status": "SIGNATURE_SEEN"},
            ConditionExpression="attribute_not_exists(id)",
        )
