"""The manifest (trigger) file of a forecast cycle: pure logic, no AWS.

Planning platforms that exchange files (Kinaxis, o9, Blue Yonder) upload the data first and a small trigger
file last, so the receiver never reads a file that is still being written. Here that file is
``cycles/<cycleId>.manifest.json``::

    {"cycleId": "2026-W48",
     "files": [{"name": "2026-W48.csv.gz", "rows": 120000, "sha256": "<64 hex digits, optional>"}]}

- ``name``: the data file beside the manifest (under ``cycles/``): this cycle's ``<cycleId>.csv`` or
  ``<cycleId>.csv.gz``; one data file per cycle (the state machine reads one);
- ``rows``: its data rows (lines after the header; a last line without a line break counts);
- ``sha256``: optional, of the file as uploaded (the gzip bytes of a ``.csv.gz``);
- ``cycleId``: optional, must be the one the manifest's name gives; other top-level fields are ignored.

:func:`trigger` says which landed object starts a cycle (with ``cycleManifestRequired`` only the manifest,
else either); :func:`parse_manifest` and :func:`check_listing` raise :class:`CycleFileRejected` with every
problem found, which the prepare step reports under ``rejected/cycles/<cycleId>/`` like any rejected file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from .cycles import CYCLE_PREFIX, CycleFileRejected, cycle_file

MANIFEST_SUFFIX = ".manifest.json"
MAX_MANIFEST_BYTES = 64 * 1024  # a manifest lists one file; anything near this is not one
_MANIFEST_KEY = re.compile(r"cycles/(?P<cycle>[A-Za-z0-9][A-Za-z0-9._\-]{0,63}?)\.manifest\.json")  # fullmatch
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Trigger:
    cycle_id: str
    kind: Literal["data", "manifest"]
    starts: bool  # False: a data file that waits for its manifest (cycleManifestRequired)


def manifest_key(cycle_id: str) -> str:
    return f"{CYCLE_PREFIX}{cycle_id}{MANIFEST_SUFFIX}"


def trigger(key: str, *, manifest_required: bool) -> Trigger:
    """What a key landing under ``cycles/`` means. Raises :class:`CycleFileRejected` for a name that is
    neither a cycle's data file nor its manifest."""
    match = _MANIFEST_KEY.fullmatch(key)
    if match:
        return Trigger(match.group("cycle"), "manifest", True)
    try:
        cycle = cycle_file(key)
    except CycleFileRejected:
        raise CycleFileRejected(
            f"{key!r} is neither cycles/<cycleId>.csv[.gz] nor cycles/<cycleId>{MANIFEST_SUFFIX} with a cycle id of "
            "letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit)"
        ) from None
    return Trigger(cycle.cycle_id, "data", not manifest_required)


@dataclass(frozen=True)
class ManifestFile:
    name: str
    rows: int
    sha256: str | None = None

    @property
    def key(self) -> str:
        return f"{CYCLE_PREFIX}{self.name}"


@dataclass(frozen=True)
class CycleManifest:
    cycle_id: str
    files: tuple[ManifestFile, ...]

    @property
    def data_file(self) -> ManifestFile:
        return self.files[0]


def _reject(cycle_id: str, problems: list[str]) -> CycleFileRejected:
    return CycleFileRejected(f"manifest of cycle {cycle_id}: " + "; ".join(problems))


def _file_entry(n: int, entry: object) -> ManifestFile | str:
    """One entry of ``files`` -> the file, or what is wrong with it."""
    if not isinstance(entry, dict):
        return f"files[{n}] is not an object"
    name, rows, digest = entry.get("name"), entry.get("rows"), entry.get("sha256")
    if not isinstance(name, str) or not name or "/" in name:
        return f"files[{n}].name must be a file name beside the manifest (no '/')"
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
        return f"files[{n}] ({name}): rows must be a whole number >= 0"
    if digest is not None and (not isinstance(digest, str) or not _SHA256.fullmatch(digest.lower())):
        return f"files[{n}] ({name}): sha256 must be 64 hexadecimal digits"
    return ManifestFile(name, rows, digest.lower() if isinstance(digest, str) else None)


def _one_data_file(cycle_id: str, files: list[ManifestFile]) -> list[str]:
    data_names = {f"{cycle_id}.csv", f"{cycle_id}.csv.gz"}
    problems = []
    extra = [f.name for f in files if f.name not in data_names]
    if extra:
        problems.append(f"lists {', '.join(extra)}: a cycle has one data file, {cycle_id}.csv or {cycle_id}.csv.gz")
    if len([f for f in files if f.name in data_names]) > 1:
        problems.append(f"lists both {cycle_id}.csv and {cycle_id}.csv.gz: a cycle has one data file")
    return problems


def parse_manifest(cycle_id: str, raw: bytes) -> CycleManifest:
    """The manifest of ``cycle_id`` from its bytes; every problem of it in one :class:`CycleFileRejected`."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise _reject(cycle_id, [f"more than {MAX_MANIFEST_BYTES} bytes"])
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _reject(cycle_id, [f"not JSON ({str(exc)[:200]})"]) from None
    if not isinstance(document, dict):
        raise _reject(cycle_id, ["not a JSON object"])
    problems: list[str] = []
    stated = document.get("cycleId", cycle_id)
    if stated != cycle_id:
        problems.append(f"cycleId {str(stated)[:80]!r} is not {cycle_id!r} (the manifest's name)")
    entries = document.get("files")
    if not isinstance(entries, list) or not entries:
        raise _reject(cycle_id, [*problems, "files must be a non-empty list of {name, rows[, sha256]}"])
    files: list[ManifestFile] = []
    for n, entry in enumerate(entries, 1):
        parsed = _file_entry(n, entry)
        if isinstance(parsed, str):
            problems.append(parsed)
        else:
            files.append(parsed)
    problems += _one_data_file(cycle_id, files)
    if problems:
        raise _reject(cycle_id, problems)
    return CycleManifest(cycle_id, tuple(files))


def check_listing(manifest: CycleManifest, present: Mapping[str, int]) -> ManifestFile:
    """The listed data file, once it is there and no other data file of the cycle is (``present``: key ->
    size of the objects under ``cycles/<cycleId>.``)."""
    listed = manifest.data_file
    problems = []
    if listed.key not in present:
        problems.append(f"{listed.name} is listed but not in {CYCLE_PREFIX} (upload the data before the manifest)")
    cycle_id = manifest.cycle_id
    unlisted = [key for key in (f"{CYCLE_PREFIX}{cycle_id}.csv", f"{CYCLE_PREFIX}{cycle_id}.csv.gz")
                if key in present and key != listed.key]
    if unlisted:
        problems.append(f"{', '.join(unlisted)} is there but not listed: which data file is the cycle's is unclear")
    if problems:
        raise _reject(cycle_id, problems)
    return listed
