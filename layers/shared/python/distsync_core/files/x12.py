"""X12 interchanges: ISA/IEA, GS/GE and ST/SE envelopes validated, each transaction set read by its
mapper in :mod:`.x12_sets`.

Checks: the ISA's fixed fields; the interchange sender (ISA06) and every group sender (GS02) must be
ids of the partner (and the receivers distsync's ids, when the profile names them); IEA01 counts the
groups and IEA02 repeats ISA13; GE01 counts the sets and GE02 repeats GS06; SE01 counts the segments
from ST to SE and SE02 repeats ST02, unique in its group; every segment id is a known X12 segment of the
set; the data elements distsync reads have their X12 type and length. An error in the interchange
envelope rejects every set in it, one in a group envelope every set of the group, and anything else only
its own set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .events import Ref
from .model import (
    Code,
    FileError,
    Group,
    Interchange,
    ParsedFile,
    PartnerProfile,
    Transaction,
    propagate_envelope_errors,
)
from .values import is_digits, parse_date, parse_time
from .x12_sets import KNOWN_SEGMENTS, OTHER_SETS, SETS
from .x12_syntax import ISA_WIDTHS, Delimiters, Segment, SetContext, check_elements, tokenize

_ENVELOPE_TAGS = frozenset({"ST", "SE", "GS", "GE", "IEA"})


def peek_sender(text: str) -> str | None:
    """ISA06 of an interchange (to find the partner profile), or None."""
    delimiters, segments, _ = tokenize(text[:4096])
    if delimiters is None or not segments:
        return None
    return segments[0].el(6).strip() or None


def parse_x12(text: str, parsed: ParsedFile) -> None:
    delimiters, segments, errors = tokenize(text, parsed.budget)
    for error in errors:
        parsed.add(error)
    if delimiters is None:
        return
    _Walker(parsed, segments, delimiters, text).run()


@dataclass
class _Walker:
    parsed: ParsedFile
    segments: list[Segment]
    delimiters: Delimiters
    text: str
    interchange_errors: list[FileError] = field(default_factory=list)
    group_of: dict[int, Group] = field(default_factory=dict)

    @property
    def partner(self) -> PartnerProfile:
        return self.parsed.partner

    def run(self) -> None:
        isa = self.segments[0]
        self._interchange(isa)
        i, n, groups = 1, len(self.segments), 0
        while i < n:
            seg = self.segments[i]
            if seg.tag == "GS":
                i, groups = self._group(i), groups + 1
            elif seg.tag == "IEA":
                self._iea(seg, isa, groups)
                self._after_trailer(i + 1)
                break
            elif seg.tag == "ST":
                i = self._transaction(i, None)
            else:
                self._interchange_error(
                    seg, Code.DATA_OUTSIDE_ENVELOPE, f"segment {seg.tag} outside a functional group"
                )
                i += 1
        else:
            last = self.segments[-1]
            self._interchange_error(
                last, Code.INTERCHANGE_TRAILER_MISSING, "the interchange has no IEA trailer"
            )
        self._propagate()

    # ----------------------------------------------------------------------------------------------
    def _interchange(self, isa: Segment) -> None:
        tail = self.text[self.text.find(self.delimiters.segment, 100) + 1 :][:2]
        self.parsed.interchange = Interchange(
            sender_id=isa.el(6).strip(),
            sender_qualifier=isa.el(5).strip(),
            receiver_id=isa.el(8).strip(),
            receiver_qualifier=isa.el(7).strip(),
            control_number=isa.el(13).strip(),
            date=isa.el(9),
            time=isa.el(10),
            version=isa.el(12),
            test=isa.el(15) == "T",
            ack_requested=isa.el(14) == "1",
            separators={
                "element": self.delimiters.element,
                "component": self.delimiters.component,
                "segment": self.delimiters.segment,
                "repetition": self.delimiters.repetition,
            },
            newline_after_segment=tail.startswith(("\n", "\r")),
        )
        for n, problem in _isa_problems(isa):
            self._interchange_error(isa, Code.ENVELOPE_INVALID, problem, n)
        self._check_party(
            isa,
            6,
            self.partner.sender_ids,
            Code.UNKNOWN_SENDER,
            "interchange sender",
            self._interchange_error,
        )
        self._check_party(
            isa,
            8,
            self.partner.receiver_ids,
            Code.UNKNOWN_RECEIVER,
            "interchange receiver",
            self._interchange_error,
        )

    def _check_party(self, seg: Segment, n: int, allowed, code: Code, what: str, report) -> None:
        value = seg.el(n).strip()
        if code is Code.UNKNOWN_SENDER and not allowed:
            report(
                seg,
                code,
                f"partner {self.partner.partner_id!r} has no EDI sender ids: {what} {value!r} cannot be checked",
                n,
            )
        elif allowed and value not in allowed:
            report(
                seg,
                code,
                f"{what} {value!r} is not an id of partner {self.partner.partner_id!r} (expected {', '.join(allowed)})",
                n,
            )

    def _iea(self, iea: Segment, isa: Segment, groups: int) -> None:
        for error in check_elements(iea, lambda n, spec: self._ref(iea, n), self.delimiters.component):
            self._interchange_error_obj(error)
        if is_digits(iea.el(1).strip()) and int(iea.el(1)) != groups:
            self._interchange_error(
                iea,
                Code.INTERCHANGE_COUNT_MISMATCH,
                f"IEA01 says {iea.el(1)} functional groups, the interchange has {groups}",
                1,
            )
        if iea.el(2).strip() != isa.el(13).strip():
            self._interchange_error(
                iea,
                Code.INTERCHANGE_CONTROL_MISMATCH,
                f"IEA02 {iea.el(2)!r} does not match ISA13 {isa.el(13)!r}",
                2,
            )

    def _after_trailer(self, start: int) -> None:
        for seg in self.segments[start:]:
            what = (
                "a second interchange (one interchange per file)"
                if seg.tag == "ISA"
                else f"segment {seg.tag}"
            )
            self._interchange_error(seg, Code.DATA_OUTSIDE_ENVELOPE, f"{what} after the IEA trailer")

    # ----------------------------------------------------------------------------------------------
    def _group(self, i: int) -> int:
        gs = self.segments[i]
        group = Group(
            functional_id=gs.el(1),
            control_number=gs.el(6).strip(),
            sender_id=gs.el(2).strip(),
            receiver_id=gs.el(3).strip(),
            version=gs.el(8),
            date=gs.el(4),
            time=gs.el(5),
            header={"GS08": gs.el(8)},
        )
        self.parsed.groups.append(group)
        report = self._group_reporter(group)
        for error in check_elements(gs, lambda n, spec: self._ref(gs, n), self.delimiters.component):
            report(gs, error.code, error.reason, error.element_position)
        self._check_party(gs, 2, self.partner.sender_ids, Code.UNKNOWN_SENDER, "group sender", report)
        self._check_party(gs, 3, self.partner.receiver_ids, Code.UNKNOWN_RECEIVER, "group receiver", report)
        i += 1
        while i < len(self.segments):
            seg = self.segments[i]
            if seg.tag == "ST":
                i = self._transaction(i, group)
            elif seg.tag == "GE":
                self._ge(seg, gs, group)
                return i + 1
            elif seg.tag in ("GS", "IEA"):
                break
            else:
                report(seg, Code.DATA_OUTSIDE_ENVELOPE, f"segment {seg.tag} outside a transaction set")
                i += 1
        anchor = self.segments[i - 1]
        report(
            anchor, Code.GROUP_TRAILER_MISSING, f"functional group {group.control_number} has no GE trailer"
        )
        return i

    def _ge(self, ge: Segment, gs: Segment, group: Group) -> None:
        report = self._group_reporter(group)
        count = len(group.transaction_indexes)
        if is_digits(ge.el(1).strip()) and int(ge.el(1)) != count:
            report(
                ge,
                Code.GROUP_COUNT_MISMATCH,
                f"GE01 says {ge.el(1)} transaction sets, the group has {count}",
                1,
            )
        if ge.el(2).strip() != gs.el(6).strip():
            report(ge, Code.GROUP_CONTROL_MISMATCH, f"GE02 {ge.el(2)!r} does not match GS06 {gs.el(6)!r}", 2)
        group.header["GE01"] = ge.el(1)

    def _group_reporter(self, group: Group):
        def report(seg: Segment, code: Code, reason: str, n: int | None = None) -> None:
            error = self._ref(seg, n).error(code, reason, value=seg.el(n) if n else None)
            group.errors.append(error)
            self.parsed.add(error)

        return report

    # ----------------------------------------------------------------------------------------------
    def _transaction(self, i: int, group: Group | None) -> int:
        st = self.segments[i]
        j = i + 1
        while j < len(self.segments) and self.segments[j].tag not in _ENVELOPE_TAGS:
            j += 1
        closed = j < len(self.segments) and self.segments[j].tag == "SE"
        body = self.segments[i : j + 1] if closed else self.segments[i:j]
        tx = Transaction(
            budget=self.parsed.budget,
            index=len(self.parsed.transactions) + 1,
            kind=st.el(1),
            control_number=st.el(2),
            group_control_number=group.control_number if group else None,
            first_line=st.line,
            last_line=body[-1].line,
            first_segment=st.position,
            segment_count=len(body),
            header={"ST01": st.el(1), "ST02": st.el(2), "ST03": st.el(3)},
        )
        self.parsed.transactions.append(tx)
        ctx = SetContext(self.partner, body, tx, self.delimiters)
        self._set_envelope(ctx, group, closed)
        if group is None:
            ctx.error(
                st, None, Code.DATA_OUTSIDE_ENVELOPE, "transaction set outside a functional group (no GS)"
            )
        else:
            group.transaction_indexes.append(tx.index)
            self.group_of[tx.index] = group
        self._content(ctx, group)
        return j + 1 if closed else j

    def _set_envelope(self, ctx: SetContext, group: Group | None, closed: bool) -> None:
        st, tx = ctx.st, ctx.transaction
        if not closed:
            ctx.error(
                ctx.segments[-1],
                None,
                Code.SET_TRAILER_MISSING,
                f"transaction set {st.el(2)} has no SE trailer",
            )
            return
        se = ctx.segments[-1]
        count = len(ctx.segments)
        if is_digits(se.el(1).strip()) and int(se.el(1)) != count:
            ctx.error(
                se,
                1,
                Code.SET_COUNT_MISMATCH,
                f"SE01 says {se.el(1)} segments, the set has {count} (ST to SE)",
                se.el(1),
            )
        if se.el(2) != st.el(2):
            ctx.error(
                se,
                2,
                Code.SET_CONTROL_MISMATCH,
                f"SE02 {se.el(2)!r} does not match ST02 {st.el(2)!r}",
                se.el(2),
            )
        if group is not None:
            earlier = [self.parsed.transactions[k - 1] for k in group.transaction_indexes]
            if any(t.control_number == tx.control_number for t in earlier):
                ctx.error(
                    st,
                    2,
                    Code.DUPLICATE_CONTROL_NUMBER,
                    f"ST02 {st.el(2)!r} is used twice in group {group.control_number}",
                    st.el(2),
                )

    def _content(self, ctx: SetContext, group: Group | None) -> None:
        st = ctx.st
        spec = SETS.get(st.el(1))
        if spec is None:
            name = OTHER_SETS.get(st.el(1), "unknown")
            supported = ", ".join(f"{s.code} {s.name}" for s in SETS.values())
            ctx.error(
                st,
                1,
                Code.UNSUPPORTED_TRANSACTION,
                f"transaction set {st.el(1)} ({name}) is not supported (supported: {supported})",
                st.el(1),
            )
            return
        if group is not None and group.functional_id != spec.functional_id:
            ctx.warn(
                st,
                1,
                Code.INVALID_CODE,
                f"a {spec.code} belongs in a functional group {spec.functional_id}, not {group.functional_id}",
            )
        for seg in ctx.segments:
            self._check_segment(ctx, seg, spec)
        for tag in spec.mandatory:
            if not any(s.tag == tag for s in ctx.segments):
                ctx.error(st, None, Code.SEGMENT_MISSING, f"a {spec.code} needs a {tag} segment", tag)
        spec.mapper(ctx)
        if ctx.transaction.errors:
            ctx.transaction.events.clear()

    def _check_segment(self, ctx: SetContext, seg: Segment, spec) -> None:
        if seg.tag not in KNOWN_SEGMENTS:
            ctx.error(seg, None, Code.UNKNOWN_SEGMENT, f"unknown segment {seg.tag!r}", seg.tag)
            return
        if seg.tag not in spec.segments:
            ctx.error(
                seg,
                None,
                Code.SEGMENT_NOT_IN_TRANSACTION,
                f"segment {seg.tag} is not part of a {spec.code} {spec.name}",
                seg.tag,
            )
            return
        for error in check_elements(seg, lambda n, _spec: ctx.ref(seg, n), self.delimiters.component):
            ctx.transaction.add(error)

    # ----------------------------------------------------------------------------------------------
    def _ref(self, seg: Segment, n: int | None = None) -> Ref:
        return Ref(
            line=seg.line,
            segment_position=seg.position,
            segment_id=seg.tag,
            element=f"{seg.tag}{n:02d}" if n else None,
            element_position=n,
        )

    def _interchange_error(self, seg: Segment, code: Code, reason: str, n: int | None = None) -> None:
        self._interchange_error_obj(
            self._ref(seg, n).error(code, reason, value=seg.el(n).strip() if n else None)
        )

    def _interchange_error_obj(self, error: FileError) -> None:
        self.interchange_errors.append(error)
        self.parsed.add(error)

    def _propagate(self) -> None:
        propagate_envelope_errors(self.parsed, self.interchange_errors, self.group_of)


def _isa_problems(isa: Segment) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []
    if len(isa.elements) != 16:
        return [(0, f"the ISA segment has {len(isa.elements)} elements, not 16")]
    for n, width in enumerate(ISA_WIDTHS, start=1):
        if len(isa.el(n)) != width:
            problems.append((n, f"ISA{n:02d} is {len(isa.el(n))} characters, not {width}"))
    if parse_date(isa.el(9)) is None:
        problems.append((9, f"ISA09 {isa.el(9)!r} is not a date (YYMMDD)"))
    if parse_time(isa.el(10)) is None:
        problems.append((10, f"ISA10 {isa.el(10)!r} is not a time (HHMM)"))
    if not is_digits(isa.el(13)):
        problems.append((13, f"ISA13 {isa.el(13)!r} is not a control number (9 digits)"))
    if isa.el(14) not in ("0", "1"):
        problems.append((14, f"ISA14 {isa.el(14)!r} is not 0 or 1"))
    if isa.el(15) not in ("P", "T", "I"):
        problems.append((15, f"ISA15 {isa.el(15)!r} is not P, T or I"))
    return problems
