"""Operations: the trace table's business-key index."""

from __future__ import annotations

import pytest
from synth_support import Synth

pytestmark = pytest.mark.infra


def test_trace_table_is_indexed_by_business_key(dev: Synth) -> None:
    p = dev.props(dev.table_ids["trace"])
    (index,) = p["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "byBusinessKey"
    assert index["KeySchema"] == [
        {"AttributeName": "businessKey", "KeyType": "HASH"},
        {"AttributeName": "at", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "ALL"}
    assert {"AttributeName": "businessKey", "AttributeType": "S"} in p["AttributeDefinitions"]
    assert {"AttributeName": "at", "AttributeType": "S"} in p["AttributeDefinitions"]
    assert "ProvisionedThroughput" not in index  # on demand like the table
