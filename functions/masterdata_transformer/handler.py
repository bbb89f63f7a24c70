"""Master data pipeline: ERP ``ItemLocationUpserted`` events into the governed master-data table."""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.adapters.stores import MasterDataStore
from distsync_core.config import env
from distsync_core.contracts import ItemLocationUpserted
from distsync_core.observability import instrument
from distsync_core.pipeline import Consumer, Delivery


def store_item_location(delivery: Delivery) -> None:
    data = delivery.data
    MasterDataStore(env("MASTERDATA_TABLE_NAME")).upsert(data, delivery.envelope.metadata)
    delivery.record("delivered", f"master data stored for {data.item_id}@{data.location_id}")


consumer = Consumer("masterdata", ItemLocationUpserted, store_item_location)


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return consumer(event, context)
