"""Forecast cycles, pure logic: cycle file names and headers, row validation, the material-change rule and its
tolerance boundary, the approval boundary, deterministic event ids, the summary status."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from distsync_core.contracts import CONTRACTS, ForecastCycleCompleted
from distsync_core.masterdata.records import ItemLocationRecord
from distsync_core.planning.cycles import (
    CycleFileRejected,
    CycleRow,
    assess,
    check_header,
    cycle_file,
    cycle_status,
    parse_rows,
    plan_chunk,
    recommendation_event_id,
)

STARTED = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


def record(item: str = "SKU-1", location: str = "DC-1", ss: float = 100.0, rop: float = 200.0) -> ItemLocationRecord:
    return ItemLocationRecord(item, location, "EA", ss, rop, "SUP-1", 7)


def row(ss: float, rop: float = 200.0, item: str = "SKU-1", index: int = 0) -> CycleRow:
    return CycleRow(index, item, "DC-1", ss, rop)


def items(*rows: dict, start: int = 0) -> list[dict]:
    return [{"index": start + n, "row": r} for n, r in enumerate(rows)]


def csv_row(item: str = "SKU-1", location: str = "DC-1", ss: str = "100", rop: str = "200") -> dict:
    return {"itemId": item, "locationId": location, "safetyStock": ss, "reorderPoint": rop}


# --- file names and headers ---------------------------------------------------------------------------
@pytest.mark.parametrize(("key", "cycle", "gz"), [
    ("cycles/2026-W48.csv", "2026-W48", False),
    ("cycles/c1.csv.gz", "c1", True),
    ("cycles/run_7.a.csv", "run_7.a", False),
])
def test_cycle_file_names(key: str, cycle: str, gz: bool) -> None:
    found = cycle_file(key)
    assert (found.cycle_id, found.compressed, found.key) == (cycle, gz, key)


@pytest.mark.parametrize("key", [
    "cycles/c1.txt", "cycles/sub/c1.csv", "cycles/.csv", "cycles/-c1.csv", "other/c1.csv",
    "cycles/" + "x" * 65 + ".csv", "cycles/c 1.csv", "cycles/c1.csv.zip",
])
def test_cycle_file_names_refused(key: str) -> None:
    with pytest.raises(CycleFileRejected, match="is not cycles/<cycleId>.csv"):
        cycle_file(key)


def test_header_in_any_order_with_extra_columns() -> None:
    assert check_header("reorderPoint,itemId,note,safetyStock,locationId\r\n") == [
        "reorderPoint", "itemId", "note", "safetyStock", "locationId"]


@pytest.mark.parametrize(("line", "message"), [
    ("item,location,ss,rop", "missing itemId, locationId, safetyStock, reorderPoint"),
    ("itemId,locationId,safetyStock", "missing reorderPoint"),
    ("itemId,locationId,safetyStock,reorderPoint,itemId", "duplicated itemId"),
    ("\ufeffitemId,locationId,safetyStock,reorderPoint", "byte order mark"),
])
def test_header_refused(line: str, message: str) -> None:
    with pytest.raises(CycleFileRejected, match=message):
        check_header(line)


# --- rows ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("values", "reason"), [
    (csv_row(item=""), "itemId is empty"),
    (csv_row(item="SKU 1"), "itemId 'SKU 1' is not an identifier"),
    (csv_row(location="-DC"), "locationId '-DC' is not an identifier"),
    (csv_row(ss="abc"), "safetyStock 'abc' is not a number"),
    (csv_row(ss=""), "safetyStock is empty"),
    (csv_row(ss="   "), "safetyStock is empty"),
    (csv_row(rop="-1"), "reorderPoint '-1' is not a quantity"),
    (csv_row(ss="nan"), "safetyStock 'nan' is not a quantity"),
    (csv_row(ss="inf"), "safetyStock 'inf' is not a quantity"),
    (csv_row(rop="1000000000.5"), "reorderPoint '1000000000.5' is not a quantity"),
    ({"itemId": "SKU-1", "locationId": "DC-1"}, "safetyStock is empty"),  # a row without the columns
    # issue 12, finding 3 for cycles: float() reads these; "SKU-1\n" crashed the batch in the contract model
    (csv_row(ss="\u0661\u0662"), "safetyStock '\u0661\u0662' is not a number"),  # Arabic-Indic 12
    (csv_row(ss="\uff11"), "safetyStock '\uff11' is not a number"),  # fullwidth 1
    (csv_row(rop="1_000"), "reorderPoint '1_000' is not a number"),
    (csv_row(ss="0" * 4999 + "1"), "is not a number"),
    (csv_row(item="SKU-1\n"), "itemId 'SKU-1\\n' is not an identifier"),
])
def test_malformed_rows_are_rejected_with_the_reason(values: dict, reason: str) -> None:
    rows, rejected = parse_rows(items(values, start=41))
    assert rows == []
    (bad,) = rejected
    assert reason in bad.reason
    assert bad.report() == {"row": 42, "line": 43, "reason": bad.reason, "values": values}


def test_well_formed_rows_parse_to_numbers() -> None:
    rows, rejected = parse_rows(items(csv_row(ss="12.5", rop="0"), csv_row(item="SKU-2", ss="1e3", rop=" 7 ")))
    assert rejected == []
    assert [(r.item_id, r.safety_stock, r.reorder_point, r.index) for r in rows] == [
        ("SKU-1", 12.5, 0.0, 0), ("SKU-2", 1000.0, 7.0, 1)]


def test_a_second_row_for_the_same_item_location_in_a_batch_is_rejected() -> None:
    rows, rejected = parse_rows(items(csv_row(ss="110"), csv_row(ss="120")))
    assert [r.safety_stock for r in rows] == [110.0]
    assert [r.reason for r in rejected] == ["duplicate of row 1 for SKU-1@DC-1"]


# --- the material-change rule ------------------------------------------------------------------------------
def _assess(r: CycleRow, current: ItemLocationRecord | None = None, tolerance: float = 2.0, threshold: float = 20.0):
    return assess(r, current if current is not None else record(), cycle_id="c1", tolerance_percent=tolerance,
                  threshold_percent=threshold)


@pytest.mark.parametrize(("ss", "rop", "kind"), [
    (100, 200, "unchanged"),  # equal
    (101, 200, "unchanged"),  # 1 %
    (102, 200, "unchanged"),  # exactly the tolerance: not above it
    (98, 196, "unchanged"),  # 2 % down on both
    (102.01, 200, "changed"),  # just above
    (100, 204.02, "changed"),  # the reorder point alone can make it material
    (97.9, 200, "changed"),  # down counts as much as up
])
def test_tolerance_boundary(ss: float, rop: float, kind: str) -> None:
    assert _assess(row(ss, rop)).kind == kind


def test_the_tolerance_is_configurable() -> None:
    assert _assess(row(104), tolerance=5).kind == "unchanged"
    assert _assess(row(104), tolerance=3).kind == "changed"


@pytest.mark.parametrize(("ss", "approval"), [(110, False), (120, False), (120.01, True), (150, True)])
def test_approval_boundary_follows_the_planning_transformer(ss: float, approval: bool) -> None:
    result = _assess(row(ss))
    assert result.kind == "changed"
    assert result.requires_approval is approval
    assert result.change_percent == pytest.approx((ss - 100) / 100 * 100)


def test_from_a_zero_baseline_any_increase_is_material() -> None:
    assert _assess(row(1, 0), current=record(ss=0, rop=0)).kind == "changed"
    assert _assess(row(0, 0), current=record(ss=0, rop=0)).kind == "unchanged"


def test_unknown_item_location_is_rejected() -> None:
    result = assess(row(110), None, cycle_id="c1", tolerance_percent=2, threshold_percent=20)
    assert (result.kind, result.reason) == ("rejected", "unknown item-location SKU-1@DC-1: not in master data")


# --- a whole batch ------------------------------------------------------------------------------------------
def _plan(batch: list[dict], known: dict | None = None):
    known = known if known is not None else {("SKU-1", "DC-1"): record(), ("SKU-2", "DC-1"): record("SKU-2"),
                                             ("SKU-3", "DC-1"): record("SKU-3")}
    asked: list[list] = []

    def fetch(keys: list) -> dict:
        asked.append(keys)
        return {k: v for k, v in known.items() if k in keys}

    plan = plan_chunk("c1", batch, fetch, occurred_at=STARTED, tolerance_percent=2, threshold_percent=20)
    return plan, asked


def test_plan_counts_every_row_once_and_emits_only_material_changes() -> None:
    batch = items(
        csv_row("SKU-1", ss="101"),  # unchanged
        csv_row("SKU-2", ss="110"),  # direct
        csv_row("SKU-3", ss="150"),  # approval
        csv_row("SKU-9", ss="150"),  # unknown
        csv_row("SKU-4", ss="x"),  # malformed
        start=500,
    )
    plan, asked = _plan(batch)
    assert asked == [[("SKU-1", "DC-1"), ("SKU-2", "DC-1"), ("SKU-3", "DC-1"), ("SKU-9", "DC-1")]]  # one lookup
    assert plan.counts.as_dict() == {"rowsRead": 5, "changed": 2, "unchanged": 1, "rejected": 2,
                                     "approvalsRequired": 1, "eventsEmitted": 2}
    assert plan.first_index == 500
    assert [(r.index, r.reason[:20]) for r in plan.rejected] == [(503, "unknown item-locatio"), (504, "safetyStock 'x' is n")]
    events = [e.model_dump(mode="json", by_alias=True) for e in plan.events]
    assert [e["data"] for e in events] == [
        {"itemId": "SKU-2", "locationId": "DC-1", "recommendedSafetyStock": 110.0, "recommendedReorderPoint": 200.0,
         "planningCycleId": "c1"},
        {"itemId": "SKU-3", "locationId": "DC-1", "recommendedSafetyStock": 150.0, "recommendedReorderPoint": 200.0,
         "planningCycleId": "c1"},
    ]
    meta = events[0]["metadata"]
    assert (meta["eventType"], meta["source"], meta["correlationId"]) == (
        "ReplenishmentRecommended", "planning", "cycle-c1-SKU-2-DC-1")
    assert meta["occurredAt"] == "2026-11-27T06:00:00Z"


def test_event_ids_derive_from_cycle_and_item_location_so_a_retry_emits_the_same_ids() -> None:
    batch = items(csv_row("SKU-2", ss="110"), csv_row("SKU-3", ss="150"))
    first, _ = _plan(batch)
    again, _ = _plan(batch)
    ids = [e.metadata.event_id for e in first.events]
    assert ids == [e.metadata.event_id for e in again.events]
    assert ids == [recommendation_event_id("c1", "SKU-2", "DC-1"), recommendation_event_id("c1", "SKU-3", "DC-1")]
    assert len(set(ids)) == 2
    assert recommendation_event_id("c2", "SKU-2", "DC-1") not in ids  # another cycle, other ids


def test_a_batch_of_malformed_rows_looks_nothing_up() -> None:
    plan, asked = _plan(items(csv_row(ss=""), csv_row(item="")))
    assert asked == [] and plan.counts.rejected == 2 and plan.events == []


# --- summary --------------------------------------------------------------------------------------------------
def test_cycle_status_from_the_state_machine_state() -> None:
    assert cycle_status({"cycleId": "c1"}) == ("completed", None)
    cause = json.dumps({"errorMessage": "header 'a,b': missing itemId", "errorType": "CycleFileRejected"})
    assert cycle_status({"error": {"Error": "CycleFileRejected", "Cause": cause}}) == (
        "rejected", "header 'a,b': missing itemId")
    status, reason = cycle_status({"error": {"Error": "States.ExceedToleratedFailureThreshold", "Cause": "1 of 3"}})
    assert (status, reason) == ("failed", "States.ExceedToleratedFailureThreshold: 1 of 3")


def test_forecast_cycle_completed_contract() -> None:
    data = {"cycleId": "c1", "status": "completed", "sourceFile": "cycles/c1.csv", "rowsRead": 3, "changed": 1,
            "unchanged": 1, "rejected": 1, "approvalsRequired": 0, "eventsEmitted": 1, "tolerancePercent": 2.0,
            "startedAt": "2026-11-27T06:00:00Z", "finishedAt": "2026-11-27T06:05:00Z",
            "rejectedReport": "s3://landing/rejected/cycles/c1/"}
    model = ForecastCycleCompleted.model_validate(data)
    assert model.business_key() == "CYCLE#c1"
    with pytest.raises(ValueError, match="rowsRead"):
        ForecastCycleCompleted.model_validate({**data, "rowsRead": -1})
    with pytest.raises(ValueError, match="status"):
        ForecastCycleCompleted.model_validate({**data, "status": "partial"})
    contract = CONTRACTS[("ForecastCycleCompleted", "1")]
    assert (contract.model, contract.bus_source, contract.producers) == (
        ForecastCycleCompleted, "distsync.cycles", frozenset({"distsync.cycles"}))
