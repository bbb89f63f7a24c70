"""The inventory projection: the newest balance of every item-location, which available to promise is
computed from, and the newest balance of every item-location per source (ERP, WMS), which the inventory
visibility accuracy compares (:mod:`.accuracy`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..contracts import InventoryBalanceChangedV2, Metadata
from ..platform.aws import client, table
from ..platform.dynamo import conditional, from_item, from_wire, to_item
from ..platform.times import now_iso, utc_iso

SOURCE_ENTITY = "SourceBalance"
_NEWER = "attribute_not_exists(pk) OR asOf < :asOf OR sourceEventId = :eid"


class InventoryStore:
    """pk ``<itemId>#<locationId>``: the newest balance (by as-of time) and its lots, whichever source sent it;
    pk ``SOURCE#<source>#<itemId>#<locationId>`` (``entity`` ``SourceBalance``): the newest on-hand each source
    reported. Identifiers hold no ``#``, so the two kinds of key never meet."""

    def __init__(self, table_name: str):
        self._table = table(table_name)

    @staticmethod
    def key(item_id: str, location_id: str) -> dict[str, str]:
        return {"pk": f"{item_id}#{location_id}"}

    @staticmethod
    def source_key(source: str, item_id: str, location_id: str) -> dict[str, str]:
        return {"pk": f"SOURCE#{source}#{item_id}#{location_id}"}

    def apply(self, balance: InventoryBalanceChangedV2, meta: Metadata) -> bool:
        """Store the balance unless one as new or newer is stored; False when it was stale and left out.

        The source's own latest balance is kept first and on its own: a WMS balance older than the ERP's
        stored one is stale for available to promise, yet it is the WMS's newest word for the accuracy KPI.
        A retried delivery rewrites both (the same event id passes either condition)."""
        self._apply_source(balance, meta)
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
            ConditionExpression=_NEWER,
            ExpressionAttributeValues={":asOf": item["asOf"], ":eid": meta.event_id},
        )

    def _apply_source(self, balance: InventoryBalanceChangedV2, meta: Metadata) -> bool:
        as_of = utc_iso(balance.as_of)
        return conditional(
            self._table.put_item,
            Item=to_item({
                **self.source_key(meta.source, balance.item_id, balance.location_id),
                "entity": SOURCE_ENTITY, "source": meta.source, "itemId": balance.item_id,
                "locationId": balance.location_id, "onHand": balance.on_hand, "asOf": as_of,
                "sourceEventId": meta.event_id, "correlationId": meta.correlation_id, "updatedAt": now_iso(),
            }),
            ConditionExpression=_NEWER,
            ExpressionAttributeValues={":asOf": as_of, ":eid": meta.event_id},
        )

    def source_balances(self) -> Iterator[dict[str, Any]]:
        """Every source's latest balance (``itemId``, ``locationId``, ``source``, ``onHand``, ``asOf``), page by
        page: a scan, as the daily accuracy run reads the whole projection."""
        pages = client("dynamodb").get_paginator("scan").paginate(
            TableName=self._table.name,
            FilterExpression="entity = :e",
            ProjectionExpression="itemId, locationId, #s, onHand, asOf",
            ExpressionAttributeNames={"#s": "source"},
            ExpressionAttributeValues={":e": {"S": SOURCE_ENTITY}},
        )
        for page in pages:
            yield from (from_wire(raw) for raw in page.get("Items", []))

    def get(self, item_id: str, location_id: str) -> dict[str, Any] | None:
        raw = self._table.get_item(Key=self.key(item_id, location_id), ConsistentRead=True).get("Item")
        return from_item(raw) if raw else None
