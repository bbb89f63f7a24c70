"""Contract tests: the Business Central connector against the simulator over real sockets on 127.0.0.1 (token
endpoint, the stockkeeping unit API page, $batch, subscriptions with the validation handshake, notifications).
The simulator is written from Microsoft's documentation; neither side was checked against a live BC."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from distsync.sim.businesscentral import BusinessCentralSimulator
from distsync.sim.http import JsonRequest, JsonServer
from distsync_core.connectors.businesscentral import (
    BusinessCentralConnector,
    ClientStateMismatch,
    CollectionChanged,
    SubscriptionRefused,
)
from distsync_core.connectors.port import (
    Conflict,
    ConnectorError,
    ItemLocationChange,
    PlanningParameters,
    Snapshot,
    StockBalance,
    WriteRequest,
)
from distsync_core.connectors.writes import apply_parameters
from distsync_core.partners.base import PartnerRejected, RetryLater

CLIENT_STATE = "distsync-bc-state-7f3c"


@pytest.fixture
def sim() -> Iterator[BusinessCentralSimulator]:
    server = BusinessCentralSimulator().start()
    yield server
    server.stop()


def connect(sim: BusinessCentralSimulator, **credentials: str) -> BusinessCentralConnector:
    secret = {**sim.credentials(), **credentials}
    return BusinessCentralConnector("bc", sim.base_url, lambda: secret,
                                    {"companyId": sim.company_id, "http": {"backoff_seconds": 0.01}})


@pytest.fixture
def bc(sim: BusinessCentralSimulator) -> BusinessCentralConnector:
    return connect(sim)


def request(item: str = "1896-S", ss: float = 11, rop: float = 22, lead: int | None = None) -> WriteRequest:
    return WriteRequest(item, "EAST", PlanningParameters(ss, rop, lead), correlation_id="c-1")


def api_calls(sim: BusinessCentralSimulator, method: str | None = None) -> list[dict[str, Any]]:
    return [r for r in sim.request_log() if "/api/" in r["path"] and (method is None or r["method"] == method)]


# ---------------------------------------------------------------------------------------------------- auth
def test_the_token_is_fetched_once_and_reused(sim, bc):
    sim.put_records([{"itemId": "1896-S", "locationId": "EAST", "safetyStock": 10, "reorderPoint": 20}])
    for _ in range(3):
        bc.read_parameters("1896-S", "EAST", correlation_id="c")
    assert (sim.tokens_issued, bc.auth.fetched) == (1, 1)
    assert {r["authorization"] for r in api_calls(sim)} == {"Bearer"}


def test_an_expired_token_is_fetched_again(sim, bc):
    sim.put_records([{"itemId": "1896-S", "locationId": "EAST", "safetyStock": 10, "reorderPoint": 20}])
    bc.read_parameters("1896-S", "EAST", correlation_id="c")
    sim.expire_tokens()  # BC answers 401: the connector fetches a new token once and repeats the call
    assert bc.read_parameters("1896-S", "EAST", correlation_id="c").parameters == PlanningParameters(10, 20)
    assert sim.tokens_issued == 2
    bc.auth._inner._expires = time.monotonic()  # the cache's own clock runs out: refreshed before the call
    bc.read_parameters("1896-S", "EAST", correlation_id="c")
    assert sim.tokens_issued == 3
    assert [r["method"] for r in sim.request_log()].count("POST") == 3


def test_a_wrong_secret_stops_at_entra_with_its_words(sim):
    bc = connect(sim, clientSecret="not-the-secret")
    with pytest.raises(PartnerRejected, match="invalid_client") as caught:
        bc.read_parameters("1896-S", "EAST", correlation_id="c")
    assert caught.value.status == 401
    assert api_calls(sim) == []


# ---------------------------------------------------------------------------------------- read and write
def test_read_then_write_with_the_etag_it_read(sim, bc):
    sim.put_records([{"itemId": "1896-S", "locationId": "EAST", "safetyStock": 10, "reorderPoint": 20,
                      "leadTimeDays": 5}])
    snapshot = bc.read_parameters("1896-S", "EAST", correlation_id="c")
    assert snapshot.parameters == PlanningParameters(10, 20, 5)
    outcome = apply_parameters(bc, request(lead=7))
    assert (outcome.outcome, outcome.conflicts) == ("written", 0)
    assert outcome.request_id and re.fullmatch(r"[0-9a-f-]{36}", outcome.request_id)
    [patch] = api_calls(sim, "PATCH")
    assert patch["ifMatch"] == snapshot.version
    [record] = sim.records()
    assert (record["safetyStockQuantity"], record["reorderPoint"], record["leadTimeCalculation"]) == (11, 22, "7D")
    assert record["@odata.etag"] != snapshot.version


def test_values_bc_already_holds_are_not_written(sim, bc):
    sim.put_records([{"itemId": "1896-S", "locationId": "EAST", "safetyStock": 11, "reorderPoint": 22}])
    assert apply_parameters(bc, request()).outcome == "unchanged"
    assert api_calls(sim, "PATCH") == []


def test_a_change_made_in_bc_between_read_and_write_is_read_again(sim, bc):
    sim.put_records([{"itemId": "1896-S", "locationId": "EAST", "safetyStock": 10, "reorderPoint": 20}])
    reads = 0
    original = bc.read_parameters

    def read_then_a_user_saves(item_id: str, location_id: str, *, correlation_id: str) -> Snapshot:
        nonlocal reads
        snapshot = original(item_id, location_id, correlation_id=correlation_id)
        reads += 1
        if reads == 1:  # a planner saves the card in BC after distsync's read
            sim.put_records([{"itemId": "1896-S", "locationId": "EAST", "safetyStock": 12}], notify=False)
        return snapshot

    bc.read_parameters = read_then_a_user_saves  # type: ignore[method-assign]
    outcome = apply_parameters(bc, request(ss=15, rop=22))
    assert (outcome.outcome, outcome.conflicts) == ("written", 1)
    patches = api_calls(sim, "PATCH")
    assert len(patches) == 2 and patches[0]["ifMatch"] != patches[1]["ifMatch"]
    assert sim.records()[0]["safetyStockQuantity"] == 15


def test_a_412_is_a_conflict_and_apply_parameters_decides_again(sim, bc):
    sim.put_records([{"itemId": "1896-S", "locationId": "EAST", "safetyStock": 10, "reorderPoint": 20}])
    snapshot = bc.read_parameters("1896-S", "EAST", correlation_id="c")
    sim.inject_fault(412, 1)
    with pytest.raises(Conflict, match="Another user has already changed the record"):
        bc.write_parameters(request(), snapshot)
    sim.inject_fault(412, 1)
    assert apply_parameters(bc, request()).conflicts == 1


def test_429_retry_after_is_honoured_within_the_invocation(sim, bc):
    sim.put_records([{"itemId": "1896-S", "locationId": "EAST", "safetyStock": 10, "reorderPoint": 20}])
    sim.inject_fault(429, 2, retry_after=0.3)
    started = time.monotonic()
    assert bc.read_parameters("1896-S", "EAST", correlation_id="c").parameters == PlanningParameters(10, 20)
    assert time.monotonic() - started >= 0.6  # waited as BC asked, twice
    assert len(api_calls(sim, "GET")) == 3
    sim.inject_fault(429, 1, retry_after=60)  # longer than an invocation waits: back to the queue
    with pytest.raises(RetryLater):
        bc.read_parameters("1896-S", "EAST", correlation_id="c")


def test_write_many_sends_one_batch_and_reports_each_write(sim, bc):
    sim.put_records([{"itemId": f"I{i}", "locationId": "EAST", "safetyStock": 1, "reorderPoint": 1} for i in range(3)])
    writes = [(request(f"I{i}", ss=5 + i), bc.read_parameters(f"I{i}", "EAST", correlation_id="c")) for i in range(3)]
    sim.put_records([{"itemId": "I1", "locationId": "EAST", "safetyStock": 9}], notify=False)  # stale now
    results = bc.write_many(writes, correlation_id="c")
    assert [r.status for r in results] == [200, 412, 200]
    assert isinstance(results[1].error, Conflict) and results[0].request_id
    assert [r["safetyStockQuantity"] for r in sorted(sim.records(), key=lambda r: r["itemNo"])] == [5, 9, 7]
    assert [r["method"] for r in api_calls(sim)][-1:] == ["POST"] and len(api_calls(sim, "PATCH")) == 0


# -------------------------------------------------------------------------------------------- delta pull
def test_the_delta_pull_pages_through_next_links_and_resumes_from_its_cursor(sim, bc):
    tie = "2026-01-05T08:00:00.123Z"
    sim.put_records([{"itemNo": f"I{i}", "locationCode": "EAST", "safetyStockQuantity": i, "reorderPoint": i,
                      "systemId": f"{9 - i:08d}-0000-0000-0000-000000000000",
                      "lastModifiedDateTime": tie if i in (1, 2, 3) else f"2026-01-05T0{i}:00:00Z"}
                     for i in range(6)], notify=False)
    first = bc.read_changes(None, correlation_id="c", limit=2)
    assert [c.item_id for c in first.changes] == ["I0", "I4"]
    lists = [r for r in api_calls(sim, "GET")]
    assert len(lists) == 3 and "$skiptoken=2" in lists[1]["path"] and lists[0]["prefer"] == "odata.maxpagesize=2"
    second = bc.read_changes(first.cursor, correlation_id="c", limit=2)
    assert [c.item_id for c in second.changes] == ["I5", "I3"]
    assert second.changes[0] == ItemLocationChange("I5", "EAST", PlanningParameters(5, 5), changed_at="2026-01-05T05:00:00Z")
    third = bc.read_changes(second.cursor, correlation_id="c", limit=2)
    assert [c.item_id for c in third.changes] == ["I2", "I1"]  # the rest of that instant, in SystemId order
    assert bc.read_changes(third.cursor, correlation_id="c").changes == []


# ---------------------------------------------------------------------------------------------- stock
def bc_control(sim: BusinessCentralSimulator, path: str, body: Any, status: int = 200) -> Any:
    req = urllib.request.Request(f"{sim.url}{path}", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
            assert resp.status == status
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        assert exc.code == status, exc.read()
        return json.loads(exc.read())


def test_stock_is_the_stockkeeping_units_flowfields_through_the_same_query(sim, bc):
    sim.put_records([{"itemId": "1896-S", "locationId": "EAST", "safetyStock": 10, "reorderPoint": 20},
                     {"itemId": "1896-S", "locationId": "EAST", "variantId": "BLUE", "safetyStock": 1}])
    bc_control(sim, "/_sim/bc/stock", {"stock": [
        {"itemId": "1896-S", "locationId": "EAST", "onHand": 40, "allocated": 12, "inTransit": 5},
        {"itemNo": "1896-S", "locationCode": "EAST", "variantCode": "BLUE", "inventory": 99}]})
    balance = bc.read_stock("1896-S", "EAST", correlation_id="c")
    assert balance == StockBalance("1896-S", "EAST", 40, 12, 5, balance.as_of if balance else None)
    [get] = api_calls(sim, "GET")  # one query, the blank variant only (the BLUE variant's 99 is not counted)
    assert get["authorization"] == "Bearer" and "variantCode%20eq%20%27%27" in get["path"]


def test_no_stockkeeping_unit_reads_as_none_and_one_without_stock_as_zero(sim, bc):
    sim.put_records([{"itemId": "1896-S", "locationId": "EAST", "safetyStock": 10, "reorderPoint": 20}])
    sim.set_stock({"itemId": "1896-S", "locationId": "WEST", "onHand": 7})  # stock, but no SKU to show it on
    assert bc.read_stock("1896-S", "WEST", correlation_id="c") is None
    assert bc.read_stock("1900-S", "EAST", correlation_id="c") is None
    zero = bc.read_stock("1896-S", "EAST", correlation_id="c")
    assert zero is not None and (zero.on_hand, zero.allocated, zero.in_transit) == (0, 0, 0)


def test_stock_moving_changes_no_etag_and_notifies_nobody(sim, bc):
    sim.put_records([{"itemId": "1896-S", "locationId": "EAST", "safetyStock": 10, "reorderPoint": 20}])
    before = bc.read_parameters("1896-S", "EAST", correlation_id="c")
    cursor = bc.read_changes(None, correlation_id="c").cursor
    sim.set_stock({"itemId": "1896-S", "locationId": "EAST", "onHand": 3})
    assert bc.read_parameters("1896-S", "EAST", correlation_id="c").version == before.version
    assert bc.read_changes(cursor, correlation_id="c").changes == []
    assert apply_parameters(bc, request(ss=11, rop=22)).outcome == "written"  # the ETag read before still holds
    assert bc.read_stock("1896-S", "EAST", correlation_id="c").on_hand == 3


def test_stock_reads_wait_out_throttling_and_the_control_refuses_what_bc_would_not_hold(sim, bc):
    sim.put_records([{"itemId": "1896-S", "locationId": "EAST", "safetyStock": 10, "reorderPoint": 20}])
    sim.set_stock({"itemId": "1896-S", "locationId": "EAST", "onHand": 2.5})
    sim.inject_fault(429, 1, retry_after=0.01)
    assert bc.read_stock("1896-S", "EAST", correlation_id="c").on_hand == 2.5
    assert [r["method"] for r in api_calls(sim, "GET")] == ["GET", "GET"]
    assert "must be a number" in bc_control(sim, "/_sim/bc/stock", {"itemId": "1896-S", "locationId": "EAST",
                                                                     "onHand": "many"}, status=400)["error"]
    assert "unknown stock fields" in bc_control(sim, "/_sim/bc/stock", {"itemId": "1896-S", "locationId": "EAST",
                                                                         "reserved": 1}, status=400)["error"]


# ---------------------------------------------------------------------------------------------- webhooks
class Receiver:
    """distsync's notification endpoint, as small as it gets: the handshake through the connector's
    validation_response, notifications through parse_notification."""

    def __init__(self, bc: BusinessCentralConnector):
        self.bc, self.pending = bc, False
        self.validations: list[str] = []
        self.changes: list[Any] = []
        self.statuses: list[int] = []
        self.received = threading.Event()
        self.server = JsonServer([("POST", re.compile(r"/hooks/bc"), self._handle, ("",))]).start()
        self.url = f"{self.server.url}/hooks/bc"

    def _handle(self, request: JsonRequest) -> tuple[int, Any, dict[str, str]]:
        query = parse_qs(urlsplit(request.path).query)
        if "validationToken" in query:
            self.validations.append(query["validationToken"][0])
            status, text = self.bc.validation_response(query, pending=self.pending)
            return status, text.encode(), {"Content-Type": "text/plain"}
        try:
            self.changes.extend(self.bc.parse_notification(request.body, CLIENT_STATE, correlation_id="n"))
            status = 202
        except ClientStateMismatch:
            status = 401
        self.statuses.append(status)
        self.received.set()
        return status, None, {}


@pytest.fixture
def receiver(bc: BusinessCentralConnector) -> Iterator[Receiver]:
    hooks = Receiver(bc)
    yield hooks
    hooks.server.stop()


def test_subscribing_performs_the_handshake_and_a_change_in_bc_is_notified(sim, bc, receiver):
    receiver.pending = True
    subscription = bc.subscribe(receiver.url, CLIENT_STATE)
    receiver.pending = False
    assert len(receiver.validations) == 1
    assert subscription.resource == bc.resource and subscription.etag
    [held] = sim.subscription_state()["subscriptions"]
    assert (held["clientState"], held["notificationUrl"]) == (CLIENT_STATE, receiver.url)

    sim.put_records([{"itemId": "1896-S", "locationId": "EAST", "safetyStock": 10, "reorderPoint": 20}])
    assert receiver.received.wait(5)
    assert receiver.changes == [ItemLocationChange("1896-S", "EAST", PlanningParameters(10, 20),
                                                   changed_at=sim.records()[0]["lastModifiedDateTime"])]
    [delivery] = sim.wait_for_deliveries(1)
    assert delivery["body"]["value"][0]["clientState"] == CLIENT_STATE and delivery["status"] == 202


def test_an_endpoint_that_does_not_echo_gets_no_subscription(sim, bc, receiver):
    with pytest.raises(SubscriptionRefused, match="validationToken"):
        bc.subscribe(receiver.url, CLIENT_STATE)  # not pending: our endpoint refuses the handshake
    assert len(receiver.validations) == 1
    assert sim.subscription_state()["subscriptions"] == []
    with pytest.raises(SubscriptionRefused):
        bc.subscribe("http://127.0.0.1:9/nobody-listens", CLIENT_STATE)


def test_renewing_repeats_the_handshake_with_the_subscriptions_etag(sim, bc, receiver):
    receiver.pending = True
    first = bc.subscribe(receiver.url, CLIENT_STATE)
    renewed = bc.renew(first)
    assert len(receiver.validations) == 2
    assert renewed.subscription_id == first.subscription_id and renewed.etag != first.etag
    [patch] = api_calls(sim, "PATCH")
    assert patch["ifMatch"] == first.etag
    with pytest.raises(Conflict):
        bc.renew(first)  # the old ETag


def test_many_changes_at_once_arrive_as_a_collection_marker(sim, bc, receiver):
    sim.collection_threshold = 2
    receiver.pending = True
    bc.subscribe(receiver.url, CLIENT_STATE)
    sim.put_records([{"itemId": f"I{i}", "locationId": "EAST", "safetyStock": i, "reorderPoint": i} for i in range(3)])
    assert receiver.received.wait(5)
    [marker] = receiver.changes
    assert isinstance(marker, CollectionChanged) and "lastModifiedDateTime" in marker.resource
    assert len(bc.read_changes(None, correlation_id="c").changes) == 3  # what the caller does with it


def test_a_forged_notification_is_answered_401_and_reads_nothing(sim, bc, receiver):
    forged = {"value": [{"subscriptionId": "x", "clientState": "guessed", "expirationDateTime": "2026-01-08T00:00:00Z",
                         "resource": f"{bc.resource}(00000000-0000-0000-0000-000000000001)", "changeType": "updated",
                         "lastModifiedDateTime": "2026-01-05T00:00:00Z"}]}
    post = urllib.request.Request(receiver.url, data=json.dumps(forged).encode(), method="POST",
                                  headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(post, timeout=5)  # noqa: S310
    assert caught.value.code == 401
    assert api_calls(sim) == [] and receiver.changes == []


def test_a_malformed_record_is_a_connector_error(sim, bc):
    sim.put_records([{"itemId": "1896-S", "locationId": "EAST", "safetyStock": 1, "reorderPoint": 1}])
    sim._records[sim.records()[0]["systemId"]]["reorderPoint"] = "n/a"
    with pytest.raises(ConnectorError, match="reorderPoint"):
        bc.read_parameters("1896-S", "EAST", correlation_id="c")
