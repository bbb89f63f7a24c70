"""Contract tests: the netsuite connector against NetSuiteSimulator over real sockets on 127.0.0.1 (signed
requests, read-compare-write, 401 re-auth, the account's concurrency limit, the SuiteQL delta pull)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3

from distsync.sim.netsuite import NetSuiteSimulator
from distsync_core.connectors.netsuite import NetSuiteConnector, TokenBasedAuth
from distsync_core.connectors.port import PlanningParameters, StockBalance, WriteRequest
from distsync_core.connectors.writes import apply_parameters
from distsync_core.partners.base import PartnerRejected, RetryLater

FAST = {"http": {"backoff_seconds": 0.02, "max_attempts": 12}}


@pytest.fixture
def sim() -> Iterator[NetSuiteSimulator]:
    server = NetSuiteSimulator(concurrency_limit=2).start()
    yield server
    server.stop()


def control(sim: NetSuiteSimulator, method: str, path: str, body: Any = None) -> Any:
    resp = urllib3.PoolManager().request(method, f"{sim.url}{path}", body=None if body is None else json.dumps(body),
                                         headers={"Content-Type": "application/json"})
    assert resp.status == 200, resp.data
    return json.loads(resp.data)


def connector(sim: NetSuiteSimulator, credentials: Any = None, **options: Any) -> NetSuiteConnector:
    return NetSuiteConnector("netsuite-test", sim.base_url, credentials or sim.credentials, {**FAST, **options})


def write(item: str, location: str, ss: float, rop: float, lead: int | None = None) -> WriteRequest:
    return WriteRequest(item, location, PlanningParameters(ss, rop, lead), correlation_id="corr-1")


def api_calls(sim: NetSuiteSimulator) -> list[tuple[str, int]]:
    return [(e["method"], e["status"]) for e in sim.requests()]


def test_a_signed_read_returns_the_locations_planning_fields(sim):
    sim.edit({"itemId": "SKU-1", "locationId": "DC-EAST", "safetyStock": 10, "reorderPoint": 25, "leadTimeDays": 4})
    snapshot = connector(sim).read_parameters("SKU-1", "DC-EAST", correlation_id="corr-1")
    assert snapshot.parameters == PlanningParameters(10, 25, 4)
    assert snapshot.version is None  # NetSuite documents no ETag on REST records
    get = [e for e in sim.requests() if e["method"] == "GET"][0]
    assert get["path"] == "/services/rest/record/v1/inventoryItem/eid:SKU-1?expandSubResources=true"
    assert get["oauth"]["realm"] == "1234567_SB1" and get["oauth"]["oauth_signature_method"] == "HMAC-SHA256"
    assert "oauth_signature" not in get["oauth"]  # the log keeps the protocol parameters, not the signature


def test_a_missing_location_line_reads_as_no_record(sim):
    sim.edit({"itemId": "SKU-1", "locationId": "DC-EAST", "safetyStock": 10, "reorderPoint": 25})
    sim.location_id("DC-WEST")
    ns = connector(sim)
    assert ns.read_parameters("SKU-1", "DC-WEST", correlation_id="c").parameters is None
    assert ns.read_parameters("SKU-404", "DC-EAST", correlation_id="c").parameters is None


def test_a_write_patches_its_line_only_and_records_netsuites_operation_id(sim):
    sim.edit({"itemId": "SKU-1", "locationId": "DC-EAST", "safetyStock": 10, "reorderPoint": 25, "leadTimeDays": 4})
    sim.edit({"itemId": "SKU-1", "locationId": "DC-WEST", "safetyStock": 1, "reorderPoint": 2})
    outcome = apply_parameters(connector(sim), write("SKU-1", "DC-EAST", 12.5, 30, 6))
    assert outcome.outcome == "written" and outcome.request_id  # X-N-OperationId of the PATCH
    assert ("PATCH", 204) in api_calls(sim)
    lines = {s["locationId"]: s for s in sim.records()[0]["short"]}
    assert (lines["DC-EAST"]["safetyStock"], lines["DC-EAST"]["reorderPoint"], lines["DC-EAST"]["leadTimeDays"]) == \
        (12.5, 30, 6)
    assert (lines["DC-WEST"]["safetyStock"], lines["DC-WEST"]["reorderPoint"]) == (1, 2)  # keyed: left alone


def test_values_netsuite_already_holds_are_not_written(sim):
    sim.edit({"itemId": "SKU-1", "locationId": "DC-EAST", "safetyStock": 12.5, "reorderPoint": 30})
    assert apply_parameters(connector(sim), write("SKU-1", "DC-EAST", 12.5, 30)).outcome == "unchanged"
    assert [m for m, _ in api_calls(sim)] == ["POST", "GET"]  # the location lookup, the read; no PATCH


def test_netsuites_refusal_is_raised_in_its_own_words(sim):
    sim.edit({"itemId": "SKU-1", "locationId": "DC-EAST", "safetyStock": 1, "reorderPoint": 2})
    with pytest.raises(PartnerRejected, match=r"HTTP 400: NUMBER_REQD: Invalid number \(must be at least 0\)"):
        apply_parameters(connector(sim), write("SKU-1", "DC-EAST", -1, 2))


def test_a_wrong_token_secret_gets_401_and_the_message_says_so(sim):
    sim.edit({"itemId": "SKU-1", "locationId": "DC-EAST", "safetyStock": 1, "reorderPoint": 2})
    wrong = {**sim.credentials(), "tokenSecret": "not-the-secret"}
    with pytest.raises(PartnerRejected, match="HTTP 401: INVALID_LOGIN: Invalid login attempt.*token") as refused:
        connector(sim, lambda: wrong).read_parameters("SKU-1", "DC-EAST", correlation_id="c")
    assert refused.value.status == 401
    requests = sim.requests()
    assert [(e["status"], e["authError"]) for e in requests] == [(401, "signature mismatch")] * 2  # re-auth once


def test_rotated_credentials_are_picked_up_after_a_401(sim):
    sim.edit({"itemId": "SKU-1", "locationId": "DC-EAST", "safetyStock": 1, "reorderPoint": 2})
    secret = sim.credentials()
    ns = connector(sim, lambda: dict(secret))
    assert ns.read_parameters("SKU-1", "DC-EAST", correlation_id="c").parameters is not None
    sim.rotate_token("token-2", "secret-2")  # the old token is revoked ...
    secret.update(tokenId="token-2", tokenSecret="secret-2")  # ... and the connection's secret rotated
    assert ns.read_parameters("SKU-1", "DC-EAST", correlation_id="c").parameters == PlanningParameters(1, 2)
    assert [e["status"] for e in sim.requests()][-2:] == [401, 200]
    assert sim.requests()[-2]["authError"] == "unknown or revoked token"


def test_a_replayed_nonce_is_refused(sim):
    url = f"{sim.url}/services/rest/record/v1/inventoryItem/eid:SKU-1"
    headers = TokenBasedAuth(sim.credentials).headers("GET", url)
    http = urllib3.PoolManager()
    assert http.request("GET", url, headers=headers).status == 404  # signed right: no such item
    replay = http.request("GET", url, headers=headers)
    assert replay.status == 401 and json.loads(replay.data)["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"
    assert sim.requests()[-1]["authError"] == "nonce and timestamp used before (a replay)"


def test_429_beyond_the_accounts_concurrency_limit_is_waited_out(sim):
    for n in range(3):
        sim.edit({"itemId": f"SKU-{n}", "locationId": "DC-EAST", "safetyStock": n, "reorderPoint": 10 + n})
    ns = connector(sim, locationMap={"DC-EAST": sim.location_id("DC-EAST")})
    results: dict[int, Any] = {}

    def read(n: int) -> None:
        results[n] = ns.read_parameters(f"SKU-{n}", "DC-EAST", correlation_id=f"c-{n}").parameters

    with sim.holding() as gate:
        threads = [threading.Thread(target=read, args=(n,)) for n in range(3)]
        for t in threads:
            t.start()
        # two reads held in flight (the limit); the third was answered 429 and is being retried
        assert sim.wait_until(lambda s: s.in_flight == 2 and s.throttled >= 1)
        gate.set()
        for t in threads:
            t.join(10)
    assert results == {n: PlanningParameters(n, 10 + n) for n in range(3)}
    assert sim.max_in_flight == 2
    throttled = [e for e in sim.requests() if e.get("throttled")]
    assert throttled and all(e["status"] == 429 for e in throttled)


def test_a_retry_after_beyond_the_invocation_gives_the_message_back(sim):
    sim.edit({"itemId": "SKU-1", "locationId": "DC-EAST", "safetyStock": 1, "reorderPoint": 2})
    ns = connector(sim, locationMap={"DC-EAST": sim.location_id("DC-EAST")})
    control(sim, "POST", "/_sim/netsuite/faults", {"status": 503, "count": 1, "retryAfter": 0})
    assert ns.read_parameters("SKU-1", "DC-EAST", correlation_id="c").parameters == PlanningParameters(1, 2)
    control(sim, "POST", "/_sim/netsuite/faults", {"status": 429, "count": 1, "retryAfter": 120})
    with pytest.raises(RetryLater, match="Retry-After 120"):
        ns.read_parameters("SKU-1", "DC-EAST", correlation_id="c")


def seed_ties(sim: NetSuiteSimulator) -> list[tuple[str, str]]:
    """Nine item-locations: one before, seven in one second (one of them 0.7 s into it), one after."""
    control(sim, "POST", "/_sim/netsuite/records", {"records": [
        {"itemId": "SKU-0", "locationId": "DC-A", "safetyStock": 0, "reorderPoint": 1,
         "lastModifiedDate": "2024-05-01 09:59:59"},
        *({"itemId": f"SKU-{n}", "locations": {"items": [
            {"location": {"refName": "DC-A"}, "safetyStockLevel": n, "reorderPoint": 10 * n},
            {"location": {"refName": "DC-B"}, "safetyStockLevel": n, "reorderPoint": 10 * n, "leadTime": n}]},
           "lastModifiedDate": "2024-05-01 10:00:00" + (".700000" if n == 2 else "")} for n in (1, 2, 3)),
        {"itemId": "SKU-4", "locationId": "DC-A", "safetyStock": 4, "reorderPoint": 40,
         "lastModifiedDate": "2024-05-01 10:00:00"},
        {"itemId": "SKU-5", "locationId": "DC-B", "safetyStock": 5, "reorderPoint": 50,
         "lastModifiedDate": "2024-05-01 10:00:01"},
    ]})
    return [("SKU-0", "DC-A"), *((f"SKU-{n}", loc) for n in (1, 2, 3) for loc in ("DC-A", "DC-B")),
            ("SKU-4", "DC-A"), ("SKU-5", "DC-B")]


def test_a_delta_pull_pages_with_limit_and_offset_and_resumes_after_its_cursor(sim):
    expected = seed_ties(sim)
    ns = connector(sim, pageSize=2)
    first = ns.read_changes(None, correlation_id="pull-1", limit=5)
    suiteql = [e for e in sim.requests() if e["path"].startswith("/services/rest/query/v1/suiteql")]
    assert [e["path"].split("?")[1] for e in suiteql] == ["limit=2&offset=0", "limit=2&offset=2", "limit=2&offset=4"]
    assert all(e["prefer"] == "transient" for e in suiteql)
    # stopped inside the second seven rows share: at SKU-2 (internal id 3, 0.7 s into it) at DC-B (id 2)
    assert first.cursor == "v1|2024-05-01 10:00:00|3|2"
    second = ns.read_changes(first.cursor, correlation_id="pull-2", limit=5)
    pulled = [(c.item_id, c.location_id) for c in [*first.changes, *second.changes]]
    assert pulled == expected  # in order, none skipped, none twice
    # the query carries the values
    assert [c.parameters for c in second.changes[:2]] == [PlanningParameters(3, 30), PlanningParameters(3, 30, 3)]
    assert second.changes[-1].changed_at == "2024-05-01T10:00:01"
    assert ns.read_changes(second.cursor, correlation_id="pull-3").changes == []


def test_a_change_made_in_netsuite_appears_in_the_next_pull(sim):
    seed_ties(sim)
    ns = connector(sim)
    cursor = ns.read_changes(None, correlation_id="pull-1").cursor
    assert ns.read_changes(cursor, correlation_id="pull-2").cursor is None  # nothing new
    control(sim, "POST", "/_sim/netsuite/records",
            {"itemId": "SKU-1", "locationId": "DC-B", "safetyStock": 7, "reorderPoint": 70, "leadTimeDays": 9})
    page = ns.read_changes(cursor, correlation_id="pull-3")
    # the edit moved the item's lastmodifieddate: both its locations come again, with what they now hold
    assert [(c.item_id, c.location_id, c.parameters) for c in page.changes] == [
        ("SKU-1", "DC-A", PlanningParameters(1, 10)), ("SKU-1", "DC-B", PlanningParameters(7, 70, 9))]


def test_a_location_map_names_netsuites_locations_and_leaves_others_out(sim):
    seed_ties(sim)
    a = sim.location_id("DC-A")
    ns = connector(sim, itemIdField="itemId", locationMap={"EAST": a})
    changes = ns.read_changes(None, correlation_id="pull").changes
    assert {c.location_id for c in changes} == {"EAST"} and len(changes) == 5
    assert ns.read_parameters("SKU-4", "EAST", correlation_id="c").parameters == PlanningParameters(4, 40)
    assert apply_parameters(ns, write("SKU-4", "EAST", 5, 41)).outcome == "written"
    records = {r["itemId"]: r for r in control(sim, "GET", "/_sim/netsuite/records")["records"]}
    assert records["SKU-4"]["short"] == [
        {"itemId": "SKU-4", "locationId": "DC-A", "safetyStock": 5, "reorderPoint": 41, "leadTimeDays": None}]


# ---------------------------------------------------------------------------------------------- stock
def suiteql_calls(sim: NetSuiteSimulator) -> list[dict[str, Any]]:
    return [e for e in sim.requests() if e["path"].startswith("/services/rest/query/v1/suiteql")]


def test_stock_is_one_signed_suiteql_query_over_the_item_locations(sim):
    answer = control(sim, "POST", "/_sim/netsuite/stock", {"itemId": "SKU-1", "locationId": "DC-EAST", "onHand": 40,
                                                           "allocated": 12, "inTransit": 5, "onOrder": 30})
    assert answer["stock"][0]["quantityavailable"] == 28  # on hand less committed, as NetSuite shows it
    ns = connector(sim, locationMap={"DC-EAST": sim.location_id("DC-EAST")})
    balance = ns.read_stock("SKU-1", "DC-EAST", correlation_id="corr-1")
    assert balance == StockBalance("SKU-1", "DC-EAST", 40, 12, 5, balance.as_of if balance else None)
    [call] = suiteql_calls(sim)  # the location map names the location: no lookup
    assert call["status"] == 200 and call["prefer"] == "transient" and call["path"].endswith("limit=2&offset=0")
    assert call["oauth"]["oauth_signature_method"] == "HMAC-SHA256"


def test_a_location_named_in_netsuite_is_looked_up_once(sim):
    sim.set_stock({"itemId": "SKU-1", "locationId": "DC-EAST", "onHand": 3})
    ns = connector(sim)
    assert ns.read_stock("SKU-1", "DC-EAST", correlation_id="c-1").on_hand == 3
    assert ns.read_stock("SKU-1", "DC-EAST", correlation_id="c-2").on_hand == 3
    assert len(suiteql_calls(sim)) == 3  # location lookup, stock, stock


def test_empty_quantities_are_zero_and_what_netsuite_does_not_have_is_none(sim):
    sim.edit({"itemId": "SKU-1", "locationId": "DC-EAST", "safetyStock": 1, "reorderPoint": 2})  # no stock yet
    sim.location_id("DC-WEST")
    ns = connector(sim)
    read = ns.read_stock("SKU-1", "DC-EAST", correlation_id="c")  # as of now: compared with itself, not a 2nd read
    assert read == StockBalance("SKU-1", "DC-EAST", 0, 0, 0, read.as_of)
    assert ns.read_stock("SKU-9", "DC-EAST", correlation_id="c") is None  # no such item
    assert ns.read_stock("SKU-1", "DC-WEST", correlation_id="c") is None  # no line at that location
    assert ns.read_stock("SKU-1", "NOWHERE", correlation_id="c") is None  # no such location


def test_netsuite_field_names_and_the_other_item_keys(sim):
    control(sim, "POST", "/_sim/netsuite/stock", {"stock": [
        {"itemId": "Widget", "externalId": "SKU-7", "location": {"refName": "DC-EAST"}, "quantityOnHand": 9.5,
         "quantityCommitted": 2, "quantityInTransit": 1.25}]})
    internal = str(sim.records()[0]["id"])
    assert connector(sim).read_stock("SKU-7", "DC-EAST", correlation_id="c").on_hand == 9.5
    assert connector(sim, itemIdField="itemId").read_stock("Widget", "DC-EAST", correlation_id="c").allocated == 2
    by_id = connector(sim, itemIdField="internalId")
    assert by_id.read_stock(internal, "DC-EAST", correlation_id="c").in_transit == 1.25
    assert by_id.read_stock("not-a-number", "DC-EAST", correlation_id="c") is None


def test_stock_moving_leaves_the_delta_pull_alone(sim):
    sim.edit({"itemId": "SKU-1", "locationId": "DC-EAST", "safetyStock": 1, "reorderPoint": 2})
    ns = connector(sim)
    cursor = ns.read_changes(None, correlation_id="pull-1").cursor
    sim.set_stock({"itemId": "SKU-1", "locationId": "DC-EAST", "onHand": 50})
    assert ns.read_changes(cursor, correlation_id="pull-2").changes == []
    assert ns.read_stock("SKU-1", "DC-EAST", correlation_id="c").on_hand == 50


def test_a_column_the_account_does_not_have_is_refused_in_netsuites_words(sim):
    sim.set_stock({"itemId": "SKU-1", "locationId": "DC-EAST", "onHand": 1})
    ns = connector(sim, fields={"colInTransit": "quantityintransitx"})
    with pytest.raises(PartnerRejected, match="INVALID_PARAMETER: Invalid search query"):
        ns.read_stock("SKU-1", "DC-EAST", correlation_id="c")
    bad = control_status(sim, "/_sim/netsuite/stock", {"itemId": "SKU-1", "locationId": "DC-EAST", "onHand": "x"})
    assert bad == 400


def control_status(sim: NetSuiteSimulator, path: str, body: Any) -> int:
    resp = urllib3.PoolManager().request("POST", f"{sim.url}{path}", body=json.dumps(body),
                                         headers={"Content-Type": "application/json"})
    return resp.status
