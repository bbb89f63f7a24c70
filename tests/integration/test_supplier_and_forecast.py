"""The supplier and forecast pipelines against moto, with the ERP and planning simulators over real HTTP.

Lead times go to planning (and raise one planning exception above the threshold), PO confirmations and
forecasts go to the ERP; unknown master data waits in quarantine and is released when it arrives."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from distsync.sim.erp import ErpSimulator
from distsync.sim.partner import PlanningSimulator
from distsync_core import partners
from distsync_core.contracts import (
    CONTRACTS,
    ConfirmedLine,
    DemandForecastPublished,
    ForecastBucket,
    ItemLocationUpserted,
    PurchaseOrderConfirmed,
    SupplierLeadTimeChanged,
    SupplierUpserted,
    derive_id,
    new_envelope,
)
from tests.conftest import FakeLambdaContext, load_handler
from tests.integration.conftest import bus_event, sqs_event

ERP_LEAD_TIME = 10  # the item-location's lead time in the ERP's master data


def envelope(event_type: str, data: Any, cid: str, source: str) -> dict[str, Any]:
    """The event as the rule delivers it to the pipeline's queue."""
    env = new_envelope(CONTRACTS[(event_type, "1")], data, correlation_id=cid, source=source,
                       occurred_at=datetime(2026, 11, 27, tzinfo=UTC))
    event = bus_event(env)
    event["source"] = CONTRACTS[(event_type, "1")].bus_source  # what a release puts back on the bus
    return event


def supplier_master(supplier: str = "SUP-1") -> dict[str, Any]:
    return envelope("SupplierUpserted", SupplierUpserted(supplier_id=supplier, name="Acme", default_lead_time_days=9),
                    f"md-{supplier}", "erp")


def item_location_master(item: str = "SKU-1", location: str = "DC-1") -> dict[str, Any]:
    return envelope("ItemLocationUpserted", ItemLocationUpserted(
        item_id=item, location_id=location, unit_of_measure="EA", safety_stock=100, reorder_point=200,
        supplier_id="SUP-1", lead_time_days=ERP_LEAD_TIME), f"md-{item}-{location}", "erp")


def lead_time(days: int, cid: str = "lt-1", supplier: str = "SUP-1", item: str = "SKU-1") -> dict[str, Any]:
    return envelope("SupplierLeadTimeChanged", SupplierLeadTimeChanged(
        supplier_id=supplier, item_id=item, location_id="DC-1", lead_time_days=days,
        effective_from=date(2026, 12, 1)), cid, "supplier")


def po(po_id: str = "PO-1", cid: str = "po-1", supplier: str = "SUP-1") -> dict[str, Any]:
    return envelope("PurchaseOrderConfirmed", PurchaseOrderConfirmed(
        purchase_order_id=po_id, supplier_id=supplier, lines=[
            ConfirmedLine(line_number=1, item_id="SKU-1", location_id="DC-1", confirmed_quantity=120,
                          confirmed_delivery_date=date(2026, 12, 10)),
            ConfirmedLine(line_number=2, item_id="SKU-2", location_id="DC-1", confirmed_quantity=40,
                          confirmed_delivery_date=date(2026, 12, 12))]), cid, "supplier")


def forecast(cid: str = "fc-1", forecast_id: str = "F-2026-48", item: str = "SKU-1") -> dict[str, Any]:
    return envelope("DemandForecastPublished", DemandForecastPublished(
        item_id=item, location_id="DC-1", forecast_id=forecast_id, unit_of_measure="EA",
        buckets=[ForecastBucket(week_start=date(2026, 11, 30), quantity=50),
                 ForecastBucket(week_start=date(2026, 12, 7), quantity=65.5)]), cid, "planning")


def event_id(event: dict[str, Any]) -> str:
    return event["detail"]["metadata"]["eventId"]


def run(folder: str, *events: Any, receive_count: int = 1) -> dict[str, Any]:
    module = load_handler(folder)
    return module.lambda_handler(sqs_event(*events, receive_count=receive_count), FakeLambdaContext(folder))


def assert_retried(folder: str, *events: Any, receive_count: int = 1) -> None:
    """The record failed (a batch of one fails as a whole: Lambda hands the message back to SQS)."""
    with pytest.raises(BatchProcessingError):
        run(folder, *events, receive_count=receive_count)


def hops(aws, cid: str) -> list[tuple[str, str, str]]:
    return [(h["stage"], h["outcome"], h["detail"]) for h in sorted(aws.items("TRACE_TABLE_NAME"), key=lambda h: h["at"])
            if h["correlationId"] == cid]


def quarantined(aws) -> list[dict[str, Any]]:
    return [q for q in aws.items("QUARANTINE_TABLE_NAME") if q["status"] == "QUARANTINED"]


@pytest.fixture
def partners_up(aws, monkeypatch):
    """The ERP and planning simulators, and partner clients pointed at them (the clients are cached per
    container, so each test starts without them)."""
    erp, planning = ErpSimulator().start(), PlanningSimulator().start()
    monkeypatch.setattr(partners, "_clients", {})
    monkeypatch.setenv("ERP_BASE_URL", erp.base_url)
    monkeypatch.setenv("PLANNING_BASE_URL", planning.base_url)
    monkeypatch.setenv("ERP_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("ERP_BACKOFF_SECONDS", "0.01")
    yield erp, planning
    erp.stop()
    planning.stop()


@pytest.fixture
def erp(partners_up):
    return partners_up[0]


@pytest.fixture
def planning(partners_up):
    return partners_up[1]


@pytest.fixture
def master_data(aws, partners_up):
    """Supplier SUP-1 and SKU-1@DC-1 (ERP lead time 10 days) in the governed master data."""
    assert run("masterdata_transformer", supplier_master(), item_location_master()) == {"batchItemFailures": []}


def stored_item_location(aws) -> dict[str, Any]:
    [record] = [i for i in aws.items("MASTERDATA_TABLE_NAME") if i["pk"] == "ITEMLOC#SKU-1#DC-1"]
    return record


# --------------------------------------------------------------------------------------- lead times
def test_lead_time_within_the_threshold_goes_to_planning_without_an_exception(aws, planning, master_data):
    event = lead_time(12)  # 10 -> 12 days: 20 % <= 25 %
    assert run("supplier_transformer", event) == {"batchItemFailures": []}
    [sent] = planning.snapshot("lead-time")
    assert (sent["supplierId"], sent["itemId"], sent["locationId"]) == ("SUP-1", "SKU-1", "DC-1")
    assert sent["body"]["leadTimeDays"] == 12 and sent["body"]["effectiveFrom"] == "2026-12-01"
    assert (sent["idempotencyKey"], sent["correlationId"]) == (event_id(event), "lt-1")
    assert aws.probe(wait=0.1) == []
    assert planning.snapshot("exception") == []
    [(stage, outcome, detail)] = hops(aws, "lt-1")
    assert (stage, outcome) == ("supplier", "delivered") and "10 -> 12 days (20.0%)" in detail
    assert int(stored_item_location(aws)["supplierLeadTimeDays"]) == 12
    assert int(stored_item_location(aws)["leadTimeDays"]) == ERP_LEAD_TIME  # the ERP's own value is kept


def test_lead_time_above_the_threshold_raises_one_planning_exception_even_when_redelivered(
        aws, planning, master_data):
    event = lead_time(14)  # 10 -> 14 days: 40 %
    assert run("supplier_transformer", event) == {"batchItemFailures": []}
    assert run("supplier_transformer", event, receive_count=2) == {"batchItemFailures": []}  # SQS redelivery
    [published] = aws.probe(wait=0.1, expect=1)
    assert (published["detail-type"], published["source"]) == ("PlanningException", "distsync.planning-exceptions")
    meta, data = published["detail"]["metadata"], published["detail"]["data"]
    assert (meta["correlationId"], meta["causationId"]) == ("lt-1", event_id(event))
    assert meta["eventId"] == derive_id(event_id(event), "PlanningException")
    assert (data["kind"], data["severity"], data["supplierId"], data["itemId"], data["locationId"]) == (
        "lead_time_change", "warning", "SUP-1", "SKU-1", "DC-1")
    assert (data["previousValue"], data["currentValue"]) == (10, 14)
    assert "40.0%" in data["message"] and "threshold 25.0%" in data["message"]
    assert len(planning.snapshot("lead-time")) == 1
    assert [o for _, o, _ in hops(aws, "lt-1")] == ["ok"]  # in flight until planning-sync delivers it

    # planning-sync forwards it to planning's exception inbox, once even if it is delivered twice
    assert run("planning_sync", published) == {"batchItemFailures": []}
    assert run("planning_sync", published, receive_count=2) == {"batchItemFailures": []}
    [inbox] = planning.snapshot("exception")
    assert inbox["body"]["exceptionId"] == data["exceptionId"] and inbox["idempotencyKey"] == meta["eventId"]
    assert inbox["correlationId"] == "lt-1"
    assert [(s, o) for s, o, _ in hops(aws, "lt-1")][-1] == ("planning-sync", "delivered")


def test_the_next_change_is_measured_against_the_suppliers_last_lead_time(aws, planning, master_data):
    run("supplier_transformer", lead_time(14, cid="lt-a"))  # 10 -> 14: 40 %, warning
    run("supplier_transformer", lead_time(16, cid="lt-b"))  # 14 -> 16: 14.3 % (60 % against the ERP's 10)
    run("supplier_transformer", lead_time(32, cid="lt-c"))  # 16 -> 32: 100 %, critical
    published = aws.probe(wait=0.1)
    assert [(e["detail"]["metadata"]["correlationId"], e["detail"]["data"]["severity"],
             e["detail"]["data"]["previousValue"]) for e in published] == [("lt-a", "warning", 10),
                                                                            ("lt-c", "critical", 16)]
    assert "14 -> 16 days (14.29%)" in hops(aws, "lt-b")[0][2]
    assert [r["body"]["leadTimeDays"] for r in planning.snapshot("lead-time")] == [14, 16, 32]


def test_in_one_batch_the_next_change_is_measured_against_the_one_before_it(aws, planning, master_data):
    """The batch reads its master data once, up front; a lead time recorded by one of its records is read
    again by the next (against the prefetched 10 days, 12 -> 14 would look like 40 % and raise)."""
    assert run("supplier_transformer", lead_time(12, cid="lt-a"), lead_time(14, cid="lt-b")) == {
        "batchItemFailures": []}  # 10 -> 12: 20 %, then 12 -> 14: 16.7 %
    assert aws.probe(wait=0.1) == []
    assert "12 -> 14 days (16.67%)" in hops(aws, "lt-b")[0][2]
    assert [r["body"]["leadTimeDays"] for r in planning.snapshot("lead-time")] == [12, 14]


def test_a_lead_time_reported_before_the_one_recorded_is_left_out(aws, planning, master_data):
    """Reports reach distsync out of order (the bus does not order events): an older one must not replace
    the newer lead time, neither in master data nor in planning."""
    newer, older = lead_time(14, cid="lt-new"), lead_time(12, cid="lt-old")
    newer["detail"]["metadata"]["occurredAt"] = "2026-11-27T10:00:00+00:00"
    older["detail"]["metadata"]["occurredAt"] = "2026-11-27T09:00:00+00:00"
    assert run("supplier_transformer", newer) == {"batchItemFailures": []}
    assert run("supplier_transformer", older) == {"batchItemFailures": []}
    assert [r["body"]["leadTimeDays"] for r in planning.snapshot("lead-time")] == [14]
    record = stored_item_location(aws)
    assert (int(record["supplierLeadTimeDays"]), record["supplierLeadTimeReportedAt"]) == (
        14, "2026-11-27T10:00:00.000000+00:00")
    [(stage, outcome, detail)] = hops(aws, "lt-old")
    assert (stage, outcome) == ("supplier", "delivered")
    assert "reported 2026-11-27T09:00:00.000000+00:00 is older than the one recorded" in detail
    assert "left out, not sent to planning" in detail
    # a later report is applied as usual
    latest = lead_time(15, cid="lt-latest")
    latest["detail"]["metadata"]["occurredAt"] = "2026-11-27T11:00:00+00:00"
    assert run("supplier_transformer", latest) == {"batchItemFailures": []}
    assert int(stored_item_location(aws)["supplierLeadTimeDays"]) == 15


def test_a_new_master_data_record_keeps_the_suppliers_reported_lead_time(aws, planning, master_data):
    """The ERP owns the item-location's fields; what distsync recorded beside them (the supplier's last
    reported lead time and when) stays, so the next change still compares with it."""
    assert run("supplier_transformer", lead_time(12, cid="lt-a")) == {"batchItemFailures": []}
    update = item_location_master()
    update["detail"]["data"]["safetyStock"] = 150
    update["detail"]["metadata"]["occurredAt"] = "2026-11-27T12:00:00+00:00"
    assert run("masterdata_transformer", update) == {"batchItemFailures": []}
    record = stored_item_location(aws)
    assert float(record["safetyStock"]) == 150 and record["sourceEventId"] == event_id(update)
    assert int(record["supplierLeadTimeDays"]) == 12 and record["supplierLeadTimeReportedAt"]
    assert run("supplier_transformer", lead_time(13, cid="lt-b")) == {"batchItemFailures": []}
    assert "12 -> 13 days" in hops(aws, "lt-b")[0][2]


def test_the_threshold_comes_from_the_environment(aws, planning, master_data, monkeypatch):
    monkeypatch.setenv("LEAD_TIME_EXCEPTION_PERCENT", "50")
    run("supplier_transformer", lead_time(14))  # 40 % <= 50 %
    assert aws.probe(wait=0.1) == [] and len(planning.snapshot("lead-time")) == 1


def test_a_failed_publish_still_raises_the_exception_on_the_retry(aws, planning, master_data, monkeypatch):
    """The bus refuses the exception once: the retry must raise it, not compare the lead time with itself."""
    event = lead_time(14)
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
    assert_retried("supplier_transformer", event)
    monkeypatch.setenv("EVENT_BUS_NAME", "distsync-test")
    assert run("supplier_transformer", event, receive_count=2) == {"batchItemFailures": []}
    [published] = aws.probe(wait=0.1, expect=1)
    assert published["detail-type"] == "PlanningException" and published["detail"]["data"]["previousValue"] == 10
    assert len(planning.snapshot("lead-time")) == 1  # planning deduplicated the second PUT by its key
    assert int(stored_item_location(aws)["supplierLeadTimeDays"]) == 14


def test_planning_unavailable_retries_and_nothing_is_recorded_before_it_took_the_lead_time(
        aws, planning, master_data):
    planning.inject_faults(503, 2)  # both attempts of the first receive
    assert_retried("supplier_transformer", lead_time(14))
    assert "supplierLeadTimeDays" not in stored_item_location(aws) and aws.probe(wait=0.1) == []
    assert quarantined(aws) == []
    [(_, outcome, detail)] = hops(aws, "lt-1")
    assert outcome == "retrying" and "HTTP 503" in detail
    assert run("supplier_transformer", lead_time(14), receive_count=2) == {"batchItemFailures": []}
    assert [e["detail-type"] for e in aws.probe(wait=0.1, expect=1)] == ["PlanningException"]


def test_planning_rejecting_the_lead_time_quarantines_it(aws, planning, master_data):
    planning.inject_faults(422, 1)
    assert run("supplier_transformer", lead_time(14)) == {"batchItemFailures": []}
    [q] = quarantined(aws)
    assert q["stage"] == "supplier" and "planning rejected the call with HTTP 422" in q["reason"]
    assert "waitingFor" not in q and aws.probe(wait=0.1) == []


# --------------------------------------------------------------------------- quarantine and release
def release_on(aws, master_event: dict[str, Any]) -> list[dict[str, Any]]:
    """Store the master data; returns what it put back on the bus."""
    assert run("masterdata_transformer", master_event) == {"batchItemFailures": []}
    return aws.probe(wait=0.1)


@pytest.mark.parametrize("kind", ["lead time", "PO confirmation"])
def test_unknown_supplier_waits_in_quarantine_and_is_released_when_it_arrives(aws, erp, planning, kind):
    run("masterdata_transformer", item_location_master())
    event = lead_time(14, supplier="SUP-NEW") if kind == "lead time" else po(supplier="SUP-NEW")
    cid = event["detail"]["metadata"]["correlationId"]
    assert run("supplier_transformer", event) == {"batchItemFailures": []}
    [q] = quarantined(aws)
    assert q["waitingFor"] == "SUPPLIER#SUP-NEW" and "unknown supplier SUP-NEW" in q["reason"]
    assert q["eventId"] == event_id(event) and q["correlationId"] == cid
    assert planning.snapshot() == [] and erp.recorded() == []
    assert release_on(aws, supplier_master("SUP-OTHER")) == []  # other master data releases nothing

    [released] = release_on(aws, supplier_master("SUP-NEW"))
    assert (event_id(released), released["detail-type"], released["source"]) == (
        event_id(event), event["detail-type"], "distsync.supplier")
    assert quarantined(aws) == []
    assert run("supplier_transformer", released) == {"batchItemFailures": []}
    if kind == "lead time":
        assert [r["body"]["leadTimeDays"] for r in planning.snapshot("lead-time")] == [14]
    else:
        assert [r["purchaseOrderId"] for r in erp.recorded("po-confirmation")] == ["PO-1"]
    outcomes = [(s, o) for s, o, _ in hops(aws, cid)]
    assert outcomes[0] == ("supplier", "quarantined") and ("quarantine", "released") in outcomes
    assert outcomes[-1][1] in ("ok", "delivered")


@pytest.mark.parametrize("kind", ["lead time", "forecast"])
def test_unknown_item_location_waits_in_quarantine_and_is_released_when_it_arrives(aws, erp, planning, kind):
    run("masterdata_transformer", supplier_master())
    event, folder = (lead_time(12), "supplier_transformer") if kind == "lead time" else (
        forecast(), "forecast_transformer")
    assert run(folder, event) == {"batchItemFailures": []}
    [q] = quarantined(aws)
    assert q["waitingFor"] == "ITEMLOC#SKU-1#DC-1" and "unknown item-location SKU-1@DC-1" in q["reason"]
    assert planning.snapshot() == [] and erp.recorded() == []

    [released] = release_on(aws, item_location_master())
    assert event_id(released) == event_id(event)
    assert run(folder, released) == {"batchItemFailures": []}
    if kind == "lead time":
        assert [r["body"]["leadTimeDays"] for r in planning.snapshot("lead-time")] == [12]
    else:
        assert [r["itemId"] for r in erp.recorded("demand-forecast")] == ["SKU-1"]
    assert hops(aws, event["detail"]["metadata"]["correlationId"])[-1][1] == "delivered"


# --------------------------------------------------------------------------------- PO confirmations
def test_po_confirmation_reaches_the_erp_once_even_if_redelivered(aws, erp, master_data):
    event = po()
    assert run("supplier_transformer", event) == {"batchItemFailures": []}
    assert run("supplier_transformer", event, receive_count=2) == {"batchItemFailures": []}
    [recorded] = erp.recorded("po-confirmation")
    assert recorded["purchaseOrderId"] == "PO-1" and recorded["correlationId"] == "po-1"
    assert recorded["idempotencyKey"] == derive_id(event_id(event), "erp")
    assert [(line["lineNumber"], line["confirmedQuantity"]) for line in recorded["body"]["lines"]] == [(1, 120), (2, 40)]
    assert erp.calls == 1  # the redelivery was skipped by idempotency before calling the ERP
    assert aws.probe(wait=0.1) == []
    [(stage, outcome, detail)] = hops(aws, "po-1")
    assert (stage, outcome) == ("supplier", "delivered") and "recorded the confirmation of PO-1" in detail


def test_po_confirmation_sent_again_after_its_idempotency_record_expired_is_deduplicated_by_the_erp(
        aws, erp, master_data):
    event = po()
    run("supplier_transformer", event)
    idempotency = boto3.resource("dynamodb").Table("idempotency")
    for item in idempotency.scan()["Items"]:
        idempotency.delete_item(Key={"id": item["id"]})
    assert run("supplier_transformer", event, receive_count=2) == {"batchItemFailures": []}
    assert erp.calls == 2 and len(erp.recorded("po-confirmation")) == 1
    assert "ERP had already recorded the confirmation of PO-1" in hops(aws, "po-1")[-1][2]


def test_erp_rejecting_a_po_confirmation_quarantines_it(aws, erp, master_data):
    erp.inject_faults(409, 1)
    assert run("supplier_transformer", po()) == {"batchItemFailures": []}
    [q] = quarantined(aws)
    assert q["stage"] == "supplier" and "ERP rejected the call with HTTP 409" in q["reason"]
    assert erp.recorded() == [] and erp.calls == 1  # a 4xx is not retried
    assert [o for _, o, _ in hops(aws, "po-1")] == ["quarantined"]


def test_erp_unavailable_retries_the_po_confirmation_then_dead_letters_on_the_last_receive(aws, erp, master_data):
    erp.inject_faults(503, 2)  # both attempts of the first receive
    assert_retried("supplier_transformer", po())
    assert erp.calls == 2 and quarantined(aws) == []
    erp.inject_faults(503, 2)
    assert_retried("supplier_transformer", po(), receive_count=3)
    assert [o for _, o, _ in hops(aws, "po-1")] == ["retrying", "dead_lettered"]
    assert erp.recorded() == []
    # a redrive after the ERP is back delivers it
    assert run("supplier_transformer", po(), receive_count=1) == {"batchItemFailures": []}
    assert len(erp.recorded("po-confirmation")) == 1 and hops(aws, "po-1")[-1][1] == "delivered"


def test_po_confirmation_after_an_erp_hiccup_within_the_attempts_is_delivered_once(aws, erp, master_data):
    erp.inject_faults(503, 1)
    assert run("supplier_transformer", po()) == {"batchItemFailures": []}
    assert erp.calls == 2 and len(erp.recorded("po-confirmation")) == 1


# ---------------------------------------------------------------------------------------- forecasts
def test_forecast_reaches_the_erp_under_a_key_derived_from_the_forecast(aws, erp, master_data):
    first = forecast(cid="fc-1")
    assert run("forecast_transformer", first) == {"batchItemFailures": []}
    [recorded] = erp.recorded("demand-forecast")
    assert (recorded["itemId"], recorded["locationId"], recorded["correlationId"]) == ("SKU-1", "DC-1", "fc-1")
    assert recorded["idempotencyKey"] == derive_id("F-2026-48", "SKU-1", "DC-1")
    assert recorded["body"]["buckets"] == [{"weekStart": "2026-11-30", "quantity": 50},
                                           {"weekStart": "2026-12-07", "quantity": 65.5}]
    assert "stored forecast F-2026-48 for SKU-1@DC-1: 2 weeks from 2026-11-30, 115.5 EA" in hops(aws, "fc-1")[0][2]

    # the same forecast published again (another event, another transaction) is written once
    assert run("forecast_transformer", forecast(cid="fc-2")) == {"batchItemFailures": []}
    assert len(erp.recorded("demand-forecast")) == 1
    assert "ERP already had forecast F-2026-48" in hops(aws, "fc-2")[0][2]
    # a new forecast id is a new write
    run("forecast_transformer", forecast(cid="fc-3", forecast_id="F-2026-49"))
    assert [r["body"]["forecastId"] for r in erp.recorded("demand-forecast")] == ["F-2026-48", "F-2026-49"]


def test_erp_rejecting_a_forecast_quarantines_it_and_an_outage_retries_it(aws, erp, master_data):
    erp.inject_faults(400, 1)
    assert run("forecast_transformer", forecast(cid="fc-bad")) == {"batchItemFailures": []}
    [q] = quarantined(aws)
    assert q["stage"] == "forecast" and "HTTP 400" in q["reason"]
    erp.inject_faults(500, 2)
    assert_retried("forecast_transformer", forecast(cid="fc-down"))
    assert erp.recorded() == [] and len(quarantined(aws)) == 1
    assert [o for _, o, _ in hops(aws, "fc-down")] == ["retrying"]


def test_a_misrouted_event_is_quarantined_by_the_forecast_consumer(aws, erp, master_data):
    assert run("forecast_transformer", po()) == {"batchItemFailures": []}
    [q] = quarantined(aws)
    assert q["reason"] == "forecast consumes DemandForecastPublished, not PurchaseOrderConfirmed"
    assert erp.calls == 0


def test_forecast_with_unordered_weeks_on_the_queue_is_quarantined_with_the_field(aws, erp, master_data):
    event = forecast()
    event["detail"]["data"]["buckets"].reverse()  # as if it bypassed the webhook's validation
    assert run("forecast_transformer", json.dumps(event)) == {"batchItemFailures": []}
    [q] = quarantined(aws)
    assert q["reason"] == "data breaks the contract" and erp.calls == 0
    assert [e["field"] for e in q["errors"]] == ["detail.data"]
