"""Operators' tools on the running stack: trace by business key, quarantine release, replay, KPIs, ATP,
shipment exception cases."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from tests.e2e.conftest import SECRET

pytestmark = pytest.mark.e2e


def sku() -> str:
    return f"SKU-{uuid.uuid4().hex[:8]}"


def test_trace_by_business_key_shows_every_transaction_about_it(stack):
    item = stack.new_item()
    first = stack.recommend(item, 105, 200, expect="delivered", cycle="c-1")
    stack.wait_idle()
    second = stack.recommend(item, 110, 200, expect="delivered", cycle="c-2")
    stack.wait_idle()
    result = stack.cli("trace", f"{item}@DC-1", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    cids = [t["correlationId"] for t in doc["transactions"]]
    assert doc["businessKey"] == f"{item}@DC-1" and cids[-2:] == [first, second]
    assert all(t["status"] == "delivered" for t in doc["transactions"])
    table = stack.cli("trace", first)
    assert table.returncode == 0 and "hops in" in table.stdout


def test_quarantined_recommendation_is_released_by_hand_and_when_master_data_arrives(stack):
    item = sku()
    cid = stack.recommend(item, 50, 80, expect="delivered")
    stack.wait_idle()
    assert stack.trace(cid)["status"] == "quarantined"
    [record] = [q for q in json.loads(stack.cli("quarantine", "list", "--json").stdout) if q["correlationId"] == cid]

    still_unknown = json.loads(stack.cli("quarantine", "release", record["quarantineId"], "--json").stdout)
    assert still_unknown == [{"quarantineId": record["quarantineId"], "released": True, "correlationId": cid}]
    stack.wait_idle()
    assert stack.trace(cid)["status"] == "quarantined"  # validated again, still unknown: back in quarantine

    stack.master_data(item, ss=48, rop=80)  # what it waited for: released automatically, validated, applied
    stack.wait_idle()
    doc = stack.trace(cid)
    assert doc["status"] == "delivered"
    released = [h["detail"] for h in doc["hops"] if h["outcome"] == "released"]
    assert len(released) == 2 and "released automatically" in released[1]
    assert len(stack.erp_updates(cid)) == 1
    twice = stack.cli("quarantine", "release", record["quarantineId"], "--json")
    assert twice.returncode == 1 and "released, not quarantined" in twice.stdout


def test_replaying_a_window_applies_nothing_twice(stack):
    item = stack.new_item()
    start = datetime.now(UTC) - timedelta(seconds=1)
    cid = stack.recommend(item, 103, 200, expect="delivered")
    stack.wait_idle()
    end = datetime.now(UTC) + timedelta(seconds=1)

    empty = stack.cli("replay", "--from", "2020-01-01T00:00:00+00:00", "--to", "2020-01-02T00:00:00+00:00", "--json")
    assert empty.returncode == 0, empty.stdout + empty.stderr
    stack.wait_idle()
    assert "replayed" not in [h["outcome"] for h in stack.trace(cid)["hops"]]

    result = stack.cli("replay", "--from", start.isoformat(), "--to", end.isoformat(), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["state"] == "COMPLETED"
    stack.wait_idle()
    doc = stack.trace(cid)
    replayed_stages = {h["stage"] for h in doc["hops"] if h["outcome"] == "replayed"}
    assert {"planning", "erp", "warehouse"} <= replayed_stages
    assert doc["status"] == "delivered"
    assert len(stack.erp_updates(cid)) == 1 and len(stack.wms_notifications(cid)) == 1

    one = stack.cli("replay", "--from", "1h", "--correlation-id", cid, "--json")
    assert one.returncode == 0, one.stdout + one.stderr
    assert len(json.loads(one.stdout)["republished"]) == 1
    stack.wait_idle()
    assert len(stack.erp_updates(cid)) == 1 and stack.trace(cid)["status"] == "delivered"
    assert stack.cli("replay", "--from", "1h", "--correlation-id", "no-such-transaction").returncode == 2

    typed = stack.cli("replay", "--from", start.isoformat(), "--to", end.isoformat(), "--type",
                      "ReplenishmentParametersUpdated", "--json")
    assert json.loads(typed.stdout)["rules"] and typed.returncode == 0
    stack.wait_idle()
    assert len(stack.wms_notifications(cid)) == 1


def test_kpis_report_the_sessions_figures(stack):
    result = stack.cli("kpis", "--since", "1h", "--json")
    assert result.returncode == 0, result.stderr
    k = json.loads(result.stdout)
    assert k["transactions"] >= 1 and k["forecastToErpLatency"]["count"] >= 1
    assert 0 < k["forecastToErpLatency"]["p50Seconds"] <= k["forecastToErpLatency"]["p95Seconds"] < 120
    assert any("ErpUpdate" in name for name in k["deadLetterQueueDepth"])


def test_trace_an_order_by_its_business_key(stack):
    order = f"SO-{uuid.uuid4().hex[:8]}"
    line = {"lineNumber": 1, "itemId": "SKU-1", "quantity": 3, "status": "open"}
    cids = []
    for seq, status in ((1, "confirmed"), (2, "allocated")):
        cid = f"{order}-{seq}"
        stack.expect(stack.erp.order_status(order, seq, status, [line], correlation_id=cid), cid, "delivered")
        cids.append(cid)
        stack.wait_idle()
    result = stack.cli("trace", f"ORDER#{order}", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [t["correlationId"] for t in doc["transactions"]] == cids
    assert [t["status"] for t in doc["transactions"]] == ["delivered", "delivered"]


def test_atp_command_reads_the_signed_api(stack):
    item = stack.new_item()
    cid = f"atp-{item}"
    stack.expect(stack.wms.inventory_balance(item, "DC-1", on_hand=70, allocated=25, correlation_id=cid), cid,
                 "delivered")
    stack.wait_idle()
    result = stack.cli("atp", item, "DC-1", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["availableToPromise"] == 45
    missing = stack.cli("atp", sku(), "DC-1", "--json")
    assert missing.returncode == 1 and json.loads(missing.stdout)["status"] == 404


def test_exception_case_listed_and_resolved_from_the_cli(stack):
    shipment = f"SH-{uuid.uuid4().hex[:8]}"
    cid = f"exc-{shipment}"
    stack.expect(stack.wms.milestone(shipment, ["SO-1"], "exception", correlation_id=cid,
                                     exception={"kind": "damaged", "description": "wet cartons"}), cid, "delivered")
    stack.wait_idle()
    listed = stack.cli("exceptions", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [case] = [c for c in json.loads(listed.stdout) if c["shipmentId"] == shipment]
    assert case["status"] == "PENDING" and case["kind"] == "damaged" and "taskToken" not in case
    resolved = stack.cli("exceptions", "resolve", case["caseId"], "reshipped", "--comment", "new cartons", "--json")
    assert resolved.returncode == 0 and json.loads(resolved.stdout)["status"] == 200
    again = stack.cli("exceptions", "resolve", case["caseId"], "refunded", "--json")
    assert again.returncode == 1 and json.loads(again.stdout)["status"] == 409
    stack.wait_idle()
    assert stack.trace(cid)["status"] == "delivered"
    closed = json.loads(stack.cli("exceptions", "list", "--status", "RESOLVED", "--json").stdout)
    assert [c["decision"] for c in closed if c["caseId"] == case["caseId"]] == ["reshipped"]


def test_keys_rotate_adds_a_key_next_to_the_old_one_and_finish_drops_the_old(stack):
    """`distsync keys` on the local stack's own secrets (issue 12, finding 1): a rotation keeps the partner's
    current key verifying while the new one is handed over."""
    sm = boto3.client("secretsmanager", endpoint_url=stack.info["awsEndpoint"], region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    erp_arn = json.loads(stack.info["outputs"]["SigningKeyArns"])["erp"]
    original = sm.get_secret_value(SecretId=erp_arn)["SecretString"]
    try:
        listed = {r["name"]: r["keys"] for r in json.loads(stack.cli("keys", "list", "--json").stdout)}
        assert listed == dict.fromkeys(
            ["channels", "erp", "operations", "planners", "planning", "supplier", "tms", "wms"], 1)
        assert stack.cli("keys", "show", "erp").stdout.strip() == SECRET

        rotated = stack.cli("keys", "rotate", "erp")
        assert rotated.returncode == 0 and "keys rotate erp --finish" in rotated.stdout
        new_key = stack.cli("keys", "show", "erp").stdout.strip()
        assert new_key != SECRET and len(new_key) == 48
        assert json.loads(sm.get_secret_value(SecretId=erp_arn)["SecretString"]) == [new_key, SECRET]
        cid = f"keys-{uuid.uuid4().hex[:6]}"
        # signed with the old key: it still verifies while the rotation runs
        stack.expect(stack.erp.upsert_item_location(sku(), "DC-1", safety_stock=10, reorder_point=20,
                                                    correlation_id=cid), cid, "delivered")

        again = stack.cli("keys", "rotate", "erp")
        assert again.returncode == 2 and "already rotating" in again.stdout
        assert stack.cli("keys", "rotate", "erp", "--finish").returncode == 0
        assert json.loads(sm.get_secret_value(SecretId=erp_arn)["SecretString"]) == [new_key]
        unknown = stack.cli("keys", "show", "sales")
        assert unknown.returncode == 2 and "no signing key named 'sales'" in unknown.stdout
    finally:  # the other tests sign as erp with the session's key
        sm.put_secret_value(SecretId=erp_arn, SecretString=original)
