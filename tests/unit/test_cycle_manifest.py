"""The manifest of a forecast cycle (distsync_core.planning.manifest): which object starts a cycle, the
manifest's format, the listing against the bucket, and the counts the prepare step compares."""

from __future__ import annotations

import gzip
import hashlib
import json

import pytest

from distsync_core.planning.cycles import CycleFileCheck, CycleFileRejected
from distsync_core.planning.manifest import check_listing, parse_manifest, trigger


def manifest(**document: object) -> bytes:
    return json.dumps(document).encode()


GOOD = manifest(cycleId="w48", files=[{"name": "w48.csv.gz", "rows": 3, "sha256": "A" * 64}])


def test_the_manifest_always_starts_a_cycle_the_data_file_only_without_the_convention() -> None:
    assert trigger("cycles/w48.manifest.json", manifest_required=True) == trigger(
        "cycles/w48.manifest.json", manifest_required=False)
    assert trigger("cycles/w48.manifest.json", manifest_required=True).starts
    assert trigger("cycles/w48.csv.gz", manifest_required=False).starts
    data = trigger("cycles/w48.csv.gz", manifest_required=True)
    assert (data.cycle_id, data.kind, data.starts) == ("w48", "data", False)
    with pytest.raises(CycleFileRejected, match="neither"):
        trigger("cycles/w48.manifest.txt", manifest_required=True)


def test_a_good_manifest() -> None:
    parsed = parse_manifest("w48", GOOD)
    assert (parsed.data_file.key, parsed.data_file.rows, parsed.data_file.sha256) == ("cycles/w48.csv.gz", 3, "a" * 64)
    # cycleId may be left out; other fields (the platform's own) are ignored
    assert parse_manifest("w48", manifest(files=[{"name": "w48.csv", "rows": 0}], exportedBy="o9")).data_file.rows == 0


@pytest.mark.parametrize(("raw", "reason"), [
    (b"{not json", "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (b"[]", "not a JSON object"),
    (b"x" * (64 * 1024 + 1), "more than 65536 bytes"),
    (manifest(files=[]), "files must be a non-empty list"),
    (manifest(cycleId="w47", files=[{"name": "w48.csv", "rows": 1}]), "cycleId 'w47' is not 'w48'"),
    (manifest(files=[{"name": "w48.csv", "rows": "12"}]), "rows must be a whole number"),
    (manifest(files=[{"name": "w48.csv", "rows": True}]), "rows must be a whole number"),
    (manifest(files=[{"name": "w48.csv", "rows": -1}]), "rows must be a whole number"),
    (manifest(files=[{"name": "../w48.csv", "rows": 1}]), "no '/'"),
    (manifest(files=[{"name": "w48.csv", "rows": 1, "sha256": "abc"}]), "64 hexadecimal digits"),
    (manifest(files=[{"name": "w48.csv", "rows": 1}, {"name": "prices.csv", "rows": 4}]), "lists prices.csv"),
    (manifest(files=[{"name": "w48.csv", "rows": 1}, {"name": "w48.csv.gz", "rows": 1}]), "lists both"),
], ids=["bad-json", "not-utf8", "array", "too-large", "no-files", "other-cycle", "rows-text", "rows-bool",
        "rows-negative", "path", "sha256", "extra-file", "two-data-files"])
def test_bad_manifests_are_rejected_with_the_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(CycleFileRejected, match="manifest of cycle w48") as raised:
        parse_manifest("w48", raw)
    assert reason in str(raised.value)


def test_the_listing_against_the_bucket() -> None:
    parsed = parse_manifest("w48", GOOD)
    assert check_listing(parsed, {"cycles/w48.csv.gz": 10, "cycles/w48.manifest.json": 1,
                                  "cycles/w48.5.csv": 3}).name == "w48.csv.gz"  # another cycle's file: not ours
    with pytest.raises(CycleFileRejected, match="w48.csv.gz is listed but not in cycles/"):
        check_listing(parsed, {"cycles/w48.manifest.json": 1})
    with pytest.raises(CycleFileRejected, match="cycles/w48.csv is there but not listed"):
        check_listing(parsed, {"cycles/w48.csv.gz": 10, "cycles/w48.csv": 5})


def _check(body: bytes, **expected: object) -> CycleFileCheck:
    check = CycleFileCheck(**expected)  # type: ignore[arg-type]
    check.feed_raw(body)
    check.feed(body)
    check.finish()
    return check


def test_the_counts_the_manifest_states_are_compared_at_the_end() -> None:
    body = b"itemId,locationId,safetyStock,reorderPoint\nA,D,1,2\nB,D,1,2\nC,D,1,2"  # no last line break
    assert _check(body, expected_rows=3).rows == 3
    assert _check(body, expected_rows=3, expected_sha256=hashlib.sha256(body).hexdigest()).rows == 3
    with pytest.raises(CycleFileRejected, match="the manifest says 4 rows, the cycle file has 3"):
        _check(body, expected_rows=4)
    with pytest.raises(CycleFileRejected, match="sha256 is"):
        _check(body, expected_rows=3, expected_sha256="0" * 64)
    # of a gzip file, the sha256 is of the bytes as uploaded (feed_raw), the rows of the plain CSV (feed)
    packed = gzip.compress(body)
    check = CycleFileCheck(expected_rows=3, expected_sha256=hashlib.sha256(packed).hexdigest())
    check.feed_raw(packed)
    check.feed(body)
    check.finish()
