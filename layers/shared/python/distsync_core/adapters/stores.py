"""The tables distsync owns: master data, quarantine, approvals and the trace of every hop."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from .. import batch as batches
from ..contracts import MasterDataModel, Metadata
from ..replenishment import ItemLocationRecord, item_location_key
from . import table
from .dynamo import from_item, to_item


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class MasterDataStore:
    """Reads go through the running batch's prefetched items when there is one (:mod:`distsync_core.batch`);
    writes make the batch read the item again."""

    def __init__(self, table_name: str):
        self.table_name = table_name
        self._table = table(table_name)

    def prefetch(self, keys: Iterable[str]) -> None:
        """Read the items of ``keys`` for the running batch at once (BatchGetItem)."""
        batches.prefetch(self.table_name, "pk", keys)

    def _read(self, key: str) -> dict[str, Any] | None:
        def fetch() -> dict[str, Any] | None:
            raw = self._table.get_item(Key={"pk": key}, ConsistentRead=True).get("Item")
            return from_item(raw) if raw else None

        return batches.read(self.table_name, key, fetch)

    def _changed(self, key: str) -> None:
        batches.wrote(self.table_name, key, None)

    def upsert(self, data: MasterDataModel, meta: Metadata) -> bool:
        """Store the record unless a newer one is stored already (by recordVersion, else by event time).
        Returns False when the incoming record is older and was left out.

        An update, not a put: the record's own fields are set (and those it leaves out removed), while what
        distsync recorded beside them stays (the supplier's reported lead time, the ERP-confirmed time)."""
        from botocore.exceptions import ClientError

        item = data.model_dump(by_alias=True, mode="json", exclude_none=True)
        key = data.master_key()
        item.update(
            entity=type(data).__name__.removesuffix("Upserted"),
            sourceEventId=meta.event_id,
            occurredAt=meta.occurred_at.isoformat(),
            updatedAt=_now_iso(),
        )
        absent = [f.alias or name for name, f in type(data).model_fields.items() if (f.alias or name) not in item]
        names = {f"#a{i}": attr for i, attr in enumerate([*item, *absent])}
        values = {f":a{i}": value for i, value in enumerate(item.values())}
        expression = "SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(item)))
        if absent:
            expression += " REMOVE " + ", ".join(f"#a{i}" for i in range(len(item), len(names)))
        if data.record_version is not None:
            condition = "attribute_not_exists(pk) OR attribute_not_exists(recordVersion) OR recordVersion < :v"
            values[":v"] = data.record_version
        else:
            condition = "attribute_not_exists(pk) OR occurredAt <= :t"
            values[":t"] = item["occurredAt"]
        self._changed(key)
        try:
            self._table.update_item(Key={"pk": key}, UpdateExpression=expression, ConditionExpression=condition,
                                    ExpressionAttributeNames=names, ExpressionAttributeValues=to_item(values))
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def get_record(self, key: str) -> dict[str, Any] | None:
        return self._read(key)

    def get(self, item_id: str, location_id: str) -> ItemLocationRecord | None:
        item = self._read(item_location_key(item_id, location_id))
        if item is None:
            return None
        return ItemLocationRecord(
            item_id=item["itemId"],
            location_id=item["locationId"],
            unit_of_measure=item["unitOfMeasure"],
            safety_stock=float(item["safetyStock"]),
            reorder_point=float(item["reorderPoint"]),
            supplier_id=item["supplierId"],
            lead_time_days=int(item["leadTimeDays"]),
        )

    def record_erp_parameters(self, item_id: str, location_id: str, safety_stock: float, reorder_point: float) -> None:
        """Keep the ERP's confirmed parameters, so the next recommendation compares against them."""
        self._changed(item_location_key(item_id, location_id))
        self._table.update_item(
            Key={"pk": item_location_key(item_id, location_id)},
            UpdateExpression="SET safetyStock = :ss, reorderPoint = :rop, erpConfirmedAt = :at",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=to_item({":ss": safety_stock, ":rop": reorder_point, ":at": _now_iso()}),
        )

    def record_supplier_lead_time(self, item_id: str, location_id: str, lead_time_days: int,
                                  reported_at: str) -> bool:
        """The lead time the supplier last reported (the ERP's own lead time stays as the ERP sent it), unless
        one reported later is recorded already. ``reported_at``: fixed-width UTC ISO time of the report.
        False when a later report was recorded meanwhile."""
        from botocore.exceptions import ClientError

        self._changed(item_location_key(item_id, location_id))
        try:
            self._table.update_item(
                Key={"pk": item_location_key(item_id, location_id)},
                UpdateExpression="SET supplierLeadTimeDays = :d, supplierLeadTimeReportedAt = :r, "
                                 "supplierLeadTimeAt = :at",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(supplierLeadTimeReportedAt) "
                                    "OR supplierLeadTimeReportedAt <= :r)",
                ExpressionAttributeValues=to_item({":d": lead_time_days, ":r": reported_at, ":at": _now_iso()}),
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException" and self._read(
                    item_location_key(item_id, location_id)) is not None:
                return False
            raise


class QuarantineStore:
    def __init__(self, table_name: str):
        self._table = table(table_name)

    def put(
        self,
        *,
        stage: str,
        reason: str,
        body: str,
        correlation_id: str | None,
        event_id: str | None = None,
        event_type: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        waiting_for: str | None = None,
    ) -> str:
        """``waiting_for``: the master-data key whose arrival releases the event (index byWaitingFor)."""
        quarantine_id = f"q-{event_id}" if event_id else f"q-{uuid.uuid4()}"
        record = {
            "quarantineId": quarantine_id,
            "stage": stage,
            "reason": reason,
            "errors": errors or [],
            "body": body,
            "correlationId": correlation_id or "unknown",
            "eventId": event_id,
            "eventType": event_type,
            "waitingFor": waiting_for,
            "quarantinedAt": _now_iso(),
            "status": "QUARANTINED",
        }
        self._table.put_item(Item=to_item({k: v for k, v in record.items() if v is not None}))
        return quarantine_id

    def waiting_for(self, key: str) -> list[dict[str, Any]]:
        """Quarantined events that wait for the master data ``key``."""
        from boto3.dynamodb.conditions import Key

        page = self._table.query(IndexName="byWaitingFor", KeyConditionExpression=Key("waitingFor").eq(key))
        return [from_item(i) for i in page.get("Items", []) if i.get("status") == "QUARANTINED"]

    def list(self, status: str | None = None) -> list[dict[str, Any]]:
        items = [from_item(i) for i in _scan(self._table)]
        return [i for i in items if status is None or i.get("status") == status]

    def get(self, quarantine_id: str) -> dict[str, Any] | None:
        raw = self._table.get_item(Key={"quarantineId": quarantine_id}, ConsistentRead=True).get("Item")
        return from_item(raw) if raw else None

    def set_status(self, quarantine_id: str, new: str, expected: str) -> bool:
        """``expected`` -> ``new`` exactly once; False when the record was not in ``expected``."""
        from botocore.exceptions import ClientError

        try:
            self._table.update_item(
                Key={"quarantineId": quarantine_id},
                UpdateExpression="SET #s = :new, statusChangedAt = :at",
                ConditionExpression="#s = :expected",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":new": new, ":expected": expected, ":at": _now_iso()},
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise


class ApprovalStore:
    """Pending decisions with the task token of the workflow that waits for them (first decision wins)."""

    KEY = "approvalId"

    def __init__(self, table_name: str):
        self._table = table(table_name)

    def put_pending(self, record: dict[str, Any]) -> None:
        # A redelivered request for the same approval must not reset a decision already taken.
        from botocore.exceptions import ClientError

        try:
            self._table.put_item(
                Item=to_item({**record, "status": "PENDING", "requestedAt": _now_iso()}),
                ConditionExpression=f"attribute_not_exists({self.KEY}) OR #s = :pending",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":pending": "PENDING"},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def get(self, approval_id: str) -> dict[str, Any] | None:
        raw = self._table.get_item(Key={self.KEY: approval_id}, ConsistentRead=True).get("Item")
        return from_item(raw) if raw else None

    def claim_decision(self, approval_id: str, decision: str, comment: str, decided_by: str) -> bool:
        """PENDING -> DECIDING exactly once; False when someone else decided first."""
        from botocore.exceptions import ClientError

        try:
            self._table.update_item(
                Key={self.KEY: approval_id},
                UpdateExpression="SET #s = :deciding, decision = :d, #c = :c, decidedBy = :by, decidedAt = :at",
                ConditionExpression="#s = :pending",
                ExpressionAttributeNames={"#s": "status", "#c": "comment"},
                ExpressionAttributeValues={
                    ":deciding": "DECIDING",
                    ":pending": "PENDING",
                    ":d": decision,
                    ":c": comment,
                    ":by": decided_by,
                    ":at": _now_iso(),
                },
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def release_claim(self, approval_id: str) -> None:
        self._table.update_item(
            Key={self.KEY: approval_id},
            UpdateExpression="SET #s = :pending REMOVE decision, decidedBy, decidedAt",
            ConditionExpression="#s = :deciding",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":pending": "PENDING", ":deciding": "DECIDING"},
        )

    def record_outcome(self, approval_id: str, status: str, comment: str) -> dict[str, Any]:
        """Close the approval; returns the record as it was (for the turnaround time)."""
        old = self._table.update_item(
            ReturnValues="ALL_OLD",
            Key={self.KEY: approval_id},
            UpdateExpression="SET #s = :s, outcomeComment = :c, closedAt = :at REMOVE taskToken",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": status, ":c": comment, ":at": _now_iso()},
        )
        return from_item(old.get("Attributes", {}))

    def list(self, status: str | None = None) -> list[dict[str, Any]]:
        items = [from_item(i) for i in _scan(self._table)]
        return [i for i in items if status is None or i.get("status") == status]


class ExceptionCaseStore(ApprovalStore):
    """Open shipment exceptions waiting for a resolution (same life cycle as an approval)."""

    KEY = "caseId"


class SeenSignatures:
    """Each valid signature is accepted once: a replayed request (same timestamp and signature, within the
    window) is refused. Kept in the idempotency table under ``sig#`` keys that expire after the window."""

    def __init__(self, table_name: str):
        self._table = table(table_name)

    def first_use(self, signature: str, timestamp: int, window_seconds: int) -> bool:
        import hashlib

        from botocore.exceptions import ClientError

        key = "sig#" + hashlib.sha256(signature.encode()).hexdigest()
        try:
            self._table.put_item(
                Item={"id": key, "expiration": timestamp + 2 * window_seconds, "status": "SIGNATURE_SEEN"},
                ConditionExpression="attribute_not_exists(id)",
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise


def _scan(tbl: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = tbl.scan(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
