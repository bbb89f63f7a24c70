"""`distsync whatif` against the shared local stack (approvalThresholdPercent 20): three recommendations of 10 %,
15 % and 30 %, replayed through a throwaway stack with approvalThresholdPercent=12. The throwaway runtime is
started by the CLI itself (its own synth with the changed context), not by this module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import SECRET

pytestmark = pytest.mark.e2e
WHATIF_TIMEOUT = 600  # a synth with changed context on a busy 2-core machine, then the deploy and the replay


def test_whatif_with_a_lower_threshold_asks_approval_for_the_15_percent_change_only(stack):
    skus = {pct: stack.new_item(ss=100, rop=200) for pct in (10, 15, 30)}
    before = datetime.now(UTC)
    cids = {pct: stack.recommend(sku, 100 + pct, 200, expect="pending_approval" if pct == 30 else "delivered")
            for pct, sku in skus.items()}
    stack.wait_idle()
    after = datetime.now(UTC)
    erp_before = len(stack.erp_updates())

    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "distsync.cli", "whatif", "--from", before.isoformat(), "--to", after.isoformat(),
         "--set", "approvalThresholdPercent=12", "--json", "--local", stack.url],
        capture_output=True, text=True, cwd=ROOT, timeout=WHATIF_TIMEOUT,
        env=dict(os.environ, DISTSYNC_WEBHOOK_SECRET=SECRET))
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    report = json.loads(result.stdout)
    print(f"whatif took {time.monotonic() - started:.1f} s: {report['throwaway']['seconds']}")

    rows = {r["correlationId"]: r for r in report["transactions"]}
    assert set(rows) == set(cids.values())  # only the window's events, nothing of the earlier master data
    assert (rows[cids[15]]["happened"]["decision"], rows[cids[15]]["wouldHappen"]["decision"]) == \
        ("applied directly", "approval requested")
    assert rows[cids[15]]["changed"] and rows[cids[15]]["wouldHappen"]["erpWrites"] == []
    assert rows[cids[10]]["wouldHappen"]["decision"] == rows[cids[10]]["happened"]["decision"] == "applied directly"
    assert rows[cids[10]]["wouldHappen"]["erpWrites"][0]["values"] == {"safetyStock": 110, "reorderPoint": 200}
    assert rows[cids[30]]["wouldHappen"]["decision"] == rows[cids[30]]["happened"]["decision"] == "approval requested"
    assert not rows[cids[10]]["changed"] and not rows[cids[30]]["changed"]
    assert report["summary"]["writes"] == {"happened": 2, "wouldHappen": 1}
    assert report["summary"]["approvals"] == {"happened": 1, "wouldHappen": 2}
    assert sorted(report["masterData"]["rewound"]) == sorted(f"{sku}@DC-1" for sku in skus.values())
    assert report["throwaway"]["erpSimulatorUpdates"] == 1  # the 10 % write went to the throwaway's simulator

    # No partner touched: the shared stack's ERP simulator saw nothing new.
    assert len(stack.erp_updates()) == erp_before


def test_whatif_refuses_an_unknown_setting_before_starting_anything(stack):
    result = stack.cli("whatif", "--from", "1h", "--set", "approvalTreshold=12", "--json")
    assert result.returncode == 2
    assert "approvalTreshold: not a context key" in result.stderr


def test_whatif_reports_a_bad_value_with_the_synths_reason_and_starts_nothing(stack):
    before = datetime.now(UTC)
    stack.new_item()  # one event in the window, so the run gets as far as the synth
    result = stack.cli("whatif", "--from", before.isoformat(), "--set", "approvalThresholdPercent=0")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "the settings do not synthesize: ValueError: context value for approval_threshold_percent must be " \
           "positive, got 0" in " ".join(result.stderr.split())
