"""Contract tests: the s4hana connector against S4Simulator over real sockets on 127.0.0.1 (CSRF with session
cookies, ETags, Basic and OAuth, $batch, paging, business events)."""

from __future__ import annotations

import json
import re
import threading
from typing import Any

import pytest

from distsync.sim.http import JsonServer
from distsync.sim.s4 import S4Simulator
from distsync_core.connectors.port import (
    ConnectorError,
    NotFound,
    PlanningParameters,
    Snapshot,
    StockBalance,
    WriteRequest,
)
from distsync_core.connectors.s4hana import EVERY_PLANT, STOCK_SERVICE, S4HanaConnector
from distsync_core.connectors.writes import apply_parameters
from distsync_core.partners.base import PartnerRejected

BASIC = {"user": "DISTSYNC", "password": "s4-password"}


@pytest.fixture
def s4():
    sim = S4Simulator(page_size=2).start()
    sim.put_record({"itemId": "SKU-1", "locationId": "1010", "safetyStock": 100, "reorderPoint": 200,
                    "leadTimeDays": 5}, push=False)
    yield sim
    sim.stop()


def connector(sim: S4Simulator, secret: dict[str, str] | None = None, **options: Any) -> S4HanaConnector:
    box = {"secret": dict(secret or BASIC)}
    conn = S4HanaConnector("s4", sim.base_url, lambda: dict(box["secret"]),
                           {"http": {"backoff_seconds": 0.01}, **options})
    conn.secret = box  # type: ignore[attr-defined]  # tests rotate it
    return conn


def write(ss: float, rop: float, item: str = "SKU-1", location: str = "1010", lead: int | None = None):
    return WriteRequest(item, location, PlanningParameters(ss, rop, lead), correlation_id="c-1")


def writes_of(sim: S4Simulator) -> list[dict[str, Any]]:
    return [r for r in sim.request_log() if r["method"] in ("PATCH", "MERGE", "POST")]


def test_a_read_gives_the_parameters_and_the_etag(s4):
    snapshot = connector(s4).read_parameters("SKU-1", "1010", correlation_id="c-1")
    assert snapshot.parameters == PlanningParameters(100.0, 200.0, 5)
    assert snapshot.version == s4.snapshot()[0]["etag"] and snapshot.version.startswith('W/"')
    assert connector(s4).read_parameters("SKU-1", "9999", correlation_id="c-1") == Snapshot(None)


def test_a_write_carries_the_fetched_csrf_token_with_its_cookies_and_if_match(s4):
    conn = connector(s4)
    outcome = apply_parameters(conn, write(110, 220.5, lead=7))
    assert outcome.outcome == "written" and outcome.request_id
    record = s4.snapshot()[0]
    assert (record["SafetyStockQuantity"], record["ReorderThresholdQuantity"],
            record["PlannedDeliveryDurationInDays"]) == ("110.000", "220.500", "7")
    read, patch = s4.request_log()
    assert read["xCsrfToken"] == "Fetch" and read["authorization"] == "Basic"  # fetched on the read itself
    assert patch["method"] == "PATCH" and patch["status"] == 204
    assert patch["xCsrfToken"] not in (None, "Fetch") and patch["ifMatch"].startswith('W/"')
    assert set(conn.http.cookies) == {"SAP_SESSIONID_S4H_100", "sap-usercontext"}  # both Set-Cookie kept


def test_a_second_write_reuses_the_token_and_unchanged_values_are_not_written(s4):
    conn = connector(s4)
    apply_parameters(conn, write(110, 220))
    assert apply_parameters(conn, write(110.0004, 220)).outcome == "unchanged"  # S/4 keeps 3 decimals
    apply_parameters(conn, write(120, 220))
    log = s4.request_log()
    assert [r["xCsrfToken"] == "Fetch" for r in log if r["method"] == "GET"] == [True, False, False]
    tokens = {r["xCsrfToken"] for r in writes_of(s4)}
    assert len(writes_of(s4)) == 2 and len(tokens) == 1


def test_a_stale_token_is_fetched_again_once(s4):
    conn = connector(s4)
    apply_parameters(conn, write(110, 220))
    s4.expire(sessions=True)  # the session timed out: its token is stale
    assert apply_parameters(conn, write(130, 220)).outcome == "written"
    log = s4.request_log()
    assert [(r["method"], r["status"]) for r in log[2:]] == [("GET", 200), ("PATCH", 403), ("GET", 200),
                                                             ("PATCH", 204)]
    assert log[4]["xCsrfToken"] == "Fetch" and log[5]["xCsrfToken"] != log[3]["xCsrfToken"]


def test_a_record_changed_between_read_and_write_is_read_again_and_written(s4):
    s4.inject_faults(412, 1)  # a user saves the record after distsync's read
    outcome = apply_parameters(connector(s4), write(110, 220))
    assert (outcome.outcome, outcome.conflicts) == ("written", 1)
    statuses = [(r["method"], r["status"]) for r in s4.request_log()]
    assert statuses == [("GET", 200), ("PATCH", 412), ("GET", 200), ("PATCH", 204)]
    assert s4.snapshot()[0]["SafetyStockQuantity"] == "110.000"


def test_throttling_is_waited_out_with_retry_after(s4):
    s4.inject_faults(429, 2, retry_after=0.05)
    snapshot = connector(s4).read_parameters("SKU-1", "1010", correlation_id="c-1")
    assert snapshot.parameters is not None
    assert [r["status"] for r in s4.request_log()] == [429, 429, 200]


def test_oauth_tokens_are_cached_refreshed_after_expiry_and_rotated_secrets_picked_up(s4):
    secret = {"clientId": "distsync", "clientSecret": "s4-client-secret", "tokenUrl": f"{s4.url}/oauth/token"}
    conn = connector(s4, secret)
    conn.read_parameters("SKU-1", "1010", correlation_id="c-1")
    apply_parameters(conn, write(110, 220))
    assert s4.tokens_issued == 1  # one token for a read, a read and a write
    assert {r["authorization"] for r in s4.request_log()} == {"Bearer"}
    s4.expire(tokens=True)  # the token expired at S/4: 401, a new token, the same request again
    conn.read_parameters("SKU-1", "1010", correlation_id="c-1")
    assert s4.tokens_issued == 2 and [r["status"] for r in s4.request_log()][-2:] == [401, 200]
    # the client secret is rotated: the old one is refused at the token endpoint, the secret is read again
    s4.clients["distsync"] = "rotated"
    conn.secret["secret"] = {**secret, "clientSecret": "rotated"}  # type: ignore[attr-defined]
    s4.expire(tokens=True)
    assert conn.read_parameters("SKU-1", "1010", correlation_id="c-1").parameters is not None
    assert s4.tokens_issued == 3


def test_a_rotated_basic_password_is_picked_up_after_a_401(s4):
    conn = connector(s4)
    conn.read_parameters("SKU-1", "1010", correlation_id="c-1")
    s4.users["DISTSYNC"] = "new-password"
    conn.secret["secret"] = {"user": "DISTSYNC", "password": "new-password"}  # type: ignore[attr-defined]
    assert conn.read_parameters("SKU-1", "1010", correlation_id="c-1").parameters is not None
    assert [r["status"] for r in s4.request_log()] == [200, 401, 200]


def test_sap_errors_come_back_with_saps_words(s4):
    conn = connector(s4)
    with pytest.raises(NotFound, match="Resource not found"):
        conn.write_parameters(write(1, 2, location="9999"), Snapshot(None, 'W/"x"'))
    with pytest.raises(ConnectorError, match="If-Match"):
        conn.write_parameters(write(1, 2), Snapshot(PlanningParameters(1, 1)))  # no ETag read: 428
    with pytest.raises(ConnectorError, match="map it in options.plantMap"):
        conn.read_parameters("SKU-1", "DC-EAST", correlation_id="c-1")
    with pytest.raises(PartnerRejected, match="Logon failed") as refused:
        connector(s4, {"user": "DISTSYNC", "password": "wrong"}).read_parameters("SKU-1", "1010",
                                                                                 correlation_id="c-1")
    assert refused.value.status == 401


def test_merge_through_x_http_method_and_a_plant_map(s4):
    conn = connector(s4, updateMethod="MERGE", plantMap={"DC-EAST": "1010"})
    assert apply_parameters(conn, write(150, 250, location="DC-EAST")).outcome == "written"
    merge = writes_of(s4)[0]
    assert (merge["method"], merge["xHttpMethod"], merge["status"]) == ("POST", "MERGE", 204)
    assert s4.snapshot()[0]["SafetyStockQuantity"] == "150.000"


def test_a_batch_answers_each_write_and_one_conflict_leaves_the_others_written(s4):
    for plant in ("1020", "1030"):
        s4.put_record({"itemId": "SKU-1", "locationId": plant, "safetyStock": 1, "reorderPoint": 2}, push=False)
    conn = connector(s4)
    snapshots = {plant: conn.read_parameters("SKU-1", plant, correlation_id="c-1") for plant in ("1010", "1020", "1030")}
    stale = Snapshot(snapshots["1020"].parameters, 'W/"stale"')
    results = conn.write_many([(write(11, 21, location="1010"), snapshots["1010"]),
                               (write(12, 22, location="1020"), stale),
                               (write(13, 23, location="1030"), snapshots["1030"])])
    assert [type(r.error).__name__ if r.error else "ok" for r in results] == ["ok", "Conflict", "ok"]
    assert results[0].request_id and results[1].request_id is None
    held = {r["Plant"]: r["SafetyStockQuantity"] for r in s4.snapshot()}
    assert held == {"1010": "11.000", "1020": "1.000", "1030": "13.000"}
    batch = writes_of(s4)
    assert len(batch) == 1 and batch[0]["path"].endswith("/$batch") and batch[0]["status"] == 202


def test_a_product_s_plants_are_read_through_next_pages(s4):
    for plant in ("1020", "1030", "1040", "1050"):
        s4.put_record({"itemId": "SKU-1", "locationId": plant, "safetyStock": 1, "reorderPoint": 2}, push=False)
    s4.put_record({"itemId": "SKU-2", "locationId": "1010", "safetyStock": 1, "reorderPoint": 2}, push=False)
    found = connector(s4, plantMap={"DC-EAST": "1010"}).read_item_locations("SKU-1", "c-1")
    assert [location for location, _ in found] == ["DC-EAST", "1020", "1030", "1040", "1050"]
    assert all(snapshot.version for _, snapshot in found)
    pages = [r for r in s4.request_log() if r["method"] == "GET"]
    assert len(pages) == 3 and "$skiptoken=2" in pages[1]["path"] and "$skiptoken=4" in pages[2]["path"]


# ---------------------------------------------------------------------------------------------- stock
def seed_stock(sim: S4Simulator) -> None:
    """SKU-1 at plant 1010: unrestricted-use stock in three storage locations (one batch-managed), stock in
    quality inspection (type 02) and supplier consignment (special stock K), which are not free stock."""
    for storage_location, quantity in (("0001", 10), ("0002", 5.5), ("0003", 0.25)):
        s4_post(sim, "/_sim/s4/stock", {"itemId": "SKU-1", "locationId": "1010", "onHand": quantity,
                                        "storageLocation": storage_location})
    s4_post(sim, "/_sim/s4/stock", {"stock": [
        {"Material": "SKU-1", "Plant": "1010", "StorageLocation": "0002", "Batch": "B-7", "InventoryStockType": "01",
         "MaterialBaseUnit": "EA", "MatlWrhsStkQtyInMatlBaseUnit": "2"},
        {"Material": "SKU-1", "Plant": "1010", "StorageLocation": "0001", "InventoryStockType": "02",
         "MatlWrhsStkQtyInMatlBaseUnit": "7"},
        {"Material": "SKU-1", "Plant": "1010", "StorageLocation": "0001", "InventoryStockType": "01",
         "InventorySpecialStockType": "K", "Supplier": "17300001", "MatlWrhsStkQtyInMatlBaseUnit": "3"},
        {"Material": "SKU-1", "Plant": "1020", "StorageLocation": "0001", "InventoryStockType": "01",
         "MatlWrhsStkQtyInMatlBaseUnit": "99"}]})


def s4_post(sim: S4Simulator, path: str, body: Any, status: int = 200) -> Any:
    import urllib3

    resp = urllib3.PoolManager().request("POST", f"{sim.url}{path}", body=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
    assert resp.status == status, resp.data
    return json.loads(resp.data)


def stock_reads(sim: S4Simulator) -> list[dict[str, Any]]:
    return [r for r in sim.request_log() if r["path"].startswith(STOCK_SERVICE)]


def test_stock_is_the_plants_unrestricted_use_stock_summed_through_next_pages(s4):
    seed_stock(s4)  # the simulator pages by 2: four unrestricted rows of SKU-1 at 1010 take three pages
    balance = connector(s4).read_stock("SKU-1", "1010", correlation_id="c-1")
    assert balance is not None
    assert (balance.item_id, balance.location_id, balance.on_hand) == ("SKU-1", "1010", 17.75)
    assert (balance.allocated, balance.in_transit, balance.unit_of_measure) == (0.0, 0.0, "EA")  # not in this API
    assert balance.as_of and balance.as_of.endswith("Z")
    reads = stock_reads(s4)
    assert [r["status"] for r in reads] == [200, 200, 200] and "$skiptoken=2" in reads[1]["path"]
    assert "Material eq 'SKU-1' and Plant eq '1010' and InventoryStockType eq '01'" in reads[0]["path"]
    assert reads[0]["authorization"] == "Basic" and reads[0]["xCsrfToken"] is None  # a read fetches no token


def test_no_stock_row_reads_as_none_and_the_plant_map_names_the_plant(s4):
    seed_stock(s4)
    conn = connector(s4, plantMap={"DC-EAST": "1010"})
    balance = conn.read_stock("SKU-1", "DC-EAST", correlation_id="c-1")
    assert balance == StockBalance("SKU-1", "DC-EAST", 17.75, as_of=balance.as_of if balance else None,
                                   unit_of_measure="EA")
    assert "Plant eq '1010'" in stock_reads(s4)[0]["path"]
    assert conn.read_stock("SKU-9", "DC-EAST", correlation_id="c-1") is None
    assert conn.read_stock("SKU-1", "1030", correlation_id="c-1") is None
    s4_post(s4, "/_sim/s4/stock", {"itemId": "SKU-9", "locationId": "1010", "onHand": 0})
    assert conn.read_stock("SKU-9", "DC-EAST", correlation_id="c-1").on_hand == 0  # a row of zero is stock 0


def test_special_stock_is_counted_only_when_the_connection_says_so(s4):
    seed_stock(s4)
    balance = connector(s4, includeSpecialStock=True).read_stock("SKU-1", "1010", correlation_id="c-1")
    assert balance is not None and balance.on_hand == 20.75  # + the supplier's consignment stock


def test_stock_reads_use_oauth_and_wait_out_throttling(s4):
    seed_stock(s4)
    s4.inject_faults(429, 1, retry_after=0.01)
    secret = {"clientId": "distsync", "clientSecret": "s4-client-secret", "tokenUrl": f"{s4.url}/oauth/token"}
    balance = connector(s4, secret).read_stock("SKU-1", "1010", correlation_id="c-1")
    assert balance is not None and balance.on_hand == 17.75
    assert [r["status"] for r in stock_reads(s4)][:2] == [429, 200]
    assert {r["authorization"] for r in stock_reads(s4)} == {"Bearer"}


def test_a_refused_logon_and_a_missing_service_come_back_in_words(s4):
    with pytest.raises(PartnerRejected):
        connector(s4, {"user": "DISTSYNC", "password": "wrong"}).read_stock("SKU-1", "1010", correlation_id="c-1")
    conn = connector(s4)
    conn.http.base_url += "/nowhere"  # a path where no Material Stock service answers
    with pytest.raises(ConnectorError, match="SAP_COM_0164"):
        conn.read_stock("SKU-1", "1010", correlation_id="c-1")


def test_the_stock_control_takes_the_short_form_and_refuses_what_s4_would_not_hold(s4):
    answer = s4_post(s4, "/_sim/s4/stock", {"itemId": "SKU-1", "locationId": "1010", "onHand": 4, "allocated": 1,
                                            "inTransit": 2})
    row = answer["stock"][0]
    assert (row["MatlWrhsStkQtyInMatlBaseUnit"], row["InventoryStockType"], row["StorageLocation"]) == \
        ("4.000", "01", "0001")
    assert row["notInThisApi"] == {"allocated": 1, "inTransit": 2}
    s4_post(s4, "/_sim/s4/stock", {"itemId": "SKU-1", "locationId": "1010", "onHand": 6})  # replaces the row
    assert connector(s4).read_stock("SKU-1", "1010", correlation_id="c-1").on_hand == 6
    assert "Plant" in s4_post(s4, "/_sim/s4/stock", {"itemId": "SKU-1", "locationId": "TOOLONG", "onHand": 1},
                              status=400)["error"]
    assert "not properties" in s4_post(s4, "/_sim/s4/stock", {"Material": "SKU-1", "Plant": "1010",
                                                              "Quantity": 1}, status=400)["error"]


@pytest.fixture
def subscriber():
    """distsync's events endpoint, as far as the push goes: it keeps what arrives."""
    received: list[tuple[dict[str, str], dict[str, Any]]] = []
    arrived = threading.Event()

    def events(request):
        received.append((request.headers, json.loads(request.body)))
        arrived.set()
        return 202, {"accepted": True}, {}

    server = JsonServer([("POST", re.compile(r"/v1/connectors/s4/events"), events,
                          ("application/cloudevents+json",))]).start()
    yield server, received, arrived
    server.stop()


def test_a_change_made_in_s4_is_pushed_as_a_business_event_and_claim_checked(s4, subscriber):
    server, received, arrived = subscriber
    s4.push_on_api_writes = False
    import urllib3

    def control(path: str, body: dict[str, Any]) -> Any:
        return urllib3.request("POST", f"{s4.url}/_sim/s4/{path}", json=body, timeout=5)

    control("subscriber", {"url": f"{server.url}/v1/connectors/s4/events",
                           "headers": {"Authorization": "Basic ZXZlbnQtbWVzaDpzZWNyZXQ="}})
    answer = control("records", {"Product": "SKU-1", "Plant": "1010", "SafetyStockQuantity": "140.000"})
    assert answer.status == 200
    assert arrived.wait(5)
    headers, event = received[0]
    assert headers["Authorization"] == "Basic ZXZlbnQtbWVzaDpzZWNyZXQ="
    assert headers["Content-Type"] == "application/cloudevents+json"
    conn = connector(s4)
    changes = conn.parse_business_event(json.dumps(event).encode())
    assert [(c.item_id, c.location_id) for c in changes] == [("SKU-1", EVERY_PLANT)]
    checked = conn.claim_check(changes, correlation_id="c-1")
    assert [(c.item_id, c.location_id, c.parameters) for c in checked] == \
        [("SKU-1", "1010", PlanningParameters(140.0, 200.0, 5))]
    assert s4.wait_for_events(1)[0]["status"] == 202


def test_a_write_through_the_api_is_pushed_too(s4, subscriber):
    server, received, arrived = subscriber
    s4.notify_url = f"{server.url}/v1/connectors/s4/events"
    apply_parameters(connector(s4), write(110, 220))
    assert arrived.wait(5) and received[0][1]["data"] == {"Product": "SKU-1"}
    assert s4.wait_for_events(1)[0]["status"] == 202
