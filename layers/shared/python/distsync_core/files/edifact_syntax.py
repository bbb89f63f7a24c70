"""EDIFACT syntax: service characters from UNA (or the defaults), segments of data elements and
components with the release character honoured, each with its file position and line; the character
set the UNB syntax identifier declares; and the format of the data elements distsync reads."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .events import Ref
from .model import Budget, Code, FileError, PartnerProfile, Transaction
from .values import parse_decimal


@dataclass(frozen=True)
class ServiceChars:
    component: str = ":"
    element: str = "+"
    decimal: str = "."
    release: str = "?"
    repetition: str = " "
    segment: str = "'"
    una: bool = False


@dataclass(slots=True)
class Segment:
    tag: str
    elements: list[list[str]]  # the data elements after the tag, each a list of components
    position: int  # 1-based position in the file (UNB is 1; UNA is not a segment)
    line: int

    def el(self, n: int, c: int = 1) -> str:
        if 0 < n <= len(self.elements) and 0 < c <= len(self.elements[n - 1]):
            return self.elements[n - 1][c - 1]
        return ""

    def composite(self, n: int) -> list[str]:
        return self.elements[n - 1] if 0 < n <= len(self.elements) else []


def tokenize(text: str, budget: Budget | None = None) -> tuple[ServiceChars | None, list[Segment], list[FileError]]:
    start = len(text) - len(text.lstrip("\ufeff \t\r\n"))
    chars = ServiceChars()
    if text.startswith("UNA", start):
        if len(text) < start + 9:
            return (
                None,
                [],
                [
                    Ref(line=1, segment_id="UNA").error(
                        Code.ENVELOPE_INVALID, "UNA needs six service characters"
                    )
                ],
            )
        comp, elem, dec, rel, rep, term = tuple(text[start + 3 : start + 9])
        chars = ServiceChars(comp, elem, dec, rel, rep, term, una=True)
        service = [comp, elem, term] + ([rel] if rel != " " else [])
        if len(set(service)) != len(service):
            return (
                None,
                [],
                [
                    Ref(line=1, segment_id="UNA").error(
                        Code.ENVELOPE_INVALID, "UNA service characters must differ"
                    )
                ],
            )
        start += 9
    return chars, *_segments(text, start, chars, budget)


def _segments(
    text: str, start: int, ch: ServiceChars, budget: Budget | None
) -> tuple[list[Segment], list[FileError]]:
    """Segments with the release character honoured; past the budget's ``max_records`` segments the file
    is rejected before more of it is held in memory."""
    release = "" if ch.release == " " else ch.release
    delims = re.escape(ch.component + ch.element + ch.segment)
    plain = re.escape(release + ch.component + ch.element + ch.segment)
    token = re.compile((f"{re.escape(release)}(.)|" if release else "") + f"([{delims}])|([^{plain}]+)", re.S)
    out: list[Segment] = []
    errors: list[FileError] = []
    elements: list[list[str]] = [[""]]
    seg_start, line, counted = None, 1, 0
    for m in token.finditer(text, start):
        escaped, delim, run = (
            m.group(1) if release else None,
            m.group(2 if release else 1),
            m.group(3 if release else 2),
        )
        if seg_start is None:
            if run is not None and not run.strip("\r\n \t"):
                continue
            lead = len(run) - len(run.lstrip("\r\n \t")) if run is not None else 0
            seg_start = m.start() + lead
            run = run[lead:] if run is not None else None
        if delim is None:
            elements[-1][-1] += (escaped if escaped is not None else run) or ""
        elif delim == ch.component:
            elements[-1].append("")
        elif delim == ch.element:
            elements.append([""])
        else:
            line += text.count("\n", counted, seg_start)
            counted = seg_start
            out.append(Segment(elements[0][0].strip(), elements[1:], len(out) + 1, line))
            if budget is not None and len(out) > budget.max_records:
                budget.check_records(len(out), line=line)
            elements, seg_start = [[""]], None
    if seg_start is not None:
        line += text.count("\n", counted, seg_start)
        tag = elements[0][0].strip()
        out.append(Segment(tag, elements[1:], len(out) + 1, line))
        errors.append(
            Ref(line=line, segment_position=len(out), segment_id=tag).error(
                Code.ENVELOPE_INVALID, "the last segment has no segment terminator"
            )
        )
    return out, errors


# ---------------------------------------------------------------------------------------------------
# Character sets (UNB S001 0001)
# ---------------------------------------------------------------------------------------------------
ENCODINGS = {
    "UNOA": "ascii",
    "UNOB": "ascii",
    "UNOC": "latin-1",
    "UNOD": "iso8859-2",
    "UNOE": "iso8859-5",
    "UNOF": "iso8859-7",
    "UNOG": "iso8859-3",
    "UNOH": "iso8859-4",
    "UNOI": "iso8859-6",
    "UNOJ": "iso8859-8",
    "UNOK": "iso8859-9",
    "UNOW": "utf-8",
    "UNOY": "utf-8",
}
_UNOA = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-()/='+:?!\"%&*;<>")


def syntax_identifier(raw: bytes) -> str:
    """The UNB syntax identifier (UNOA, UNOC, ...) read before the file is decoded; "" when none."""
    head = raw[:512].decode("latin-1")
    m = re.search(r"UNB.(UNO[A-Z])", head)
    return m.group(1) if m else ""


def invalid_characters(value: str, syntax: str) -> str:
    """The characters of ``value`` the character set does not allow ("" when all are allowed)."""
    if syntax == "UNOA":
        bad = {c for c in value if c not in _UNOA}
    elif syntax == "UNOB":
        bad = {c for c in value if not (" " <= c <= "~")}
    else:
        bad = {c for c in value if c < " " and c not in "\r\n\t"}
    return "".join(sorted(bad))


# ---------------------------------------------------------------------------------------------------
# Data elements distsync reads: tag -> {element position: ((component, id, type, max, mandatory), ...)}
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spec:
    component: int
    id: str
    kind: str  # a, n, an
    max: int
    required: bool = False


def _c(component: int, de: str, fmt: str, required: bool = False) -> Spec:
    match = re.match(r"([an]+)\.*(\d+)", fmt)
    assert match is not None, f"bad format {fmt!r} in the spec table"
    kind, size = match.groups()
    return Spec(component, de, kind, int(size), required)


SPECS: dict[str, dict[int, tuple[Spec, ...]]] = {
    "BGM": {1: (_c(1, "1001", "an..3"),), 2: (_c(1, "1004", "an..35", True),)},
    "DTM": {1: (_c(1, "2005", "an..3", True), _c(2, "2380", "an..35"), _c(3, "2379", "an..3"))},
    "RFF": {1: (_c(1, "1153", "an..3", True), _c(2, "1154", "an..70"))},
    "NAD": {1: (_c(1, "3035", "an..3", True),), 2: (_c(1, "3039", "an..35"),)},
    "LOC": {1: (_c(1, "3227", "an..3", True),), 2: (_c(1, "3225", "an..25"),)},
    "LIN": {1: (_c(1, "1082", "an..6"),), 3: (_c(1, "7140", "an..35"), _c(2, "7143", "an..3"))},
    "PIA": {1: (_c(1, "4347", "an..3", True),), 2: (_c(1, "7140", "an..35", True), _c(2, "7143", "an..3"))},
    "QTY": {1: (_c(1, "6063", "an..3", True), _c(2, "6060", "n..15", True), _c(3, "6411", "an..3"))},
    "GIN": {1: (_c(1, "7405", "an..3", True),), 2: (_c(1, "7402", "an..35", True),)},
    "TDT": {1: (_c(1, "8051", "an..3", True),), 5: (_c(1, "3127", "an..17"), _c(4, "3128", "an..35"))},
    "UNS": {1: (_c(1, "0081", "a1", True),)},
}


def element_name(tag: str, n: int, c: int | None = None) -> str:
    return f"{tag}{n:02d}" + (f".{c}" if c else "")


def check_elements(seg: Segment, ref_for, decimal: str) -> list[FileError]:
    out: list[FileError] = []
    for n, specs in SPECS.get(seg.tag, {}).items():
        for spec in specs:
            value = seg.el(n, spec.component)
            ref = ref_for(n, spec.component)
            name = f"{element_name(seg.tag, n, spec.component)} ({spec.id})"
            if not value:
                if spec.required and (n <= len(seg.elements) or n == 1):
                    out.append(ref.error(Code.ELEMENT_MISSING, f"{name} is required"))
                continue
            out.extend(
                ref.error(code, f"{name} {why}", value=value) for code, why in _check(spec, value, decimal)
            )
    return out


def _check(spec: Spec, value: str, decimal: str) -> list[tuple[Code, str]]:
    problems: list[tuple[Code, str]] = []
    size = len(value)
    if spec.kind == "n":
        number = parse_decimal(value, decimal) or parse_decimal(value, "," if decimal == "." else ".")
        if number is None:
            problems.append((Code.INVALID_NUMBER, f"{value!r} is not a number (n..{spec.max})"))
        else:
            size = sum(ch.isdigit() for ch in value)
    elif spec.kind == "a" and any(ch.isdigit() for ch in value):
        problems.append((Code.INVALID_CODE, f"{value!r} is not alphabetic (a{spec.max})"))
    if size > spec.max:
        problems.append((Code.ELEMENT_TOO_LONG, f"{value!r} is longer than {spec.kind}..{spec.max}"))
    return problems


@dataclass
class MessageContext:
    """One message being read: UNH ... UNT, the partner and the transaction the results go to."""

    partner: PartnerProfile
    segments: list[Segment]
    transaction: Transaction
    chars: ServiceChars

    @property
    def unh(self) -> Segment:
        return self.segments[0]

    def body(self) -> list[Segment]:
        end = -1 if self.segments[-1].tag == "UNT" else len(self.segments)
        return self.segments[1:end]

    def ref(self, seg: Segment, n: int | None = None, c: int | None = None) -> Ref:
        return Ref(
            line=seg.line,
            segment_position=seg.position,
            transaction_position=seg.position - self.unh.position + 1,
            segment_id=seg.tag,
            element=element_name(seg.tag, n, c) if n else None,
            element_position=n,
            component_position=c,
        )

    def error(
        self,
        seg: Segment,
        n: int | None,
        code: Code,
        reason: str,
        value: str | None = None,
        c: int | None = None,
    ) -> None:
        self.transaction.add(self.ref(seg, n, c).error(code, reason, value=value))

    def warn(
        self,
        seg: Segment,
        n: int | None,
        code: Code,
        reason: str,
        value: str | None = None,
        c: int | None = None,
    ) -> None:
        self.transaction.add(self.ref(seg, n, c).error(code, reason, value=value, warning=True))


KNOWN_SEGMENTS = frozenset(
    (
        "ADR AGR AJT ALC ALI APP APR ARD ARR ASI ATT AUT BAS BGM BII BUS CAV CCD CCI CDI CDS CDV CED CIN CLA CLI "
        "CMP CNI CNT COD COM COT CPI CPS CPT CST CTA CUX DAM DFN DGS DII DIM DLI DLM DMS DOC DRD DSG DSI DTM EDT "
        "EFI ELM ELU ELV EMP EQA EQD EQN ERC ERP EVE FCA FII FNS FNT FOR FSQ FTX GDS GEI GID GIN GIR GOR GPO GRU "
        "HAN HYN ICD IDE IFD IHC IMD IND INP INV IRQ LAN LIN LOC MEA MEM MKS MOA MSG MTD NAD NAT PAC PAI PAS PCC "
        "PCD PCI PDI PER PGI PIA PNA POC PRC PRI PRV PSD PTY PYT QRS QTY QUA QVR RCS REL RFF RJL RNG ROD RSL RTE "
        "SAL SCC SCD SEG SEL SEQ SFI SGP SGU SPR SPS STA STC STG STS TAX TCC TDT TEM TMD TMP TOD TPL TRU TSR UNS "
        "VLI UNB UNG UNH UNT UNE UNZ UCI UCM UCS UCD UCF"
    ).split()
)
