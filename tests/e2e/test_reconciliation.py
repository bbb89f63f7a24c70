"""Financial reconciliation on the running stack: the ERP posts FinancialPostingRecorded webhooks (and books
them in its journal, the ERP simulator), the ERP's side is made to differ (a posting whose webhook never
came, an amount changed afterwards), and `distsync reconcile --date` lists exactly those mismatches, reports
the untouched domains balanced and publishes ReconciliationCompleted."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def uid() -> str:
    return uuid.uuid4().hex[:8]


def post(stack, posting_id: str, kind: str, domain: str, amount: int, day: str, reference: str = "REF-1") -> str:
    """A posting webhook from the ERP, accepted and expected to end delivered (recorded)."""
    cid = f"posting-{posting_id}"
    data = {"postingId": posting_id, "postingType": kind, "domain": domain, "amountMinor": amount,
            "currency": "EUR", "postingDate": day, "reference": reference}
    return stack.expect(stack.erp.webhook("erp", "FinancialPostingRecorded", data, correlation_id=cid),
                        cid, "delivered")


def book_in_erp_only(stack, posting: dict[str, Any]) -> None:
    """The ERP books a posting distsync never hears about (or changes one it already sent)."""
    result = stack.api.post("/_sim/erp/postings", posting)
    assert result.status == 200, result.body


def reconcile(stack, day: str) -> tuple[int, dict[str, Any]]:
    run = stack.cli("reconcile", "--date", day, "--json")
    assert run.returncode in (0, 1), run.stderr + run.stdout
    return run.returncode, json.loads(run.stdout)


def test_reconcile_lists_the_seeded_mismatches_and_reports_the_other_domains_balanced(stack):
    day, tag = "2031-03-14", uid()
    post(stack, f"INV-{tag}-1", "invoice", "orders", 1999, day, "SO-1")
    post(stack, f"INV-{tag}-2", "invoice", "orders", 5001, day, "SO-2")
    post(stack, f"INV-{tag}-1", "invoice", "orders", 1999, day, "SO-1")  # sent twice: recorded once
    post(stack, f"GR-{tag}-1", "goods_receipt", "inventory", 12345, day, "PO-1")
    post(stack, f"SI-{tag}-1", "invoice", "supplier", 25000, day, "PO-1")
    post(stack, f"GI-{tag}-1", "goods_issue", "fulfillment", 700, "2031-03-13", "SH-1")  # another day
    # the ERP side differs: a goods receipt whose webhook never came, a supplier invoice amended afterwards
    book_in_erp_only(stack, {"postingId": f"GR-{tag}-2", "postingType": "goods_receipt", "domain": "inventory",
                             "amountMinor": 500, "currency": "EUR", "postingDate": day, "reference": "PO-2"})
    book_in_erp_only(stack, {"postingId": f"SI-{tag}-1", "postingType": "invoice", "domain": "supplier",
                             "amountMinor": 25010, "currency": "EUR", "postingDate": day, "reference": "PO-1"})
    stack.wait_idle()

    code, result = reconcile(stack, day)

    assert code == 1  # mismatched
    assert (result["postingDate"], result["status"]) == (day, "mismatched")
    assert {d["domain"]: d["status"] for d in result["domains"]} == {
        "inventory": "mismatched", "supplier": "mismatched", "orders": "balanced", "fulfillment": "balanced"}
    mismatches = {(m["domain"], m["postingType"]): m for m in result["mismatches"]}
    assert set(mismatches) == {("inventory", "goods_receipt"), ("supplier", "invoice")}
    inventory = mismatches[("inventory", "goods_receipt")]
    assert (inventory["kind"], inventory["erpCount"], inventory["recordedCount"], inventory["erpAmountMinor"],
            inventory["recordedAmountMinor"], inventory["differenceMinor"]) == (
        "count_difference", 2, 1, 12845, 12345, 500)
    supplier = mismatches[("supplier", "invoice")]
    assert (supplier["kind"], supplier["differenceMinor"]) == ("amount_difference", 10)
    orders = next(t for t in result["totals"] if t["domain"] == "orders")
    assert (orders["erpCount"], orders["recordedCount"], orders["erpAmountMinor"], orders["recordedAmountMinor"],
            orders["status"]) == (2, 2, 7000, 7000, "balanced")
    assert not [t for t in result["totals"] if t["domain"] == "fulfillment"]  # its posting is of another day

    # published on the bus, with the same data, under the run's correlation id; its trace is delivered
    [event] = [e for e in stack.bus_events_for(result["correlationId"]) if e["detail-type"] == "ReconciliationCompleted"]
    assert event["source"] == "distsync.finance"
    assert event["detail"]["metadata"]["eventId"] == result["eventId"]
    assert event["detail"]["data"] == {k: v for k, v in result.items() if k not in ("correlationId", "eventId")}
    trace = stack.trace(result["correlationId"])
    assert trace["status"] == "delivered"
    assert [(h["stage"], h["outcome"]) for h in trace["hops"]] == [("reconciliation", "delivered")]


def test_a_day_where_both_sides_agree_is_balanced_and_exits_zero(stack):
    day, tag = "2031-04-01", uid()
    post(stack, f"GI-{tag}-1", "goods_issue", "fulfillment", 4200, day, "SH-9")
    post(stack, f"INV-{tag}-1", "invoice", "orders", 99, day, "SO-9")
    stack.wait_idle()
    run = stack.cli("reconcile", "--date", day)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{day}: balanced" in run.stdout
    assert "42.00 EUR" in run.stdout and "0.99 EUR" in run.stdout  # the totals table, in the currency's units


def test_reconcile_refuses_a_bad_date_and_reports_an_unreachable_erp(stack):
    bad = stack.cli("reconcile", "--date", "14.03.2031")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stdout + bad.stderr
    stack.faults(503, 1000)
    try:
        down = stack.cli("reconcile", "--date", "2031-05-01", "--json")
    finally:
        stack.faults(503, 0)
    assert down.returncode == 2, down.stdout + down.stderr
    assert "the reconciliation failed: ErpUnavailable" in down.stdout and "HTTP 503" in down.stdout
