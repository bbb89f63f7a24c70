"""The ERP: replenishment parameters, delivery status, purchase-order confirmations, demand forecasts, and
the financial posting totals the reconciliation compares with."""

from __future__ import annotations

from typing import Any

from .base import PartnerClient, PartnerRejected, PartnerResult, PartnerUnavailable, segment


class ErpUnavailable(PartnerUnavailable):
    pass


class ErpRejected(PartnerRejected):
    def __init__(self, status: int, detail: str, partner: str = "ERP"):
        super().__init__(status, detail, partner)


class ErpClient(PartnerClient):
    name = "ERP"
    unavailable = ErpUnavailable
    rejected = ErpRejected

    def put_replenishment_parameters(
        self, item_id: str, location_id: str, payload: dict[str, Any], *, idempotency_key: str, correlation_id: str
    ) -> PartnerResult:
        return self.send("PUT", f"/v1/items/{segment(item_id)}/locations/{segment(location_id)}"
                         "/replenishment-parameters", payload,
                         idempotency_key=idempotency_key, correlation_id=correlation_id)

    def put_delivery_status(self, order_id: str, payload: dict[str, Any], *, idempotency_key: str,
                            correlation_id: str) -> PartnerResult:
        return self.send("PUT", f"/v1/orders/{segment(order_id)}/delivery-status", payload,
                         idempotency_key=idempotency_key, correlation_id=correlation_id)

    def put_po_confirmation(self, purchase_order_id: str, payload: dict[str, Any], *, idempotency_key: str,
                            correlation_id: str) -> PartnerResult:
        return self.send("PUT", f"/v1/purchase-orders/{segment(purchase_order_id)}/confirmation", payload,
                         idempotency_key=idempotency_key, correlation_id=correlation_id)

    def put_demand_forecast(self, item_id: str, location_id: str, payload: dict[str, Any], *,
                            idempotency_key: str, correlation_id: str) -> PartnerResult:
        return self.send("PUT", f"/v1/items/{segment(item_id)}/locations/{segment(location_id)}/demand-forecast",
                         payload, idempotency_key=idempotency_key, correlation_id=correlation_id)

    def get_posting_totals(self, posting_date: str, *, correlation_id: str) -> PartnerResult:
        """The ERP's financial posting totals of one date (``YYYY-MM-DD``), per domain, posting type and
        currency: ``{"date": ..., "totals": [{"domain", "postingType", "currency", "amountMinor", "count"}]}``."""
        return self.get(f"/v1/postings/totals?date={segment(posting_date)}", correlation_id=correlation_id)
