"""The planners' message for an approval request: what would change, its impact, the commands to decide."""

from __future__ import annotations

from typing import Any

from ..platform.notifications import Notification, subject_line
from .impact import summary


def approval_requested(approval: dict[str, Any], console_url: str) -> Notification:
    aid, key = approval["approvalId"], f"{approval['itemId']}@{approval['locationId']}"
    impact = approval.get("impact") or {}
    text = "\n".join([
        f"Approval {aid} waits for a planner: {key}, change {approval['changePercent']:g}% "
        f"(above the {approval.get('thresholdPercent') or '?'}% threshold).",
        f"Safety stock {approval['currentSafetyStock']:g} -> {approval['recommendedSafetyStock']:g}, "
        f"reorder point {approval['currentReorderPoint']:g} -> {approval['recommendedReorderPoint']:g}.",
        f"Impact: {summary(impact)}." if impact else "Impact: unknown.",
        f"Approve: distsync approvals approve {aid} --comment \"...\"",
        f"Reject:  distsync approvals reject {aid} --comment \"...\"",
        f"Console: {console_url}/console#approvals",
    ])
    subject = subject_line(f"Approval needed: {key} safety stock {approval['currentSafetyStock']:g} -> "
                       f"{approval['recommendedSafetyStock']:g} ({approval['changePercent']:+g}%)")
    return Notification("planners", "approval_requested", subject, text, aid)
