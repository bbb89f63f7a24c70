"""Partner files (X12, EDIFACT, CSV) read into distsync's canonical events: plain Python, no AWS; and the
managed file intake built on them (:mod:`.intake`: one file from the landing bucket to events, an
acknowledgment and an error report, over the bucket and file registry of :mod:`.store`).

The managed file integration (landing bucket, Lambda, pipeline) calls one function::

    parsed = parse_file(raw_bytes, partner)          # never raises on bad content
    parsed.events                                    # CanonicalEvent(event_type, event_version, data, ...)
    acknowledgment(parsed, control_number=42)        # X12 997 / EDIFACT CONTRL bytes (None for CSV)
    parsed.error_report()                            # machine-readable: every error with its position

API
---
:func:`parse_file` ``(raw, partner, *, file_name=None, max_records=200_000) -> ParsedFile``
    Detects the format (X12 from "ISA", EDIFACT from "UNA"/"UNB", otherwise CSV), checks the partner may
    send it, validates envelopes and content, and turns each transaction into canonical events. A file of
    more than ``max_records`` segments (EDI) or rows (CSV) is rejected unread; reading stops at the
    1,001st error, and the file is rejected with its first 1,000 errors and "too many errors; stopped at
    segment N" (row N for CSV).
:func:`acknowledgment` ``(parsed, *, control_number=1, at=None) -> bytes | None``
    The X12 997 (:mod:`.x12_ack`) or EDIFACT CONTRL (:mod:`.edifact_ack`) answering a parsed file.
:class:`PartnerProfile`
    ``partner_id``, ``source`` (the webhook source it stands for: the contracts say which sources may
    produce which type), ``sender_ids`` / ``receiver_ids`` (EDI ids), ``formats``, ``location_map`` /
    ``default_location_id``, ``item_qualifiers``, ``default_carrier``, ``supplier_id``, ``timezone``.
:class:`ParsedFile`
    ``format``, ``checksum`` (sha256), ``interchange`` (ids and control number of the envelope),
    ``groups``, ``transactions``, file-level ``errors`` / ``warnings``, ``events`` (of the accepted
    transactions), ``status`` (accepted / partially_accepted / rejected), ``accounting()``,
    ``error_report()``.
:class:`Transaction`
    The unit accepted or rejected as a whole: an X12 transaction set, an EDIFACT message, a CSV line
    (item-location master data) or the lines of one item-location (forecasts). ``events`` (list of
    :class:`CanonicalEvent`: type, version, source, camelCase ``data`` validated by the contract model,
    ``occurred_at``, ``business_key``), ``errors``, ``warnings``, ``details``.
:class:`FileError`
    ``code`` (:class:`Code`), ``reason``, ``severity``, ``line``, ``segment_position``,
    ``transaction_position``, ``segment_id``, ``element``, ``value``.

Formats and the events they give
--------------------------------
* X12 (:mod:`.x12`, :mod:`.x12_sets`): 846 -> ``InventoryBalanceChanged`` v2 (lots from REF*LT),
  855 -> ``PurchaseOrderConfirmed``, 856 -> ``ShipmentMilestone`` "shipped"; 997s are recognised and
  validated; any other set is rejected by name. Answer: 997 (AK1/AK2/AK3/AK4/AK5/AK9), TA1 when the
  interchange itself is rejected.
* EDIFACT (:mod:`.edifact`, :mod:`.edifact_messages`): DESADV -> ``ShipmentMilestone`` "shipped",
  INVRPT -> ``InventoryBalanceChanged`` v2; other message types are rejected by name. Answer: CONTRL.
* CSV (:mod:`.csv_files`): item-location master data -> ``ItemLocationUpserted`` (one per line),
  forecasts (item, location, week start, quantity) -> ``DemandForecastPublished`` (one per
  item-location, its weeks as buckets). Answer: the error report.

Nothing is dropped silently: every transaction set, message or CSV data line is in an accepted
transaction (so in its events) or in a rejected one (so in the error report); ``accounting()`` counts it.
A transaction with any error gives no event at all (nothing half-applied).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from .edifact_ack import build_contrl
from .model import (
    DEFAULT_MAX_RECORDS,
    MAX_ERRORS,
    Budget,
    CanonicalEvent,
    Code,
    FileError,
    FileFormat,
    FileLimitExceeded,
    Group,
    Interchange,
    ParsedFile,
    PartnerProfile,
    Transaction,
)
from .x12_ack import build_997

__all__ = [
    "CanonicalEvent",
    "Code",
    "FileError",
    "FileFormat",
    "Group",
    "Interchange",
    "ParsedFile",
    "PartnerProfile",
    "Transaction",
    "acknowledgment",
    "detect_format",
    "parse_file",
]

_LEADING = b"\xef\xbb\xbf \t\r\n"


def detect_format(raw: bytes) -> FileFormat:
    """X12 when the file starts with ISA, EDIFACT with UNA or UNB, CSV when it is text with a header
    line, else unknown."""
    head = raw.lstrip(_LEADING)[:3]
    if head == b"ISA":
        return FileFormat.X12
    if head in (b"UNA", b"UNB"):
        return FileFormat.EDIFACT
    first_line = raw.lstrip(_LEADING).split(b"\n", 1)[0]
    if (
        first_line
        and b"\x00" not in raw[:4096]
        and any(sep in first_line for sep in (b",", b";", b"\t", b"|"))
    ):
        return FileFormat.CSV
    return FileFormat.UNKNOWN


def parse_file(raw: bytes, partner: PartnerProfile, *, file_name: str | None = None,
               max_records: int = DEFAULT_MAX_RECORDS) -> ParsedFile:
    """Read one partner file into canonical events, errors and what its acknowledgment needs."""
    fmt = detect_format(raw)
    parsed = ParsedFile(format=fmt, partner=partner, checksum=hashlib.sha256(raw).hexdigest(),
                        budget=Budget(max_records=max_records))
    where = f" ({file_name})" if file_name else ""
    if not raw.strip(_LEADING):
        parsed.add(FileError(Code.EMPTY_FILE, f"the file{where} is empty"))
        return parsed
    if fmt is FileFormat.UNKNOWN:
        parsed.add(
            FileError(
                Code.UNKNOWN_FORMAT,
                f"the file{where} is neither X12 (ISA), EDIFACT (UNA/UNB) nor CSV",
                line=1,
            )
        )
        return parsed
    if fmt not in partner.formats:
        allowed = ", ".join(sorted(str(f) for f in partner.formats)) or "none"
        parsed.add(
            FileError(
                Code.FORMAT_NOT_ALLOWED,
                f"partner {partner.partner_id!r} may not send {fmt} files (allowed: {allowed})",
                line=1,
            )
        )
        return parsed
    try:
        if fmt is FileFormat.X12:
            from .x12 import parse_x12

            parse_x12(raw.decode("latin-1"), parsed)
        elif fmt is FileFormat.EDIFACT:
            from .edifact import parse_edifact

            parse_edifact(raw, parsed)
        else:
            from .csv_files import parse_csv

            parse_csv(raw, parsed)
    except FileLimitExceeded as exc:
        return _stopped(parsed, exc.error)
    except Exception as exc:  # whatever the bytes, a file ends accepted or rejected: never a retry loop
        # Nothing of a file half read is kept: its events would be a part of it.
        unreadable = ParsedFile(format=fmt, partner=partner, checksum=parsed.checksum)
        unreadable.add(
            FileError(Code.UNREADABLE, f"the file{where} could not be read: {exc.__class__.__name__}: {exc}"[:500])
        )
        return unreadable
    return parsed


def _stopped(parsed: ParsedFile, error: FileError) -> ParsedFile:
    """A file that passed a limit: rejected as a whole with the errors recorded until then and the reason
    it stopped last. The interchange stays, so an EDI file is still answered (a rejecting TA1 / CONTRL);
    nothing else of a file half read is kept (its transactions would be a part of it)."""
    stopped = ParsedFile(format=parsed.format, partner=parsed.partner, checksum=parsed.checksum, kind=parsed.kind,
                         interchange=parsed.interchange, budget=parsed.budget)
    stopped.errors = [*parsed.all_errors()[:MAX_ERRORS], error]
    return stopped


def acknowledgment(parsed: ParsedFile, *, control_number: int = 1, at: datetime | None = None) -> bytes | None:
    """The functional acknowledgment to send back: an X12 997 (with a TA1 when the interchange itself is
    rejected or asked for one) or an EDIFACT CONTRL, accepting or rejecting each transaction set / message.
    ``control_number`` is the interchange (and group) control number of the answer: the caller keeps that
    counter per partner. None when there is nothing to acknowledge: CSV files (their answer is
    :meth:`ParsedFile.error_report`), files whose envelope could not be read, and X12 997s (an acknowledgment
    is never acknowledged)."""
    at = at or datetime.now(UTC)
    if parsed.interchange is None:
        return None
    if parsed.format is FileFormat.X12:
        return build_997(parsed, control_number, at)
    if parsed.format is FileFormat.EDIFACT:
        return build_contrl(parsed, control_number, at)
    return None
