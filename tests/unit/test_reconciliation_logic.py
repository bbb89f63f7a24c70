"""The reconciliation's comparison logic: ERP totals against recorded postings, per domain, posting type and
currency, in exact integer minor units."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from distsync_core.contracts import FinancialPostingRecorded, ReconciliationCompleted
from distsync_core.finance.reconciliation import (
    Total,
    default_date,
    format_amount,
    parse_date,
    reconcile,
    totals_of,
)

DAY = date(2026, 1, 14)


def posting(pid: str, amount: int, domain: str = "orders", kind: str = "invoice", currency: str = "EUR") -> dict:
    return {"postingId": pid, "postingType": kind, "domain": domain, "amountMinor": amount, "currency": currency}


def run(erp_postings: list[dict], recorded_postings: list[dict]) -> ReconciliationCompleted:
    return reconcile("rec-1", DAY, totals_of(erp_postings), totals_of(recorded_postings))


def domain_status(result: ReconciliationCompleted) -> dict[str, str]:
    return {d.domain: d.status for d in result.domains}


def test_the_same_postings_on_both_sides_are_balanced_in_every_domain():
    postings = [posting("INV-1", 1999), posting("INV-2", 5001), posting("GR-1", 12345, "inventory", "goods_receipt")]
    result = run(postings, list(reversed(postings)))
    assert result.status == "balanced" and result.mismatches == []
    assert domain_status(result) == {"inventory": "balanced", "orders": "balanced", "fulfillment": "balanced",
                                     "supplier": "balanced"}
    orders = next(t for t in result.totals if t.domain == "orders")
    assert (orders.posting_type, orders.erp_amount_minor, orders.erp_count, orders.recorded_amount_minor,
            orders.recorded_count, orders.status) == ("invoice", 7000, 2, 7000, 2, "balanced")
    assert len(result.totals) == 2  # one line per group seen on either side


def test_nothing_on_either_side_is_balanced():
    result = run([], [])
    assert result.status == "balanced" and result.totals == [] and len(result.domains) == 4


def test_an_erp_only_posting_in_a_group_distsync_also_has_is_a_count_difference():
    recorded = [posting("GR-1", 12345, "inventory", "goods_receipt")]
    erp = [*recorded, posting("GR-2", 500, "inventory", "goods_receipt")]
    result = run(erp, recorded)
    assert result.status == "mismatched"
    [m] = result.mismatches
    assert (m.domain, m.posting_type, m.currency, m.kind) == ("inventory", "goods_receipt", "EUR", "count_difference")
    assert (m.erp_amount_minor, m.erp_count, m.recorded_amount_minor, m.recorded_count) == (12845, 2, 12345, 1)
    assert (m.difference_minor, m.count_difference) == (500, 1)
    assert "128.45 EUR" in m.message and "123.45 EUR" in m.message and "5.00 EUR" in m.message


def test_a_group_only_the_erp_has_is_missing_in_distsync():
    [m] = run([posting("GI-1", 700, "fulfillment", "goods_issue")], []).mismatches
    assert (m.kind, m.erp_count, m.recorded_count, m.difference_minor) == ("missing_in_distsync", 1, 0, 700)


def test_a_distsync_only_posting_is_missing_in_erp():
    result = run([], [posting("SI-1", 250, "supplier")])
    [m] = result.mismatches
    assert (m.kind, m.erp_count, m.recorded_count, m.difference_minor, m.count_difference) == (
        "missing_in_erp", 0, 1, -250, -1)
    assert domain_status(result)["supplier"] == "mismatched"


def test_same_count_different_total_is_an_amount_difference():
    [m] = run([posting("INV-1", 1000)], [posting("INV-1", 1001)]).mismatches
    assert (m.kind, m.difference_minor, m.count_difference) == ("amount_difference", -1, 0)


def test_mismatches_are_split_per_domain_and_a_balanced_domain_stays_balanced():
    balanced = [posting("INV-1", 1999)]
    erp = [*balanced, posting("GR-1", 100, "inventory", "goods_receipt"), posting("GI-1", 5, "inventory", "goods_issue")]
    recorded = [*balanced, posting("GR-1", 100, "inventory", "goods_receipt")]
    result = run(erp, recorded)
    assert domain_status(result) == {"inventory": "mismatched", "orders": "balanced", "fulfillment": "balanced",
                                     "supplier": "balanced"}
    assert [(m.domain, m.posting_type, m.kind) for m in result.mismatches] == [
        ("inventory", "goods_issue", "missing_in_distsync")]
    assert {d.domain: d.mismatches for d in result.domains}["inventory"] == 1


def test_equal_totals_with_a_different_count_still_mismatch():
    # the ERP split one invoice into two of half the amount (or booked an extra zero posting): same total
    [m] = run([posting("INV-1", 50), posting("INV-2", 50)], [posting("INV-0", 100)]).mismatches
    assert (m.kind, m.difference_minor, m.count_difference) == ("count_difference", 0, 1)
    [m] = run([posting("INV-1", 100), posting("ZERO-1", 0)], [posting("INV-1", 100)]).mismatches
    assert (m.kind, m.difference_minor, m.count_difference) == ("count_difference", 0, 1)


def test_currencies_are_never_added_up():
    # 10 EUR + 5 USD on one side, 15 EUR on the other: a float "total" of 15 would look balanced
    result = run([posting("A", 1000), posting("B", 500, currency="USD")], [posting("A", 1000), posting("B", 500)])
    assert {(m.currency, m.kind) for m in result.mismatches} == {("EUR", "count_difference"),
                                                                 ("USD", "missing_in_distsync")}


def test_sums_are_exact_where_floats_are_not():
    # ten postings of 0.10 EUR against one ERP total of 1.00 EUR: in floats 0.1 * 10 summed is 0.9999999999999999
    assert sum([0.1] * 10) != 1.0
    recorded = [posting(f"INV-{i}", 10) for i in range(10)]
    erp = {("orders", "invoice", "EUR"): Total(100, 10)}
    assert reconcile("rec-1", DAY, erp, totals_of(recorded)).status == "balanced"
    # and one minor unit off is found, however large the totals
    big = [posting(f"INV-{i}", 10**15 - 1) for i in range(1000)]
    off = {("orders", "invoice", "EUR"): Total(1000 * (10**15 - 1) + 1, 1000)}
    [m] = reconcile("rec-1", DAY, off, totals_of(big)).mismatches
    assert (m.kind, m.difference_minor) == ("amount_difference", 1)


def test_amounts_are_whole_minor_units_only():
    with pytest.raises(ValidationError):  # 12.5 cents, or a float at all, is not an amount
        FinancialPostingRecorded.model_validate({"postingId": "P", "postingType": "invoice", "domain": "orders",
                                                 "amountMinor": 12.5, "currency": "EUR", "postingDate": "2026-01-14",
                                                 "reference": "SO-1"})
    with pytest.raises(ValueError, match="whole number"):
        totals_of([posting("P", 12.5)])


def test_the_result_is_a_valid_contract_and_status_follows_mismatches():
    result = run([posting("INV-1", 1)], [])
    assert ReconciliationCompleted.model_validate(result.model_dump(by_alias=True, mode="json")) == result
    with pytest.raises(ValidationError, match="mismatched"):
        ReconciliationCompleted.model_validate({**result.model_dump(by_alias=True, mode="json"), "status": "balanced"})
    with pytest.raises(ValueError, match="unknown domains"):
        reconcile("rec-1", DAY, {("payroll", "invoice", "EUR"): Total(1, 1)}, {})


def test_amounts_are_formatted_with_the_currencys_minor_unit():
    assert format_amount(123456, "EUR") == "1234.56 EUR"
    assert format_amount(-5, "EUR") == "-0.05 EUR"
    assert format_amount(1500, "JPY") == "1500 JPY"
    assert format_amount(1234, "KWD") == "1.234 KWD"


def test_the_default_date_is_yesterday_in_the_schedules_time_zone():
    # 23:30 UTC on the 14th is already the 15th in Berlin: yesterday there is the 14th
    late = datetime(2026, 1, 14, 23, 30, tzinfo=UTC)
    assert default_date("UTC", late) == date(2026, 1, 13)
    assert default_date("Europe/Berlin", late) == date(2026, 1, 14)
    assert parse_date("2026-01-14") == DAY
    for bad in ("2026-1-14", "2026-01-14T00:00:00", "yesterday"):
        with pytest.raises(ValueError):
            parse_date(bad)
