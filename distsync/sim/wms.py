"""Warehouse (WMS) simulator: records replenishment notifications, once per Idempotency-Key.

- ``POST /api/v1/replenishment-notifications``; ``GET /_sim/wms/notifications``
- ``PUT /api/v1/orders/{orderId}`` order releases/updates; ``GET /_sim/wms/orders``
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from typing import Any

from .http import JsonRequest, JsonServer


class WmsSimulator(JsonServer):
    def __init__(self, port: int = 0):
        self._lock = threading.Lock()
        self.notifications: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}  # idempotency key -> order update, in arrival order
        super().__init__(
            [
                ("POST", re.compile(r"/api/v1/replenishment-notifications"), self._notify),
                ("PUT", re.compile(r"/api/v1/orders/(?P<order>[^/]+)"), self._order),
                ("GET", re.compile(r"/_sim/wms/orders"), lambda _r: (200, {"orders": self.order_updates()}, {})),
                ("GET", re.compile(r"/_sim/wms/notifications"), lambda _r: (200, {"notifications": self.snapshot()}, {})),
            ],
            port=port,
        )

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.notifications.values())

    def _notify(self, request: JsonRequest) -> tuple[int, Any, dict[str, str]]:
        key = request.header("Idempotency-Key") or ""
        with self._lock:
            if key in self.notifications:
                return 200, self.notifications[key], {"Idempotent-Replayed": "true"}
            record = {
                **request.json(),
                "idempotencyKey": key,
                "correlationId": request.header("X-Correlation-Id"),
                "receivedAt": datetime.now(UTC).isoformat(),
            }
            self.notifications[key] = record
        return 202, record, {}

    def order_updates(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.orders.values())

    def _order(self, request: JsonRequest, order: str) -> tuple[int, Any, dict[str, str]]:
        key = request.header("Idempotency-Key") or ""
        with self._lock:
            if key in self.orders:
                return 200, self.orders[key], {"Idempotent-Replayed": "true"}
            record = {**request.json(), "idempotencyKey": key, "correlationId": request.header("X-Correlation-Id"),
                      "receivedAt": datetime.now(UTC).isoformat()}
            self.orders[key] = record
        return 200, record, {}
