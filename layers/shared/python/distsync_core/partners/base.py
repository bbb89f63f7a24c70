"""What every partner client shares: JSON over HTTPS, idempotent calls, retried with backoff on 429/5xx.

Partners honour ``Idempotency-Key`` so a retried or redelivered call is applied once. Retryable failures that
outlast the attempts raise :class:`PartnerUnavailable` (the message is retried by SQS and dead-lettered at the
end); a 4xx rejection raises :class:`PartnerRejected` (permanent: quarantined with the partner's reason).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote

RETRYABLE_STATUSES = (408, 429, 500, 502, 503, 504)
# The longest Retry-After a client sleeps for inside an invocation; a partner asking for more gets the
# message back to the queue (its visibility timeout is the wait) instead of a sleep past the function's
# timeout (urllib3 honours Retry-After up to 6 hours).
RETRY_AFTER_CAP_SECONDS = 10.0


class PartnerUnavailable(RuntimeError):
    """A partner system could not take the call now; retrying later may succeed."""


class RetryLater(PartnerUnavailable):
    """The partner asked to be called again later than this invocation can wait (Retry-After)."""


class PartnerRejected(RuntimeError):
    def __init__(self, status: int, detail: str, partner: str = "partner"):
        super().__init__(f"{partner} rejected the call with HTTP {status}: {detail}")
        self.status = status


@dataclass(frozen=True)
class PartnerResult:
    status: int
    body: dict[str, Any]
    replayed: bool  # the partner had already applied this idempotency key


class PartnerClient:
    """JSON over HTTPS to one partner system, idempotent and retried."""

    name = "partner"
    unavailable: type[PartnerUnavailable] = PartnerUnavailable
    rejected: type[PartnerRejected] = PartnerRejected

    def __init__(self, base_url: str, max_attempts: int = 3, backoff_seconds: float = 0.2, timeout_seconds: float = 5):
        import urllib3  # lazy: urllib3 ships with botocore in the Lambda runtime

        self.base_url = base_url.rstrip("/")
        self.max_attempts = max(1, max_attempts)
        self._retry = _capped_retry()(
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
             correlation_id: str) -> PartnerResult:
        """``path`` is relative to the base URL, with its parameters already quoted (see :func:`segment`)."""
        return self._send(method, f"{self.base_url}{path}", payload, idempotency_key, correlation_id)

    def get(self, path: str, *, correlation_id: str) -> PartnerResult:
        """A read (no body, no idempotency key: a GET is safe to retry as it is)."""
        return self._send("GET", f"{self.base_url}{path}", None, None, correlation_id)

    def _send(self, method: str, url: str, payload: dict[str, Any] | None, key: str | None,
              correlation_id: str) -> PartnerResult:
        import urllib3

        headers = {"X-Correlation-Id": correlation_id}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        body = None if payload is None else json.dumps(payload).encode()
        try:
            resp = self._http.request(method, url, body=body, headers=headers)
        except RetryLater as exc:
            raise RetryLater(f"{self.name} answered {exc}") from None
        except urllib3.exceptions.HTTPError as exc:  # connection errors and timeouts after the retries
            raise self.unavailable(
                f"{self.name} unreachable after retries: {exc.__class__.__name__}: {exc}"
            ) from exc
        text = resp.data.decode("utf-8", "replace")
        if resp.status in RETRYABLE_STATUSES:
            raise self.unavailable(
                f"{self.name} answered HTTP {resp.status} after {self.max_attempts} attempts: {text[:200]}"
            )
        if resp.status >= 400:
            raise self.rejected(resp.status, text[:500], self.name)
        answer = json.loads(text) if text else {}
        return PartnerResult(resp.status, answer, replayed=resp.headers.get("Idempotent-Replayed") == "true")


@cache
def _capped_retry() -> type:
    """urllib3's Retry, with Retry-After honoured up to RETRY_AFTER_CAP_SECONDS (built on first use: urllib3
    is imported lazily, for cold start)."""
    import urllib3

    class CappedRetry(urllib3.Retry):
        def get_retry_after(self, response: Any) -> float | None:
            seconds = super().get_retry_after(response)
            if seconds is not None and seconds > RETRY_AFTER_CAP_SECONDS:
                raise RetryLater(
                    f"HTTP {response.status} with Retry-After {seconds:g} s, more than the "
                    f"{RETRY_AFTER_CAP_SECONDS:g} s an invocation waits: the message goes back to the queue"
                )
            return seconds

    return CappedRetry


def segment(value: str) -> str:
    """One URL path segment (identifiers are validated by the contracts; quoting is belt and braces)."""
    return quote(value, safe="")
