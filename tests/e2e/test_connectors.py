"""Real ERP protocols at the edges, end to end on the local stack (issue 14): its landscape has an S/4HANA
(``S4-*``), a NetSuite (``NS-*``), a Business Central (``BC-*``) and the REST ERP (every other location), each on
its simulator. Recommendations reach the ERP that owns the location through its connector; changes made in an
ERP reach master data the way that ERP reports them (pushed event, webhook notification, delta pull)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from distsync.sim.clients import send

pytestmark = pytest.mark.e2e


def sku() -> str:
    return f"SKU-{uuid.uuid4().hex[:8].upper()}"


def control(stack, path: str, body: Any | None = None) -> Any:
    if body is None:
        return send(f"{stack.url}{path}").body
    answer = send(f"{stack.url}{path}", "POST", json.dumps(body).encode(), {"Content-Type": "application/json"})
    assert answer.status == 200, answer.body
    return answer.body


def master_record(stack, item: str, location: str) -> dict[str, Any] | None:
    table = stack.dynamodb.Table(stack.info["outputs"]["MasterDataTableName"])
    return table.get_item(Key={"pk": f"ITEMLOC#{item}#{location}"}, ConsistentRead=True).get("Item")


def wait_for(predicate, timeout: float = 30) -> Any:
    """Until ``predicate()`` holds: the ERPs report on their own threads, the stack settles after."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_recommendation_for_an_s4_plant_is_written_with_a_fetched_csrf_token_and_if_match(stack):
    item = sku()
    control(stack, "/_sim/s4/records", {"itemId": item, "locationId": "1010", "safetyStock": 100,
                                        "reorderPoint": 200})  # S/4 pushes its business event
    stack.master_data(item, "S4-1010")
    stack.wait_idle()
    cid = stack.recommend(item, 110, 220, expect="delivered", loc="S4-1010")
    stack.wait_idle()
    [record] = [r for r in control(stack, "/_sim/s4/records")["records"] if r["Product"] == item]
    assert (record["SafetyStockQuantity"], record["ReorderThresholdQuantity"]) == ("110.000", "220.000")
    writes = [r for r in control(stack, "/_sim/s4/requests")["requests"]
              if r["method"] in ("PATCH", "MERGE") and item in r["path"]]
    assert len(writes) == 1
    assert writes[0]["xCsrfToken"] not in (None, "", "Fetch") and (writes[0]["ifMatch"] or "").startswith('W/"')
    erp_hop = [h for h in stack.trace(cid)["hops"] if h["stage"] == "erp"][-1]
    assert erp_hop["outcome"] == "delivered" and "s4 ERP updated" in erp_hop["detail"]


def test_a_change_made_in_s4_reaches_master_data_through_its_business_event(stack):
    item = sku()
    stack.master_data(item, "S4-2020", ss=50, rop=90)
    stack.wait_idle()
    control(stack, "/_sim/s4/records", {"itemId": item, "locationId": "2020", "safetyStock": 75,
                                        "reorderPoint": 130, "leadTimeDays": 9})
    record = wait_for(lambda: (r := master_record(stack, item, "S4-2020")) and float(r["safetyStock"]) == 75 and r)
    assert float(record["reorderPoint"]) == 130 and int(record["leadTimeDays"]) == 9
    assert record["supplierId"] == "SUP-1"  # completed from what distsync held
    stack.wait_idle()


def test_a_412_conflict_at_s4_is_read_again_and_decided_again(stack):
    item = sku()
    control(stack, "/_sim/s4/records", {"itemId": item, "locationId": "1010", "safetyStock": 100,
                                        "reorderPoint": 200})
    stack.master_data(item, "S4-1010")
    stack.wait_idle()
    control(stack, "/_sim/s4/faults", {"status": 412, "count": 1})
    cid = stack.recommend(item, 105, 210, expect="delivered", loc="S4-1010")
    stack.wait_idle()
    erp_hop = [h for h in stack.trace(cid)["hops"] if h["stage"] == "erp"][-1]
    assert erp_hop["outcome"] == "delivered" and "re-read after 1 conflict(s)" in erp_hop["detail"]
    [record] = [r for r in control(stack, "/_sim/s4/records")["records"] if r["Product"] == item]
    assert record["SafetyStockQuantity"] == "105.000"


def test_a_429_storm_at_s4_is_waited_out_within_retry_after(stack):
    item = sku()
    control(stack, "/_sim/s4/records", {"itemId": item, "locationId": "1010", "safetyStock": 100,
                                        "reorderPoint": 200})
    stack.master_data(item, "S4-1010")
    stack.wait_idle()
    control(stack, "/_sim/s4/faults", {"status": 429, "count": 3, "retryAfter": 1})
    cid = stack.recommend(item, 108, 216, expect="delivered", loc="S4-1010")
    stack.wait_idle(timeout=120)
    assert [h["outcome"] for h in stack.trace(cid)["hops"] if h["stage"] == "erp"][-1] == "delivered"
    throttled = [r for r in control(stack, "/_sim/s4/requests")["requests"] if r.get("status") == 429]
    assert len(throttled) == 3


def test_a_change_made_in_netsuite_reaches_master_data_through_the_delta_pull(stack):
    item = sku()
    stack.master_data(item, "NS-EAST", ss=20, rop=40)
    stack.wait_idle()
    control(stack, "/_sim/netsuite/records", {"itemId": item, "locationId": "NS-EAST", "safetyStock": 25,
                                              "reorderPoint": 45})
    assert float(master_record(stack, item, "NS-EAST")["safetyStock"]) == 20  # NetSuite waits to be polled
    pulled = stack.cli("connectors", "sync", "netsuite", "--json")
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert json.loads(pulled.stdout)["published"] >= 1
    stack.wait_idle()
    record = master_record(stack, item, "NS-EAST")
    assert (float(record["safetyStock"]), float(record["reorderPoint"])) == (25, 45)


def test_a_business_central_notification_is_checked_read_and_recorded(stack):
    [subscription] = control(stack, "/_sim/bc/subscriptions")["subscriptions"]  # created and validated at start
    assert subscription["notificationUrl"].endswith("/v1/connectors/bc/events")
    item = sku()
    stack.master_data(item, "BC-MAIN", ss=10, rop=30)
    stack.wait_idle()
    control(stack, "/_sim/bc/records", {"itemId": item, "locationId": "BC-MAIN", "safetyStock": 12,
                                        "reorderPoint": 33})
    record = wait_for(lambda: (r := master_record(stack, item, "BC-MAIN")) and float(r["safetyStock"]) == 12 and r)
    assert float(record["reorderPoint"]) == 33
    delivered = [d for d in control(stack, "/_sim/bc/subscriptions")["deliveries"] if d.get("status") == 202]
    assert delivered  # distsync answered BC's notification 202
    listed = json.loads(stack.cli("connectors", "list", "--json").stdout)
    assert {c["name"]: c["kind"] for c in listed} == {"s4": "s4hana", "netsuite": "netsuite", "bc": "businesscentral",
                                                      "rest": "rest"}
    assert next(c for c in listed if c["name"] == "bc")["subscriptionExpires"]
    stack.wait_idle()


def test_a_forged_business_central_notification_is_refused_and_reads_nothing(stack):
    before = len(control(stack, "/_sim/bc/requests")["requests"])
    body = json.dumps({"value": [{"subscriptionId": "x", "clientState": "guess", "expirationDateTime":
                                  "2030-01-01T00:00:00Z", "resource": "stockkeepingUnits(1)", "changeType": "updated",
                                  "lastModifiedDateTime": "2026-12-05T00:00:00Z"}]}).encode()
    answer = send(f"{stack.url}/v1/connectors/bc/events", "POST", body, {"Content-Type": "application/json"})
    assert answer.status == 401
    assert len(control(stack, "/_sim/bc/requests")["requests"]) == before
    handshake = send(f"{stack.url}/v1/connectors/bc/events?validationToken=abc", "POST", b"", {})
    assert handshake.status == 403  # no subscription is being created: the handshake is refused


def test_connectors_check_reports_auth_a_read_and_the_clock(stack):
    for name in ("s4", "netsuite", "bc", "rest"):
        checked = stack.cli("connectors", "check", name, "--json")
        assert checked.returncode == 0, checked.stdout + checked.stderr
        result = json.loads(checked.stdout)
        assert result["ok"] and result["read"] == "ok", name
