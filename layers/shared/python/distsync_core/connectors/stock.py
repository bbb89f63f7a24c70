"""The ERP's stock of every governed item-location a connection owns, published as ``InventoryBalanceChanged``
(source ``erp``): the inventory pipeline keeps the newest as-of per item-location, so an ERP balance older than
the WMS's is left out as it is for pushed balances. Master data is read page by page; a pull that runs out of
time leaves its place in the connector state (``stockCursor``) and the next one goes on from there."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from ..contracts import CONTRACTS, InventoryBalanceChanged, derive_id, new_envelope, utcnow
from ..platform import ledger
from ..platform.aws import table
from ..platform.config import env
from ..platform.events import EventPublisher
from ..platform.invocation import time_left
from .factory import connector
from .landscape import Connection
from .state import ConnectorState

BALANCE = CONTRACTS[("InventoryBalanceChanged", "1")]
STOP_WITH_SECONDS_LEFT = 15


def pull_stock(connection: Connection, *, correlation_id: str, page_size: int = 100) -> dict[str, int]:
    erp = connector(connection)
    state = ConnectorState(env("CONNECTOR_STATE_TABLE_NAME"))
    masterdata = table(env("MASTERDATA_TABLE_NAME"))
    start = state.get(connection.name).get("stockCursor")
    scan: dict[str, Any] = {"Limit": page_size, "ConsistentRead": True}
    if start:
        scan["ExclusiveStartKey"] = json.loads(start)
    totals = {"itemLocations": 0, "published": 0, "none": 0, "refused": 0}
    publisher = EventPublisher(env("EVENT_BUS_NAME"))
    while True:
        page = masterdata.scan(**scan)
        envelopes = []
        for record in page.get("Items", []):
            if not str(record.get("pk", "")).startswith("ITEMLOC#") or not connection.owns(record["locationId"]):
                continue
            totals["itemLocations"] += 1
            balance = erp.read_stock(record["itemId"], record["locationId"], correlation_id=correlation_id)
            if balance is None:
                totals["none"] += 1
                continue
            as_of = balance.as_of or utcnow().isoformat()
            try:
                data = InventoryBalanceChanged.model_validate(dict(
                    item_id=balance.item_id, location_id=balance.location_id, on_hand=balance.on_hand,
                    allocated=balance.allocated, in_transit=balance.in_transit, as_of=as_of, source_system="erp"))
            except ValidationError as exc:  # e.g. a negative on-hand: the ERP's own business, not a balance
                totals["refused"] += 1
                ledger.hop(correlation_id, f"connector:{connection.name}", "rejected",
                           f"stock the contract refuses: {exc.errors()[0]['msg']}",
                           business_key=f"{balance.item_id}@{balance.location_id}")
                continue
            event_id = derive_id(connection.name, "stock", balance.item_id, balance.location_id, as_of,
                                 repr(balance.on_hand))
            envelopes.append(new_envelope(BALANCE, data, source="erp", correlation_id=correlation_id,
                                          event_id=event_id))
        if envelopes:
            publisher.publish(envelopes)
            totals["published"] += len(envelopes)
        last = page.get("LastEvaluatedKey")
        if last is None:
            state.set_stock_cursor(connection.name, None)
            break
        scan["ExclusiveStartKey"] = last
        if time_left() < STOP_WITH_SECONDS_LEFT:
            state.set_stock_cursor(connection.name, json.dumps(last, default=str))
            break
    ledger.hop(correlation_id, f"connector:{connection.name}", "ok",
               f"stock of {totals['itemLocations']} item-location(s) read, {totals['published']} published")
    return totals
