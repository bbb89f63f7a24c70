"""Partner REST adapters (ERP, planning platform, WMS, customer channels): idempotent calls, retried with
backoff on 429/5xx.

Partners honour ``Idempotency-Key`` so a retried or redelivered call is applied once. Retryable failures that
outlast the attempts raise :class:`PartnerUnavailable` (the message is retried by SQS and dead-lettered at the
end); a 4xx rejection raises :class:`PartnerRejected` (permanent: quarantined with the partner's reason).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

RETRYABLE_STATUSES = (408, 429, 500, 502, 503, 504)


class PartnerUnavailable(RuntimeError):
    """A partner system could not take the call now; retrying later may succeed."""


class ErpUnavailable(PartnerUnavailable):
    pass


class WmsUnavailable(PartnerUnavailable):
    pass


class PartnerRejected(RuntimeError):
    def __init__(self, status: int, detail: str, partner: str = "partner"):
        super().__init__(f"{partner} rejected the call with HTTP {status}: {detail}")
        self.status = status


class ErpRejected(PartnerRejected):
    def __init__(self, status: int, detail: str, partner: str = "ERP"):
        super().__init__(status, detail, partner)


@dataclass(frozen=True)
class ErpResult:
    status: int
    body: dict[str, Any]
    replayed: bool  # the ERP had already applied this idempotency key


class PartnerClient:
    """JSON over HTTPS to one partner system, idempotent and retried."""

    name = "partner"
    unavailable: type[PartnerUnavailable] = PartnerUnavailable
    rejected: type[PartnerRejected] = PartnerRejected

    def __init__(self, base_url: str, max_attempts: int = 3, backoff_seconds: float = 0.2, timeout_seconds: float = 5):
        import urllib3  # lazy: urllib3 ships with botocore in the Lambda runtime

        self.base_url = base_url.rstrip("/")
        self._retry = urllib3.Retry(
            total=max(0, max_attempts - 1),
            status_forcelist=RETRYABLE_STATUSES,
            allowed_methods=frozenset({"PUT", "POST", "GET"}),
            backoff_factor=backoff_seconds,
            backoff_max=30,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self._timeout = urllib3.Timeout(total=timeout_seconds)
        self._http = urllib3.PoolManager(retries=self._retry, timeout=self._timeout)

    def send(self, method: str, path: str, payload: dict[str, Any], *, idempotency_key: str,
             correlation_id: str) -> ErpResult:
        """``path`` is relative to the base URL, with its parameters already quoted (see :func:`segment`)."""
        return self._send(method, f"{self.base_url}{path}", payload, idempotency_key, correlation_id)

    def get(self, path: str, *, correlation_id: str) -> ErpResult:
        """A read (no body, no idempotency key: a GET is safe to retry as it is)."""
        return self._send("GET", f"{self.base_url}{path}", None, None, correlation_id)

    def _send(self, method: str, url: str, payload: dict[str, Any] | None, key: str | None,
              correlation_id: str) -> ErpResult:
        import urllib3

        headers = {"X-Correlation-Id": correlation_id}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        body = None if payload is None else json.dumps(payload).encode()
        try:
            resp = self._http.request(method, url, body=body, headers=headers)
        except urllib3.exceptions.HTTPError as exc:  # connection errors and timeouts after the retries
            raise self.unavailable(
                f"{self.name} unreachable after retries: {exc.__class__.__name__}: {exc}"
            ) from exc
        text = resp.data.decode("utf-8", "replace")
        if resp.status in RETRYABLE_STATUSES:
            raise self.unavailable(
                f"{self.name} answered HTTP {resp.status} after {self._retry.total + 1} attempts: {text[:200]}"
            )
        if resp.status >= 400:
            raise self.rejected(resp.status, text[:500], self.name)
        body = json.loads(text) if text else {}
        return ErpResult(resp.status, body, replayed=resp.headers.get("Idempotent-Replayed") == "true")


def segment(value: str) -> str:
    """One URL path segment (identifiers are validated by the contracts; quoting is belt and braces)."""
    return quote(value, safe="")


class ErpClient(PartnerClient):
    name = "ERP"
    unavailable = ErpUnavailable
    rejected = ErpRejected

    def put_replenishment_parameters(
        self, item_id: str, location_id: str, payload: dict[str, Any], *, idempotency_key: str, correlation_id: str
    ) -> ErpResult:
        url = (
            f"{self.base_url}/v1/items/{quote(item_id, safe='')}/locations/{quote(location_id, safe='')}"
            "/replenishment-parameters"
        )
        return self._send("PUT", url, payload, idempotency_key, correlation_id)

    def put_delivery_status(self, order_id: str, payload: dict[str, Any], *, idempotency_key: str,
                            correlation_id: str) -> ErpResult:
        return self.send("PUT", f"/v1/orders/{segment(order_id)}/delivery-status", payload,
                         idempotency_key=idempotency_key, correlation_id=correlation_id)

    def put_po_confirmation(self, purchase_order_id: str, payload: dict[str, Any], *, idempotency_key: str,
                            correlation_id: str) -> ErpResult:
        return self.send("PUT", f"/v1/purchase-orders/{segment(purchase_order_id)}/confirmation", payload,
                         idempotency_key=idempotency_key, correlation_id=correlation_id)

    def put_demand_forecast(self, item_id: str, location_id: str, payload: dict[str, Any], *,
                            idempotency_key: str, correlation_id: str) -> ErpResult:
        return self.send("PUT", f"/v1/items/{segment(item_id)}/locations/{segment(location_id)}/demand-forecast",
                         payload, idempotency_key=idempotency_key, correlation_id=correlation_id)


    def get_posting_totals(self, posting_date: str, *, correlation_id: str) -> ErpResult:
        """The ERP's financial posting totals of one date (``YYYY-MM-DD``), per domain, posting type and
        currency: ``{"date": ..., "totals": [{"domain", "postingType", "currency", "amountMinor", "count"}]}``."""
        return self.get(f"/v1/postings/totals?date={quote(posting_date, safe='')}", correlation_id=correlation_id)


class PlanningUnavailable(PartnerUnavailable):
    pass


class PlanningApiClient(PartnerClient):
    """The planning platform's REST API (balances, lead times, exceptions)."""

    name = "planning"
    unavailable = PlanningUnavailable


class ChannelsUnavailable(PartnerUnavailable):
    pass


class ChannelsClient(PartnerClient):
    """Customer-facing channels (order tracking, portal, marketplace feeds) behind one notification API."""

    name = "customer channels"
    unavailable = ChannelsUnavailable


class WmsClient(PartnerClient):
    """The warehouse system: replenishment notifications and order releases (a simulated WMS locally)."""

    name = "WMS"
    unavailable = WmsUnavailable

    def notify(self, payload: dict[str, Any], *, idempotency_key: str, correlation_id: str) -> int:
        return self.send("POST", "/v1/replenishment-notifications", payload,
                         idempotency_key=idempotency_key, correlation_id=correlation_id).status


# One connection pool per container and partner, configured from the function's environment.
_clients: dict[str, PartnerClient] = {}


def partner(kind: str) -> Any:
    """``erp`` (ERP_BASE_URL, ERP_MAX_ATTEMPTS, ...), ``planning`` (PLANNING_BASE_URL), ``channels``
    (CHANNELS_BASE_URL) or ``wms`` (WMS_BASE_URL)."""
    from ..platform.config import env, env_float, env_int

    if kind not in _clients:
        if kind == "erp":
            _clients[kind] = ErpClient(
                env("ERP_BASE_URL"),
                max_attempts=env_int("ERP_MAX_ATTEMPTS", 4),
                backoff_seconds=env_float("ERP_BACKOFF_SECONDS", 0.5),
                timeout_seconds=env_float("ERP_TIMEOUT_SECONDS", 5),
            )
        elif kind == "planning":
            # Few attempts: when planning is down the message waits in its queue, not in the function.
            _clients[kind] = PlanningApiClient(env("PLANNING_BASE_URL"), max_attempts=2)
        elif kind == "channels":
            _clients[kind] = ChannelsClient(env("CHANNELS_BASE_URL"))
        elif kind == "wms":
            _clients[kind] = WmsClient(env("WMS_BASE_URL"))
        else:
            raise ValueError(f"unknown partner {kind!r}")
    return _clients[kind]
