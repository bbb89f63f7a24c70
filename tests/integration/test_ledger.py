"""The ledger writes an invocation's hops in one batch, also when the invocation fails."""

import pytest

from distsync.trace import trace_document
from distsync_core.platform import ledger
from distsync_core.platform.aws import client, table


def count_calls(name):
    """The DynamoDB calls of the ledger's clients (the table resource's and the low-level one)."""
    calls = []
    for dynamodb in (table(name).meta.client, client("dynamodb")):
        dynamodb.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    return calls


def test_hops_of_one_invocation_cost_one_batch_write(aws, own_clients):
    calls = count_calls("trace")
    with ledger.recording("trace"):
        for i in range(30):
            ledger.hop("c-1", "planning", "ok", f"step {i}", business_key="SKU-1@DC-1")
        assert calls == []  # nothing written before the invocation ends
    assert calls == ["BatchWriteItem", "BatchWriteItem"]  # 25 + 5
    hops = ledger.Ledger("trace").hops("c-1")
    assert len(hops) == 30 and trace_document("c-1", hops)["hops"][0]["detail"] == "step 0"


def test_hops_are_written_when_the_invocation_raises(aws):
    with pytest.raises(RuntimeError), ledger.recording("trace"):
        ledger.hop("c-2", "erp", "dead_lettered", "ERP down")
        raise RuntimeError("boom")
    [hop] = ledger.Ledger("trace").hops("c-2")
    assert hop["outcome"] == "dead_lettered"


def test_hops_by_business_key_across_transactions(aws):
    with ledger.recording("trace"):
        ledger.hop("c-a", "webhook", "ok", business_key="SKU-9@DC-1")
        ledger.hop("c-b", "webhook", "ok", business_key="SKU-9@DC-1")
        ledger.hop("c-c", "webhook", "ok", business_key="SKU-8@DC-1")
    found = ledger.Ledger("trace").hops_for_business_key("SKU-9@DC-1")
    assert sorted(h["correlationId"] for h in found) == ["c-a", "c-b"]


def test_recording_a_hop_outside_an_invocation_is_an_error():
    with pytest.raises(RuntimeError, match="no ledger"):
        ledger.hop("c", "s", "ok")
