"""The inventory visibility accuracy computation: ERP against WMS on-hand per item-location, comparable only at
near as-of times, agreeing within the quantity tolerance."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from distsync_core.inventory.accuracy import (
    CSV_COLUMNS,
    AccuracyReport,
    SourceBalance,
    Tolerance,
    compare,
    disagreements_csv,
)

T0 = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)
EXACT = Tolerance(as_of_minutes=15)


def bal(source: str, on_hand: float, *, item: str = "SKU-1", loc: str = "DC-1", minutes: float = 0) -> SourceBalance:
    return SourceBalance(item_id=item, location_id=loc, source=source, on_hand=on_hand,
                         as_of=T0 + timedelta(minutes=minutes))


def run(*balances: SourceBalance, tolerance: Tolerance = EXACT, target: float = 98) -> AccuracyReport:
    return compare(balances, tolerance, now=NOW, target_percent=target)


def test_equal_quantities_at_the_same_as_of_agree() -> None:
    report = run(bal("erp", 100), bal("wms", 100))
    assert (report.accuracy_percent, report.compared, report.agreeing) == (100.0, 1, 1)
    assert report.disagreeing == [] and report.not_comparable == [] and not report.below_target


def test_a_difference_is_listed_with_both_values_and_as_of_times() -> None:
    report = run(bal("erp", 100), bal("wms", 90, minutes=5), bal("erp", 7, item="SKU-2"), bal("wms", 7, item="SKU-2"))
    assert (report.accuracy_percent, report.compared, report.agreeing) == (50.0, 2, 1)
    [d] = report.disagreeing
    assert (d.item_id, d.location_id, d.erp_on_hand, d.wms_on_hand, d.difference) == ("SKU-1", "DC-1", 100, 90, 10)
    assert (d.erp_as_of, d.wms_as_of) == (T0, T0 + timedelta(minutes=5))
    assert report.below_target
    assert report.sentence().startswith("Inventory visibility accuracy 50.00 %: 1 of 2 item-locations agree")


@pytest.mark.parametrize(("tolerance", "wms", "agrees"), [
    (Tolerance(as_of_minutes=15, quantity=0.1), 99.9, True),  # exactly the absolute tolerance (decimal, not float)
    (Tolerance(as_of_minutes=15, quantity=0.1), 99.89, False),
    (Tolerance(as_of_minutes=15, quantity_percent=2), 98, True),  # 2 % of the larger (100)
    (Tolerance(as_of_minutes=15, quantity_percent=2), 97.99, False),
    (Tolerance(as_of_minutes=15, quantity=5, quantity_percent=1), 95, True),  # the larger allowance counts
    (Tolerance(as_of_minutes=15, quantity=0.5, quantity_percent=3), 97, True),
    (Tolerance(as_of_minutes=15, quantity=0.5, quantity_percent=3), 96.9, False),
])
def test_quantity_tolerance_edges(tolerance: Tolerance, wms: float, agrees: bool) -> None:
    report = run(bal("erp", 100), bal("wms", wms), tolerance=tolerance)
    assert report.compared == 1 and report.agreeing == (1 if agrees else 0)
    assert len(report.disagreeing) == (0 if agrees else 1)


def test_as_of_times_at_the_tolerance_are_comparable_beyond_it_not() -> None:
    at_edge = run(bal("erp", 100), bal("wms", 90, minutes=15))
    assert at_edge.compared == 1 and len(at_edge.disagreeing) == 1
    beyond = run(bal("erp", 100), bal("wms", 90, minutes=-15.5))
    assert (beyond.compared, beyond.accuracy_percent, beyond.disagreeing) == (0, None, [])
    [nc] = beyond.not_comparable
    assert nc.reason == "as-of times 15.5 min apart (more than 15 min)"
    assert (nc.erp_on_hand, nc.wms_on_hand, nc.wms_as_of) == (100, 90, T0 - timedelta(minutes=15.5))


def test_an_item_location_only_one_source_reported_is_not_comparable_nor_disagreeing() -> None:
    report = run(bal("erp", 100), bal("wms", 100), bal("wms", 5, loc="DC-2"), bal("erp", 3, item="SKU-9"))
    assert (report.compared, report.agreeing, report.accuracy_percent) == (1, 1, 100.0)
    assert [(n.item_id, n.location_id, n.reason, n.erp_on_hand, n.wms_on_hand) for n in report.not_comparable] == [
        ("SKU-1", "DC-2", "only the WMS reported a balance", None, 5),
        ("SKU-9", "DC-1", "only the ERP reported a balance", 3, None),
    ]


def test_nothing_to_compare_gives_no_figure_and_is_not_below_target() -> None:
    report = run()
    assert (report.accuracy_percent, report.compared, report.disagreeing, report.not_comparable) == (None, 0, [], [])
    assert not report.below_target
    assert report.sentence() == "Inventory visibility accuracy: no item-location comparable (0 not comparable)."


def test_the_csv_lists_the_disagreeing_item_locations() -> None:
    report = run(bal("erp", 100), bal("wms", 90), bal("erp", 1, item="SKU-2"), bal("wms", 1, item="SKU-2"),
                 bal("erp", 0, item="SKU-3"), bal("wms", 2.5, item="SKU-3", minutes=1))
    rows = list(csv.DictReader(io.StringIO(disagreements_csv(report))))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [(r["itemId"], r["erpOnHand"], r["wmsOnHand"], r["difference"]) for r in rows] == [
        ("SKU-1", "100.0", "90.0", "10.0"), ("SKU-3", "0.0", "2.5", "-2.5")]
    assert rows[1]["wmsAsOf"] == "2026-12-05T06:01:00Z"


def test_the_report_round_trips_as_json() -> None:
    report = run(bal("erp", 100), bal("wms", 90))
    again = AccuracyReport.model_validate_json(report.model_dump_json(by_alias=True))
    assert again == report and again.below_target
