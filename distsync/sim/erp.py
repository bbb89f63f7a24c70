"""ERP simulator: stores replenishment parameters, honours Idempotency-Key, fails on request.

- ``PUT  /api/v1/items/{item}/locations/{location}/replenishment-parameters`` apply parameters
- ``GET  /api/v1/items/{item}/locations/{location}/replenishment-parameters`` read them
- ``GET  /api/v1/items/{item}/locations/{location}/stock`` the item's stock there: ``{"itemId", "locationId",
  "onHand", "allocated", "inTransit", "unitOfMeasure", "asOf"}`` (``asOf``: when it was last set), ``404`` when
  none was booked; ``POST /_sim/erp/stock`` ``{"itemId", "locationId", "onHand", "allocated"?, "inTransit"?,
  "unitOfMeasure"?}`` (one or ``{"stock": [...]}``) sets it, ``GET /_sim/erp/stock`` lists it
- ``GET  /_sim/erp/updates`` every update it accepted (with idempotency key and correlation id)
- ``PUT  /api/v1/orders/{order}/delivery-status``, ``PUT /api/v1/purchase-orders/{po}/confirmation``,
  ``PUT /api/v1/items/{item}/locations/{location}/demand-forecast``: recorded once per Idempotency-Key;
  ``GET /_sim/erp/records`` lists them
- ``POST /_sim/erp/faults`` ``{"status": 503, "count": 3}``: the next N calls fail with that status;
  ``"delaySeconds"`` makes them slow first (timeouts); ``{"status": 200, "delaySeconds": 2, "count": 5}``
  makes the next N calls slow but successful
- ``POST /_sim/erp/limits`` ``{"maxInFlight": 2, "latencySeconds": 0.05}``: a parameter write beyond N at once
  gets ``429`` with ``Retry-After: 1`` (an ERP's per-account concurrency limit); each write takes that long;
  ``GET /_sim/erp/stats``: the most writes it saw at once and how many it throttled
- the ERP's financial posting journal (what the reconciliation compares distsync with):
  ``GET /api/v1/postings/totals?date=YYYY-MM-DD`` totals of the postings it knows for that date, per domain,
  posting type and currency (``amountMinor``, ``count``); ``POST /_sim/erp/postings`` books postings
  (``FinancialPostingRecorded`` data, one or ``{"postings": [...]}``; the same ``postingId`` again replaces
  it: a different amount); ``GET /_sim/erp/postings`` lists them. ``ErpClientSim`` books every
  ``FinancialPostingRecorded`` it sends here first, as an ERP books a posting before it notifies; a posting
  booked only here is one distsync never heard of.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .http import JsonRequest, JsonServer

_RECORDED = (
    ("delivery-status", re.compile(r"/api/v1/orders/(?P<orderId>[^/]+)/delivery-status")),
    ("po-confirmation", re.compile(r"/api/v1/purchase-orders/(?P<purchaseOrderId>[^/]+)/confirmation")),
    ("demand-forecast", re.compile(r"/api/v1/items/(?P<itemId>[^/]+)/locations/(?P<locationId>[^/]+)/demand-forecast")),
)
_STOCK = re.compile(r"/api/v1/items/(?P<item>[^/]+)/locations/(?P<location>[^/]+)/stock")
_PARAMS = re.compile(r"/api/v1/items/(?P<item>[^/]+)/locations/(?P<location>[^/]+)/replenishment-parameters")


class ErpSimulator(JsonServer):
    def __init__(self, port: int = 0):
        self._lock = threading.Lock()
        self.parameters: dict[tuple[str, str], dict[str, Any]] = {}
        self.stock: dict[tuple[str, str], dict[str, Any]] = {}
        self.updates: list[dict[str, Any]] = []
        self.calls = 0
        self.records: list[dict[str, Any]] = []
        self._responses: dict[str, dict[str, Any]] = {}
        self._fault: dict[str, Any] = {"status": 0, "count": 0, "delaySeconds": 0}
        self.postings: dict[str, dict[str, Any]] = {}  # the posting journal, by posting id
        self._limits: dict[str, float] = {"maxInFlight": 0, "latencySeconds": 0}  # 0: no limit
        self.in_flight = self.max_in_flight = self.throttled = 0
        super().__init__(
            [
                ("PUT", _PARAMS, self._put_within_limits),
                ("POST", re.compile(r"/_sim/erp/limits"), self._set_limits),
                ("GET", re.compile(r"/_sim/erp/stats"), lambda _r: (200, self.stats(), {})),
                ("GET", _PARAMS, self._get),
                ("GET", _STOCK, self._get_stock),
                ("POST", re.compile(r"/_sim/erp/stock"), self._post_stock),
                ("GET", re.compile(r"/_sim/erp/stock"), lambda _r: (200, {"stock": self.stock_levels()}, {})),
                ("GET", re.compile(r"/_sim/erp/updates"), lambda _r: (200, {"updates": self.snapshot()}, {})),
                ("POST", re.compile(r"/_sim/erp/faults"), self._faults),
                ("GET", re.compile(r"/_sim/erp/records"), lambda _r: (200, {"records": self.recorded()}, {})),
                *(("PUT", pattern, self._recorder(kind)) for kind, pattern in _RECORDED),
                ("GET", re.compile(r"/api/v1/postings/totals"), self._posting_totals),
                ("POST", re.compile(r"/_sim/erp/postings"), self._book),
                ("GET", re.compile(r"/_sim/erp/postings"), lambda _r: (200, {"postings": self.journal()}, {})),
            ],
            port=port,
        )

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(u) for u in self.updates]

    def inject_faults(self, status: int, count: int, delay_seconds: float = 0) -> None:
        with self._lock:
            self._fault = {"status": status, "count": count, "delaySeconds": delay_seconds}

    def _faults(self, request: JsonRequest) -> tuple[int, Any, dict[str, str]]:
        body = request.json()
        status, count = int(body.get("status", 503)), int(body["count"])
        delay = float(body.get("delaySeconds", 0))
        if not (400 <= status <= 599 or (status == 200 and delay > 0)) or count < 0 or delay < 0:
            return 400, {"error": "status must be 4xx/5xx (or 200 with delaySeconds > 0) and count >= 0"}, {}
        self.inject_faults(status, count, delay)
        return 200, {"status": status, "count": count}, {}

    def _set_limits(self, request: JsonRequest) -> tuple[int, Any, dict[str, str]]:
        body = request.json()
        limits = {"maxInFlight": int(body.get("maxInFlight", 0)), "latencySeconds": float(body.get("latencySeconds", 0))}
        if limits["maxInFlight"] < 0 or not 0 <= limits["latencySeconds"] <= 5:
            return 400, {"error": "maxInFlight >= 0 (0: no limit), latencySeconds in 0..5"}, {}
        with self._lock:
            self._limits = limits
            self.max_in_flight = self.throttled = 0
        return 200, limits, {}

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"maxInFlight": self.max_in_flight, "throttled": self.throttled, "updates": len(self.updates),
                    **{f"limit{k[0].upper()}{k[1:]}": v for k, v in self._limits.items()}}

    def _put_within_limits(self, request: JsonRequest, item: str, location: str) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            limit, latency = int(self._limits["maxInFlight"]), self._limits["latencySeconds"]
            if limit and self.in_flight > limit:
                self.in_flight -= 1
                self.throttled += 1
                return 429, {"error": f"concurrency limit exceeded: at most {limit} requests at once"}, \
                    {"Retry-After": "1"}
        try:
            if latency:
                time.sleep(latency)
            return self._put(request, item, location)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _take_fault(self) -> dict[str, Any] | None:
        with self._lock:
            self.calls += 1
            if self._fault["count"] > 0:
                self._fault["count"] -= 1
                return dict(self._fault)
        return None

    def _put(self, request: JsonRequest, item: str, location: str) -> tuple[int, Any, dict[str, str]]:
        fault = self._take_fault()
        if fault:
            if fault["delaySeconds"]:
                time.sleep(fault["delaySeconds"])
            if fault["status"] != 200:  # 200: slow, then served normally
                retry_after = {"Retry-After": "0"} if fault["status"] == 429 else {}
                return fault["status"], {"error": "injected fault"}, retry_after
        key = request.header("Idempotency-Key")
        if not key:
            return 400, {"error": "Idempotency-Key header is required"}, {}
        body = request.json()
        for field in ("safetyStock", "reorderPoint"):
            if not isinstance(body.get(field), int | float) or body[field] < 0:
                return 422, {"error": f"{field} must be a non-negative number"}, {}
        with self._lock:
            if key in self._responses:
                return 200, self._responses[key], {"Idempotent-Replayed": "true"}
            update = {
                "updateId": f"erp-{uuid.uuid4().hex[:12]}",
                "itemId": item,
                "locationId": location,
                "safetyStock": body["safetyStock"],
                "reorderPoint": body["reorderPoint"],
                "unitOfMeasure": body.get("unitOfMeasure"),
                "planningCycleId": body.get("planningCycleId"),
                "approvalId": body.get("approvalId"),
                "idempotencyKey": key,
                "correlationId": request.header("X-Correlation-Id"),
                "receivedAt": datetime.now(UTC).isoformat(),
            }
            self.updates.append(update)
            self.parameters[(item, location)] = update
            self._responses[key] = update
        return 200, update, {}

    def _get(self, _request: JsonRequest, item: str, location: str) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            found = self.parameters.get((item, location))
        return (200, found, {}) if found else (404, {"error": "no parameters"}, {})

    # ------------------------------------------------------------------------------ stock
    def set_stock(self, change: dict[str, Any]) -> dict[str, Any]:
        """Book an item's stock at a location (what the ERP's inventory would say); ``asOf`` is now."""
        item, location = str(change.get("itemId") or ""), str(change.get("locationId") or "")
        if not item or not location:
            raise ValueError("itemId and locationId are required")
        values = {}
        for field in ("onHand", "allocated", "inTransit"):
            value = change.get(field, 0)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{field} must be a number")
            values[field] = value
        entry = {"itemId": item, "locationId": location, **values,
                 "unitOfMeasure": change.get("unitOfMeasure") or "EA",
                 "asOf": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
        with self._lock:
            self.stock[(item, location)] = entry
        return dict(entry)

    def stock_levels(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(v) for _, v in sorted(self.stock.items())]

    def _post_stock(self, request: JsonRequest) -> tuple[int, Any, dict[str, str]]:
        body = request.json()
        changes = body["stock"] if isinstance(body, dict) and "stock" in body else [body]
        try:
            return 200, {"stock": [self.set_stock(c) for c in changes]}, {}
        except (ValueError, AttributeError) as exc:
            return 400, {"error": str(exc)}, {}

    def _get_stock(self, _request: JsonRequest, item: str, location: str) -> tuple[int, Any, dict[str, str]]:
        from urllib.parse import unquote

        with self._lock:
            found = self.stock.get((unquote(item), unquote(location)))
        return (200, dict(found), {}) if found else (404, {"error": "no stock booked for this item at this location"}, {})

    def recorded(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self.records if kind is None or r["kind"] == kind]

    def _recorder(self, kind: str):
        def record(request: JsonRequest, **params: str) -> tuple[int, Any, dict[str, str]]:
            fault = self._take_fault()
            if fault:
                if fault["delaySeconds"]:
                    time.sleep(fault["delaySeconds"])
                if fault["status"] != 200:
                    return fault["status"], {"error": "injected fault"}, {}
            key = request.header("Idempotency-Key")
            if not key:
                return 400, {"error": "Idempotency-Key header is required"}, {}
            with self._lock:
                if key in self._responses:
                    return 200, self._responses[key], {"Idempotent-Replayed": "true"}
                entry = {"kind": kind, **params, "body": request.json(), "idempotencyKey": key,
                         "correlationId": request.header("X-Correlation-Id"),
                         "receivedAt": datetime.now(UTC).isoformat(), "updateId": f"erp-{uuid.uuid4().hex[:12]}"}
                self.records.append(entry)
                self._responses[key] = entry
            return 200, entry, {}

        return record

    # ------------------------------------------------------------------------------ financial postings
    def book_posting(self, posting: dict[str, Any]) -> dict[str, Any]:
        """Book (or replace) a posting in the journal; validated as FinancialPostingRecorded data."""
        from distsync_core.contracts import FinancialPostingRecorded

        entry = FinancialPostingRecorded.model_validate(posting).model_dump(by_alias=True, mode="json")
        with self._lock:
            self.postings[entry["postingId"]] = entry
        return entry

    def journal(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(p) for p in self.postings.values()]

    def posting_totals(self, posting_date: str) -> list[dict[str, Any]]:
        totals: dict[tuple[str, str, str], dict[str, Any]] = {}
        for p in self.journal():
            if p["postingDate"] != posting_date:
                continue
            key = (p["domain"], p["postingType"], p["currency"])
            line = totals.setdefault(key, {"domain": key[0], "postingType": key[1], "currency": key[2],
                                           "amountMinor": 0, "count": 0})
            line["amountMinor"] += p["amountMinor"]
            line["count"] += 1
        return [totals[k] for k in sorted(totals)]

    def _book(self, request: JsonRequest) -> tuple[int, Any, dict[str, str]]:
        from pydantic import ValidationError

        body = request.json()
        postings = body["postings"] if isinstance(body, dict) and "postings" in body else [body]
        try:
            booked = [self.book_posting(p) for p in postings]
        except ValidationError as exc:
            return 422, {"error": f"not a posting: {exc.errors(include_url=False)}"}, {}
        return 200, {"booked": booked}, {}

    def _posting_totals(self, request: JsonRequest) -> tuple[int, Any, dict[str, str]]:
        fault = self._take_fault()
        if fault:
            if fault["delaySeconds"]:
                time.sleep(fault["delaySeconds"])
            if fault["status"] != 200:
                return fault["status"], {"error": "injected fault"}, {}
        query = parse_qs(urlsplit(request.path).query)
        posting_date = (query.get("date") or [""])[-1]
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", posting_date):
            return 400, {"error": "query parameter date=YYYY-MM-DD is required"}, {}
        return 200, {"date": posting_date, "totals": self.posting_totals(posting_date)}, {}
