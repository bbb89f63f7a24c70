"""Partner clients that sign and post webhooks, as an ERP, a WMS/TMS, a supplier portal or the planning
platform would, and read available to promise as a sales channel would."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from distsync_core.platform.signing import request_target, signed_headers


@dataclass
class HttpResult:
    status: int
    body: Any
    headers: dict[str, str]


def send(url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None,
         timeout: float = 30) -> HttpResult:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 (loopback or configured URL)
            raw, status, hdrs = resp.read(), resp.status, dict(resp.headers.items())
    except urllib.error.HTTPError as err:
        raw, status, hdrs = err.read(), err.code, dict(err.headers.items())
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode("utf-8", "replace")
    return HttpResult(status, parsed, hdrs)


# Which source or role calls a path: its usage plan's API key goes with the request (x-api-key).
_ROLE_BY_PREFIX = {"/v1/approvals/": "planners", "/v1/atp/": "channels", "/v1/shipment-exceptions/": "operations"}


def caller_of(path: str) -> str | None:
    if path.startswith("/v1/webhooks/"):
        return path.removeprefix("/v1/webhooks/").split("/", 1)[0]
    return next((role for prefix, role in _ROLE_BY_PREFIX.items() if path.startswith(prefix)), None)


class SignedClient:
    """Posts signed JSON to a distsync API (webhooks and approval decisions). ``api_keys``: source or role ->
    its API key, sent as x-api-key with each request to that caller's paths (API Gateway meters by it)."""

    def __init__(self, base_url: str, secret: str, api_keys: dict[str, str] | None = None):
        self.base_url, self.secret = base_url.rstrip("/"), secret
        self.api_keys = api_keys or {}
        self._signed: dict[bytes, int] = {}

    def _api_key(self, path: str) -> dict[str, str]:
        key = self.api_keys.get(caller_of(path) or "")
        return {"x-api-key": key} if key else {}

    def _fresh_timestamp(self, body: bytes) -> int:
        # distsync refuses a signature it has seen: never sign the same body twice with the same timestamp
        now = int(time.time())
        self._signed[body] = max(now, self._signed.get(body, now - 1) + 1)
        return self._signed[body]

    def post(self, path: str, payload: Any, *, extra_headers: dict[str, str] | None = None,
             raw: bytes | None = None, now: float | None = None, bound_to_path: bool = False) -> HttpResult:
        """``bound_to_path``: sign ``"<timestamp>.POST <path>.<body>"`` (approval and exception decisions)."""
        body = raw if raw is not None else json.dumps(payload).encode()
        signed = request_target("POST", path, body) if bound_to_path else body
        headers = {"Content-Type": "application/json", **self._api_key(path),
                   **signed_headers(self.secret, signed, now or self._fresh_timestamp(signed))}
        headers.update(extra_headers or {})
        return send(self.base_url + path, "POST", body, headers)

    def webhook(self, source: str, event_type: str, data: dict[str, Any], *, version: str = "1",
                correlation_id: str | None = None, idempotency_key: str | None = None,
                occurred_at: str | None = None) -> HttpResult:
        payload = {
            "eventType": event_type,
            "eventVersion": version,
            "occurredAt": occurred_at or datetime.now(UTC).isoformat(),
            "data": data,
        }
        headers = {}
        if correlation_id:
            headers["X-Correlation-Id"] = correlation_id
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return self.post(f"/v1/webhooks/{source}", payload, extra_headers=headers)

    def get(self, path: str, *, now: float | None = None) -> HttpResult:
        """A signed GET: the signature covers ``"<timestamp>.GET <path>"`` (there is no body)."""
        target = request_target("GET", path)
        return send(self.base_url + path, "GET", None,
                    {**self._api_key(path), **signed_headers(self.secret, target, now or time.time())})

    def atp(self, item_id: str, location_id: str) -> HttpResult:
        return self.get(f"/v1/atp/{item_id}/{location_id}")

    def resolve_exception(self, case_id: str, resolution: str, comment: str = "",
                          resolved_by: str = "operator") -> HttpResult:
        return self.post(f"/v1/shipment-exceptions/{case_id}/resolution",
                         {"resolution": resolution, "comment": comment, "resolvedBy": resolved_by}, bound_to_path=True)

    def decide(self, approval_id: str, decision: str, comment: str = "", decided_by: str = "planner") -> HttpResult:
        return self.post(f"/v1/approvals/{approval_id}",
                         {"decision": decision, "comment": comment, "decidedBy": decided_by}, bound_to_path=True)


class ErpClientSim(SignedClient):
    """The ERP's side of the webhooks. Like an ERP, it books a financial posting before it notifies: every
    ``FinancialPostingRecorded`` it sends is first booked in the ERP simulator's journal (``POST
    /_sim/erp/postings`` on the same base URL, the local stack's), which the reconciliation reads back as
    the ERP's totals; so a posting whose webhook was refused or lost still counts on the ERP's side."""

    def webhook(self, source: str, event_type: str, data: dict[str, Any], **kw: Any) -> HttpResult:
        if event_type == "FinancialPostingRecorded":
            booked = send(self.base_url + "/_sim/erp/postings", "POST", json.dumps(data).encode(),
                          {"Content-Type": "application/json"})
            if booked.status not in (200, 422):  # 422: not a posting the ERP could book (a negative test)
                raise RuntimeError(f"the ERP simulator did not book the posting: HTTP {booked.status} {booked.body}")
        return super().webhook(source, event_type, data, **kw)

    def financial_posting(self, posting_id: str, posting_type: str, domain: str, amount_minor: int,
                          posting_date: str, *, currency: str = "EUR", reference: str = "REF-1",
                          correlation_id: str | None = None) -> HttpResult:
        return self.webhook("erp", "FinancialPostingRecorded", {
            "postingId": posting_id, "postingType": posting_type, "domain": domain, "amountMinor": amount_minor,
            "currency": currency, "postingDate": posting_date, "reference": reference,
        }, correlation_id=correlation_id)

    def upsert_item_location(self, item_id: str, location_id: str, *, safety_stock: float, reorder_point: float,
                             unit_of_measure: str = "EA", supplier_id: str = "SUP-1", lead_time_days: int = 7,
                             correlation_id: str | None = None) -> HttpResult:
        return self.webhook("erp", "ItemLocationUpserted", {
            "itemId": item_id, "locationId": location_id, "unitOfMeasure": unit_of_measure,
            "safetyStock": safety_stock, "reorderPoint": reorder_point, "supplierId": supplier_id,
            "leadTimeDays": lead_time_days,
        }, correlation_id=correlation_id)

    def upsert(self, event_type: str, data: dict[str, Any], *, correlation_id: str | None = None) -> HttpResult:
        """Any master data type: ItemUpserted, LocationUpserted, SupplierUpserted, CustomerUpserted, ..."""
        return self.webhook("erp", event_type, data, correlation_id=correlation_id)

    def order_status(self, order_id: str, sequence: int, status: str, lines: list[dict[str, Any]], *,
                     customer_id: str = "CUST-1", correlation_id: str | None = None) -> HttpResult:
        return self.webhook("erp", "OrderStatusChanged", {
            "orderId": order_id, "customerId": customer_id, "sequence": sequence, "status": status, "lines": lines,
        }, correlation_id=correlation_id)

    def inventory_balance(self, item_id: str, location_id: str, **kw: Any) -> HttpResult:
        return inventory_balance(self, "erp", item_id, location_id, **kw)


def inventory_balance(client: SignedClient, source: str, item_id: str, location_id: str, *, on_hand: float,
                      allocated: float = 0, in_transit: float = 0, in_transit_due_at: str | None = None,
                      as_of: str | None = None, lots: list[dict[str, Any]] | None = None,
                      correlation_id: str | None = None) -> HttpResult:
    """``InventoryBalanceChanged`` v1, or v2 when ``lots`` are given."""
    data: dict[str, Any] = {
        "itemId": item_id, "locationId": location_id, "onHand": on_hand, "allocated": allocated,
        "inTransit": in_transit, "asOf": as_of or datetime.now(UTC).isoformat(), "sourceSystem": source,
    }
    if in_transit_due_at:
        data["inTransitDueAt"] = in_transit_due_at
    if lots is not None:
        data["lots"] = lots
    return client.webhook(source, "InventoryBalanceChanged", data, version="2" if lots is not None else "1",
                          correlation_id=correlation_id)


class WmsClientSim(SignedClient):
    """A warehouse (WMS) or transport (TMS, ``source="tms"``) system."""

    def inventory_balance(self, item_id: str, location_id: str, **kw: Any) -> HttpResult:
        return inventory_balance(self, "wms", item_id, location_id, **kw)

    def milestone(self, shipment_id: str, order_ids: list[str], milestone: str, *, carrier: str = "DHL",
                  tracking_number: str | None = None, exception: dict[str, Any] | None = None,
                  source: str = "wms", correlation_id: str | None = None) -> HttpResult:
        data: dict[str, Any] = {"shipmentId": shipment_id, "orderIds": order_ids, "milestone": milestone,
                                "carrier": carrier, "milestoneAt": datetime.now(UTC).isoformat()}
        if tracking_number:
            data["trackingNumber"] = tracking_number
        if exception:
            data["exception"] = exception
        return self.webhook(source, "ShipmentMilestone", data, correlation_id=correlation_id)


class SupplierClientSim(SignedClient):
    """A supplier collaboration portal."""

    def lead_time(self, supplier_id: str, item_id: str, location_id: str, lead_time_days: int, *,
                  effective_from: str = "2026-12-01", correlation_id: str | None = None) -> HttpResult:
        return self.webhook("supplier", "SupplierLeadTimeChanged", {
            "supplierId": supplier_id, "itemId": item_id, "locationId": location_id,
            "leadTimeDays": lead_time_days, "effectiveFrom": effective_from,
        }, correlation_id=correlation_id)

    def confirm_po(self, purchase_order_id: str, supplier_id: str, lines: list[dict[str, Any]], *,
                   correlation_id: str | None = None) -> HttpResult:
        return self.webhook("supplier", "PurchaseOrderConfirmed", {
            "purchaseOrderId": purchase_order_id, "supplierId": supplier_id, "lines": lines,
        }, correlation_id=correlation_id)


class PlanningClient(SignedClient):
    def recommend(self, item_id: str, location_id: str, *, safety_stock: float, reorder_point: float,
                  planning_cycle_id: str, correlation_id: str | None = None,
                  idempotency_key: str | None = None, occurred_at: str | None = None) -> HttpResult:
        return self.webhook("planning", "ReplenishmentRecommended", {
            "itemId": item_id, "locationId": location_id, "recommendedSafetyStock": safety_stock,
            "recommendedReorderPoint": reorder_point, "planningCycleId": planning_cycle_id,
        }, correlation_id=correlation_id, idempotency_key=idempotency_key, occurred_at=occurred_at)

    def forecast(self, item_id: str, location_id: str, forecast_id: str, weekly: list[tuple[str, float]], *,
                 unit_of_measure: str = "EA", correlation_id: str | None = None) -> HttpResult:
        return self.webhook("planning", "DemandForecastPublished", {
            "itemId": item_id, "locationId": location_id, "forecastId": forecast_id,
            "unitOfMeasure": unit_of_measure,
            "buckets": [{"weekStart": week, "quantity": qty} for week, qty in weekly],
        }, correlation_id=correlation_id)
