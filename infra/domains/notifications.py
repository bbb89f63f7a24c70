"""Notifications: alarms (DLQ depth and age, SLA breaches, error rates) forwarded from the alarm topic to the
operations topic as short messages with the command to act on (the planners' topic too for the approval
turnaround SLA). The topics themselves are the platform's (infra/platform/notifications.py): approval
requests and shipment exception cases publish to them from their own slices."""

from __future__ import annotations

from aws_cdk import aws_sns_subscriptions as subscriptions

from infra.platform import Domain, Platform
from infra.platform.platform import TASK_TIMEOUT

OWNER = "integration-platform"  # the team its functions, pipelines and alarms name (infra/config.py DEFAULT_OWNERS)


def build(platform: Platform) -> None:
    topics = platform.notifications.topics
    notifier = platform.function(
        "AlarmNotifierFunction",
        "alarm_notifier",
        TASK_TIMEOUT,
        "Forwards alarm state changes to the operations (and planners) topics as messages to act on",
        OPERATIONS_TOPIC_ARN=topics["operations"].topic_arn,
        PLANNERS_TOPIC_ARN=topics["planners"].topic_arn,
        CONSOLE_URL=platform.config.console_url,
    )
    for audience in topics:
        platform.notifications.grant_publish(audience, notifier)
    platform.alarm_topic.add_subscription(subscriptions.LambdaSubscription(notifier))
    platform.dashboard(Domain(key="notifications", title="Notifications (alarms forwarded to the audiences' topics)",
                              functions=("alarm_notifier",)))
