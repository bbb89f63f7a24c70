"""Master data pipeline: ERP master data (items, locations, item-locations, suppliers, customers) into the
governed master-data table, versioned (an older version never overwrites a newer one). Events that were
quarantined waiting for this master data are released automatically once it is stored."""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.contracts import ItemLocationUpserted, MasterDataModel
from distsync_core.masterdata.store import MasterDataStore
from distsync_core.platform import ledger
from distsync_core.platform.aws import client
from distsync_core.platform.config import env
from distsync_core.platform.observability import instrument, logger
from distsync_core.platform.pipeline import Consumer, Delivery
from distsync_core.platform.quarantine import NotReleasable, QuarantineStore, release


def store_master_data(delivery: Delivery) -> None:
    data = delivery.data
    key = data.master_key()
    version = f"version {data.record_version}" if data.record_version else f"of {delivery.envelope.metadata.occurred_at}"
    if not MasterDataStore(env("MASTERDATA_TABLE_NAME")).upsert(data, delivery.envelope.metadata):
        delivery.record("delivered", f"{key} {version} is older than the stored record: left out")
        return
    delivery.record("delivered", f"master data stored: {key} {version}", **_lineage(data))
    release_waiting(key)


def _lineage(data: MasterDataModel) -> dict:
    """The ERP's replenishment parameters of an item-location, so lineage (`distsync why`) can tell a change
    made in the ERP from one distsync wrote."""
    if not isinstance(data, ItemLocationUpserted):
        return {}
    return {"eventType": "ItemLocationUpserted", "recordVersion": data.record_version,
            "values": {"safetyStock": data.safety_stock, "reorderPoint": data.reorder_point}}


def release_waiting(key: str) -> None:
    store = QuarantineStore(env("QUARANTINE_TABLE_NAME"))
    for waiting in store.waiting_for(key):
        try:
            released = release(store, client("events"), env("EVENT_BUS_NAME"), waiting["quarantineId"])
        except NotReleasable as exc:  # someone released it first, or it cannot be released: leave it
            logger.info("quarantined event not released", extra={"reason": str(exc)})
            continue
        ledger.hop(released.correlation_id, "quarantine", "released",
                   f"{released.quarantine_id} released automatically: {key} arrived")


consumer = Consumer("masterdata", MasterDataModel, store_master_data)


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return consumer(event, context)
