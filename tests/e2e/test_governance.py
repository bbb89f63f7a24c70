"""Governance on a local stack of its own, deployed with partner limits and a sunset version.

Limits per partner, as API Gateway enforces them on AWS: a partner over its rate gets 429 with Retry-After and a
problem naming the limit while another partner keeps its 202s; a daily quota ends in 429 until midnight UTC; a
request without a valid API key gets 403; a key issued with `distsync keys issue` works at once and a retired
one stops. A version past its sunset gets 410 naming its successor (a deprecated one before its sunset:
test_contract_lifecycle.py, on the shared stack)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from distsync.sim.clients import SignedClient, SupplierClientSim, WmsClientSim
from tests.e2e.conftest import SECRET, LocalStackProcess, start_local_stack, stop_local_stack

pytestmark = pytest.mark.e2e

LIMITS = {"wms": {"ratePerSecond": 1, "burst": 3}, "supplier": {"ratePerSecond": 1, "burst": 5, "dailyQuota": 3}}
SUNSET = {"InventoryBalanceChanged/1": {"deprecated": "2020-01-01", "sunset": "2021-01-01"}}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    log = tmp_path_factory.mktemp("limited") / "local-up.log"
    with log.open("w") as out:
        proc, url, info = start_local_stack("-c", f"partnerLimits={json.dumps(LIMITS)}",
                                            "-c", f"contractLifecycle={json.dumps(SUNSET)}", output=out)
    stack = LocalStackProcess(url, info, proc)
    try:
        yield stack
        stack.assert_nothing_lost()  # a refused request published nothing; every 202 ended as expected
    finally:
        stop_local_stack(proc)


def _balance(stack: LocalStackProcess, client: SignedClient, source: str, sku: str, cid: str):
    return client.webhook(source, "InventoryBalanceChanged", {  # v2: v1 is past its sunset on this stack
        "itemId": sku, "locationId": "DC-1", "onHand": 10, "allocated": 0, "inTransit": 0, "lots": [],
        "asOf": "2026-12-01T00:00:00Z", "sourceSystem": source}, version="2", correlation_id=cid)


def test_a_partner_over_its_rate_gets_429_while_another_keeps_its_202s(limited: LocalStackProcess) -> None:
    run = uuid.uuid4().hex[:6]
    wms, erp = [], []
    for i in range(8):  # far faster than 1/s: the burst of 3, then 429s
        wms.append(_balance(limited, limited.wms, "wms", f"LIM-{run}", f"lim-wms-{run}-{i}"))
        erp.append(limited.erp.inventory_balance(f"LIM-{run}", "DC-2", on_hand=i, lots=[],
                                                 correlation_id=f"lim-erp-{run}-{i}"))
    assert [r.status for r in erp] == [202] * 8  # the ERP's own plan: untouched by the WMS's flood
    # (balances of an item-location without master data: each accepted one ends quarantined, not lost)
    for i, r in enumerate(erp):
        limited.expect(r, f"lim-erp-{run}-{i}", "quarantined")
    statuses = [r.status for r in wms]
    assert statuses[:3] == [202] * 3 and statuses.count(429) >= 4, statuses
    for i, r in enumerate(wms):
        if r.status == 202:
            limited.expect(r, f"lim-wms-{run}-{i}", "quarantined")
    assert [wms[i].headers["RateLimit-Limit"] for i in range(3)] == ["3"] * 3
    assert int(wms[0].headers["RateLimit-Remaining"]) > int(wms[2].headers["RateLimit-Remaining"])
    refused = next(r for r in wms if r.status == 429)
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert int(refused.headers["Retry-After"]) >= 1 and refused.headers["RateLimit-Remaining"] == "0"
    assert refused.body["status"] == 429 and refused.body["type"].endswith("#rate-limited")
    assert "rate limit" in refused.body["detail"]
    limited.wait_idle()
    refused_cids = {f"lim-wms-{run}-{i}" for i, r in enumerate(wms) if r.status == 429}
    assert not [e for e in limited.drain_probe() if e["detail"]["metadata"]["correlationId"] in refused_cids]


def test_a_daily_quota_ends_in_429_until_midnight_utc(limited: LocalStackProcess) -> None:
    run = uuid.uuid4().hex[:6]
    supplier = SupplierClientSim(limited.url, SECRET, limited.api_keys)
    answers = [supplier.lead_time("SUP-1", f"Q-{run}", "DC-1", 5 + i, correlation_id=f"quota-{run}-{i}")
               for i in range(4)]
    assert [a.status for a in answers] == [202, 202, 202, 429]
    for i, a in enumerate(answers[:3]):  # lead times of an item-location without master data: quarantined
        limited.expect(a, f"quota-{run}-{i}", "quarantined")
    assert [a.headers["RateLimit-Remaining"] for a in answers[:3]] == ["2", "1", "0"]
    assert answers[2].headers["RateLimit-Limit"] == "3"  # the quota is the nearer limit: the fields describe it
    over = answers[3]
    assert over.body["type"].endswith("#quota-exceeded") and "daily quota" in over.body["detail"]
    assert 0 < int(over.headers["Retry-After"]) <= 86_400


def test_without_a_valid_api_key_the_answer_is_403_with_the_reason(limited: LocalStackProcess) -> None:
    for keys in ({}, {"wms": "not-a-key-distsync-issued"}):
        result = _balance(limited, WmsClientSim(limited.url, SECRET, keys), "wms", "K-1", f"nokey-{uuid.uuid4().hex[:6]}")
        assert result.status == 403
        assert result.headers["Content-Type"] == "application/problem+json"
        assert "x-api-key" in result.body["detail"]


def test_a_key_issued_by_the_cli_works_at_once_and_a_retired_one_stops(limited: LocalStackProcess) -> None:
    issued = limited.cli("keys", "issue", "operations", "--json")
    assert issued.returncode == 0, issued.stderr
    (new,) = json.loads(issued.stdout)
    old_id = next(k["id"] for k in json.loads(limited.cli("keys", "api-keys", "operations", "--json").stdout)
                  if k["id"] != new["id"])
    old = limited.api_keys["operations"]
    probe = "/v1/shipment-exceptions/no-such-case/resolution"
    for key in (old, new["value"]):  # both keys are on the plan: the operator's 404 comes from the function
        answer = SignedClient(limited.url, SECRET, {"operations": key}).post(probe, {"resolution": "delivered_late"},
                                                                            bound_to_path=True)
        assert answer.status not in (403, 429), answer.body
    retired = limited.cli("keys", "retire", "operations", old_id)
    assert retired.returncode == 0, retired.stdout + retired.stderr
    after = SignedClient(limited.url, SECRET, {"operations": old}).post(probe, {"resolution": "delivered_late"},
                                                                     bound_to_path=True)
    assert after.status == 403
    assert limited.cli("keys", "api-key", "operations").stdout.strip() == new["value"]


def test_a_version_past_its_sunset_is_gone_naming_its_successor(limited: LocalStackProcess) -> None:
    cid = f"gone-{uuid.uuid4().hex[:6]}"
    gone = limited.erp.inventory_balance("GONE-1", "DC-1", on_hand=5, correlation_id=cid)  # v1
    assert gone.status == 410, gone.body
    assert gone.headers["Content-Type"] == "application/problem+json"
    assert gone.body["type"].endswith("#gone") and gone.body["successorVersion"] == "2"
    assert gone.body["successorSchema"].endswith("/schemas/InventoryBalanceChanged-v2.json")
    assert "eventVersion '2'" in gone.body["detail"] and "2021-01-01" in gone.body["detail"]
    limited.wait_idle()
    assert not [e for e in limited.drain_probe() if e["detail"]["metadata"]["correlationId"] == cid]
