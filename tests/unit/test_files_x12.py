"""distsync_core.files on X12: third-party samples (node-x12 855/856/850, StAEDI 997s) and hand-written
846s with broken variants; every event goes through the webhook contract, every 997 is read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from distsync_core.files import Code, FileFormat, PartnerProfile, acknowledgment, parse_file
from tests.unit.files_support import through_webhook

DATA = Path(__file__).resolve().parents[1] / "data" / "files"
THIRD = DATA / "third_party"
OWN = DATA / "x12"
AT = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)

WMS = PartnerProfile(
    "acme-wms",
    "wms",
    sender_ids=("ACMEWMS",),
    receiver_ids=("DISTSYNC",),
    location_map={"ACME-E1": "DC-EAST", "ACME-W1": "DC-WEST"},
)
BOOK_SUPPLIER = PartnerProfile(
    "book-supplier", "supplier", sender_ids=("1556150",), location_map={"123MILL 0001": "DC-EAST"}
)
XYZ_3PL = PartnerProfile("xyz-3pl", "wms", sender_ids=("4405197800",))
HC_PARTNER = PartnerProfile("hc-partner", "supplier", sender_ids=("ReceiverID", "ReceiverDept"))


def read(path: Path, partner: PartnerProfile):
    return parse_file(path.read_bytes(), partner, file_name=path.name)


def segments(ack: bytes) -> list[str]:
    return [s.strip() for s in ack.decode().split("~") if s.strip()]



def assert_accounted(parsed) -> None:
    acc = parsed.accounting()
    assert acc["total"] == len(parsed.transactions) == acc["inEvents"] + acc["inErrors"]
    assert not set(acc["acceptedUnits"]) & set(acc["rejectedUnits"])
    report = parsed.error_report()
    reported = {e["transactionIndex"] for e in report["errors"] if "transactionIndex" in e}
    assert reported == set(acc["rejectedUnits"])
    json.dumps(report)  # machine-readable all the way


# --------------------------------------------------------------------------------------------------
# Third-party samples
# --------------------------------------------------------------------------------------------------
def test_node_x12_855_becomes_a_purchase_order_confirmation():
    parsed = read(THIRD / "node-x12_855.edi", BOOK_SUPPLIER)

    assert parsed.format is FileFormat.X12 and parsed.status == "accepted"
    assert (parsed.interchange.sender_id, parsed.interchange.receiver_id) == ("1556150", "123MILL")
    assert parsed.interchange.control_number == "000000005"
    assert [(g.functional_id, g.control_number) for g in parsed.groups] == [("PR", "5")]
    [tx] = parsed.transactions
    assert (tx.kind, tx.control_number, tx.segment_count) == ("855", "0005", 26)
    [event] = parsed.events
    assert (event.event_type, event.event_version, event.source) == (
        "PurchaseOrderConfirmed",
        "1",
        "supplier",
    )
    assert event.business_key == "PO#POTEST1112"
    data = event.data
    assert (data["purchaseOrderId"], data["supplierId"]) == ("POTEST1112", "book-supplier")
    lines = [
        (x["lineNumber"], x["itemId"], x["locationId"], x["confirmedQuantity"], x["confirmedDeliveryDate"])
        for x in data["lines"]
    ]
    assert lines == [
        (1, "9780446360265", "DC-EAST", 3.0, "2004-12-31"),  # ACK*IA*3, SCH date
        (2, "9780767928427", "DC-EAST", 0.0, "2007-10-09"),  # ACK*IR: rejected item, nothing confirmed
        (3, "9780099599531", "DC-EAST", 0.0, "2004-12-31"),
        (4, "9780446360272", "DC-EAST", 2.0, "2004-12-31"),
    ]
    accepted = through_webhook(event, "supplier")
    assert accepted.envelope.metadata.event_type == "PurchaseOrderConfirmed"


def test_node_x12_855_without_a_location_map_names_the_n1_code():
    parsed = read(
        THIRD / "node-x12_855.edi", PartnerProfile("book-supplier", "supplier", sender_ids=("1556150",))
    )

    assert parsed.status == "rejected" and not parsed.events
    errors = parsed.transactions[0].errors
    assert {(e.code, e.segment_id, e.element, e.line) for e in errors} == {
        (Code.CONTRACT_VIOLATION, "N1", "N104", 8)
    }
    assert [e.reason.split(":")[0] for e in errors] == [
        f"PurchaseOrderConfirmed lines.{i}.locationId" for i in range(4)
    ]
    assert all(e.value == "123MILL 0001" for e in errors)


def test_node_x12_855_997_accepts_the_set_and_reads_back_as_a_valid_997():
    parsed = read(THIRD / "node-x12_855.edi", BOOK_SUPPLIER)
    ack = acknowledgment(parsed, control_number=42, at=AT)

    segs = segments(ack)
    assert segs[0].startswith(
        "ISA*00*          *00*          *ZZ*123MILL        *ZZ*1556150        *261127*1000*U*00401*000000042*0*P*>"
    )
    assert segs[1:] == [
        "GS*FA*123MILL*1556150*20261127*1000*42*X*004010",
        "ST*997*0001",
        "AK1*PR*5",
        "AK2*855*0005",
        "AK5*A",
        "AK9*A*1*1*1",
        "SE*6*0001",
        "GE*1*42",
        "IEA*1*000000042",
    ]
    back = parse_file(ack, PartnerProfile("us", "supplier", sender_ids=("123MILL",)))
    assert back.status == "accepted" and back.transactions[0].details["groupStatus"] == "A"
    assert acknowledgment(back, at=AT) is None  # an acknowledgment is never acknowledged


def test_node_x12_856_becomes_a_shipped_milestone_with_its_lines():
    parsed = read(THIRD / "node-x12_856.edi", XYZ_3PL)

    assert parsed.status == "accepted"
    assert parsed.interchange.version == "00406" and parsed.interchange.separators["repetition"] == "-"
    [event] = parsed.events
    assert event.event_type == "ShipmentMilestone" and event.business_key == "SHIPMENT#829716"
    data = event.data
    assert data["shipmentId"] == "829716"
    assert data["orderIds"] == ["99999817"]
    assert data["milestone"] == "shipped"
    assert data["carrier"] == "XXXX"  # TD503 (SCAC)
    assert data["trackingNumber"] == "5787970539"  # REF*CN
    assert data["milestoneAt"] == "2011-12-06T14:24:28Z"  # DTM*011 day, BSN04 time
    assert parsed.transactions[0].details["lines"] == [
        {"itemId": "87787D", "quantity": 24.0, "unit": "EA"},
        {"itemId": "99887D", "quantity": 6.0, "unit": "EA"},
    ]
    assert through_webhook(event, "wms").envelope.metadata.source == "wms"


def test_a_partner_whose_source_may_not_produce_shipments_gets_its_ship_notice_rejected():
    parsed = read(THIRD / "node-x12_856.edi", PartnerProfile("xyz", "planning", sender_ids=("4405197800",)))

    assert parsed.status == "rejected" and not parsed.events
    [error] = parsed.transactions[0].errors
    assert error.code is Code.SOURCE_NOT_ALLOWED and error.segment_id == "BSN" and error.line == 4
    assert "source 'planning', which may not produce ShipmentMilestone (producers: " in error.reason
    assert "AK5*R*5" in segments(acknowledgment(parsed, at=AT))


def test_node_x12_855_with_the_deployed_supplier_profile_uses_its_default_location():
    partner = PartnerProfile.from_config(
        "globex-supplier",
        {
            "source": "supplier",
            "senderIds": ["1556150"],
            "formats": ["x12", "edifact"],
            "supplierId": "SUP-1",
            "defaultLocationId": "DC-EAST",
        },
    )
    parsed = read(THIRD / "node-x12_855.edi", partner)

    assert parsed.status == "accepted"
    [event] = parsed.events
    assert event.data["supplierId"] == "SUP-1"
    assert {line["locationId"] for line in event.data["lines"]} == {"DC-EAST"}
    [note] = parsed.transactions[0].warnings  # not silent: the unmapped N104 is in the report
    assert (note.code, note.element, note.value, note.line) == (
        Code.UNKNOWN_LOCATION,
        "N104",
        "123MILL 0001",
        8,
    )
    assert "AK5*E" in segments(acknowledgment(parsed, at=AT))  # accepted, errors noted


def test_node_x12_850_is_rejected_by_name():
    parsed = read(THIRD / "node-x12_850.edi", PartnerProfile("xyz", "supplier", sender_ids=("4405197800",)))

    assert parsed.status == "rejected"
    [error] = parsed.all_errors()
    assert error.code is Code.UNSUPPORTED_TRANSACTION
    assert (error.line, error.segment_position, error.segment_id, error.element, error.value) == (
        3,
        3,
        "ST",
        "ST01",
        "850",
    )
    assert error.reason.startswith("transaction set 850 (Purchase Order) is not supported (supported: 846")
    segs = segments(acknowledgment(parsed, at=AT))
    assert segs[2:7] == ["ST*997*0001", "AK1*PO*1421", "AK2*850*000000010", "AK5*R*1", "AK9*R*1*1*0"]
    assert segs[1].endswith("*004010VICS")  # the group's version is answered in kind
    assert_accounted(parsed)


def test_staedi_simple997_is_recognised_and_valid():
    parsed = read(THIRD / "staedi_simple997.edi", HC_PARTNER)

    assert parsed.status == "accepted" and parsed.events == []
    assert parsed.interchange.version == "00501" and parsed.interchange.separators["component"] == ":"
    assert parsed.transactions[0].details == {
        "acknowledgedGroup": {"functionalId": "HC", "controlNumber": "000001"},
        "groupStatus": "R",
        "transactionSets": [{"transactionSetId": "837", "controlNumber": "0021", "status": "R"}],
    }
    assert acknowledgment(parsed, at=AT) is None


def test_staedi_invalid997_names_its_bad_elements():
    parsed = read(THIRD / "staedi_invalid997.edi", HC_PARTNER)

    assert parsed.status == "rejected"
    found = {
        (e.segment_id, e.element, e.code, e.line, e.segment_position, e.transaction_position)
        for e in parsed.all_errors()
    }
    assert found == {
        ("AK1", "AK101", Code.ELEMENT_TOO_LONG, 4, 4, 2),  # "HC NOT IN CODESET" for an ID 2/2
        ("AK1", "AK101", Code.INVALID_CODE, 4, 4, 2),
        ("AK4", "AK402", Code.INVALID_NUMBER, 7, 7, 5),  # "66 NON NUMERIC" for an N0 1/4
        ("AK4", "AK402", Code.ELEMENT_TOO_LONG, 7, 7, 5),
    }
    simple = read(THIRD / "staedi_simple997.edi", HC_PARTNER)
    assert simple.all_errors() == []  # the same envelopes, valid elements


def test_staedi_997_from_an_unknown_sender_is_rejected_at_the_interchange():
    parsed = read(
        THIRD / "staedi_simple997.edi", PartnerProfile("other", "supplier", sender_ids=("SOMEONE",))
    )

    codes = [(e.code, e.element) for e in parsed.errors]
    assert codes == [(Code.UNKNOWN_SENDER, "ISA06"), (Code.UNKNOWN_SENDER, "GS02")]
    assert {e.code for e in parsed.transactions[0].errors} == {Code.INTERCHANGE_REJECTED, Code.GROUP_REJECTED}
    segs = segments(acknowledgment(parsed, at=AT))
    assert segs[1] == "TA1*508121953*050812*1953*R*006" and segs[2] == "IEA*0*000000001"


# --------------------------------------------------------------------------------------------------
# Hand-written 846s
# --------------------------------------------------------------------------------------------------
def test_846_becomes_one_balance_per_item_with_lots_and_in_transit():
    parsed = read(OWN / "846_inventory.edi", WMS)

    assert parsed.status == "accepted"
    by_item = {e.data["itemId"]: e for e in parsed.events}
    assert list(by_item) == ["SKU-100", "SKU-200", "SKU-300"]
    assert all((e.event_type, e.event_version) == ("InventoryBalanceChanged", "2") for e in parsed.events)
    first = by_item["SKU-100"].data
    assert (first["locationId"], first["onHand"], first["allocated"], first["inTransit"]) == (
        "DC-EAST",
        500.0,
        120.0,
        80.0,
    )
    assert first["inTransitDueAt"] == "2026-12-04T12:00:00Z"  # SCH after QTY*IQ
    assert first["asOf"] == "2026-11-27T08:00:00Z"  # DTM*184 ... UT
    assert first["sourceSystem"] == "wms" and first["lots"] == []
    lots = by_item["SKU-200"].data
    assert lots["onHand"] == 500.0
    assert [(x["lotNumber"], x["quantity"], x["expiresOn"]) for x in lots["lots"]] == [
        ("LOT-A1", 300.0, "2027-01-31"),
        ("LOT-A2", 200.0, "2027-03-31"),
    ]
    west = by_item["SKU-300"]
    assert (west.data["locationId"], west.data["onHand"]) == ("DC-WEST", 75.5)  # item-level N1, QTY*33
    assert west.business_key == "SKU-300@DC-WEST"
    for event in parsed.events:
        assert through_webhook(event, "wms").data.item_id == event.data["itemId"]


def test_846_mixed_file_keeps_the_good_sets_and_reports_the_bad_ones():
    parsed = read(OWN / "846_mixed.edi", WMS)

    assert parsed.status == "partially_accepted"
    assert [t.status for t in parsed.transactions] == ["accepted", "rejected", "rejected", "accepted"]
    assert [(e.data["itemId"], e.data["onHand"]) for e in parsed.events] == [
        ("SKU-100", 480.0),
        ("SKU-400", 25.0),
    ]
    unknown, count = parsed.transactions[1].errors, parsed.transactions[2].errors
    assert [(e.code, e.segment_id, e.line, e.segment_position, e.transaction_position) for e in unknown] == [
        (Code.UNKNOWN_SEGMENT, "ZZZ", 14, 14, 5)
    ]
    assert [(e.code, e.element, e.value, e.line) for e in count] == [
        (Code.SET_COUNT_MISMATCH, "SE01", "9", 22)
    ]
    acc = parsed.accounting()
    assert (acc["total"], acc["inEvents"], acc["inErrors"]) == (4, 2, 2)
    assert_accounted(parsed)
    segs = segments(acknowledgment(parsed, at=AT))
    assert segs[3:14] == [
        "AK1*IB*102",
        "AK2*846*1001",
        "AK5*A",
        "AK2*846*1002",
        "AK3*ZZZ*5**1",
        "AK5*R*5",
        "AK2*846*1003",
        "AK5*R*4",
        "AK2*846*1004",
        "AK5*A",
        "AK9*P*4*4*2",
    ]


def test_846_interchange_control_number_mismatch_rejects_everything_with_a_ta1():
    parsed = read(OWN / "846_control_mismatch.edi", WMS)

    assert parsed.status == "rejected" and parsed.events == []
    [error] = parsed.errors
    assert (error.code, error.segment_id, error.element, error.value, error.line) == (
        Code.INTERCHANGE_CONTROL_MISMATCH,
        "IEA",
        "IEA02",
        "000000999",
        10,
    )
    assert [e.code for e in parsed.transactions[0].errors] == [Code.INTERCHANGE_REJECTED]
    segs = segments(acknowledgment(parsed, at=AT))
    assert segs[1] == "TA1*000000103*261127*1000*R*001"
    assert "AK5*R" in segs and "AK9*R*1*1*0" in segs
    assert_accounted(parsed)


def test_846_group_count_mismatch_rejects_the_group():
    parsed = read(OWN / "846_group_count.edi", WMS)

    assert [(e.code, e.element, e.line) for e in parsed.errors] == [(Code.GROUP_COUNT_MISMATCH, "GE01", 9)]
    assert [e.code for e in parsed.transactions[0].errors] == [Code.GROUP_REJECTED]
    assert "AK9*R*2*1*0*5" in segments(acknowledgment(parsed, at=AT))


def test_846_from_an_unknown_partner_id_is_rejected():
    parsed = read(OWN / "846_unknown_partner.edi", WMS)

    assert parsed.status == "rejected" and parsed.events == []
    assert [(e.code, e.element, e.value) for e in parsed.errors] == [
        (Code.UNKNOWN_SENDER, "ISA06", "STRANGER"),
        (Code.UNKNOWN_SENDER, "GS02", "STRANGER"),
    ]
    assert "not an id of partner 'acme-wms' (expected ACMEWMS)" in parsed.errors[0].reason
    assert segments(acknowledgment(parsed, at=AT))[1] == "TA1*000000105*261127*1020*R*006"


def test_846_bad_values_are_named_by_segment_and_element():
    parsed = read(OWN / "846_bad_values.edi", WMS)

    first, second = parsed.transactions
    assert {(e.code, e.element, e.value, e.line) for e in first.errors} >= {
        (Code.INVALID_DATE, "DTM02", "20261341", 5),
        (Code.INVALID_NUMBER, "QTY02", "12A", 8),
    }
    [location] = second.errors
    assert (location.code, location.segment_id, location.element, location.value, location.line) == (
        Code.CONTRACT_VIOLATION,
        "N1",
        "N104",
        "NOT MAPPED",
        12,
    )
    segs = segments(acknowledgment(parsed, at=AT))
    assert "AK4*2*373*8*20261341" in segs  # DTM02, element 373, 8 = invalid date
    assert "AK4*2*380*6*12A" in segs  # QTY02, element 380, 6 = invalid character
    assert "AK4*4*67*7*NOT MAPPED" in segs


def test_846_truncated_file_reports_every_missing_trailer():
    parsed = read(OWN / "846_truncated.edi", WMS)

    assert {e.code for e in parsed.errors} == {Code.GROUP_TRAILER_MISSING, Code.INTERCHANGE_TRAILER_MISSING}
    assert Code.SET_TRAILER_MISSING in {e.code for e in parsed.transactions[0].errors}
    segs = segments(acknowledgment(parsed, at=AT))
    assert segs[1] == "TA1*000000107*261127*1040*R*023" and "AK5*R*2" in segs


def test_846_with_an_allocation_and_no_receiver_check():
    raw = (OWN / "846_inventory.edi").read_bytes()
    other = PartnerProfile(
        "acme-wms",
        "wms",
        sender_ids=("ACMEWMS",),
        receiver_ids=("SOMEONE-ELSE",),
        default_location_id="DC-EAST",
    )

    parsed = parse_file(raw, other)

    assert [(e.code, e.element) for e in parsed.errors] == [
        (Code.UNKNOWN_RECEIVER, "ISA08"),
        (Code.UNKNOWN_RECEIVER, "GS03"),
    ]


def test_an_erp_partner_gets_erp_balances_and_a_tms_partner_none():
    raw = (OWN / "846_inventory.edi").read_bytes()
    erp = PartnerProfile("acme-erp", "erp", sender_ids=("ACMEWMS",), location_map=WMS.location_map)
    tms = PartnerProfile("acme-tms", "tms", sender_ids=("ACMEWMS",), location_map=WMS.location_map)

    assert {e.data["sourceSystem"] for e in parse_file(raw, erp).events} == {"erp"}
    rejected = parse_file(raw, tms)
    assert rejected.status == "rejected" and {e.code for e in rejected.all_errors()} == {
        Code.SOURCE_NOT_ALLOWED
    }


# --------------------------------------------------------------------------------------------------
# Robustness and packaging
# --------------------------------------------------------------------------------------------------
ALL_X12 = sorted([*THIRD.glob("*.edi"), *OWN.glob("*.edi")])


@pytest.mark.parametrize(
    "path", [p for p in ALL_X12 if p.read_bytes().lstrip().startswith(b"ISA")], ids=lambda p: p.name
)
def test_every_x12_file_is_fully_accounted_for(path):
    for partner in (WMS, BOOK_SUPPLIER, XYZ_3PL, HC_PARTNER):
        parsed = read(path, partner)
        assert_accounted(parsed)
        assert parsed.checksum == read(path, partner).checksum


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"ISA",
        b"ISA*00*",
        b"ISA*00*          *00*",
        (OWN / "846_inventory.edi").read_bytes()[:150],
        b"\x00\xff" * 50,
        b"GS*IB*X~",
    ],
)
def test_garbage_is_rejected_without_an_exception(raw):
    parsed = parse_file(raw, WMS)

    assert parsed.status == "rejected" and parsed.all_errors()
    json.dumps(parsed.error_report())


def test_a_partner_limited_to_csv_may_not_send_x12():
    parsed = parse_file(
        (OWN / "846_inventory.edi").read_bytes(), PartnerProfile("p", "wms", formats=frozenset({"csv"}))
    )

    assert [e.code for e in parsed.errors] == [Code.FORMAT_NOT_ALLOWED]


def test_the_package_imports_nothing_from_aws():
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from pathlib import Path; import distsync_core.files as f;"
        "[f.parse_file(p.read_bytes(), f.PartnerProfile('p', 'wms', sender_ids=('ACMEWMS',))) for p in Path(sys.argv[2]).rglob('*.*')];"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'aws_lambda_powertools', 'aws_xray_sdk')))"
    )
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(root / "layers" / "shared" / "python"), str(DATA)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert out.stdout.strip() == "[]"


def test_two_interchanges_in_one_file_are_refused_by_name():
    raw = (OWN / "846_mixed.edi").read_bytes() + (OWN / "846_inventory.edi").read_bytes()

    parsed = parse_file(raw, WMS)

    assert parsed.status == "rejected"
    assert parsed.errors[0].reason == "a second interchange (one interchange per file) after the IEA trailer"
    assert (parsed.errors[0].segment_id, parsed.errors[0].line) == ("ISA", 31)


def test_an_855_whose_ack_quantity_is_not_a_number_is_rejected_not_a_crash():
    """ACK02 "3x" is no decimal: the transaction goes into the error report with the reason (it used to add
    None to the line's total and raise, which sent the file into retries and the DLQ)."""
    text = (THIRD / "node-x12_855.edi").read_text().replace("ACK*IA*3*UN", "ACK*IA*3x*UN", 1)
    parsed = parse_file(text.encode(), BOOK_SUPPLIER, file_name="bad-ack.edi")
    assert parsed.events == [] and parsed.status == "rejected"
    [tx] = parsed.transactions
    assert [(e.code, e.reason) for e in tx.errors] == [(Code.INVALID_NUMBER, "ACK02 '3x' is not a number (R)")]


# --------------------------------------------------------------------------------------------------
# Units of measure: the partner's unit codes travel with the quantities (the transformers convert them)
# --------------------------------------------------------------------------------------------------
def test_846_carries_the_unit_of_its_quantities_and_refuses_a_line_in_mixed_units():
    text = (OWN / "846_inventory.edi").read_text()
    cases = (text.replace("QTY*17*500*EA", "QTY*17*50*CS", 1).replace("QTY*27*120*EA", "QTY*27*12*CS")
             .replace("QTY*IQ*80*EA", "QTY*IQ*8*CS"))
    parsed = parse_file(cases.encode(), WMS)
    units = {e.data["itemId"]: (e.data["onHand"], e.data.get("unitOfMeasure")) for e in parsed.events}
    assert units == {"SKU-100": (50.0, "CS"), "SKU-200": (500.0, "EA"), "SKU-300": (75.5, "EA")}
    assert through_webhook(parsed.events[0], "wms").data.unit_of_measure == "CS"

    mixed = parse_file(text.replace("QTY*27*120*EA", "QTY*27*10*CS").encode(), WMS)
    assert [e.data["itemId"] for e in mixed.events] == []  # the set is rejected as a whole: one bad line
    [error] = [e for t in mixed.transactions for e in t.errors]
    assert (error.code, error.segment_id) == (Code.INVALID_CODE, "LIN")
    assert error.reason == "the line's quantities are in different units (CS, EA): one unit per line"


def test_855_lines_carry_the_acknowledged_unit():
    parsed = read(THIRD / "node-x12_855.edi", BOOK_SUPPLIER)
    [event] = parsed.events
    assert {line["unitOfMeasure"] for line in event.data["lines"]} == {"UN"}  # ACK03 (PO103 says the same)
