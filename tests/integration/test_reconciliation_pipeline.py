"""Financial reconciliation against moto and the ERP simulator over real HTTP: the recorder keeps every posting
once (redelivery, the same posting under another event id, a conflicting one quarantined); the
reconciliation compares the ERP's totals with what was recorded, publishes ReconciliationCompleted with the
mismatches and emits the mismatch metric."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from distsync.sim.erp import ErpSimulator
from distsync_core import partners
from distsync_core.contracts import CONTRACTS, FinancialPostingRecorded, new_envelope
from distsync_core.partners.erp import ErpUnavailable
from tests.conftest import FakeLambdaContext, load_handler
from tests.integration.conftest import bus_event, sqs_event

DAY = "2026-01-14"
POSTINGS_TABLE = "postings"


def posting(pid: str, amount: int, domain: str = "orders", kind: str = "invoice", day: str = DAY,
            reference: str = "SO-1") -> dict[str, Any]:
    return {"postingId": pid, "postingType": kind, "domain": domain, "amountMinor": amount, "currency": "EUR",
            "postingDate": day, "reference": reference}


def event(data: dict[str, Any], cid: str | None = None) -> dict[str, Any]:
    contract = CONTRACTS[("FinancialPostingRecorded", "1")]
    env = new_envelope(contract, FinancialPostingRecorded.model_validate(data), source="erp",
                       correlation_id=cid or f"post-{data['postingId']}", occurred_at=datetime(2026, 1, 14, tzinfo=UTC))
    out = bus_event(env)
    out["source"] = contract.bus_source
    return out


def record(*events: dict[str, Any], receive_count: int = 1) -> dict[str, Any]:
    return load_handler("posting_recorder").lambda_handler(sqs_event(*events, receive_count=receive_count),
                                                           FakeLambdaContext("posting_recorder"))


def reconcile(payload: dict[str, Any]) -> dict[str, Any]:
    return load_handler("reconciliation").lambda_handler(payload, FakeLambdaContext("reconciliation", 60_000))


def stored() -> list[dict[str, Any]]:
    return boto3.resource("dynamodb").Table(POSTINGS_TABLE).scan()["Items"]


def hops(aws, cid: str) -> list[tuple[str, str, str]]:
    return [(h["stage"], h["outcome"], h["detail"]) for h in sorted(aws.items("TRACE_TABLE_NAME"), key=lambda h: h["at"])
            if h["correlationId"] == cid]


@pytest.fixture
def postings_table(aws, monkeypatch):
    """The postings table as the stack defines it (infra/domains/finance.py)."""
    boto3.client("dynamodb").create_table(
        TableName=POSTINGS_TABLE,
        KeySchema=[{"AttributeName": "postingId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "postingId", "AttributeType": "S"},
                              {"AttributeName": "period", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "byPeriod", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "period", "KeyType": "HASH"},
                                               {"AttributeName": "postingId", "KeyType": "RANGE"}]}],
        BillingMode="PAY_PER_REQUEST",
    )
    monkeypatch.setenv("POSTINGS_TABLE_NAME", POSTINGS_TABLE)
    return aws


@pytest.fixture
def erp(postings_table, monkeypatch):
    sim = ErpSimulator().start()
    monkeypatch.setattr(partners, "_clients", {})
    monkeypatch.setenv("ERP_BASE_URL", sim.base_url)
    monkeypatch.setenv("ERP_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("ERP_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("RECONCILIATION_TIME_ZONE", "Europe/Berlin")
    yield sim
    sim.stop()


# ------------------------------------------------------------------------------------------------ recorder
def test_a_posting_is_recorded_once_under_redelivery_and_resending(postings_table):
    aws = postings_table
    first = event(posting("INV-1", 1999), cid="post-1")
    assert record(first) == {"batchItemFailures": []}
    assert record(first, receive_count=2) == {"batchItemFailures": []}  # SQS redelivers the same message
    again = event(posting("INV-1", 1999), cid="post-1-again")  # the ERP resends it under a new event id
    assert again["detail"]["metadata"]["eventId"] != first["detail"]["metadata"]["eventId"]
    assert record(again) == {"batchItemFailures": []}

    [item] = stored()
    assert (item["postingId"], item["amountMinor"], item["period"]) == ("INV-1", 1999, f"{DAY}#orders")
    assert item["sourceEventId"] == first["detail"]["metadata"]["eventId"]  # the first one recorded it
    assert [(s, o) for s, o, _ in hops(aws, "post-1")] == [("posting-recorder", "delivered")] * 2
    details = [d for _, _, d in hops(aws, "post-1")] + [d for _, _, d in hops(aws, "post-1-again")]
    assert sum(d.startswith("posting recorded: invoice INV-1 of orders") for d in details) == 1
    assert sum(d.startswith("already recorded: invoice INV-1") for d in details) == 2
    assert "19.99 EUR" in details[0]


def test_the_same_posting_id_with_other_values_is_quarantined_not_overwritten(postings_table):
    aws = postings_table
    record(event(posting("INV-2", 1000), cid="post-2"))
    assert record(event(posting("INV-2", 1001), cid="post-2-changed")) == {"batchItemFailures": []}
    [item] = stored()
    assert item["amountMinor"] == 1000
    [(stage, outcome, reason)] = hops(aws, "post-2-changed")
    assert (stage, outcome) == ("posting-recorder", "quarantined")
    assert "INV-2 is already recorded with other values" in reason and "amountMinor 1000 != 1001" in reason
    [quarantined] = aws.items("QUARANTINE_TABLE_NAME")
    assert quarantined["stage"] == "posting-recorder"


def test_a_store_failure_is_retried_not_acknowledged(postings_table, monkeypatch):
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    monkeypatch.setenv("POSTINGS_TABLE_NAME", "no-such-table")
    with pytest.raises(BatchProcessingError):
        record(event(posting("INV-3", 5), cid="post-3"))
    assert [(s, o) for s, o, _ in hops(postings_table, "post-3")] == [("posting-recorder", "retrying")]


# ------------------------------------------------------------------------------------------ reconciliation
def seed(erp: ErpSimulator, *postings: dict[str, Any], recorded: bool = True) -> None:
    """Booked in the ERP; and (``recorded``) delivered to distsync's recorder, as the webhook would."""
    for p in postings:
        erp.book_posting(p)
        if recorded:
            record(event(p))


def emitted_metrics(capsys) -> dict[str, list[float]]:
    """Powertools EMF lines printed by the invocations so far: metric name -> values."""
    values: dict[str, list[float]] = {}
    for line in capsys.readouterr().out.splitlines():
        if '"_aws"' not in line:
            continue
        doc = json.loads(line)
        for metric in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            value = doc[metric["Name"]]
            values.setdefault(metric["Name"], []).extend(value if isinstance(value, list) else [value])
    return values


def test_a_posting_only_the_erp_has_is_published_as_a_mismatch(erp, capsys):
    seed(erp, posting("INV-10", 1999), posting("INV-11", 5001),  # orders: both sides agree
         posting("GR-10", 12345, "inventory", "goods_receipt", reference="PO-7"))
    seed(erp, posting("GR-11", 500, "inventory", "goods_receipt", reference="PO-8"), recorded=False)  # lost
    seed(erp, posting("INV-OTHER-DAY", 777, day="2026-01-13"))  # another date: not in this reconciliation
    capsys.readouterr()

    result = reconcile({"date": DAY})

    assert result["status"] == "mismatched" and result["postingDate"] == DAY
    assert {d["domain"]: d["status"] for d in result["domains"]} == {
        "inventory": "mismatched", "orders": "balanced", "fulfillment": "balanced", "supplier": "balanced"}
    [mismatch] = result["mismatches"]
    assert (mismatch["domain"], mismatch["postingType"], mismatch["kind"]) == (
        "inventory", "goods_receipt", "count_difference")
    assert (mismatch["erpAmountMinor"], mismatch["erpCount"], mismatch["recordedAmountMinor"],
            mismatch["recordedCount"], mismatch["differenceMinor"]) == (12845, 2, 12345, 1, 500)
    orders = next(t for t in result["totals"] if t["domain"] == "orders")
    assert (orders["erpAmountMinor"], orders["erpCount"], orders["recordedAmountMinor"], orders["status"]) == (
        7000, 2, 7000, "balanced")

    # the event on the bus carries the same result
    published = [e for e in erp_probe() if e["detail-type"] == "ReconciliationCompleted"]
    [bus] = published
    assert bus["source"] == "distsync.finance"
    assert bus["detail"]["metadata"]["correlationId"] == result["correlationId"]
    assert bus["detail"]["metadata"]["eventId"] == result["eventId"]
    assert bus["detail"]["data"] == {k: v for k, v in result.items() if k not in ("correlationId", "eventId")}
    assert emitted_metrics(capsys)["ReconciliationMismatches"] == [1]


def test_a_distsync_only_posting_and_an_amount_difference(erp, capsys):
    seed(erp, posting("SI-1", 250, "supplier", reference="PO-9"), recorded=False)
    record(event(posting("SI-1", 250, "supplier", reference="PO-9")))
    erp.book_posting(posting("SI-1", 260, "supplier", reference="PO-9"))  # the ERP changed the amount
    record(event(posting("GI-1", 40, "fulfillment", "goods_issue", reference="SH-1")))  # never booked in the ERP
    result = reconcile({"date": DAY})
    kinds = {(m["domain"], m["kind"], m["differenceMinor"]) for m in result["mismatches"]}
    assert kinds == {("supplier", "amount_difference", 10), ("fulfillment", "missing_in_erp", -40)}
    assert {d["domain"]: d["mismatches"] for d in result["domains"]} == {
        "inventory": 0, "orders": 0, "fulfillment": 1, "supplier": 1}


def test_balanced_reports_zero_mismatches_and_a_delivered_hop(erp, capsys, postings_table):
    seed(erp, posting("INV-20", 10), posting("INV-21", 20))
    capsys.readouterr()
    result = reconcile({"date": DAY})
    assert (result["status"], result["mismatches"]) == ("balanced", [])
    assert emitted_metrics(capsys)["ReconciliationMismatches"] == [0]  # the alarm's metric goes back to 0
    [(stage, outcome, detail)] = hops(postings_table, result["correlationId"])
    assert (stage, outcome) == ("reconciliation", "delivered")
    assert detail.startswith(f"{DAY}: balanced (inventory balanced, orders balanced")
    hop = next(h for h in postings_table.items("TRACE_TABLE_NAME") if h["correlationId"] == result["correlationId"])
    assert hop["businessKey"] == f"RECONCILIATION#{DAY}"


def test_the_schedule_reconciles_the_day_before_its_scheduled_time_in_its_time_zone(erp):
    seed(erp, posting("INV-30", 10))  # on the 14th
    # 23:30 UTC on the 14th is 00:30 on the 15th in Berlin (RECONCILIATION_TIME_ZONE): yesterday is the 14th
    result = reconcile({"trigger": "schedule", "scheduledTime": "2026-01-14T23:30:00Z"})
    assert result["postingDate"] == DAY
    assert result["totals"][0]["erpCount"] == result["totals"][0]["recordedCount"] == 1


def test_an_unreachable_erp_fails_the_run_and_publishes_nothing(erp):
    erp.inject_faults(503, 10)
    with pytest.raises(ErpUnavailable, match="HTTP 503"):
        reconcile({"date": DAY})
    assert not [e for e in erp_probe() if e["detail-type"] == "ReconciliationCompleted"]


def test_a_malformed_date_is_refused(erp):
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        reconcile({"date": "14.01.2026"})


def erp_probe() -> list[dict[str, Any]]:
    """Every event on the test bus so far (the integration conftest's catch-all probe queue)."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="probe")["QueueUrl"]
    out: list[dict[str, Any]] = []
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
