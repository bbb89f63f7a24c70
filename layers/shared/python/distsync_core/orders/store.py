"""The orders projection: the last applied update of every order (for the sequence check), and the updates
held until their predecessor arrives."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..contracts import Metadata, OrderStatusChanged
from ..platform import unit_of_work
from ..platform.aws import client, table
from ..platform.dynamo import conditional, from_item, to_item, to_wire
from ..platform.quarantine import quarantine_record
from ..platform.times import now_iso
from .policy import AppliedOrder, HeldUpdate

# An order that is not in the store compares as applied sequence 0 in the condition below.
_NOT_PAST = "attribute_not_exists(orderId) OR #seq < :seq OR lastEventId = :eid"


def _sequence_key(sequence: int) -> str:
    """The holds table's sort key: sequences as fixed-width text sort as numbers (up to 10^15, 16 digits)."""
    return f"{sequence:016d}"


class OrderStore:
    """pk ``orderId``: the last applied update of each order. Within a batch, the orders of all its records
    are read at once (``prefetch``) and each apply is remembered, so a batch's later update of the same order
    sees it (:mod:`distsync_core.platform.unit_of_work`).

    ``holds_table`` (pk ``orderId``, sk ``sequenceKey``): the updates held until their predecessor arrives,
    each with the EventBridge event it came in (what a quarantine keeps, for a release)."""

    def __init__(self, table_name: str, holds_table: str | None = None):
        self.table_name, self.holds_table = table_name, holds_table
        self._table = table(table_name)

    def prefetch(self, order_ids: Iterable[str]) -> None:
        unit_of_work.prefetch(self.table_name, "orderId", order_ids)

    def applied(self, order_id: str) -> AppliedOrder | None:
        item = unit_of_work.read(self.table_name, order_id, lambda: self.get(order_id))
        if item is None:
            return None
        return AppliedOrder(sequence=int(item["sequence"]), event_id=item["lastEventId"],
                            holds_up_to=int(item.get("holdsUpTo", 0)))

    def get(self, order_id: str) -> dict[str, Any] | None:
        raw = self._table.get_item(Key={"orderId": order_id}, ConsistentRead=True).get("Item")
        return from_item(raw) if raw else None

    def apply(self, order: OrderStatusChanged, meta: Metadata, *, from_hold: bool = False) -> bool:
        """Record the update unless a later sequence was applied meanwhile; ``from_hold``: and remove its hold
        in the same transaction, so it is never both applied and left held (nor applied twice)."""
        item = order.model_dump(by_alias=True, mode="json", exclude_none=True)
        item.update(lastEventId=meta.event_id, correlationId=meta.correlation_id, updatedAt=now_iso())
        prior = unit_of_work.read(self.table_name, order.order_id, lambda: self.get(order.order_id))
        if prior and prior.get("holdsUpTo"):  # the put replaces the item: keep the marker of its holds
            item["holdsUpTo"] = prior["holdsUpTo"]
        condition = {
            "ConditionExpression": _NOT_PAST,
            "ExpressionAttributeNames": {"#seq": "sequence"},
        }
        values = {":seq": order.sequence, ":eid": meta.event_id}
        if not from_hold:
            applied = conditional(self._table.put_item, Item=to_item(item),
                                  ExpressionAttributeValues=to_item(values), **condition)
        else:
            dynamodb = client("dynamodb")
            try:
                dynamodb.transact_write_items(TransactItems=[
                    {"Put": {"TableName": self.table_name, "Item": to_wire(item),
                             "ExpressionAttributeValues": to_wire(values), **condition}},
                    {"Delete": {"TableName": self._holds(), "Key": self._hold_key(order.order_id, order.sequence),
                                "ConditionExpression": "eventId = :eid",
                                "ExpressionAttributeValues": to_wire({":eid": meta.event_id})}},
                ])
                applied = True
            except dynamodb.exceptions.TransactionCanceledException:
                applied = False
        unit_of_work.wrote(self.table_name, order.order_id, item if applied else None)
        return applied

    # ------------------------------------------------------------------------------------------ holds
    def held(self, order_id: str) -> list[dict[str, Any]]:
        """The order's held updates, lowest sequence first."""
        from boto3.dynamodb.conditions import Key

        page = table(self._holds()).query(KeyConditionExpression=Key("orderId").eq(order_id), ConsistentRead=True)
        return [from_item(i) for i in page.get("Items", [])]  # one order holds a handful, never a second page

    def held_update(self, order_id: str, sequence: int) -> HeldUpdate | None:
        raw = table(self._holds()).get_item(Key={"orderId": order_id, "sequenceKey": _sequence_key(sequence)},
                                            ConsistentRead=True).get("Item")
        return HeldUpdate(sequence, raw["eventId"]) if raw else None

    def hold(self, order: OrderStatusChanged, meta: Metadata, body: str, waiting_for: int) -> bool:
        """Keep the update until ``waiting_for`` is applied; False when another event holds its sequence.
        The order's ``holdsUpTo`` tells its later applies whether to look for held successors at all."""
        kept = conditional(
            table(self._holds()).put_item,
            Item=to_item({"orderId": order.order_id, "sequenceKey": _sequence_key(order.sequence),
                          "sequence": order.sequence, "eventId": meta.event_id, "eventType": meta.event_type,
                          "correlationId": meta.correlation_id, "waitingFor": waiting_for, "body": body,
                          "heldAt": now_iso()}),
            ConditionExpression="attribute_not_exists(orderId) OR eventId = :eid",
            ExpressionAttributeValues={":eid": meta.event_id},
        )
        if kept:  # after the hold: a crash in between is retried and puts the same hold again
            conditional(
                self._table.update_item,
                Key={"orderId": order.order_id},
                UpdateExpression="SET holdsUpTo = :seq",
                ConditionExpression="attribute_exists(orderId) AND "
                                    "(attribute_not_exists(holdsUpTo) OR holdsUpTo < :seq)",
                ExpressionAttributeValues={":seq": order.sequence},
            )
            unit_of_work.wrote(self.table_name, order.order_id, None)
        return kept

    def quarantine_held(self, held: dict[str, Any], *, stage: str, reason: str, quarantine_table: str,
                        while_applied_below: int | None = None) -> str | None:
        """Move a held update into the quarantine in one transaction (never in both, never in neither).
        ``while_applied_below``: only while the order's applied sequence is still below it (the gap is still
        open). Returns the quarantine id, None when the condition or the hold was gone."""
        record = quarantine_record(stage=stage, reason=reason, body=held["body"], correlation_id=held["correlationId"],
                                   event_id=held["eventId"], event_type=held.get("eventType"))
        items: list[dict[str, Any]] = [
            {"Put": {"TableName": quarantine_table, "Item": to_wire(record)}},
            {"Delete": {"TableName": self._holds(), "Key": self._hold_key(held["orderId"], int(held["sequence"])),
                        "ConditionExpression": "eventId = :eid",
                        "ExpressionAttributeValues": to_wire({":eid": held["eventId"]})}},
        ]
        if while_applied_below is not None:
            items.append({"ConditionCheck": {
                "TableName": self.table_name, "Key": {"orderId": {"S": held["orderId"]}},
                "ConditionExpression": "attribute_not_exists(orderId) OR #seq < :below",
                "ExpressionAttributeNames": {"#seq": "sequence"},
                "ExpressionAttributeValues": to_wire({":below": while_applied_below}),
            }})
        dynamodb = client("dynamodb")
        try:
            dynamodb.transact_write_items(TransactItems=items)
        except dynamodb.exceptions.TransactionCanceledException:
            return None
        return str(record["quarantineId"])

    def _holds(self) -> str:
        if not self.holds_table:
            raise RuntimeError("OrderStore without a holds table cannot hold updates")
        return self.holds_table

    @staticmethod
    def _hold_key(order_id: str, sequence: int) -> dict[str, Any]:
        return {"orderId": {"S": order_id}, "sequenceKey": {"S": _sequence_key(sequence)}}
