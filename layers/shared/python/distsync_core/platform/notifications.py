"""Short human messages for the notification topics (planners, operations), each naming the command or the
console page to act on; and the one call that publishes them (SNS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..planning.impact import summary

SUBJECT_MAX = 100  # SNS: a subject is at most 100 printable ASCII characters


@dataclass(frozen=True)
class Notification:
    audience: str  # planners | operations
    kind: str  # approval_requested | exception_opened | alarm
    subject: str
    text: str
    reference: str  # the record to act on (approval id, case id, alarm name)

    def attributes(self) -> dict[str, dict[str, str]]:
        """SNS message attributes: subscribers can filter by kind (a filter policy) without parsing text."""
        return {"kind": {"DataType": "String", "StringValue": self.kind},
                "reference": {"DataType": "String", "StringValue": self.reference}}


def _subject(text: str) -> str:
    ascii_only = text.encode("ascii", "replace").decode()
    return ascii_only if len(ascii_only) <= SUBJECT_MAX else ascii_only[: SUBJECT_MAX - 3] + "..."


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
    subject = _subject(f"Approval needed: {key} safety stock {approval['currentSafetyStock']:g} -> "
                       f"{approval['recommendedSafetyStock']:g} ({approval['changePercent']:+g}%)")
    return Notification("planners", "approval_requested", subject, text, aid)


def exception_opened(case: dict[str, Any], console_url: str) -> Notification:
    cid, orders = case["caseId"], ", ".join(case.get("orderIds") or [])
    what = f"shipment {case['shipmentId']}" + (f" (orders {orders})" if orders else "")
    text = "\n".join([
        f"Shipment exception case {cid} is open: {what}, {case.get('kind') or 'exception'}"
        + (f": {case['description']}" if case.get("description") else "") + ".",
        f"Resolve: distsync exceptions resolve {cid} <reshipped|refunded|delivered_late|written_off|other> "
        "--comment \"...\"",
        f"Console: {console_url}/console#transactions (search SHIPMENT#{case['shipmentId']})",
    ])
    return Notification("operations", "exception_opened", _subject(f"Shipment exception: {what}"), text, cid)


def publish(topic_arn: str, notification: Notification) -> str:
    """Publish to the audience's topic; returns the SNS message id."""
    from .aws import client

    return client("sns").publish(TopicArn=topic_arn, Subject=notification.subject, Message=notification.text,
                                 MessageAttributes=notification.attributes())["MessageId"]
