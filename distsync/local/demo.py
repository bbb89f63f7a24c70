"""The demo scenario `make run` plays.

1. Replenishment: master data, then four recommendations that take the four paths (direct ERP update through
   a flaky ERP, approval approved, approval rejected, quarantine); each approval's impact is printed (SKU-200
   has a unit cost, a balance and a forecast; SKU-300 shows what "unknown" looks like); traces in full.
2. One flow per domain (:func:`run_domains`): master data governance, inventory and ATP (with a v2 event and
   a stale balance), orders in sequence (an update ahead of its predecessor held until the gap fills), shipments (with an exception case resolved),
   supplier lead time and PO confirmation, a demand forecast; a summary line per transaction is printed;
   the last holds an ERP write in a freeze window and releases it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from distsync.sim.clients import ErpClientSim, PlanningClient, SignedClient, SupplierClientSim, WmsClientSim
from distsync_core.planning.impact import summary

from .stack import LocalStack

T = TypeVar("T", bound=SignedClient)

MASTER_DATA = [
    # item, location, safety stock, reorder point
    ("SKU-100", "DC-EAST", 100, 150),
    ("SKU-200", "DC-EAST", 40, 60),
    ("SKU-300", "DC-WEST", 200, 260),
]
RECOMMENDATIONS = [
    # correlation id, item, location, safety stock, reorder point, what should happen
    ("demo-small-change", "SKU-100", "DC-EAST", 110, 165, "10 % change: straight to the ERP (which fails twice first)"),
    ("demo-approved-change", "SKU-200", "DC-EAST", 60, 90, "50 % change: planner approves"),
    ("demo-rejected-change", "SKU-300", "DC-WEST", 320, 400, "60 % change: planner rejects"),
    ("demo-unknown-item", "SKU-999", "DC-EAST", 10, 20, "no master data: quarantined"),
]
WHY = "SKU-200@DC-EAST"  # the approved change: `distsync why` explains it after the demo


def _as(stack: LocalStack, client: type[T], name: str) -> T:
    """A partner's client: signs with ``name``'s signing key and sends its API key."""
    return client(stack.url, stack.signing_key(name), api_keys={name: stack.api_key(name)})


def run(stack: LocalStack, say: Callable[[str], None] = print) -> list[str]:
    erp = _as(stack, ErpClientSim, "erp")
    planning = _as(stack, PlanningClient, "planning")
    started = time.monotonic()

    say("1. ERP publishes item-location master data")
    for item, loc, ss, rop in MASTER_DATA:
        _expect(erp.upsert_item_location(item, loc, safety_stock=ss, reorder_point=rop,
                                         correlation_id=f"demo-masterdata-{item}"), 202)
    _impact_inputs(erp, planning)
    stack.wait_idle()

    say("2. the ERP will fail its next 2 calls with 503; planning posts four recommendations")
    stack.erp.inject_faults(503, 2)
    for cid, item, loc, ss, rop, what in RECOMMENDATIONS:
        _expect(planning.recommend(item, loc, safety_stock=ss, reorder_point=rop, planning_cycle_id="cycle-2026-11-27",
                                   correlation_id=cid), 202)
        say(f"   {cid}: {what}")
    stack.wait_idle()

    say("3. planners decide the pending approvals through the signed approval API")
    decider = _as(stack, SignedClient, "planners")
    for approval in _pending_approvals(stack):
        decision = "approve" if approval["correlationId"] == "demo-approved-change" else "reject"
        say(f"   {approval['itemId']}@{approval['locationId']} ({decision}): {summary(approval.get('impact') or {})}")
        _expect(decider.decide(approval["approvalId"], decision, comment=f"demo: {decision}", decided_by="demo-planner"), 200)
    stack.wait_idle()
    say(f"   settled in {time.monotonic() - started:.1f} s")
    return [f"demo-masterdata-{m[0]}" for m in MASTER_DATA] + [r[0] for r in RECOMMENDATIONS]


def run_domains(stack: LocalStack, say: Callable[[str], None] = print) -> list[tuple[str, str, str]]:
    """One flow per domain; returns (domain, correlation id, what it shows) for the summary."""
    erp, wms = _as(stack, ErpClientSim, "erp"), _as(stack, WmsClientSim, "wms")
    tms = _as(stack, WmsClientSim, "tms")
    supplier = _as(stack, SupplierClientSim, "supplier")
    planning = _as(stack, PlanningClient, "planning")
    flows: list[tuple[str, str, str]] = []

    def sent(domain: str, cid: str, what: str, result) -> None:
        _expect(result, 202)
        flows.append((domain, cid, what))

    now = datetime.now(UTC)
    say("4. master data governance: the ERP publishes a supplier, a customer and an item (versioned)")
    sent("master data", "demo-md-supplier", "SupplierUpserted SUP-1",
         erp.upsert("SupplierUpserted", {"supplierId": "SUP-1", "name": "Acme Packaging", "defaultLeadTimeDays": 7,
                                         "recordVersion": 3}, correlation_id="demo-md-supplier"))
    sent("master data", "demo-md-customer", "CustomerUpserted CUST-1",
         erp.upsert("CustomerUpserted", {"customerId": "CUST-1", "name": "Corner Shop", "channel": "b2b"},
                    correlation_id="demo-md-customer"))
    sent("master data", "demo-md-item", "ItemUpserted SKU-100 v2",
         erp.upsert("ItemUpserted", {"itemId": "SKU-100", "description": "Pallet wrap 500 mm", "unitOfMeasure": "EA",
                                     "status": "active", "recordVersion": 2}, correlation_id="demo-md-item"))
    stack.wait_idle()

    say("5. inventory: the WMS posts a balance by lot (InventoryBalanceChanged v2); an older ERP balance (v1) "
        "arrives late and is left out; ATP is read over the signed API")
    sent("inventory", "demo-inventory-wms", "v2 balance with lots -> ATP projection -> planning",
         wms.inventory_balance("SKU-100", "DC-EAST", on_hand=480, allocated=120, in_transit=200,
                               in_transit_due_at=(now + timedelta(days=3)).isoformat(), as_of=now.isoformat(),
                               lots=[{"lotNumber": "L-2611", "quantity": 300, "expiresOn": "2027-06-30"},
                                     {"lotNumber": "L-2612", "quantity": 180}],
                               correlation_id="demo-inventory-wms"))
    stack.wait_idle()
    sent("inventory", "demo-inventory-stale", "older v1 balance from the ERP: left out",
         erp.inventory_balance("SKU-100", "DC-EAST", on_hand=300, allocated=0,
                               as_of=(now - timedelta(hours=2)).isoformat(), correlation_id="demo-inventory-stale"))
    stack.wait_idle()
    atp = _as(stack, SignedClient, "channels").atp("SKU-100", "DC-EAST")
    _expect(atp, 200)
    say(f"   GET /v1/atp/SKU-100/DC-EAST -> available to promise {atp.body['availableToPromise']:g} "
        f"(480 on hand - 120 allocated + 200 inbound within {atp.body['horizonDays']:g} days)")

    say("6. orders: the ERP publishes updates 1, 3 and 2 of SO-1001 (3 overtook 2 on the way); distsync holds 3 "
        "until 2 has arrived and applies them as 1, 2, 3")
    line = {"lineNumber": 1, "itemId": "SKU-100", "quantity": 24, "promisedDate": (now + timedelta(days=2)).date().isoformat()}
    for seq, status, line_status, cid, what in (
        (1, "confirmed", "open", "demo-order-1", "SO-1001 update 1 (confirmed) -> warehouse and channels"),
        (3, "shipped", "shipped", "demo-order-3", "SO-1001 update 3 (shipped) before 2: held, applied right after 2"),
        (2, "allocated", "allocated", "demo-order-2", "SO-1001 update 2 (allocated) fills the gap: applied, then 3"),
    ):
        sent("orders", cid, what, erp.order_status("SO-1001", seq, status, [{**line, "status": line_status}],
                                                   correlation_id=cid))
        stack.wait_idle()
    applied = [u["sequence"] for u in stack.wms.order_updates() if u["orderId"] == "SO-1001"]
    say(f"   the warehouse received SO-1001 updates {', '.join(map(str, applied))}")

    say("7. shipments: the WMS reports SH-501 shipped; the TMS reports SH-502 delayed, which opens an exception "
        "case that an operator resolves")
    sent("shipments", "demo-shipment", "SH-501 shipped -> ERP delivery status, customers informed",
         wms.milestone("SH-501", ["SO-1001"], "shipped", tracking_number="1Z999", correlation_id="demo-shipment"))
    sent("shipments", "demo-shipment-exception", "SH-502 delayed -> exception case -> resolved",
         tms.milestone("SH-502", ["SO-1001"], "exception", source="tms", correlation_id="demo-shipment-exception",
                       exception={"kind": "delayed", "description": "missed the linehaul",
                                  "newEstimatedDelivery": (now + timedelta(days=4)).date().isoformat()}))
    stack.wait_idle()
    for case in _open_cases(stack):
        _expect(_as(stack, SignedClient, "operations").resolve_exception(case["caseId"], "delivered_late",
                                                                  "customer accepted the new date", "demo-operator"), 200)
    stack.wait_idle()

    say("8. supplier: SUP-1 doubles the lead time of SKU-100 at DC-EAST (a planning exception) and confirms PO-7001")
    sent("supplier", "demo-lead-time", "lead time 7 -> 14 days -> planning, PlanningException raised",
         supplier.lead_time("SUP-1", "SKU-100", "DC-EAST", 14, correlation_id="demo-lead-time"))
    sent("supplier", "demo-po-confirmation", "PO-7001 confirmed -> ERP",
         supplier.confirm_po("PO-7001", "SUP-1", [{"lineNumber": 1, "itemId": "SKU-100", "locationId": "DC-EAST",
                                                   "confirmedQuantity": 400,
                                                   "confirmedDeliveryDate": (now + timedelta(days=9)).date().isoformat()}],
                             correlation_id="demo-po-confirmation"))

    say("9. planning: a 4-week demand forecast for SKU-100 at DC-EAST goes to the ERP's planning tables")
    monday = (now - timedelta(days=now.weekday())).date()
    sent("planning", "demo-forecast", "DemandForecastPublished -> ERP planning tables",
         planning.forecast("SKU-100", "DC-EAST", "FC-2026-48",
                           [((monday + timedelta(weeks=w)).isoformat(), q) for w, q in enumerate((120, 135, 128, 150))],
                           correlation_id="demo-forecast"))
    stack.wait_idle()

    say("10. partner files: the 3PL drops an X12 846 into the landing bucket, then the same file again")
    flows += _partner_file(stack)

    say("11. forecast cycles: planning drops a whole cycle file; only material changes go on (Distributed Map "
        "on AWS, the chunked runner here)")
    flows += _forecast_cycle(stack)

    say("12. finance: the ERP records a goods receipt and an invoice; the daily reconciliation, run now, "
        "finds its totals and distsync's equal")
    today = now.date().isoformat()
    sent("finance", "demo-posting-gr", "goods receipt 1,234.50 EUR recorded once",
         erp.financial_posting("GR-7001", "goods_receipt", "supplier", 123450, today, reference="PO-7001",
                               correlation_id="demo-posting-gr"))
    sent("finance", "demo-posting-invoice", "invoice 1,234.50 EUR recorded once",
         erp.financial_posting("INV-7001", "invoice", "supplier", 123450, today, reference="PO-7001",
                               correlation_id="demo-posting-invoice"))
    stack.wait_idle()
    # What the daily schedule (and `distsync reconcile`) does: invoke the reconciliation function.
    result = stack.lambdas.invoke(stack.outputs["ReconciliationFunctionName"], {"date": today})
    flows.append(("finance", result["correlationId"], f"reconciliation of {today}: {result['status']}"))

    say("13. one landscape of many ERPs: SKU-100 is planned at an S/4HANA plant, a NetSuite and a Business "
        "Central location; each recommendation reaches the ERP that owns the location, through its protocol")
    flows += _landscape(stack, erp, planning, say)

    say("14. freeze window: a stocktake freezes DC-FRZ (distsync freeze add); a recommendation's ERP write is held, "
        "then released when the window is ended (distsync freeze end)")
    flows += _freeze_window(stack, erp, planning, say)
    from .demo_drift import run_drift

    flows += run_drift(stack, say)
    return flows


def _freeze_window(stack: LocalStack, erp: ErpClientSim, planning: PlanningClient,
                   say: Callable[[str], None]) -> list[tuple[str, str, str]]:
    """What `distsync freeze add|end` do: invoke the freeze windows function (its schedule releases on AWS)."""
    function = stack.outputs["FreezeWindowsFunctionName"]
    _expect(erp.upsert_item_location("SKU-100", "DC-FRZ", safety_stock=100, reorder_point=150,
                                     correlation_id="demo-md-freeze"), 202)
    stack.wait_idle()
    stack.lambdas.invoke(function, {"action": "add", "name": "demo-stocktake", "minutes": 60, "locations": ["DC-FRZ"]})
    _expect(planning.recommend("SKU-100", "DC-FRZ", safety_stock=110, reorder_point=165,
                               planning_cycle_id="cycle-2026-11-27", correlation_id="demo-freeze"), 202)
    stack.wait_idle()
    held = stack.lambdas.invoke(function, {"action": "list"})["held"]
    say(f"   held: {', '.join(h['businessKey'] + ' by ' + ', '.join(h['windows']) for h in held) or 'nothing'}")
    ended = stack.lambdas.invoke(function, {"action": "end", "name": "demo-stocktake"})
    say(f"   demo-stocktake ended: {ended.get('released', 0)} write(s) released")
    stack.wait_idle()
    return [("freeze windows", "demo-freeze", "SKU-100@DC-FRZ held by demo-stocktake, released when it ended")]


# Each ERP of the local landscape (distsync/local/landscape.py): the location, and how its ERP holds it
LANDSCAPE_DEMO = (("S4-1010", "s4", {"itemId": "SKU-100", "locationId": "1010"}),
                  ("NS-EAST", "netsuite", {"itemId": "SKU-100", "locationId": "NS-EAST"}),
                  ("BC-MAIN", "bc", {"itemId": "SKU-100", "locationId": "BC-MAIN"}))


def _landscape(stack: LocalStack, erp: ErpClientSim, planning: PlanningClient,
               say: Callable[[str], None]) -> list[tuple[str, str, str]]:
    flows = []
    for location, kind, record in LANDSCAPE_DEMO:
        # the record as the ERP holds it before (a user's edit, not reported: distsync learns it below)
        values = {**record, "safetyStock": 100, "reorderPoint": 150}
        if kind == "s4":
            stack.erps.s4.put_record(values, push=False)
        elif kind == "netsuite":
            stack.erps.netsuite.edit(values)
        else:
            stack.erps.bc.put_records([values], notify=False)
        _expect(erp.upsert_item_location("SKU-100", location, safety_stock=100, reorder_point=150,
                                         correlation_id=f"demo-md-{kind}"), 202)
    stack.wait_idle()
    for location, kind, _record in LANDSCAPE_DEMO:
        cid = f"demo-landscape-{kind}"
        _expect(planning.recommend("SKU-100", location, safety_stock=108, reorder_point=162,
                                   planning_cycle_id="cycle-2026-11-27", correlation_id=cid), 202)
        flows.append(("ERP landscape", cid, f"SKU-100@{location} -> the {kind} ERP through its connector"))
    stack.wait_idle()
    for kind, requests in (("s4", stack.erps.s4.request_log()), ("netsuite", stack.erps.netsuite.requests()),
                           ("bc", stack.erps.bc.request_log())):
        writes = [r for r in requests if r["method"] in ("PATCH", "MERGE")]
        say(f"   {kind}: {len(writes)} write(s), e.g. {writes[-1]['method']} {writes[-1]['path'][:80]}" if writes
            else f"   {kind}: no write yet")
    return flows


def _forecast_cycle(stack: LocalStack) -> list[tuple[str, str, str]]:
    cycle_id = "FC-DEMO-1"
    rows = [
        "itemId,locationId,safetyStock,reorderPoint",
        "SKU-100,DC-EAST,111,166",  # < 2 % from the ERP's 110/165: within the tolerance
        "SKU-200,DC-EAST,66,99",  # 10 % from 60/90: a material change, applied without approval
        "SKU-300,DC-WEST,202,262",  # 1 %: within the tolerance
        "SKU-999,DC-EAST,5,10",  # unknown item-location: rejected into the report
    ]
    stack.moto.client("s3").put_object(Bucket=stack.outputs["LandingBucketName"], Key=f"cycles/{cycle_id}.csv",
                                       Body=("\n".join(rows) + "\n").encode())
    stack.wait_idle(timeout=120)
    return [
        ("forecast cycles", f"cycle-{cycle_id}", "4 rows: 1 material change, 2 within tolerance, 1 rejected"),
        ("forecast cycles", f"cycle-{cycle_id}-SKU-200-DC-EAST", "the material change -> planning -> ERP"),
    ]


def _partner_file(stack: LocalStack) -> list[tuple[str, str, str]]:
    import hashlib
    from pathlib import Path

    raw = (Path(__file__).parent / "demo_files" / "acme-846-inventory.edi").read_bytes()
    s3 = stack.moto.client("s3")
    bucket = stack.outputs["LandingBucketName"]
    s3.put_object(Bucket=bucket, Key="inbound/acme-3pl/846-inventory.edi", Body=raw)
    stack.wait_idle()
    s3.put_object(Bucket=bucket, Key="inbound/acme-3pl/846-inventory-resent.edi", Body=raw)
    stack.wait_idle()
    file_id = f"acme-3pl-{hashlib.sha256(raw).hexdigest()[:12]}"
    return [
        ("partner files", f"file-{file_id}-1", "X12 846 from the 3PL -> 3 balances -> ATP; 997 in outbound/"),
        ("partner files", f"file-{file_id}", "the file: accepted, original archived (the resent copy: not applied)"),
    ]


def _open_cases(stack: LocalStack, timeout: float = 20) -> list[dict]:
    from distsync_core.fulfillment.exceptions import ExceptionCaseStore

    store = ExceptionCaseStore(stack.outputs["ExceptionCasesTableName"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = store.list("PENDING")
        if pending:
            return pending
        time.sleep(0.2)
    return []


def _pending_approvals(stack: LocalStack, timeout: float = 20) -> list[dict]:
    from distsync_core.planning.approvals import ApprovalStore

    store = ApprovalStore(stack.outputs["ApprovalsTableName"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = store.list("PENDING")
        if len(pending) >= 2:
            return pending
        time.sleep(0.2)
    return store.list("PENDING")


def _impact_inputs(erp: ErpClientSim, planning: PlanningClient) -> None:
    """What SKU-200@DC-EAST's approval shows its impact from: a unit cost, a balance, a forecast (10 a day)."""
    _expect(erp.upsert("ItemUpserted", {"itemId": "SKU-200", "description": "Demo widget", "unitOfMeasure": "EA",
                                        "status": "active", "unitCost": 4.2, "currency": "EUR"},
                       correlation_id="demo-item-SKU-200"), 202)
    _expect(erp.inventory_balance("SKU-200", "DC-EAST", on_hand=300, correlation_id="demo-balance-SKU-200"), 202)
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    _expect(planning.forecast("SKU-200", "DC-EAST", "FC-DEMO-200", [((monday + timedelta(weeks=w)).isoformat(), 70)
                                                                    for w in range(4)],
                              correlation_id="demo-forecast-SKU-200"), 202)


def _expect(result, status: int) -> None:
    if result.status != status:
        raise RuntimeError(f"expected HTTP {status}, got {result.status}: {result.body}")
