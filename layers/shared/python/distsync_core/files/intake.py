"""Managed file intake: one partner file from the landing bucket to canonical events, an acknowledgment,
an error report and the original kept. Plain logic over three small ports (objects, registry, publisher),
so it runs the same on AWS, on moto and in unit tests.

Keys (see infra/platform/file_landing.py): the partner writes ``inbound/<partner>/<name>``; distsync
writes the acknowledgment to ``outbound/<partner>/<fileId>-<name>.<997|contrl>``, an error report (whenever
anything was rejected) to ``rejected/<partner>/<fileId>-<name>.errors.json``, and moves the original to
``archive/<partner>/<date>/<fileId>-<name>`` (something was accepted) or ``rejected/<partner>/<fileId>-<name>``
(nothing was). The file id (``<partner>-<first 12 hex digits of the sha256>``) keeps the outputs of two
files a partner sent under one name apart (issue 12, finding 17). A file rejected unread (unknown partner,
unusable name, too large) has no checksum: it is kept as ``rejected/<partner>/<name>``.

Guarantees:
- the same bytes twice (same sha256) are applied once: the registry claims the checksum before anything
  is published; a second copy is archived as a duplicate with a ledger hop saying so;
- a retry after a crash republishes the same event ids (derived from checksum and position), which the
  consumers' idempotency absorbs;
- every transaction set / message / line ends in an event or in the error report (``ParsedFile.accounting``),
  including those rejected here because their item-location is unknown to master data.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import unquote_plus

from ..contracts import contract_for, derive_id, new_envelope
from . import acknowledgment, parse_file
from .model import DEFAULT_MAX_RECORDS, Code, FileError, FileFormat, ParsedFile, PartnerProfile

INBOUND, ARCHIVE, REJECTED, OUTBOUND = "inbound/", "archive/", "rejected/", "outbound/"
MAX_FILE_BYTES = 50 * 1024 * 1024
# A partner's file name: what its archive, report and acknowledgment keys are made of. S3 keys stop at 1,024
# bytes, and a name may not be a path or carry control characters.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._:+@=,()\-]{0,199}$")
ACK_SUFFIX = {FileFormat.X12: "997", FileFormat.EDIFACT: "contrl"}


class Objects(Protocol):
    def size(self, key: str) -> int | None: ...  # None: the object is gone
    def get(self, key: str, max_bytes: int) -> bytes: ...  # at most max_bytes + 1 bytes: more says "too big"
    def put(self, key: str, body: bytes, content_type: str) -> None: ...
    def move(self, source: str, target: str) -> None: ...


class Registry(Protocol):
    def claim(self, checksum: str, key: str) -> dict[str, Any] | None:
        """None when the checksum was free (now claimed) or is claimed by an unfinished attempt (a retry);
        the record of the file that completed with these bytes otherwise."""

    def complete(self, checksum: str, outcome: dict[str, Any]) -> None: ...


Publish = Callable[[list[Any]], None]  # envelopes onto the bus
Hop = Callable[..., None]  # ledger.hop
KnownItemLocations = Callable[[set[tuple[str, str]]], set[tuple[str, str]]]


@dataclass(frozen=True)
class FileKey:
    partner: str
    name: str

    @property
    def inbound(self) -> str:
        return f"{INBOUND}{self.partner}/{self.name}"


def parse_key(key: str) -> FileKey | None:
    if not key.startswith(INBOUND):
        return None
    partner, _, name = key[len(INBOUND):].partition("/")
    return FileKey(partner, name) if partner and name and not name.endswith("/") else None


def _stand_in_name(name: str) -> str:
    """The name a file with an unusable name is kept under in rejected/ (its real key is in the report)."""
    return f"unusable-name-{hashlib.sha256(name.encode('utf-8', 'surrogateescape')).hexdigest()[:16]}"


def partner_profiles(raw: str | dict[str, Any]) -> dict[str, PartnerProfile]:
    """Partner registry from configuration (context ``filePartners``): id -> {source, senderIds,
    receiverIds, formats, defaultLocationId, locationMap, itemQualifiers, supplierId, defaultCarrier,
    timezone, defaultUnitOfMeasure} (:meth:`PartnerProfile.from_config`: an unknown setting is refused)."""
    config = json.loads(raw) if isinstance(raw, str) else raw
    return {partner_id: PartnerProfile.from_config(partner_id, p) for partner_id, p in (config or {}).items()}


def ack_control_number(checksum: str) -> int:
    """Deterministic (a reprocessed file answers with the same acknowledgment), 1..999,999,999."""
    return int(checksum[:12], 16) % 999_999_999 + 1


def file_id(partner: str, checksum: str) -> str:
    return f"{partner}-{checksum[:12]}"


@dataclass(frozen=True)
class OutputKeys:
    """Where distsync writes what it made of one file it read."""

    partner: str
    name: str  # the partner's file name
    file_id: str

    @property
    def stored(self) -> str:
        """The name every output of this file carries: the file id first, the partner's name (and its
        extension) kept whole."""
        return f"{self.file_id}-{self.name}"

    def acknowledgment(self, fmt: FileFormat) -> str:
        return f"{OUTBOUND}{self.partner}/{self.stored}.{ACK_SUFFIX[fmt]}"

    @property
    def report(self) -> str:
        return f"{REJECTED}{self.partner}/{self.stored}.errors.json"

    @property
    def rejected(self) -> str:
        return f"{REJECTED}{self.partner}/{self.stored}"

    def archive(self, day: datetime) -> str:
        return f"{ARCHIVE}{self.partner}/{day:%Y-%m-%d}/{self.stored}"


def output_keys(partner: str, name: str, checksum: str) -> OutputKeys:
    return OutputKeys(partner, name, file_id(partner, checksum))


def _item_locations(data: dict[str, Any]) -> Iterable[tuple[str, str]]:
    if "itemId" in data and "locationId" in data:
        yield data["itemId"], data["locationId"]
    for line in data.get("lines", []) or []:
        if isinstance(line, dict) and "itemId" in line and "locationId" in line:
            yield line["itemId"], line["locationId"]


def reject_unknown_item_locations(parsed: ParsedFile, known: KnownItemLocations) -> None:
    """Governance: a transaction naming an item-location unknown to master data is rejected with the reason
    (master data itself, ItemLocationUpserted, is what makes them known and is not checked)."""
    wanted: dict[int, set[tuple[str, str]]] = {}
    for tx in parsed.accepted_transactions:
        keys = {k for e in tx.events if e.event_type != "ItemLocationUpserted" for k in _item_locations(e.data)}
        if keys:
            wanted[tx.index] = keys
    if not wanted:
        return
    found = known(set().union(*wanted.values()))
    for tx in parsed.transactions:
        for item, location in sorted(wanted.get(tx.index, set()) - found):
            tx.add(FileError(Code.UNKNOWN_MASTER_DATA, f"item-location {item}@{location} is unknown to master "
                             "data (no ItemLocationUpserted)", value=f"{item}@{location}",
                             line=tx.first_line, segment_position=tx.first_segment))


@dataclass
class Outcome:
    status: str  # accepted / partially_accepted / rejected / duplicate / unreadable
    file_id: str
    events: int = 0
    accepted: int = 0
    rejected: int = 0
    original: str | None = None
    acknowledgment: str | None = None
    report: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class FileIntake:
    def __init__(self, objects: Objects, registry: Registry, publish: Publish, hop: Hop,
                 known: KnownItemLocations, partners: dict[str, PartnerProfile],
                 now: Callable[[], datetime] = lambda: datetime.now(UTC), max_records: int = DEFAULT_MAX_RECORDS):
        self.objects, self.registry, self.publish, self.hop = objects, registry, publish, hop
        self.known, self.partners, self.now = known, partners, now
        self.max_records = max_records  # segments / rows per file (context fileMaxRecords)

    def process(self, key: str, *, nonce: str = "") -> Outcome:
        where = parse_key(key)
        if where is None:  # not a partner file: keep it out of the way, with the reason
            return self._reject_unreadable(key, "_unknown", key.rsplit("/", 1)[-1] or "object",
                                           f"{key!r} is not inbound/<partner>/<file>", nonce)
        profile = self.partners.get(where.partner)
        if profile is None:
            known = ", ".join(sorted(self.partners)) or "none"
            return self._reject_unreadable(key, where.partner, where.name,
                                           f"unknown partner {where.partner!r} (configured: {known})", nonce)
        key, where, size = self._locate(key, where)
        if size is None:  # a redelivered notification after the file was processed and moved
            return Outcome("gone", f"{where.partner}-{where.name}")
        if not SAFE_NAME.match(where.name):
            return self._reject_unreadable(key, where.partner, _stand_in_name(where.name),
                                           f"file name {where.name[:80]!r}{'...' if len(where.name) > 80 else ''} "
                                           "is not 1-200 characters of A-Z a-z 0-9 space . _ : + @ = , ( ) -", nonce)
        # The size HEAD said, then a ranged read: the object may have grown since.
        raw = self.objects.get(key, MAX_FILE_BYTES) if size <= MAX_FILE_BYTES else b""
        if size > MAX_FILE_BYTES or len(raw) > MAX_FILE_BYTES:
            return self._reject_unreadable(key, where.partner, where.name,
                                           f"file larger than {MAX_FILE_BYTES} bytes", nonce)
        parsed = parse_file(raw, profile, file_name=where.name, max_records=self.max_records)
        fid = file_id(where.partner, parsed.checksum)
        earlier = self.registry.claim(parsed.checksum, key)
        if earlier is not None:
            return self._duplicate(key, where, fid, earlier, nonce)

        reject_unknown_item_locations(parsed, self.known)
        outcome = Outcome(parsed.status, fid, events=len(parsed.events), accepted=len(parsed.accepted_transactions),
                          rejected=len(parsed.rejected_transactions))
        self._publish(parsed, where, fid)
        keys = output_keys(where.partner, where.name, parsed.checksum)
        ack = acknowledgment(parsed, control_number=ack_control_number(parsed.checksum), at=self.now())
        if ack is not None:
            outcome.acknowledgment = keys.acknowledgment(parsed.format)
            self.objects.put(outcome.acknowledgment, ack, "application/edi-x12" if parsed.format is FileFormat.X12
                             else "application/edifact")
        if parsed.all_errors():
            outcome.report = keys.report
            report = parsed.error_report()
            report["file"].update(key=key, fileId=fid)
            self.objects.put(outcome.report, json.dumps(report, indent=2).encode(), "application/json")
        outcome.original = keys.rejected if parsed.status == "rejected" else keys.archive(self.now())
        self.objects.move(key, outcome.original)
        self.registry.complete(parsed.checksum, outcome.as_dict())
        self._file_hop(fid, parsed, outcome)
        return outcome

    # ------------------------------------------------------------------ steps
    def _locate(self, key: str, where: FileKey) -> tuple[str, FileKey, int | None]:
        """The key the file is under, and its size (None: gone). S3 may notify a key URL-encoded."""
        size = self.objects.size(key)
        if size is None and unquote_plus(key) != key:  # "a+b.edi", "%3A"
            decoded = parse_key(unquote_plus(key))
            if decoded is not None and decoded.partner == where.partner:
                return decoded.inbound, decoded, self.objects.size(decoded.inbound)
        return key, where, size

    def _publish(self, parsed: ParsedFile, where: FileKey, fid: str) -> None:
        envelopes = []
        for tx in parsed.transactions:
            cid = f"file-{fid}-{tx.index}"
            label = f"{tx.kind} #{tx.index} of {where.name} from {where.partner}"
            if not tx.accepted:
                reasons = "; ".join(e.reason for e in tx.errors[:3])
                self.hop(cid, "file", "rejected", f"{label} rejected: {reasons}", business_key=f"FILE#{fid}")
                continue
            for n, event in enumerate(tx.events):
                contract = contract_for(event.event_type, event.event_version)
                envelope = new_envelope(
                    contract, contract.model.model_validate(event.data), source=event.source, correlation_id=cid,
                    occurred_at=event.occurred_at, event_id=derive_id(parsed.checksum, str(tx.index), str(n)),
                )
                envelopes.append(envelope)
                self.hop(cid, "file", "ok", f"{label}: {event.event_type} v{event.event_version}",
                         business_key=f"FILE#{fid}", event_id=envelope.metadata.event_id,
                         eventType=event.event_type)
        if envelopes:
            self.publish(envelopes)

    def _file_hop(self, fid: str, parsed: ParsedFile, outcome: Outcome) -> None:
        counts = parsed.accounting()
        detail = (f"{parsed.format} file {outcome.status}: {counts['inEvents']} of {counts['total']} "
                  f"{counts['unit']}(s) in {outcome.events} event(s), {counts['inErrors']} in the error report"
                  f"{'; acknowledgment ' + outcome.acknowledgment if outcome.acknowledgment else ''}")
        self.hop(f"file-{fid}", "file", "rejected" if outcome.status == "rejected" else "delivered", detail,
                 business_key=f"FILE#{fid}")

    def _duplicate(self, key: str, where: FileKey, fid: str, earlier: dict[str, Any], nonce: str) -> Outcome:
        target = f"{ARCHIVE}{where.partner}/duplicates/{self.now():%Y-%m-%dT%H%M%S}-{where.name}"
        self.objects.move(key, target)
        self.hop(f"file-{fid}-duplicate{nonce}", "file", "rejected",
                 f"{where.name}: the same bytes as {earlier.get('key', 'an earlier file')} (status "
                 f"{earlier.get('status', '?')}): not applied again, kept as {target}", business_key=f"FILE#{fid}")
        return Outcome("duplicate", fid, original=target)

    def _reject_unreadable(self, key: str, partner: str, name: str, reason: str, nonce: str) -> Outcome:
        fid = f"{partner}-{name}"
        original, report = f"{REJECTED}{partner}/{name}", f"{REJECTED}{partner}/{name}.errors.json"
        body = {"file": {"key": key, "partnerId": partner, "status": "rejected"},
                "errors": [{"code": "unreadable", "severity": "error", "reason": reason}]}
        self.objects.put(report, json.dumps(body, indent=2).encode(), "application/json")
        self.objects.move(key, original)
        self.hop(f"file-{fid}{nonce}", "file", "rejected", f"{name}: {reason}; moved to {original}",
                 business_key=f"FILE#{fid}")
        return Outcome("rejected", fid, original=original, report=report)

