"""Inventory & ATP against moto: the inventory transformer (master data check, quarantine and automatic
release, newer/stale/equal balances, the published availability), the signed ATP API, and planning sync
against the planning simulator over real HTTP."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from distsync.sim.partner import PlanningSimulator
from distsync.trace import status_of
from distsync_core import partners
from distsync_core.contracts import (
    CONTRACTS,
    InventoryAvailabilityUpdated,
    ItemLocationUpserted,
    PlanningException,
    derive_id,
    new_envelope,
)
from distsync_core.platform.signing import signed_headers
from tests.conftest import FakeLambdaContext, load_handler
from tests.integration.conftest import SECRET, api_event, sqs_event

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
ATP_RESOURCE = "/v1/atp/{itemId}/{locationId}"


# ------------------------------------------------------------------------------------------ builders
def bus_event(envelope: Any, source: str) -> dict[str, Any]:
    """An EventBridge event as the rule delivers it to SQS, with the bus source the publisher uses."""
    detail = json.loads(envelope.model_dump_json(by_alias=True))
    return {"version": "0", "id": f"e-{detail['metadata']['eventId']}", "detail-type": detail["metadata"]["eventType"],
            "source": source, "account": "123456789012", "time": "2026-11-27T00:00:00Z", "region": "us-east-1",
            "resources": [], "detail": detail}


def balance(cid: str = "corr-inv", version: str = "1", *, as_of: datetime = T0, item: str = "SKU-1",
            loc: str = "DC-1", **data: Any) -> dict[str, Any]:
    """An InventoryBalanceChanged bus event (v1, or v2 with ``lots``)."""
    fields = {"itemId": item, "locationId": loc, "onHand": 100, "allocated": 30, "inTransit": 50,
              "asOf": as_of.isoformat(), "sourceSystem": "wms", **data}
    contract = CONTRACTS[("InventoryBalanceChanged", version)]
    envelope = new_envelope(contract, contract.model.model_validate(fields), source="wms", correlation_id=cid)
    return bus_event(envelope, "distsync.inventory")


def master(item: str = "SKU-1", loc: str = "DC-1") -> dict[str, Any]:
    data = ItemLocationUpserted(item_id=item, location_id=loc, unit_of_measure="EA", safety_stock=10,
                                reorder_point=20, supplier_id="SUP-1", lead_time_days=4)
    envelope = new_envelope(CONTRACTS[("ItemLocationUpserted", "1")], data, source="erp", correlation_id="corr-md")
    return bus_event(envelope, "distsync.erp")


def run(folder: str, *events: Any, receive_count: int = 1) -> dict[str, Any]:
    module = load_handler(folder)
    return module.lambda_handler(sqs_event(*events, receive_count=receive_count), FakeLambdaContext(folder))


def event_id(event: dict[str, Any]) -> str:
    return event["detail"]["metadata"]["eventId"]


def hops(aws, cid: str) -> list[dict[str, Any]]:
    return sorted((h for h in aws.items("TRACE_TABLE_NAME") if h["correlationId"] == cid), key=lambda h: h["at"])


@pytest.fixture
def inventory(aws, monkeypatch):
    """The inventory projection table (as in the stack: pk) and the ATP horizon."""
    boto3.client("dynamodb").create_table(
        TableName="inventory", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    monkeypatch.setenv("INVENTORY_TABLE_NAME", "inventory")
    monkeypatch.setenv("ATP_HORIZON_DAYS", "14")
    return boto3.resource("dynamodb").Table("inventory")


def stored(table, item: str = "SKU-1", loc: str = "DC-1") -> dict[str, Any] | None:
    return table.get_item(Key={"pk": f"{item}#{loc}"}, ConsistentRead=True).get("Item")


def published(aws, wait: float = 0.0) -> list[dict[str, Any]]:
    return aws.probe(wait=wait)


# ------------------------------------------------------------------------------- inventory transformer
def test_unknown_item_location_waits_in_quarantine_and_is_released_when_master_data_arrives(aws, inventory):
    event = balance("corr-early")
    assert run("inventory_transformer", event) == {"batchItemFailures": []}  # acknowledged, not retried
    [q] = aws.items("QUARANTINE_TABLE_NAME")
    assert (q["stage"], q["status"], q["waitingFor"]) == ("inventory", "QUARANTINED", "ITEMLOC#SKU-1#DC-1")
    assert "unknown item-location SKU-1@DC-1" in q["reason"] and q["eventId"] == event_id(event)
    assert stored(inventory) is None and published(aws, 0.2) == []
    assert [(h["stage"], h["outcome"]) for h in hops(aws, "corr-early")] == [("inventory", "quarantined")]
    assert status_of(hops(aws, "corr-early")) == "quarantined"

    # Master data for another item-location releases nothing.
    run("masterdata_transformer", master(item="SKU-2"))
    assert aws.items("QUARANTINE_TABLE_NAME")[0]["status"] == "QUARANTINED" and published(aws, 0.2) == []

    assert run("masterdata_transformer", master()) == {"batchItemFailures": []}
    [q] = aws.items("QUARANTINE_TABLE_NAME")
    assert q["status"] == "RELEASED"
    [released] = published(aws)
    assert (released["source"], released["detail-type"]) == ("distsync.inventory", "InventoryBalanceChanged")
    assert released["detail"] == event["detail"]  # the original event, same id, back on the bus
    assert [(h["stage"], h["outcome"]) for h in hops(aws, "corr-early")] == [
        ("inventory", "quarantined"), ("quarantine", "released")]
    assert status_of(hops(aws, "corr-early")) == "in_flight"

    # The inventory pipeline gets it again and now applies it.
    assert run("inventory_transformer", released) == {"batchItemFailures": []}
    assert stored(inventory)["sourceEventId"] == event_id(event)
    [availability] = published(aws)
    assert availability["detail-type"] == "InventoryAvailabilityUpdated"
    assert availability["detail"]["metadata"]["correlationId"] == "corr-early"
    assert [h["outcome"] for h in hops(aws, "corr-early")] == ["quarantined", "released", "ok"]


def test_the_published_availability_carries_the_computed_atp(aws, inventory):
    run("masterdata_transformer", master())
    due = datetime.now(UTC) + timedelta(days=3)
    event = balance("corr-atp", "2", inTransitDueAt=due.isoformat(),
                    lots=[{"lotNumber": "L-1", "quantity": 60}, {"lotNumber": "L-2", "quantity": 40}])
    assert run("inventory_transformer", event) == {"batchItemFailures": []}
    [out] = published(aws)
    meta, data = out["detail"]["metadata"], out["detail"]["data"]
    assert (out["source"], out["detail-type"]) == ("distsync.atp", "InventoryAvailabilityUpdated")
    assert meta["eventId"] == derive_id(event_id(event), "InventoryAvailabilityUpdated")  # same on redelivery
    assert (meta["correlationId"], meta["causationId"], meta["source"]) == ("corr-atp", event_id(event),
                                                                            "distsync.inventory")
    assert InventoryAvailabilityUpdated.model_validate(data).available_to_promise == 120  # 100 - 30 + 50
    assert (data["onHand"], data["allocated"], data["inTransit"], data["lotCount"]) == (100, 30, 50, 2)
    assert datetime.fromisoformat(data["asOf"]) == T0 and datetime.fromisoformat(data["inTransitDueAt"]) == due
    [hop] = hops(aws, "corr-atp")
    assert hop["outcome"] == "ok" and "ATP SKU-1@DC-1 = 120" in hop["detail"] and "inbound counted 50" in hop["detail"]
    assert hop["businessKey"] == "SKU-1@DC-1" and hop["eventId"] == event_id(event)


def test_inbound_beyond_the_horizon_or_without_a_due_time_is_not_promised(aws, inventory, monkeypatch):
    run("masterdata_transformer", master())
    monkeypatch.setenv("ATP_HORIZON_DAYS", "2")
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    run("inventory_transformer", balance("corr-h1", inTransitDueAt=later))
    run("inventory_transformer", balance("corr-h2", as_of=T0 + timedelta(minutes=1), item="SKU-1"))
    atps = [e["detail"]["data"]["availableToPromise"] for e in published(aws)]
    assert atps == [70, 70]


def test_a_v1_balance_is_stored_as_v2_without_lots_and_a_v2_with_its_lots(aws, inventory):
    run("masterdata_transformer", master())
    run("inventory_transformer", balance("corr-v1"))
    assert stored(inventory)["lots"] == [] and [e["detail"]["data"]["lotCount"] for e in published(aws)] == [0]
    lots = [{"lotNumber": "L-9", "quantity": 5, "serialNumbers": ["S-1"]}]
    run("inventory_transformer", balance("corr-v2", "2", as_of=T0 + timedelta(hours=1), lots=lots))
    item = stored(inventory)
    assert item["lots"] == [{"lotNumber": "L-9", "quantity": 5, "serialNumbers": ["S-1"]}]
    assert [e["detail"]["data"]["lotCount"] for e in published(aws)] == [1]


def test_a_newer_balance_replaces_the_projection(aws, inventory):
    run("masterdata_transformer", master())
    first, second = balance("corr-n1", onHand=100), balance("corr-n2", as_of=T0 + timedelta(seconds=1), onHand=80)
    run("inventory_transformer", first)
    run("inventory_transformer", second)
    item = stored(inventory)
    assert (item["onHand"], item["sourceEventId"], item["correlationId"]) == (80, event_id(second), "corr-n2")
    assert item["asOf"] == "2026-11-27T08:00:01.000000+00:00"  # fixed width, compares as a string
    assert [e["detail"]["data"]["onHand"] for e in published(aws)] == [100, 80]


def test_a_stale_balance_is_left_out_with_a_hop_saying_why(aws, inventory):
    run("masterdata_transformer", master())
    newer, older = balance("corr-new", as_of=T0, onHand=80), balance("corr-old", as_of=T0 - timedelta(hours=1), onHand=5)
    run("inventory_transformer", newer)
    published(aws)
    assert run("inventory_transformer", older) == {"batchItemFailures": []}  # nothing to retry
    assert (stored(inventory)["onHand"], stored(inventory)["sourceEventId"]) == (80, event_id(newer))
    assert published(aws) == []  # planning is not told about a stale balance
    [hop] = hops(aws, "corr-old")
    assert (hop["stage"], hop["outcome"]) == ("inventory", "delivered")
    assert hop["detail"] == ("stale balance for SKU-1@DC-1 as of 2026-11-27T07:00:00+00:00: a newer one is stored, "
                             "left out")
    assert aws.items("QUARANTINE_TABLE_NAME") == []


@pytest.mark.parametrize("same_instant", [T0, T0.astimezone(timezone(timedelta(hours=2)))], ids=["utc", "+02:00"])
def test_an_equal_as_of_from_another_event_is_left_out(aws, inventory, same_instant):
    run("masterdata_transformer", master())
    first = balance("corr-eq1", as_of=T0, onHand=10)
    run("inventory_transformer", first)
    published(aws)
    run("inventory_transformer", balance("corr-eq2", as_of=same_instant, onHand=99))
    assert (stored(inventory)["onHand"], stored(inventory)["sourceEventId"]) == (10, event_id(first))
    assert published(aws) == [] and "stale balance" in hops(aws, "corr-eq2")[0]["detail"]


def test_a_redelivered_balance_has_no_second_effect(aws, inventory):
    run("masterdata_transformer", master())
    event = balance("corr-dup")
    run("inventory_transformer", event)
    run("inventory_transformer", event, receive_count=2)
    assert len(published(aws)) == 1
    assert [h["outcome"] for h in hops(aws, "corr-dup")] == ["ok"]


def test_a_publish_that_failed_after_the_store_is_retried_and_still_published(aws, inventory, monkeypatch):
    """The balance was stored but the bus refused the event at the end of the batch: the record fails, its
    idempotency claim is released (the retry is not refused as "in progress"), its "ok" hop is dropped, and
    on the retry the same event is not 'stale' against itself: it is published."""
    from distsync_core.platform.events import EventPublisher

    run("masterdata_transformer", master())
    marks_before = aws.items("IDEMPOTENCY_TABLE_NAME")
    event = balance("corr-retry")
    original = EventPublisher.put
    monkeypatch.setattr(EventPublisher, "put", lambda self, envs: (_ for _ in ()).throw(RuntimeError("bus down")))
    with pytest.raises(BatchProcessingError):  # a batch of one whose only record failed
        run("inventory_transformer", event)
    assert stored(inventory)["sourceEventId"] == event_id(event) and published(aws, 0.2) == []
    assert aws.items("IDEMPOTENCY_TABLE_NAME") == marks_before
    [retrying] = hops(aws, "corr-retry")
    assert retrying["outcome"] == "retrying" and "RuntimeError: bus down (receive 1 of 3)" in retrying["detail"]
    monkeypatch.setattr(EventPublisher, "put", original)
    assert run("inventory_transformer", event, receive_count=2) == {"batchItemFailures": []}
    assert len(published(aws)) == 1
    assert [h["outcome"] for h in hops(aws, "corr-retry")] == ["retrying", "ok"]
    [mark] = [m for m in aws.items("IDEMPOTENCY_TABLE_NAME") if m not in marks_before]
    assert mark["status"] == "COMPLETED"


def test_a_v2_with_lots_above_on_hand_that_reached_the_bus_is_quarantined(aws, inventory):
    run("masterdata_transformer", master())
    event = balance("corr-bad", "2", lots=[])
    event["detail"]["data"]["lots"] = [{"lotNumber": "L-1", "quantity": 101}]
    assert run("inventory_transformer", event) == {"batchItemFailures": []}
    [q] = aws.items("QUARANTINE_TABLE_NAME")
    assert q["reason"] == "data breaks the contract" and "lots hold more than onHand" in json.dumps(q["errors"])
    assert stored(inventory) is None and published(aws, 0.2) == []


# --------------------------------------------------------------------------------------------- ATP API
@pytest.fixture
def atp_api(aws, inventory):
    module = load_handler("atp_api")

    def get(item: str, loc: str, *, sign: bool = True, secret: str = SECRET, signed_path: str | None = None,
            ts: float | None = None) -> tuple[int, dict[str, Any], dict[str, str]]:
        path = f"/v1/atp/{item}/{loc}"
        headers = {}
        if sign:
            headers = signed_headers(secret, f"GET {signed_path or path}".encode(), ts or time.time())
        event = api_event("GET", path, ATP_RESOURCE, {"itemId": item, "locationId": loc}, None, headers)
        response = module.lambda_handler(event, FakeLambdaContext("atp"))
        out_headers = response.get("headers") or {k: v[0] for k, v in (response.get("multiValueHeaders") or {}).items()}
        return response["statusCode"], json.loads(response["body"]), out_headers

    return get


def test_atp_api_serves_the_computed_atp(aws, inventory, atp_api):
    run("masterdata_transformer", master())
    due = datetime.now(UTC) + timedelta(days=2)
    run("inventory_transformer", balance("corr-api", "2", onHand=40, allocated=15, inTransit=10,
                                         inTransitDueAt=due.isoformat(), lots=[{"lotNumber": "L-1", "quantity": 40}]))
    status, body, headers = atp_api("SKU-1", "DC-1")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert (body["availableToPromise"], body["shortfall"], body["inboundCounted"]) == (35, 0, 10)
    assert (body["itemId"], body["locationId"], body["onHand"], body["allocated"], body["inTransit"]) == (
        "SKU-1", "DC-1", 40, 15, 10)
    assert body["horizonDays"] == 14 and body["sourceSystem"] == "wms"
    assert datetime.fromisoformat(body["asOf"]) == T0 and datetime.fromisoformat(body["inTransitDueAt"]) == due
    assert body["lots"] == [{"lotNumber": "L-1", "quantity": 40, "serialNumbers": []}]
    assert abs(datetime.fromisoformat(body["computedAt"]) - datetime.now(UTC)) < timedelta(seconds=30)


def test_atp_api_reports_a_shortfall_when_over_allocated(aws, inventory, atp_api):
    run("masterdata_transformer", master())
    run("inventory_transformer", balance("corr-short", onHand=10, allocated=25, inTransit=0))
    status, body, _ = atp_api("SKU-1", "DC-1")
    assert status == 200 and (body["availableToPromise"], body["shortfall"]) == (0, 15)


def problem(status_body_headers, status: int, needle: str) -> None:
    got, body, headers = status_body_headers
    assert got == status, body
    assert headers["Content-Type"] == "application/problem+json"
    slug = {400: "bad-request", 401: "unauthorized", 404: "not-found"}[status]
    assert body["status"] == status and body["type"].endswith(f"problems.md#{slug}") and body["title"]
    assert needle in body["detail"], body


def test_atp_api_unknown_item_location_is_a_404_problem(aws, inventory, atp_api):
    problem(atp_api("SKU-404", "DC-1"), 404, "no inventory balance for SKU-404@DC-1")


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"sign": False}, "missing X-Distsync-Timestamp"),
        ({"secret": "not-the-secret"}, "signature does not match"),
        ({"signed_path": "/v1/atp/SKU-2/DC-1"}, "signature does not match"),  # signed for another resource
        ({"ts": time.time() - 3600}, "outside the 300 s window"),
    ],
    ids=["unsigned", "wrong-secret", "other-path", "stale-timestamp"],
)
def test_atp_api_refuses_unsigned_or_badly_signed_requests_with_a_401_problem(aws, inventory, atp_api, kwargs, needle):
    run("masterdata_transformer", master())
    run("inventory_transformer", balance("corr-401"))
    problem(atp_api("SKU-1", "DC-1", **kwargs), 401, needle)


@pytest.mark.parametrize(("item", "loc", "needle"), [
    ("-SKU", "DC-1", "itemId must be"),
    ("SKU-1", "D" * 65, "locationId must be"),
    ("SKU 1", "DC-1", "itemId must be"),
])
def test_atp_api_refuses_a_bad_id_with_a_400_problem(aws, inventory, atp_api, item, loc, needle):
    problem(atp_api(item, loc), 400, needle)


def test_atp_api_bad_id_unsigned_is_refused_for_the_signature_first(aws, inventory, atp_api):
    problem(atp_api("-SKU", "DC-1", sign=False), 401, "missing")


# ------------------------------------------------------------------------------------- planning sync
@pytest.fixture
def planning(aws, monkeypatch):
    sim = PlanningSimulator().start()
    monkeypatch.setenv("PLANNING_BASE_URL", sim.base_url)
    monkeypatch.setenv("MAX_RECEIVE_COUNT", "20")  # as the stack configures planning sync
    partners._clients.pop("planning", None)  # the client is cached per container with its base URL
    yield sim
    partners._clients.pop("planning", None)
    sim.stop()


def availability(cid: str = "corr-ps", item: str = "SKU-1") -> dict[str, Any]:
    data = InventoryAvailabilityUpdated(item_id=item, location_id="DC-1", on_hand=100, allocated=30, in_transit=0,
                                        available_to_promise=70, as_of=T0, source_system="erp", lot_count=0)
    envelope = new_envelope(CONTRACTS[("InventoryAvailabilityUpdated", "1")], data, source="distsync.inventory",
                            correlation_id=cid)
    return bus_event(envelope, "distsync.atp")


def planning_exception(cid: str = "corr-pe") -> dict[str, Any]:
    data = PlanningException(exception_id="EXC-1", kind="lead_time_change", severity="warning", item_id="SKU-1",
                             location_id="DC-1", supplier_id="SUP-1", message="lead time 4 -> 9 days",
                             current_value=9, previous_value=4)
    envelope = new_envelope(CONTRACTS[("PlanningException", "1")], data, source="distsync.supplier",
                            correlation_id=cid)
    return bus_event(envelope, "distsync.planning-exceptions")


def test_planning_sync_forwards_the_balance_with_its_idempotency_key(aws, planning):
    event = availability("corr-fwd")
    assert run("planning_sync", event) == {"batchItemFailures": []}
    [record] = planning.snapshot()
    assert (record["kind"], record["itemId"], record["locationId"]) == ("inventory-balance", "SKU-1", "DC-1")
    assert (record["idempotencyKey"], record["correlationId"]) == (event_id(event), "corr-fwd")
    assert record["body"]["availableToPromise"] == 70 and "inTransitDueAt" not in record["body"]  # no nulls sent
    assert datetime.fromisoformat(record["body"]["asOf"]) == T0
    [hop] = hops(aws, "corr-fwd")
    assert (hop["stage"], hop["outcome"]) == ("planning-sync", "delivered")
    assert hop["detail"] == "planning has the balance of SKU-1@DC-1 as of 2026-11-27T08:00:00+00:00"
    # A redelivery calls planning again with the same key: planning applies it once.
    assert run("planning_sync", event, receive_count=2) == {"batchItemFailures": []}
    assert len(planning.snapshot()) == 1 and planning.calls == 2


def test_planning_sync_forwards_planning_exceptions(aws, planning):
    event = planning_exception("corr-exc")
    assert run("planning_sync", event) == {"batchItemFailures": []}
    [record] = planning.snapshot("exception")
    assert record["idempotencyKey"] == event_id(event) and record["body"]["exceptionId"] == "EXC-1"
    assert hops(aws, "corr-exc")[0]["detail"] == "planning exception EXC-1 (lead_time_change, warning) raised in planning"


def test_planning_rejecting_a_call_quarantines_it(aws, planning):
    planning.inject_faults(422, 1)
    assert run("planning_sync", availability("corr-422")) == {"batchItemFailures": []}
    [q] = aws.items("QUARANTINE_TABLE_NAME")
    assert q["stage"] == "planning-sync" and "planning rejected the call with HTTP 422" in q["reason"]
    assert planning.snapshot() == [] and planning.calls == 1  # a 4xx is not retried
    assert [h["outcome"] for h in hops(aws, "corr-422")] == ["quarantined"]


def test_planning_down_raises_so_sqs_retries_and_only_the_last_receive_dead_letters(aws, planning):
    planning.set_down(True, 503)
    event = availability("corr-503")
    with pytest.raises(BatchProcessingError):  # every record failed: the whole batch returns to the queue
        run("planning_sync", event)
    assert planning.calls == 2  # the client's two attempts, then the message waits in the queue
    # In a mixed batch only the failed record is reported (its batch mate, misrouted, is quarantined).
    result = run("planning_sync", event, balance("corr-mate"), receive_count=19)
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    with pytest.raises(BatchProcessingError):
        run("planning_sync", event, receive_count=20)
    outcomes = [(h["outcome"], h["detail"]) for h in hops(aws, "corr-503")]
    assert [o for o, _ in outcomes] == ["retrying", "retrying", "dead_lettered"]
    assert "HTTP 503" in outcomes[0][1] and "receive 1 of 20" in outcomes[0][1]
    assert "receive 20 of 20" in outcomes[-1][1]
    assert [q["correlationId"] for q in aws.items("QUARANTINE_TABLE_NAME")] == ["corr-mate"]
    assert planning.snapshot() == []
    # Planning is back: the next receive delivers it, once.
    planning.set_down(False)
    assert run("planning_sync", event, receive_count=5) == {"batchItemFailures": []}
    assert len(planning.snapshot()) == 1 and hops(aws, "corr-503")[-1]["outcome"] == "delivered"


def test_one_503_is_absorbed_by_the_clients_second_attempt(aws, planning):
    planning.inject_faults(503, 1)
    assert run("planning_sync", availability("corr-blip")) == {"batchItemFailures": []}
    assert len(planning.snapshot()) == 1 and planning.calls == 2
    assert [h["outcome"] for h in hops(aws, "corr-blip")] == ["delivered"]


def test_planning_sync_quarantines_what_it_does_not_consume(aws, planning):
    assert run("planning_sync", balance("corr-mis")) == {"batchItemFailures": []}
    [q] = aws.items("QUARANTINE_TABLE_NAME")
    assert q["reason"] == ("planning-sync consumes InventoryAvailabilityUpdated, PlanningException, "
                           "SupplierPerformanceMeasured, not InventoryBalanceChanged")
    assert planning.calls == 0
