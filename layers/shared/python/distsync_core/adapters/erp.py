"""ERP REST adapter: idempotent PUT of replenishment parameters, retried with backoff on 429/5xx.

The ERP is the system of record; it honours ``Idempotency-Key`` so a retried or redelivered update is
applied once. Retryable failures that outlast the attempts raise :class:`ErpUnavailable` (the message is
retried by SQS and dead-lettered at the end); a 4xx rejection raises :class:`ErpRejected` (permanent).
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


class ErpRejected(RuntimeError):
    def __init__(self, status: int, detail: str):
        super().__init__(f"ERP rejected the update with HTTP {status}: {detail}")
        self.status = status


@dataclass(frozen=True)
class ErpResult:
    status: int
    body: dict[str, Any]
    replayed: bool  # the ERP had already applied this idempotency key


class ErpClient:
    def __init__(self, base_url: str, max_attempts: int, backoff_seconds: float, timeout_seconds: float):
        import urllib3  # lazy: urllib3 ships with botocore in the Lambda runtime

        self.base_url = base_url.rstrip("/")
        self._retry = urllib3.Retry(
            total=max(0, max_attempts - 1),
            status_forcelist=RETRYABLE_STATUSES,
            allowed_methods=frozenset({"PUT", "POST"}),
            backoff_factor=backoff_seconds,
            backoff_max=30,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self._timeout = urllib3.Timeout(total=timeout_seconds)
        self._http = urllib3.PoolManager(retries=self._retry, timeout=self._timeout)

    def put_replenishment_parameters(
        self, item_id: str, location_id: str, payload: dict[str, Any], *, idempotency_key: str, correlation_id: str
    ) -> ErpResult:
        url = (
            f"{self.base_url}/v1/items/{quote(item_id, safe='')}/locations/{quote(location_id, safe='')}"
            "/replenishment-parameters"
        )
        return self._send("PUT", url, payload, idempotency_key, correlation_id)

    def _send(self, method: str, url: str, payload: dict[str, Any], key: str, correlation_id: str) -> ErpResult:
        import urllib3

        headers = {"Content-Type": "application/json", "Idempotency-Key": key, "X-Correlation-Id": correlation_id}
        try:
            resp = self._http.request(method, url, body=json.dumps(payload).encode(), headers=headers)
        except urllib3.exceptions.HTTPError as exc:  # connection errors and timeouts after the retries
            raise ErpUnavailable(f"ERP unreachable after retries: {exc.__class__.__name__}: {exc}") from exc
        text = resp.data.decode("utf-8", "replace")
        if resp.status in RETRYABLE_STATUSES:
            raise ErpUnavailable(f"ERP answered HTTP {resp.status} after {self._retry.total + 1} attempts: {text[:200]}")
        if resp.status >= 400:
            raise ErpRejected(resp.status, text[:500])
        body = json.loads(text) if text else {}
        return ErpResult(resp.status, body, replayed=resp.headers.get("Idempotent-Replayed") == "true")


class WmsClient:
    """Warehouse notification endpoint (a simulated WMS locally)."""

    def __init__(self, base_url: str, timeout_seconds: float = 5):
        import urllib3

        self.base_url = base_url.rstrip("/")
        self._http = urllib3.PoolManager(
            retries=urllib3.Retry(total=2, status_forcelist=RETRYABLE_STATUSES, allowed_methods=None, backoff_factor=0.2),
            timeout=urllib3.Timeout(total=timeout_seconds),
        )

    def notify(self, payload: dict[str, Any], *, idempotency_key: str, correlation_id: str) -> int:
        import urllib3

        try:
            resp = self._http.request(
                "POST",
                f"{self.base_url}/v1/replenishment-notifications",
                body=json.dumps(payload).encode(),
                headers={
                    "Content-Type": "application/json",
                    "Idempotency-Key": idempotency_key,
                    "X-Correlation-Id": correlation_id,
                },
            )
        except urllib3.exceptions.HTTPError as exc:
            raise WmsUnavailable(f"WMS unreachable: {exc}") from exc
        if resp.status >= 400:
            raise WmsUnavailable(f"WMS answered HTTP {resp.status}")
        return resp.status
