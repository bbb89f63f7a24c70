"""Inventory pipeline: ERP/WMS stock balances into the available-to-promise projection.

A balance for an item-location unknown to master data is quarantined until it arrives; a stale balance (as
of a time not newer than the stored one) is left out; a newer one replaces the projection and is published
as ``InventoryAvailabilityUpdated`` for the planning platform. v1 events arrive upcast to v2 (no lots).
A balance in another unit than the item's base unit is converted first (the item's governed conversions);
one in a unit without a conversion is quarantined until the item's master data brings one.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from distsync_core.contracts import (
    CONTRACTS,
    InventoryAvailabilityUpdated,
    InventoryBalanceChangedV2,
    derive_id,
    new_envelope,
    utcnow,
)
from distsync_core.inventory.policy import available_to_promise
from distsync_core.inventory.store import InventoryStore
from distsync_core.masterdata.records import item_key, item_location_key
from distsync_core.masterdata.store import MasterDataStore
from distsync_core.masterdata.units import ItemUnits, UnknownUnit, balance_in_base_unit
from distsync_core.platform.config import env, env_float
from distsync_core.platform.observability import instrument, metrics
from distsync_core.platform.pipeline import Consumer, Delivery, PermanentFailure

AVAILABILITY_CONTRACT = CONTRACTS[("InventoryAvailabilityUpdated", "1")]


def project_balance(delivery: Delivery) -> None:
    balance: InventoryBalanceChangedV2 = delivery.data
    meta = delivery.envelope.metadata
    key = f"{balance.item_id}@{balance.location_id}"
    masterdata = MasterDataStore(env("MASTERDATA_TABLE_NAME"))
    record = masterdata.get(balance.item_id, balance.location_id)
    if record is None:
        raise PermanentFailure(
            f"unknown item-location {key}: no ItemLocationUpserted in master data",
            waiting_for=item_location_key(balance.item_id, balance.location_id),
        )
    converted = ""
    if balance.unit_of_measure not in (None, record.unit_of_measure):
        sent = balance
        balance = _in_base_unit(balance, masterdata, record.unit_of_measure)
        converted = f"; converted from {sent.on_hand:g} {sent.unit_of_measure} on hand to {balance.unit_of_measure}"
    if not InventoryStore(env("INVENTORY_TABLE_NAME")).apply(balance, meta):
        delivery.record("delivered", f"stale balance for {key} as of {balance.as_of.isoformat()}: a newer one "
                                     "is stored, left out")
        metrics.add_metric(name="StaleBalancesIgnored", unit=MetricUnit.Count, value=1)
        return

    atp = available_to_promise(balance.on_hand, balance.allocated, balance.in_transit, balance.in_transit_due_at,
                               now=utcnow(), horizon_days=env_float("ATP_HORIZON_DAYS", 14))
    availability = InventoryAvailabilityUpdated(
        item_id=balance.item_id,
        location_id=balance.location_id,
        on_hand=balance.on_hand,
        allocated=balance.allocated,
        in_transit=balance.in_transit,
        in_transit_due_at=balance.in_transit_due_at,
        available_to_promise=atp.available_to_promise,
        as_of=balance.as_of,
        source_system=balance.source_system,
        lot_count=len(balance.lots),
    )
    delivery.publish([
        new_envelope(AVAILABILITY_CONTRACT, availability, source="distsync.inventory", caused_by=meta,
                     event_id=derive_id(meta.event_id, AVAILABILITY_CONTRACT.event_type))
    ])
    # Inventory freshness: how old the balance is when distsync has applied it.
    metrics.add_metric(name="InventoryFreshness", unit=MetricUnit.Seconds,
                       value=max(0.0, (utcnow() - balance.as_of).total_seconds()))
    delivery.record("ok", f"ATP {key} = {atp.available_to_promise:g} (on hand {balance.on_hand:g}, allocated "
                          f"{balance.allocated:g}, inbound counted {atp.inbound_counted:g}) as of "
                          f"{balance.as_of.isoformat()}{converted}")


def _in_base_unit(balance: InventoryBalanceChangedV2, masterdata: MasterDataStore,
                  location_unit: str) -> InventoryBalanceChangedV2:
    """Before any comparison or write: a quantity in a unit without a conversion waits in quarantine for the
    item's master data (an ItemUpserted with the conversion releases it), never stored as sent."""
    units = ItemUnits.from_record(balance.item_id, masterdata.get_record(item_key(balance.item_id)), location_unit)
    try:
        return balance_in_base_unit(balance, units)
    except UnknownUnit as exc:
        raise PermanentFailure(str(exc), waiting_for=item_key(balance.item_id)) from exc
    except ValidationError as exc:
        raise PermanentFailure(f"the balance of {balance.item_id}@{balance.location_id} in {units.base_unit} is "
                               f"out of the contract's bounds: {exc.errors()[0]['msg']}") from exc


def read_master_data(balances: list[InventoryBalanceChangedV2]) -> None:
    keys = {item_location_key(b.item_id, b.location_id) for b in balances}
    keys |= {item_key(b.item_id) for b in balances if b.unit_of_measure}  # its conversions
    MasterDataStore(env("MASTERDATA_TABLE_NAME")).prefetch(keys)


consumer = Consumer("inventory", InventoryBalanceChangedV2, project_balance, prefetch=read_master_data)


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return consumer(event, context)
