"""distsync_core.files on CSV: item-location master data and forecasts, good and bad lines."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from distsync_core.files import Code, FileFormat, PartnerProfile, acknowledgment, detect_format, parse_file
from tests.unit.files_support import through_webhook

OWN = Path(__file__).resolve().parents[1] / "data" / "files" / "csv"
ERP = PartnerProfile("acme-erp", "erp", formats=frozenset({"csv"}))
PLANNING = PartnerProfile("acme-planning", "planning", formats=frozenset({"csv"}))


def read(name: str, partner: PartnerProfile):
    return parse_file((OWN / name).read_bytes(), partner, file_name=name)



def assert_every_line_accounted(parsed, data_lines: list[int]) -> None:
    acc = parsed.accounting()
    assert acc["unit"] == "line"
    assert sorted(acc["acceptedUnits"] + acc["rejectedUnits"]) == data_lines  # each line once, none lost
    assert acc["total"] == len(data_lines) == acc["inEvents"] + acc["inErrors"]
    report = parsed.error_report()
    rejected = [t for t in report["transactions"] if t["status"] == "rejected"]
    assert all(t["errors"] for t in rejected)  # every rejected line is in the report with its reason
    assert sorted(n for t in rejected for n in t["lines"]) == acc["rejectedUnits"]
    json.dumps(report)


# --------------------------------------------------------------------------------------------------
# Item-location master data
# --------------------------------------------------------------------------------------------------
def test_item_locations_become_one_upsert_per_line():
    parsed = read("item_locations.csv", ERP)

    assert (parsed.format, parsed.kind, parsed.status) == (FileFormat.CSV, "item-location", "accepted")
    assert [e.data for e in parsed.events] == [
        {
            "recordVersion": 12,
            "itemId": "SKU-100",
            "locationId": "DC-EAST",
            "unitOfMeasure": "EA",
            "safetyStock": 40.0,
            "reorderPoint": 60.5,
            "supplierId": "SUP-1",
            "leadTimeDays": 7,
        },
        {
            "recordVersion": 3,
            "itemId": "SKU-200",
            "locationId": "DC-EAST",
            "unitOfMeasure": "CS",
            "safetyStock": 10.0,
            "reorderPoint": 25.0,
            "supplierId": "SUP-2",
            "leadTimeDays": 14,
        },
        {
            "recordVersion": None,
            "itemId": "SKU-300",
            "locationId": "DC-WEST",
            "unitOfMeasure": "EA",
            "safetyStock": 0.0,
            "reorderPoint": 5.0,
            "supplierId": "SUP-1",
            "leadTimeDays": 21,
        },
    ]
    assert [t.lines for t in parsed.transactions] == [(2,), (3,), (4,)]
    assert [e.business_key for e in parsed.events] == [
        "SKU-100@DC-EAST",
        "SKU-200@DC-EAST",
        "SKU-300@DC-WEST",
    ]
    for event in parsed.events:
        assert through_webhook(event, "erp").envelope.metadata.event_type == "ItemLocationUpserted"
    assert acknowledgment(parsed) is None  # a CSV's answer is its error report


def test_bad_item_location_lines_are_reported_by_line_and_column_and_the_good_ones_kept():
    parsed = read("item_locations_bad.csv", ERP)

    assert parsed.status == "partially_accepted"
    assert [(e.data["itemId"], e.data["leadTimeDays"]) for e in parsed.events] == [
        ("SKU-100", 7),
        ("SKU-107", 10),
    ]
    found = [(e.line, e.code, e.element, e.value) for e in parsed.all_errors()]
    assert found == [
        (3, Code.INVALID_NUMBER, "safety_stock", "forty"),
        (4, Code.ELEMENT_MISSING, "supplier_id", None),
        (5, Code.WRONG_FIELD_COUNT, None, None),
        (6, Code.DUPLICATE_ROW, "item_id", None),
        (7, Code.CONTRACT_VIOLATION, "unit_of_measure", "ea"),
        (8, Code.CONTRACT_VIOLATION, "reorder_point", "-5.0"),
        (10, Code.INVALID_NUMBER, "lead_time_days", "2.5"),
    ]
    assert "already on line 2" in parsed.all_errors()[3].reason
    assert_every_line_accounted(parsed, [2, 3, 4, 5, 6, 7, 8, 10, 11])  # line 9 is blank


def test_an_invalid_header_rejects_the_file_and_counts_its_lines():
    parsed = read("item_locations_bad_header.csv", ERP)

    assert parsed.status == "rejected" and parsed.events == []
    [header] = parsed.errors
    assert (header.code, header.line) == (Code.INVALID_HEADER, 1)
    assert header.reason == "missing column(s) supplierId; unknown column(s) supplier, colour"
    assert_every_line_accounted(parsed, [2, 3])


def test_a_planning_partner_may_not_send_master_data():
    parsed = read("item_locations.csv", PLANNING)

    assert parsed.status == "rejected"
    assert [e.code for e in parsed.errors] == [Code.SOURCE_NOT_ALLOWED]
    assert "may not produce ItemLocationUpserted (producers: erp)" in parsed.errors[0].reason
    assert_every_line_accounted(parsed, [2, 3, 4])


# --------------------------------------------------------------------------------------------------
# Forecasts
# --------------------------------------------------------------------------------------------------
def test_forecast_lines_are_grouped_per_item_location_with_weeks_ascending():
    parsed = read("forecast.csv", PLANNING)

    assert (parsed.kind, parsed.status) == ("forecast", "accepted")
    sku100, sku200 = parsed.events
    assert sku100.data == {
        "itemId": "SKU-100",
        "locationId": "DC-EAST",
        "forecastId": "FC-2026-48",
        "unitOfMeasure": "EA",
        "buckets": [
            {"weekStart": "2026-11-30", "quantity": 120.0},
            {"weekStart": "2026-12-07", "quantity": 125.0},
            {"weekStart": "2026-12-14", "quantity": 130.0},
            {"weekStart": "2026-12-21", "quantity": 90.0},
        ],
    }
    assert (sku200.data["unitOfMeasure"], [b["quantity"] for b in sku200.data["buckets"]]) == (
        "CS",
        [40.5, 42.0],
    )
    assert [t.lines for t in parsed.transactions] == [(2, 3, 5, 7), (4, 6)]
    for event in parsed.events:
        assert through_webhook(event, "planning").data.forecast_id == "FC-2026-48"


def test_bad_forecast_lines_are_reported_and_the_good_weeks_still_published():
    raw = (OWN / "forecast_bad.csv").read_bytes()
    parsed = parse_file(raw, PLANNING)

    derived = f"FC-{hashlib.sha256(raw).hexdigest()[:12]}"  # no forecastId column: the file names it
    assert [
        (e.data["itemId"], e.data["forecastId"], [b["weekStart"] for b in e.data["buckets"]])
        for e in parsed.events
    ] == [
        ("SKU-100", derived, ["2026-11-30", "2026-12-14"]),
        ("SKU-200", derived, ["2026-12-14"]),
    ]
    assert all(e.data["unitOfMeasure"] == "EA" for e in parsed.events)  # the partner's default unit
    found = [(e.line, e.code, e.element, e.value) for e in parsed.all_errors()]
    assert found == [
        (3, Code.INVALID_NUMBER, "quantity", "lots"),
        (5, Code.DUPLICATE_ROW, "weekStart", "2026-12-14"),
        (6, Code.INVALID_DATE, "weekStart", "14/12/2026"),
        (7, Code.CONTRACT_VIOLATION, "quantity", "-4"),
        (8, Code.WRONG_FIELD_COUNT, None, None),
        (9, Code.CONTRACT_VIOLATION, "itemId", "SKU 300"),
    ]
    assert "already on line 4" in parsed.all_errors()[1].reason
    assert_every_line_accounted(parsed, list(range(2, 11)))
    assert parse_file(raw, PLANNING).events[0].data["forecastId"] == derived  # the same file, the same id


def test_forecasts_come_from_planning_only():
    parsed = read("forecast.csv", ERP)

    assert parsed.status == "rejected" and [e.code for e in parsed.errors] == [Code.SOURCE_NOT_ALLOWED]
    assert_every_line_accounted(parsed, [2, 3, 4, 5, 6, 7])


def test_a_unit_change_within_one_item_location_rejects_the_line():
    raw = b"itemId,locationId,weekStart,quantity,unitOfMeasure\nSKU-1,DC-1,2026-11-30,5,EA\nSKU-1,DC-1,2026-12-07,6,CS\n"
    parsed = parse_file(raw, PLANNING)

    [event] = parsed.events
    assert len(event.data["buckets"]) == 1
    [error] = parsed.all_errors()
    assert (error.line, error.code, error.value) == (3, Code.CONTRACT_VIOLATION, "CS")
    assert "differs from 'EA' on line 2" in error.reason


def test_more_than_104_weeks_reject_the_item_location():
    lines = ["itemId,locationId,weekStart,quantity"] + [
        f"SKU-1,DC-1,{date(2026, 1, 5) + timedelta(weeks=n)},1" for n in range(105)
    ]
    parsed = parse_file("\n".join(lines).encode(), PLANNING)

    [tx] = parsed.transactions
    assert tx.status == "rejected" and tx.lines == tuple(range(2, 107))
    assert [e.code for e in tx.errors] == [Code.CONTRACT_VIOLATION] and "buckets" in tx.errors[0].reason


# --------------------------------------------------------------------------------------------------
# Formats and robustness
# --------------------------------------------------------------------------------------------------
def test_quoted_fields_semicolons_and_a_bom():
    raw = '\ufeffitem;location;week;qty\n"SKU-1";"DC-1";2026-11-30;"7.5"\n\n"SKU-2";DC-1;2026-11-30;3\n'.encode()
    parsed = parse_file(raw, PLANNING)

    assert parsed.status == "accepted"
    assert [(e.data["itemId"], e.data["buckets"][0]["quantity"]) for e in parsed.events] == [
        ("SKU-1", 7.5),
        ("SKU-2", 3.0),
    ]
    assert [t.lines for t in parsed.transactions] == [(2,), (4,)]


def test_a_quoted_newline_keeps_line_numbers_right():
    raw = b'itemId,locationId,weekStart,quantity\n"SKU-1",DC-1,2026-11-30,1\n"SKU\n2",DC-1,2026-11-30,2\nSKU-3,DC-1,2026-11-30,x\n'
    parsed = parse_file(raw, PLANNING)

    assert [(e.line, e.code) for e in parsed.all_errors()] == [
        (3, Code.CONTRACT_VIOLATION),
        (5, Code.INVALID_NUMBER),
    ]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"colour,size\nblue,3\n", Code.INVALID_HEADER),
        (b"itemId,locationId,weekStart,quantity,itemId\nA,B,2026-11-30,1,A\n", Code.INVALID_HEADER),
        (b"itemId,locationId,weekStart,quantity\n\xff\xfe,B,2026-11-30,1\n", Code.UNREADABLE),
        (b"   \n\n", Code.EMPTY_FILE),
        (b"just some words without a separator\n", Code.UNKNOWN_FORMAT),
    ],
)
def test_files_that_cannot_be_read_say_why(raw, code):
    parsed = parse_file(raw, PLANNING)

    assert parsed.status == "rejected" and parsed.errors[0].code is code
    json.dumps(parsed.error_report())


def test_detect_format():
    assert detect_format(b"\xef\xbb\xbfitemId,locationId\n") is FileFormat.CSV
    assert detect_format(b"\r\nISA*00*") is FileFormat.X12
    assert detect_format(b"UNA:+.? 'UNB+") is FileFormat.EDIFACT
    assert detect_format(b"UNB+UNOA:3") is FileFormat.EDIFACT
    assert detect_format(b"%PDF-1.4") is FileFormat.UNKNOWN


def test_partner_profiles_refuse_unknown_settings():
    with pytest.raises(ValueError, match="unknown source"):
        PartnerProfile("p", "warehouse")
    with pytest.raises(ValueError, match="colour"):
        PartnerProfile.from_config("p", {"source": "erp", "colour": "blue"})
    profile = PartnerProfile.from_config(
        "p", {"source": "erp", "formats": ["csv"], "senderIds": ["X"], "locationMap": {"A": "B"}}
    )
    assert (profile.formats, profile.sender_ids, dict(profile.location_map)) == (
        frozenset({FileFormat.CSV}),
        ("X",),
        {"A": "B"},
    )
