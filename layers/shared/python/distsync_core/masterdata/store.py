"""The master-data table: one item per governed record (pk: its master key), as the ERP last sent it, with
what distsync recorded beside it (the ERP's confirmed parameters, the supplier's reported lead time)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..contracts import MasterDataModel, Metadata
from ..platform import unit_of_work
from ..platform.aws import table
from ..platform.dynamo import conditional, from_item, to_item
from ..platform.times import now_iso, utc_iso
from .records import AppliedUpdate, ItemLocationRecord, item_location_key


class MasterDataStore:
    """Reads go through the running batch's prefetched items when there is one
    (:mod:`distsync_core.platform.unit_of_work`); writes make the batch read the item again."""

    def __init__(self, table_name: str):
        self.table_name = table_name
        self._table = table(table_name)

    def prefetch(self, keys: Iterable[str]) -> None:
        """Read the items of ``keys`` for the running batch at once (BatchGetItem)."""
        unit_of_work.prefetch(self.table_name, "pk", keys)

    def _read(self, key: str) -> dict[str, Any] | None:
        def fetch() -> dict[str, Any] | None:
            raw = self._table.get_item(Key={"pk": key}, ConsistentRead=True).get("Item")
            return from_item(raw) if raw else None

        return unit_of_work.read(self.table_name, key, fetch)

    def _changed(self, key: str) -> None:
        unit_of_work.wrote(self.table_name, key, None)

    def upsert(self, data: MasterDataModel, meta: Metadata) -> bool:
        """Store the record unless a newer one is stored already (by recordVersion, else by event time).
        Returns False when the incoming record is older and was left out.

        An update, not a put: the record's own fields are set (and those it leaves out removed), while what
        distsync recorded beside them stays (the supplier's reported lead time, the ERP-confirmed time)."""
        item = data.model_dump(by_alias=True, mode="json", exclude_none=True)
        key = data.master_key()
        item.update(
            # ItemUpsertedV2 is still an "Item": later versions of a contract keep their entity
            entity=re.sub(r"V\d+$", "", type(data).__name__).removesuffix("Upserted"),
            sourceEventId=meta.event_id,
            occurredAt=utc_iso(meta.occurred_at),  # UTC, fixed width: text order is time order
            updatedAt=now_iso(),
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
        return conditional(self._table.update_item, Key={"pk": key}, UpdateExpression=expression,
                           ConditionExpression=condition, ExpressionAttributeNames=names,
                           ExpressionAttributeValues=to_item(values))

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

    def last_applied(self, item_id: str, location_id: str) -> AppliedUpdate | None:
        """The replenishment update the ERP last applied to the item-location (None: none recorded yet)."""
        item = self._read(item_location_key(item_id, location_id)) or {}
        applied = item.get("appliedUpdate")
        if not applied or not item.get("appliedRecommendedAt"):
            return None
        return AppliedUpdate(
            recommended_at=datetime.fromisoformat(item["appliedRecommendedAt"]),
            erp_idempotency_key=applied["erpIdempotencyKey"],
            planning_cycle_id=applied["planningCycleId"],
            safety_stock=float(applied["safetyStock"]),
            reorder_point=float(applied["reorderPoint"]),
            approval_id=applied.get("approvalId"),
            correlation_id=applied.get("correlationId"),
            previous_safety_stock=_optional_float(applied.get("previousSafetyStock")),
            previous_reorder_point=_optional_float(applied.get("previousReorderPoint")),
        )

    def record_erp_parameters(self, item_id: str, location_id: str, applied: AppliedUpdate) -> bool:
        """Keep the ERP's confirmed parameters, so the next recommendation compares against them, and the
        update that set them, unless one recommended later was recorded meanwhile (a concurrent updater):
        the condition keeps the newest, so two updaters cannot both win. False when a later one was recorded."""
        from botocore.exceptions import ClientError

        key = item_location_key(item_id, location_id)
        details = {
            "erpIdempotencyKey": applied.erp_idempotency_key,
            "planningCycleId": applied.planning_cycle_id,
            "safetyStock": applied.safety_stock,
            "reorderPoint": applied.reorder_point,
            "approvalId": applied.approval_id,
            "correlationId": applied.correlation_id,
            "previousSafetyStock": applied.previous_safety_stock,
            "previousReorderPoint": applied.previous_reorder_point,
        }
        self._changed(key)
        try:
            self._table.update_item(
                Key={"pk": key},
                UpdateExpression="SET safetyStock = :ss, reorderPoint = :rop, erpConfirmedAt = :at, "
                                 "appliedRecommendedAt = :rat, appliedUpdate = :u",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(appliedRecommendedAt) "
                                    "OR appliedRecommendedAt <= :rat)",
                ExpressionAttributeValues=to_item({
                    ":ss": applied.safety_stock, ":rop": applied.reorder_point, ":at": now_iso(),
                    ":rat": utc_iso(applied.recommended_at),  # fixed width: text order is time order
                    ":u": {k: v for k, v in details.items() if v is not None},
                }),
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException" and self._read(key) is not None:
                return False
            raise

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
                ExpressionAttributeValues=to_item({":d": lead_time_days, ":r": reported_at, ":at": now_iso()}),
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException" and self._read(
                    item_location_key(item_id, location_id)) is not None:
                return False
            raise

    def record_forecast(self, item_id: str, location_id: str, forecast_id: str, buckets: list[dict[str, Any]],
                        published_at: str) -> bool:
        """The latest demand forecast of the item-location (what approvals read daily demand from), unless one
        published later is recorded already. ``published_at``: fixed-width UTC ISO time. False when later
        one was recorded meanwhile."""
        from botocore.exceptions import ClientError

        key = item_location_key(item_id, location_id)
        self._changed(key)
        try:
            self._table.update_item(
                Key={"pk": key},
                UpdateExpression="SET forecastId = :f, forecastBuckets = :b, forecastPublishedAt = :p",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(forecastPublishedAt) "
                                    "OR forecastPublishedAt <= :p)",
                ExpressionAttributeValues=to_item({":f": forecast_id, ":b": buckets, ":p": published_at}),
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException" and self._read(key) is not None:
                return False
            raise


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
