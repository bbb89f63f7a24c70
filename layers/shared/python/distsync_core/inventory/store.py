"""The inventory projection: the newest balance of every item-location, which available to promise is
computed from."""

from __future__ import annotations

from typing import Any

from ..contracts import InventoryBalanceChangedV2, Metadata
from ..platform.aws import table
from ..platform.dynamo import conditional, from_item, to_item
from ..platform.times import now_iso, utc_iso


class InventoryStore:
    """pk ``<itemId>#<locationId>``: the newest balance (by as-of time) and its lots."""

    def __init__(self, table_name: str):
        self._table = table(table_name)

    @staticmethod
    def key(item_id: str, location_id: str) -> dict[str, str]:
        return {"pk": f"{item_id}#{location_id}"}

    def apply(self, balance: InventoryBalanceChangedV2, meta: Metadata) -> bool:
        """Store the balance unless one as new or newer is stored; False when it was stale and left out."""
        item = balance.model_dump(by_alias=True, mode="json", exclude_none=True)
        item.update(
            self.key(balance.item_id, balance.location_id),
            asOf=utc_iso(balance.as_of),
            sourceEventId=meta.event_id,
            correlationId=meta.correlation_id,
            updatedAt=now_iso(),
        )
        return conditional(
            self._table.put_item,
            Item=to_item(item),
            ConditionExpression="attribute_not_exists(pk) OR asOf < :asOf OR sourceEventId = :eid",
            ExpressionAttributeValues={":asOf": item["asOf"], ":eid": meta.event_id},
        )

    def get(self, item_id: str, location_id: str) -> dict[str, Any] | None:
        raw = self._table.get_item(Key=self.key(item_id, location_id), ConsistentRead=True).get("Item")
        return from_item(raw) if raw else None
