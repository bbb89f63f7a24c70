"""distsync_core.files on EDIFACT: third-party samples (php-edifact DESADV with its parse, StAEDI ORDERS
with a group and a broken INVOIC) and hand-written INVRPT / DESADV files with broken variants."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from distsync_core.files import Code, FileFormat, PartnerProfile, acknowledgment, parse_file
from distsync_core.files.edifact_syntax import tokenize
from tests.unit.files_support import through_webhook

DATA = Path(__file__).resolve().parents[1] / "data" / "files"
THIRD = DATA / "third_party"
OWN = DATA / "edifact"
AT = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)

WMS = PartnerProfile(
    "acme-wms",
    "wms",
    sender_ids=("ACMEWMS",),
    receiver_ids=("DISTSYNC",),
    location_map={"ACME-E1": "DC-EAST", "ACME-W1": "DC-WEST"},
)
BOOK_3PL = PartnerProfile("book-3pl", "wms", sender_ids=("1556150",), default_carrier="UPS")
EANCOM = PartnerProfile("eancom-buyer", "supplier", sender_ids=("5400110000009",))
WIDGETS = PartnerProfile("widgets", "supplier", sender_ids=("005435656",))


def read(path: Path, partner: PartnerProfile):
    return parse_file(path.read_bytes(), partner, file_name=path.name)


def segments(ack: bytes) -> list[str]:
    return [s.strip() for s in ack.decode().split("'") if s.strip()]



def assert_accounted(parsed) -> None:
    acc = parsed.accounting()
    assert acc["unit"] == "message"
    assert acc["total"] == len(parsed.transactions) == acc["inEvents"] + acc["inErrors"]
    reported = {e["transactionIndex"] for e in parsed.error_report()["errors"] if "transactionIndex" in e}
    assert reported == set(acc["rejectedUnits"])
    json.dumps(parsed.error_report())


# --------------------------------------------------------------------------------------------------
# php-edifact DESADV D96A
# --------------------------------------------------------------------------------------------------
def test_php_edifact_desadv_becomes_a_shipped_milestone():
    parsed = read(THIRD / "php-edifact_D96ADESADV.edi", BOOK_3PL)

    assert parsed.format is FileFormat.EDIFACT and parsed.status == "accepted"
    ic = parsed.interchange
    assert (ic.sender_id, ic.sender_qualifier, ic.receiver_id, ic.control_number, ic.version) == (
        "1556150",
        "31B",
        "8888888",
        "1",
        "UNOC:1",
    )
    [tx] = parsed.transactions
    assert (tx.kind, tx.control_number, tx.segment_count) == ("DESADV", "142", 21)
    [event] = parsed.events
    assert event.event_type == "ShipmentMilestone" and event.business_key == "SHIPMENT#Y02197250"
    data = event.data
    assert data["shipmentId"] == "Y02197250"  # BGM 1004
    assert data["orderIds"] == ["6877871", "6905456"]  # RFF+ON, message and line level
    assert data["milestoneAt"] == "2016-07-26T00:00:00Z"  # DTM+11 in format 102
    assert (data["milestone"], data["carrier"], data["trackingNumber"]) == ("shipped", "UPS", None)
    assert tx.details["lines"] == [
        {"lineNumber": "001", "itemId": "9780738507330", "quantity": 1.0, "orderIds": ["6877871"]},
        {"lineNumber": "002", "itemId": "9781568361871", "quantity": 1.0, "orderIds": ["6905456"]},
    ]
    # "DESADV:0:96A:UN" has version 0 where D belongs: reported, not fatal (distsync reads type and release)
    [warning] = tx.warnings
    assert (warning.segment_id, warning.element, warning.value, warning.line) == ("UNH", "UNH02.2", "0", 2)
    assert through_webhook(event, "wms").envelope.metadata.event_type == "ShipmentMilestone"


def test_php_edifact_desadv_reads_like_its_reference_parse():
    """Every segment the php-edifact project's own parse names is at the same place with the same values."""
    reference = json.loads((THIRD / "php-edifact_D96ADESADV.parsed.json").read_text())[0]
    expected: list[tuple[int, str]] = []

    def walk(node):
        if isinstance(node, dict):
            if "segmentIdx" in node:
                expected.append((node["segmentIdx"], node["segmentCode"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(reference)
    _, segs, errors = tokenize((THIRD / "php-edifact_D96ADESADV.edi").read_text(encoding="latin-1"))
    assert errors == []
    message = segs[1:-1]  # UNH ... UNT
    assert sorted(expected) == [(i, s.tag) for i, s in enumerate(message)]
    assert message[1].el(2) == reference["beginningOfMessage"]["documentmessageNumber"]
    assert message[2].composite(1) == ["11", "20160726", "102"]
    assert [s.el(1, 2) for s in message if s.tag == "RFF"] == [
        "6877871",
        "VEE0214439",
        "6877871",
        "6877871",
        "6905456",
        "6905456",
    ]
    lines = reference["SG10"][0]["SG15"]
    assert [s.el(2) for s in message if s.tag == "PIA"] == [
        line["additionalProductId"]["itemNumberIdentification"]["itemNumber"] for line in lines
    ]
    assert [s.el(3, 4) for s in message if s.tag == "IMD"] == [
        line["itemDescription"]["itemDescription"]["itemDescription"] for line in lines
    ]


def test_php_edifact_desadv_without_a_carrier_is_rejected_with_the_reason():
    parsed = read(
        THIRD / "php-edifact_D96ADESADV.edi", PartnerProfile("book-3pl", "wms", sender_ids=("1556150",))
    )

    assert parsed.status == "rejected"
    [error] = parsed.transactions[0].errors
    assert (error.code, error.segment_id, error.line) == (Code.MISSING_DATA, "BGM", 3)
    assert error.reason == "no carrier (TDT C040 or NAD+CA) and no default carrier for the partner"


def test_php_edifact_desadv_contrl():
    parsed = read(THIRD / "php-edifact_D96ADESADV.edi", BOOK_3PL)

    assert segments(acknowledgment(parsed, control_number=9, at=AT)) == [
        "UNB+UNOC:1+8888888:ZZ+1556150:31B+261127:1000+9",
        "UNH+1+CONTRL:D:3:UN",
        "UCI+1+1556150:31B+8888888:ZZ+7",
        "UCM+142+DESADV:0:96A:UN+7",
        "UNT+4+1",
        "UNZ+1+9",
    ]


# --------------------------------------------------------------------------------------------------
# StAEDI ORDERS with a group, broken INVOIC
# --------------------------------------------------------------------------------------------------
def test_staedi_orders_with_group_reads_the_group_and_rejects_the_message():
    parsed = read(THIRD / "staedi_orders-with-group.edi", EANCOM)

    assert parsed.status == "rejected"
    [group] = parsed.groups
    assert (group.functional_id, group.control_number, group.sender_id, group.transaction_indexes) == (
        "ORDERS",
        "1",
        "5400110000009",
        [1],
    )
    assert parsed.interchange.test  # UNB 0035 = 1
    found = {(e.code, e.segment_id, e.element, e.value, e.line) for e in parsed.transactions[0].errors}
    assert found == {
        (Code.SET_COUNT_MISMATCH, "UNT", "UNT01", "21", 20),  # UNH..UNT are 18 segments
        (Code.UNSUPPORTED_TRANSACTION, "UNH", "UNH02.1", "ORDERS", 3),
    }
    assert parsed.errors == []  # UNG/UNE and UNB/UNZ are fine
    segs = segments(acknowledgment(parsed, at=AT))
    assert segs[2:5] == [
        "UCI+2722166169492+5400110000009:14+5013546107732:14+7",
        "UCF+1+5400110000009:14+5013546107732:14+7",
        "UCM+1+ORDERS:D:96B:UN:EAN008B+4+17+UNH",
    ]
    assert_accounted(parsed)


def test_staedi_invoic_d97b_bad_names_every_broken_segment():
    parsed = read(THIRD / "staedi_invoic_d97b_bad.edi", WIDGETS)

    assert parsed.status == "rejected"
    found = [
        (e.code, e.segment_id, e.segment_position, e.transaction_position, e.value)
        for e in parsed.transactions[0].errors
    ]
    assert found == [
        (Code.ELEMENT_TOO_LONG, "NAD", 6, 5, "BYZZ"),  # 3035 is an..3
        (Code.INVALID_NUMBER, "QTY", 11, 10, "1020A"),  # 6060 is n..15
        (Code.INVALID_CHARACTER, "PRI", 14, 13, "$1.179"),  # "$" is not in UNOA
        (Code.SEGMENT_REPEATED, "UNS", 22, 21, "UNS"),  # a second section control
        (Code.UNSUPPORTED_TRANSACTION, "UNH", 2, 1, "INVOIC"),
    ]
    assert "message type INVOIC (Invoice) is not supported" in parsed.transactions[0].errors[-1].reason
    segs = segments(acknowledgment(parsed, at=AT))
    assert segs[3:12] == [
        "UCM+00000000000117+INVOIC:D:97B:UN+4+17+UNH",
        "UCS+5",
        "UCD+39+1:1",
        "UCS+10",
        "UCD+37+1:2",
        "UCS+13",
        "UCD+21+1:2",
        "UCS+21+35",
        "UNT+11+1",
    ]


# --------------------------------------------------------------------------------------------------
# Hand-written INVRPT and DESADV
# --------------------------------------------------------------------------------------------------
def test_invrpt_becomes_one_balance_per_line_with_lots():
    parsed = read(OWN / "invrpt_d96a.edi", WMS)

    assert parsed.status == "accepted" and parsed.interchange.separators["una"]
    by_item = {e.data["itemId"]: e.data for e in parsed.events}
    assert list(by_item) == ["SKU-100", "SKU-200", "SKU-300"]
    first = by_item["SKU-100"]
    assert (first["locationId"], first["onHand"], first["allocated"], first["inTransit"]) == (
        "DC-EAST",
        500.0,
        120.0,
        80.0,
    )
    assert first["inTransitDueAt"] == "2026-12-04T00:00:00Z"  # DTM+17 after QTY+198
    assert first["asOf"] == "2026-11-27T08:00:00Z"  # DTM+366 in format 203
    lots = by_item["SKU-200"]["lots"]
    assert [(x["lotNumber"], x["quantity"], x["expiresOn"]) for x in lots] == [
        ("LOT-A1", 300.0, "2027-01-31"),
        ("LOT-A2", 200.0, "2027-03-31"),
    ]
    assert (by_item["SKU-300"]["locationId"], by_item["SKU-300"]["onHand"]) == ("DC-WEST", 75.5)
    assert all((e.event_type, e.event_version) == ("InventoryBalanceChanged", "2") for e in parsed.events)
    for event in parsed.events:
        assert through_webhook(event, "wms").data.location_id in ("DC-EAST", "DC-WEST")
    assert acknowledgment(parsed, at=AT).startswith(
        b"UNA:+.? '\nUNB+UNOC:3+DISTSYNC:ZZ+ACMEWMS:ZZ+"
    )  # same service characters


def test_invrpt_release_character_and_decimal_comma_from_una():
    raw = (
        b"UNA:+,? '\n"
        b"UNB+UNOC:3+ACMEWMS:ZZ+DISTSYNC:ZZ+261127:0815+INV0009'\n"
        b"UNH+1+INVRPT:D:96A:UN'\n"
        b"BGM+35+IR-9+9'\n"
        b"DTM+366:20261127:102'\n"
        b"LIN+1++SKU-100:SA'\n"
        b"IMD+F++:::5?+1 PACK?: BLUE?'S'\n"
        b"LOC+18+ACME-E1'\n"
        b"QTY+145:12,5'\n"
        b"UNT+8+1'\n"
        b"UNZ+1+INV0009'\n"
    )
    parsed = parse_file(raw, WMS)

    assert parsed.status == "accepted"
    [event] = parsed.events
    assert (event.data["onHand"], event.data["locationId"]) == (12.5, "DC-EAST")
    _, segs, _ = tokenize(raw.decode())
    assert segs[5].el(3, 4) == "5+1 PACK: BLUE'S"


def test_invrpt_mixed_file_keeps_the_good_messages_and_reports_the_bad_ones():
    parsed = read(OWN / "invrpt_mixed.edi", WMS)

    assert parsed.status == "partially_accepted"
    assert [(t.control_number, t.status) for t in parsed.transactions] == [
        ("M1", "accepted"),
        ("M2", "rejected"),
        ("M3", "rejected"),
        ("M4", "rejected"),
        ("M5", "accepted"),
    ]
    assert [(e.data["itemId"], e.data["onHand"]) for e in parsed.events] == [
        ("SKU-100", 480.0),
        ("SKU-400", 25.0),
    ]
    errors = {
        t.control_number: [(e.code, e.segment_id, e.line, e.transaction_position) for e in t.errors]
        for t in parsed.transactions
    }
    assert errors["M2"] == [(Code.UNKNOWN_SEGMENT, "XYZ", 14, 6)]
    assert errors["M3"] == [(Code.SET_COUNT_MISMATCH, "UNT", 23, 7)]
    assert errors["M4"] == [(Code.UNSUPPORTED_TRANSACTION, "UNH", 24, 1)]
    acc = parsed.accounting()
    assert (acc["total"], acc["inEvents"], acc["inErrors"]) == (5, 2, 3)
    assert_accounted(parsed)
    assert segments(acknowledgment(parsed, at=AT))[3:9] == [
        "UCM+M1+INVRPT:D:96A:UN+7",
        "UCM+M2+INVRPT:D:96A:UN+4",
        "UCS+6+15",
        "UCM+M3+INVRPT:D:96A:UN+4+29+UNT",
        "UCM+M4+ORDERS:D:96A:UN+4+17+UNH",
        "UCM+M5+INVRPT:D:96A:UN+7",
    ]


def test_invrpt_interchange_reference_mismatch_rejects_everything():
    parsed = read(OWN / "invrpt_control_mismatch.edi", WMS)

    assert parsed.status == "rejected" and parsed.events == []
    [error] = parsed.errors
    assert (error.code, error.segment_id, error.element, error.value, error.line) == (
        Code.INTERCHANGE_CONTROL_MISMATCH,
        "UNZ",
        "UNZ02",
        "INV9999",
        9,
    )
    assert segments(acknowledgment(parsed, at=AT))[2:4] == [
        "UCI+INV0003+ACMEWMS:ZZ+DISTSYNC:ZZ+4+28+UNZ",
        "UCM+1+INVRPT:D:96A:UN+4",
    ]
    assert_accounted(parsed)


def test_invrpt_from_an_unknown_partner_id_is_rejected():
    parsed = read(OWN / "invrpt_unknown_partner.edi", WMS)

    assert [(e.code, e.element, e.value) for e in parsed.errors] == [
        (Code.UNKNOWN_SENDER, "UNB02", "STRANGER")
    ]
    assert [e.code for e in parsed.transactions[0].errors] == [Code.INTERCHANGE_REJECTED]
    assert segments(acknowledgment(parsed, at=AT))[2] == "UCI+INV0004+STRANGER:ZZ+DISTSYNC:ZZ+4+23+UNB"


def test_invrpt_bad_values_are_named_by_segment_and_element():
    parsed = read(OWN / "invrpt_bad_values.edi", WMS)

    found = {(e.code, e.segment_id, e.element, e.value, e.line) for e in parsed.transactions[0].errors}
    assert {
        (Code.INVALID_CHARACTER, "LIN", "LIN03.1", "sku-100", 6),  # lower case is not UNOA
        (Code.INVALID_NUMBER, "QTY", "QTY01.2", "12A", 7),
        (Code.INVALID_DATE, "DTM", "DTM01.2", "20261341", 4),
    } <= found
    assert parsed.events == []


def test_desadv_with_carrier_tracking_and_despatch_time():
    parsed = read(OWN / "desadv_d96a.edi", WMS)

    assert parsed.status == "accepted"
    [event] = parsed.events
    assert event.data == {
        "shipmentId": "DN-1001",
        "orderIds": ["SO-5001", "SO-5002"],
        "milestone": "shipped",
        "carrier": "DHL EXPRESS",  # TDT C040 3128
        "trackingNumber": "JD0123456789",  # RFF+CN
        "milestoneAt": "2026-11-27T14:30:00Z",  # DTM+11 in format 203, not the document date
        "exception": None,
    }


def test_desadv_times_are_read_in_the_partner_time_zone():
    partner = PartnerProfile("acme-wms", "wms", sender_ids=("ACMEWMS",), timezone="America/New_York")

    [event] = read(OWN / "desadv_d96a.edi", partner).events

    assert event.data["milestoneAt"] == "2026-11-27T14:30:00-05:00"


def test_our_contrl_reads_back_with_consistent_envelopes():
    parsed = read(OWN / "invrpt_mixed.edi", WMS)
    ack = acknowledgment(parsed, control_number=77, at=AT)

    back = parse_file(ack, PartnerProfile("us", "wms", sender_ids=("DISTSYNC",)))
    assert back.errors == []
    [tx] = back.transactions
    assert tx.kind == "CONTRL" and [e.code for e in tx.errors] == [
        Code.UNSUPPORTED_TRANSACTION
    ]  # counts and references hold
    assert acknowledgment(back, at=AT) is None  # a CONTRL is never answered


# --------------------------------------------------------------------------------------------------
# Robustness
# --------------------------------------------------------------------------------------------------
ALL_EDIFACT = [
    p
    for p in sorted([*THIRD.glob("*.edi"), *OWN.glob("*.edi")])
    if p.read_bytes().lstrip()[:3] in (b"UNA", b"UNB")
]


@pytest.mark.parametrize("path", ALL_EDIFACT, ids=lambda p: p.name)
def test_every_edifact_file_is_fully_accounted_for(path):
    for partner in (WMS, BOOK_3PL, EANCOM, WIDGETS):
        assert_accounted(read(path, partner))


@pytest.mark.parametrize(
    "raw",
    [
        b"UNA",
        b"UNA:+.? ",
        b"UNB+UNOC:3",
        b"UNB+UNOC:3+A+B+1+2'UNH+1+INVRPT:D:96A:UN'",
        b"UNB+UNOY:3+A'\xff\xfe'",
        b"UNA:::::'UNB'",
    ],
)
def test_garbage_is_rejected_without_an_exception(raw):
    parsed = parse_file(raw, WMS)

    assert parsed.status == "rejected" and parsed.all_errors()
    json.dumps(parsed.error_report())


def test_two_interchanges_in_one_file_are_refused_by_name():
    raw = (OWN / "invrpt_mixed.edi").read_bytes() + (OWN / "invrpt_control_mismatch.edi").read_bytes()

    parsed = parse_file(raw, WMS)

    assert parsed.status == "rejected"
    assert parsed.errors[0].reason == "a second interchange (one interchange per file) after the UNZ trailer"
    assert (parsed.errors[0].segment_id, parsed.errors[0].line) == ("UNB", 35)


def test_invrpt_carries_the_unit_of_its_quantities():
    text = (OWN / "invrpt_d96a.edi").read_text()
    parsed = parse_file(text.replace("QTY+145:500'\nQTY+66:120'\nQTY+198:80'",
                                     "QTY+145:50:CS'\nQTY+66:12:CS'\nQTY+198:8:CS'", 1).encode(), WMS)
    first = parsed.events[0].data
    assert (first["onHand"], first["allocated"], first["inTransit"], first["unitOfMeasure"]) == (50.0, 12.0, 8.0, "CS")
    assert parsed.events[1].data["unitOfMeasure"] is None  # no unit: the item's base unit is implied
    assert through_webhook(parsed.events[0], "wms").data.unit_of_measure == "CS"
