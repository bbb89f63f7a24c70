"""Forecast cycles at planning scale: the pure logic of the bulk path.

A planning cycle file (``cycles/<cycleId>.csv[.gz]`` in the landing bucket, header
``itemId,locationId,safetyStock,reorderPoint``) is read by a Step Functions Distributed Map in batches; each
batch reaches the chunk function as ``{"Items": [{"index": <row>, "row": {<column>: <string>}}...],
"BatchInput": {"cycleId", "startedAt"}}``. Here, without touching AWS:

- :func:`parse_rows`: which rows are well formed (identifiers, finite non-negative numbers), which are
  rejected and why (a row short of columns arrives with empty strings, as the CSV reader fills them);
- :func:`assess`: against the last applied parameters of the item-location (master data), is the row a
  **material** change (above the tolerance), no change, or unknown; does its change need a planner;
- :func:`recommendation`: the ``ReplenishmentRecommended`` event of a material change, with an id derived
  from the cycle and the item-location, so a retried chunk emits the same ids (the planning pipeline's
  idempotency applies each once).
"""

from __future__ import annotations

import codecs
import hashlib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ..contracts import CONTRACTS, Envelope, ReplenishmentRecommended, derive_id, new_envelope
from ..masterdata.records import ItemLocationRecord, relative_change_percent
from .replenishment import NoChange, Quarantine, RequireApproval, decide

COLUMNS = ("itemId", "locationId", "safetyStock", "reorderPoint")
CYCLE_PREFIX = "cycles/"
WORK_PREFIX = "work/cycles/"  # plain CSV copies of gzip (or BOM-prefixed) cycle files, for the CSV reader
REJECTED_PREFIX = "rejected/cycles/"
MAX_QUANTITY = 1_000_000_000  # the contract's Quantity bound
RECOMMENDATION = CONTRACTS[("ReplenishmentRecommended", "1")]
COMPLETED = CONTRACTS[("ForecastCycleCompleted", "1")]
# The envelope's source of the recommendations: the planning platform's data, taken in through its file.
PLANNING_SOURCE = "planning"

_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,63}")  # contracts.Identifier (fullmatch: "A\n" is not one)
MAX_NUMBER_TEXT = 40  # characters of a quantity as written: longer is no quantity of the contract
# A cycle file past either is rejected (context cycleMaxUnzippedBytes / cycleMaxRows; issue 12, finding 4):
# a small .gz can expand to gigabytes, and each row is work for the Distributed Map.
DEFAULT_MAX_UNZIPPED_BYTES = 1024 * 1024 * 1024
DEFAULT_MAX_ROWS = 10_000_000
_CYCLE_KEY = re.compile(r"cycles/(?P<cycle>[A-Za-z0-9][A-Za-z0-9._\-]{0,63}?)\.csv(?P<gz>\.gz)?")  # fullmatch


class CycleFileRejected(Exception):
    """The cycle file cannot be processed at all (name, compression, header): nothing of it is applied.
    The class name is the error Step Functions sees (the state machine catches it by that name)."""


class CycleFileCheck:
    """What the prepare step checks while it streams a cycle file, plain or as it is decompressed: at most
    ``max_bytes`` plain bytes and ``max_rows`` lines after the header, and UTF-8 throughout (the CSV reader
    would fail the run on other bytes, after a retry loop). Raises :class:`CycleFileRejected` as soon as
    the file passes a limit, so a gzip bomb is never expanded further."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_UNZIPPED_BYTES, max_rows: int = DEFAULT_MAX_ROWS, *,
                 expected_rows: int | None = None, expected_sha256: str | None = None):
        self.max_bytes, self.max_rows = max_bytes, max_rows
        # what the cycle's manifest says (planning.manifest): checked at the end, before any row is applied
        self.expected_rows, self.expected_sha256 = expected_rows, expected_sha256
        self._digest = hashlib.sha256() if expected_sha256 else None
        self.bytes = self.newlines = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._last = b"\n"

    def feed_raw(self, data: bytes) -> None:
        """The file's bytes as stored (gzip for a .csv.gz), for the manifest's sha256."""
        if self._digest is not None:
            self._digest.update(data)

    @property
    def rows(self) -> int:
        """Data rows so far: lines after the header, a last line without a line break included."""
        return max(0, self.newlines + (self._last != b"\n") - 1)

    def feed(self, data: bytes) -> None:
        if not data:
            return
        start, self.bytes = self.bytes, self.bytes + len(data)
        if self.bytes > self.max_bytes:
            raise CycleFileRejected(f"the cycle file has more than {self.max_bytes} bytes unzipped (cycleMaxUnzippedBytes)")
        self.newlines += data.count(b"\n")
        if self.newlines > self.max_rows + 1:  # the header's line and one per row
            raise CycleFileRejected(f"the cycle file has more than {self.max_rows} rows (cycleMaxRows)")
        self._last = data[-1:]
        pending = len(self._decoder.getstate()[0])  # the start of a character cut by the previous chunk
        if pending or not data.isascii():  # plain ASCII (the usual cycle file) needs no decoding
            try:
                self._decoder.decode(data)
            except UnicodeDecodeError as exc:
                raise CycleFileRejected(f"byte {start + exc.start - pending} of the cycle file is not UTF-8") from None

    def finish(self) -> None:
        """The end of the file: a last line without a line break is a row too; no UTF-8 sequence cut off."""
        try:
            self._decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise CycleFileRejected(f"the cycle file ends inside a UTF-8 character (byte {self.bytes})") from None
        if self.rows > self.max_rows:
            raise CycleFileRejected(f"the cycle file has more than {self.max_rows} rows (cycleMaxRows)")
        if self.expected_rows is not None and self.rows != self.expected_rows:
            raise CycleFileRejected(f"the manifest says {self.expected_rows} rows, the cycle file has {self.rows}")
        if self._digest is not None and self._digest.hexdigest() != self.expected_sha256:
            raise CycleFileRejected(f"the cycle file's sha256 is {self._digest.hexdigest()}, the manifest says "
                                    f"{self.expected_sha256}")


@dataclass(frozen=True)
class CycleFile:
    cycle_id: str
    key: str
    compressed: bool


def cycle_file(key: str) -> CycleFile:
    """``cycles/<cycleId>.csv`` or ``cycles/<cycleId>.csv.gz``; the cycle id is an identifier of the
    contract (it names the Step Functions execution, at most 80 characters)."""
    match = _CYCLE_KEY.fullmatch(key)
    if not match:
        raise CycleFileRejected(
            f"{key!r} is not cycles/<cycleId>.csv or cycles/<cycleId>.csv.gz with a cycle id of letters, digits, "
            "'.', '_' or '-' (at most 64, starting with a letter or digit)"
        )
    return CycleFile(match.group("cycle"), key, bool(match.group("gz")))


def check_header(first_line: str) -> list[str]:
    """The column names of a cycle file's first line; every column of :data:`COLUMNS` must be there once
    (in any order: the CSV reader keys each row by the header; further columns are ignored)."""
    if first_line.startswith("\ufeff"):
        raise CycleFileRejected("the header starts with a byte order mark (it would be part of the first column name)")
    names = [n.strip().strip('"') for n in first_line.rstrip("\r\n").split(",")]
    missing = [c for c in COLUMNS if c not in names]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if missing or duplicated:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if duplicated:
            problems.append(f"duplicated {', '.join(duplicated)}")
        raise CycleFileRejected(
            f"header {first_line.strip()[:200]!r}: {'; '.join(problems)} (expected {','.join(COLUMNS)})"
        )
    return names


@dataclass(frozen=True)
class CycleRow:
    index: int  # 0-based data row (the Distributed Map's item index); file line = index + 2
    item_id: str
    location_id: str
    safety_stock: float
    reorder_point: float

    @property
    def key(self) -> tuple[str, str]:
        return self.item_id, self.location_id


@dataclass(frozen=True)
class RejectedRow:
    index: int
    reason: str
    values: Mapping[str, Any]

    def report(self) -> dict[str, Any]:
        return {"row": self.index + 1, "line": self.index + 2, "reason": self.reason, "values": dict(self.values)}


def _quantity(raw: Any, column: str) -> float:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(f"{column} is empty")
    text = raw.strip()
    try:
        # float() also reads "\u0661\u0662" (Arabic-Indic digits), "1_000" and 5,000 digits: ASCII, no "_", bounded
        if not text.isascii() or "_" in text or len(text) > MAX_NUMBER_TEXT:
            raise ValueError
        value = float(text)
    except ValueError:
        raise ValueError(f"{column} {raw[:40]!r} is not a number") from None
    if not math.isfinite(value) or not 0 <= value <= MAX_QUANTITY:
        raise ValueError(f"{column} {raw[:40]!r} is not a quantity in 0..{MAX_QUANTITY}")
    return value


def _identifier(raw: Any, column: str) -> str:
    if not isinstance(raw, str) or not raw:
        raise ValueError(f"{column} is empty")
    if not _IDENTIFIER.fullmatch(raw):
        raise ValueError(f"{column} {raw[:70]!r} is not an identifier (letters, digits, '.', '_', '-'; at most 64)")
    return raw


def parse_rows(items: Iterable[Mapping[str, Any]]) -> tuple[list[CycleRow], list[RejectedRow]]:
    """Batch items (``{"index", "row"}``) -> well-formed rows and rejected rows with the reason. A second row
    for an item-location already in the batch is rejected (one recommendation per item-location and cycle)."""
    rows: list[CycleRow] = []
    rejected: list[RejectedRow] = []
    seen: dict[tuple[str, str], int] = {}
    for item in items:
        index = int(item["index"])
        values = item.get("row")
        if not isinstance(values, Mapping):
            rejected.append(RejectedRow(index, "not a CSV row", {"row": values}))
            continue
        try:
            row = CycleRow(
                index,
                _identifier(values.get("itemId"), "itemId"),
                _identifier(values.get("locationId"), "locationId"),
                _quantity(values.get("safetyStock"), "safetyStock"),
                _quantity(values.get("reorderPoint"), "reorderPoint"),
            )
        except ValueError as exc:
            rejected.append(RejectedRow(index, str(exc), values))
            continue
        if row.key in seen:
            rejected.append(RejectedRow(index, f"duplicate of row {seen[row.key] + 1} for {row.item_id}@{row.location_id}",
                                        values))
            continue
        seen[row.key] = index
        rows.append(row)
    return rows, rejected


Kind = Literal["changed", "unchanged", "rejected"]


@dataclass(frozen=True)
class Assessment:
    row: CycleRow
    kind: Kind
    change_percent: float = 0.0
    requires_approval: bool = False
    reason: str = ""


def change_percent(current: ItemLocationRecord, row: CycleRow) -> float:
    """The larger relative change of the two parameters (as the planning transformer measures it)."""
    return max(
        relative_change_percent(current.safety_stock, row.safety_stock),
        relative_change_percent(current.reorder_point, row.reorder_point),
    )


def assess(
    row: CycleRow, current: ItemLocationRecord | None, *, cycle_id: str, tolerance_percent: float,
    threshold_percent: float,
) -> Assessment:
    """A change is material when it is strictly above ``tolerance_percent``; it needs a planner when the
    planning transformer's own decision (``decide``) would ask for one (above ``threshold_percent``)."""
    if current is None:
        return Assessment(row, "rejected", reason=f"unknown item-location {row.item_id}@{row.location_id}: not in master data")
    change = change_percent(current, row)
    if change <= tolerance_percent:
        return Assessment(row, "unchanged", change, reason=f"change {change:.2f}% within the {tolerance_percent}% tolerance")
    decision = decide(recommended(row, cycle_id), current, threshold_percent)
    if isinstance(decision, Quarantine | NoChange):  # unreachable for a known record with a change: be explicit
        return Assessment(row, "unchanged", change, reason=getattr(decision, "reason", ""))
    return Assessment(row, "changed", change, requires_approval=isinstance(decision, RequireApproval))


def recommended(row: CycleRow, cycle_id: str) -> ReplenishmentRecommended:
    return ReplenishmentRecommended(
        item_id=row.item_id,
        location_id=row.location_id,
        recommended_safety_stock=row.safety_stock,
        recommended_reorder_point=row.reorder_point,
        planning_cycle_id=cycle_id,
    )


def recommendation_event_id(cycle_id: str, item_id: str, location_id: str) -> str:
    return derive_id("ForecastCycle", cycle_id, item_id, location_id)


def row_correlation_id(cycle_id: str, item_id: str, location_id: str) -> str:
    """One transaction per item-location of a cycle (its own trace, approval and ERP update)."""
    return f"cycle-{cycle_id}-{item_id}-{location_id}"


def cycle_correlation_id(cycle_id: str) -> str:
    """The cycle as a whole: file accepted, execution, summary."""
    return f"cycle-{cycle_id}"


def recommendation(row: CycleRow, cycle_id: str, occurred_at: datetime) -> Envelope:
    """The event of a material change; the same row of the same cycle always gets the same event id."""
    return new_envelope(
        RECOMMENDATION,
        recommended(row, cycle_id),
        source=PLANNING_SOURCE,
        correlation_id=row_correlation_id(cycle_id, row.item_id, row.location_id),
        occurred_at=occurred_at,
        event_id=recommendation_event_id(cycle_id, row.item_id, row.location_id),
    )


@dataclass
class ChunkCounts:
    rows_read: int = 0
    changed: int = 0
    unchanged: int = 0
    rejected: int = 0
    approvals_required: int = 0
    events_emitted: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "rowsRead": self.rows_read,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "approvalsRequired": self.approvals_required,
            "eventsEmitted": self.events_emitted,
        }


@dataclass
class ChunkPlan:
    """What one batch amounts to: the events to emit, the rows to report, the counts to add."""

    cycle_id: str
    first_index: int
    events: list[Envelope] = field(default_factory=list)
    changes: list[Assessment] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    counts: ChunkCounts = field(default_factory=ChunkCounts)


def plan_chunk(
    cycle_id: str,
    items: list[Mapping[str, Any]],
    fetch: Callable[[list[tuple[str, str]]], Mapping[tuple[str, str], ItemLocationRecord]],
    *,
    occurred_at: datetime,
    tolerance_percent: float,
    threshold_percent: float,
) -> ChunkPlan:
    """The whole decision for one batch; ``fetch`` gives the master data of the well-formed rows'
    item-locations (one call per batch: a BatchGetItem on AWS, a dict in tests)."""
    rows, rejected = parse_rows(items)
    lookup = fetch([row.key for row in rows]) if rows else {}
    first = min((int(i["index"]) for i in items), default=0)
    plan = ChunkPlan(cycle_id, first, rejected=list(rejected))
    for row in rows:
        result = assess(row, lookup.get(row.key), cycle_id=cycle_id, tolerance_percent=tolerance_percent,
                        threshold_percent=threshold_percent)
        if result.kind == "rejected":
            plan.rejected.append(RejectedRow(row.index, result.reason, _values(row)))
        elif result.kind == "unchanged":
            plan.counts.unchanged += 1
        else:
            plan.changes.append(result)
            plan.events.append(recommendation(row, cycle_id, occurred_at))
            plan.counts.changed += 1
            plan.counts.approvals_required += int(result.requires_approval)
    plan.rejected.sort(key=lambda r: r.index)
    plan.counts.rows_read = len(items)
    plan.counts.rejected = len(plan.rejected)
    plan.counts.events_emitted = len(plan.events)
    return plan


def _values(row: CycleRow) -> dict[str, Any]:
    return {"itemId": row.item_id, "locationId": row.location_id, "safetyStock": row.safety_stock,
            "reorderPoint": row.reorder_point}


def rejected_report_key(cycle_id: str, first_index: int) -> str:
    """One report object per batch that had rejected rows; a retried batch overwrites its own."""
    return f"{REJECTED_PREFIX}{cycle_id}/rows-{first_index:010d}.json"


def rejected_file_key(cycle_id: str) -> str:
    return f"{REJECTED_PREFIX}{cycle_id}/file.errors.json"


def rejected_prefix_uri(bucket: str, cycle_id: str) -> str:
    return f"s3://{bucket}/{REJECTED_PREFIX}{cycle_id}/"


def work_key(cycle_id: str) -> str:
    return f"{WORK_PREFIX}{cycle_id}.csv"


def cycle_status(state: Mapping[str, Any]) -> tuple[str, str | None]:
    """The summary step's input -> (status, reason): a caught ``CycleFileRejected`` means the file was
    unusable, any other caught error that processing failed after its retries."""
    error = state.get("error")
    if not error:
        return "completed", None
    name = str(error.get("Error", "States.Runtime"))
    cause = str(error.get("Cause", ""))
    try:
        import json

        parsed = json.loads(cause)
        if isinstance(parsed, dict) and parsed.get("errorMessage"):
            cause = str(parsed["errorMessage"])
    except ValueError:
        pass
    if name == CycleFileRejected.__name__:
        return "rejected", cause[:1000]
    return "failed", f"{name}: {cause}"[:1000]
