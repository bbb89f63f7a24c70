"""From values read out of a file to a canonical event validated by its contract, with every contract
violation pointing back at the segment (or CSV line and column) the value came from."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from ..contracts import contract_for, latest_version
from .model import CanonicalEvent, Code, FileError, PartnerProfile

_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")  # contracts.Identifier


@dataclass(frozen=True)
class Ref:
    """Where a value is in the file."""

    line: int | None = None
    segment_position: int | None = None
    transaction_position: int | None = None
    segment_id: str | None = None
    element: str | None = None
    element_position: int | None = None
    component_position: int | None = None
    element_ref: str | None = None

    def error(self, code: Code, reason: str, *, value: str | None = None, warning: bool = False) -> FileError:
        return FileError(
            code=code,
            reason=reason,
            severity="warning" if warning else "error",
            line=self.line,
            segment_position=self.segment_position,
            transaction_position=self.transaction_position,
            segment_id=self.segment_id,
            element=self.element,
            element_position=self.element_position,
            component_position=self.component_position,
            element_ref=self.element_ref,
            value=None if value is None else value[:99],
        )

    def at(self, element: str, position: int | None = None, component: int | None = None) -> Ref:
        return Ref(
            self.line,
            self.segment_position,
            self.transaction_position,
            self.segment_id,
            element,
            position,
            component,
        )


def build_event(
    event_type: str,
    data: dict[str, Any],
    partner: PartnerProfile,
    *,
    refs: Mapping[str, Ref],
    default: Ref,
    version: str | None = None,
    occurred_at: datetime | None = None,
    already_failed: bool = False,
) -> tuple[CanonicalEvent | None, list[FileError]]:
    """Validate ``data`` (camelCase) against the contract (the latest version unless ``version``) and check
    that the partner's source may produce the type. ``refs`` maps field paths ("lines.0.itemId",
    "buckets.3") to where the value came from; a violation is reported at the longest matching path.
    ``already_failed``: the transaction has errors already, so a missing value (None) is their
    consequence and not reported again."""
    contract = contract_for(event_type, version) if version else latest_version(event_type)
    if partner.source not in contract.producers:
        reason = (
            f"partner {partner.partner_id!r} stands for source {partner.source!r}, which may not produce "
            f"{event_type} (producers: {', '.join(sorted(contract.producers))})"
        )
        return None, [default.error(Code.SOURCE_NOT_ALLOWED, reason)]
    try:
        model = contract.model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if already_failed:
            errors = [err for err in errors if err.get("input") is not None]
        return None, [_violation(event_type, err, refs, default) for err in errors]
    return (
        CanonicalEvent(
            event_type=contract.event_type,
            event_version=contract.version,
            source=partner.source,
            data=model.model_dump(by_alias=True, mode="json"),
            occurred_at=occurred_at,
            business_key=model.business_key(),
        ),
        [],
    )


def _violation(event_type: str, err: Mapping[str, Any], refs: Mapping[str, Ref], default: Ref) -> FileError:
    path = [str(p) for p in err["loc"]]
    ref = default
    for end in range(len(path), 0, -1):
        if ".".join(path[:end]) in refs:
            ref = refs[".".join(path[:end])]
            break
    value = err.get("input")
    shown = str(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else None
    field = ".".join(path) or "data"
    return ref.error(Code.CONTRACT_VIOLATION, f"{event_type} {field}: {err['msg']}", value=shown)


def resolve_location(code: str | None, partner: PartnerProfile) -> tuple[str | None, str | None]:
    """(distsync location id, a note when a fallback was used) for a partner's location code: the
    partner's map first; a code that is a valid id as it is; else the partner's default location (with a
    note for the report); else the code itself, which the contract then refuses by name. Without a
    code: the partner's default location."""
    code = (code or "").strip()
    if not code:
        return partner.default_location_id, None
    if code in partner.location_map:
        return partner.location_map[code], None
    if _IDENTIFIER.match(code) or not partner.default_location_id:
        return code, None
    note = f"location code {code!r} is not in the partner's location map: default location {partner.default_location_id!r} used"
    return partner.default_location_id, note


def pick_item(pairs: Iterable[tuple[str, str]], partner: PartnerProfile) -> tuple[str, str] | None:
    """(qualifier, id) of the first preferred item qualifier present; else the first id at all."""
    present = [(q.strip(), v.strip()) for q, v in pairs if v and v.strip()]
    for wanted in partner.item_qualifiers:
        for qualifier, value in present:
            if qualifier == wanted:
                return qualifier, value
    return present[0] if present else None


def as_float(value: Any) -> Any:
    """Decimal -> float for the strict Quantity fields; anything else unchanged (the contract says why)."""
    from decimal import Decimal

    return float(value) if isinstance(value, Decimal) else value


@dataclass
class Quantity:
    """One quantity of an inventory line (X12 846 QTY, EDIFACT INVRPT QTY) with what follows it: a lot
    number and its expiry, or the due time of stock in transit. ``seg`` is the segment it was read from."""

    qualifier: str
    value: Decimal
    seg: Any
    lot: str | None = None
    lot_seg: Any = None
    expires: date | None = None
    due: datetime | None = None
    unit: str | None = None  # X12 QTY03, EDIFACT QTY C186 6411: the partner's unit code, as sent

    def as_lot(self) -> dict[str, Any]:
        lot: dict[str, Any] = {"lotNumber": self.lot, "quantity": as_float(self.value)}
        if self.expires:
            lot["expiresOn"] = self.expires
        return lot


def line_unit(ctx: Any, quantities: list[Quantity], anchor: Any) -> tuple[str | None, bool]:
    """The one unit the quantities of an inventory line are in (None: none given, the base unit is implied)
    and whether the line is usable: quantities in different units are an error, since adding them would
    mix units. The transformer converts the unit to the item's base unit, as for a webhook."""
    units = sorted({q.unit for q in quantities if q.unit})
    if len(units) > 1:
        ctx.error(anchor, None, Code.INVALID_CODE, f"the line's quantities are in different units "
                                                   f"({', '.join(units)}): one unit per line")
        return None, False
    return (units[0] if units else None), True


def sum_quantities(quantities: list[Quantity], qualifiers: tuple[str, ...]) -> tuple[Decimal, Any] | None:
    """The total of the quantities with one of ``qualifiers`` and the segment of the first (None: none)."""
    matching = [q for q in quantities if q.qualifier in qualifiers]
    if not matching:
        return None
    return sum((q.value for q in matching), Decimal(0)), matching[0].seg


def emit(ctx: Any, event_type: str, data: dict[str, Any], refs: dict[str, Ref], default: Ref,
         occurred: datetime | None) -> None:
    """Build the event into the transaction ``ctx`` maps (X12 SetContext, EDIFACT MessageContext: both have
    ``partner`` and ``transaction``), or add the contract's violations to it."""
    event, errors = build_event(event_type, data, ctx.partner, refs=refs, default=default, occurred_at=occurred,
                                already_failed=bool(ctx.transaction.errors))
    for error in errors:
        ctx.transaction.add(error)
    if event is not None:
        ctx.transaction.events.append(event)
