"""What every connector kind shares on the wire: one connection pool per connection, auth that refreshes
itself (a token cache refreshed before expiry, credentials re-read so a rotated secret is picked up without a
redeploy), retries on 429/503 that honour ``Retry-After`` only while the invocation has time for them (then
:class:`RetryLater`: the message goes back to its queue), and the ERP's own request id of every answer.

No AWS here: credentials come from a callable (the connection's secret, read through Powertools parameters
by :mod:`.factory`)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

from ..partners.base import PartnerRejected, PartnerUnavailable, RetryLater
from ..platform.invocation import time_left
from .port import ConnectorError

RETRYABLE = frozenset({408, 429, 502, 503, 504})  # 408: Business Central times an operation out
SAFETY_SECONDS = 2.0  # leave the invocation this much after a wait, for the rest of the batch
class Auth(Protocol):
    def headers(self, method: str, url: str) -> dict[str, str]:
        """The auth headers of one request (may fetch or refresh a token first)."""
        ...

    def invalidate(self) -> None:
        """The ERP said 401: forget cached tokens/credentials (the next request fetches anew, once)."""
        ...


def read_credentials(credentials: Callable[..., Any], fresh: bool) -> Any:
    """``credentials()``, or after a 401 ``credentials(force=True)`` where the callable takes it (the factory's
    does: it bypasses the five-minute secret cache, so a secret rotated a minute ago is seen now)."""
    if fresh:
        try:
            return credentials(force=True)
        except TypeError:  # a plain callable (tests, the CLI)
            pass
    return credentials()


@dataclass
class BasicAuth:
    credentials: Callable[..., tuple[str, str]]  # (user, password), re-read fresh after a 401

    _cached: tuple[str, str] | None = field(default=None, repr=False)
    _stale: bool = field(default=False, repr=False)

    def headers(self, method: str, url: str) -> dict[str, str]:
        import base64

        if self._cached is None:
            self._cached = read_credentials(self.credentials, self._stale)
            self._stale = False
        user, password = self._cached
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}

    def invalidate(self) -> None:
        self._cached, self._stale = None, True


@dataclass
class ClientCredentials:
    """OAuth 2.0 client credentials (RFC 6749 4.4) with a token cache refreshed ``refresh_margin`` seconds
    before expiry. ``credentials`` returns (client id, client secret); ``scope`` e.g. Business Central's
    ``https://api.businesscentral.dynamics.com/.default``."""

    token_url: str
    credentials: Callable[..., tuple[str, str]]
    scope: str | None = None
    refresh_margin: float = 60.0
    timeout: float = 10.0

    _token: str | None = field(default=None, repr=False)
    _expires: float = field(default=0.0, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stale: bool = field(default=False, repr=False)
    fetched: int = 0  # tokens fetched (tests and benches count them)

    def headers(self, method: str, url: str) -> dict[str, str]:
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires - self.refresh_margin:
                self._fetch()
            return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self) -> None:
        with self._lock:
            self._token, self._stale = None, True

    def _fetch(self) -> None:
        import urllib3

        client_id, secret = read_credentials(self.credentials, self._stale)
        self._stale = False
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        if self.scope:
            form["scope"] = self.scope
        try:
            resp = _pool().request("POST", self.token_url, body=urlencode(form).encode(),
                                   headers={"Content-Type": "application/x-www-form-urlencoded"},
                                   timeout=urllib3.Timeout(total=self.timeout), retries=False)
        except urllib3.exceptions.HTTPError as exc:
            raise PartnerUnavailable(f"token endpoint unreachable: {exc.__class__.__name__}") from exc
        if resp.status in RETRYABLE:
            raise PartnerUnavailable(f"token endpoint answered HTTP {resp.status}")
        try:
            body = json.loads(resp.data)
            token, expires_in = body["access_token"], float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as exc:
            raise PartnerRejected(resp.status, f"no access_token in the token answer: {resp.data[:200]!r}",
                                  "token endpoint") from exc
        self._token, self._expires = token, time.monotonic() + expires_in
        self.fetched += 1


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    data: bytes
    request_id: str | None
    cookies: tuple[str, ...] = ()  # every Set-Cookie (a dict of the headers keeps only one; SAP sets two)

    def json(self) -> Any:
        try:
            return json.loads(self.data) if self.data else {}
        except ValueError as exc:
            raise ConnectorError(f"the answer is not JSON (HTTP {self.status}): {self.data[:200]!r}") from exc

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)


class RateLimit:
    """At most ``per_second`` requests per second from this container (a token bucket of one second's burst):
    the connection's ``requestsPerSecond`` shared among the batches its queue runs at once."""

    def __init__(self, per_second: float):
        self.per_second = per_second
        self._tokens, self._at = per_second, time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.per_second, self._tokens + (now - self._at) * self.per_second)
            self._at = now
            if self._tokens < 1:
                time.sleep((1 - self._tokens) / self.per_second)
                self._tokens, self._at = 1.0, time.monotonic()
            self._tokens -= 1


class ConnectorHttp:
    """HTTP to one ERP connection. ``request_id_headers``: the answer headers the ERP names its own request id
    in (each kind says which, from its documentation), first found wins. ``requests_per_second``: this
    container's share of the connection's request rate (None: unlimited). ``keep_cookies``: a session's
    cookies (``Set-Cookie``) sent back on every request (S/4HANA's CSRF token is valid only with them)."""

    def __init__(self, name: str, base_url: str, auth: Auth | None, *, request_id_headers: tuple[str, ...] = (),
                 max_attempts: int = 4, backoff_seconds: float = 0.5, timeout_seconds: float = 10,
                 retry_after_cap: float = 10.0, requests_per_second: float | None = None,
                 keep_cookies: bool = False):
        self.name, self.base_url, self.auth = name, base_url.rstrip("/"), auth
        self.cookies: dict[str, str] | None = {} if keep_cookies else None
        self._cookie_lock = threading.Lock()
        self.rate = RateLimit(requests_per_second) if requests_per_second else None
        self.request_id_headers = request_id_headers
        self.max_attempts, self.backoff, self.timeout = max(1, max_attempts), backoff_seconds, timeout_seconds
        self.retry_after_cap = retry_after_cap
        self.log: list[tuple[str, str, int]] = []  # (method, path, status) of this container's calls, newest last
        self.last_date: str | None = None  # the Date header of the newest answer (clock skew, `connectors check`)

    def request(self, method: str, path: str, *, body: Any = None, headers: Mapping[str, str] | None = None,
                correlation_id: str | None = None, ok: tuple[int, ...] = (200, 201, 204)) -> Answer:
        """``path`` relative to the base URL (already quoted); ``body``: bytes as they are, else JSON. Answers
        in ``ok`` (and 304/404/412, which callers interpret) are returned; retryable ones are retried, then
        raise :class:`PartnerUnavailable`/:class:`RetryLater`; a 401 invalidates the auth and retries once;
        any other 4xx raises :class:`PartnerRejected` with the ERP's words."""
        raw = body if isinstance(body, bytes | None) else json.dumps(body).encode()
        reauthenticated, attempt = False, 0
        while True:
            attempt += 1
            answer = self._send(method, path, raw, headers, correlation_id, attempt)
            if answer is None:  # a connection error, waited out: again
                continue
            if answer.status == 401 and self.auth is not None and not reauthenticated:
                self.auth.invalidate()  # an expired token or a rotated secret: fetch anew, once
                reauthenticated = True
                continue
            if answer.status in RETRYABLE:
                self._wait_for_retry(answer, attempt)
                continue
            if answer.status in ok or answer.status in (304, 404, 412):
                return answer
            raise PartnerRejected(answer.status, answer.data[:500].decode("utf-8", "replace"), self.name)

    def _send(self, method: str, path: str, raw: bytes | None, headers: Mapping[str, str] | None,
              correlation_id: str | None, attempt: int) -> Answer | None:
        import urllib3

        url = f"{self.base_url}{path}"
        hdrs = {"Accept": "application/json", **(headers or {})}
        if raw is not None and not any(k.lower() == "content-type" for k in hdrs):
            hdrs["Content-Type"] = "application/json"
        if correlation_id:
            hdrs.setdefault("X-Correlation-Id", correlation_id)
        if self.auth is not None:
            hdrs.update(self.auth.headers(method, url))
        if self.cookies:
            with self._cookie_lock:
                hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.rate is not None:
            self.rate.wait()
        try:
            resp = _pool().request(method, url, body=raw, headers=hdrs, retries=False, redirect=False,
                                   timeout=urllib3.Timeout(total=min(self.timeout, max(1.0, time_left()))))
        except urllib3.exceptions.HTTPError as exc:
            if attempt < self.max_attempts and self._wait(self.backoff * 2 ** (attempt - 1)):
                return None
            raise PartnerUnavailable(f"{self.name} unreachable: {exc.__class__.__name__}: {exc}") from exc
        self.log.append((method, path, resp.status))
        self.last_date = resp.headers.get("Date") or self.last_date
        cookies = tuple(resp.headers.getlist("Set-Cookie"))
        if self.cookies is not None:
            self._keep_cookies(cookies)
        return Answer(resp.status, dict(resp.headers.items()), resp.data, self._request_id(resp.headers), cookies)

    def _keep_cookies(self, set_cookies: tuple[str, ...]) -> None:
        with self._cookie_lock:
            for cookie in set_cookies:
                name, _, rest = cookie.partition("=")
                value, _, attributes = rest.partition(";")
                if re.search(r"max-age=0\b", attributes, re.IGNORECASE):  # the server ends the cookie
                    self.cookies.pop(name.strip(), None)  # type: ignore[union-attr]
                else:
                    self.cookies[name.strip()] = value.strip()  # type: ignore[index]

    def _wait_for_retry(self, answer: Answer, attempt: int) -> None:
        """Wait before retrying a 429/5xx, or raise: Retry-After beyond the cap or the invocation's time left
        gives the message back to its queue (RetryLater); attempts used up: PartnerUnavailable."""
        wait = _retry_after(answer) if answer.status in (429, 503) else None
        wait = self.backoff * 2 ** (attempt - 1) if wait is None else wait
        if wait > self.retry_after_cap:
            raise RetryLater(f"{self.name} answered HTTP {answer.status} with Retry-After {wait:g} s: "
                             "the message goes back to the queue")
        if attempt < self.max_attempts and self._wait(wait):
            return
        if attempt < self.max_attempts:
            raise RetryLater(f"{self.name} answered HTTP {answer.status}; no time left in this invocation "
                             f"to wait {wait:g} s")
        raise PartnerUnavailable(f"{self.name} answered HTTP {answer.status} after {attempt} attempts: "
                                 f"{answer.data[:200]!r}")

    def _wait(self, seconds: float) -> bool:
        """Sleep if the invocation has time for it (and the rest of its batch), else say no."""
        if seconds >= time_left() - SAFETY_SECONDS:
            return False
        time.sleep(seconds)
        return True

    def _request_id(self, headers: Any) -> str | None:
        for name in self.request_id_headers:
            value = headers.get(name)
            if value:
                return str(value)
        return None


def _retry_after(answer: Answer) -> float | None:
    value = answer.header("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


_POOL: Any = None


def _pool() -> Any:
    global _POOL
    if _POOL is None:
        import urllib3  # lazy: cold start

        _POOL = urllib3.PoolManager(maxsize=10)
    return _POOL
