"""X12 transaction sets read by distsync, each into its canonical events:

* 846 Inventory Inquiry/Advice -> ``InventoryBalanceChanged`` (one per LIN loop; QTY 17 on hand, 33
  available for sale when there is no 17, 27 committed or XU reserved as allocated, IQ in transit with the
  SCH date after it as due date; REF*LT after a QTY names a lot, DTM*036 its expiry; as of DTM*184/007 of
  the item or the header, else BIA04/05; location from the item's or the header's N1 (WH, RL, SN, ST)).
* 855 Purchase Order Acknowledgment -> ``PurchaseOrderConfirmed`` (BAK03 PO number; per PO1 loop the
  confirmed quantity from ACK02 (0 for a rejected item), the date from ACK05, SCH06 or a DTM).
* 856 Ship Notice/Manifest -> ``ShipmentMilestone`` "shipped" (BSN02 shipment id, PRF01 order ids,
  TD5 carrier, REF*CN/BM tracking number, DTM*011 or BSN03/04 shipped at; the LIN/SN1 lines in details).
* 997 Functional Acknowledgment: recognised and validated, summarised in details, no event.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from .events import Quantity, Ref, as_float, emit, line_unit, pick_item, resolve_location, sum_quantities
from .model import Code
from .values import combine, is_digits, parse_date, parse_decimal, parse_time, x12_zone
from .x12_syntax import Segment, SetContext

_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")
_REJECTED_ACKS = frozenset({"IR", "ID", "R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8"})
_TRAILERS = frozenset({"CTT", "SE", "AMT"})


def _body(ctx: SetContext) -> list[Segment]:
    end = -1 if ctx.segments[-1].tag == "SE" else len(ctx.segments)
    return ctx.segments[1:end]


def _loops(segments: list[Segment], start: str) -> tuple[list[Segment], list[list[Segment]]]:
    """Header segments, then one list per loop beginning with ``start`` (trailers end the last loop)."""
    header: list[Segment] = []
    loops: list[list[Segment]] = []
    for seg in segments:
        if seg.tag == start:
            loops.append([seg])
        elif seg.tag in _TRAILERS and loops:
            break
        elif loops:
            loops[-1].append(seg)
        else:
            header.append(seg)
    return header, loops


def _first(segments: Iterable[Segment], tag: str, qualifiers: Iterable[str] | None = None) -> Segment | None:
    wanted = tuple(qualifiers) if qualifiers is not None else None
    for seg in segments:
        if seg.tag == tag and (wanted is None or seg.el(1) in wanted):
            return seg
    return None


def _location_n1(segments: list[Segment], qualifiers: tuple[str, ...]) -> Segment | None:
    for qualifier in qualifiers:
        seg = _first(segments, "N1", (qualifier,))
        if seg is not None and seg.el(4):
            return seg
    return None


def _dtm(ctx: SetContext, seg: Segment) -> datetime | None:
    """DTM02 date + DTM03 time in the DTM04 zone (else the partner's); errors reported by the checks."""
    day, zone = parse_date(seg.el(2)), x12_zone(seg.el(4), ctx.partner.tz())
    if zone is None:
        ctx.error(seg, 4, Code.INVALID_CODE, f"DTM04 time code {seg.el(4)!r} is not read", seg.el(4))
        return None
    return combine(day, parse_time(seg.el(3)) if seg.el(3) else None, zone) if day else None


def _decimal(seg: Segment, n: int) -> Decimal | None:
    return parse_decimal(seg.el(n)) if seg.el(n) else None


def _item(ctx: SetContext, seg: Segment, first: int) -> tuple[str | None, Ref]:
    pairs = seg.pairs(first)
    found = pick_item(pairs, ctx.partner)
    if found is None:
        ctx.error(seg, first + 1, Code.MISSING_DATA, f"{seg.tag} names no item id")
        return None, ctx.ref(seg)
    qualifier, _ = found
    n = first + 1 + 2 * next(i for i, (q, v) in enumerate(pairs) if q.strip() == qualifier and v.strip())
    return found[1], ctx.ref(seg, n)


def _location(ctx: SetContext, n1: Segment | None, anchor: Segment) -> tuple[str | None, Ref]:
    location, note = resolve_location(n1.el(4) if n1 else None, ctx.partner)
    if note and n1 is not None:
        ctx.warn(n1, 4, Code.UNKNOWN_LOCATION, note, n1.el(4))
    if location is None:
        ctx.error(
            anchor,
            None,
            Code.UNKNOWN_LOCATION,
            "no location: no N1 with a code and no default location for the partner",
        )
    return location, ctx.ref(n1, 4) if n1 else ctx.ref(anchor)


# ---------------------------------------------------------------------------------------------------
# 846 Inventory Inquiry/Advice
# ---------------------------------------------------------------------------------------------------
_ON_HAND, _AVAILABLE, _ALLOCATED, _IN_TRANSIT = ("17",), ("33",), ("27", "XU"), ("IQ",)
_STOCK_LOCATIONS = ("WH", "RL", "SN", "ST")


def map_846(ctx: SetContext) -> None:
    header, items = _loops(_body(ctx), "LIN")
    bia = _first(header, "BIA")
    if bia is None:
        return
    day = parse_date(bia.el(4))
    reported = combine(day, parse_time(bia.el(5)) if bia.el(5) else None, ctx.partner.tz()) if day else None
    as_of_dtm = _first(header, "DTM", ("184", "007"))
    header_as_of = (_dtm(ctx, as_of_dtm), ctx.ref(as_of_dtm, 2)) if as_of_dtm else (reported, ctx.ref(bia, 4))
    header_n1 = _location_n1(header, _STOCK_LOCATIONS)
    for loop in items:
        _inventory_item(ctx, loop, header_as_of, header_n1)


def _inventory_item(ctx: SetContext, loop: list[Segment], header_as_of, header_n1: Segment | None) -> None:
    lin = loop[0]
    item_id, item_ref = _item(ctx, lin, 2)
    quantities, as_of_dtm = _read_quantities(ctx, loop)
    n1 = _location_n1(loop, _STOCK_LOCATIONS) or header_n1
    location_id, location_ref = _location(ctx, n1, lin)
    as_of, as_of_ref = (_dtm(ctx, as_of_dtm), ctx.ref(as_of_dtm, 2)) if as_of_dtm else header_as_of
    totals = [q for q in quantities if q.lot is None]
    lots = [q for q in quantities if q.lot is not None and q.qualifier in _ON_HAND + _AVAILABLE]
    on_hand = (sum_quantities(totals, _ON_HAND) or sum_quantities(totals, _AVAILABLE)
               or sum_quantities(lots, _ON_HAND + _AVAILABLE))
    if on_hand is None:
        ctx.error(lin, None, Code.MISSING_DATA, "the item has no on-hand quantity (QTY*17, or QTY*33)")
        return
    unit, usable = line_unit(ctx, [*totals, *lots], lin)
    if not usable:
        return
    in_transit = [q for q in totals if q.qualifier in _IN_TRANSIT]
    data = {
        "itemId": item_id,
        "locationId": location_id,
        "onHand": as_float(on_hand[0]),
        "allocated": as_float(
            (sum_quantities(totals, _ALLOCATED[:1]) or sum_quantities(totals, _ALLOCATED[1:]) or (Decimal(0), None))[0]
        ),
        "inTransit": as_float(sum((q.value for q in in_transit), Decimal(0))),
        "inTransitDueAt": next((q.due for q in in_transit if q.due), None),
        "asOf": as_of,
        "sourceSystem": ctx.partner.source,
        "lots": [q.as_lot() for q in lots],
    }
    refs = {
        "itemId": item_ref,
        "locationId": location_ref,
        "onHand": ctx.ref(on_hand[1], 2),
        "asOf": as_of_ref,
    }
    if unit:
        data["unitOfMeasure"] = unit
        refs["unitOfMeasure"] = ctx.ref(on_hand[1], 3)
    refs.update({f"lots.{i}": ctx.ref(q.lot_seg or q.seg, 2) for i, q in enumerate(lots)})
    refs.update({f"lots.{i}.quantity": ctx.ref(q.seg, 2) for i, q in enumerate(lots)})
    emit(ctx, "InventoryBalanceChanged", data, refs, ctx.ref(lin), as_of)


def _read_quantities(ctx: SetContext, loop: list[Segment]) -> tuple[list[Quantity], Segment | None]:
    quantities: list[Quantity] = []
    as_of: Segment | None = None
    for seg in loop[1:]:
        current = quantities[-1] if quantities else None
        if seg.tag == "QTY":
            value = _decimal(seg, 2)
            if value is None and not seg.el(2):  # a malformed QTY02 is already reported by the checks
                ctx.error(seg, 2, Code.MISSING_DATA, "QTY02 carries no quantity")
            elif value is not None:
                quantities.append(Quantity(seg.el(1), value, seg, unit=ctx.components(seg.el(3))[0] or None))
        elif seg.tag == "SCH" and current is not None and current.qualifier in _IN_TRANSIT:
            day = parse_date(seg.el(6))
            current.due = (
                combine(day, parse_time(seg.el(7)) if seg.el(7) else None, ctx.partner.tz()) if day else None
            )
        elif seg.tag == "REF" and seg.el(1) == "LT" and current is not None:
            current.lot, current.lot_seg = seg.el(2), seg
        elif seg.tag == "DTM" and seg.el(1) == "036" and current is not None and current.lot:
            current.expires = parse_date(seg.el(2))
        elif seg.tag == "DTM" and seg.el(1) in ("184", "007"):
            as_of = seg
    return quantities, as_of


# ---------------------------------------------------------------------------------------------------
# 855 Purchase Order Acknowledgment
# ---------------------------------------------------------------------------------------------------
_DELIVERY_DTM = ("067", "017", "002", "010", "069", "068")


def map_855(ctx: SetContext) -> None:
    header, loops = _loops(_body(ctx), "PO1")
    bak = _first(header, "BAK")
    if bak is None:
        return
    header_n1 = _location_n1(header, ("ST", "WH", "SN"))
    header_dtm = next((s for q in _DELIVERY_DTM for s in header if s.tag == "DTM" and s.el(1) == q), None)
    lines: list[dict] = []
    refs: dict[str, Ref] = {"purchaseOrderId": ctx.ref(bak, 3)}
    for i, loop in enumerate(loops):
        line, line_refs = _confirmed_line(ctx, loop, i + 1, header_n1, header_dtm)
        lines.append(line)
        refs.update({f"lines.{i}.{k}" if k else f"lines.{i}": v for k, v in line_refs.items()})
    ack_day = parse_date(bak.el(9)) or parse_date(bak.el(4))
    data = {"purchaseOrderId": bak.el(3), "supplierId": ctx.partner.effective_supplier_id, "lines": lines}
    occurred = combine(ack_day, None, ctx.partner.tz()) if ack_day else None
    emit(ctx, "PurchaseOrderConfirmed", data, refs, ctx.ref(bak), occurred)


def _confirmed_line(
    ctx: SetContext, loop: list[Segment], seq: int, header_n1, header_dtm
) -> tuple[dict, dict]:
    po1 = loop[0]
    item_id, item_ref = _item(ctx, po1, 6)
    location_id, location_ref = _location(ctx, _location_n1(loop, ("ST", "WH", "SN")) or header_n1, po1)
    acks = [s for s in loop if s.tag == "ACK"]
    quantity, quantity_ref = _confirmed_quantity(ctx, po1, acks)
    delivery, delivery_ref = _delivery_date(ctx, loop, acks, header_dtm)
    # ACK03 (the acknowledged quantity's unit), else PO103 (the ordered one's)
    unit_seg, unit_el = next(((a, 3) for a in acks if a.el(3)), (po1, 3))
    number = po1.el(1)
    data = {
        "lineNumber": int(number) if is_digits(number) else seq,
        "itemId": item_id,
        "locationId": location_id,
        "confirmedQuantity": as_float(quantity),
        "confirmedDeliveryDate": delivery,
    }
    if unit_seg.el(unit_el):
        data["unitOfMeasure"] = unit_seg.el(unit_el)
    if len(acks) > 1:
        ctx.warn(
            po1,
            None,
            Code.MISSING_DATA,
            f"PO1 line {number or seq} has {len(acks)} ACK schedules: quantities summed, the first date used",
        )
    refs = {
        "": ctx.ref(po1),
        "lineNumber": ctx.ref(po1, 1),
        "itemId": item_ref,
        "locationId": location_ref,
        "confirmedQuantity": quantity_ref,
        "confirmedDeliveryDate": delivery_ref,
        "unitOfMeasure": ctx.ref(unit_seg, unit_el),
    }
    return data, refs


def _confirmed_quantity(ctx: SetContext, po1: Segment, acks: list[Segment]) -> tuple[Decimal | None, Ref]:
    if not acks:
        return _decimal(po1, 2), ctx.ref(po1, 2)
    total = Decimal(0)
    for ack in acks:
        if ack.el(1) in _REJECTED_ACKS:
            continue
        quantity = _decimal(ack, 2) if ack.el(2) else (_decimal(po1, 2) or Decimal(0))
        if quantity is None:  # not a number: no confirmed quantity (the contract check rejects the line)
            return None, ctx.ref(ack, 2)
        total += quantity
    return total, ctx.ref(acks[0], 2)


def _delivery_date(ctx: SetContext, loop, acks, header_dtm) -> tuple[date | None, Ref]:
    for ack in acks:
        if ack.el(5) and parse_date(ack.el(5)):
            return parse_date(ack.el(5)), ctx.ref(ack, 5)
    sch = _first(loop, "SCH")
    if sch is not None and parse_date(sch.el(6)):
        return parse_date(sch.el(6)), ctx.ref(sch, 6)
    dtm = (
        next((s for q in _DELIVERY_DTM for s in loop if s.tag == "DTM" and s.el(1) == q), None) or header_dtm
    )
    if dtm is not None and parse_date(dtm.el(2)):
        return parse_date(dtm.el(2)), ctx.ref(dtm, 2)
    ctx.error(loop[0], None, Code.MISSING_DATA, "no confirmed delivery date (ACK05, SCH06 or DTM)")
    return None, ctx.ref(loop[0])


# ---------------------------------------------------------------------------------------------------
# 856 Ship Notice/Manifest
# ---------------------------------------------------------------------------------------------------
def map_856(ctx: SetContext) -> None:
    body = _body(ctx)
    bsn = _first(body, "BSN")
    if bsn is None:
        return
    _check_hierarchy(ctx, body)
    order_refs = [(s.el(1), ctx.ref(s, 1)) for s in body if s.tag == "PRF" and s.el(1)]
    order_ids = list(dict.fromkeys(o for o, _ in order_refs))
    if not order_ids:
        ctx.error(bsn, None, Code.MISSING_DATA, "the ship notice names no order (PRF01)")
    carrier, carrier_ref = _carrier(ctx, body, bsn)
    shipped_at, shipped_ref = _shipped_at(ctx, body, bsn)
    data = {
        "shipmentId": bsn.el(2),
        "orderIds": order_ids,
        "milestone": "shipped",
        "carrier": carrier,
        "milestoneAt": shipped_at,
    }
    tracking = _tracking(ctx, body)
    if tracking:
        data["trackingNumber"] = tracking
    refs = {"shipmentId": ctx.ref(bsn, 2), "carrier": carrier_ref, "milestoneAt": shipped_ref}
    refs.update({f"orderIds.{i}": ref for i, (_, ref) in enumerate(order_refs)})
    ctx.transaction.details["lines"] = _shipped_lines(ctx, body)
    emit(ctx, "ShipmentMilestone", data, refs, ctx.ref(bsn), shipped_at)


def _check_hierarchy(ctx: SetContext, body: list[Segment]) -> None:
    seen: set[str] = set()
    for seg in body:
        if seg.tag != "HL":
            continue
        if seg.el(1) in seen:
            ctx.error(seg, 1, Code.INVALID_CODE, f"HL01 {seg.el(1)!r} is used twice", seg.el(1))
        if seg.el(2) and seg.el(2) not in seen:
            ctx.error(
                seg, 2, Code.INVALID_CODE, f"HL02 parent {seg.el(2)!r} is not an earlier HL01", seg.el(2)
            )
        seen.add(seg.el(1))


def _carrier(ctx: SetContext, body: list[Segment], bsn: Segment) -> tuple[str | None, Ref]:
    for td5 in (s for s in body if s.tag == "TD5"):
        if td5.el(3):
            return td5.el(3), ctx.ref(td5, 3)
        if td5.el(5):
            return td5.el(5), ctx.ref(td5, 5)
    if ctx.partner.default_carrier:
        return ctx.partner.default_carrier, ctx.ref(bsn)
    ctx.error(
        bsn, None, Code.MISSING_DATA, "no carrier (TD503 or TD505) and no default carrier for the partner"
    )
    return None, ctx.ref(bsn)


def _tracking(ctx: SetContext, body: list[Segment]) -> str | None:
    for qualifier in ("CN", "BM"):
        ref = _first(body, "REF", (qualifier,))
        if ref is None or not ref.el(2):
            continue
        if _IDENTIFIER.match(ref.el(2)):
            return ref.el(2)
        ctx.warn(
            ref,
            2,
            Code.CONTRACT_VIOLATION,
            f"REF*{qualifier} {ref.el(2)!r} is not a usable tracking number: left out",
            ref.el(2),
        )
    return None


def _shipped_at(ctx: SetContext, body: list[Segment], bsn: Segment) -> tuple[datetime | None, Ref]:
    """DTM*011 (shipped) with its time; without a time, BSN04 when BSN03 is the same day."""
    bsn_day, bsn_time = parse_date(bsn.el(3)), parse_time(bsn.el(4)) if bsn.el(4) else None
    dtm = _first(body, "DTM", ("011",))
    if dtm is not None and dtm.el(3):
        return _dtm(ctx, dtm), ctx.ref(dtm, 2)
    if dtm is not None and parse_date(dtm.el(2)) != bsn_day:
        return _dtm(ctx, dtm), ctx.ref(dtm, 2)
    return (combine(bsn_day, bsn_time, ctx.partner.tz()) if bsn_day else None), ctx.ref(bsn, 3)


def _shipped_lines(ctx: SetContext, body: list[Segment]) -> list[dict]:
    lines: list[dict] = []
    for seg in body:
        if seg.tag == "LIN":
            found = pick_item(seg.pairs(2), ctx.partner)
            lines.append({"itemId": found[1] if found else None, "quantity": None, "unit": None})
        elif seg.tag == "SN1" and lines:
            quantity = _decimal(seg, 2)
            lines[-1].update(
                quantity=float(quantity) if quantity is not None else None, unit=seg.el(3) or None
            )
    return lines


# ---------------------------------------------------------------------------------------------------
# 997 Functional Acknowledgment (received): recognised, not turned into events
# ---------------------------------------------------------------------------------------------------
def map_997(ctx: SetContext) -> None:
    body = _body(ctx)
    ak1, ak9 = _first(body, "AK1"), _first(body, "AK9")
    sets: list[dict] = []
    for seg in body:
        if seg.tag == "AK2":
            sets.append({"transactionSetId": seg.el(1), "controlNumber": seg.el(2), "status": None})
        elif seg.tag == "AK5" and sets:
            sets[-1]["status"] = seg.el(1)
    ctx.transaction.details.update(
        acknowledgedGroup={"functionalId": ak1.el(1), "controlNumber": ak1.el(2)} if ak1 else None,
        groupStatus=ak9.el(1) if ak9 else None,
        transactionSets=sets,
    )


@dataclass(frozen=True)
class SetSpec:
    code: str
    name: str
    functional_id: str
    segments: frozenset[str]
    mandatory: tuple[str, ...]
    mapper: Callable[[SetContext], None]


def _tags(text: str) -> frozenset[str]:
    return frozenset(text.split())


SETS: dict[str, SetSpec] = {
    "846": SetSpec(
        "846",
        "Inventory Inquiry/Advice",
        "IB",
        _tags(
            "ST BIA CUR DTM REF PER MEA N1 N2 N3 N4 LM LQ LIN SLN PID PO3 PO4 PKG CTP LDT SAC FOB SDQ QTY SCH LS LE G39 TD5 CTT SE"
        ),
        ("BIA", "LIN"),
        map_846,
    ),
    "855": SetSpec(
        "855",
        "Purchase Order Acknowledgment",
        "PR",
        _tags(
            "ST BAK CUR REF PER TAX FOB CTP PAM CSH SAC ITD DIS INC DTM LDT LIN SI PID MEA PWK PKG TD1 TD5 TD3 TD4 "
            "MAN PCT CTB TXI N9 MSG N1 N2 N3 N4 NX2 PO1 PO3 PO4 IT8 QTY SCH ACK SLN SDQ CN1 SPI CB1 TC2 IT3 CTT AMT SE"
        ),
        ("BAK",),
        map_855,
    ),
    "856": SetSpec(
        "856",
        "Ship Notice/Manifest",
        "SH",
        _tags(
            "ST BSN DTM HL LIN SN1 SLN PRF PO4 PID MEA PWK PKG TD1 TD5 TD3 TD4 TSD REF PER MAN FOB PAL N1 N2 N3 N4 "
            "SDQ ETD CUR SAC GF YNQ LM LQ V1 V9 CLD LH1 LH2 LH3 LFH LEP LH4 LHT LHR INC TXI USD CSH CTT SE"
        ),
        ("BSN", "HL"),
        map_856,
    ),
    "997": SetSpec(
        "997",
        "Functional Acknowledgment",
        "FA",
        _tags("ST AK1 AK2 AK3 AK4 AK5 AK9 CTX SE"),
        ("AK1", "AK9"),
        map_997,
    ),
}

# Sets distsync does not read, named in the rejection so the partner knows what was refused.
OTHER_SETS = {
    "810": "Invoice",
    "812": "Credit/Debit Adjustment",
    "820": "Payment Order/Remittance Advice",
    "824": "Application Advice",
    "830": "Planning Schedule with Release Capability",
    "850": "Purchase Order",
    "852": "Product Activity Data",
    "860": "Purchase Order Change Request - Buyer Initiated",
    "862": "Shipping Schedule",
    "864": "Text Message",
    "865": "Purchase Order Change Acknowledgment/Request - Seller Initiated",
    "940": "Warehouse Shipping Order",
    "943": "Warehouse Stock Transfer Shipment Advice",
    "944": "Warehouse Stock Transfer Receipt Advice",
    "945": "Warehouse Shipping Advice",
    "947": "Warehouse Inventory Adjustment Advice",
    "204": "Motor Carrier Load Tender",
    "210": "Motor Carrier Freight Details and Invoice",
    "214": "Transportation Carrier Shipment Status Message",
    "990": "Response to a Load Tender",
}

KNOWN_SEGMENTS = frozenset().union(*(s.segments for s in SETS.values())) | _tags(
    "ISA IEA GS GE TA1 BEG BIG IT1 TDS ISS CAD BPR TRN RMR ENT ADX NTE ITA W05 W06 W12 W27 W76 LX B2 B2A L11 AT7 MS1 "
    "MS2 AT8 L3 ZA XQ SII BCH"
)
