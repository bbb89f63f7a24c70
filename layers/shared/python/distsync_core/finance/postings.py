"""The postings table: every ``FinancialPostingRecorded`` once, by posting id, and by period for the
reconciliation.

- key ``postingId``: a posting is recorded with a conditional put, so a redelivered or resent posting is
  never counted twice; ERP postings are immutable (a correction is a new posting), so the same id with other
  values is a conflict, not an update;
- index ``byPeriod``: ``period`` = ``<postingDate>#<domain>`` + ``postingId``: one query per domain and date.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ..contracts import POSTING_DOMAINS, FinancialPostingRecorded, Metadata
from ..platform.aws import table
from ..platform.dynamo import conditional, from_item, to_item
from ..platform.times import now_iso
from .reconciliation import GroupKey, Total, totals_of

PERIOD_INDEX = "byPeriod"
# What makes a posting this posting: a redelivery must carry the same values.
_IDENTITY = ("postingType", "domain", "amountMinor", "currency", "postingDate", "reference")


class PostingConflict(ValueError):
    """A posting with this id is recorded with other values."""


def period_key(posting_date: date, domain: str) -> str:
    return f"{posting_date.isoformat()}#{domain}"


class PostingStore:
    def __init__(self, table_name: str):
        self._table = table(table_name)

    def record(self, posting: FinancialPostingRecorded, meta: Metadata) -> bool:
        """Record the posting once. True if recorded now, False if it was recorded before with the same
        values; raises :class:`PostingConflict` if it was recorded with other values."""
        item = posting.model_dump(by_alias=True, mode="json")
        item.update(
            period=period_key(posting.posting_date, posting.domain),
            sourceEventId=meta.event_id,
            correlationId=meta.correlation_id,
            recordedAt=now_iso(),
        )
        if conditional(self._table.put_item, Item=to_item(item), ConditionExpression="attribute_not_exists(postingId)"):
            return True
        stored = self.get(posting.posting_id) or {}
        differs = [k for k in _IDENTITY if stored.get(k) != item[k]]
        if differs:
            raise PostingConflict(
                f"posting {posting.posting_id} is already recorded with other values "
                f"({', '.join(f'{k} {stored.get(k)!r} != {item[k]!r}' for k in differs)}); ERP postings are "
                "immutable, a correction is a new posting"
            )
        return False

    def get(self, posting_id: str) -> dict[str, Any] | None:
        raw = self._table.get_item(Key={"postingId": posting_id}, ConsistentRead=True).get("Item")
        return from_item(raw) if raw else None

    def for_period(self, posting_date: date, domain: str) -> list[dict[str, Any]]:
        """Every posting recorded for this date and domain (the index, all pages)."""
        from boto3.dynamodb.conditions import Key

        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "IndexName": PERIOD_INDEX,
            "KeyConditionExpression": Key("period").eq(period_key(posting_date, domain)),
        }
        while True:
            page = self._table.query(**kwargs)
            items.extend(from_item(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def totals(self, posting_date: date, domains: tuple[str, ...] = POSTING_DOMAINS) -> dict[GroupKey, Total]:
        """What distsync recorded for the date, per (domain, posting type, currency)."""
        return totals_of(p for domain in domains for p in self.for_period(posting_date, domain))
