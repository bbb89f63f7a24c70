"""A partner system simulator: records every call once per Idempotency-Key and fails on request.

Subclasses name their routes as ``(method, path regex, kind)``; a call is recorded as ``{kind, path
parameters, body, idempotencyKey, correlationId, receivedAt}``.

- ``GET  /_sim/<name>/records`` every call it accepted (``?kind=`` filters)
- ``POST /_sim/<name>/faults`` ``{"status": 503, "count": 3}``: the next N calls fail with that status;
  ``{"status": 503, "down": true}``: every call fails until ``{"down": false}``
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .http import JsonRequest, JsonServer


class PartnerSimulator(JsonServer):
    name = "partner"
    routes_by_kind: tuple[tuple[str, str, str], ...] = ()

    def __init__(self, port: int = 0):
        self._lock = threading.Lock()
        self.records: list[dict[str, Any]] = []
        self._by_key: dict[str, dict[str, Any]] = {}
        self._fault: dict[str, Any] = {"status": 0, "count": 0, "down": False}
        self.calls = 0
        routes = [
            (method, re.compile(pattern), self._recorder(kind)) for method, pattern, kind in self.routes_by_kind
        ]
        routes += [
            ("GET", re.compile(rf"/_sim/{self.name}/records"), self._records),
            ("POST", re.compile(rf"/_sim/{self.name}/faults"), self._faults),
        ]
        super().__init__(routes, port=port)

    # ------------------------------------------------------------------ control
    def set_down(self, down: bool, status: int = 503) -> None:
        with self._lock:
            self._fault = {"status": status, "count": 0, "down": down}

    def inject_faults(self, status: int, count: int) -> None:
        with self._lock:
            self._fault = {"status": status, "count": count, "down": False}

    def snapshot(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self.records if kind is None or r["kind"] == kind]

    # ------------------------------------------------------------------ routes
    def _records(self, request: JsonRequest) -> tuple[int, Any, dict[str, str]]:
        kind = parse_qs(urlsplit(request.path).query).get("kind", [None])[0]
        return 200, {"records": self.snapshot(kind)}, {}

    def _faults(self, request: JsonRequest) -> tuple[int, Any, dict[str, str]]:
        body = request.json()
        status = int(body.get("status", 503))
        if not 400 <= status <= 599:
            return 400, {"error": "status must be 4xx or 5xx"}, {}
        if "down" in body:
            self.set_down(bool(body["down"]), status)
        else:
            self.inject_faults(status, int(body["count"]))
        return 200, dict(self._fault), {}

    def _take_fault(self) -> int | None:
        with self._lock:
            self.calls += 1
            if self._fault["down"]:
                return self._fault["status"]
            if self._fault["count"] > 0:
                self._fault["count"] -= 1
                return self._fault["status"]
        return None

    def accept(self, kind: str, params: dict[str, str], body: Any) -> tuple[int, dict[str, Any]] | None:
        """Override to validate or reject a call (return a status and body); None accepts it."""
        return None

    def _recorder(self, kind: str):
        def record(request: JsonRequest, **params: str) -> tuple[int, Any, dict[str, str]]:
            status = self._take_fault()
            if status:
                return status, {"error": "injected fault"}, {"Retry-After": "0"} if status == 429 else {}
            key = request.header("Idempotency-Key")
            if not key:
                return 400, {"error": "Idempotency-Key header is required"}, {}
            body = request.json()
            rejected = self.accept(kind, params, body)
            if rejected:
                return rejected[0], rejected[1], {}
            with self._lock:
                if key in self._by_key:
                    return 200, self._by_key[key], {"Idempotent-Replayed": "true"}
                entry = {
                    "kind": kind,
                    **params,
                    "body": body,
                    "idempotencyKey": key,
                    "correlationId": request.header("X-Correlation-Id"),
                    "receivedAt": datetime.now(UTC).isoformat(),
                }
                self.records.append(entry)
                self._by_key[key] = entry
            return 200, entry, {}

        return record


class PlanningSimulator(PartnerSimulator):
    """The planning platform's API: inventory balances, supplier lead times, exceptions inbox."""

    name = "planning"
    routes_by_kind = (
        ("PUT", r"/api/v1/inventory-balances/(?P<itemId>[^/]+)/(?P<locationId>[^/]+)", "inventory-balance"),
        ("PUT", r"/api/v1/lead-times/(?P<supplierId>[^/]+)/(?P<itemId>[^/]+)/(?P<locationId>[^/]+)", "lead-time"),
        ("POST", r"/api/v1/exceptions", "exception"),
        ("PUT", r"/api/v1/supplier-performance/(?P<supplierId>[^/]+)/(?P<itemId>[^/]+)/(?P<locationId>[^/]+)",
         "supplier-performance"),
    )

    def balances(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The newest balance per item-location, as planning keeps it (by asOf, not by arrival)."""
        newest: dict[tuple[str, str], dict[str, Any]] = {}
        for r in self.snapshot("inventory-balance"):
            key = (r["itemId"], r["locationId"])
            if key not in newest or r["body"]["asOf"] > newest[key]["asOf"]:
                newest[key] = r["body"]
        return newest


class ChannelsSimulator(PartnerSimulator):
    """Customer-facing channels (order tracking, portal): order, shipment and exception notices."""

    name = "channels"
    routes_by_kind = (
        ("POST", r"/api/v1/order-updates", "order-update"),
        ("POST", r"/api/v1/shipment-updates", "shipment-update"),
        ("POST", r"/api/v1/exception-notices", "exception-notice"),
    )
