"""Forecast pipeline: planning's weekly demand forecasts into the ERP's planning tables, for item-locations
the ERP knows (others wait in quarantine for their master data)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.contracts import DemandForecastPublished, derive_id
from distsync_core.masterdata.records import item_location_key
from distsync_core.masterdata.store import MasterDataStore
from distsync_core.partners import partner
from distsync_core.partners.base import PartnerRejected
from distsync_core.platform.config import env
from distsync_core.platform.observability import instrument
from distsync_core.platform.pipeline import Consumer, Delivery, PermanentFailure
from distsync_core.platform.times import utc_iso


def forward_forecast(delivery: Delivery) -> None:
    forecast: DemandForecastPublished = delivery.data
    meta = delivery.envelope.metadata
    key = f"{forecast.item_id}@{forecast.location_id}"
    store = MasterDataStore(env("MASTERDATA_TABLE_NAME"))
    if store.get(forecast.item_id, forecast.location_id) is None:
        raise PermanentFailure(f"unknown item-location {key}: no ItemLocationUpserted in master data",
                               waiting_for=item_location_key(forecast.item_id, forecast.location_id))
    try:
        result = partner("erp").put_demand_forecast(
            forecast.item_id, forecast.location_id, forecast.model_dump(by_alias=True, mode="json"),
            # the same forecast for the same item-location is written once, whichever event carried it
            idempotency_key=derive_id(forecast.forecast_id, forecast.item_id, forecast.location_id),
            correlation_id=meta.correlation_id,
        )
    except PartnerRejected as exc:
        raise PermanentFailure(str(exc)) from exc
    # kept beside the master data: approvals read the item-location's daily demand from the latest forecast
    store.record_forecast(forecast.item_id, forecast.location_id, forecast.forecast_id,
                          [b.model_dump(by_alias=True, mode="json") for b in forecast.buckets], utc_iso(meta.occurred_at))
    total = sum(b.quantity for b in forecast.buckets)
    how = "already had" if result.replayed else "stored"
    delivery.record("delivered", f"ERP {how} forecast {forecast.forecast_id} for {key}: {len(forecast.buckets)} "
                                 f"weeks from {forecast.buckets[0].week_start}, {total:g} {forecast.unit_of_measure}")


consumer = Consumer("forecast", DemandForecastPublished, forward_forecast)


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return consumer(event, context)
