"""The orders projection: the last applied update of every order (for the sequence check)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..contracts import Metadata, OrderStatusChanged
from ..platform import unit_of_work
from ..platform.aws import table
from ..platform.dynamo import conditional, from_item, to_item
from ..platform.times import now_iso
from .policy import AppliedOrder


class OrderStore:
    """pk ``orderId``: the last applied update of each order. Within a batch, the orders of all its records
    are read at once (``prefetch``) and each apply is remembered, so a batch's later update of the same order
    sees it (:mod:`distsync_core.platform.unit_of_work`)."""

    def __init__(self, table_name: str):
        self.table_name = table_name
        self._table = table(table_name)

    def prefetch(self, order_ids: Iterable[str]) -> None:
        unit_of_work.prefetch(self.table_name, "orderId", order_ids)

    def applied(self, order_id: str) -> AppliedOrder | None:
        item = unit_of_work.read(self.table_name, order_id, lambda: self.get(order_id))
        if item is None:
            return None
        return AppliedOrder(sequence=int(item["sequence"]), event_id=item["lastEventId"])

    def get(self, order_id: str) -> dict[str, Any] | None:
        raw = self._table.get_item(Key={"orderId": order_id}, ConsistentRead=True).get("Item")
        return from_item(raw) if raw else None

    def apply(self, order: OrderStatusChanged, meta: Metadata) -> bool:
        """Record the update unless a later sequence was applied meanwhile."""
        item = order.model_dump(by_alias=True, mode="json", exclude_none=True)
        item.update(lastEventId=meta.event_id, correlationId=meta.correlation_id, updatedAt=now_iso())
        applied = conditional(
            self._table.put_item,
            Item=to_item(item),
            ConditionExpression="attribute_not_exists(orderId) OR #seq < :seq OR lastEventId = :eid",
            ExpressionAttributeNames={"#seq": "sequence"},
            ExpressionAttributeValues=to_item({":seq": order.sequence, ":eid": meta.event_id}),
        )
        unit_of_work.wrote(self.table_name, order.order_id, item if applied else None)
        return applied
