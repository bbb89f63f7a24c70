import pytest

from distsync_core.contracts import ReplenishmentRecommended
from distsync_core.masterdata.records import ItemLocationRecord, relative_change_percent
from distsync_core.planning.replenishment import (
    ApplyDirectly,
    NoChange,
    Quarantine,
    RequireApproval,
    decide,
    erp_idempotency_key,
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
