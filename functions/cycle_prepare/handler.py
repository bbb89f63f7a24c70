"""Forecast cycle, step 1 (state machine task): check the cycle file and make it readable by the
Distributed Map's CSV reader, which reads plain CSV only: a gzip file (or one with a byte order mark) is
streamed into ``work/cycles/<cycleId>.csv``, a plain one read through. Either way the whole file passes
``CycleFileCheck`` (UTF-8, at most ``CYCLE_MAX_UNZIPPED_BYTES`` plain bytes and ``CYCLE_MAX_ROWS`` rows).
A file that can never be processed (name, header, broken gzip, a limit, not UTF-8) raises ``CycleFileRejected`` with a report under ``rejected/cycles/<cycleId>/``; the state machine catches it
and the summary reports the cycle as rejected.

Started by the cycle's manifest (``cycles/<cycleId>.manifest.json``, see ``distsync_core.planning.manifest``),
it first reads the manifest and checks the listing (the data file there, no other one), then streams the data
file as above and compares its rows (and sha256, if given) with what the manifest says: a mismatch rejects the
cycle before any row is read by the Distributed Map."""

from __future__ import annotations

import zlib
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.planning.cycle_store import (
    CycleRunStore,
    copy_as_plain_csv,
    list_sizes,
    put_json,
    read_head,
    read_small,
    scan_object,
)
from distsync_core.planning.cycles import (
    CYCLE_PREFIX,
    DEFAULT_MAX_ROWS,
    DEFAULT_MAX_UNZIPPED_BYTES,
    CycleFileCheck,
    CycleFileRejected,
    check_header,
    cycle_correlation_id,
    cycle_file,
    rejected_file_key,
    work_key,
)
from distsync_core.planning.manifest import (
    MAX_MANIFEST_BYTES,
    ManifestFile,
    check_listing,
    parse_manifest,
    trigger,
)
from distsync_core.platform import ledger
from distsync_core.platform.config import env, env_int
from distsync_core.platform.observability import instrument, logger

STAGE = "cycle"


def _first_line(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    if "\n" not in text and len(data) >= 4096:
        raise CycleFileRejected("no line break in the first 4096 bytes: not a CSV cycle file")
    return text.split("\n", 1)[0]


def manifested_file(bucket: str, manifest_key: str, cycle_id: str) -> ManifestFile:
    """The data file a manifest lists, once the manifest and the cycle's files in the bucket agree."""
    manifest = parse_manifest(cycle_id, read_small(bucket, manifest_key, MAX_MANIFEST_BYTES))
    return check_listing(manifest, list_sizes(bucket, f"{CYCLE_PREFIX}{cycle_id}."))


def prepare(bucket: str, key: str, cycle_id: str) -> dict[str, Any]:
    listed = None
    if trigger(key, manifest_required=False).kind == "manifest":
        listed = manifested_file(bucket, key, cycle_id)
        key = listed.key
    cycle = cycle_file(key)
    if cycle.cycle_id != cycle_id:
        raise CycleFileRejected(f"{key} is not the file of cycle {cycle_id}")
    head = read_head(bucket, key)
    has_bom = head.startswith(b"\xef\xbb\xbf")
    csv_key = key
    size = None
    check = CycleFileCheck(env_int("CYCLE_MAX_UNZIPPED_BYTES", DEFAULT_MAX_UNZIPPED_BYTES),
                           env_int("CYCLE_MAX_ROWS", DEFAULT_MAX_ROWS),
                           expected_rows=listed.rows if listed else None,
                           expected_sha256=listed.sha256 if listed else None)
    if cycle.compressed or has_bom:
        csv_key = work_key(cycle_id)
        try:
            head, size = copy_as_plain_csv(bucket, key, csv_key, gzip=cycle.compressed, strip_bom=True, check=check)
        except (zlib.error, EOFError) as exc:
            raise CycleFileRejected(f"{key} is not a readable gzip file: {exc}") from exc
    if not head.strip():
        raise CycleFileRejected(f"{key} is empty")
    check_header(_first_line(head))
    if csv_key == key:  # read through once: the Distributed Map would fail the run on what the check rejects
        size = scan_object(bucket, key, check)
    run = CycleRunStore(env("CYCLE_RUNS_TABLE_NAME")).start(cycle_id, source_key=key, csv_key=csv_key,
                                                             compressed=cycle.compressed)
    return {"bucket": bucket, "csvKey": csv_key, "sourceKey": key, "startedAt": run["startedAt"],
            "plainBytes": size}


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    bucket, key, cycle_id = event["bucket"], event["key"], event["cycleId"]
    cid = cycle_correlation_id(cycle_id)
    logger.set_correlation_id(cid)
    try:
        prepared = prepare(bucket, key, cycle_id)
    except CycleFileRejected as exc:
        put_json(env("LANDING_BUCKET_NAME"), rejected_file_key(cycle_id),
                 {"cycleId": cycle_id, "file": key, "reason": str(exc)})
        logger.warning("cycle file rejected", extra={"key": key, "reason": str(exc)})
        raise
    detail = f"{key} ready for the chunked read as {prepared['csvKey']}"
    ledger.hop(cid, STAGE, "ok", detail, business_key=f"CYCLE#{cycle_id}")
    logger.info("cycle file prepared", extra=prepared)
    return prepared
