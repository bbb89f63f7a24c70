"""Short human messages for the notification topics (planners, operations), each naming the command or the
console page to act on (the domains write theirs: distsync_core.planning.notices, fulfillment.notices; alarms
here), and the one call that publishes them (SNS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def subject_line(text: str) -> str:
    ascii_only = text.encode("ascii", "replace").decode()
    return ascii_only if len(ascii_only) <= SUBJECT_MAX else ascii_only[: SUBJECT_MAX - 3] + "..."


def publish(topic_arn: str, notification: Notification) -> str:
    """Publish to the audience's topic; returns the SNS message id."""
    from .aws import client

    return client("sns").publish(TopicArn=topic_arn, Subject=notification.subject, Message=notification.text,
                                 MessageAttributes=notification.attributes())["MessageId"]


def alarm_changed(alarm: dict[str, Any], console_url: str) -> list[Notification]:
    """A CloudWatch alarm's state change (the alarm topic's JSON message) as messages to act on: DLQ alarms and
    SLA breaches to operations (the approval turnaround SLA to the planners too); none for INSUFFICIENT_DATA."""
    name, state = alarm.get("AlarmName", "?"), alarm.get("NewStateValue")
    if state not in ("ALARM", "OK"):
        return []
    description = (alarm.get("AlarmDescription") or "").strip()
    if "-dlq-" in name:
        act = ["Inspect: distsync dlq list, then distsync dlq peek <pipeline> and distsync dlq redrive <pipeline>",
               f"Console: {console_url}/console#dlqs"]
    elif name.endswith("-sla"):
        act = ["Inspect: distsync kpis --since 24h" + (" and distsync approvals list --sort age"
                                                       if "approval" in name else ""),
               f"Console: {console_url}/console"]
    else:
        act = ["Inspect: distsync kpis --since 1h and the function's logs", f"Console: {console_url}/console"]
    what = "ALARM" if state == "ALARM" else "resolved (OK)"
    lines = [f"{name}: {what}.", description, f"Why: {alarm.get('NewStateReason', '')}".rstrip()]
    text = "\n".join([line for line in lines if line] + (act if state == "ALARM" else []))
    subject = subject_line(f"{'ALARM' if state == 'ALARM' else 'OK'}: {name}")
    audiences = ["operations"] + (["planners"] if name.endswith("approval-turnaround-sla") else [])
    return [Notification(a, "alarm", subject, text, name) for a in audiences]
