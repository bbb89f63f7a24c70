"""Deprecation and sunset end to end, on a stack of its own deployed with ``contractLifecycle``:
InventoryBalanceChanged v1 deprecated since 2020 with its sunset a few minutes after the synth. Before the
sunset a WMS posting v1 gets 202 with Deprecation/Sunset/Link and its use is counted (`distsync contracts
usage`); once the sunset passes the same request gets 410 naming v2. (v1 is the registry's only version that
has a successor, so the one version crosses its sunset while the stack runs, rather than a second stack.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from distsync.local import process
from distsync.local.synth import synth
from distsync.sim.clients import SignedClient
from infra.platform.shared_layer import build_shared_layer_dir
from tests.conftest import ROOT
from tests.e2e.conftest import START_TIMEOUT

pytestmark = pytest.mark.e2e

SECRET = "contract-lifecycle-secret"
# From the synth on: the sunset must still lie ahead once the stack answers (measured: 19 s from the synth's
# start to the stack answering, on 2 busy cores; the layer is built before, so a clean checkout's first
# build from PyPI does not count).
SUNSET_AFTER = timedelta(seconds=75)


@pytest.fixture(scope="module")
def lifecycle_stack(tmp_path_factory):
    build_shared_layer_dir()  # the synth reuses it
    sunset = (datetime.now(UTC) + SUNSET_AFTER).replace(microsecond=0)
    lifecycle = {"InventoryBalanceChanged/1": {"deprecated": "2020-01-01", "sunset": sunset.isoformat()}}
    assembly = synth(tmp_path_factory.mktemp("lifecycle") / "cdk.out",
                     context={"contractLifecycle": json.dumps(lifecycle)})
    proc, url, info = process.start("--cloud-assembly", str(assembly), secret=SECRET, timeout=START_TIMEOUT)
    print(f"stack answering {SUNSET_AFTER.total_seconds() - (sunset - datetime.now(UTC)).total_seconds():.0f} s "
          "after the synth began")
    yield url, sunset
    process.stop(proc)


def balance(item: str, version: str = "1") -> dict:
    return {"itemId": item, "locationId": "DC-1", "onHand": 7, "allocated": 0, "inTransit": 0,
            "asOf": datetime.now(UTC).isoformat(), "sourceSystem": "wms", **({"lots": []} if version == "2" else {})}


def usage(url: str) -> list[dict]:
    env = dict(os.environ, COLUMNS="220")
    done = subprocess.run([sys.executable, "-m", "distsync.cli", "contracts", "usage", "--since", "2d", "--json",
                           "--local", url], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["totals"]


def test_a_deprecated_version_is_told_and_counted_then_gone_after_its_sunset(lifecycle_stack):
    url, sunset = lifecycle_stack
    assert datetime.now(UTC) < sunset - timedelta(seconds=10), "the stack started too late to see v1 before its sunset"
    wms = SignedClient(url, SECRET)
    run = uuid.uuid4().hex[:6]

    data, occurred = balance(f"LC-{run}"), datetime.now(UTC).isoformat()  # one body: its key's repeats match
    first = wms.webhook("wms", "InventoryBalanceChanged", data, idempotency_key=f"lc-{run}",
                            occurred_at=occurred)
    other = wms.webhook("wms", "InventoryBalanceChanged", balance(f"LC-{run}-2"))
    for answer in (first, other):
        assert answer.status == 202, answer.body
        assert answer.headers["Deprecation"] == f"@{int(datetime(2020, 1, 1, tzinfo=UTC).timestamp())}"
        assert parsedate_to_datetime(answer.headers["Sunset"]) == sunset
        assert answer.headers["Sunset"].endswith(" GMT")
        assert '/schemas/InventoryBalanceChanged-v2.json>; rel="successor-version"' in answer.headers["Link"]
    current = wms.webhook("wms", "InventoryBalanceChanged", balance(f"LC-{run}-3", "2"), version="2")
    assert current.status == 202 and "Deprecation" not in current.headers

    assert usage(url) == [{"source": "wms", "eventType": "InventoryBalanceChanged", "version": "1", "count": 2}]

    # The same request again (its Idempotency-Key: the first answer, nothing published or counted twice) until
    # the sunset passes: 202 with the headers up to then, 410 from then on.
    deadline = time.monotonic() + (sunset - datetime.now(UTC)).total_seconds() + 60
    while time.monotonic() < deadline:
        answer = wms.webhook("wms", "InventoryBalanceChanged", data, idempotency_key=f"lc-{run}",
                            occurred_at=occurred)
        if answer.status != 202:
            break
        assert "Deprecation" in answer.headers
        time.sleep(2)  # a poll interval: the clock has to reach the sunset
    assert answer.status == 410, answer.body
    assert datetime.now(UTC) >= sunset
    assert answer.body["successorVersion"] == "2" and answer.body["type"].endswith("#gone")
    assert answer.body["successorSchema"].endswith("/schemas/InventoryBalanceChanged-v2.json")
    assert "eventVersion '2'" in answer.body["detail"]

    assert usage(url) == [{"source": "wms", "eventType": "InventoryBalanceChanged", "version": "1", "count": 2}]
