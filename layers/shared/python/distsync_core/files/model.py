"""What parsing a partner file produces: the partner profile it is read for, canonical events, errors with
their position, transactions (the unit that is accepted or rejected as a whole) and the parsed file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import Any, Literal


class FileFormat(StrEnum):
    X12 = "x12"
    EDIFACT = "edifact"
    CSV = "csv"
    UNKNOWN = "unknown"


# Item number qualifiers tried in this order (X12 element 235 and EDIFACT 7143 codes): the first one a
# line carries is distsync's item id. SK SKU, BP buyer's part, IN buyer's item, VN/VP vendor's item/part,
# SA supplier's article, MG/MF manufacturer's part/article, EN EAN, UP UPC, UK GTIN-14, SRV GS1 GTIN.
DEFAULT_ITEM_QUALIFIERS = ("SK", "BP", "IN", "VN", "VP", "SA", "MG", "MF", "EN", "UP", "UK", "SRV")
WEBHOOK_SOURCES = frozenset({"erp", "planning", "wms", "tms", "supplier"})


class Code(StrEnum):
    """Machine-readable error codes (stable: the acknowledgments and the error report use them)."""

    # file
    EMPTY_FILE = "empty_file"
    UNKNOWN_FORMAT = "unknown_format"
    FORMAT_NOT_ALLOWED = "format_not_allowed"
    UNREADABLE = "unreadable"
    INVALID_CHARACTER = "invalid_character"
    TOO_MANY_RECORDS = "too_many_records"  # more segments / rows than the limit per file (fileMaxRecords)
    TOO_MANY_ERRORS = "too_many_errors"  # reading stopped at the limit of errors per file
    # envelopes
    ENVELOPE_INVALID = "envelope_invalid"
    UNKNOWN_SENDER = "unknown_sender"
    UNKNOWN_RECEIVER = "unknown_receiver"
    INTERCHANGE_CONTROL_MISMATCH = "interchange_control_mismatch"
    INTERCHANGE_COUNT_MISMATCH = "interchange_count_mismatch"
    INTERCHANGE_TRAILER_MISSING = "interchange_trailer_missing"
    DATA_OUTSIDE_ENVELOPE = "data_outside_envelope"
    GROUP_CONTROL_MISMATCH = "group_control_mismatch"
    GROUP_COUNT_MISMATCH = "group_count_mismatch"
    GROUP_TRAILER_MISSING = "group_trailer_missing"
    SET_CONTROL_MISMATCH = "set_control_mismatch"
    SET_COUNT_MISMATCH = "set_count_mismatch"
    SET_TRAILER_MISSING = "set_trailer_missing"
    DUPLICATE_CONTROL_NUMBER = "duplicate_control_number"
    UNSUPPORTED_TRANSACTION = "unsupported_transaction"
    INTERCHANGE_REJECTED = "interchange_rejected"
    GROUP_REJECTED = "group_rejected"
    # segments and elements
    UNKNOWN_SEGMENT = "unknown_segment"
    SEGMENT_NOT_IN_TRANSACTION = "segment_not_in_transaction"
    SEGMENT_MISSING = "segment_missing"
    SEGMENT_REPEATED = "segment_repeated"
    ELEMENT_MISSING = "element_missing"
    ELEMENT_TOO_LONG = "element_too_long"
    ELEMENT_TOO_SHORT = "element_too_short"
    INVALID_NUMBER = "invalid_number"
    INVALID_CODE = "invalid_code"
    INVALID_DATE = "invalid_date"
    INVALID_TIME = "invalid_time"
    # content
    MISSING_DATA = "missing_data"
    UNKNOWN_LOCATION = "unknown_location"
    UNKNOWN_MASTER_DATA = "unknown_master_data"  # set by the file intake (master data check), not the parser
    CONTRACT_VIOLATION = "contract_violation"
    SOURCE_NOT_ALLOWED = "source_not_allowed"
    # csv
    INVALID_HEADER = "invalid_header"
    WRONG_FIELD_COUNT = "wrong_field_count"
    DUPLICATE_ROW = "duplicate_row"


# Limits per file (issue 12, finding 4): 300 KB of bare "GS~" segments made a million errors and ~800 MB.
MAX_ERRORS = 1_000  # errors recorded per file; the next one stops the reading and rejects the file
MAX_WARNINGS = 1_000  # warnings recorded per file; later ones are counted, not kept (they reject nothing)
DEFAULT_MAX_RECORDS = 200_000  # segments (EDI) or rows (CSV) per file: context fileMaxRecords


class FileLimitExceeded(Exception):  # noqa: N818 - a rejection, not a programming error
    """A file passed a limit while it was read: ``parse_file`` rejects it with ``error`` (never raised out of it)."""

    def __init__(self, error: FileError):
        super().__init__(error.reason)
        self.error = error


@dataclass
class Budget:
    """What one file may cost while it is read: ``max_records`` segments or rows (the tokenizers check it)
    and :data:`MAX_ERRORS` errors; shared by the file and its transactions, which spend it as they record."""

    max_records: int = DEFAULT_MAX_RECORDS
    max_errors: int = MAX_ERRORS
    unit: str = "segment"  # what a position counts in the "stopped at" message: segment (EDI) or row (CSV)
    errors: int = 0
    warnings: int = 0
    warnings_dropped: int = 0

    def admit(self, issue: FileError) -> bool:
        """Count ``issue``; False for a warning past :data:`MAX_WARNINGS` (not kept), and the error past
        ``max_errors`` stops the reading (:class:`FileLimitExceeded`)."""
        if issue.severity != "error":
            self.warnings += 1
            if self.warnings > MAX_WARNINGS:
                self.warnings_dropped += 1
                return False
            return True
        self.errors += 1
        if self.errors > self.max_errors:
            position = issue.segment_position if self.unit == "segment" else issue.line
            where = f"{self.unit} {position}" if position is not None else f"line {issue.line}"
            raise FileLimitExceeded(FileError(
                Code.TOO_MANY_ERRORS, f"too many errors; stopped at {where} (more than {self.max_errors} errors)",
                line=issue.line, segment_position=issue.segment_position, segment_id=issue.segment_id))
        return True

    def check_records(self, count: int, *, line: int | None = None) -> None:
        """Called by the tokenizers as they go: past ``max_records`` the file is rejected unread."""
        if count > self.max_records:
            raise FileLimitExceeded(FileError(
                Code.TOO_MANY_RECORDS, f"the file has more than {self.max_records} {self.unit}s (the limit per file, "
                "fileMaxRecords): rejected unread", line=line))


@dataclass(frozen=True)
class PartnerProfile:
    """Who sent a file and how to read it.

    ``source`` is the webhook source the partner stands for (``erp``, ``planning``, ``wms``, ``tms``,
    ``supplier``): a transaction becomes an event only if the contract lets that source produce it.
    ``sender_ids`` are the partner's EDI ids (ISA06/GS02, UNB/UNG sender): an interchange or group from
    any other id is rejected. ``receiver_ids`` (optional) are distsync's ids the partner must address.
    ``location_map`` translates the partner's location codes (N1/NAD/LOC) to distsync location ids
    (unmapped codes are used as they are); ``default_location_id`` is used when a file names none.
    Dates without a time zone are read in ``timezone``.
    """

    partner_id: str
    source: str
    sender_ids: tuple[str, ...] = ()
    receiver_ids: tuple[str, ...] = ()
    formats: frozenset[FileFormat] = frozenset({FileFormat.X12, FileFormat.EDIFACT, FileFormat.CSV})
    default_location_id: str | None = None
    location_map: Mapping[str, str] = field(default_factory=dict, hash=False)
    item_qualifiers: tuple[str, ...] = DEFAULT_ITEM_QUALIFIERS
    default_carrier: str | None = None
    supplier_id: str | None = None
    timezone: str = "UTC"
    default_unit_of_measure: str = "EA"

    def __post_init__(self) -> None:
        if self.source not in WEBHOOK_SOURCES:
            raise ValueError(f"unknown source {self.source!r} (known: {', '.join(sorted(WEBHOOK_SOURCES))})")
        object.__setattr__(self, "sender_ids", tuple(s.strip() for s in self.sender_ids))
        object.__setattr__(self, "receiver_ids", tuple(s.strip() for s in self.receiver_ids))
        object.__setattr__(self, "formats", frozenset(FileFormat(f) for f in self.formats))
        self.tz()  # fail on an unknown zone when the profile is made, not on the first file

    @classmethod
    def from_config(cls, partner_id: str, config: Mapping[str, Any]) -> PartnerProfile:
        """A profile from the camelCase partner configuration (``source``, ``senderIds``,
        ``receiverIds``, ``formats``, ``locationMap``, ``defaultLocationId``, ``itemQualifiers``,
        ``defaultCarrier``, ``supplierId``, ``timezone``, ``defaultUnitOfMeasure``)."""
        names = {
            "senderIds": "sender_ids",
            "receiverIds": "receiver_ids",
            "formats": "formats",
            "locationMap": "location_map",
            "defaultLocationId": "default_location_id",
            "itemQualifiers": "item_qualifiers",
            "defaultCarrier": "default_carrier",
            "supplierId": "supplier_id",
            "timezone": "timezone",
            "defaultUnitOfMeasure": "default_unit_of_measure",
        }
        unknown = set(config) - set(names) - {"source"}
        if unknown:
            raise ValueError(f"unknown partner setting(s) {', '.join(sorted(unknown))} for {partner_id!r}")
        kwargs: dict[str, Any] = {names[k]: v for k, v in config.items() if k in names}
        for key in ("sender_ids", "receiver_ids", "item_qualifiers"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        if "formats" in kwargs:
            kwargs["formats"] = frozenset(kwargs["formats"])
        if "location_map" in kwargs:
            kwargs["location_map"] = dict(kwargs["location_map"])
        return cls(partner_id=partner_id, source=config["source"], **kwargs)

    def tz(self) -> tzinfo:
        if self.timezone in ("UTC", "Z"):
            return UTC
        from zoneinfo import ZoneInfo  # only partners with a named zone pay for it

        return ZoneInfo(self.timezone)

    @property
    def effective_supplier_id(self) -> str:
        return self.supplier_id or self.partner_id


@dataclass(frozen=True)
class FileError:
    """One problem, with where it is. ``line`` is the 1-based line of the file; ``segment_position`` the
    1-based position of the segment in the file (ISA / UNB is 1; UNA is not counted) and
    ``transaction_position`` its position in its transaction set or message (ST / UNH is 1)."""

    code: Code
    reason: str
    severity: Literal["error", "warning"] = "error"
    line: int | None = None
    segment_position: int | None = None
    transaction_position: int | None = None
    segment_id: str | None = None
    element: str | None = None  # e.g. "SE01", "QTY02", "UNT 0074", a CSV column
    element_position: int | None = None  # 1-based data element position in the segment
    component_position: int | None = None
    element_ref: str | None = None  # X12 data element reference number (for AK4)
    value: str | None = None
    transaction_index: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": str(self.code), "severity": self.severity, "reason": self.reason}
        for key, name in (
            ("line", "line"),
            ("segment_position", "segmentPosition"),
            ("transaction_position", "positionInTransaction"),
            ("segment_id", "segmentId"),
            ("element", "element"),
            ("value", "value"),
            ("transaction_index", "transactionIndex"),
        ):
            value = getattr(self, key)
            if value is not None:
                out[name] = value
        return out


@dataclass(frozen=True)
class CanonicalEvent:
    """A canonical event ready for the bus: ``data`` is camelCase JSON, validated by the contract model."""

    event_type: str
    event_version: str
    source: str
    data: dict[str, Any]
    occurred_at: datetime | None = None
    business_key: str | None = None


@dataclass
class Transaction:
    """The unit accepted or rejected as a whole: an X12 transaction set, an EDIFACT message, a CSV line
    (item-location master data) or the lines of one item-location (forecasts). Accepted means no error:
    its events are then all valid; a rejected transaction contributes no event at all."""

    index: int
    kind: str  # "846", "855", "856", "997", "850", "DESADV", "INVRPT", "item-location", "forecast", ...
    control_number: str | None = None
    group_control_number: str | None = None
    first_line: int | None = None
    last_line: int | None = None
    first_segment: int | None = None  # file position of ST / UNH
    segment_count: int | None = None  # segments actually found, header and trailer included
    lines: tuple[int, ...] = ()  # CSV: the data lines this transaction covers
    header: dict[str, str] = field(default_factory=dict)  # what an acknowledgment copies (ST03, UNH S009)
    events: list[CanonicalEvent] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    warnings: list[FileError] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    budget: Budget | None = field(default=None, repr=False, compare=False)  # the file's (ParsedFile.budget)

    @property
    def accepted(self) -> bool:
        return not self.errors

    @property
    def status(self) -> str:
        return "accepted" if self.accepted else "rejected"

    def add(self, issue: FileError) -> None:
        target = self.errors if issue.severity == "error" else self.warnings
        issue = _with_index(issue, self.index)
        # the same finding reached twice (one N1 for several lines) is one
        if issue not in target and (self.budget is None or self.budget.admit(issue)):
            target.append(issue)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "kind": self.kind, "status": self.status}
        for key, name in (
            ("control_number", "controlNumber"),
            ("group_control_number", "groupControlNumber"),
        ):
            if getattr(self, key) is not None:
                out[name] = getattr(self, key)
        if self.first_line is not None:
            out["lines"] = list(self.lines) if self.lines else [self.first_line, self.last_line]
        if self.accepted:
            out["events"] = [
                {"eventType": e.event_type, "eventVersion": e.event_version, "businessKey": e.business_key}
                for e in self.events
            ]
        out["errors"] = [e.to_dict() for e in self.errors]
        out["warnings"] = [w.to_dict() for w in self.warnings]
        if self.details:
            out["details"] = self.details
        return out


def _with_index(issue: FileError, index: int) -> FileError:
    if issue.transaction_index == index:
        return issue
    return replace(issue, transaction_index=index)


@dataclass
class Interchange:
    """The outer envelope (ISA/IEA or UNB/UNZ) as received; the acknowledgment swaps sender and receiver."""

    sender_id: str
    sender_qualifier: str
    receiver_id: str
    receiver_qualifier: str
    control_number: str
    date: str
    time: str
    version: str  # ISA12, or the UNB syntax identifier and version ("UNOC:3")
    test: bool = False
    ack_requested: bool = False
    separators: dict[str, str] = field(default_factory=dict)
    newline_after_segment: bool = False


@dataclass
class Group:
    """A functional group (GS/GE, UNG/UNE) and the transactions in it."""

    functional_id: str
    control_number: str
    sender_id: str
    receiver_id: str
    version: str
    date: str = ""
    time: str = ""
    transaction_indexes: list[int] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    header: dict[str, str] = field(default_factory=dict)


@dataclass
class ParsedFile:
    """Everything read from one file. Never raised: a file that cannot be read is a ParsedFile with errors."""

    format: FileFormat
    partner: PartnerProfile
    checksum: str  # sha256 hex of the raw bytes: the same file twice has the same checksum
    kind: str | None = None  # CSV: "item-location" or "forecast"
    interchange: Interchange | None = None
    groups: list[Group] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)  # file level: format, envelopes, header
    warnings: list[FileError] = field(default_factory=list)
    budget: Budget = field(default_factory=Budget, repr=False, compare=False)

    @property
    def events(self) -> list[CanonicalEvent]:
        """The events of the accepted transactions, in file order."""
        return [e for t in self.transactions if t.accepted for e in t.events]

    @property
    def accepted_transactions(self) -> list[Transaction]:
        return [t for t in self.transactions if t.accepted]

    @property
    def rejected_transactions(self) -> list[Transaction]:
        return [t for t in self.transactions if not t.accepted]

    @property
    def status(self) -> str:
        """``accepted`` (no error anywhere), ``rejected`` (nothing accepted) or ``partially_accepted``."""
        accepted = self.accepted_transactions
        if not accepted:
            return "rejected"
        if self.errors or len(accepted) < len(self.transactions):
            return "partially_accepted"
        return "accepted"

    def add(self, issue: FileError) -> None:
        if self.budget.admit(issue):
            (self.errors if issue.severity == "error" else self.warnings).append(issue)

    def all_errors(self) -> list[FileError]:
        return [*self.errors, *(e for t in self.transactions for e in t.errors)]

    def accounting(self) -> dict[str, Any]:
        """Every unit of the file (transaction set, message, CSV data line) is either in an accepted
        transaction (and so in its events) or in a rejected one (and so in the error report)."""
        unit = {FileFormat.X12: "transaction_set", FileFormat.EDIFACT: "message"}.get(self.format, "line")
        if unit == "line":
            in_events = sorted(n for t in self.accepted_transactions for n in t.lines)
            in_errors = sorted(n for t in self.rejected_transactions for n in t.lines)
        else:
            in_events = [t.index for t in self.accepted_transactions]
            in_errors = [t.index for t in self.rejected_transactions]
        return {
            "unit": unit,
            "total": len(in_events) + len(in_errors),
            "inEvents": len(in_events),
            "inErrors": len(in_errors),
            "events": len(self.events),
            "acceptedUnits": in_events,
            "rejectedUnits": in_errors,
        }

    def error_report(self) -> dict[str, Any]:
        """Machine-readable report: the file, a summary with the unit accounting, every error and warning
        (file level and per transaction, each naming line, segment position, segment id, element, reason)
        and each transaction with its status."""
        file: dict[str, Any] = {
            "format": str(self.format),
            "partnerId": self.partner.partner_id,
            "checksum": f"sha256:{self.checksum}",
            "status": self.status,
        }
        if self.kind:
            file["kind"] = self.kind
        if self.interchange is not None:
            file["interchange"] = {
                "controlNumber": self.interchange.control_number,
                "senderId": self.interchange.sender_id,
                "receiverId": self.interchange.receiver_id,
                "test": self.interchange.test,
            }
        errors = self.all_errors()
        warnings = [*self.warnings, *(w for t in self.transactions for w in t.warnings)]
        return {
            "file": file,
            "summary": {
                "transactions": len(self.transactions),
                "accepted": len(self.accepted_transactions),
                "rejected": len(self.rejected_transactions),
                "events": len(self.events),
                "errors": len(errors),
                "warnings": len(warnings),
                **({"warningsNotRecorded": self.budget.warnings_dropped} if self.budget.warnings_dropped else {}),
                "accounting": self.accounting(),
            },
            "errors": [e.to_dict() for e in errors],
            "warnings": [w.to_dict() for w in warnings],
            "transactions": [t.to_dict() for t in self.transactions],
        }


def propagate_envelope_errors(parsed: ParsedFile, interchange_errors: list[FileError],
                              group_of: Mapping[int, Group]) -> None:
    """Envelope errors reject what the envelope holds, each transaction saying why (X12 and EDIFACT alike)."""
    for tx in parsed.transactions:
        if interchange_errors:
            reasons = "; ".join(e.reason for e in interchange_errors[:3])
            tx.add(FileError(Code.INTERCHANGE_REJECTED, f"the interchange is rejected: {reasons}", line=tx.first_line))
        group = group_of.get(tx.index)
        if group is not None and group.errors:
            reasons = "; ".join(e.reason for e in group.errors[:3])
            tx.add(FileError(Code.GROUP_REJECTED, f"functional group {group.control_number} is rejected: {reasons}",
                             line=tx.first_line))
        if tx.errors:
            tx.events.clear()
