"""The planners' message after a drift run that found drift: how many item-locations per class, the first
few, and the commands to look and to correct (through the governed path)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..platform.notifications import Notification, subject_line

LISTED = 5  # the report has them all
CLASS_WORDS = {"changed_by_hand": "changed by hand in the ERP", "applied_but_lost": "applied but lost",
               "never_applied": "recommended but never applied"}


def drift_found(run_id: str, counts: Mapping[str, int], drifted: Sequence[Any], report_key: str | None,
                console_url: str) -> Notification | None:
    """None when nothing drifted (no message for a clean run). ``drifted``: the findings (business key,
    class, reason)."""
    if not drifted:
        return None
    by_class = ", ".join(f"{counts[c]} {words}" for c, words in CLASS_WORDS.items() if counts.get(c))
    lines = [f"Parameter drift run {run_id}: {len(drifted)} item-location(s) drifted ({by_class})."]
    lines += [f"- {f.business_key}: {CLASS_WORDS.get(f.drift_class, f.drift_class)}: {f.reason}"
              for f in drifted[:LISTED]]
    if len(drifted) > LISTED:
        lines.append(f"... and {len(drifted) - LISTED} more in the report")
    lines += [
        f"Report: {report_key}" if report_key else "Report: distsync drift --latest",
        "Look:    distsync drift --latest",
        "Correct: distsync drift --fix   (through the planning pipeline: the approval threshold applies)",
        f"Why:     distsync why <item>@<location>, or {console_url}/console#lineage",
    ]
    subject = subject_line(f"Parameter drift: {len(drifted)} item-location(s) differ from what distsync applied")
    return Notification("planners", "drift_found", subject, "\n".join(lines), run_id)
