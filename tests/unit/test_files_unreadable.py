"""Whatever bytes land under inbound/ end as an accepted or a rejected file with the reason, never a crash
that sends the intake into retries and the DLQ (issue 12, finding 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from distsync_core.files import Code, PartnerProfile, parse_file

DATA = Path(__file__).resolve().parents[1] / "data" / "files"
X12 = (DATA / "third_party" / "node-x12_855.edi").read_text(encoding="latin-1")
EDIFACT = (DATA / "edifact" / "desadv_d96a.edi").read_text(encoding="latin-1")
CSV = (DATA / "csv" / "item_locations.csv").read_text()
SUPPLIER = PartnerProfile("book-supplier", "supplier", sender_ids=("1556150",), default_location_id="DC-EAST")
WMS = PartnerProfile("acme-wms", "wms", sender_ids=("ACMEWMS",), receiver_ids=("DISTSYNC",),
                     location_map={"ACME-E1": "DC-EAST", "ACME-W1": "DC-WEST"})
ERP = PartnerProfile("acme-erp", "erp", formats=frozenset({"csv"}))


def errors(parsed) -> list[tuple[str, str]]:
    found = [(e.code, e.reason) for e in parsed.errors]
    return found + [(e.code, e.reason) for t in parsed.transactions for e in t.errors]


@pytest.mark.parametrize(
    ("name", "text", "partner", "code", "needle"),
    [
        # '²' passes str.isdigit(), then int() raised
        ("x12-iea01", X12.replace("IEA*1*", "IEA*\u00b2*"), SUPPLIER, Code.INVALID_NUMBER, "IEA01"),
        ("x12-se01", X12.replace("SE*26*", "SE*2\u00b2*"), SUPPLIER, Code.INVALID_NUMBER, "SE01"),
        ("x12-isa13", X12.replace("*000000005*", "*00000000\u00b2*", 1), SUPPLIER, Code.ENVELOPE_INVALID, "ISA13"),
        ("edifact-unt", EDIFACT.replace("UNT+15+", "UNT+1\u00b2+"), WMS, None, "UNT"),
        ("edifact-unz", EDIFACT.replace("UNZ+1+", "UNZ+\u00b2+"), WMS, None, "UNZ"),
    ],
    ids=["x12-iea01", "x12-se01", "x12-isa13", "edifact-unt", "edifact-unz"],
)
def test_non_ascii_digits_in_control_fields_reject_with_the_reason(name, text, partner, code, needle):
    parsed = parse_file(text.encode("latin-1"), partner, file_name=f"{name}.edi")
    assert parsed.status == "rejected" and parsed.events == []
    found = errors(parsed)
    assert any(needle in reason for _, reason in found), found
    if code is not None:
        assert code in {c for c, _ in found}


def test_a_csv_whole_number_of_5000_digits_is_a_line_error_not_a_crash():
    text = CSV.replace("SUP-1,7,12", "SUP-1,7," + "9" * 5000, 1)  # recordVersion: int() refuses 4,300+ digits
    parsed = parse_file(text.encode(), ERP, file_name="item_locations.csv")
    assert any(code == Code.INVALID_NUMBER and "recordVersion" in reason for code, reason in errors(parsed))
    assert len(parsed.events) == 2  # the other lines still go


def test_a_csv_field_over_the_csv_modules_limit_rejects_the_file_as_unreadable():
    text = CSV.replace("SKU-100", "SKU-" + "1" * 200_000, 1)  # csv's field limit is 131,072 characters
    parsed = parse_file(text.encode(), ERP, file_name="item_locations.csv")
    assert parsed.status == "rejected" and parsed.events == []
    [(code, reason)] = errors(parsed)
    assert code == Code.UNREADABLE and "could not be read: Error: field larger than field limit" in reason


def test_any_failure_while_reading_rejects_the_file_and_keeps_nothing_of_it(monkeypatch):
    from distsync_core.files import csv_files

    def half_then_fail(raw, parsed):
        parsed.events.append("an event of the first half")  # what a file half read had produced
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(csv_files, "parse_csv", half_then_fail)
    parsed = parse_file(CSV.encode(), ERP, file_name="item_locations.csv")
    assert parsed.status == "rejected" and parsed.events == []
    assert errors(parsed) == [(Code.UNREADABLE, "the file (item_locations.csv) could not be read: RecursionError: "
                                                "maximum recursion depth exceeded")]
