"""The parameter drift part of the demo `make run` plays (issue 15): an item-location of its own location
(``DC-DRIFT``, so the drift run and its fix touch nothing else of the demo) is applied through distsync, then
changed by hand in the ERP; the drift run (as ``distsync drift --location DC-DRIFT --fix`` invokes it) finds
it changed by hand and sends the correction through the planning pipeline, where the change is large enough
to wait for a planner, who approves it; the ERP holds the governed values again."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from distsync.sim.clients import ErpClientSim, PlanningClient, SignedClient

from .stack import LocalStack

ITEM, LOCATION = "SKU-400", "DC-DRIFT"


def run_drift(stack: LocalStack, say: Callable[[str], None] = print) -> list[tuple[str, str, str]]:
    def client(cls: Any, name: str) -> Any:
        return cls(stack.url, stack.signing_key(name), api_keys={name: stack.api_key(name)})

    say(f"15. parameter drift: {ITEM}@{LOCATION} applied at 110/165, then changed by hand in the ERP to 40/60; "
        "the drift run finds it and sends the correction through the planning pipeline (a planner approves it)")
    _check(client(ErpClientSim, "erp").upsert_item_location(ITEM, LOCATION, safety_stock=100, reorder_point=150,
                                                             correlation_id="demo-drift-masterdata"))
    stack.wait_idle()
    _check(client(PlanningClient, "planning").recommend(ITEM, LOCATION, safety_stock=110, reorder_point=165,
                                                        planning_cycle_id="cycle-2026-11-27",
                                                        correlation_id="demo-drift-applied"))
    stack.wait_idle()
    request = urllib.request.Request(  # someone edits the ERP itself, not through distsync
        f"{stack.erp.base_url}/v1/items/{ITEM}/locations/{LOCATION}/replenishment-parameters", method="PUT",
        data=json.dumps({"safetyStock": 40, "reorderPoint": 60}).encode(),
        headers={"Idempotency-Key": "demo-drift-by-hand", "Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 (the local simulator)

    result = stack.lambdas.invoke(stack.outputs["ParameterDriftFunctionName"], {"location": LOCATION, "fix": True})
    say(f"   {result['sentence']}")
    [correction] = [c for c in result["corrections"] if c["itemId"] == ITEM]
    say(f"   correction {correction['correlationId']}: {correction['why']}")
    stack.wait_idle()
    approval = _pending(stack, correction["correlationId"])
    _check(client(SignedClient, "planners").decide(approval, "approve", comment="demo: restore after drift",
                                                   decided_by="demo-planner"))
    stack.wait_idle()
    return [("parameter drift", correction["correlationId"],
             f"{ITEM}@{LOCATION} changed by hand to 40/60; the drift correction to 110/165, approved")]


def _pending(stack: LocalStack, correlation_id: str, timeout: float = 20) -> str:
    from distsync_core.planning.approvals import ApprovalStore

    store = ApprovalStore(stack.outputs["ApprovalsTableName"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [a for a in store.list("PENDING") if a["correlationId"] == correlation_id]
        if found:
            return str(found[0]["approvalId"])
        time.sleep(0.2)
    raise RuntimeError(f"no pending approval for the drift correction {correlation_id}")


def _check(result: Any) -> None:
    if result.status not in (200, 202):
        raise RuntimeError(f"expected HTTP 200/202, got {result.status}: {result.body}")
