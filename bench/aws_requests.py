"""AWS requests per 1,000 business events, counted: the real handlers, in-process, against moto.

One chain per run, each pipeline fed the events the previous one published (taken from its PutEvents
entries and wrapped as the rule delivers them to the next queue):

  masterdata_transformer  N ItemLocationUpserted, SQS batches of 10          (seeds master data)
  webhook_api             N signed POST /v1/webhooks/planning, one request per event
  planning_transformer    the N ReplenishmentRecommended, batches of 10, all small changes (<= 20 %)
  erp_updater             the N ReplenishmentUpdateRequested, batches of 5, ERP = ErpSimulator (loopback)
  warehouse_notifier      the N ReplenishmentParametersUpdated, batches of 10, WMS = WmsSimulator (loopback)
  approval tasks          M approvals through approval_request + approval_outcome (approve), per approval
  inventory_transformer   N InventoryBalanceChanged v2 (one lot) for those item-locations, batches of 10
  planning_sync           the N InventoryAvailabilityUpdated, batches of 10, planning = PlanningSimulator
  order_router            N OrderStatusChanged (N/2 orders x 2 updates), batches of 10, into a FIFO queue
  order_transformer       the N messages the router sent (taken from its SendMessageBatch calls, with their
                          message groups), FIFO batches of 10, WMS + channels = simulators
  shipment_transformer    N ShipmentMilestone (one order each, no exception), batches of 5, ERP + channels
  supplier_transformer    N events, batches of 5: lead-time changes (4 -> 5 days, at the 25 % threshold:
                          no planning exception) and PO confirmations (2 lines) alternating

Every botocore API call made while a handler runs is counted by service, operation and target (table
name for DynamoDB), through a ``before-call`` hook registered in botocore's built-in handlers, so every
session and client created afterwards (boto3's default session, Powertools' own sessions, clients the
layer creates lazily) carries it; a wrapper around ``BaseClient._make_api_call`` counts the same calls a
second way and the script fails if the two disagree. Each pipeline's count is printed per 1,000 events
next to a *floor* (the same durable effects, batched to the service limits where the API allows it
without changing semantics) and a *naive* version (one call per write/read/event); ratio target <= 1.5x.
Then a cost per million events from the counts, the measured handler time and the assumed prices and
latencies below (docs/performance.md). A time budget stops a stage early on a busy machine (it says so).

Usage: python bench/aws_requests.py [--events N] [--approvals M] [--budget SECONDS] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import platform
import socketserver
import statistics
import sys
import time
import uuid
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # quiet handlers (their EMF lines are swallowed per invocation)
warnings.filterwarnings("ignore", "No application metrics to publish")

import botocore.client  # noqa: E402
import botocore.handlers  # noqa: E402
import pytest  # noqa: E402

import tests.conftest as tc  # noqa: E402  (sets test credentials + region, puts the layer on sys.path)

# docs/infrastructure-contract.md and infra/stacks/distsync_stack.py (the pipelines' batch sizes)
BATCH = {"masterdata": 10, "planning": 10, "erp": 5, "warehouse": 10, "inventory": 10, "planning-sync": 10,
         "order-router": 10, "orders": 10, "shipments": 5, "supplier": 5}
TARGET_RATIO = 1.5


# ------------------------------------------------------------------------------------------ counting
class Calls:
    """Every botocore API call while ``stage`` is set, by (service, operation, target), with its time."""

    def __init__(self) -> None:
        self.stage: str | None = None
        self.by_stage: dict[str, Counter[str]] = defaultdict(Counter)
        self.wrapped: Counter[str] = Counter()
        self.aws_seconds = 0.0
        self.partner_seconds = 0.0
        self.published: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []  # SQS SendMessage(Batch) entries (the order router's FIFO messages)
        self.entries: Counter[str] = Counter()  # PutEvents entries (what EventBridge bills)
        self.wcu: Counter[str] = Counter()  # DynamoDB write / read request units the counted requests consume
        self.rcu: Counter[str] = Counter()
        self._started: list[float] = []

    def before_parameter_build(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        context["bench_target"] = _target(params)  # the API parameters; before-call only sees the request
        if self.stage and model.service_model.service_id == "DynamoDB":
            wcu, rcu = _capacity(model.name, params)
            self.wcu[self.stage] += wcu
            self.rcu[self.stage] += rcu
        if self.stage and model.name == "PutEvents":  # what the rules would deliver to the next pipeline
            self.published.extend(_as_delivered(entry) for entry in params.get("Entries", []))
            self.entries[self.stage] += len(params.get("Entries", []))
        if self.stage and model.name == "SendMessage":
            self.sent.append(dict(params))
        if self.stage and model.name == "SendMessageBatch":
            self.sent.extend(dict(entry) for entry in params.get("Entries", []))

    def before_call(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        self._started.append(time.perf_counter())
        if self.stage:
            target = context.get("bench_target")
            key = f"{model.service_model.service_id}.{model.name}" + (f"[{target}]" if target else "")
            self.by_stage[self.stage][key] += 1

    def after_call(self, **_: Any) -> None:
        if self._started:
            self.aws_seconds += time.perf_counter() - self._started.pop()

    @contextlib.contextmanager
    def counting(self, stage: str) -> Iterator[None]:
        self.stage = stage
        try:
            yield
        finally:
            self.stage = None


def _target(params: dict[str, Any]) -> str | None:
    if "TableName" in params:
        return str(params["TableName"])
    if isinstance(params.get("RequestItems"), dict):
        return "+".join(sorted(params["RequestItems"]))
    return None


def _size(value: Any) -> int:
    """DynamoDB's item size rules, roughly: names + values, numbers ~1 byte per 2 digits."""
    if not isinstance(value, dict) or len(value) != 1:
        return len(json.dumps(value, default=str))
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        return len(v) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _size(x) + 1 for k, x in v.items())
    if kind == "L":
        return 3 + sum(_size(x) + 1 for x in v)
    return len(json.dumps(v, default=str))


def _units(item: dict[str, Any], table: str) -> int:
    wcu = math.ceil(sum(len(k.encode()) + _size(v) for k, v in item.items()) / 1024)
    # The trace table's GSI (projection ALL) takes a second write of every hop with a business key.
    return wcu * 2 if table == "trace" and "businessKey" in item else wcu


def _capacity(operation: str, params: dict[str, Any]) -> tuple[float, float]:
    """(write units, read units) of one DynamoDB request; items here are < 1 KB, so UpdateItem = 1 unit."""
    if operation == "PutItem":
        return _units(params["Item"], params["TableName"]), 0
    if operation == "BatchWriteItem":
        return sum(_units(r["PutRequest"]["Item"], t) if "PutRequest" in r else 1
                   for t, reqs in params["RequestItems"].items() for r in reqs), 0
    if operation in ("UpdateItem", "DeleteItem"):
        return 1, 0
    if operation == "GetItem":
        return 0, 1 if params.get("ConsistentRead") else 0.5
    if operation == "BatchGetItem":  # per key asked, items < 4 KB
        return 0, sum(len(r["Keys"]) * (1 if r.get("ConsistentRead") else 0.5)
                      for r in params["RequestItems"].values())
    if operation == "Query":  # a GSI query (eventually consistent) of small items: the 0.5-unit minimum
        return 0, 0.5
    return 0, 0


def _as_delivered(entry: dict[str, Any]) -> dict[str, Any]:
    """A PutEvents entry as an EventBridge rule hands it to its SQS target."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": entry["DetailType"], "source": entry["Source"],
            "account": "123456789012", "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "us-east-1", "resources": [], "detail": json.loads(entry["Detail"])}


CALLS = Calls()
# Built-in handlers are registered on every botocore session when it is created: all later clients count.
botocore.handlers.BUILTIN_HANDLERS.append(("before-parameter-build", CALLS.before_parameter_build))
botocore.handlers.BUILTIN_HANDLERS.append(("before-call", CALLS.before_call))
botocore.handlers.BUILTIN_HANDLERS.append(("after-call", CALLS.after_call))
_make_api_call = botocore.client.BaseClient._make_api_call


def _counted_make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
    if CALLS.stage:
        CALLS.wrapped[CALLS.stage] += 1
    return _make_api_call(self, operation_name, api_params)


botocore.client.BaseClient._make_api_call = _counted_make_api_call

import urllib3  # noqa: E402  (the ERP/WMS clients' HTTP; botocore does not go through PoolManager.request)

_pool_request = urllib3.PoolManager.request


def _timed_pool_request(self: Any, *args: Any, **kwargs: Any) -> Any:
    t0 = time.perf_counter()
    try:
        return _pool_request(self, *args, **kwargs)
    finally:
        CALLS.partner_seconds += time.perf_counter() - t0


urllib3.PoolManager.request = _timed_pool_request

import boto3  # noqa: E402

boto3.DEFAULT_SESSION = None  # a session made before the hook was added would not count: start afresh

from distsync.sim.erp import ErpSimulator  # noqa: E402
from distsync.sim.partner import ChannelsSimulator, PlanningSimulator  # noqa: E402
from distsync.sim.wms import WmsSimulator  # noqa: E402
from distsync_core.contracts import (  # noqa: E402
    CONTRACTS,
    ConfirmedLine,
    InventoryBalanceChangedV2,
    ItemLocationUpserted,
    Lot,
    OrderLine,
    OrderStatusChanged,
    PurchaseOrderConfirmed,
    ReplenishmentUpdateRequested,
    ShipmentMilestone,
    SupplierLeadTimeChanged,
    SupplierUpserted,
    new_envelope,
)
from distsync_core.masterdata.store import MasterDataStore  # noqa: E402
from tests.integration import conftest as itc  # noqa: E402

aws_fixture = contextlib.contextmanager(itc.aws.__wrapped__)  # the integration tests' builders, as they are


# ------------------------------------------------------------------------------------------- running
class Stage:
    def __init__(self, name: str, folder: str) -> None:
        self.name, self.folder, self.events = name, folder, 0  # events handled
        self.module = tc.load_handler(folder)  # one warm container per pipeline
        self.context = tc.FakeLambdaContext(folder)
        self.invocations: list[tuple[float, float, float]] = []  # wall s, of which in AWS calls, in ERP/WMS calls
        self.started = self.finished = time.monotonic()  # the stage's wall time, its input built included

    def invoke(self, event: dict[str, Any]) -> Any:
        with CALLS.counting(self.name), contextlib.redirect_stdout(io.StringIO()):  # EMF lines
            aws0, partner0, t0 = CALLS.aws_seconds, CALLS.partner_seconds, time.perf_counter()
            result = self.module.lambda_handler(event, self.context)
            self.invocations.append((time.perf_counter() - t0, CALLS.aws_seconds - aws0,
                                     CALLS.partner_seconds - partner0))
        self.finished = time.monotonic()
        return result

    def median_ms(self) -> tuple[float, float, float]:
        """Median invocation: wall, outside AWS calls, outside AWS and partner calls (ms)."""
        return (statistics.median(w for w, _, _ in self.invocations) * 1000,
                statistics.median(w - a for w, a, _ in self.invocations) * 1000,
                statistics.median(w - a - p for w, a, p in self.invocations) * 1000)

    def consume(self, bodies: list[Any], batch: int, budget: Budget, groups: list[str] | None = None,
                after: Callable[[], None] | None = None) -> None:
        """SQS batches as the event source mapping delivers them (full batches under load); ``groups``: the
        FIFO message group of each body; ``after``: run (not counted) after each batch."""
        for start in range(0, len(bodies), batch):
            if not budget.left(self.name):
                break
            chunk = bodies[start : start + batch]
            event = itc.sqs_event(*chunk)
            for record, group in zip(event["Records"], (groups or [])[start : start + batch], strict=False):
                record["attributes"]["MessageGroupId"] = group
            result = self.invoke(event)
            if result != {"batchItemFailures": []}:
                raise SystemExit(f"{self.name}: a batch failed: {result}")
            self.events += len(chunk)
            if after:
                after()


def master(i: int) -> Any:
    data = ItemLocationUpserted(item_id=f"SKU-{i:05d}", location_id=f"DC-{i % 7}", unit_of_measure="EA",
                                safety_stock=100, reorder_point=200, supplier_id="SUP-1", lead_time_days=4)
    return new_envelope(CONTRACTS[("ItemLocationUpserted", "1")], data, source="erp", correlation_id=f"md-{i}")


def recommendation_body(i: int) -> bytes:  # +10 %: at or below the 20 % threshold, straight to the ERP
    data = {"itemId": f"SKU-{i:05d}", "locationId": f"DC-{i % 7}", "recommendedSafetyStock": 110,
            "recommendedReorderPoint": 220, "planningCycleId": "cycle-bench"}
    return json.dumps({"eventType": "ReplenishmentRecommended", "eventVersion": "1",
                       "occurredAt": datetime.now(UTC).isoformat(), "data": data}).encode()


def drain(expected_type: str, n: int) -> list[dict[str, Any]]:
    """The events the previous pipeline published, as its rule delivers them to the next queue."""
    events, CALLS.published = CALLS.published, []
    types = Counter(e["detail-type"] for e in events)
    if types != Counter({expected_type: n}):
        raise SystemExit(f"expected {n} x {expected_type} on the bus, got {dict(types)}")
    return events


class Budget:
    """Each stage may run until its cumulative share of the time budget is spent, then stops at a batch
    boundary: the run ends by itself on a slow or busy machine, with fewer events (and says so)."""

    SHARES = {"masterdata": 0.09, "webhook": 0.13, "planning": 0.25, "erp": 0.38, "warehouse": 0.39,
              "approval": 0.40, "inventory": 0.56, "planning-sync": 0.58, "order-router": 0.64, "orders": 0.81,
              "shipments": 0.89, "supplier": 1.0}  # cumulative, after the stages' cost (setup included)

    def __init__(self, seconds: float) -> None:
        self.start, self.seconds = time.monotonic(), seconds

    def left(self, stage: str) -> bool:
        return time.monotonic() < self.start + self.seconds * self.SHARES[stage]


def run_chain(n: int, approvals: int, budget: Budget) -> dict[str, Stage]:
    stages: dict[str, Stage] = {}
    # The simulators answer in two writes (headers, body): with Nagle on, each call waits ~40 ms for the
    # client's delayed ACK. Loopback latency is not what is measured here, so switch Nagle off in this process.
    socketserver.StreamRequestHandler.disable_nagle_algorithm = True
    erp, wms = ErpSimulator().start(), WmsSimulator().start()
    try:
        with pytest.MonkeyPatch.context() as mp, aws_fixture(mp):
            mp.setenv("ERP_BASE_URL", erp.base_url)
            mp.setenv("WMS_BASE_URL", wms.base_url)
            mp.setenv("ERP_BACKOFF_SECONDS", "0.01")
            # The fixture's catch-all probe rule would fan every event out to an SQS queue inside moto, whose
            # cost grows with the queue; the published entries are taken from the PutEvents calls instead.
            events = boto3.client("events")
            events.remove_targets(Rule="probe", EventBusName="distsync-test", Ids=["probe"])
            events.delete_rule(Name="probe", EventBusName="distsync-test")

            md = stages["masterdata"] = Stage("masterdata", "masterdata_transformer")
            md.consume([itc.bus_event(master(i)) for i in range(n)], BATCH["masterdata"], budget)

            wh = stages["webhook"] = Stage("webhook", "webhook_api")
            for i in range(md.events):  # recommendations only for item-locations with master data
                if not budget.left("webhook"):
                    break
                event = itc.api_event("POST", "/v1/webhooks/planning", "/v1/webhooks/{source}",
                                      {"source": "planning"}, recommendation_body(i))
                response = wh.invoke(event)
                if response["statusCode"] != 202:
                    raise SystemExit(f"webhook answered {response['statusCode']}: {response['body']}")
                wh.events += 1

            pl = stages["planning"] = Stage("planning", "planning_transformer")
            pl.consume(drain("ReplenishmentRecommended", wh.events), BATCH["planning"], budget)

            eu = stages["erp"] = Stage("erp", "erp_updater")
            eu.consume(drain("ReplenishmentUpdateRequested", pl.events), BATCH["erp"], budget)
            if len(erp.snapshot()) != eu.events:
                raise SystemExit(f"ERP applied {len(erp.snapshot())} of {eu.events} updates")

            wn = stages["warehouse"] = Stage("warehouse", "warehouse_notifier")
            wn.consume(drain("ReplenishmentParametersUpdated", eu.events), BATCH["warehouse"], budget)
            if len(wms.snapshot()) != wn.events:
                raise SystemExit(f"WMS got {len(wms.snapshot())} of {wn.events} notifications")

            if approvals:
                run_approvals(stages, approvals, budget)

            run_domains(stages, md.events, budget, mp, erp=erp, wms=wms)
    finally:
        erp.stop()
        wms.stop()
    for name, counts in CALLS.by_stage.items():
        if sum(counts.values()) != CALLS.wrapped[name]:
            raise SystemExit(f"{name}: before-call hook saw {sum(counts.values())} calls, "
                             f"_make_api_call {CALLS.wrapped[name]}: a client escaped the hook")
    return stages


def run_approvals(stages: dict[str, Stage], m: int, budget: Budget) -> None:
    """The two workflow tasks of an approved change (the approval API is not driven: it needs a live
    task token, which moto's interpreter only hands to Lambda tasks it can run)."""
    contract = CONTRACTS[("ReplenishmentUpdateRequested", "1")]
    rq = stages["approval_request"] = Stage("approval_request", "approval_request")
    oc = stages["approval_outcome"] = Stage("approval_outcome", "approval_outcome")
    for i in range(m):
        if not budget.left("approval"):
            break
        update = ReplenishmentUpdateRequested(
            item_id=f"SKU-{i:05d}", location_id=f"DC-{i % 7}", safety_stock=300, reorder_point=400,
            previous_safety_stock=110, previous_reorder_point=220, unit_of_measure="EA", supplier_id="SUP-1",
            lead_time_days=4, planning_cycle_id="cycle-bench", change_percent=172.73, erp_idempotency_key=f"k-{i}")
        env = new_envelope(contract, update, source="distsync.replenishment", correlation_id=f"apr-{i}")
        envelope = env.model_dump(mode="json", by_alias=True)
        rq.invoke({"approval": {"approvalId": f"apr-{i}", "thresholdPercent": 20, "update": envelope},
                   "taskToken": f"token-{i}", "executionArn": f"arn:aws:states:us-east-1:123456789012:execution:a:{i}"})
        oc.invoke({"approvalId": f"apr-{i}", "update": envelope,
                   "decision": {"decision": "approve", "comment": "bench", "decidedBy": "bench"}})
        rq.events += 1
        oc.events += 1
    drain("ReplenishmentUpdateRequested", oc.events)


def balance(i: int) -> Any:
    data = InventoryBalanceChangedV2(
        item_id=f"SKU-{i:05d}", location_id=f"DC-{i % 7}", on_hand=120, allocated=30, in_transit=0,
        as_of=datetime.now(UTC), source_system="wms", lots=[Lot(lot_number=f"L-{i}", quantity=120)])
    return new_envelope(CONTRACTS[("InventoryBalanceChanged", "2")], data, source="wms", correlation_id=f"inv-{i}")


def order_update(i: int) -> Any:  # order i // 2, sequence 1 then 2
    data = OrderStatusChanged(
        order_id=f"SO-{i // 2:05d}", customer_id="CUST-1", sequence=i % 2 + 1,
        status="confirmed" if i % 2 == 0 else "allocated",
        lines=[OrderLine(line_number=1, item_id=f"SKU-{i // 2:05d}", quantity=3, status="open")])
    return new_envelope(CONTRACTS[("OrderStatusChanged", "1")], data, source="erp", correlation_id=f"so-{i // 2}")


def milestone(i: int) -> Any:
    data = ShipmentMilestone(shipment_id=f"SHP-{i:05d}", order_ids=[f"SO-{i:05d}"], milestone="shipped",
                             carrier="DHL", tracking_number=f"TRK{i:07d}", milestone_at=datetime.now(UTC))
    return new_envelope(CONTRACTS[("ShipmentMilestone", "1")], data, source="wms", correlation_id=f"shp-{i}")


def supplier_event(i: int) -> Any:
    """Even i: a lead-time change of SKU-i (4 -> 5 days: 25 %, not above the threshold); odd i: a PO."""
    if i % 2 == 0:
        data: Any = SupplierLeadTimeChanged(supplier_id="SUP-1", item_id=f"SKU-{i:05d}", location_id=f"DC-{i % 7}",
                                            lead_time_days=5, effective_from=datetime(2026, 12, 1).date())
        contract = CONTRACTS[("SupplierLeadTimeChanged", "1")]
    else:
        data = PurchaseOrderConfirmed(purchase_order_id=f"PO-{i:05d}", supplier_id="SUP-1", lines=[
            ConfirmedLine(line_number=n, item_id=f"SKU-{i:05d}", location_id=f"DC-{i % 7}", confirmed_quantity=40,
                          confirmed_delivery_date=datetime(2026, 12, 10 + n).date()) for n in (1, 2)])
        contract = CONTRACTS[("PurchaseOrderConfirmed", "1")]
    return new_envelope(contract, data, source="supplier", correlation_id=f"sup-{i}")


def lead_times(n: int) -> int:
    """How many of the first n supplier events are lead-time changes (the others are PO confirmations)."""
    return (n + 1) // 2


def _domain_setup(mp: pytest.MonkeyPatch, planning: PlanningSimulator, channels: ChannelsSimulator) -> str:
    """Not counted: the projection tables and the orders FIFO queue as the stack has them, the partners'
    URLs, supplier SUP-1 in master data. Returns the queue's URL."""
    from distsync_core import partners as partner_clients

    ddb = boto3.client("dynamodb")
    for table, key in (("inventory", "pk"), ("orders", "orderId")):
        ddb.create_table(TableName=table, KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
    ddb.create_table(TableName="order-holds", BillingMode="PAY_PER_REQUEST",  # updates ahead of their turn
                     KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"},
                                {"AttributeName": "sequenceKey", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"},
                                           {"AttributeName": "sequenceKey", "AttributeType": "S"}])
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    gap_url = sqs.create_queue(QueueName="order-gap")["QueueUrl"]
    for var, value in (("INVENTORY_TABLE_NAME", "inventory"), ("ORDERS_TABLE_NAME", "orders"),
                       ("ORDER_HOLDS_TABLE_NAME", "order-holds"), ("ORDER_GAP_QUEUE_URL", gap_url),
                       ("ORDER_GAP_TIMEOUT_SECONDS", "300"),
                       ("ORDERS_QUEUE_URL", queue_url), ("PLANNING_BASE_URL", planning.base_url),
                       ("CHANNELS_BASE_URL", channels.base_url)):
        mp.setenv(var, value)
    mp.setattr(partner_clients, "_clients", {})  # partner clients read their URLs when first used
    supplier = SupplierUpserted(supplier_id="SUP-1", name="Bench Supplier", default_lead_time_days=4)
    MasterDataStore("masterdata").upsert(supplier, new_envelope(
        CONTRACTS[("SupplierUpserted", "1")], supplier, source="erp", correlation_id="md-sup").metadata)
    return queue_url


def _empty_queue(queue_url: str) -> None:
    """moto's FIFO SendMessage slows down as its queue grows: keep it empty (not counted)."""
    sqs = boto3.client("sqs")
    while msgs := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(msgs)])


def _check(ok: bool, failure: str) -> None:
    if not ok:
        raise SystemExit(failure)


def run_domains(stages: dict[str, Stage], n: int, budget: Budget, mp: pytest.MonkeyPatch, *, erp: ErpSimulator,
                wms: WmsSimulator) -> None:
    """Inventory -> planning sync, orders (router -> FIFO consumer), shipments, supplier: n events each, for
    the item-locations the masterdata stage stored."""
    planning, channels = PlanningSimulator().start(), ChannelsSimulator().start()
    try:
        queue_url = _domain_setup(mp, planning, channels)

        inv = stages["inventory"] = Stage("inventory", "inventory_transformer")
        inv.consume([itc.bus_event(balance(i)) for i in range(n)], BATCH["inventory"], budget)
        ps = stages["planning-sync"] = Stage("planning-sync", "planning_sync")
        ps.consume(drain("InventoryAvailabilityUpdated", inv.events), BATCH["planning-sync"], budget)
        got = len(planning.snapshot("inventory-balance"))
        _check(got == ps.events, f"planning got {got} of {ps.events} balances")

        rt = stages["order-router"] = Stage("order-router", "order_router")
        rt.consume([itc.bus_event(order_update(i)) for i in range(n)], BATCH["order-router"], budget,
                   after=lambda: _empty_queue(queue_url))
        sent, CALLS.sent = CALLS.sent, []
        _check(len(sent) == rt.events, f"the order router sent {len(sent)} of {rt.events} updates")
        od = stages["orders"] = Stage("orders", "order_transformer")
        od.consume([m["MessageBody"] for m in sent], BATCH["orders"], budget,
                   groups=[m["MessageGroupId"] for m in sent])
        got = (len(wms.order_updates()), len(channels.snapshot("order-update")))
        _check(got == (od.events, od.events), f"WMS / channels got {got} of {od.events} order updates")

        sh = stages["shipments"] = Stage("shipments", "shipment_transformer")
        sh.consume([itc.bus_event(milestone(i)) for i in range(n)], BATCH["shipments"], budget)
        got = (len(erp.recorded("delivery-status")), len(channels.snapshot("shipment-update")))
        _check(got == (sh.events, sh.events), f"ERP / channels got {got} of {sh.events} shipment updates")

        su = stages["supplier"] = Stage("supplier", "supplier_transformer")
        su.consume([itc.bus_event(supplier_event(i)) for i in range(n)], BATCH["supplier"], budget)
        got = (len(planning.snapshot("lead-time")), len(erp.recorded("po-confirmation")))
        _check(got == (lead_times(su.events), su.events - lead_times(su.events)),
               f"supplier: planning got {got[0]} lead times, the ERP {got[1]} PO confirmations of {su.events}")
        _check(not CALLS.published, f"unexpected events on the bus: {Counter(e['detail-type'] for e in CALLS.published)}")
    finally:
        planning.stop()
        channels.stop()


# ----------------------------------------------------------------------------- floor and naive models
def floor_and_naive(name: str, n: int) -> tuple[Counter[str], Counter[str], str]:
    """Per-pipeline call counts for n events: (floor, naive, what the floor assumes)."""
    ddb, ev = "DynamoDB", "EventBridge"
    if name == "webhook":
        floor = Counter({f"{ddb}.PutItem[idempotency]": n, f"{ev}.PutEvents": n, f"{ddb}.BatchWriteItem[trace]": n})
        naive = Counter({"Secrets Manager.GetSecretValue": n, f"{ddb}.PutItem[idempotency]": n,
                         f"{ev}.PutEvents": n, f"{ddb}.PutItem[trace]": n})
        why = ("one event per HTTP request = one invocation: nothing batches across requests. Per event: the "
               "signature replay guard (conditional PutItem), PutEvents before the 202, one ledger write; "
               "the secret is cached 5 min per container (~0 per 1,000 at load)")
        return floor, naive, why
    batch = BATCH[name]
    batches = math.ceil(n / batch)
    if name in ("warehouse", "planning-sync"):  # the partner deduplicates on the event id
        floor = Counter({f"{ddb}.BatchWriteItem[trace]": batches * math.ceil(batch / 25)})
        naive = Counter({f"{ddb}.PutItem[trace]": n})
        return floor, naive, f"no idempotency table; ledger hops of a batch of {batch} in one BatchWriteItem (25 max)"
    if name == "order-router":  # the FIFO queue deduplicates on the event id
        floor = Counter({"SQS.SendMessageBatch": batches * math.ceil(batch / 10),
                         f"{ddb}.BatchWriteItem[trace]": batches * math.ceil(batch / 25)})
        naive = Counter({"SQS.SendMessage": n, f"{ddb}.PutItem[trace]": n})
        return floor, naive, (f"no idempotency table; the batch's {batch} messages in one SendMessageBatch (10 "
                              "entries, each with its own message group and deduplication id); hops in one "
                              "BatchWriteItem")
    # Idempotent consumers: the claim is a conditional write per event (BatchWriteItem takes no condition);
    # the completion mark, unconditional puts and ledger hops share BatchWriteItems (25 items, any tables).
    floor = Counter({f"{ddb}.PutItem[idempotency]": n})
    naive = Counter({f"{ddb}.PutItem[idempotency]": n, f"{ddb}.UpdateItem[idempotency]": n, f"{ddb}.PutItem[trace]": n})
    batchable = 2  # completion + hop per event
    tables = ["idempotency", "trace"]
    if name == "masterdata":
        batchable += 1  # the master data upsert is an unconditional put
        tables.append("masterdata")
        naive[f"{ddb}.UpdateItem[masterdata]"] = n
        # Which quarantined events wait for the stored key: one Query of the byWaitingFor index per stored
        # record (Query cannot be batched).
        floor[f"{ddb}.Query[quarantine]"] = naive[f"{ddb}.Query[quarantine]"] = n
        why = (f"batch {batch}: claim = conditional PutItem per event; one Query per stored record for the "
               f"quarantined events waiting for it; completion + master data put + hop = {batchable * batch} "
               f"items -> {math.ceil(batchable * batch / 25)} BatchWriteItem per batch")
    elif name == "planning":
        floor[f"{ddb}.BatchGetItem[masterdata]"] = batches  # all keys known at batch start, 100 keys per call
        floor[f"{ev}.PutEvents"] = batches * math.ceil(batch / 10)
        naive[f"{ddb}.GetItem[masterdata]"] = n
        naive[f"{ev}.PutEvents"] = n
        why = (f"batch {batch}: claim per event; master data of the batch in one BatchGetItem (100 keys, "
               f"ConsistentRead); the batch's updates in one PutEvents (10 entries); completion + hop = "
               f"{batchable * batch} items -> {math.ceil(batchable * batch / 25)} BatchWriteItem")
    elif name == "inventory":
        floor[f"{ddb}.BatchGetItem[masterdata]"] = batches
        # the source's balance and the projection, each conditional on asOf on its own: cannot be batched,
        # nor one transaction (a stale projection put must not undo the source's newer one)
        floor[f"{ddb}.PutItem[inventory]"] = 2 * n
        floor[f"{ev}.PutEvents"] = batches * math.ceil(batch / 10)
        naive.update({f"{ddb}.GetItem[masterdata]": n, f"{ddb}.PutItem[inventory]": 2 * n, f"{ev}.PutEvents": n})
        why = (f"batch {batch}: claim per event; master data of the batch in one BatchGetItem; the source's "
               f"balance and the projection put, each conditional (newer asOf) per event; the batch's "
               f"availabilities in one PutEvents; "
               f"completion + hop = {batchable * batch} items -> {math.ceil(batchable * batch / 25)} BatchWriteItem")
    elif name == "orders":
        floor[f"{ddb}.BatchGetItem[orders]"] = batches  # the applied sequences of the batch's orders
        floor[f"{ddb}.PutItem[orders]"] = n  # conditional on the sequence: cannot be batched
        naive.update({f"{ddb}.GetItem[orders]": n, f"{ddb}.PutItem[orders]": n})
        why = (f"FIFO batch {batch}: claim per event; the applied sequences of the batch's orders in one "
               f"BatchGetItem; the sequence-conditional put per event; completion + hop = {batchable * batch} "
               f"items -> {math.ceil(batchable * batch / 25)} BatchWriteItem; WMS and channels calls are not AWS")
    elif name == "shipments":
        why = (f"batch {batch}: claim per event; completion + hop = {batchable * batch} items -> "
               f"{math.ceil(batchable * batch / 25)} BatchWriteItem; ERP and channels calls are not AWS "
               "(an exception milestone adds a StartExecution; none here)")
    elif name == "supplier":
        lt = lead_times(n)
        floor[f"{ddb}.BatchGetItem[masterdata]"] = batches  # supplier + item-location keys of the batch
        floor[f"{ddb}.UpdateItem[masterdata]"] = lt  # the supplier's lead time, conditional: not batchable
        naive.update({f"{ddb}.GetItem[masterdata]": n + lt, f"{ddb}.UpdateItem[masterdata]": lt})
        why = (f"batch {batch}, {lt} lead times + {n - lt} PO confirmations: claim per event; the suppliers and "
               "item-locations of the batch in one BatchGetItem; the reported lead time is a conditional "
               f"UpdateItem per lead time; completion + hop = {batchable * batch} items -> "
               f"{math.ceil(batchable * batch / 25)} BatchWriteItem; planning and ERP calls are not AWS")
    else:  # erp
        floor[f"{ddb}.BatchGetItem[masterdata]"] = batches  # the last applied update of the batch's item-locations
        floor[f"{ddb}.UpdateItem[masterdata]"] = n  # conditional update: cannot be batched
        floor[f"{ev}.PutEvents"] = batches * math.ceil(batch / 10)
        naive[f"{ddb}.GetItem[masterdata]"] = n
        naive[f"{ddb}.UpdateItem[masterdata]"] = n
        naive[f"{ev}.PutEvents"] = n
        why = (f"batch {batch}: claim per event; the last applied updates of the batch's item-locations in one "
               "BatchGetItem (is it still the latest?); the ERP-confirmed parameters and the applied update are a "
               f"conditional UpdateItem per event (not batchable); one PutEvents per batch; completion + hop = "
               f"{batchable * batch} items -> {math.ceil(batchable * batch / 25)} BatchWriteItem")
    floor[f"{ddb}.BatchWriteItem[{'+'.join(sorted(tables))}]"] = batches * math.ceil(batchable * batch / 25)
    return floor, naive, why


# Why a pipeline makes more calls than its floor (printed for those above it).
ABOVE_FLOOR_WHY = {
    "webhook": "the container's first request reads the secret (GetSecretValue, then cached for 5 minutes)",
    "masterdata": "the master data upsert is one conditional UpdateItem per event (a record version never goes "
                  "backwards, what distsync recorded beside the record stays, and BatchWriteItem takes neither a "
                  "condition nor an update), where the floor counts an unconditional put in the batch's "
                  "BatchWriteItem",
    "order-router": "SendMessageBatch, but with at most one update per order in a call (so a refused entry "
                    "cannot let that order's next update overtake it): this bench's batches hold 2 updates of 5 "
                    "orders, so 2 calls per batch where 1 would carry the entries",
}


# -------------------------------------------------------------------------------------------- report
def per_1000(count: float, n: int) -> float:
    return count * 1000 / n


def report(stages: dict[str, Stage], asked: int) -> dict[str, Any]:
    out: dict[str, Any] = {"events": asked, "pipelines": {}}
    for name in ("webhook", "masterdata", "planning", "erp", "warehouse", "inventory", "planning-sync",
                 "order-router", "orders", "shipments", "supplier"):
        st = stages.get(name)
        if st is None or st.events == 0:
            print(f"\n== {name}: not run (out of time budget)")
            continue
        n = st.events
        counted = CALLS.by_stage[name]
        floor, naive, why = floor_and_naive(name, n)
        total, ftotal, ntotal = (per_1000(sum(c.values()), n) for c in (counted, floor, naive))
        ratio = total / ftotal
        wall, local, own = st.median_ms()
        cut = f" (cut from {asked} by the time budget)" if n < asked else ""
        print(f"\n== {name} ({st.folder}): {n} events{cut}, {len(st.invocations)} invocations"
              f"{'' if name == 'webhook' else f' (batch {BATCH[name]})'}, {st.finished - st.started:.0f} s")
        print(f"   {'calls per 1,000 events':<52}{'counted':>9}{'floor':>9}{'naive':>9}")
        for op in sorted(set(counted) | set(floor) | set(naive)):
            print(f"   {op:<52}{per_1000(counted[op], n):>9.0f}{per_1000(floor[op], n):>9.0f}"
                  f"{per_1000(naive[op], n):>9.0f}")
        verdict = "within" if ratio <= TARGET_RATIO else "ABOVE"
        print(f"   {'total':<52}{total:>9.0f}{ftotal:>9.0f}{ntotal:>9.0f}")
        print(f"   counted / floor = {ratio:.2f}x ({verdict} the {TARGET_RATIO}x target); "
              f"counted / naive = {total / ntotal:.2f}x")
        print(f"   floor assumes: {why}")
        if ratio > 1:
            print(f"   why above the floor: {ABOVE_FLOOR_WHY.get(name, 'not analysed')}")
        print(f"   DynamoDB capacity per 1,000 events (from the counted requests' items): "
              f"{per_1000(CALLS.wcu[name], n):.0f} write units, {per_1000(CALLS.rcu[name], n):.0f} read units")
        print(f"   median invocation in-process on moto: wall {wall:.1f} ms, outside AWS calls {local:.1f} ms, "
              f"outside AWS and ERP/WMS calls {own:.1f} ms")
        out["pipelines"][name] = {
            "counted_per_1000": {k: per_1000(v, n) for k, v in counted.items()},
            "floor_per_1000": {k: per_1000(v, n) for k, v in floor.items()},
            "naive_per_1000": {k: per_1000(v, n) for k, v in naive.items()},
            "events": n, "total": total, "floor": ftotal, "naive": ntotal, "ratio_to_floor": ratio,
            "entries_per_1000": per_1000(CALLS.entries[name], n), "wcu_per_1000": per_1000(CALLS.wcu[name], n), "rcu_per_1000": per_1000(CALLS.rcu[name], n),
            "invocations": len(st.invocations), "median_wall_ms": wall, "median_outside_aws_ms": local,
            "median_outside_aws_and_partner_ms": own,
        }
    m = stages["approval_outcome"].events if "approval_outcome" in stages else 0
    if m:
        print(f"\n== approval workflow tasks, per approval (counted over {m} approved changes)")
        for name in ("approval_request", "approval_outcome"):
            st = stages[name]
            counted = CALLS.by_stage[name]
            ops = ", ".join(f"{op} {v / m:.2f}" for op, v in sorted(counted.items()))
            local = st.median_ms()[1]
            print(f"   {name:<18} {sum(counted.values()) / m:.2f} calls: {ops}; "
                  f"median outside AWS calls {local:.1f} ms")
            out["pipelines"][name] = {"counted_per_approval": {k: v / m for k, v in counted.items()},
                                      "calls_per_approval": sum(counted.values()) / m,
                                      "entries_per_approval": CALLS.entries[name] / m,
                                      "wcu_per_approval": CALLS.wcu[name] / m, "rcu_per_approval": CALLS.rcu[name] / m,
                                      "median_outside_aws_ms": local}
    print("\nNot counted (made by AWS services, not by the handlers): the event source mapping's SQS "
          "ReceiveMessage/DeleteMessageBatch, EventBridge's delivery to the queues, API Gateway, and Step "
          "Functions' own Lambda invokes. HTTP to the ERP/WMS simulators is not an AWS call.")
    return out


# ------------------------------------------------------------------------------------------ cost model
# us-east-1 list prices (USD, on-demand, no free tier), as assumed in docs/performance.md.
PRICE = {
    "lambda_gb_s": 0.0000166667,  # x86_64
    "lambda_request": 0.20 / 1e6,
    "sqs_request": 0.40 / 1e6,  # standard queue, per 64 KB chunk
    "sqs_fifo_request": 0.50 / 1e6,  # FIFO queue (the orders pipeline)
    "eventbridge_event": 1.00 / 1e6,  # custom event published, per 64 KB chunk
    "ddb_wru": 0.625 / 1e6,  # on-demand write request unit
    "ddb_rru": 0.125 / 1e6,  # on-demand read request unit
    "sfn_transition": 0.025 / 1000,  # standard workflow
    "apigw_rest_request": 3.50 / 1e6,  # first 333 million per month
    "secrets_call": 0.05 / 10_000,
}
MEMORY_GB = 0.5  # every function: 512 MB (docs/infrastructure-contract.md)
# Lambda gives CPU in proportion to memory (one vCPU at 1,769 MB): handler time measured here on a whole core
# is assumed to take 1769/512 = 3.5x longer at 512 MB.
CPU_SLOWDOWN = 1769 / 512
# Assumed round trips from a Lambda in the same region (warm connections), per call.
LATENCY_MS = {"DynamoDB.GetItem": 5, "DynamoDB.PutItem": 6, "DynamoDB.UpdateItem": 6, "DynamoDB.Query": 8,
              "DynamoDB.BatchWriteItem": 10, "DynamoDB.BatchGetItem": 10, "EventBridge.PutEvents": 15,
              "Secrets Manager.GetSecretValue": 20, "SFN.StartExecution": 25, "SFN.SendTaskSuccess": 25,
              "SQS.SendMessage": 8}
# Assumed partner round trips per event: ERP PUT 150 ms, WMS / planning / channels 100 ms each (sequential).
PARTNER_MS = {"erp": 150, "warehouse": 100, "planning-sync": 100, "orders": 200, "shipments": 250,
              "supplier": 125}  # orders: WMS + channels; shipments: ERP + channels; supplier: half each
APPROVAL_SHARE = 0.10  # assumed share of recommendations above the threshold (all approved)
SFN_TRANSITIONS = 2  # RequestPlannerDecision + RecordOutcome (a timeout adds MarkTimedOut)
APPROVAL_API = {"calls": {"DynamoDB.GetItem": 1, "DynamoDB.UpdateItem": 1, "SFN.SendTaskSuccess": 1},
                "wru": 1, "rru": 1, "own_ms": 4}  # read from functions/approval_api (not driven here)


def _duration_ms(calls_per_invocation: dict[str, float], own_ms: float, partner_ms: float) -> float:
    aws = sum(v * LATENCY_MS.get(op.split("[")[0], 10) for op, v in calls_per_invocation.items())
    return math.ceil(own_ms * CPU_SLOWDOWN + aws + partner_ms)  # billed per 1 ms


def _lambda_cost(invocations: float, ms: float) -> float:
    return invocations * (PRICE["lambda_request"] + MEMORY_GB * ms / 1000 * PRICE["lambda_gb_s"])


def _approval_row(pipelines: dict[str, Any]) -> dict[str, float]:
    """A million approvals: the two workflow tasks (counted), the approval API (from code), the workflow."""
    row = {"lambda": 0.0, "billed_ms": 0, "sqs": 0, "eventbridge": 0.0, "dynamodb": 0.0,
           "apigw": 1e6 * PRICE["apigw_rest_request"], "secrets": 0, "sfn": 1e6 * SFN_TRANSITIONS * PRICE["sfn_transition"]}
    for task in ("approval_request", "approval_outcome"):
        f = pipelines[task]
        row["lambda"] += _lambda_cost(1e6, _duration_ms(f["counted_per_approval"], f["median_outside_aws_ms"], 0))
        row["eventbridge"] += f["entries_per_approval"] * 1e6 * PRICE["eventbridge_event"]
        row["dynamodb"] += 1e6 * (f["wcu_per_approval"] * PRICE["ddb_wru"] + f["rcu_per_approval"] * PRICE["ddb_rru"])
    row["lambda"] += _lambda_cost(1e6, _duration_ms(APPROVAL_API["calls"], APPROVAL_API["own_ms"], 0))
    row["dynamodb"] += 1e6 * (APPROVAL_API["wru"] * PRICE["ddb_wru"] + APPROVAL_API["rru"] * PRICE["ddb_rru"])
    return row


def _flows(rows: dict[str, dict[str, float]]) -> dict[str, float]:
    """USD per million business transactions of each flow, from the pipelines it passes."""
    flows: dict[str, float] = {}
    if {"webhook", "planning", "erp", "warehouse"} <= rows.keys():
        flows["replenishment flow (webhook+planning+erp+warehouse)"] = sum(
            rows[k]["total"] for k in ("webhook", "planning", "erp", "warehouse"))
        if "approval (per approval)" in rows:
            flows[f"  + {APPROVAL_SHARE:.0%} of recommendations through an approval"] = (
                flows["replenishment flow (webhook+planning+erp+warehouse)"]
                + APPROVAL_SHARE * rows["approval (per approval)"]["total"])
    if {"webhook", "masterdata"} <= rows.keys():
        flows["master data flow (webhook+masterdata)"] = rows["webhook"]["total"] + rows["masterdata"]["total"]
    # The other domains' flows: their webhook costs what the planning webhook measured (same calls per request).
    for flow, parts in (("inventory flow (webhook+inventory+planning-sync)", ("inventory", "planning-sync")),
                        ("order flow (webhook+order-router+orders)", ("order-router", "orders")),
                        ("shipment flow (webhook+shipments)", ("shipments",)),
                        ("supplier flow (webhook+supplier)", ("supplier",))):
        if {"webhook", *parts} <= rows.keys():
            flows[flow] = rows["webhook"]["total"] + sum(rows[p]["total"] for p in parts)
    return flows


def cost_model(figures: dict[str, Any]) -> dict[str, Any]:
    """USD per million business events, per pipeline and per flow."""
    rows: dict[str, dict[str, float]] = {}
    for name, f in figures["pipelines"].items():
        if "counted_per_1000" not in f:
            continue
        per_event = {op: v / 1000 for op, v in f["counted_per_1000"].items()}
        batch = 1 if name == "webhook" else BATCH[name]
        ms = _duration_ms({op: v * batch for op, v in per_event.items()}, f["median_outside_aws_and_partner_ms"],
                          PARTNER_MS.get(name, 0) * batch)
        invocations = 1e6 / batch
        sqs = 0 if name == "webhook" else 1e6 * (1 + 2 / batch)  # EventBridge -> SendMessage; Receive + DeleteBatch
        rows[name] = {
            "lambda": _lambda_cost(invocations, ms), "billed_ms": ms,
            "sqs": sqs * PRICE["sqs_fifo_request" if name == "orders" else "sqs_request"],
            "eventbridge": f["entries_per_1000"] * 1000 * PRICE["eventbridge_event"],
            "dynamodb": (f["wcu_per_1000"] * PRICE["ddb_wru"] + f["rcu_per_1000"] * PRICE["ddb_rru"]) * 1000,
            "apigw": 1e6 * PRICE["apigw_rest_request"] if name == "webhook" else 0,
            "secrets": f["counted_per_1000"].get("Secrets Manager.GetSecretValue", 0) * 1000 * PRICE["secrets_call"],
            "sfn": 0,
        }
    if "approval_outcome" in figures["pipelines"]:
        rows["approval (per approval)"] = _approval_row(figures["pipelines"])
    cols = ("lambda", "sqs", "eventbridge", "dynamodb", "apigw", "sfn", "secrets")
    for row in rows.values():
        row["total"] = sum(row[c] for c in cols)
    flows = _flows(rows)

    print("\n== cost model: USD per 1 million business events, us-east-1 list prices (see docs/performance.md)")
    print(f"   {'pipeline':<26}{'billed ms':>10}" + "".join(f"{c:>12}" for c in (*cols, "total")))
    for name, row in rows.items():
        billed = f"{row['billed_ms']:.0f}" if row["billed_ms"] else "-"
        print(f"   {name:<26}{billed:>10}" + "".join(f"{row[c]:>12.2f}" for c in (*cols, "total")))
    for name, total in flows.items():
        print(f"   {name:<66}{total:>10.2f}")
    print("   measured: calls, entries, write/read units (counted) and handler time outside AWS calls (moto run);")
    print(f"   assumed: prices; handler time x {CPU_SLOWDOWN:.1f} at 512 MB; per-call AWS latency (ms) "
          + ", ".join(f"{k} {v}" for k, v in LATENCY_MS.items())
          + f"; ERP {PARTNER_MS['erp']} ms, WMS / planning / channels {PARTNER_MS['warehouse']} ms per call; full "
          "batches; SQS: 1 send "
          f"per event + 1 receive and 1 delete per batch; {APPROVAL_SHARE:.0%} approvals, {SFN_TRANSITIONS} "
          "transitions each; the approval API's calls (read from its code).")
    return {"rows": rows, "flows": flows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--approvals", type=int, default=50, help="approved changes through the workflow tasks")
    parser.add_argument("--budget", type=float, default=300.0,
                        help="seconds for the measured stages; a stage out of time stops early (and says so)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.2f}; {args.events} business events per pipeline, moto in-process")
    started = time.perf_counter()
    stages = run_chain(args.events, args.approvals, Budget(args.budget))
    figures = report(stages, args.events)
    figures["cost_per_million_usd"] = cost_model(figures)
    print(f"\n(run took {time.perf_counter() - started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
