"""Operators fix what failed: dead-lettered work is found, shown with its reason and redriven, once."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e


def test_dead_lettered_update_is_redriven_and_delivered_exactly_once(stack):
    _, cid = stack.dead_letter_update(expect="delivered")
    assert stack.trace(cid)["status"] == "dead_lettered"

    listed = json.loads(stack.cli("dlq", "list", "--json").stdout)
    erp_dlq = next(q for q in listed if "ErpUpdatePipelineDeadLetter" in q["queue"])  # the rest ERP's
    assert erp_dlq["depth"] >= 1 and erp_dlq["oldestAgeSeconds"] is not None and "ErpUpdate" in erp_dlq["source"]

    peeked = json.loads(stack.cli("dlq", "peek", "ErpUpdatePipelineDeadLetter", "--limit", "50", "--json").stdout)
    [mine] = [m for m in peeked if m["correlation_id"] == cid]
    assert mine["event_type"] == "ReplenishmentUpdateRequested" and "HTTP 503" in mine["reason"]

    def redrive(*extra: str) -> dict:
        result = stack.cli("dlq", "redrive", "ErpUpdatePipelineDeadLetter", "--correlation-id", cid, "--json", *extra)
        assert result.returncode == 0, result.stdout + result.stderr
        return json.loads(result.stdout)

    dry = redrive("--dry-run")
    assert (len(dry["matched"]), dry["moved"]) == (1, 0)
    stack.wait_idle()
    assert stack.erp_updates(cid) == [] and stack.trace(cid)["status"] == "dead_lettered"

    moved = redrive()
    assert moved["moved"] == 1
    stack.wait_idle()
    assert len(stack.erp_updates(cid)) == 1 and len(stack.wms_notifications(cid)) == 1
    doc = stack.trace(cid)
    outcomes = [h["outcome"] for h in doc["hops"]]
    assert doc["status"] == "delivered"
    assert outcomes.index("dead_lettered") < outcomes.index("redriven") < outcomes.index("delivered")

    from pathlib import Path

    emitted = [json.loads(line) for path in Path(stack.info["logs"]).glob("ErpUpdater*.log")
               for line in path.read_text().splitlines() if '"FailureRecoveryTime"' in line]
    values = [v for e in emitted for v in (e["FailureRecoveryTime"] if isinstance(e["FailureRecoveryTime"], list)
                                           else [e["FailureRecoveryTime"]])]
    assert values and all(0 < v < 600 for v in values)

    again = redrive()
    assert (again["moved"], again["matched"]) == (0, [])
    stack.wait_idle()
    assert len(stack.erp_updates(cid)) == 1
