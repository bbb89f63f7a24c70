"""ERP changes a connector reported, published as governed master data (``ItemLocationUpserted``, source
``erp``) or quarantined with the reason; each with a ledger hop under the connection's stage."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from ..contracts import CONTRACTS, derive_id, new_envelope
from ..masterdata.store import MasterDataStore
from ..platform import ledger
from ..platform.config import env
from ..platform.events import EventPublisher
from ..platform.quarantine import QuarantineStore
from .inbound import item_location_upserted, unchanged
from .port import ItemLocationChange

UPSERTED = CONTRACTS[("ItemLocationUpserted", "1")]


@dataclass(frozen=True)
class Published:
    published: int
    quarantined: int

    def as_dict(self) -> dict[str, int]:
        return {"published": self.published, "quarantined": self.quarantined}


def publish_changes(connection: str, changes: Sequence[ItemLocationChange], *, correlation_id: str) -> Published:
    stage = f"connector:{connection}"
    store = MasterDataStore(env("MASTERDATA_TABLE_NAME"))
    envelopes, quarantined = [], 0
    for change in changes:
        key = f"{change.item_id}@{change.location_id}"
        current = store.get(change.item_id, change.location_id)
        if unchanged(change, current):
            continue  # read again (an overlapping pull, a duplicate push): nothing new to govern
        result = item_location_upserted(change, current)
        if isinstance(result, str):
            QuarantineStore(env("QUARANTINE_TABLE_NAME")).put(
                stage=stage, reason=result, body=json.dumps(asdict(change), default=str),
                correlation_id=correlation_id, event_type=UPSERTED.event_type)
            ledger.hop(correlation_id, stage, "quarantined", result, business_key=key)
            quarantined += 1
            continue
        # The same change reported twice (a retried push, an overlapping pull) is the same event.
        event_id = derive_id(connection, key, change.changed_at or "", repr(change.parameters))
        envelopes.append(new_envelope(UPSERTED, result, source="erp", correlation_id=correlation_id,
                                      event_id=event_id))
        ledger.hop(correlation_id, stage, "ok", f"{connection} reported {key}: safety stock "
                   f"{result.safety_stock}, reorder point {result.reorder_point}", business_key=key, event_id=event_id)
    if envelopes:
        EventPublisher(env("EVENT_BUS_NAME")).publish(envelopes)
    return Published(len(envelopes), quarantined)
