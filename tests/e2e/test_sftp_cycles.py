"""End to end: a planning partner on SFTP (issue 14). The stack is synthesized with a partner in
``sftpPartners`` (its own key pair, made once per checkout) and ``cycleManifestRequired``; the local runtime serves that
Transfer Family user on a real SFTP server. The partner uploads a cycle file and then its manifest over SFTP:
the data file alone starts nothing, the manifest starts the cycle; a manifest whose count does not match
rejects the cycle with the report."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import paramiko
import pytest

from distsync.local.sftp import ed25519_pair
from tests.conftest import ROOT
from tests.e2e.conftest import LocalStackProcess, start_local_stack, stop_local_stack

pytestmark = pytest.mark.e2e

PARTNER = "kinaxis-planning"


@pytest.fixture(scope="module")
def partner_key() -> tuple[paramiko.PKey, str]:
    """The partner's key pair, made once per checkout (under .distsync, never committed): the same public key
    keeps the stack's context the same from run to run, so its synth stays cached."""
    path = ROOT / ".distsync" / "e2e" / "sftp-partner" / "id_ed25519"
    public = ed25519_pair(path)
    return paramiko.Ed25519Key.from_private_key_file(str(path)), public


@pytest.fixture(scope="module")
def sftp_stack(tmp_path_factory: pytest.TempPathFactory, partner_key: tuple[paramiko.PKey, str],
               ) -> Iterator[LocalStackProcess]:
    context = {"sftpPartners": json.dumps({PARTNER: {"publicKeys": [partner_key[1]]}}),
               "cycleManifestRequired": "true"}
    log = tmp_path_factory.mktemp("sftp-stack") / "local-up.log"
    with log.open("w") as out:
        try:  # -c: the stack's own synth, cached per context (.distsync/local/cdk.out/context-<hash>)
            proc, url, info = start_local_stack(*(a for k, v in context.items() for a in ("-c", f"{k}={v}")),
                                                output=out)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}:\n{log.read_text()[-5000:]}") from exc
    yield LocalStackProcess(url, info, proc)
    stop_local_stack(proc)


def _s3(stack: LocalStackProcess) -> Any:
    return boto3.client("s3", endpoint_url=stack.info["awsEndpoint"], region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _upload(stack: LocalStackProcess, key: paramiko.PKey, files: dict[str, bytes]) -> None:
    """As a partner would: log in with its key, put the files into its home directory, in this order."""
    sftp_info = stack.info["sftp"]
    transport = paramiko.Transport((sftp_info["host"], sftp_info["port"]))
    transport.connect(username=PARTNER, pkey=key)
    sftp = paramiko.SFTPClient.from_transport(transport)
    try:
        for name, body in files.items():
            sftp.putfo(io.BytesIO(body), name)
    finally:
        sftp.close()
        transport.close()


def _summaries(stack: LocalStackProcess, cycle_id: str) -> list[dict[str, Any]]:
    return [e["detail"]["data"] for e in stack.drain_probe()
            if e["detail-type"] == "ForecastCycleCompleted" and e["detail"]["data"]["cycleId"] == cycle_id]


def _csv(rows: list[tuple[str, float, float]]) -> bytes:
    return ("itemId,locationId,safetyStock,reorderPoint\n"
            + "".join(f"{item},DC-1,{ss},{rop}\n" for item, ss, rop in rows)).encode()


def test_the_partner_is_listed_with_its_home(sftp_stack: LocalStackProcess) -> None:
    info = sftp_stack.info["sftp"]
    assert info["host"] == "127.0.0.1" and info["port"] > 0
    assert info["users"] == [{"name": PARTNER, "bucket": sftp_stack.info["outputs"]["LandingBucketName"],
                              "homePrefix": "cycles/"}]


def test_a_cycle_uploaded_over_sftp_runs_on_its_manifest(sftp_stack: LocalStackProcess,
                                                         partner_key: tuple[paramiko.PKey, str]) -> None:
    stack, tag = sftp_stack, uuid.uuid4().hex[:6]
    items = [f"SKU-{tag}-{n}" for n in range(3)]
    for item in items:
        stack.master_data(item, ss=100, rop=200)
    stack.wait_idle(timeout=120)
    cycle_id = f"sftp-{tag}"
    body = _csv([(items[0], 100, 200), (items[1], 110, 220), (items[2], 105, 210)])

    _upload(stack, partner_key[0], {f"{cycle_id}.csv": body})
    stack.wait_idle(timeout=60)
    bucket = stack.info["outputs"]["LandingBucketName"]
    assert _s3(stack).get_object(Bucket=bucket, Key=f"cycles/{cycle_id}.csv")["Body"].read() == body
    assert _summaries(stack, cycle_id) == []  # cycleManifestRequired: the data file alone starts nothing

    manifest = {"cycleId": cycle_id, "files": [{"name": f"{cycle_id}.csv", "rows": 3}]}
    _upload(stack, partner_key[0], {f"{cycle_id}.manifest.json": json.dumps(manifest).encode()})
    stack.wait_idle(timeout=180)
    (summary,) = _summaries(stack, cycle_id)
    assert (summary["status"], summary["rowsRead"], summary["changed"], summary["unchanged"]) == ("completed", 3, 2, 1)
    # its material changes went out (what the ERP makes of them is the forecast cycle tests' business)
    recommended = [e["detail"]["data"]["itemId"] for e in stack.bus_events
                   if e["detail-type"] == "ReplenishmentRecommended" and e["detail"]["data"]["planningCycleId"] == cycle_id]
    assert sorted(recommended) == items[1:]


def test_a_manifest_that_does_not_match_rejects_the_cycle(sftp_stack: LocalStackProcess,
                                                          partner_key: tuple[paramiko.PKey, str]) -> None:
    stack, cycle_id = sftp_stack, f"sftp-bad-{uuid.uuid4().hex[:6]}"
    manifest = {"cycleId": cycle_id, "files": [{"name": f"{cycle_id}.csv", "rows": 5}]}
    _upload(stack, partner_key[0], {f"{cycle_id}.csv": _csv([("SKU-X", 1, 2)] * 3),
                                    f"{cycle_id}.manifest.json": json.dumps(manifest).encode()})
    stack.wait_idle(timeout=120)
    (summary,) = _summaries(stack, cycle_id)
    assert summary["status"] == "rejected" and summary["rowsRead"] == 0
    assert "the manifest says 5 rows, the cycle file has 3" in summary["reason"]
    bucket = stack.info["outputs"]["LandingBucketName"]
    assert summary["rejectedReport"] == f"s3://{bucket}/rejected/cycles/{cycle_id}/"
    report = json.loads(_s3(stack).get_object(Bucket=bucket, Key=f"rejected/cycles/{cycle_id}/file.errors.json")
                        ["Body"].read())
    assert report["file"] == f"cycles/{cycle_id}.manifest.json" and "says 5 rows" in report["reason"]


def test_a_key_not_in_sftp_partners_is_refused(sftp_stack: LocalStackProcess, tmp_path: Path) -> None:
    path = tmp_path / "stranger"
    ed25519_pair(path)  # a key pair of its own, in no partner's publicKeys
    with pytest.raises(paramiko.AuthenticationException):
        _upload(sftp_stack, paramiko.Ed25519Key.from_private_key_file(str(path)), {"x.csv": b""})


def test_the_planning_extract_on_demand(sftp_stack: LocalStackProcess) -> None:
    stack, tag = sftp_stack, uuid.uuid4().hex[:6]
    stack.master_data(f"SKU-{tag}", ss=12.5, rop=40)
    stack.wait_idle(timeout=60)
    result = stack.cli("extracts", "run", "--date", "2026-12-05", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["key"] == "outbound/planning/extracts/2026-12-05/item-locations.csv" and out["rows"] >= 1
    text = _s3(stack).get_object(Bucket=out["bucket"], Key=out["key"])["Body"].read().decode()
    assert text.splitlines()[0].startswith("itemId,locationId,unitOfMeasure,safetyStock,reorderPoint")
    assert f"SKU-{tag},DC-1,EA,12.5,40," in text
    assert len(text.splitlines()) == out["rows"] + 1
