"""Inventory availability without AWS: ATP arithmetic, the InventoryBalanceChanged v1 -> v2 upcaster and the
versioning policy (unknown versions refused by name). Which balance is newer is the inventory store's
condition expression, tested against moto (tests/integration/test_inventory_pipeline.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from distsync_core import contracts
from distsync_core.contracts import (
    CONTRACTS,
    Contract,
    InventoryBalanceChangedV2,
    UnknownContractError,
    contract_for,
    latest_version,
    new_envelope,
    upcast_to_latest,
)
from distsync_core.inventory.policy import available_to_promise
from distsync_core.platform.problems import ProblemError
from distsync_core.platform.signing import signed_headers
from distsync_core.platform.webhooks import accept

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
V1 = {
    "itemId": "SKU-1", "locationId": "DC-1", "onHand": 100, "allocated": 30, "inTransit": 50,
    "inTransitDueAt": "2026-11-30T08:00:00+00:00", "asOf": "2026-11-27T11:59:00+00:00", "sourceSystem": "wms",
}
LOTS = [
    {"lotNumber": "L-1", "quantity": 60, "expiresOn": "2027-03-01", "serialNumbers": ["S-1", "S-2"]},
    {"lotNumber": "L-2", "quantity": 40},
]


def atp(on_hand=100.0, allocated=30.0, in_transit=50.0, due=NOW + timedelta(days=3), horizon=14.0):
    return available_to_promise(on_hand, allocated, in_transit, due, now=NOW, horizon_days=horizon)


# --------------------------------------------------------------------------------------------- ATP
def test_atp_is_on_hand_minus_allocated_plus_inbound_due_within_the_horizon():
    result = atp()
    assert (result.available_to_promise, result.shortfall, result.inbound_counted) == (120, 0, 50)
    assert result.as_dict() == {"availableToPromise": 120, "shortfall": 0, "inboundCounted": 50}


def test_inbound_due_exactly_at_the_horizon_counts_and_a_moment_later_does_not():
    edge = NOW + timedelta(days=14)
    assert atp(due=edge).inbound_counted == 50 and atp(due=edge).available_to_promise == 120
    later = atp(due=edge + timedelta(microseconds=1))
    assert (later.inbound_counted, later.available_to_promise) == (0, 70)


def test_horizon_is_compared_in_absolute_time_whatever_the_offset():
    edge_in_berlin = (NOW + timedelta(days=14)).astimezone(timezone(timedelta(hours=1)))
    assert atp(due=edge_in_berlin).inbound_counted == 50
    assert atp(due=edge_in_berlin + timedelta(seconds=1)).inbound_counted == 0


def test_a_zero_horizon_only_promises_what_is_due_by_now():
    assert atp(due=NOW, horizon=0).inbound_counted == 50
    assert atp(due=NOW + timedelta(hours=1), horizon=0).inbound_counted == 0


def test_in_transit_without_a_due_time_is_not_promised():
    result = atp(due=None)
    assert (result.available_to_promise, result.inbound_counted) == (70, 0)


def test_over_allocation_is_zero_to_promise_and_the_shortfall():
    result = atp(on_hand=10, allocated=25, in_transit=0, due=None)
    assert (result.available_to_promise, result.shortfall) == (0, 15)
    # Inbound within the horizon reduces the shortfall; beyond it, it does not.
    assert atp(on_hand=10, allocated=25, in_transit=5).shortfall == 10
    assert atp(on_hand=10, allocated=25, in_transit=5, due=NOW + timedelta(days=30)).shortfall == 15
    # Exactly covered: nothing to promise, nothing short.
    exact = atp(on_hand=10, allocated=15, in_transit=5)
    assert (exact.available_to_promise, exact.shortfall) == (0, 0)


# ---------------------------------------------------------------------------------------- upcaster
def envelope(data: dict, version: str):
    contract = CONTRACTS[("InventoryBalanceChanged", version)]
    model = contract.model.model_validate(data)
    return new_envelope(contract, model, source="wms", correlation_id="corr-inv")


def test_a_v1_balance_is_upcast_to_v2_with_no_lots_and_every_field_kept():
    upcast = upcast_to_latest(envelope(V1, "1"))
    assert type(upcast) is InventoryBalanceChangedV2
    assert upcast.lots == []
    assert upcast == InventoryBalanceChangedV2.model_validate({**V1, "lots": []})
    assert upcast.as_of == datetime(2026, 11, 27, 11, 59, tzinfo=UTC)
    assert upcast.in_transit_due_at == datetime(2026, 11, 30, 8, tzinfo=UTC)
    assert (upcast.on_hand, upcast.allocated, upcast.in_transit, upcast.source_system) == (100, 30, 50, "wms")


def test_a_v1_balance_without_a_due_time_upcasts_too():
    data = {k: v for k, v in V1.items() if k != "inTransitDueAt"}
    upcast = upcast_to_latest(envelope(data, "1"))
    assert upcast.in_transit_due_at is None and upcast.lots == []


def test_the_envelope_keeps_the_events_own_version_while_consumers_see_the_latest():
    env = envelope(V1, "1")
    assert env.metadata.event_version == "1"  # the bus keeps the original version
    assert type(upcast_to_latest(env)) is InventoryBalanceChangedV2


def test_a_v2_balance_is_taken_as_it_is():
    upcast = upcast_to_latest(envelope({**V1, "lots": LOTS}, "2"))
    assert [(lot.lot_number, lot.quantity) for lot in upcast.lots] == [("L-1", 60), ("L-2", 40)]
    assert upcast.lots[0].serial_numbers == ["S-1", "S-2"] and upcast.lots[1].serial_numbers == []


def test_a_v1_event_is_validated_against_v1_before_it_is_upcast():
    env = envelope(V1, "1").model_copy(update={"data": {**V1, "lots": LOTS}})  # lots are not part of v1
    with pytest.raises(ValidationError) as info:
        upcast_to_latest(env)
    assert [e["loc"] for e in info.value.errors()] == [("lots",)]
    env = envelope(V1, "1").model_copy(update={"data": {**V1, "onHand": -1}})
    with pytest.raises(ValidationError):
        upcast_to_latest(env)


def test_v2_lots_holding_more_than_on_hand_are_refused():
    with pytest.raises(ValidationError, match="the lots hold more than onHand"):
        InventoryBalanceChangedV2.model_validate({**V1, "onHand": 99, "lots": LOTS})
    assert InventoryBalanceChangedV2.model_validate({**V1, "onHand": 100, "lots": LOTS}).on_hand == 100  # equal: fine
    assert InventoryBalanceChangedV2.model_validate({**V1, "onHand": 101, "lots": LOTS}).on_hand == 101  # some unlotted


def test_fractional_lots_that_add_up_to_on_hand_are_not_refused_by_float_rounding():
    # 0.1 + 0.2 > 0.3 in binary floating point; quantities come from decimal JSON.
    lots = [{"lotNumber": "L-1", "quantity": 0.1}, {"lotNumber": "L-2", "quantity": 0.2}]
    assert len(InventoryBalanceChangedV2.model_validate({**V1, "onHand": 0.3, "lots": lots}).lots) == 2
    with pytest.raises(ValidationError, match="the lots hold more than onHand"):
        InventoryBalanceChangedV2.model_validate({**V1, "onHand": 0.29999, "lots": lots})


def test_an_upcast_v1_event_cannot_fail_the_v2_rules():
    """The upcaster must produce valid v2 data for every valid v1 event (no lots: nothing above onHand)."""
    for on_hand in (0, 0.5, 1e9):
        assert upcast_to_latest(envelope({**V1, "onHand": on_hand}, "1")).lots == []


# -------------------------------------------------------------------------------- versioning policy
def test_unknown_version_is_refused_naming_the_supported_ones():
    with pytest.raises(UnknownContractError) as info:
        contract_for("InventoryBalanceChanged", "3")
    assert str(info.value) == "eventVersion '3' of InventoryBalanceChanged is not supported (supported: 1, 2)"
    with pytest.raises(UnknownContractError, match=r"unknown eventType 'InventoryBalanceChange' \(known: .*"
                                                   r"InventoryBalanceChanged"):
        contract_for("InventoryBalanceChange", "1")


def test_consumers_refuse_an_event_of_an_unknown_version_by_name():
    env = envelope(V1, "1")
    env = env.model_copy(update={"metadata": env.metadata.model_copy(update={"event_version": "3"})})
    with pytest.raises(UnknownContractError, match="eventVersion '3' of InventoryBalanceChanged is not supported"):
        upcast_to_latest(env)


def test_the_latest_version_is_the_highest_number_not_the_last_string():
    assert latest_version("InventoryBalanceChanged").version == "2"
    assert latest_version("ItemLocationUpserted").version == "1"


def test_every_older_version_of_every_type_has_an_upcaster():
    by_type: dict[str, list[Contract]] = {}
    for contract in CONTRACTS.values():
        by_type.setdefault(contract.event_type, []).append(contract)
    for event_type, versions in by_type.items():
        numbers = sorted(int(c.version) for c in versions)
        assert numbers == list(range(1, len(numbers) + 1)), f"{event_type}: versions must be 1..n without gaps"
        latest = latest_version(event_type)
        for contract in versions:
            assert (contract.upcast is None) == (contract is latest), f"{event_type} v{contract.version}"
            assert contract.producers == latest.producers and contract.bus_source == latest.bus_source


def test_a_missing_upcaster_is_a_clear_error_not_a_silent_pass(monkeypatch):
    v3 = Contract("InventoryBalanceChanged", "3", InventoryBalanceChangedV2, frozenset({"erp", "wms"}),
                  "distsync.inventory")
    monkeypatch.setitem(contracts.CONTRACTS, ("InventoryBalanceChanged", "3"), v3)
    with pytest.raises(UnknownContractError, match="InventoryBalanceChanged v2 has no upcaster to v3"):
        upcast_to_latest(envelope(V1, "1"))


# ------------------------------------------------------------------------------ at the webhook intake
SECRET, TS = "s3cret", 1_800_000_000.0


def webhook(data: dict, version: str, source: str = "wms", event_type: str = "InventoryBalanceChanged"):
    raw = json.dumps({"eventType": event_type, "eventVersion": version,
                      "occurredAt": "2026-11-27T12:00:00+00:00", "data": data}).encode()
    headers = {"content-type": "application/json", **signed_headers(SECRET, raw, TS)}
    return accept(source, headers, raw, [SECRET], TS)


def test_intake_accepts_v1_and_v2_and_keeps_the_version_it_received():
    assert webhook(V1, "1").envelope.metadata.event_version == "1"
    accepted = webhook({**V1, "lots": LOTS}, "2", source="erp")
    assert accepted.envelope.metadata.event_version == "2" and len(accepted.envelope.data["lots"]) == 2


def test_intake_refuses_an_unknown_version_as_a_400_problem():
    with pytest.raises(ProblemError) as info:
        webhook(V1, "3")
    problem = info.value.body()
    assert problem["status"] == 400
    assert "eventVersion '3' of InventoryBalanceChanged is not supported (supported: 1, 2)" in problem["detail"]
    assert [e["field"] for e in problem["errors"]] == ["eventVersion"]  # the type is known, its version is not
    with pytest.raises(ProblemError) as info:
        webhook(V1, "1", event_type="StockLevel")
    assert [e["field"] for e in info.value.body()["errors"]] == ["eventType"]


def test_intake_refuses_v2_lots_above_on_hand_naming_the_rule():
    with pytest.raises(ProblemError) as info:
        webhook({**V1, "onHand": 10, "lots": LOTS}, "2")
    problem = info.value.body()
    assert problem["status"] == 400 and problem["detail"] == "data breaks the InventoryBalanceChanged-v2 contract"
    assert any("the lots hold more than onHand" in e["message"] for e in problem["errors"])


def test_intake_refuses_lots_in_a_v1_event_and_balances_from_planning():
    with pytest.raises(ProblemError) as info:
        webhook({**V1, "lots": LOTS}, "1")
    assert [e["field"] for e in info.value.body()["errors"]] == ["data.lots"]
    with pytest.raises(ProblemError, match="not accepted from source 'planning'"):
        webhook(V1, "1", source="planning")
