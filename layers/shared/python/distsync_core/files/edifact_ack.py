"""The EDIFACT CONTRL (syntax and service report, CONTRL:D:3:UN) for a parsed interchange.

UCI answers the interchange (action 7 acknowledged, 4 rejected, with the syntax error code and the
service segment at fault); UCF answers each functional group; UCM each message (7 or 4), followed for a
rejected message by UCS (segment position in the message) and UCD (data element position) for every
error located in it. A CONTRL is never answered with a CONTRL. Service characters follow the received
interchange, and copied values are escaped with its release character.
"""

from __future__ import annotations

from datetime import datetime

from .model import Code, FileError, Group, ParsedFile, Transaction

ACCEPTED, REJECTED = "7", "4"

# 0085 syntax error codes (and the service segment they concern).
_INTERCHANGE = {
    Code.UNKNOWN_SENDER: ("23", "UNB"),
    Code.UNKNOWN_RECEIVER: ("7", "UNB"),
    Code.INTERCHANGE_CONTROL_MISMATCH: ("28", "UNZ"),
    Code.INTERCHANGE_COUNT_MISMATCH: ("29", "UNZ"),
    Code.INTERCHANGE_TRAILER_MISSING: ("13", "UNZ"),
    Code.DATA_OUTSIDE_ENVELOPE: ("33", ""),
    Code.ENVELOPE_INVALID: ("12", "UNB"),
    Code.TOO_MANY_RECORDS: ("12", ""),  # invalid value: the file was rejected at a limit
    Code.TOO_MANY_ERRORS: ("12", ""),
}
_GROUP = {
    Code.UNKNOWN_SENDER: ("12", "UNG"),
    Code.UNKNOWN_RECEIVER: ("12", "UNG"),
    Code.GROUP_CONTROL_MISMATCH: ("28", "UNE"),
    Code.GROUP_COUNT_MISMATCH: ("29", "UNE"),
    Code.GROUP_TRAILER_MISSING: ("13", "UNE"),
    Code.DATA_OUTSIDE_ENVELOPE: ("33", ""),
}
_MESSAGE = {  # in order of precedence: a UCM carries one code
    Code.UNSUPPORTED_TRANSACTION: ("17", "UNH"),
    Code.SET_TRAILER_MISSING: ("13", "UNT"),
    Code.SET_COUNT_MISMATCH: ("29", "UNT"),
    Code.SET_CONTROL_MISMATCH: ("28", "UNT"),
    Code.DUPLICATE_CONTROL_NUMBER: ("26", "UNH"),
}
_SEGMENT = {
    Code.UNKNOWN_SEGMENT: "15",
    Code.SEGMENT_NOT_IN_TRANSACTION: "15",
    Code.SEGMENT_REPEATED: "35",
    Code.SEGMENT_MISSING: "13",
}
_ELEMENT = {
    Code.ELEMENT_MISSING: "13",
    Code.ELEMENT_TOO_LONG: "39",
    Code.ELEMENT_TOO_SHORT: "40",
    Code.INVALID_NUMBER: "37",
    Code.INVALID_CHARACTER: "21",
}
_PROPAGATED = frozenset({Code.INTERCHANGE_REJECTED, Code.GROUP_REJECTED})


def build_contrl(parsed: ParsedFile, control_number: int, at: datetime) -> bytes | None:
    ic = parsed.interchange
    assert ic is not None
    kinds = {t.kind for t in parsed.transactions}
    if kinds == {"CONTRL"}:
        return None
    sep = ic.separators
    writer = _Writer(sep)
    interchange_errors = [e for e in parsed.errors if e.code in _INTERCHANGE and not _in_group(parsed, e)]
    body: list[list] = [_uci(ic, interchange_errors)]
    if parsed.groups:
        for group in parsed.groups:
            body.extend(_ucf(parsed, group))
    else:
        for tx in parsed.transactions:
            body.extend(_ucm(tx))
    segments = [["UNH", "1", ["CONTRL", "D", "3", "UN"]], *body]
    segments.append(["UNT", str(len(segments) + 1), "1"])
    sender = [ic.receiver_id, ic.receiver_qualifier] if ic.receiver_qualifier else [ic.receiver_id]
    recipient = [ic.sender_id, ic.sender_qualifier] if ic.sender_qualifier else [ic.sender_id]
    unb = [
        "UNB",
        ic.version.split(":"),
        sender,
        recipient,
        [at.strftime("%y%m%d"), at.strftime("%H%M")],
        str(control_number),
    ]
    text = writer.una() + writer.segment(unb) + "".join(writer.segment(s) for s in segments)
    text += writer.segment(["UNZ", "1", str(control_number)])
    encoding = "utf-8" if ic.version.startswith(("UNOW", "UNOY")) else "latin-1"
    return text.encode(encoding, errors="replace")


def _in_group(parsed: ParsedFile, error: FileError) -> bool:
    return any(error in g.errors for g in parsed.groups)


def _uci(ic, errors: list[FileError]) -> list:
    sender = [ic.sender_id, ic.sender_qualifier] if ic.sender_qualifier else [ic.sender_id]
    recipient = [ic.receiver_id, ic.receiver_qualifier] if ic.receiver_qualifier else [ic.receiver_id]
    uci = ["UCI", ic.control_number, sender, recipient, REJECTED if errors else ACCEPTED]
    if errors:
        code, tag = _INTERCHANGE[errors[0].code]
        uci += [code, tag]
    return uci


def _ucf(parsed: ParsedFile, group: Group) -> list[list]:
    ucf = [
        "UCF",
        group.control_number,
        group.header.get("S006", group.sender_id).split(":"),
        group.header.get("S007", group.receiver_id).split(":"),
    ]
    coded = [e for e in group.errors if e.code in _GROUP]
    ucf.append(REJECTED if group.errors else ACCEPTED)
    if coded:
        code, tag = _GROUP[coded[0].code]
        ucf += [code, tag]
    out = [ucf]
    for index in group.transaction_indexes:
        out.extend(_ucm(parsed.transactions[index - 1]))
    return out


def _ucm(tx: Transaction) -> list[list]:
    ucm = [
        "UCM",
        tx.control_number or "",
        tx.header.get("S009", tx.kind).split(":"),
        ACCEPTED if tx.accepted else REJECTED,
    ]
    coded = sorted((e for e in tx.errors if e.code in _MESSAGE), key=lambda e: list(_MESSAGE).index(e.code))
    if coded:
        code, tag = _MESSAGE[coded[0].code]
        ucm += [code, tag]
    out = [ucm]
    by_position: dict[int, list[FileError]] = {}
    for error in tx.errors:
        if (
            error.code not in _MESSAGE
            and error.code not in _PROPAGATED
            and error.transaction_position is not None
        ):
            by_position.setdefault(error.transaction_position, []).append(error)
    for position, errors in sorted(by_position.items()):
        segment_codes = [_SEGMENT[e.code] for e in errors if e.code in _SEGMENT]
        out.append(["UCS", str(position), *segment_codes[:1]])
        for error in (e for e in errors if e.element_position):
            where = [str(error.element_position)] + (
                [str(error.component_position)] if error.component_position else []
            )
            out.append(["UCD", _ELEMENT.get(error.code, "12"), where])
    return out


class _Writer:
    def __init__(self, separators: dict[str, str]) -> None:
        self.s = separators

    def una(self) -> str:
        if not self.s.get("una"):
            return ""
        s = self.s
        return (
            f"UNA{s['component']}{s['element']}{s['decimal']}{s['release']}{s['repetition']}{s['segment']}\n"
        )

    def escape(self, value: str) -> str:
        release = self.s["release"]
        if release == " ":
            return value
        for char in (release, self.s["component"], self.s["element"], self.s["segment"]):
            value = value.replace(char, release + char)
        return value

    def segment(self, parts: list) -> str:
        elements = []
        for part in parts:
            components = part if isinstance(part, list) else [part]
            while len(components) > 1 and not components[-1]:
                components = components[:-1]
            elements.append(self.s["component"].join(self.escape(c) for c in components))
        while len(elements) > 1 and not elements[-1]:
            elements.pop()
        return self.s["element"].join(elements) + self.s["segment"] + "\n"
