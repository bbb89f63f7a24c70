"""Master data governance on the running stack: every master-data type is accepted from the ERP and stored
versioned, and a late, older version never overwrites a newer one."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("event_type", "key", "data"),
    [
        ("ItemUpserted", "ITEM#{id}", {"itemId": "{id}", "description": "Stretch film", "unitOfMeasure": "RL",
                                       "status": "active"}),
        ("LocationUpserted", "LOCATION#{id}", {"locationId": "{id}", "name": "North DC", "locationType": "dc"}),
        ("SupplierUpserted", "SUPPLIER#{id}", {"supplierId": "{id}", "name": "Acme", "defaultLeadTimeDays": 9}),
        ("CustomerUpserted", "CUSTOMER#{id}", {"customerId": "{id}", "name": "Shop 12", "channel": "b2b"}),
    ],
)
def test_every_master_data_type_is_stored_and_versioned(stack, event_type, key, data):
    record_id = f"MD-{uuid.uuid4().hex[:8]}"
    fill = {k: v.format(id=record_id) if isinstance(v, str) else v for k, v in data.items()}
    for version in (2, 1):  # the newer version first, then a late older one
        cid = f"{event_type}-{record_id}-v{version}"
        result = stack.erp.webhook("erp", event_type, {**fill, "recordVersion": version}, correlation_id=cid)
        assert result.status == 202, result.body
        stack.accepted[cid] = "delivered"
    stack.wait_idle()
    table = stack.dynamodb.Table(stack.info["outputs"]["MasterDataTableName"])
    stored = table.get_item(Key={"pk": key.format(id=record_id)})["Item"]
    assert int(stored["recordVersion"]) == 2 and stored["entity"] == event_type.removesuffix("Upserted")
    late = stack.trace(f"{event_type}-{record_id}-v1")
    assert late["status"] == "delivered" and "older than the stored record" in late["hops"][-1]["detail"]
