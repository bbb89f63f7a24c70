"""EDIFACT interchanges: UNB/UNZ, UNG/UNE and UNH/UNT validated, each message read by its mapper in
:mod:`.edifact_messages`.

Checks: the UNB syntax identifier and the characters its character set allows (UNOA: upper case,
digits and a few signs); the interchange sender (UNB S002) and every group sender (UNG S006) must be
ids of the partner (and the recipients distsync's ids, when the profile names them); UNZ 0036 counts the
groups (or the messages when there are none) and UNZ 0020 repeats UNB 0020; UNE counts the messages of
its group and repeats UNG 0048; UNT 0074 counts the segments from UNH to UNT and UNT 0062 repeats UNH
0062, unique in its interchange; every segment tag is a known EDIFACT segment of the message; UNS
appears at most once; the data elements distsync reads have their EDIFACT format. An error in the
interchange envelope rejects every message in it, one in a group envelope every message of the group,
and anything else only its own message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .edifact_messages import MESSAGES, OTHER_MESSAGES
from .edifact_syntax import (
    ENCODINGS,
    KNOWN_SEGMENTS,
    MessageContext,
    Segment,
    ServiceChars,
    check_elements,
    element_name,
    invalid_characters,
    syntax_identifier,
    tokenize,
)
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
from .values import is_digits

_ENVELOPE = frozenset({"UNH", "UNT", "UNG", "UNE", "UNZ", "UNB"})


def peek_sender(raw: bytes) -> str | None:
    """UNB S002 sender id of an interchange (to find the partner profile), or None."""
    chars, segments, _ = tokenize(raw[:4096].decode("latin-1"))
    if chars is None or not segments or segments[0].tag != "UNB":
        return None
    return segments[0].el(2) or None


def parse_edifact(raw: bytes, parsed: ParsedFile) -> None:
    syntax = syntax_identifier(raw)
    encoding = ENCODINGS.get(syntax, "latin-1")
    try:
        text = raw.decode("latin-1" if encoding == "ascii" else encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        parsed.add(
            FileError(Code.UNREADABLE, f"byte {exc.start} is not {encoding} as {syntax} declares", line=line)
        )
        return
    chars, segments, errors = tokenize(text, parsed.budget)
    for error in errors:
        parsed.add(error)
    if chars is None or not segments:
        if not errors:
            parsed.add(FileError(Code.ENVELOPE_INVALID, "no segments", line=1))
        return
    if segments[0].tag != "UNB":
        first = segments[0]
        parsed.add(
            Ref(line=first.line, segment_position=1, segment_id=first.tag).error(
                Code.ENVELOPE_INVALID, "an EDIFACT interchange starts with UNB (after an optional UNA)"
            )
        )
        return
    _Walker(parsed, segments, chars, syntax).run()


@dataclass
class _Walker:
    parsed: ParsedFile
    segments: list[Segment]
    chars: ServiceChars
    syntax: str
    interchange_errors: list[FileError] = field(default_factory=list)
    group_of: dict[int, Group] = field(default_factory=dict)
    references: set[str] = field(default_factory=set)

    @property
    def partner(self) -> PartnerProfile:
        return self.parsed.partner

    def run(self) -> None:
        unb = self.segments[0]
        self._interchange(unb)
        i, n = 1, len(self.segments)
        groups = messages = 0
        while i < n:
            seg = self.segments[i]
            if seg.tag == "UNG":
                i, groups = self._group(i), groups + 1
            elif seg.tag == "UNH":
                i, messages = self._message(i, None), messages + 1
            elif seg.tag == "UNZ":
                self._unz(seg, unb, groups, messages)
                for extra in self.segments[i + 1 :]:
                    what = (
                        "a second interchange (one interchange per file)"
                        if extra.tag == "UNB"
                        else f"segment {extra.tag}"
                    )
                    self._interchange_error(
                        extra, Code.DATA_OUTSIDE_ENVELOPE, f"{what} after the UNZ trailer"
                    )
                break
            else:
                self._interchange_error(
                    seg, Code.DATA_OUTSIDE_ENVELOPE, f"segment {seg.tag} outside a message"
                )
                i += 1
        else:
            self._interchange_error(
                self.segments[-1], Code.INTERCHANGE_TRAILER_MISSING, "the interchange has no UNZ trailer"
            )
        self._propagate()

    # ----------------------------------------------------------------------------------------------
    def _interchange(self, unb: Segment) -> None:
        self.parsed.interchange = Interchange(
            sender_id=unb.el(2),
            sender_qualifier=unb.el(2, 2),
            receiver_id=unb.el(3),
            receiver_qualifier=unb.el(3, 2),
            control_number=unb.el(5),
            date=unb.el(4),
            time=unb.el(4, 2),
            version=":".join(unb.composite(1)),
            test=unb.el(11) == "1",
            ack_requested=unb.el(9) == "1",
            separators={
                "component": self.chars.component,
                "element": self.chars.element,
                "decimal": self.chars.decimal,
                "release": self.chars.release,
                "repetition": self.chars.repetition,
                "segment": self.chars.segment,
                "una": "1" if self.chars.una else "",
            },
        )
        if unb.el(1) not in ENCODINGS or unb.el(1, 2) not in ("1", "2", "3", "4"):
            self._interchange_error(
                unb,
                Code.ENVELOPE_INVALID,
                f"syntax identifier {':'.join(unb.composite(1))!r} is not supported",
                1,
            )
        if not unb.el(5):
            self._interchange_error(
                unb, Code.ENVELOPE_INVALID, "UNB 0020 (interchange control reference) is missing", 5
            )
        self._check_party(
            unb,
            2,
            self.partner.sender_ids,
            Code.UNKNOWN_SENDER,
            "interchange sender",
            self._interchange_error,
        )
        self._check_party(
            unb,
            3,
            self.partner.receiver_ids,
            Code.UNKNOWN_RECEIVER,
            "interchange recipient",
            self._interchange_error,
        )

    def _check_party(self, seg: Segment, n: int, allowed, code: Code, what: str, report) -> None:
        value = seg.el(n)
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

    def _unz(self, unz: Segment, unb: Segment, groups: int, messages: int) -> None:
        if groups and messages:
            self._interchange_error(
                unz,
                Code.DATA_OUTSIDE_ENVELOPE,
                "the interchange mixes functional groups and messages outside groups",
            )
        count, what = (groups, "functional groups") if groups else (messages, "messages")
        if not is_digits(unz.el(1)) or int(unz.el(1)) != count:
            self._interchange_error(
                unz,
                Code.INTERCHANGE_COUNT_MISMATCH,
                f"UNZ 0036 says {unz.el(1)!r} {what}, the interchange has {count}",
                1,
            )
        if unz.el(2) != unb.el(5):
            self._interchange_error(
                unz,
                Code.INTERCHANGE_CONTROL_MISMATCH,
                f"UNZ 0020 {unz.el(2)!r} does not match UNB 0020 {unb.el(5)!r}",
                2,
            )

    # ----------------------------------------------------------------------------------------------
    def _group(self, i: int) -> int:
        ung = self.segments[i]
        group = Group(
            functional_id=ung.el(1),
            control_number=ung.el(5),
            sender_id=ung.el(2),
            receiver_id=ung.el(3),
            version=":".join(ung.composite(7)),
            date=ung.el(4),
            time=ung.el(4, 2),
            header={"S006": ":".join(ung.composite(2)), "S007": ":".join(ung.composite(3))},
        )
        self.parsed.groups.append(group)
        report = self._group_reporter(group)
        self._check_party(ung, 2, self.partner.sender_ids, Code.UNKNOWN_SENDER, "group sender", report)
        self._check_party(ung, 3, self.partner.receiver_ids, Code.UNKNOWN_RECEIVER, "group recipient", report)
        i += 1
        while i < len(self.segments):
            seg = self.segments[i]
            if seg.tag == "UNH":
                i = self._message(i, group)
            elif seg.tag == "UNE":
                self._une(seg, ung, group)
                return i + 1
            elif seg.tag in ("UNG", "UNZ"):
                break
            else:
                report(seg, Code.DATA_OUTSIDE_ENVELOPE, f"segment {seg.tag} outside a message")
                i += 1
        report(
            self.segments[i - 1],
            Code.GROUP_TRAILER_MISSING,
            f"functional group {group.control_number} has no UNE trailer",
        )
        return i

    def _une(self, une: Segment, ung: Segment, group: Group) -> None:
        report = self._group_reporter(group)
        count = len(group.transaction_indexes)
        if not is_digits(une.el(1)) or int(une.el(1)) != count:
            report(
                une,
                Code.GROUP_COUNT_MISMATCH,
                f"UNE 0060 says {une.el(1)!r} messages, the group has {count}",
                1,
            )
        if une.el(2) != ung.el(5):
            report(
                une,
                Code.GROUP_CONTROL_MISMATCH,
                f"UNE 0048 {une.el(2)!r} does not match UNG 0048 {ung.el(5)!r}",
                2,
            )

    def _group_reporter(self, group: Group):
        def report(seg: Segment, code: Code, reason: str, n: int | None = None) -> None:
            error = self._ref(seg, n).error(code, reason, value=seg.el(n) if n else None)
            group.errors.append(error)
            self.parsed.add(error)

        return report

    # ----------------------------------------------------------------------------------------------
    def _message(self, i: int, group: Group | None) -> int:
        unh = self.segments[i]
        j = i + 1
        while j < len(self.segments) and self.segments[j].tag not in _ENVELOPE:
            j += 1
        closed = j < len(self.segments) and self.segments[j].tag == "UNT"
        body = self.segments[i : j + 1] if closed else self.segments[i:j]
        tx = Transaction(
            budget=self.parsed.budget,
            index=len(self.parsed.transactions) + 1,
            kind=unh.el(2),
            control_number=unh.el(1),
            group_control_number=group.control_number if group else None,
            first_line=unh.line,
            last_line=body[-1].line,
            first_segment=unh.position,
            segment_count=len(body),
            header={"0062": unh.el(1), "S009": ":".join(unh.composite(2))},
        )
        self.parsed.transactions.append(tx)
        if group is not None:
            group.transaction_indexes.append(tx.index)
            self.group_of[tx.index] = group
        ctx = MessageContext(self.partner, body, tx, self.chars)
        self._message_envelope(ctx, closed)
        self._content(ctx)
        return j + 1 if closed else j

    def _message_envelope(self, ctx: MessageContext, closed: bool) -> None:
        unh = ctx.unh
        if unh.el(1) in self.references:
            ctx.error(
                unh,
                1,
                Code.DUPLICATE_CONTROL_NUMBER,
                f"message reference {unh.el(1)!r} is used twice in the interchange",
                unh.el(1),
            )
        self.references.add(unh.el(1))
        if not closed:
            ctx.error(
                ctx.segments[-1], None, Code.SET_TRAILER_MISSING, f"message {unh.el(1)} has no UNT trailer"
            )
            return
        unt, count = ctx.segments[-1], len(ctx.segments)
        if not is_digits(unt.el(1)) or int(unt.el(1)) != count:
            ctx.error(
                unt,
                1,
                Code.SET_COUNT_MISMATCH,
                f"UNT 0074 says {unt.el(1)!r} segments, the message has {count} (UNH to UNT)",
                unt.el(1),
            )
        if unt.el(2) != unh.el(1):
            ctx.error(
                unt,
                2,
                Code.SET_CONTROL_MISMATCH,
                f"UNT 0062 {unt.el(2)!r} does not match UNH 0062 {unh.el(1)!r}",
                unt.el(2),
            )

    def _content(self, ctx: MessageContext) -> None:
        unh = ctx.unh
        spec = MESSAGES.get(unh.el(2))
        if unh.el(2, 2) not in ("D", "S", "1", "2", "4"):
            ctx.warn(
                unh,
                2,
                Code.INVALID_CODE,
                f"UNH S009 0052 message version {unh.el(2, 2)!r} is not D (directory version)",
                unh.el(2, 2),
                2,
            )
        seen_uns = False
        for seg in ctx.segments:
            self._check_segment(ctx, seg, spec)
            if seg.tag == "UNS":
                if seen_uns:
                    ctx.error(
                        seg,
                        None,
                        Code.SEGMENT_REPEATED,
                        "UNS (section control) appears more than once",
                        seg.tag,
                    )
                seen_uns = True
        if spec is None:
            name = OTHER_MESSAGES.get(unh.el(2), "unknown")
            supported = ", ".join(f"{m.type} ({m.name})" for m in MESSAGES.values())
            ctx.error(
                unh,
                2,
                Code.UNSUPPORTED_TRANSACTION,
                f"message type {unh.el(2)} ({name}) is not supported (supported: {supported})",
                unh.el(2),
                1,
            )
            return
        for tag in spec.mandatory:
            if not any(s.tag == tag for s in ctx.segments):
                ctx.error(unh, None, Code.SEGMENT_MISSING, f"a {spec.type} needs a {tag} segment", tag)
        spec.mapper(ctx)
        if ctx.transaction.errors:
            ctx.transaction.events.clear()

    def _check_segment(self, ctx: MessageContext, seg: Segment, spec) -> None:
        if seg.tag not in KNOWN_SEGMENTS:
            ctx.error(seg, None, Code.UNKNOWN_SEGMENT, f"unknown segment {seg.tag!r}", seg.tag)
            return
        if spec is not None and seg.tag not in spec.segments:
            ctx.error(
                seg,
                None,
                Code.SEGMENT_NOT_IN_TRANSACTION,
                f"segment {seg.tag} is not part of a {spec.type} ({spec.name})",
                seg.tag,
            )
            return
        for n, element in enumerate(seg.elements, start=1):
            for c, value in enumerate(element, start=1):
                bad = invalid_characters(value, self.syntax)
                if bad:
                    ctx.error(
                        seg,
                        n,
                        Code.INVALID_CHARACTER,
                        f"{element_name(seg.tag, n, c)} has {', '.join(map(repr, bad))}: not allowed in {self.syntax}",
                        value,
                        c,
                    )
        for error in check_elements(seg, lambda n, c: ctx.ref(seg, n, c), self.chars.decimal):
            ctx.transaction.add(error)

    # ----------------------------------------------------------------------------------------------
    def _ref(self, seg: Segment, n: int | None = None) -> Ref:
        return Ref(
            line=seg.line,
            segment_position=seg.position,
            segment_id=seg.tag,
            element=element_name(seg.tag, n) if n else None,
            element_position=n,
        )

    def _interchange_error(self, seg: Segment, code: Code, reason: str, n: int | None = None) -> None:
        error = self._ref(seg, n).error(code, reason, value=seg.el(n) if n else None)
        self.interchange_errors.append(error)
        self.parsed.add(error)

    def _propagate(self) -> None:
        propagate_envelope_errors(self.parsed, self.interchange_errors, self.group_of)
