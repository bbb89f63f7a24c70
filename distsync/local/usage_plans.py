"""API Gateway usage plans, emulated by the local gateway (moto stores plans and keys but meters nothing).

What API Gateway does, per API key (docs: "Throttle API requests for better throughput" and "Usage plans and
API keys for REST APIs"): a token bucket per key holding at most ``burst`` requests, refilled at ``rate`` per
second (a request without a token gets 429, response type THROTTLED); a quota per period (here the day, from
00:00 UTC) past which the key gets 429 QUOTA_EXCEEDED; a method that requires a key answers a request without a
known, enabled key that is on a plan of the stage with 403 (INVALID_API_KEY).

What API Gateway does not do, the local gateway adds, since it knows the bucket: the IETF RateLimit header
fields (draft-ietf-httpapi-ratelimit-headers: ``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset``)
on every answer, and the exact ``Retry-After`` on a 429 (API Gateway's gateway responses carry static values).

The limiter is plain Python with an injectable clock; :class:`UsagePlanGate` reads the plans and keys from
moto's API Gateway backend in process, so a key issued with ``distsync keys issue --local`` counts at once.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .moto_backend import ACCOUNT_ID, REGION

DAY = 86_400


@dataclass(frozen=True)
class Limits:
    rate_per_second: float
    burst: int
    daily_quota: int | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    refused_by: str | None  # "rate" or "quota" when refused
    headers: dict[str, str]  # RateLimit-* always, Retry-After when refused

    @property
    def response_type(self) -> str | None:
        """The gateway response API Gateway would answer with."""
        return {"rate": "THROTTLED", "quota": "QUOTA_EXCEEDED"}.get(self.refused_by or "")


def seconds_to_utc_midnight(now: float) -> int:
    moment = datetime.fromtimestamp(now, UTC)
    midnight = datetime(moment.year, moment.month, moment.day, tzinfo=UTC) + timedelta(days=1)
    return max(1, math.ceil(midnight.timestamp() - now))


@dataclass
class KeyMeter:
    """One API key's bucket and day count."""

    limits: Limits
    tokens: float = -1.0  # full on first use
    refilled_at: float = 0.0
    day: int = -1
    used_today: int = 0

    def admit(self, now: float) -> Decision:
        rate, burst, quota = self.limits.rate_per_second, self.limits.burst, self.limits.daily_quota
        if self.tokens < 0:
            self.tokens, self.refilled_at = float(burst), now
        self.tokens = min(float(burst), self.tokens + (now - self.refilled_at) * rate)
        self.refilled_at = now
        today = int(now // DAY)
        if today != self.day:
            self.day, self.used_today = today, 0
        if quota is not None and self.used_today >= quota:
            return Decision(False, "quota", {**self._headers(now), "Retry-After": str(seconds_to_utc_midnight(now))})
        if self.tokens < 1:
            wait = max(1, math.ceil((1 - self.tokens) / rate))
            return Decision(False, "rate", {**self._headers(now), "Retry-After": str(wait)})
        self.tokens -= 1
        self.used_today += 1
        return Decision(True, None, self._headers(now))

    def _headers(self, now: float) -> dict[str, str]:
        """The limit closest to running out: the day's quota when no more requests are left in it than tokens
        in the bucket, else the bucket (its capacity, whole tokens left, seconds until it is full again)."""
        rate, burst, quota = self.limits.rate_per_second, self.limits.burst, self.limits.daily_quota
        tokens = max(0, math.floor(self.tokens))
        if quota is not None and quota - self.used_today <= tokens:
            limit, remaining, reset = quota, max(0, quota - self.used_today), seconds_to_utc_midnight(now)
        else:
            limit, remaining, reset = burst, tokens, math.ceil((burst - self.tokens) / rate)
        return {"RateLimit-Limit": str(limit), "RateLimit-Remaining": str(remaining), "RateLimit-Reset": str(reset)}


@dataclass
class KeyLimiter:
    """A meter per API key id (API Gateway meters keys, not callers or plans)."""

    clock: Callable[[], float] = time.time
    _meters: dict[str, KeyMeter] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, key_id: str, limits: Limits) -> Decision:
        with self._lock:
            meter = self._meters.get(key_id)
            if meter is None or meter.limits != limits:  # a plan changed: start over, as a redeploy would
                meter = self._meters[key_id] = KeyMeter(limits)
            return meter.admit(self.clock())


@dataclass(frozen=True)
class ApiKeyHolder:
    key_id: str
    plan_name: str  # the source or role the key's plan meters (its distsync:usage-plan tag)
    limits: Limits


class UsagePlanGate:
    """The keys and plans in moto's API Gateway backend, and a limiter over them."""

    def __init__(self, plan_tag: str, clock: Callable[[], float] = time.time):
        self._plan_tag = plan_tag
        self.limiter = KeyLimiter(clock)

    @staticmethod
    def _backend() -> Any:
        from moto.apigateway.models import apigateway_backends

        return apigateway_backends[ACCOUNT_ID][REGION]

    def holder(self, key_value: str | None) -> ApiKeyHolder | None:
        """The enabled key with this value and the plan it is on, or None (API Gateway's 403)."""
        if not key_value:
            return None
        backend = self._backend()
        key = next((k for k in list(backend.keys.values()) if k.value == key_value and k.enabled), None)
        if key is None:
            return None
        for plan_id, plan_keys in list(backend.usage_plan_keys.items()):
            plan = backend.usage_plans.get(plan_id)
            if key.id in plan_keys and plan is not None and self._plan_tag in (plan.tags or {}):
                return ApiKeyHolder(key.id, plan.tags[self._plan_tag], limits_of(plan))
        return None

    def admit(self, holder: ApiKeyHolder) -> Decision:
        return self.limiter.admit(holder.key_id, holder.limits)


def limits_of(plan: Any) -> Limits:
    throttle, quota = plan.throttle or {}, plan.quota or {}
    return Limits(float(throttle.get("rateLimit", 10_000)), int(throttle.get("burstLimit", 5_000)),
                  int(quota["limit"]) if quota.get("limit") else None)
