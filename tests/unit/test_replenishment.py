from datetime import UTC, datetime, timedelta, timezone

import pytest

from distsync_core.contracts import ReplenishmentRecommended, ReplenishmentUpdateRequested
from distsync_core.masterdata.records import AppliedUpdate, ItemLocationRecord, relative_change_percent
from distsync_core.planning.replenishment import (
    ApplyDirectly,
    NoChange,
    Quarantine,
    RequireApproval,
    decide,
    erp_idempotency_key,
    recommended_at,
    superseded,
)

CURRENT = ItemLocationRecord("SKU-1", "DC-1", "EA", safety_stock=100, reorder_point=200, supplier_id="SUP-9",
                             lead_time_days=5)


def rec(ss: float, rop: float, cycle: str = "c1") -> ReplenishmentRecommended:
    return ReplenishmentRecommended(item_id="SKU-1", location_id="DC-1", recommended_safety_stock=ss,
                                    recommended_reorder_point=rop, planning_cycle_id=cycle)


def test_unknown_item_location_is_quarantined_with_the_reason():
    decision = decide(rec(1, 2), None, 20)
    assert isinstance(decision, Quarantine) and "unknown item-location SKU-1@DC-1" in decision.reason


def test_same_values_are_no_change():
    assert isinstance(decide(rec(100, 200), CURRENT, 20), NoChange)


@pytest.mark.parametrize(("ss", "rop", "expected"), [(120, 200, ApplyDirectly), (100, 240, ApplyDirectly),
                                                     (121, 200, RequireApproval), (100, 150, RequireApproval)])
def test_threshold_is_inclusive_and_the_larger_change_counts(ss, rop, expected):
    assert isinstance(decide(rec(ss, rop), CURRENT, 20), expected)


def test_update_is_enriched_from_master_data():
    decision = decide(rec(110, 200), CURRENT, 20)
    assert isinstance(decision, ApplyDirectly)
    u = decision.update
    assert (u.unit_of_measure, u.supplier_id, u.lead_time_days) == ("EA", "SUP-9", 5)
    assert (u.previous_safety_stock, u.safety_stock, u.change_percent) == (100, 110, 10.0)


def test_approval_id_and_erp_key_are_stable_for_the_same_recommendation():
    a, b = decide(rec(300, 200), CURRENT, 20), decide(rec(300, 200), CURRENT, 20)
    assert isinstance(a, RequireApproval) and a.approval_id == b.approval_id
    assert erp_idempotency_key(rec(300, 200)) != erp_idempotency_key(rec(300, 200, cycle="c2"))
    assert erp_idempotency_key(rec(300, 200)) != erp_idempotency_key(rec(300.5, 200))


def test_change_from_zero_counts_per_unit():
    assert relative_change_percent(0, 0) == 0
    assert relative_change_percent(0, 1) == 100
    assert relative_change_percent(50, 40) == 20


# --- superseded: only the latest recommendation of an item-location reaches the ERP (issue 12, finding 6) ---
T1, T2 = datetime(2026, 11, 20, 6, tzinfo=UTC), datetime(2026, 11, 27, 6, tzinfo=UTC)


def update_at(at: datetime | None, ss: float = 120, cycle: str = "c-old") -> ReplenishmentUpdateRequested:
    decision = decide(rec(ss, 200, cycle), CURRENT, 20, recommended_at=at)
    assert isinstance(decision, ApplyDirectly | RequireApproval)
    return decision.update


def applied(at: datetime, approval_id: str | None = None) -> AppliedUpdate:
    return AppliedUpdate(at, "f" * 40, "c-new", 110, 210, approval_id=approval_id)


def test_the_update_carries_the_recommendations_time():
    assert update_at(T1).recommended_at == T1
    assert update_at(None).recommended_at is None


def test_nothing_applied_yet_or_a_newer_update_is_not_superseded():
    assert superseded(update_at(T2), T2, None) is None
    assert superseded(update_at(T2), T2, applied(T1)) is None


def test_the_same_recommendation_again_is_not_superseded():
    """Equal is not older: a re-delivery of the applied one goes to the ERP, which replays it (idempotent)."""
    assert superseded(update_at(T2), T2, applied(T2)) is None


def test_an_older_update_is_superseded_with_the_newer_one_named():
    reason = superseded(update_at(T1), T1, applied(T2, approval_id="apr-9"))
    assert reason == ("superseded: recommended 2026-11-20T06:00:00+00:00 (cycle c-old), but the ERP already applied "
                      "the newer recommendation of 2026-11-27T06:00:00+00:00 (cycle c-new, approval apr-9, update "
                      "ffffffffffff: safety stock 110, reorder point 210)")
    assert "applied directly" in (superseded(update_at(T1), T1, applied(T2)) or "")


def test_times_compare_as_instants_across_offsets():
    plus_two = T2.astimezone(timezone(timedelta(hours=2)))
    assert superseded(update_at(T2), plus_two, applied(T2)) is None
    assert superseded(update_at(T1), T2 - timedelta(microseconds=1), applied(T2)) is not None


def test_an_update_from_before_recommended_at_is_ordered_by_its_event_time():
    assert recommended_at(update_at(None), T1) == T1
    assert recommended_at(update_at(T1), T2) == T1  # the recommendation's own time wins
