"""The demo scenario `make run` plays: master data, then four recommendations that take the four paths
(direct ERP update through a flaky ERP, approval approved, approval rejected, quarantine)."""

from __future__ import annotations

import time
from collections.abc import Callable

from distsync.sim.clients import ErpClientSim, PlanningClient, SignedClient

from .stack import LocalStack, webhook_secret

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


def run(stack: LocalStack, say: Callable[[str], None] = print) -> list[str]:
    secret = webhook_secret()
    erp, planning = ErpClientSim(stack.url, secret), PlanningClient(stack.url, secret)
    started = time.monotonic()

    say("1. ERP publishes item-location master data")
    for item, loc, ss, rop in MASTER_DATA:
        _expect(erp.upsert_item_location(item, loc, safety_stock=ss, reorder_point=rop,
                                         correlation_id=f"demo-masterdata-{item}"), 202)
    stack.wait_idle()

    say("2. the ERP will fail its next 2 calls with 503; planning posts four recommendations")
    stack.erp.inject_faults(503, 2)
    for cid, item, loc, ss, rop, what in RECOMMENDATIONS:
        _expect(planning.recommend(item, loc, safety_stock=ss, reorder_point=rop, planning_cycle_id="cycle-2026-11-27",
                                   correlation_id=cid), 202)
        say(f"   {cid}: {what}")
    stack.wait_idle()

    say("3. planners decide the pending approvals through the signed approval API")
    decider = SignedClient(stack.url, secret)
    for approval in _pending_approvals(stack):
        decision = "approve" if approval["correlationId"] == "demo-approved-change" else "reject"
        _expect(decider.decide(approval["approvalId"], decision, comment=f"demo: {decision}", decided_by="demo-planner"), 200)
    stack.wait_idle()
    say(f"   settled in {time.monotonic() - started:.1f} s")
    return [f"demo-masterdata-{m[0]}" for m in MASTER_DATA] + [r[0] for r in RECOMMENDATIONS]


def _pending_approvals(stack: LocalStack, timeout: float = 20) -> list[dict]:
    from distsync_core.adapters.stores import ApprovalStore

    store = ApprovalStore(stack.outputs["ApprovalsTableName"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = store.list("PENDING")
        if len(pending) >= 2:
            return pending
        time.sleep(0.2)
    return store.list("PENDING")


def _expect(result, status: int) -> None:
    if result.status != status:
        raise RuntimeError(f"expected HTTP {status}, got {result.status}: {result.body}")
