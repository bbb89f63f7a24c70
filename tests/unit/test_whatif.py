"""What-if's pure part: window selection, a transaction's outcome from its hops, the comparison and the master
data the throwaway run starts from. Hops shaped as the handlers record them (tests/unit/test_lineage.py)."""

from __future__ import annotations

from datetime import datetime

import pytest

from distsync.whatif import (
    APPLIED_DIRECTLY,
    APPROVAL_REQUESTED,
    WhatIfError,
    compare,
    outcome,
    outcomes,
    parse_settings,
    rewind_master_data,
    synth_reason,
    window_events,
)
from tests.unit.test_lineage import KEY, Ledger


def at(second: int) -> datetime:
    return datetime.fromisoformat(f"2026-12-01T10:00:{second:02d}+00:00")


def test_window_keeps_webhook_hops_with_their_event_inside_the_window_oldest_first():
    led = Ledger()
    led.recommend("c1", 110, 200)  # 10:00:01
    led.decide_automatic("c1", 110, 200)  # 10:00:02 (no event: not a webhook hop)
    led.recommend("c2", 120, 200)  # 10:00:03
    led.hop("c3", "webhook", "ok", "accepted, but recorded before hops kept the event")  # 10:00:04
    led.recommend("c4", 130, 200)  # 10:00:05: after the window
    chosen = window_events(reversed(led.hops), at(1), at(4))
    assert [h["correlationId"] for h in chosen] == ["c1", "c2"]
    assert window_events(led.hops + led.hops[:1], at(1), at(1)) == [led.hops[0]]  # a hop read twice counts once
    assert window_events(led.hops, at(6), at(9)) == []


def test_outcome_reads_the_decision_the_approval_and_the_erp_writes():
    led = Ledger()
    led.recommend("auto", 110, 200)
    led.decide_automatic("auto", 110, 200)
    led.erp_write("auto", 110, 200, cause="auto-rec")
    led.recommend("appr", 150, 200)
    led.approval("appr", 150, 200, "approved", by="ana")
    led.erp_write("appr", 150, 200, cause="appr-approved")
    led.recommend("pend", 150, 200)
    led.hop("pend", "planning", "ok", "change 50.0% > 20.0%: approval apr-2 started", decision="approval")
    led.recommend("quar", 1, 2)
    led.hop("quar", "planning", "quarantined", "unknown item-location")
    got = outcomes(led.hops)
    assert got["auto"] == {"businessKey": KEY, "decision": APPLIED_DIRECTLY, "approval": None,
                           "erpWrites": [{"values": {"safetyStock": 110, "reorderPoint": 200}, "connection": "erp-main"}]}
    assert (got["appr"]["decision"], got["appr"]["approval"], len(got["appr"]["erpWrites"])) == (APPROVAL_REQUESTED, "approved", 1)
    assert (got["pend"]["decision"], got["pend"]["approval"], got["pend"]["erpWrites"]) == (APPROVAL_REQUESTED, "pending", [])
    assert (got["quar"]["decision"], got["quar"]["erpWrites"]) == ("quarantined", [])


def test_no_change_when_the_recommendation_equals_the_current_parameters():
    led = Ledger()
    led.recommend("same", 100, 200)
    led.hop("same", "planning", "delivered", "recommendation equals the ERP's current parameters")
    assert outcome(led.hops)["decision"] == "no change"


def _auto(values: dict, conn: str = "rest") -> dict:
    return {"businessKey": KEY, "decision": APPLIED_DIRECTLY, "approval": None,
            "erpWrites": [{"values": values, "connection": conn}]}


APPROVAL = {"businessKey": KEY, "decision": APPROVAL_REQUESTED, "approval": "pending", "erpWrites": []}
V = {"safetyStock": 115, "reorderPoint": 200}


def test_compare_marks_a_changed_decision_and_counts_writes_and_approvals():
    happened = {"a": _auto(V), "b": _auto(V), "c": dict(APPROVAL, approval="approved", erpWrites=_auto(V)["erpWrites"])}
    would = {"a": _auto(V), "b": APPROVAL, "c": APPROVAL}
    report = compare(happened, would, ["a", "b", "c"])
    rows = {r["correlationId"]: r for r in report["transactions"]}
    assert [r["correlationId"] for r in report["transactions"]] == ["a", "b", "c"]
    assert not rows["a"]["changed"]
    assert rows["b"]["changed"] and rows["b"]["happenedText"].startswith("applied directly, ERP write SS 115 / ROP 200")
    assert rows["b"]["wouldHappenText"] == "approval requested (pending)"
    # approved by a planner vs asked of nobody: the request is the same, the write (by the planner) is not
    assert rows["c"]["changed"]
    assert report["summary"] == {"transactions": 3, "changed": 2, "writes": {"happened": 3, "wouldHappen": 1},
                                 "approvals": {"happened": 1, "wouldHappen": 2}}


def test_compare_sees_other_values_or_another_connection_and_a_missing_replay():
    happened = {"a": _auto(V), "b": _auto(V), "c": _auto(V)}
    would = {"a": _auto({**V, "safetyStock": 116}), "b": _auto(V, conn="s4")}
    rows = {r["correlationId"]: r for r in compare(happened, would, ["a", "b", "c"])["transactions"]}
    assert rows["a"]["changed"] and rows["b"]["changed"]
    assert rows["c"]["changed"] and rows["c"]["wouldHappenText"] == "not replayed"


def test_master_data_rewinds_what_the_window_changed_and_keeps_the_rest():
    led = Ledger()
    led.hop("early", "planning", "ok", "before the window", previousValues={"safetyStock": 1, "reorderPoint": 2})
    led.hop("c1", "planning", "ok", "first in the window", previousValues={"safetyStock": 100, "reorderPoint": 200})
    led.hop("c2", "planning", "ok", "second", previousValues={"safetyStock": 110, "reorderPoint": 200})
    records = [
        {"pk": "ITEMLOC#SKU-1#DC-1", "itemId": "SKU-1", "locationId": "DC-1", "safetyStock": 120, "reorderPoint": 200,
         "appliedUpdate": {"x": 1}, "appliedRecommendedAt": "2026-12-01T10:00:03+00:00", "supplierId": "S"},
        {"pk": "ITEMLOC#SKU-2#DC-1", "itemId": "SKU-2", "locationId": "DC-1", "safetyStock": 5, "reorderPoint": 6,
         "appliedRecommendedAt": "2026-11-01T00:00:00+00:00"},
    ]
    seeded, rewound = rewind_master_data(records, led.hops, at(2))
    assert rewound == [KEY]
    assert seeded[0] == {"pk": "ITEMLOC#SKU-1#DC-1", "itemId": "SKU-1", "locationId": "DC-1", "safetyStock": 100,
                         "reorderPoint": 200, "supplierId": "S"}
    assert seeded[1] == records[1]
    assert records[0]["safetyStock"] == 120  # the input is not changed


def test_settings_are_key_value_pairs_of_known_context_keys():
    known = {"approvalThresholdPercent", "webhookRateLimit"}
    assert parse_settings(["approvalThresholdPercent=10", "webhookRateLimit=5"], known) == {
        "approvalThresholdPercent": "10", "webhookRateLimit": "5"}
    with pytest.raises(WhatIfError, match="approvalTreshold: not a context key"):
        parse_settings(["approvalTreshold=10"], known)
    with pytest.raises(WhatIfError, match="key=value"):
        parse_settings(["approvalThresholdPercent"], known)


def test_the_text_report_shows_both_sides_the_summary_and_the_master_data_note(capsys, monkeypatch):
    from distsync.whatif_cli import render

    monkeypatch.setenv("COLUMNS", "250")  # rich: no wrapped cells
    report = compare({"a": _auto(V)}, {"a": APPROVAL}, ["a"])
    report.update({"from": "T1", "to": "T2", "settings": {"approvalThresholdPercent": "12"}, "rejectedOnReplay": {"b": "HTTP 400: bad"},
                   "masterData": {"records": 3, "rewound": [KEY], "note": "as they are now"},
                   "throwaway": {"seconds": {"start": 40.0}}})
    render(report)
    out = capsys.readouterr().out
    assert "what-if approvalThresholdPercent=12: T1 .. T2" in out
    assert "applied directly, ERP write SS 115 / ROP 200 via rest" in out and "approval requested (pending)" in out
    assert "1 of 1 transaction(s) change; writes: 1 -> 0, approvals: 0 -> 1" in out
    assert "b: the throwaway stack refused its event again: HTTP 400: bad" in out
    assert f"master data: 3 as they are now ({KEY})" in out


def test_a_failed_synth_gives_its_reason_not_its_traceback():
    output = ("cdk synth failed (1):\n\nTraceback (most recent call last):\n  File \"app.py\", line 13\n"
              "    raise ValueError(...)\nValueError: context value for approval_threshold_percent must be positive, got 0\n"
              "python3 app.py: Subprocess exited with error 1\n")
    assert synth_reason(output) == "ValueError: context value for approval_threshold_percent must be positive, got 0"
    assert synth_reason("one\ntwo") == "one\ntwo"  # no error line: the output's end
