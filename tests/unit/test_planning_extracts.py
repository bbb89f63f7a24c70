"""The planning extract's rows (distsync_core.planning.extracts)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from distsync_core.planning.extracts import COLUMNS, CsvWriter, extract_date, extract_key


def test_rows_of_item_locations_only_quoted_as_csv() -> None:
    out = io.StringIO()
    writer = CsvWriter(out)
    writer.write([
        {"pk": "ITEMLOC#SKU-1#DC-1", "itemId": "SKU-1", "locationId": "DC-1", "unitOfMeasure": "EA",
         "safetyStock": 100, "reorderPoint": 12.5, "supplierId": "SUP,1", "leadTimeDays": 7,
         "erpConfirmedAt": "2026-12-01T04:00:00Z", "appliedUpdate": {"planningCycleId": "w48"}},
        {"pk": "SUPPLIER#SUP-1", "supplierId": "SUP-1"},  # not an item-location
        {"pk": "ITEMLOC#SKU-2#DC-1", "itemId": "SKU-2", "locationId": "DC-1"},  # no parameters
    ])
    assert writer.rows == 1
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [list(COLUMNS), ["SKU-1", "DC-1", "EA", "100", "12.5", "SUP,1", "7", "2026-12-01T04:00:00Z", "w48"]]


def test_the_date_of_an_extract() -> None:
    now = datetime(2026, 12, 5, 23, 59, tzinfo=UTC)
    assert extract_date({}, now) == date(2026, 12, 5)
    assert extract_date({"scheduledTime": "2026-12-04T04:00:00Z"}, now) == date(2026, 12, 4)
    assert extract_date({"date": "2026-11-30"}, now) == date(2026, 11, 30)
    assert extract_key(date(2026, 11, 30)) == "outbound/planning/extracts/2026-11-30/item-locations.csv"
