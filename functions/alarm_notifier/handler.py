"""Subscribed to the alarm topic: each alarm state change (DLQ alarms, SLA breaches, error rates) becomes a
short message on the operations topic (and the planners', for the approval turnaround SLA) naming the command
or console page to act on, for people who do not read CloudWatch's JSON."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.data_classes import SNSEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.platform import notifications
from distsync_core.platform.config import env
from distsync_core.platform.observability import instrument, logger


@instrument
@event_source(data_class=SNSEvent)
def lambda_handler(event: SNSEvent, context: LambdaContext) -> dict:
    published = 0
    for record in event.records:
        try:
            alarm = json.loads(record.sns.message)
        except ValueError:
            # not an alarm (e.g. a test message someone published by hand): told in the logs, not forwarded
            logger.warning("alarm topic message is not an alarm's JSON", extra={"messageId": record.sns.message_id})
            continue
        for note in notifications.alarm_changed(alarm, env("CONSOLE_URL")):
            notifications.publish(env(f"{note.audience.upper()}_TOPIC_ARN"), note)
            published += 1
    return {"published": published}
