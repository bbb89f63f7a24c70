"""The planners' message after a drift run: nothing for a clean run; the counts per class, the first
item-locations with their reason, and the commands to look, correct and ask why."""

from __future__ import annotations

from types import SimpleNamespace

from distsync_core.drift.notices import LISTED, drift_found


def finding(sku: str, drift_class: str = "changed_by_hand", reason: str = "the ERP shows 45, distsync applied 50"):
    return SimpleNamespace(business_key=f"{sku}@DC-1", drift_class=drift_class, reason=reason)


def test_a_clean_run_sends_nothing() -> None:
    assert drift_found("drift-1", {"in_sync": 3}, [], "reports/drift/x.json", "http://c") is None


def test_the_message_counts_lists_and_says_what_to_do() -> None:
    drifted = [finding(f"SKU-{i}") for i in range(LISTED + 2)] + [finding("SKU-L", "applied_but_lost", "lost")]
    note = drift_found("drift-7", {"changed_by_hand": LISTED + 2, "applied_but_lost": 1, "in_sync": 4}, drifted,
                       "reports/drift/2026-12-05/x.json", "http://127.0.0.1:8080")
    assert note is not None
    assert (note.audience, note.kind, note.reference) == ("planners", "drift_found", "drift-7")
    assert f"{LISTED + 3} item-location(s) drifted ({LISTED + 2} changed by hand in the ERP, 1 applied but lost)" \
        in note.text
    assert "SKU-0@DC-1: changed by hand in the ERP: the ERP shows 45, distsync applied 50" in note.text
    assert "SKU-L@DC-1" not in note.text and "... and 3 more in the report" in note.text
    assert "distsync drift --fix" in note.text and "reports/drift/2026-12-05/x.json" in note.text
    assert len(note.subject) <= 100 and note.subject.isascii()
