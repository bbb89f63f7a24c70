"""The supplier performance table: the facts of each purchase order that :mod:`.performance` measures.

pk ``PO#<purchaseOrderId>``; sk ``LINE#<lineNumber>`` (a confirmed line), ``SHIPPED#<shipmentId>`` (a ship
notice), ``RECEIPT#<postingId>`` (a goods receipt). Every write is a put of the event's own facts, so a
redelivery rewrites the same item; a re-confirmation keeps the PO line's first confirmation time and replaces
its quantity and date only when it is newer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from ..contracts import FinancialPostingRecorded, Metadata, PurchaseOrderConfirmed, ShipmentMilestone
from ..platform.aws import client, table
from ..platform.dynamo import conditional, from_wire, to_item
from ..platform.times import utc_iso
from .performance import ConfirmedLine, Receipt, Shipment


class PerformanceStore:
    def __init__(self, table_name: str):
        self._table = table(table_name)

    def confirmation(self, po: PurchaseOrderConfirmed, meta: Metadata) -> int:
        """Record the confirmed lines; returns how many were newer than the ones recorded."""
        at = utc_iso(meta.occurred_at)
        newer = 0
        for line in po.lines:
            newer += conditional(
                self._table.update_item,
                Key={"pk": f"PO#{po.purchase_order_id}", "sk": f"LINE#{line.line_number}"},
                UpdateExpression="SET supplierId = :s, itemId = :i, locationId = :l, confirmedQuantity = :q, "
                                 "confirmedDeliveryDate = :d, confirmedAt = :at, eventId = :eid, "
                                 "firstConfirmedAt = if_not_exists(firstConfirmedAt, :at)",
                # the same event again, or a newer confirmation; an older one arrived late and is left out
                ConditionExpression="attribute_not_exists(confirmedAt) OR confirmedAt <= :at OR eventId = :eid",
                ExpressionAttributeValues=to_item({
                    ":s": po.supplier_id, ":i": line.item_id, ":l": line.location_id,
                    ":q": line.confirmed_quantity, ":d": line.confirmed_delivery_date.isoformat(), ":at": at,
                    ":eid": meta.event_id,
                }),
            )
        return newer

    def shipment(self, milestone: ShipmentMilestone) -> None:
        """A supplier's ship notice, once per PO it names (its ``orderIds`` are the supplier's POs)."""
        with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for po_id in milestone.order_ids:
                batch.put_item(Item={"pk": f"PO#{po_id}", "sk": f"SHIPPED#{milestone.shipment_id}",
                                     "shippedAt": utc_iso(milestone.milestone_at)})

    def receipt(self, posting: FinancialPostingRecorded) -> None:
        self._table.put_item(Item=to_item({
            "pk": f"PO#{posting.reference}", "sk": f"RECEIPT#{posting.posting_id}",
            "receivedOn": posting.posting_date.isoformat(),
            "lines": [{"itemId": ln.item_id, "locationId": ln.location_id, "receivedQuantity": ln.received_quantity}
                      for ln in posting.lines],
        }))

    def _items(self) -> Iterator[dict[str, Any]]:
        # A scan: a weekly (or on-demand) run reads every PO's facts once.
        for page in client("dynamodb").get_paginator("scan").paginate(TableName=self._table.name):
            yield from (from_wire(raw) for raw in page.get("Items", []))

    def facts(self) -> tuple[list[ConfirmedLine], list[Receipt], list[Shipment]]:
        lines: list[ConfirmedLine] = []
        receipts: list[Receipt] = []
        shipments: list[Shipment] = []
        for item in self._items():
            po_id = item["pk"].removeprefix("PO#")
            kind, _, rest = item["sk"].partition("#")
            if kind == "LINE":
                lines.append(ConfirmedLine(
                    purchase_order_id=po_id, supplier_id=item["supplierId"], line_number=int(rest),
                    item_id=item["itemId"], location_id=item["locationId"],
                    confirmed_quantity=float(item["confirmedQuantity"]),
                    confirmed_delivery_date=date.fromisoformat(item["confirmedDeliveryDate"]),
                    first_confirmed_at=datetime.fromisoformat(item["firstConfirmedAt"]),
                ))
            elif kind == "RECEIPT":
                receipts.append(Receipt(
                    purchase_order_id=po_id, posting_id=rest, received_on=date.fromisoformat(item["receivedOn"]),
                    quantities=_quantities(item.get("lines", [])),
                ))
            elif kind == "SHIPPED":
                shipments.append(Shipment(purchase_order_id=po_id, shipment_id=rest,
                                          shipped_at=datetime.fromisoformat(item["shippedAt"])))
        return lines, receipts, shipments


def _quantities(lines: list[dict[str, Any]]) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for ln in lines:
        key = (ln["itemId"], ln["locationId"])
        out[key] = out.get(key, 0.0) + float(ln["receivedQuantity"])
    return out
