"""The consumers' idempotency store (distsync_core.platform.idempotency) under Powertools' idempotency utility,
on moto: the semantics of Powertools' DynamoDB store, plus the completion mark handed to the batch."""

from __future__ import annotations

import time

import pytest
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from distsync_core.platform.aws import client
from distsync_core.platform.idempotency import ConsumerIdempotencyStore

pytestmark = pytest.mark.filterwarnings("ignore:Couldn.t determine the remaining time")  # no Lambda context here

CONFIG = IdempotencyConfig(event_key_jmespath="[consumer, eventId]", expires_after_seconds=60)


def once_with(store, calls: list[str], *, fail: bool = False):
    @idempotent_function(data_keyword_argument="key", config=CONFIG, persistence_store=store)
    def once(key: dict[str, str]) -> dict[str, str]:
        calls.append(key["eventId"])
        if fail:
            raise RuntimeError("handler failed")
        return {"handled": key["eventId"]}

    return once


def stored(table: str) -> list[dict]:
    return client("dynamodb").scan(TableName=table)["Items"]


def test_a_key_runs_once_and_a_second_call_gets_the_stored_result(aws):
    calls: list[str] = []
    once = once_with(ConsumerIdempotencyStore("idempotency"), calls)
    assert once(key={"consumer": "c", "eventId": "e-1"}) == {"handled": "e-1"}
    assert once(key={"consumer": "c", "eventId": "e-1"}) == {"handled": "e-1"}
    assert once(key={"consumer": "c", "eventId": "e-2"}) == {"handled": "e-2"}
    assert calls == ["e-1", "e-2"]
    assert sorted(i["status"]["S"] for i in stored("idempotency")) == ["COMPLETED", "COMPLETED"]


def test_a_key_in_progress_is_refused_and_a_failed_run_releases_it(aws):
    store = ConsumerIdempotencyStore("idempotency")
    calls: list[str] = []
    with pytest.raises(RuntimeError):
        once_with(store, calls, fail=True)(key={"consumer": "c", "eventId": "e-1"})
    assert stored("idempotency") == []  # the claim of a failed run is deleted: its retry may run
    assert once_with(store, calls)(key={"consumer": "c", "eventId": "e-1"}) == {"handled": "e-1"}

    in_progress: list[str] = []

    def complete(table, item, key):  # stand-in for the batch: nothing written yet, the claim stays
        in_progress.append(item["status"]["S"])

    with store.completing_into(complete):
        once_with(store, calls)(key={"consumer": "c", "eventId": "e-3"})
    assert in_progress == ["COMPLETED"]
    with pytest.raises(IdempotencyAlreadyInProgressError):
        once_with(store, calls)(key={"consumer": "c", "eventId": "e-3"})
    assert calls == ["e-1", "e-1", "e-3"]


def test_a_completion_mark_goes_to_the_batch_and_counts_once_written(aws):
    store = ConsumerIdempotencyStore("idempotency")
    marks: list[tuple[str, dict, dict]] = []
    with store.completing_into(lambda table, item, key: marks.append((table, item, key))):
        once_with(store, [])(key={"consumer": "c", "eventId": "e-1"})
    [(table, item, key)] = marks
    assert table == "idempotency" and item["id"] == key["id"]
    assert [i["status"]["S"] for i in stored("idempotency")] == ["INPROGRESS"]  # only the claim so far
    client("dynamodb").put_item(TableName=table, Item=item)  # what the batch writes at its end
    calls: list[str] = []
    assert once_with(store, calls)(key={"consumer": "c", "eventId": "e-1"}) == {"handled": "e-1"}
    assert calls == []


def test_an_expired_record_and_an_in_progress_claim_past_its_deadline_are_taken_over(aws):
    store = ConsumerIdempotencyStore("idempotency")
    calls: list[str] = []
    once = once_with(store, calls)
    once(key={"consumer": "c", "eventId": "e-1"})
    [record] = stored("idempotency")
    past = int(time.time()) - 1
    client("dynamodb").update_item(TableName="idempotency", Key={"id": record["id"]},
                                   UpdateExpression="SET expiration = :past",
                                   ExpressionAttributeValues={":past": {"N": str(past)}})
    once(key={"consumer": "c", "eventId": "e-1"})
    assert calls == ["e-1", "e-1"]

    # an "in progress" claim whose invocation died (its in-progress deadline passed)
    client("dynamodb").put_item(TableName="idempotency", Item={
        "id": record["id"], "status": {"S": "INPROGRESS"}, "expiration": {"N": str(past + 3600)},
        "in_progress_expiration": {"N": str((past - 1) * 1000)},
    })
    once(key={"consumer": "c", "eventId": "e-1"})
    assert calls == ["e-1", "e-1", "e-1"]


def test_records_written_by_powertools_dynamodb_store_count_the_same(aws):
    """Deployed tables hold records of Powertools' own store (before this one): same key and attributes."""
    calls: list[str] = []
    once_with(DynamoDBPersistenceLayer(table_name="idempotency"), calls)(key={"consumer": "c", "eventId": "e-1"})
    assert once_with(ConsumerIdempotencyStore("idempotency"), calls)(key={"consumer": "c", "eventId": "e-1"}) == {
        "handled": "e-1"
    }
    assert calls == ["e-1"]
