"""Outbound extracts for the planning platform: pure logic, no AWS.

File-based planning platforms load the ERP's confirmed parameters from a file as the start of their own run;
distsync writes the master data's current item-location parameters (those the ERP last confirmed, or the
master data's own) as ``outbound/planning/extracts/<date>/item-locations.csv``: one header line
(:data:`COLUMNS`), one row per item-location with parameters, RFC 4180 quoting, ``\\n`` line ends, UTF-8.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

EXTRACT_PREFIX = "outbound/planning/extracts/"
ITEM_LOCATIONS = "item-locations.csv"
COLUMNS = ("itemId", "locationId", "unitOfMeasure", "safetyStock", "reorderPoint", "supplierId", "leadTimeDays",
           "erpConfirmedAt", "planningCycleId")
ITEM_LOCATION_PREFIX = "ITEMLOC#"  # masterdata.records.item_location_key


def extract_key(day: date) -> str:
    return f"{EXTRACT_PREFIX}{day.isoformat()}/{ITEM_LOCATIONS}"


def extract_date(event: Mapping[str, Any], now: datetime) -> date:
    """``{"date": "YYYY-MM-DD"}`` (on demand), else the schedule's ``scheduledTime``, else ``now`` (UTC)."""
    if event.get("date"):
        return date.fromisoformat(str(event["date"]))
    if event.get("scheduledTime"):
        return datetime.fromisoformat(str(event["scheduledTime"]).replace("Z", "+00:00")).date()
    return now.date()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal | float):  # 100 stays "100", 12.5 "12.5", never "1E+2"
        text = format(Decimal(str(value)).normalize(), "f")
        return text
    return str(value)


def row(item: Mapping[str, Any]) -> list[str] | None:
    """An item-location record of the master data table -> its CSV row (None: not an item-location with
    parameters)."""
    if not str(item.get("pk", "")).startswith(ITEM_LOCATION_PREFIX):
        return None
    if any(item.get(k) in (None, "") for k in ("itemId", "locationId", "safetyStock", "reorderPoint")):
        return None
    applied = item.get("appliedUpdate") or {}
    values = {**item, "planningCycleId": applied.get("planningCycleId") if isinstance(applied, Mapping) else None}
    return [_text(values.get(column)) for column in COLUMNS]


class CsvWriter:
    """Rows into a text stream with the header first; counts the rows written."""

    def __init__(self, stream: io.TextIOBase | Any):
        self._writer = csv.writer(stream, lineterminator="\n")
        self._writer.writerow(COLUMNS)
        self.rows = 0

    def write(self, items: Iterable[Mapping[str, Any]]) -> None:
        for item in items:
            values = row(item)
            if values is not None:
                self._writer.writerow(values)
                self.rows += 1
