"""Partner clients that sign and post webhooks, as an ERP or the planning platform would."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from distsync_core.signing import signed_headers


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


class SignedClient:
    """Posts signed JSON to a distsync API (webhooks and approval decisions)."""

    def __init__(self, base_url: str, secret: str):
        self.base_url, self.secret = base_url.rstrip("/"), secret
        self._signed: dict[bytes, int] = {}

    def _fresh_timestamp(self, body: bytes) -> int:
        # distsync refuses a signature it has seen: never sign the same body twice with the same timestamp
        now = int(time.time())
        self._signed[body] = max(now, self._signed.get(body, now - 1) + 1)
        return self._signed[body]

    def post(self, path: str, payload: Any, *, extra_headers: dict[str, str] | None = None,
             raw: bytes | None = None, now: float | None = None) -> HttpResult:
        body = raw if raw is not None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", **signed_headers(self.secret, body, now or self._fresh_timestamp(body))}
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

    def decide(self, approval_id: str, decision: str, comment: str = "", decided_by: str = "planner") -> HttpResult:
        return self.post(f"/v1/approvals/{approval_id}",
                         {"decision": decision, "comment": comment, "decidedBy": decided_by})


class ErpClientSim(SignedClient):
    def upsert_item_location(self, item_id: str, location_id: str, *, safety_stock: float, reorder_point: float,
                             unit_of_measure: str = "EA", supplier_id: str = "SUP-1", lead_time_days: int = 7,
                             correlation_id: str | None = None) -> HttpResult:
        return self.webhook("erp", "ItemLocationUpserted", {
            "itemId": item_id, "locationId": location_id, "unitOfMeasure": unit_of_measure,
            "safetyStock": safety_stock, "reorderPoint": reorder_point, "supplierId": supplier_id,
            "leadTimeDays": lead_time_days,
        }, correlation_id=correlation_id)


class PlanningClient(SignedClient):
    def recommend(self, item_id: str, location_id: str, *, safety_stock: float, reorder_point: float,
                  planning_cycle_id: str, correlation_id: str | None = None,
                  idempotency_key: str | None = None, occurred_at: str | None = None) -> HttpResult:
        return self.webhook("planning", "ReplenishmentRecommended", {
            "itemId": item_id, "locationId": location_id, "recommendedSafetyStock": safety_stock,
            "recommendedReorderPoint": reorder_point, "planningCycleId": planning_cycle_id,
        }, correlation_id=correlation_id, idempotency_key=idempotency_key, occurred_at=occurred_at)
