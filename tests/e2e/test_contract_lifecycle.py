"""Deprecation end to end, on the shared stack (deployed with InventoryBalanceChanged v1 deprecated since 2020,
sunset 2099-12-31: tests/e2e/conftest.py): a partner posting v1 gets 202 with Deprecation, Sunset and a Link to
v2's schema, its use is counted per source in `distsync contracts usage` (a repeat of an Idempotency-Key is
not counted again), and v2 gets none of it. A version past its sunset: test_governance.py."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest

from tests.e2e.conftest import LocalStackProcess

pytestmark = pytest.mark.e2e


def v1_count(stack: LocalStackProcess, source: str) -> int:
    done = stack.cli("contracts", "usage", "--since", "2d", "--json")
    assert done.returncode == 0, done.stderr
    totals = json.loads(done.stdout)["totals"]
    return sum(t["count"] for t in totals
               if (t["source"], t["eventType"], t["version"]) == (source, "InventoryBalanceChanged", "1"))


def test_a_deprecated_version_is_told_and_counted_per_source(stack: LocalStackProcess) -> None:
    sku = stack.new_item()
    before = v1_count(stack, "wms")
    run = uuid.uuid4().hex[:6]
    first_cid, other_cid, v2_cid = f"lc-{run}-1", f"lc-{run}-2", f"lc-{run}-v2"
    as_of = datetime.now(UTC).isoformat()

    def first():  # one body, one key: a repeat gets the first answer and publishes nothing
        return stack.wms.webhook("wms", "InventoryBalanceChanged", {
            "itemId": sku, "locationId": "DC-1", "onHand": 7, "allocated": 0, "inTransit": 0, "asOf": as_of,
            "sourceSystem": "wms"}, correlation_id=first_cid, idempotency_key=f"lc-{run}", occurred_at=as_of)

    answers = [first(), stack.wms.inventory_balance(sku, "DC-1", on_hand=8, correlation_id=other_cid), first()]
    for answer in answers:
        assert answer.status == 202, answer.body
        assert answer.headers["Deprecation"] == f"@{int(datetime(2020, 1, 1, tzinfo=UTC).timestamp())}"  # RFC 9745
        assert parsedate_to_datetime(answer.headers["Sunset"]) == datetime(2099, 12, 31, tzinfo=UTC)  # RFC 8594
        assert answer.headers["Sunset"].endswith(" GMT")
        assert '/schemas/InventoryBalanceChanged-v2.json>; rel="successor-version"' in answer.headers["Link"]
    stack.expect(answers[0], first_cid, "delivered")
    stack.expect(answers[1], other_cid, "delivered")

    current = stack.wms.inventory_balance(sku, "DC-1", on_hand=9, lots=[], correlation_id=v2_cid)
    stack.expect(current, v2_cid, "delivered")
    assert "Deprecation" not in current.headers and "Sunset" not in current.headers

    assert v1_count(stack, "wms") == before + 2  # the repeat is not counted; v2 is not counted
    table = stack.cli("contracts", "usage", "--since", "1d")
    assert table.returncode == 0 and "InventoryBalanceChanged" in table.stdout and "wms" in table.stdout
