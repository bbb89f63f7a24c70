"""EDIFACT messages read by distsync, each into its canonical events:

* DESADV (despatch advice) -> ``ShipmentMilestone`` "shipped": BGM document number as shipment id,
  DTM+11 (despatch date/time; else DTM+137 with a warning) as shipped at, every RFF+ON (message and line
  level) as order ids, the carrier from TDT (C040), else NAD+CA, else the partner's default carrier, the
  tracking number from RFF+CN or RFF+BM; LIN/PIA/QTY+12 lines in details.
* INVRPT (inventory report, D96A) -> ``InventoryBalanceChanged`` v2, one per LIN group: QTY+145 (actual
  stock) or QTY+17 on hand, QTY+66 committed as allocated, QTY+198 in transit (a DTM+17/2/69 after it as
  due date); a QTY followed by GIN+BX (batch number) is a lot, DTM+36/361 after it its expiry; as of
  DTM+366 of the line, else the message's DTM+366, else DTM+137; location from the line's LOC, else the
  LOC or NAD (WH, ST, DP, GY) of the header, else the partner's default.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .edifact_syntax import MessageContext, Segment
from .events import Quantity, Ref, as_float, emit, line_unit, pick_item, resolve_location, sum_quantities
from .model import Code
from .values import edifact_datetime, parse_decimal, unsupported_format_reason

_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")


def _first(segments, tag: str, qualifiers: tuple[str, ...] | None = None) -> Segment | None:
    for seg in segments:
        if seg.tag == tag and (qualifiers is None or seg.el(1) in qualifiers):
            return seg
    return None


def _groups(segments: list[Segment], start: str) -> tuple[list[Segment], list[list[Segment]]]:
    header: list[Segment] = []
    groups: list[list[Segment]] = []
    for seg in segments:
        if seg.tag == start:
            groups.append([seg])
        elif seg.tag in ("UNS", "CNT") and groups:
            break
        elif groups:
            groups[-1].append(seg)
        else:
            header.append(seg)
    return header, groups


def _dtm(ctx: MessageContext, seg: Segment) -> datetime | None:
    value, fmt = seg.el(1, 2), seg.el(1, 3) or "102"
    at = edifact_datetime(value, fmt, ctx.partner.tz())
    if at is None:
        reason = (
            f"DTM {seg.el(1)} {value!r} is not a date in format {fmt}"
            if fmt in ("101", "102", "201", "203", "204", "205")
            else unsupported_format_reason(fmt)
        )
        ctx.error(seg, 1, Code.INVALID_DATE, reason, value, 2)
    return at


def _quantity(ctx: MessageContext, seg: Segment) -> Decimal | None:
    value = seg.el(1, 2)
    return parse_decimal(value, ctx.chars.decimal) or parse_decimal(value, ",") if value else None


def _item(ctx: MessageContext, group: list[Segment]) -> tuple[str | None, Ref]:
    """Item id from LIN C212 or the PIA after it, by the partner's preferred qualifiers."""
    lin = group[0]
    candidates: list[tuple[str, str, Ref]] = []
    if lin.el(3):
        candidates.append((lin.el(3, 2), lin.el(3), ctx.ref(lin, 3, 1)))
    for pia in (s for s in group if s.tag == "PIA"):
        for n in range(2, len(pia.elements) + 1):
            if pia.el(n):
                candidates.append((pia.el(n, 2), pia.el(n), ctx.ref(pia, n, 1)))
    found = pick_item([(q, v) for q, v, _ in candidates], ctx.partner)
    if found is None:
        ctx.error(lin, None, Code.MISSING_DATA, "the line names no item (LIN C212 or PIA)")
        return None, ctx.ref(lin)
    ref = next(r for q, v, r in candidates if (q.strip(), v.strip()) == found)
    return found[1], ref


# ---------------------------------------------------------------------------------------------------
# DESADV
# ---------------------------------------------------------------------------------------------------
def map_desadv(ctx: MessageContext) -> None:
    body = ctx.body()
    bgm = _first(body, "BGM")
    if bgm is None:
        return
    shipped_at, shipped_ref = _despatched_at(ctx, body, bgm)
    orders = [
        (s.el(1, 2), ctx.ref(s, 1, 2)) for s in body if s.tag == "RFF" and s.el(1) == "ON" and s.el(1, 2)
    ]
    order_ids = list(dict.fromkeys(o for o, _ in orders))
    if not order_ids:
        ctx.error(bgm, None, Code.MISSING_DATA, "the despatch advice names no order (RFF+ON)")
    carrier, carrier_ref = _carrier(ctx, body, bgm)
    data = {
        "shipmentId": bgm.el(2),
        "orderIds": order_ids,
        "milestone": "shipped",
        "carrier": carrier,
        "milestoneAt": shipped_at,
    }
    tracking = _tracking(ctx, body)
    if tracking:
        data["trackingNumber"] = tracking
    refs = {"shipmentId": ctx.ref(bgm, 2, 1), "carrier": carrier_ref, "milestoneAt": shipped_ref}
    refs.update({f"orderIds.{i}": ref for i, (_, ref) in enumerate(orders)})
    ctx.transaction.details["lines"] = _despatched_lines(ctx, body)
    emit(ctx, "ShipmentMilestone", data, refs, ctx.ref(bgm), shipped_at)


def _despatched_at(ctx: MessageContext, body: list[Segment], bgm: Segment) -> tuple[datetime | None, Ref]:
    dtm = _first(body, "DTM", ("11",))
    if dtm is None:
        dtm = _first(body, "DTM", ("137",))
        if dtm is None:
            ctx.error(
                bgm, None, Code.MISSING_DATA, "no despatch date (DTM+11) and no document date (DTM+137)"
            )
            return None, ctx.ref(bgm)
        ctx.warn(dtm, 1, Code.MISSING_DATA, "no despatch date (DTM+11): the document date (DTM+137) is used")
    return _dtm(ctx, dtm), ctx.ref(dtm, 1, 2)


def _carrier(ctx: MessageContext, body: list[Segment], bgm: Segment) -> tuple[str | None, Ref]:
    for tdt in (s for s in body if s.tag == "TDT"):
        for component in (4, 1):
            if tdt.el(5, component):
                return tdt.el(5, component), ctx.ref(tdt, 5, component)
    nad = _first(body, "NAD", ("CA",))
    if nad is not None and (nad.el(2) or nad.el(4)):
        n = 2 if nad.el(2) else 4
        return nad.el(n), ctx.ref(nad, n, 1)
    if ctx.partner.default_carrier:
        return ctx.partner.default_carrier, ctx.ref(bgm)
    ctx.error(
        bgm, None, Code.MISSING_DATA, "no carrier (TDT C040 or NAD+CA) and no default carrier for the partner"
    )
    return None, ctx.ref(bgm)


def _tracking(ctx: MessageContext, body: list[Segment]) -> str | None:
    for qualifier in ("CN", "BM"):
        rff = _first(body, "RFF", (qualifier,))
        if rff is None or not rff.el(1, 2):
            continue
        if _IDENTIFIER.match(rff.el(1, 2)):
            return rff.el(1, 2)
        ctx.warn(
            rff,
            1,
            Code.CONTRACT_VIOLATION,
            f"RFF+{qualifier} {rff.el(1, 2)!r} is not a usable tracking number: left out",
            rff.el(1, 2),
            2,
        )
    return None


def _despatched_lines(ctx: MessageContext, body: list[Segment]) -> list[dict]:
    _, groups = _groups(body, "LIN")
    lines = []
    for group in groups:
        found = pick_item(_item_pairs(group), ctx.partner)
        qty = _first(group, "QTY", ("12",))
        quantity = _quantity(ctx, qty) if qty else None
        lines.append(
            {
                "lineNumber": group[0].el(1) or None,
                "itemId": found[1] if found else None,
                "quantity": float(quantity) if quantity is not None else None,
                "orderIds": [s.el(1, 2) for s in group if s.tag == "RFF" and s.el(1) == "ON"],
            }
        )
    return lines


def _item_pairs(group: list[Segment]) -> list[tuple[str, str]]:
    pairs = [(group[0].el(3, 2), group[0].el(3))]
    for pia in (s for s in group if s.tag == "PIA"):
        pairs.extend((pia.el(n, 2), pia.el(n)) for n in range(2, len(pia.elements) + 1))
    return pairs


# ---------------------------------------------------------------------------------------------------
# INVRPT
# ---------------------------------------------------------------------------------------------------
_ON_HAND, _ALLOCATED, _IN_TRANSIT = ("145", "17"), ("66",), ("198",)
_DUE_DTM, _EXPIRY_DTM = ("17", "2", "69"), ("36", "361")


def map_invrpt(ctx: MessageContext) -> None:
    header, groups = _groups(ctx.body(), "LIN")
    if _first(header, "BGM") is None:
        return
    report_dtm = _first(header, "DTM", ("366",)) or _first(header, "DTM", ("137",))
    header_as_of = (
        (_dtm(ctx, report_dtm), ctx.ref(report_dtm, 1, 2)) if report_dtm else (None, ctx.ref(ctx.unh))
    )
    header_location = _header_location(ctx, header)
    for group in groups:
        _inventory_line(ctx, group, header_as_of, header_location)


def _header_location(ctx: MessageContext, header: list[Segment]) -> tuple[str | None, Ref | None]:
    loc = _first(header, "LOC")
    if loc is not None and loc.el(2):
        return loc.el(2), ctx.ref(loc, 2, 1)
    for qualifier in ("WH", "ST", "DP", "GY"):
        nad = _first(header, "NAD", (qualifier,))
        if nad is not None and nad.el(2):
            return nad.el(2), ctx.ref(nad, 2, 1)
    return None, None


def _inventory_line(ctx: MessageContext, group: list[Segment], header_as_of, header_location) -> None:
    lin = group[0]
    item_id, item_ref = _item(ctx, group)
    quantities, as_of_dtm = _read_quantities(ctx, group)
    loc = _first(group, "LOC")
    code, location_ref = (loc.el(2), ctx.ref(loc, 2, 1)) if loc is not None and loc.el(2) else header_location
    location_id, note = resolve_location(code, ctx.partner)
    if note:
        ctx.transaction.add(location_ref.error(Code.UNKNOWN_LOCATION, note, value=code, warning=True))
    if location_id is None:
        ctx.error(
            lin,
            None,
            Code.UNKNOWN_LOCATION,
            "no location: no LOC or NAD with an id and no default location for the partner",
        )
    as_of, as_of_ref = (_dtm(ctx, as_of_dtm), ctx.ref(as_of_dtm, 1, 2)) if as_of_dtm else header_as_of
    totals = [q for q in quantities if q.lot is None]
    lots = [q for q in quantities if q.lot is not None and q.qualifier in _ON_HAND]
    on_hand = sum_quantities(totals, _ON_HAND) or sum_quantities(lots, _ON_HAND)
    if on_hand is None:
        ctx.error(lin, None, Code.MISSING_DATA, "the line has no stock quantity (QTY+145 or QTY+17)")
        return
    unit, usable = line_unit(ctx, [*totals, *lots], lin)
    if not usable:
        return
    in_transit = [q for q in totals if q.qualifier in _IN_TRANSIT]
    data = {
        "itemId": item_id,
        "locationId": location_id,
        "onHand": as_float(on_hand[0]),
        "allocated": as_float((sum_quantities(totals, _ALLOCATED) or (Decimal(0), None))[0]),
        "inTransit": as_float(sum((q.value for q in in_transit), Decimal(0))),
        "inTransitDueAt": next((q.due for q in in_transit if q.due), None),
        "asOf": as_of,
        "sourceSystem": ctx.partner.source,
        "lots": [q.as_lot() for q in lots],
    }
    refs = {
        "itemId": item_ref,
        "locationId": location_ref or ctx.ref(lin),
        "onHand": ctx.ref(on_hand[1], 1, 2),
        "asOf": as_of_ref,
    }
    if unit:
        data["unitOfMeasure"] = unit
        refs["unitOfMeasure"] = ctx.ref(on_hand[1], 1, 3)
    refs.update({f"lots.{i}": ctx.ref(q.lot_seg or q.seg, 2, 1) for i, q in enumerate(lots)})
    refs.update({f"lots.{i}.quantity": ctx.ref(q.seg, 1, 2) for i, q in enumerate(lots)})
    emit(ctx, "InventoryBalanceChanged", data, refs, ctx.ref(lin), as_of)


def _read_quantities(ctx: MessageContext, group: list[Segment]) -> tuple[list[Quantity], Segment | None]:
    quantities: list[Quantity] = []
    as_of: Segment | None = None
    for seg in group[1:]:
        current = quantities[-1] if quantities else None
        if seg.tag == "QTY":
            value = _quantity(ctx, seg)
            if value is not None:
                quantities.append(Quantity(seg.el(1), value, seg, unit=seg.el(1, 3) or None))
        elif seg.tag == "GIN" and seg.el(1) == "BX" and current is not None:
            current.lot, current.lot_seg = seg.el(2), seg
        elif seg.tag == "DTM":
            as_of = _line_date(ctx, seg, current) or as_of
    return quantities, as_of


def _line_date(ctx: MessageContext, seg: Segment, current: Quantity | None) -> Segment | None:
    """Attach a DTM to the quantity before it (due date, lot expiry); return it when it is the as-of."""
    qualifier = seg.el(1)
    if qualifier == "366":
        return seg
    if current is not None and current.qualifier in _IN_TRANSIT and qualifier in _DUE_DTM:
        current.due = _dtm(ctx, seg)
    elif current is not None and current.lot and qualifier in _EXPIRY_DTM:
        at = _dtm(ctx, seg)
        current.expires = at.date() if at else None
    return None


@dataclass(frozen=True)
class MessageSpec:
    type: str
    name: str
    segments: frozenset[str]
    mandatory: tuple[str, ...]
    mapper: Callable[[MessageContext], None]


MESSAGES: dict[str, MessageSpec] = {
    "DESADV": MessageSpec(
        "DESADV",
        "Despatch advice",
        frozenset(
            "UNH BGM DTM ALI MEA MOA RFF NAD LOC CTA COM TOD TDT EQD SEL SGP HAN TMP RNG CPS PAC PCI GIN GIR "
            "LIN PIA IMD QTY QVR FTX DLM PRI CUX DGS TCC SCC INV STS RCS UNS CNT UNT".split()
        ),
        ("BGM",),
        map_desadv,
    ),
    "INVRPT": MessageSpec(
        "INVRPT",
        "Inventory report",
        frozenset(
            "UNH BGM DTM FTX RFF NAD LOC CTA COM CUX LIN PIA IMD MEA QTY ALI GIN GIR INV STS PRI PAC PCI CPS "
            "MOA TDT SCC UNS CNT UNT".split()
        ),
        ("BGM", "DTM"),
        map_invrpt,
    ),
}

OTHER_MESSAGES = {
    "ORDERS": "Purchase order",
    "ORDRSP": "Purchase order response",
    "ORDCHG": "Purchase order change request",
    "INVOIC": "Invoice",
    "DELFOR": "Delivery schedule",
    "DELJIT": "Delivery just in time",
    "RECADV": "Receiving advice",
    "IFTMIN": "Instruction",
    "IFTSTA": "International multimodal status report",
    "PRICAT": "Price/sales catalogue",
    "SLSRPT": "Sales data report",
    "APERAK": "Application error and acknowledgement",
    "CONTRL": "Syntax and service report",
    "REMADV": "Remittance advice",
}
