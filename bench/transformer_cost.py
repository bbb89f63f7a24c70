"""CPU time per record of the transformers' pure per-record logic, next to plain json.loads + json.dumps of
the same record in the same run (the floor any JSON-in/JSON-out transformer pays). Target: within 10x.

  planning    the SQS record body (an EventBridge event) -> envelope parse + contract validation
              (``distsync_core.platform.pipeline._parse``, exactly what the consumer runs) + ``replenishment.decide``
  masterdata  the same parse + validation of an ItemLocationUpserted event
  inventory   an InventoryBalanceChanged v2 event (two lots, in transit due within the horizon) -> the same
              parse + validation (incl. the lots-within-onHand check) + ``inventory.available_to_promise``
  inventory v1  the same for a v1 event, upcast to v2 on the way (what an older sender costs)

Informational rows add what the handler does next without AWS: the outgoing update envelope serialized
for PutEvents (planning, inventory), the DynamoDB item built (masterdata). No AWS, no network, no moto.

Time is ``time.process_time`` over a block of iterations, per record; each figure is the median of the
repeats, and the operations are interleaved within each repeat so machine load hits them alike.

Usage: python bench/transformer_cost.py [--iterations N] [--repeats R]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "shared" / "python"))

from datetime import UTC, datetime, timedelta  # noqa: E402

from distsync_core.contracts import (  # noqa: E402
    CONTRACTS,
    InventoryAvailabilityUpdated,
    InventoryBalanceChanged,
    InventoryBalanceChangedV2,
    ItemLocationUpserted,
    Lot,
    ReplenishmentRecommended,
    derive_id,
    new_envelope,
)
from distsync_core.inventory.policy import available_to_promise  # noqa: E402
from distsync_core.masterdata.records import ItemLocationRecord  # noqa: E402
from distsync_core.planning.replenishment import ApplyDirectly, decide  # noqa: E402
from distsync_core.platform.dynamo import to_item  # noqa: E402
from distsync_core.platform.pipeline import _parse  # noqa: E402

TARGET_RATIO = 10.0
DISTINCT = 100  # records cycled through, so nothing is parsed from a warm identical string every time
UPDATE = CONTRACTS[("ReplenishmentUpdateRequested", "1")]
AVAILABILITY = CONTRACTS[("InventoryAvailabilityUpdated", "1")]
NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # the balances' as-of; ATP is computed as of this time


def bus_body(envelope: Any, source: str) -> str:
    """The SQS message body the rule delivers: an EventBridge event around the envelope."""
    return json.dumps({
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": envelope.metadata.event_type,
        "source": source, "account": "123456789012", "time": "2026-11-27T08:00:00Z", "region": "us-east-1",
        "resources": [], "detail": json.loads(envelope.model_dump_json(by_alias=True)),
    })


def planning_bodies() -> list[str]:
    contract = CONTRACTS[("ReplenishmentRecommended", "1")]
    return [bus_body(new_envelope(contract, ReplenishmentRecommended(
        item_id=f"SKU-{i:05d}", location_id=f"DC-{i % 7}", recommended_safety_stock=110 + i % 5,
        recommended_reorder_point=220, planning_cycle_id="cycle-2026-48"), source="planning",
        correlation_id=f"corr-{i}"), "distsync.planning") for i in range(DISTINCT)]


def masterdata_bodies() -> list[str]:
    contract = CONTRACTS[("ItemLocationUpserted", "1")]
    return [bus_body(new_envelope(contract, ItemLocationUpserted(
        item_id=f"SKU-{i:05d}", location_id=f"DC-{i % 7}", unit_of_measure="EA", safety_stock=100,
        reorder_point=200, supplier_id="SUP-1", lead_time_days=4), source="erp", correlation_id=f"corr-{i}"),
        "distsync.erp") for i in range(DISTINCT)]


def inventory_bodies(version: str) -> list[str]:
    """Balances as the WMS sends them: v2 with two lots (one with serial numbers), or v1 without lots."""
    contract = CONTRACTS[("InventoryBalanceChanged", version)]
    bodies = []
    for i in range(DISTINCT):
        fields = dict(item_id=f"SKU-{i:05d}", location_id=f"DC-{i % 7}", on_hand=120 + i % 9, allocated=30,
                      in_transit=50, in_transit_due_at=NOW + timedelta(days=3), as_of=NOW, source_system="wms")
        data = (InventoryBalanceChanged(**fields) if version == "1" else InventoryBalanceChangedV2(**fields, lots=[
            Lot(lot_number=f"L-{i}-1", quantity=80, expires_on=datetime(2027, 6, 30).date(),
                serial_numbers=[f"S-{i}-1", f"S-{i}-2"]),
            Lot(lot_number=f"L-{i}-2", quantity=40)]))
        bodies.append(bus_body(new_envelope(contract, data, source="wms", correlation_id=f"corr-{i}"),
                               "distsync.inventory"))
    return bodies


def current(item_id: str, location_id: str) -> ItemLocationRecord:
    return ItemLocationRecord(item_id, location_id, "EA", 100.0, 200.0, "SUP-1", 4)


def plan(body: str) -> Any:
    envelope, data, _ = _parse(body)
    return decide(data, current(data.item_id, data.location_id), 20.0)


def plan_and_serialize(body: str) -> str:
    envelope, data, _ = _parse(body)
    decision = decide(data, current(data.item_id, data.location_id), 20.0)
    assert isinstance(decision, ApplyDirectly)
    meta = envelope.metadata
    update = new_envelope(UPDATE, decision.update, source="distsync.replenishment", caused_by=meta,
                          event_id=derive_id(meta.event_id, UPDATE.event_type))
    return update.model_dump_json(by_alias=True)


def masterdata(body: str) -> Any:
    return _parse(body)


def masterdata_item(body: str) -> Any:
    envelope, data, _ = _parse(body)
    item = data.model_dump(by_alias=True, mode="json")
    item.update(pk=f"{data.item_id}#{data.location_id}", sourceEventId=envelope.metadata.event_id,
                occurredAt=envelope.metadata.occurred_at.isoformat())
    return to_item(item)


def inventory(body: str) -> Any:
    """What the inventory consumer computes per record: parse + validate (v1 upcast to v2) + ATP."""
    envelope, balance, _ = _parse(body)
    return available_to_promise(balance.on_hand, balance.allocated, balance.in_transit, balance.in_transit_due_at,
                                now=NOW, horizon_days=14)


def inventory_and_serialize(body: str) -> str:
    envelope, balance, _ = _parse(body)
    atp = available_to_promise(balance.on_hand, balance.allocated, balance.in_transit, balance.in_transit_due_at,
                               now=NOW, horizon_days=14)
    availability = InventoryAvailabilityUpdated(
        item_id=balance.item_id, location_id=balance.location_id, on_hand=balance.on_hand,
        allocated=balance.allocated, in_transit=balance.in_transit, in_transit_due_at=balance.in_transit_due_at,
        available_to_promise=atp.available_to_promise, as_of=balance.as_of, source_system=balance.source_system,
        lot_count=len(balance.lots))
    meta = envelope.metadata
    return new_envelope(AVAILABILITY, availability, source="distsync.inventory", caused_by=meta,
                        event_id=derive_id(meta.event_id, AVAILABILITY.event_type)).model_dump_json(by_alias=True)


def json_roundtrip(body: str) -> str:
    return json.dumps(json.loads(body))


def per_record_us(fn: Callable[[str], Any], bodies: list[str], iterations: int) -> float:
    n = len(bodies)
    start = time.process_time()
    for i in range(iterations):
        fn(bodies[i % n])
    return (time.process_time() - start) / iterations * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=2000, help="records per timed block")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    cases: dict[str, tuple[Callable[[str], Any], list[str]]] = {}
    pbodies, mbodies = planning_bodies(), masterdata_bodies()
    ibodies, i1bodies = inventory_bodies("2"), inventory_bodies("1")
    assert isinstance(plan(pbodies[0]), ApplyDirectly)
    assert inventory(ibodies[0]).available_to_promise == 140 and len(_parse(ibodies[0])[1].lots) == 2
    assert isinstance(_parse(i1bodies[0])[1], InventoryBalanceChangedV2)  # upcast
    cases["planning: parse + validate + decide"] = (plan, pbodies)
    cases["planning: json.loads + json.dumps"] = (json_roundtrip, pbodies)
    cases["planning: ... + update envelope serialized"] = (plan_and_serialize, pbodies)
    cases["masterdata: parse + validate"] = (masterdata, mbodies)
    cases["masterdata: json.loads + json.dumps"] = (json_roundtrip, mbodies)
    cases["masterdata: ... + DynamoDB item built"] = (masterdata_item, mbodies)
    cases["inventory: parse + validate + ATP"] = (inventory, ibodies)
    cases["inventory: json.loads + json.dumps"] = (json_roundtrip, ibodies)
    cases["inventory: ... + availability envelope serialized"] = (inventory_and_serialize, ibodies)
    cases["inventory v1: parse + upcast + validate + ATP"] = (inventory, i1bodies)
    cases["inventory v1: json.loads + json.dumps"] = (json_roundtrip, i1bodies)

    for fn, bodies in cases.values():  # warm-up: imports, pydantic's first-use work
        per_record_us(fn, bodies, 200)
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeats):
        for name, (fn, bodies) in cases.items():
            samples[name].append(per_record_us(fn, bodies, args.iterations))
    median = {name: statistics.median(s) for name, s in samples.items()}

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.2f}; {args.iterations} records per block, median of {args.repeats} "
          f"blocks; record body {len(pbodies[0])} B (planning), {len(mbodies[0])} B (masterdata), "
          f"{len(ibodies[0])} B (inventory v2), {len(i1bodies[0])} B (inventory v1)")
    print(f"{'CPU time per record':<52}{'us':>8}{'x json':>8}{'spread us':>14}")
    for name, value in median.items():
        base = median[f"{name.split(':')[0]}: json.loads + json.dumps"]
        spread = f"{min(samples[name]):.1f}-{max(samples[name]):.1f}"
        print(f"{name:<52}{value:>8.1f}{value / base:>8.2f}{spread:>14}")
    for pipeline, case in (("planning", "parse + validate + decide"), ("masterdata", "parse + validate"),
                           ("inventory", "parse + validate + ATP"),
                           ("inventory v1", "parse + upcast + validate + ATP")):
        ratio = median[f"{pipeline}: {case}"] / median[f"{pipeline}: json.loads + json.dumps"]
        verdict = "within" if ratio <= TARGET_RATIO else "ABOVE"
        print(f"{pipeline}: {ratio:.1f}x plain JSON ({verdict} the {TARGET_RATIO:.0f}x target)")


if __name__ == "__main__":
    main()
