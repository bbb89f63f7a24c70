"""X12 syntax: separators from the ISA segment, segments with their file position and line, and the data
element checks for the elements distsync reads (X12 data element types ID, AN, N0, R, DT, TM)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .events import Ref
from .model import Budget, Code, FileError, PartnerProfile, Transaction
from .values import is_integer, parse_date, parse_decimal, parse_time

ISA_LENGTH = 106
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)


@dataclass(frozen=True)
class Delimiters:
    element: str
    component: str
    segment: str
    repetition: str


@dataclass(slots=True)
class Segment:
    tag: str
    elements: list[str]  # elements[0] is the segment's 01 element
    position: int  # 1-based position in the file (ISA is 1)
    line: int  # 1-based line the segment starts on

    def el(self, n: int) -> str:
        return self.elements[n - 1] if 0 < n <= len(self.elements) else ""

    def pairs(self, first: int) -> list[tuple[str, str]]:
        """(qualifier, value) pairs from element ``first`` on (LIN02/03, PO106/07, ...)."""
        return [(self.el(i), self.el(i + 1)) for i in range(first, len(self.elements) + 1, 2)]


def tokenize(text: str, budget: Budget | None = None) -> tuple[Delimiters | None, list[Segment], list[FileError]]:
    """Split an interchange into segments. The element separator is the character after "ISA", the
    component separator ISA16 and the segment terminator the character after it (ISA is 106 characters;
    a longer or shorter ISA is an error, but its separators are still used to read on). Past the budget's
    ``max_records`` segments the file is rejected before more of it is held in memory."""
    start = len(text) - len(text.lstrip("\ufeff \t\r\n"))
    if not text.startswith("ISA", start) or len(text) < start + 4:
        ref = Ref(line=1, segment_position=1, segment_id=text[start : start + 3] or None)
        return None, [], [ref.error(Code.ENVELOPE_INVALID, "an X12 interchange starts with an ISA segment")]
    sep = text[start + 3]
    errors: list[FileError] = []
    cut = start
    for _ in range(16):
        cut = text.find(sep, cut + 1)
        if cut < 0:
            ref = Ref(line=1, segment_position=1, segment_id="ISA")
            return None, [], [ref.error(Code.ENVELOPE_INVALID, "the ISA segment has fewer than 16 elements")]
    if cut + 2 >= len(text):
        ref = Ref(line=1, segment_position=1, segment_id="ISA")
        return None, [], [ref.error(Code.ENVELOPE_INVALID, "the file ends inside the ISA segment")]
    component, terminator = text[cut + 1], text[cut + 2 : cut + 3]
    if not terminator or terminator.isalnum() or terminator in (sep, component):
        ref = Ref(line=1, segment_position=1, segment_id="ISA", element="ISA16")
        return None, [], [ref.error(Code.ENVELOPE_INVALID, "no segment terminator after ISA16")]
    if cut + 3 - start != ISA_LENGTH:
        ref = Ref(line=1, segment_position=1, segment_id="ISA")
        errors.append(
            ref.error(Code.ENVELOPE_INVALID, f"the ISA segment is {cut + 3 - start} characters, not 106")
        )
    isa_elements = text[start : cut + 2].split(sep)[1:]
    repetition = isa_elements[10] if len(isa_elements) > 10 else "U"
    delimiters = Delimiters(sep, component, terminator, repetition)
    return delimiters, _segments(text, start, delimiters, errors, budget), errors


def _segments(text: str, start: int, d: Delimiters, errors: list[FileError], budget: Budget | None) -> list[Segment]:
    out: list[Segment] = []
    line, offset = 1, 0
    strip = "".join(c for c in "\r\n" if c != d.segment)
    pos = start
    while pos < len(text):
        end = text.find(d.segment, pos)
        end = len(text) if end < 0 else end
        chunk = text[pos:end]
        lead = len(chunk) - len(chunk.lstrip(strip + " \t"))
        body = chunk[lead:].rstrip(strip)
        if body.strip():
            line += text.count("\n", offset, pos + lead)
            offset = pos + lead
            parts = body.split(d.element)
            out.append(Segment(parts[0].strip(), parts[1:], len(out) + 1, line))
            if budget is not None and len(out) > budget.max_records:
                budget.check_records(len(out), line=line)
        pos = end + 1
    if out and not text.rstrip(strip + " \t").endswith(d.segment):
        last = out[-1]
        ref = Ref(line=last.line, segment_position=last.position, segment_id=last.tag)
        errors.append(ref.error(Code.ENVELOPE_INVALID, "the last segment has no segment terminator"))
    return out


# ---------------------------------------------------------------------------------------------------
# Data element checks: (type, min, max, required, reference number, codes)
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spec:
    kind: str  # ID, AN, N0, R, DT, TM, C (composite of N0 components)
    min: int
    max: int
    required: bool = False
    ref: str = ""
    codes: frozenset[str] = field(default_factory=frozenset)


def _s(kind: str, lo: int, hi: int, req: str, ref: str, codes: str = "") -> Spec:
    return Spec(kind, lo, hi, req == "M", ref, frozenset(codes.split()) if codes else frozenset())


FUNCTIONAL_IDS = "IB PR SH PO FA IN RA IM OW AR SW HC HP HB HS HN BE GF QM"
SPECS: dict[str, tuple[Spec | None, ...]] = {
    "GS": (
        _s("ID", 2, 2, "M", "479"),
        _s("AN", 2, 15, "M", "142"),
        _s("AN", 2, 15, "M", "124"),
        _s("DT", 8, 8, "M", "373"),
        _s("TM", 4, 8, "M", "337"),
        _s("N0", 1, 9, "M", "28"),
        _s("ID", 1, 2, "M", "455"),
        _s("AN", 1, 12, "M", "480"),
    ),
    "GE": (_s("N0", 1, 6, "M", "97"), _s("N0", 1, 9, "M", "28")),
    "IEA": (_s("N0", 1, 5, "M", "I16"), _s("N0", 9, 9, "M", "I12")),
    "ST": (_s("ID", 3, 3, "M", "143"), _s("AN", 4, 9, "M", "329"), _s("AN", 1, 35, "O", "1705")),
    "SE": (_s("N0", 1, 10, "M", "96"), _s("AN", 4, 9, "M", "329")),
    "BIA": (
        _s("ID", 2, 2, "M", "353"),
        _s("ID", 2, 2, "M", "755"),
        _s("AN", 1, 30, "M", "127"),
        _s("DT", 8, 8, "M", "373"),
        _s("TM", 4, 8, "O", "337"),
    ),
    "BAK": (
        _s("ID", 2, 2, "M", "353"),
        _s("ID", 2, 2, "M", "587"),
        _s("AN", 1, 22, "M", "324"),
        _s("DT", 8, 8, "M", "373"),
        None,
        None,
        None,
        None,
        _s("DT", 8, 8, "O", "373"),
    ),
    "BSN": (
        _s("ID", 2, 2, "M", "353"),
        _s("AN", 2, 30, "M", "396"),
        _s("DT", 8, 8, "M", "373"),
        _s("TM", 4, 8, "M", "337"),
    ),
    "LIN": (_s("AN", 1, 20, "O", "350"), _s("ID", 2, 2, "M", "235"), _s("AN", 1, 48, "M", "234")),
    "QTY": (_s("ID", 2, 2, "M", "673"), _s("R", 1, 15, "O", "380")),
    "DTM": (
        _s("ID", 3, 3, "M", "374"),
        _s("DT", 8, 8, "O", "373"),
        _s("TM", 4, 8, "O", "337"),
        _s("ID", 2, 2, "O", "623"),
    ),
    "N1": (
        _s("ID", 2, 3, "M", "98"),
        _s("AN", 1, 60, "O", "93"),
        _s("ID", 1, 2, "O", "66"),
        _s("AN", 2, 80, "O", "67"),
    ),
    "REF": (_s("ID", 2, 3, "M", "128"), _s("AN", 1, 50, "O", "127")),
    "PO1": (
        _s("AN", 1, 20, "O", "350"),
        _s("R", 1, 15, "O", "330"),
        _s("ID", 2, 2, "O", "355"),
        _s("R", 1, 17, "O", "212"),
        None,
        _s("ID", 2, 2, "O", "235"),
        _s("AN", 1, 48, "O", "234"),
    ),
    "ACK": (
        _s("ID", 2, 2, "M", "668"),
        _s("R", 1, 15, "O", "380"),
        _s("ID", 2, 2, "O", "355"),
        _s("ID", 3, 3, "O", "374"),
        _s("DT", 8, 8, "O", "373"),
    ),
    "SCH": (
        _s("R", 1, 15, "M", "380"),
        _s("ID", 2, 2, "M", "355"),
        None,
        None,
        _s("ID", 3, 3, "M", "374"),
        _s("DT", 8, 8, "M", "373"),
        _s("TM", 4, 8, "O", "337"),
    ),
    "HL": (_s("AN", 1, 12, "M", "628"), _s("AN", 1, 12, "O", "734"), _s("ID", 1, 2, "M", "735")),
    "PRF": (_s("AN", 1, 22, "M", "324"),),
    "TD5": (None, _s("ID", 1, 2, "O", "66"), _s("AN", 2, 80, "O", "67"), None, _s("AN", 1, 35, "O", "387")),
    "SN1": (_s("AN", 1, 20, "O", "350"), _s("R", 1, 10, "M", "382"), _s("ID", 2, 2, "M", "355")),
    "CTT": (_s("N0", 1, 6, "M", "354"),),
    "AK1": (
        _s("ID", 2, 2, "M", "479", FUNCTIONAL_IDS),
        _s("N0", 1, 9, "M", "28"),
        _s("AN", 1, 12, "O", "480"),
    ),
    "AK2": (_s("ID", 3, 3, "M", "143"), _s("AN", 4, 9, "M", "329"), _s("AN", 1, 35, "O", "1705")),
    "AK3": (
        _s("ID", 2, 3, "M", "721"),
        _s("N0", 1, 10, "M", "719"),
        _s("AN", 1, 4, "O", "447"),
        _s("ID", 1, 3, "O", "720"),
    ),
    "AK4": (
        _s("C", 1, 2, "M", "C030"),
        _s("N0", 1, 4, "O", "725"),
        _s("ID", 1, 3, "M", "723"),
        _s("AN", 1, 99, "O", "724"),
    ),
    "AK5": (_s("ID", 1, 1, "M", "717", "A E M R W X"),),
    "AK9": (
        _s("ID", 1, 1, "M", "715", "A E M P R W X"),
        _s("N0", 1, 6, "M", "97"),
        _s("N0", 1, 6, "M", "123"),
        _s("N0", 1, 6, "M", "2"),
    ),
}


def check_elements(seg: Segment, ref_for, component: str) -> list[FileError]:
    """The segment's elements against :data:`SPECS`; ``ref_for(n)`` gives the Ref of element n."""
    specs = SPECS.get(seg.tag, ())
    out: list[FileError] = []
    for n, spec in enumerate(specs, start=1):
        if spec is None:
            continue
        value = seg.el(n)
        if not value.strip():
            if spec.required:
                out.append(ref_for(n, spec).error(Code.ELEMENT_MISSING, f"{seg.tag}{n:02d} is required"))
            continue
        out.extend(
            ref_for(n, spec).error(code, f"{seg.tag}{n:02d} {why}", value=value)
            for code, why in _check(spec, value, component)
        )
    return out


def _check(spec: Spec, value: str, component: str) -> list[tuple[Code, str]]:
    if spec.kind == "C":
        parts = value.split(component)
        return [p for part in parts if part for p in _check(Spec("N0", 1, 4), part, component)]
    problems = _check_kind(spec, value)
    size = _size(spec.kind, value)
    if size > spec.max:
        problems.append(
            (
                Code.ELEMENT_TOO_LONG,
                f"{value!r} is longer than {spec.max} ({spec.kind} {spec.min}/{spec.max})",
            )
        )
    elif size < spec.min and spec.kind not in ("DT", "TM"):
        problems.append(
            (
                Code.ELEMENT_TOO_SHORT,
                f"{value!r} is shorter than {spec.min} ({spec.kind} {spec.min}/{spec.max})",
            )
        )
    if spec.codes and value not in spec.codes:
        problems.append((Code.INVALID_CODE, f"{value!r} is not a valid code here"))
    return problems


def _check_kind(spec: Spec, value: str) -> list[tuple[Code, str]]:
    if spec.kind == "N0" and not is_integer(value):
        return [(Code.INVALID_NUMBER, f"{value!r} is not a whole number (N0)")]
    if spec.kind == "R" and parse_decimal(value) is None:
        return [(Code.INVALID_NUMBER, f"{value!r} is not a number (R)")]
    if spec.kind == "DT" and (len(value) != spec.max or parse_date(value) is None):
        return [(Code.INVALID_DATE, f"{value!r} is not a date (CCYYMMDD)")]
    if spec.kind == "TM" and parse_time(value) is None:
        return [(Code.INVALID_TIME, f"{value!r} is not a time (HHMM[SS[d..]])")]
    return []


def _size(kind: str, value: str) -> int:
    """Length as X12 counts it: digits only for numbers (sign and decimal point are not counted)."""
    if kind == "N0" and is_integer(value) or kind == "R" and parse_decimal(value) is not None:
        return sum(c.isdigit() for c in value)
    return len(value)


@dataclass
class SetContext:
    """One transaction set being read: its segments (ST ... SE), the partner and the transaction the
    results go to."""

    partner: PartnerProfile
    segments: list[Segment]
    transaction: Transaction
    delimiters: Delimiters

    @property
    def st(self) -> Segment:
        return self.segments[0]

    def ref(self, seg: Segment, n: int | None = None, component: int | None = None) -> Ref:
        spec = SPECS.get(seg.tag, ())
        element_ref = None
        element = spec[n - 1] if n and n <= len(spec) else None
        if element is not None:
            element_ref = element.ref
        return Ref(
            line=seg.line,
            segment_position=seg.position,
            transaction_position=seg.position - self.st.position + 1,
            segment_id=seg.tag,
            element=f"{seg.tag}{n:02d}" if n else None,
            element_position=n,
            component_position=component,
            element_ref=element_ref,
        )

    def error(self, seg: Segment, n: int | None, code: Code, reason: str, value: str | None = None) -> None:
        self.transaction.add(self.ref(seg, n).error(code, reason, value=value))

    def warn(self, seg: Segment, n: int | None, code: Code, reason: str, value: str | None = None) -> None:
        self.transaction.add(self.ref(seg, n).error(code, reason, value=value, warning=True))

    def components(self, value: str) -> list[str]:
        return value.split(self.delimiters.component)
