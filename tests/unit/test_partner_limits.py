"""Limits per partner: how the usage plans' limits are resolved from context, and how the local gateway meters
a key the way API Gateway does (token bucket, daily quota) with the RateLimit header fields."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from distsync.local.usage_plans import KeyLimiter, Limits, seconds_to_utc_midnight
from distsync.sim.clients import caller_of
from infra.config import PartnerLimit, _partner_limits, resolve_limits

SOURCES = ("erp", "planning", "wms", "tms", "supplier")
ROLES = ("channels", "planners", "operations")
NOON = datetime(2026, 12, 5, 12, 0, tzinfo=UTC).timestamp()


def resolve(configured: dict, rate: int = 100, burst: int = 200) -> dict[str, PartnerLimit]:
    return resolve_limits(configured, SOURCES, ROLES, webhook_rate_limit=rate, webhook_burst_limit=burst,
                          role_rate_limit=100, role_burst_limit=200)


class Clock:
    def __init__(self, now: float = NOON) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --------------------------------------------------------------------------------------- resolving the limits
def test_sources_left_out_share_the_webhook_method_equally_and_roles_get_the_stage_default() -> None:
    limits = resolve({})
    assert {limits[s] for s in SOURCES} == {PartnerLimit(20, 40)}
    assert {limits[r] for r in ROLES} == {PartnerLimit(100, 200)}


def test_a_named_partner_gets_its_own_limits_and_the_others_share_what_is_left() -> None:
    limits = resolve({"planning": {"ratePerSecond": 60, "burst": 120, "dailyQuota": 50_000},
                      "channels": {"ratePerSecond": 5, "burst": 10}})
    assert limits["planning"] == PartnerLimit(60, 120, 50_000)
    assert {limits[s] for s in ("erp", "wms", "tms", "supplier")} == {PartnerLimit(10, 20)}
    assert limits["channels"] == PartnerLimit(5, 10)
    assert sum(limits[s].rate_per_second for s in SOURCES) == 100


@pytest.mark.parametrize("configured", [
    {"erp": {"ratePerSecond": 101, "burst": 10}},  # more than the method on its own
    {"erp": {"ratePerSecond": 60, "burst": 10}, "wms": {"ratePerSecond": 50, "burst": 10}},  # together
    {"erp": {"ratePerSecond": 100, "burst": 10}},  # nothing left for the other four
    {"erp": {"ratePerSecond": 10, "burst": 198}},  # a burst of 2 cannot be shared by four
])
def test_limits_that_would_let_one_partner_take_anothers_share_fail_the_synth(configured: dict) -> None:
    with pytest.raises(ValueError, match="one partner's flood could take another's share"):
        resolve(configured)


def test_an_unknown_name_fails_the_synth_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"partnerLimits names \['erpp'\]; known sources and roles"):
        resolve({"erpp": {"ratePerSecond": 1, "burst": 1}})


@pytest.mark.parametrize("value, message", [
    ({"erp": {"ratePerSecond": 1}}, "must be"),
    ({"erp": {"ratePerSecond": 1, "burst": 2, "daily": 3}}, "must be"),
    ({"erp": {"ratePerSecond": 0, "burst": 2}}, "positive"),
    ({"erp": {"ratePerSecond": "x", "burst": 2}}, "must be a number"),
    ({"erp": {"ratePerSecond": True, "burst": 2}}, "positive"),
    ("[1]", "JSON object"),
])
def test_context_partner_limits_are_checked_with_a_reason(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _partner_limits(value)


def test_context_partner_limits_arrive_as_json_text_from_the_command_line() -> None:
    text = json.dumps({"wms": {"ratePerSecond": "2.5", "burst": 5, "dailyQuota": 1000}})
    assert _partner_limits(text) == {"wms": {"ratePerSecond": 2.5, "burst": 5, "dailyQuota": 1000}}


# ----------------------------------------------------------------------------------- metering, as API Gateway
def test_a_key_gets_its_burst_at_once_then_429_until_the_bucket_refills_at_its_rate() -> None:
    clock = Clock()
    limiter = KeyLimiter(clock)
    limits = Limits(rate_per_second=2, burst=3)
    answers = [limiter.admit("k1", limits) for _ in range(4)]
    assert [a.allowed for a in answers] == [True, True, True, False]
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    refused = answers[-1]
    assert refused.refused_by == "rate" and refused.response_type == "THROTTLED"
    assert refused.headers["Retry-After"] == "1"  # one token takes 0.5 s at 2/s; whole seconds, at least 1
    assert refused.headers["RateLimit-Limit"] == "3"
    assert refused.headers["RateLimit-Reset"] == "2"  # 3 tokens at 2/s: full again in 1.5 s, rounded up
    clock.now += 0.5
    assert limiter.admit("k1", limits).allowed
    assert not limiter.admit("k1", limits).allowed
    clock.now += 10  # the bucket never holds more than its burst
    assert [limiter.admit("k1", limits).allowed for _ in range(4)] == [True, True, True, False]


def test_one_keys_flood_leaves_another_keys_bucket_untouched() -> None:
    limiter, limits = KeyLimiter(Clock()), Limits(rate_per_second=1, burst=2)
    flood = [limiter.admit("wms-key", limits).allowed for _ in range(50)]
    assert flood.count(True) == 2
    assert limiter.admit("erp-key", limits).allowed
    assert limiter.admit("erp-key", limits).headers["RateLimit-Remaining"] == "0"


def test_the_daily_quota_refuses_until_midnight_utc_and_counts_only_admitted_requests() -> None:
    clock = Clock()
    limiter, limits = KeyLimiter(clock), Limits(rate_per_second=1, burst=2, daily_quota=3)
    assert [limiter.admit("k", limits).allowed for _ in range(3)] == [True, True, False]  # the third: no token
    clock.now += 1
    third = limiter.admit("k", limits)
    assert third.allowed
    # the quota is nearer to running out than the bucket: the fields describe the quota
    assert (third.headers["RateLimit-Limit"], third.headers["RateLimit-Remaining"]) == ("3", "0")
    assert third.headers["RateLimit-Reset"] == str(12 * 3600 - 1)  # noon + 1 s: seconds to midnight UTC
    clock.now += 5
    over = limiter.admit("k", limits)
    assert (over.allowed, over.refused_by, over.response_type) == (False, "quota", "QUOTA_EXCEEDED")
    assert over.headers["Retry-After"] == str(seconds_to_utc_midnight(clock.now))
    clock.now = datetime(2026, 12, 6, 0, 0, 1, tzinfo=UTC).timestamp()
    assert limiter.admit("k", limits).allowed  # a new day


def test_seconds_to_midnight_is_never_zero() -> None:
    assert seconds_to_utc_midnight(datetime(2026, 12, 5, 23, 59, 59, 999_000, tzinfo=UTC).timestamp()) == 1
    assert seconds_to_utc_midnight(datetime(2026, 12, 5, 0, 0, tzinfo=UTC).timestamp()) == 86_400


def test_a_changed_plan_starts_a_full_bucket() -> None:
    limiter = KeyLimiter(Clock())
    assert not [limiter.admit("k", Limits(1, 1)).allowed for _ in range(2)][-1]
    assert limiter.admit("k", Limits(1, 5)).headers["RateLimit-Remaining"] == "4"


@pytest.mark.parametrize("path, caller", [
    ("/v1/webhooks/wms", "wms"), ("/v1/approvals/a-1", "planners"), ("/v1/atp/SKU/DC", "channels"),
    ("/v1/shipment-exceptions/c-1/resolution", "operations"), ("/_sim/erp/faults", None), ("/health", None),
])
def test_clients_send_the_api_key_of_the_caller_a_path_belongs_to(path: str, caller: str | None) -> None:
    assert caller_of(path) == caller
