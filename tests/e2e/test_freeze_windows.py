"""Freeze windows end to end on the shared stack (issue 15): an ad-hoc window added with `distsync freeze add`
for a location glob only this test's item-location uses holds a recommendation's ERP write (the trace shows
``held`` with the window's name, nothing reaches the ERP simulator, `freeze list` shows the write);
`distsync freeze end` releases it, the ERP gets it, and the trace ends delivered with the time held counted
apart in `distsync kpis`."""

from __future__ import annotations

import json
import uuid

from tests.e2e.conftest import LocalStackProcess


def test_a_write_held_by_an_ad_hoc_window_reaches_the_erp_when_it_ends(stack: LocalStackProcess) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    location, window = f"FRZ-{tag}-1", f"e2e-{tag.lower()}"
    sku = f"SKU-{uuid.uuid4().hex[:8]}"
    stack.master_data(sku, loc=location)
    stack.wait_idle()

    added = stack.cli("freeze", "add", "--name", window, "--minutes", "30", "--locations", f"FRZ-{tag}-*", "--json")
    assert added.returncode == 0, added.stdout + added.stderr
    assert json.loads(added.stdout)["scope"] == {"locations": [f"FRZ-{tag}-*"]}

    cid = stack.recommend(sku, 110, 220, expect="delivered", loc=location)  # 10 %: applied without approval
    stack.wait_idle()
    trace = stack.trace(cid)
    held = [h for h in trace["hops"] if h["outcome"] == "held"]
    assert [h["stage"] for h in held] == ["erp"], trace["hops"]
    assert f"freeze window {window} until" in held[0]["detail"]  # the trace names the window
    assert trace["status"] == "in_flight"
    assert stack.erp_updates(cid) == []

    listed = stack.cli("freeze", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    result = json.loads(listed.stdout)
    assert [h["businessKey"] for h in result["held"] if h["windows"] == [window]] == [f"{sku}@{location}"]
    assert any(w["name"] == window and w["active"] for w in result["windows"])

    # What the every-minute schedule does (`freeze release`) leaves it while the window runs.
    released = stack.cli("freeze", "release", "--json")
    assert released.returncode == 0 and json.loads(released.stdout)["stillHeld"] >= 1, released.stdout
    assert stack.erp_updates(cid) == []

    ended = stack.cli("freeze", "end", window, "--json")
    assert ended.returncode == 0, ended.stdout + ended.stderr
    assert json.loads(ended.stdout)["released"] >= 1
    stack.wait_idle()

    (update,) = stack.erp_updates(cid)
    assert (update["locationId"], update["safetyStock"]) == (location, 110)
    trace = stack.trace(cid)
    assert trace["status"] == "delivered"
    outcomes = [(h["stage"], h["outcome"]) for h in trace["hops"] if h["stage"] in ("erp", "freeze")]
    assert outcomes == [("erp", "held"), ("freeze", "released"), ("erp", "delivered")], outcomes
    (delivered,) = [h for h in trace["hops"] if (h["stage"], h["outcome"]) == ("erp", "delivered")]
    assert "held by a freeze window" in delivered["detail"]
    shown = stack.cli("trace", cid)  # what an operator reads
    assert shown.returncode == 0 and "held" in shown.stdout and window in shown.stdout, shown.stdout

    again = stack.cli("freeze", "end", window)
    assert again.returncode == 2 and "no running manual freeze window" in again.stdout

    kpis = stack.cli("kpis", "--json")
    assert kpis.returncode == 0, kpis.stderr
    figures = json.loads(kpis.stdout)
    assert figures["erpWritesHeldTime"]["count"] >= 1
    assert figures["forecastToErpLatencyExcludingHeld"]["count"] == figures["forecastToErpLatency"]["count"]
