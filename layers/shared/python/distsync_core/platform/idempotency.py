"""The idempotency store of the pipeline consumers: Powertools' idempotency utility on a persistence layer of
our own, through the extension point Powertools documents for one ("bring your own persistent store":
subclass ``BasePersistenceLayer`` and implement ``_get_record``, ``_put_record``, ``_update_record`` and
``_delete_record``), so no private helper of Powertools' DynamoDB layer is used or overridden.

Same table, item layout and conditions as Powertools' ``DynamoDBPersistenceLayer`` (key ``id``, ``expiration``,
``in_progress_expiration``, ``status``, ``data``), so records written before this store existed still count.
One difference, the reason it exists: while a consumer runs a record of an SQS batch, the record's completion
mark is not written at once but handed to that batch (:meth:`completing_into`), which writes it at the end
of the batch with the record's ledger hops, once the record's events are out
(:mod:`distsync_core.platform.unit_of_work`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import (
    STATUS_CONSTANTS,
    BasePersistenceLayer,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from .aws import client

KEY, EXPIRY, IN_PROGRESS_EXPIRY, STATUS, DATA = "id", "expiration", "in_progress_expiration", "status", "data"

# (table name, completion item, key of the claim): where a deferred completion mark goes
Completion = Callable[[str, dict[str, Any], dict[str, Any]], None]

# Claim a key that does not exist, whose record expired, or whose in-progress claim outlived its invocation.
_CLAIMABLE = (
    "attribute_not_exists(#id) OR #expiry < :now OR "
    "(#status = :inprogress AND attribute_exists(#in_progress_expiry) AND #in_progress_expiry < :now_in_millis)"
)


class ConsumerIdempotencyStore(BasePersistenceLayer):
    def __init__(self, table_name: str) -> None:
        super().__init__()
        self.table_name = table_name
        self._complete: Completion | None = None

    @contextmanager
    def completing_into(self, complete: Completion) -> Iterator[None]:
        """While inside, a completion mark is handed to ``complete`` instead of being written."""
        previous, self._complete = self._complete, complete
        try:
            yield
        finally:
            self._complete = previous

    @staticmethod
    def _key(idempotency_key: str) -> dict[str, Any]:
        return {KEY: {"S": idempotency_key}}

    def _get_record(self, idempotency_key: str) -> DataRecord:
        item = client("dynamodb").get_item(
            TableName=self.table_name, Key=self._key(idempotency_key), ConsistentRead=True
        ).get("Item")
        if item is None:
            raise IdempotencyItemNotFoundError
        return _record_of(item)

    def _put_record(self, data_record: DataRecord) -> None:
        item = {
            **self._key(data_record.idempotency_key),
            EXPIRY: {"N": str(data_record.expiry_timestamp)},
            STATUS: {"S": data_record.status},
        }
        if data_record.in_progress_expiry_timestamp is not None:
            item[IN_PROGRESS_EXPIRY] = {"N": str(data_record.in_progress_expiry_timestamp)}
        now = time.time()
        dynamodb = client("dynamodb")
        try:
            dynamodb.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression=_CLAIMABLE,
                ExpressionAttributeNames={
                    "#id": KEY, "#expiry": EXPIRY, "#in_progress_expiry": IN_PROGRESS_EXPIRY, "#status": STATUS,
                },
                ExpressionAttributeValues={
                    ":now": {"N": str(int(now))},
                    ":now_in_millis": {"N": str(int(now * 1000))},
                    ":inprogress": {"S": STATUS_CONSTANTS["INPROGRESS"]},
                },
                # the record that holds the key comes back with the refusal: no second read to learn its state
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except dynamodb.exceptions.ConditionalCheckFailedException as exc:
            old = exc.response.get("Item")
            raise IdempotencyItemAlreadyExistsError(old_data_record=_record_of(old) if old else None) from exc

    def _update_record(self, data_record: DataRecord) -> None:
        key = self._key(data_record.idempotency_key)
        if self._complete is not None:
            item = {
                **key,
                EXPIRY: {"N": str(data_record.expiry_timestamp)},
                STATUS: {"S": data_record.status},
                DATA: {"S": data_record.response_data},
            }
            self._complete(self.table_name, item, key)
            return
        client("dynamodb").update_item(
            TableName=self.table_name,
            Key=key,
            UpdateExpression="SET #data = :data, #expiry = :expiry, #status = :status",
            ExpressionAttributeNames={"#data": DATA, "#expiry": EXPIRY, "#status": STATUS},
            ExpressionAttributeValues={
                ":data": {"S": data_record.response_data},
                ":expiry": {"N": str(data_record.expiry_timestamp)},
                ":status": {"S": data_record.status},
            },
        )

    def _delete_record(self, data_record: DataRecord) -> None:
        client("dynamodb").delete_item(TableName=self.table_name, Key=self._key(data_record.idempotency_key))


def _record_of(item: dict[str, Any]) -> DataRecord:
    in_progress = item.get(IN_PROGRESS_EXPIRY)
    return DataRecord(
        idempotency_key=item[KEY]["S"],
        status=item[STATUS]["S"],
        expiry_timestamp=int(item[EXPIRY]["N"]),
        in_progress_expiry_timestamp=int(in_progress["N"]) if in_progress else None,
        response_data=item.get(DATA, {}).get("S", ""),
    )
