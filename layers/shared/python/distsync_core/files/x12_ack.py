"""The X12 997 Functional Acknowledgment for a parsed interchange (and a TA1 when the interchange itself
is rejected or the partner asked for one in ISA14).

One 997 per received functional group (groups that are themselves 997s are never acknowledged): AK1
names the group, each transaction set gets AK2 and AK5 (A accepted, E accepted with warnings, R rejected,
with the reasons as AK5 codes), AK3/AK4 name the segment and element of each error, AK9 closes the group
with the counts (P when only some sets were accepted). Separators and version follow the received file.
"""

from __future__ import annotations

from datetime import datetime

from .model import Code, FileError, Group, ParsedFile, Transaction

# AK5 (718) codes for errors of the set's own envelope.
_AK5 = {
    Code.UNSUPPORTED_TRANSACTION: "1",
    Code.SET_TRAILER_MISSING: "2",
    Code.SET_CONTROL_MISMATCH: "3",
    Code.SET_COUNT_MISMATCH: "4",
    Code.DUPLICATE_CONTROL_NUMBER: "23",
}
# AK304 (720) segment syntax error codes.
_AK304 = {Code.UNKNOWN_SEGMENT: "1", Code.SEGMENT_MISSING: "3", Code.SEGMENT_NOT_IN_TRANSACTION: "6"}
# AK403 (723) data element syntax error codes; other errors naming an element are reported as "7".
_AK403 = {
    Code.ELEMENT_MISSING: "1",
    Code.ELEMENT_TOO_SHORT: "4",
    Code.ELEMENT_TOO_LONG: "5",
    Code.INVALID_NUMBER: "6",
    Code.INVALID_CODE: "7",
    Code.INVALID_DATE: "8",
    Code.INVALID_TIME: "9",
}
# AK905 (716) functional group error codes.
_AK9 = {Code.GROUP_TRAILER_MISSING: "3", Code.GROUP_CONTROL_MISMATCH: "4", Code.GROUP_COUNT_MISMATCH: "5"}
# TA105 (I18) interchange note codes, by error code and, for the ISA checks, by ISA element.
_TA1 = {
    Code.INTERCHANGE_CONTROL_MISMATCH: "001",
    Code.UNKNOWN_SENDER: "006",
    Code.UNKNOWN_RECEIVER: "009",
    Code.INTERCHANGE_COUNT_MISMATCH: "021",
    Code.INTERCHANGE_TRAILER_MISSING: "023",
    Code.DATA_OUTSIDE_ENVELOPE: "024",
    Code.TOO_MANY_RECORDS: "024",  # invalid interchange content: the file was rejected at a limit
    Code.TOO_MANY_ERRORS: "024",
}
_TA1_ISA = {9: "014", 10: "015", 12: "017", 13: "018", 14: "019", 15: "020", 16: "027"}


def build_997(parsed: ParsedFile, control_number: int, at: datetime) -> bytes | None:
    ic = parsed.interchange
    assert ic is not None
    interchange_errors = [e for e in parsed.errors if e.segment_id in ("ISA", "IEA") or e.code in _TA1]
    groups = [g for g in parsed.groups if g.functional_id != "FA"]
    if not groups and not interchange_errors and not ic.ack_requested:
        return None
    sep = ic.separators
    e = sep["element"]
    out: list[list[str]] = [_isa(parsed, control_number, at)]
    if interchange_errors or ic.ack_requested:
        code = _ta1_code(interchange_errors[0]) if interchange_errors else "000"
        out.append(["TA1", ic.control_number, ic.date, ic.time, "R" if interchange_errors else "A", code])
    if groups:
        version = groups[0].version or f"{ic.version}0"
        out.append(
            [
                "GS",
                "FA",
                groups[0].receiver_id,
                groups[0].sender_id,
                at.strftime("%Y%m%d"),
                at.strftime("%H%M"),
                str(control_number),
                "X",
                version,
            ]
        )
        for k, group in enumerate(groups, start=1):
            out.extend(_ack_group(parsed, group, f"{k:04d}", version, sep))
        out.append(["GE", str(len(groups)), str(control_number)])
    out.append(["IEA", "1" if groups else "0", f"{control_number:09d}"])
    terminator = sep["segment"] + ("\n" if ic.newline_after_segment else "")
    text = "".join(e.join(_trimmed(seg)) + terminator for seg in out)
    return text.encode("latin-1", errors="replace")


def _trimmed(seg: list[str]) -> list[str]:
    """X12 leaves no empty element at the end of a segment (the fixed-width ISA aside)."""
    if seg[0] == "ISA":
        return seg
    while len(seg) > 1 and not seg[-1]:
        seg = seg[:-1]
    return seg


def _isa(parsed: ParsedFile, control_number: int, at: datetime) -> list[str]:
    ic = parsed.interchange
    assert ic is not None
    return [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        ic.receiver_qualifier.ljust(2)[:2],
        ic.receiver_id.ljust(15)[:15],
        ic.sender_qualifier.ljust(2)[:2],
        ic.sender_id.ljust(15)[:15],
        at.strftime("%y%m%d"),
        at.strftime("%H%M"),
        ic.separators["repetition"],
        ic.version,
        f"{control_number:09d}",
        "0",
        "T" if ic.test else "P",
        ic.separators["component"],
    ]


def _ta1_code(error: FileError) -> str:
    if error.code in _TA1:
        return _TA1[error.code]
    if error.segment_id == "ISA" and error.element_position in _TA1_ISA:
        return _TA1_ISA[error.element_position]
    return "022"


def _ack_group(
    parsed: ParsedFile, group: Group, st02: str, version: str, separators: dict[str, str]
) -> list[list[str]]:
    five010 = version.startswith("005")
    ak1 = ["AK1", group.functional_id, group.control_number] + ([group.version] if five010 else [])
    segs: list[list[str]] = [["ST", "997", st02], ak1]
    txs = [parsed.transactions[i - 1] for i in group.transaction_indexes]
    for tx in txs:
        segs.extend(_ack_set(tx, five010, separators))
    accepted = sum(t.accepted for t in txs)
    declared = group.header.get("GE01", "").strip()
    codes = list(dict.fromkeys(_AK9[e.code] for e in group.errors if e.code in _AK9))[:5]
    segs.append(
        [
            "AK9",
            _group_status(group, txs, accepted),
            declared if declared.isdigit() else str(len(txs)),
            str(len(txs)),
            str(accepted),
            *codes,
        ]
    )
    segs.append(["SE", str(len(segs) + 1), st02])
    return segs


def _group_status(group: Group, txs: list[Transaction], accepted: int) -> str:
    if group.errors or not accepted:
        return "R"
    if accepted < len(txs):
        return "P"
    return "E" if any(t.warnings for t in txs) else "A"


def _ack_set(tx: Transaction, five010: bool, separators: dict[str, str]) -> list[list[str]]:
    ak2 = ["AK2", tx.header.get("ST01", tx.kind), tx.header.get("ST02", tx.control_number or "")]
    if five010 and tx.header.get("ST03"):
        ak2.append(tx.header["ST03"])
    segs: list[list[str]] = [ak2]
    by_segment: dict[int, list[FileError]] = {}
    for error in tx.errors:
        if error.code not in _AK5 and error.transaction_position is not None:
            by_segment.setdefault(error.transaction_position, []).append(error)
    for position, errors in sorted(by_segment.items()):
        segs.extend(_ak3(position, errors, separators))
    codes = list(dict.fromkeys(_AK5[e.code] for e in tx.errors if e.code in _AK5))
    if by_segment:
        codes.append("5")
    status = "A" if tx.accepted and not tx.warnings else "E" if tx.accepted else "R"
    segs.append(["AK5", status, *codes[:5]])
    return segs


def _ak3(position: int, errors: list[FileError], separators: dict[str, str]) -> list[list[str]]:
    first = errors[0]
    tag = first.value if first.code is Code.SEGMENT_MISSING and first.value else first.segment_id or ""
    segment_codes = [_AK304[e.code] for e in errors if e.code in _AK304]
    element_errors = [e for e in errors if e.element_position]
    code = segment_codes[0] if segment_codes else "8" if element_errors else ""
    segs = [["AK3", tag, str(position), "", code]]
    for error in element_errors[:99]:
        component = f"{separators['component']}{error.component_position}" if error.component_position else ""
        value = _clean(error.value or "", separators)
        segs.append(
            [
                "AK4",
                f"{error.element_position}{component}",
                error.element_ref or "",
                _AK403.get(error.code, "7"),
                value,
            ]
        )
    return segs


def _clean(value: str, separators: dict[str, str]) -> str:
    """A value copied from the received file must not carry a separator of the answer."""
    for name in ("element", "segment", "component", "repetition"):
        char = separators.get(name, "")
        if char and not char.isalnum():
            value = value.replace(char, " ")
    return value.strip()
