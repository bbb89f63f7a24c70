"""Planning sync: what the planning platform must know (availability, exceptions, supplier performance),
forwarded through its REST API.

Non-critical and tolerant of outages: when planning is down the calls fail fast, the messages wait in the
queue (a high receive count, see ``planningSyncMaxReceiveCount``) and drain when it is back; the queue's age
alarm fires only past the business threshold (``planningSyncMaxLagMinutes``).
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.contracts import (
    InventoryAvailabilityUpdated,
    PlanningException,
    SupplierPerformanceMeasured,
)
from distsync_core.partners import partner
from distsync_core.partners.base import PartnerRejected, segment
from distsync_core.platform.observability import instrument
from distsync_core.platform.pipeline import Consumer, Delivery, PermanentFailure


def forward(delivery: Delivery) -> None:
    data = delivery.data
    meta = delivery.envelope.metadata
    payload = data.model_dump(by_alias=True, mode="json", exclude_none=True)
    try:
        if isinstance(data, InventoryAvailabilityUpdated):
            # Planning keeps the newest balance by asOf, which travels with it.
            partner("planning").send(
                "PUT", f"/v1/inventory-balances/{segment(data.item_id)}/{segment(data.location_id)}", payload,
                idempotency_key=meta.event_id, correlation_id=meta.correlation_id,
            )
            detail = f"planning has the balance of {data.item_id}@{data.location_id} as of {data.as_of.isoformat()}"
        elif isinstance(data, SupplierPerformanceMeasured):
            # Planning keeps the newest measurement per supplier and item-location (by windowEnd).
            partner("planning").send(
                "PUT", f"/v1/supplier-performance/{segment(data.supplier_id)}/{segment(data.item_id)}/"
                       f"{segment(data.location_id)}", payload,
                idempotency_key=meta.event_id, correlation_id=meta.correlation_id,
            )
            detail = (f"planning has the performance of {data.supplier_id} for {data.item_id}@{data.location_id}: "
                      f"lead time {data.actual_lead_time_days} days, fill rate {data.fill_rate_percent} %")
        else:
            partner("planning").send("POST", "/v1/exceptions", payload, idempotency_key=meta.event_id,
                                     correlation_id=meta.correlation_id)
            detail = f"planning exception {data.exception_id} ({data.kind}, {data.severity}) raised in planning"
    except PartnerRejected as exc:
        raise PermanentFailure(str(exc)) from exc
    delivery.record("delivered", detail)


# Planning deduplicates on the Idempotency-Key (the event id), so no idempotency table here.
consumer = Consumer("planning-sync", (InventoryAvailabilityUpdated, PlanningException, SupplierPerformanceMeasured),
                    forward, idempotent=False)


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return consumer(event, context)
