"""What a batch does when DynamoDB or EventBridge take only part of a request (distsync_core.platform.unit_of_work
and the ledger's write), with stand-in clients: moto always takes everything, so these paths are tested here."""

from __future__ import annotations

from typing import Any

import pytest

from distsync_core.contracts import CONTRACTS, ItemLocationUpserted, new_envelope
from distsync_core.platform import ledger, unit_of_work
from distsync_core.platform.unit_of_work import Batch, running


class FakeDynamoDB:
    """batch_get_item / batch_write_item that leave the first ``hold_back`` answers' keys unprocessed."""

    def __init__(self, items: dict[str, dict[str, Any]], hold_back: int = 0):
        self.items, self.hold_back, self.calls = items, hold_back, []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803 (boto3's name)
        self.calls.append(("BatchGetItem", RequestItems))
        (table, request), = RequestItems.items()
        if self.hold_back:
            self.hold_back -= 1
            return {"Responses": {table: []}, "UnprocessedKeys": RequestItems}
        found = [self.items[k["pk"]["S"]] for k in request["Keys"] if k["pk"]["S"] in self.items]
        return {"Responses": {table: found}}

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        self.calls.append(("BatchWriteItem", RequestItems))
        if self.hold_back:
            self.hold_back -= 1
            return {"UnprocessedItems": RequestItems}
        return {"UnprocessedItems": {}}


def test_prefetched_items_are_read_from_the_batch_and_missing_ones_as_none(monkeypatch):
    fake = FakeDynamoDB({"A": {"pk": {"S": "A"}, "n": {"N": "1"}}})
    monkeypatch.setattr(unit_of_work, "client", lambda service: fake)
    batch = Batch("bus")
    batch.prefetch("md", "pk", ["A", "B", "A"])
    fetched = []
    assert batch.read("md", "A", lambda: fetched.append("A")) == {"pk": "A", "n": 1}
    assert batch.read("md", "B", lambda: fetched.append("B")) is None  # known not to exist: no read
    assert batch.read("md", "C", lambda: "read C") == "read C" and fetched == []
    [(_, request)] = fake.calls
    assert sorted(k["pk"]["S"] for k in request["md"]["Keys"]) == ["A", "B"] and request["md"]["ConsistentRead"]


def test_keys_dynamodb_keeps_leaving_unprocessed_are_read_one_by_one_later(monkeypatch):
    fake = FakeDynamoDB({"A": {"pk": {"S": "A"}}}, hold_back=99)
    monkeypatch.setattr(unit_of_work, "client", lambda service: fake)
    batch = Batch("bus")
    batch.prefetch("md", "pk", ["A"])
    assert len(fake.calls) == 8  # asked again, then given up on
    assert batch.read("md", "A", lambda: "GetItem") == "GetItem"


def test_a_write_within_the_batch_is_remembered_or_forgotten():
    batch = Batch("bus")
    batch.remember("orders", "SO-1", {"sequence": 2})
    assert batch.read("orders", "SO-1", lambda: None) == {"sequence": 2}
    batch.forget("orders", "SO-1")
    assert batch.read("orders", "SO-1", lambda: "read again") == "read again"


def test_the_ledger_asks_again_for_unprocessed_writes_and_says_so_when_they_stay(monkeypatch):
    monkeypatch.setattr(ledger.time, "sleep", lambda s: None)
    fake = FakeDynamoDB({}, hold_back=2)
    monkeypatch.setattr(ledger, "client", lambda service: fake)
    monkeypatch.setattr(ledger, "table", lambda name: None)
    with ledger.recording("trace") as book:
        book.hop("c-1", "planning", "ok", "one")
        book.write("idempotency", {"PutRequest": {"Item": {"id": {"S": "x"}}}})
    assert [op for op, _ in fake.calls] == ["BatchWriteItem"] * 3
    assert set(fake.calls[-1][1]) == {"trace", "idempotency"}  # one call for both tables

    fake = FakeDynamoDB({}, hold_back=99)
    monkeypatch.setattr(ledger, "client", lambda service: fake)
    with pytest.raises(RuntimeError, match="left 1 write"), ledger.recording("trace") as book:
        book.hop("c-1", "planning", "ok", "one")


def test_a_discarded_record_publishes_nothing_and_a_refused_chunk_fails_its_records(monkeypatch):
    from distsync_core.platform import events

    def envelope(item: str) -> Any:
        data = ItemLocationUpserted(item_id=item, location_id="DC-1", unit_of_measure="EA", safety_stock=1,
                                    reorder_point=2, supplier_id="S", lead_time_days=1)
        return new_envelope(CONTRACTS[("ItemLocationUpserted", "1")], data, source="erp", correlation_id=f"c-{item}")

    sent: list[list[str]] = []

    def put(self, envelopes):
        sent.append([e.data["itemId"] for e in envelopes])
        if "SKU-BAD" in sent[-1]:
            raise ConnectionError("bus unreachable")
        return {}

    monkeypatch.setattr(events.EventPublisher, "put", put)
    batch = Batch("bus")
    with running(batch):
        for mid, item in [("m-1", "SKU-1"), ("m-2", "SKU-2"), ("m-3", "SKU-3")]:
            batch.emit(mid, [envelope(item)])
        batch.discard("m-2")  # it failed after publishing
        assert batch.flush() == []
    assert sent == [["SKU-1", "SKU-3"]]

    batch = Batch("bus")
    with running(batch):
        for i in range(12):  # two PutEvents calls: 10 + 2
            batch.emit(f"m-{i}", [envelope("SKU-BAD" if i == 11 else f"SKU-{i}")])
        failed = batch.flush()
    assert [len(chunk) for chunk in sent[1:]] == [10, 2]
    assert {f.message_id for f in failed} == {"m-10", "m-11"}  # the whole refused chunk, nothing else
    assert all("ConnectionError: bus unreachable" in f.reason for f in failed)
