"""A small partner file cannot exhaust the intake's memory (issue 12, finding 4): reading stops at the
1,001st error and the file is rejected, and a file of more segments / rows than ``fileMaxRecords`` is
rejected unread."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from distsync_core.files import Code, PartnerProfile, acknowledgment, parse_file

MAX_ERRORS = MAX_WARNINGS = 1_000  # per file (distsync_core/files/model.py)

DATA = Path(__file__).resolve().parents[1] / "data" / "files"
X12 = (DATA / "third_party" / "node-x12_855.edi").read_text(encoding="latin-1")
ISA = X12[: X12.index("~") + 1]
EDIFACT = (DATA / "edifact" / "desadv_d96a.edi").read_text(encoding="latin-1")
UNB = EDIFACT[: EDIFACT.index("'", EDIFACT.index("UNB")) + 1]
CSV = (DATA / "csv" / "item_locations.csv").read_text()
SUPPLIER = PartnerProfile("book-supplier", "supplier", sender_ids=("1556150",), default_location_id="DC-EAST")
WMS = PartnerProfile("acme-wms", "wms", sender_ids=("ACMEWMS",), receiver_ids=("DISTSYNC",),
                     location_map={"ACME-E1": "DC-EAST", "ACME-W1": "DC-WEST"})
ERP = PartnerProfile("acme-erp", "erp", formats=frozenset({"csv"}))


def all_errors(parsed):
    return parsed.all_errors()


def code(name: str):
    return getattr(Code, name, name)  # looked up as the test runs: the limits' codes are part of the fix


def test_300_kb_of_bare_gs_segments_is_rejected_in_little_memory_with_the_errors_capped():
    raw = (ISA + "GS~" * 100_000).encode("latin-1")  # ~300 KB: ten errors per GS, a million in all before
    assert len(raw) < 310_000
    tracemalloc.start()
    try:
        parsed = parse_file(raw, SUPPLIER, file_name="gs.edi")
        report = parsed.error_report()
        ack = acknowledgment(parsed)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 128 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB"
    errors = all_errors(parsed)
    assert len(errors) == MAX_ERRORS + 1 and report["summary"]["errors"] == MAX_ERRORS + 1
    last = errors[-1]
    assert last.code == code('TOO_MANY_ERRORS')
    assert last.reason.startswith("too many errors; stopped at segment ")
    assert last.segment_position is not None and last.reason.endswith(
        f"segment {last.segment_position} (more than {MAX_ERRORS} errors)")
    assert report["errors"][-1]["code"] == "too_many_errors"
    assert parsed.status == "rejected" and parsed.events == []
    # still answered, negatively: a TA1 rejecting the interchange
    assert ack is not None and b"TA1*" in ack and b"*R*" in ack


def test_an_edifact_file_of_bad_segments_stops_at_the_error_limit():
    raw = (UNB + "UNG'" * 20_000).encode("latin-1")
    parsed = parse_file(raw, WMS, file_name="ung.edi")
    errors = all_errors(parsed)
    assert len(errors) == MAX_ERRORS + 1 and errors[-1].code == code('TOO_MANY_ERRORS')
    assert "stopped at segment " in errors[-1].reason
    assert parsed.status == "rejected"
    ack = acknowledgment(parsed)
    assert ack is not None and b"UCI+" in ack and b"ZZ+4+" in ack  # the interchange rejected (action 4)


def test_a_csv_of_bad_rows_stops_at_the_error_limit_naming_the_row():
    header, *_ = CSV.splitlines()
    raw = (header + "\n" + "x\n" * 5_000).encode()  # every row has the wrong field count
    parsed = parse_file(raw, ERP, file_name="rows.csv")
    errors = all_errors(parsed)
    assert len(errors) == MAX_ERRORS + 1
    assert errors[-1].code == code('TOO_MANY_ERRORS')
    assert errors[-1].reason == f"too many errors; stopped at row {MAX_ERRORS + 2} (more than {MAX_ERRORS} errors)"
    assert parsed.status == "rejected" and parsed.events == [] and parsed.transactions == []


def test_a_file_with_errors_up_to_the_limit_is_read_to_the_end():
    header, *_ = CSV.splitlines()
    good = CSV.splitlines()[1]
    raw = (header + "\n" + "x\n" * MAX_ERRORS + good + "\n").encode()
    parsed = parse_file(raw, ERP, file_name="rows.csv")
    assert len(all_errors(parsed)) == MAX_ERRORS
    assert code('TOO_MANY_ERRORS') not in {e.code for e in all_errors(parsed)}
    assert parsed.status == "partially_accepted" and len(parsed.events) == 1


@pytest.mark.parametrize(
    ("name", "raw", "partner", "unit"),
    [
        ("x12", (ISA + "GS~" * 51).encode("latin-1"), SUPPLIER, "segments"),
        ("edifact", (UNB + "UNG'" * 51).encode("latin-1"), WMS, "segments"),
        ("csv", (CSV.splitlines()[0] + "\n" + "x\n" * 51).encode(), ERP, "rows"),
    ],
    ids=["x12", "edifact", "csv"],
)
def test_a_file_over_the_record_limit_is_rejected_unread(name, raw, partner, unit):
    parsed = parse_file(raw, partner, file_name=f"{name}.dat", max_records=50)
    [error] = all_errors(parsed)
    assert error.code == code('TOO_MANY_RECORDS')
    assert error.reason == f"the file has more than 50 {unit} (the limit per file, fileMaxRecords): rejected unread"
    assert parsed.status == "rejected" and parsed.transactions == []
    at_limit = parse_file(raw, partner, file_name=f"{name}.dat", max_records=52)
    assert code('TOO_MANY_RECORDS') not in {e.code for e in all_errors(at_limit)}


def test_warnings_past_the_limit_are_counted_not_kept():
    from distsync_core.files.model import FileError, FileFormat, ParsedFile

    parsed = ParsedFile(format=FileFormat.CSV, partner=ERP, checksum="0" * 64)
    for n in range(MAX_WARNINGS + 5):
        parsed.add(FileError(Code.MISSING_DATA, f"note {n}", severity="warning"))
    assert len(parsed.warnings) == MAX_WARNINGS
    assert parsed.error_report()["summary"]["warningsNotRecorded"] == 5
    assert parsed.status == "rejected"  # (no transactions) warnings alone never stop the reading
