"""Per-connection state in DynamoDB (one item per connection): the change cursor of its delta pull, and its
Business Central webhook subscription (id, expiry, ETag, and whether distsync is subscribing right now, which is
when a validation handshake for it is answered)."""

from __future__ import annotations

import time
from typing import Any

from ..platform.aws import table
from ..platform.dynamo import from_item

HANDSHAKE_WINDOW_SECONDS = 60  # a subscribe or renew call is pending this long at most


class ConnectorState:
    def __init__(self, table_name: str):
        self._table = table(table_name)

    def get(self, connection: str) -> dict[str, Any]:
        item = self._table.get_item(Key={"connection": connection}, ConsistentRead=True).get("Item")
        return from_item(item) if item else {"connection": connection}

    def cursor(self, connection: str) -> str | None:
        return self.get(connection).get("cursor")

    def save_cursor(self, connection: str, cursor: str, previous: str | None) -> bool:
        """Only over the cursor this pull started from: two pulls at once cannot move it backwards."""
        from botocore.exceptions import ClientError

        condition = "attribute_not_exists(#c)" if previous is None else "#c = :previous"
        values: dict[str, Any] = {":cursor": cursor, ":at": _now()}
        if previous is not None:
            values[":previous"] = previous
        try:
            self._table.update_item(Key={"connection": connection}, UpdateExpression="SET #c = :cursor, pulledAt = :at",
                                    ConditionExpression=condition, ExpressionAttributeNames={"#c": "cursor"},
                                    ExpressionAttributeValues=values)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def set_stock_cursor(self, connection: str, cursor: str | None) -> None:
        """Where the next stock pull goes on from in master data (None: from the start)."""
        if cursor is None:
            self._table.update_item(Key={"connection": connection}, UpdateExpression="REMOVE stockCursor")
        else:
            self._table.update_item(Key={"connection": connection}, UpdateExpression="SET stockCursor = :c",
                                    ExpressionAttributeValues={":c": cursor})

    def mark_pending(self, connection: str) -> None:
        self._table.update_item(Key={"connection": connection}, UpdateExpression="SET pendingUntil = :until",
                                ExpressionAttributeValues={":until": int(time.time()) + HANDSHAKE_WINDOW_SECONDS})

    def pending(self, connection: str) -> bool:
        return int(self.get(connection).get("pendingUntil", 0)) >= int(time.time())

    def save_subscription(self, connection: str, subscription: dict[str, Any]) -> None:
        self._table.update_item(Key={"connection": connection},
                                UpdateExpression="SET subscription = :s REMOVE pendingUntil",
                                ExpressionAttributeValues={":s": subscription})

    def clear_pending(self, connection: str) -> None:
        self._table.update_item(Key={"connection": connection}, UpdateExpression="REMOVE pendingUntil")


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()
