"""``DomainPipeline``: bus rule -> SQS queue (+ DLQ and alarm) -> Lambda, the unit every consumer uses.

The queue between the rule and the function buffers bursts and gives per-message retries: the event
source mapping reports partial batch failures, so only the failed records are retried, and a record that
keeps failing moves to the DLQ after ``max_receive_count`` receives. Any message in a DLQ is an incident,
hence the alarm on "> 0 visible messages".

Variants, by parameter:
- ``fifo=True``: FIFO queue and DLQ, for consumers that must see a message group strictly in order. An
  EventBridge rule can only give a FIFO target one fixed message group, so a FIFO pipeline has no rule: a
  router function (fed by an ordinary pipeline) sends to it with the group it needs (``grant_send_to``).
- ``timer=True``: a standard queue fed by a function that sends messages with a delay (``DelaySeconds``), e.g.
  the orders gap timer; no rule, the function gets ``grant_send_to``.
- ``max_lag_minutes``: an alarm on the age of the oldest message in the queue itself, for pipelines that are
  expected to back up while a partner is down and must only alert past the business threshold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

# AWS guidance for SQS-triggered functions: visibility timeout of at least 6x the function timeout, so a
# message is not redelivered while a (throttled, retried) invocation may still be processing it.
VISIBILITY_TIMEOUT_FACTOR = 6
DLQ_RETENTION = Duration.days(14)


class DomainPipeline(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bus: events.IEventBus | None,
        sources: Sequence[str],
        detail_types: Sequence[str],
        function: lambda_.Function,
        batch_size: int,
        max_receive_count: int,
        alarm_topic: sns.ITopic,
        removal_policy: RemovalPolicy,
        fifo: bool = False,
        timer: bool = False,
        max_lag_minutes: int | None = None,
        routes: Mapping[str, Sequence[str]] | None = None,
        detail: Mapping[str, Any] | None = None,
        max_concurrency: int | None = None,
        owner: str | None = None,
    ) -> None:
        """``sources`` x ``detail_types`` become one rule; ``routes`` (bus source -> its detail types) instead
        gives one rule per source, for a pipeline that takes different types from different sources.
        ``detail`` narrows the rules further by the event's detail (e.g. a bucket and a key prefix).
        ``max_concurrency``: the event source's maximum concurrency (batches at once; 2-1000), for consumers
        that call a partner. ``owner``: "<team> (<contact>)", named in the alarms (whom to wake)."""
        super().__init__(scope, construct_id)
        if function.timeout is None:
            raise ValueError(f"{construct_id}: the function needs an explicit timeout")
        visibility_timeout = Duration.seconds(function.timeout.to_seconds() * VISIBILITY_TIMEOUT_FACTOR)
        self.owner = owner
        owned_by = f". Owner: {owner}" if owner else ""
        self.function = function  # the consumer (monitored with its queue, infra/platform/observability.py)

        if (fifo or timer) == bool(bus):
            raise ValueError(f"{construct_id}: a FIFO or timer pipeline is fed by a function, any other by a bus rule")
        fifo_props = {"fifo": True, "content_based_deduplication": False} if fifo else {}

        self.dlq = sqs.Queue(
            self,
            "DeadLetterQueue",
            **fifo_props,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DLQ_RETENTION,
            removal_policy=removal_policy,
        )
        # (cdk-nag SQS3 recognises this queue as the DLQ of self.queue, so it needs no DLQ of its own.)

        self.queue = sqs.Queue(
            self,
            "Queue",
            **fifo_props,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=visibility_timeout,
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dlq, max_receive_count=max_receive_count),
            removal_policy=removal_policy,
        )

        routes = dict(routes) if routes else ({source: tuple(detail_types) for source in sources} if sources else {})
        self.detail_types = tuple(t for types in routes.values() for t in types)
        self.rules: list[events.Rule] = []
        if bus is not None:
            if not routes:
                raise ValueError(f"{construct_id}: a bus-fed pipeline needs sources and detail types")
            for index, (source, types) in enumerate(routes.items()):
                self.rules.append(
                    events.Rule(
                        self,
                        "Rule" if index == 0 else f"Rule{index + 1}",
                        event_bus=bus,
                        description=f"{construct_id}: {', '.join(types)} from {source}",
                        event_pattern=events.EventPattern(
                            source=[source], detail_type=list(types), detail=dict(detail) if detail else None
                        ),
                        targets=[targets.SqsQueue(self.queue)],
                    )
                )
        self.rule = self.rules[0] if self.rules else None

        function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=batch_size,
                report_batch_item_failures=True,
                max_concurrency=max_concurrency,
            )
        )

        # Named, so dashboards can show it by name (infra/platform/observability.py).
        self.dlq_alarm_name = f"{Stack.of(self).stack_name}-{construct_id}-dlq-depth"
        self.dlq_alarm = cloudwatch.Alarm(
            self,
            "DeadLetterQueueAlarm",
            alarm_name=self.dlq_alarm_name,
            alarm_description=f"{construct_id}: messages in the dead-letter queue need attention{owned_by}",
            metric=self.dlq.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.dlq_alarm.add_alarm_action(cw_actions.SnsAction(alarm_topic))

        self.lag_alarm: cloudwatch.Alarm | None = None
        self.lag_alarm_name: str | None = None  # shown by name on the dashboards, like the DLQ alarm
        if max_lag_minutes is not None:
            self.lag_alarm_name = f"{Stack.of(self).stack_name}-{construct_id}-lag"
            self.lag_alarm = cloudwatch.Alarm(
                self,
                "QueueLagAlarm",
                alarm_name=self.lag_alarm_name,
                alarm_description=f"{construct_id}: the oldest message has waited more than {max_lag_minutes} min; "
                f"the partner behind this pipeline has been unavailable past the business threshold{owned_by}",
                metric=self.queue.metric_approximate_age_of_oldest_message(
                    period=Duration.minutes(5), statistic=cloudwatch.Stats.MAXIMUM
                ),
                threshold=max_lag_minutes * 60,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            self.lag_alarm.add_alarm_action(cw_actions.SnsAction(alarm_topic))

    def grant_send_to(self, router: lambda_.Function, environment_variable: str) -> None:
        """Let ``router`` feed this pipeline's queue, whose URL it finds in ``environment_variable``.

        ``sqs:SendMessage`` only: the router has the URL, so it needs none of the ``GetQueueUrl``/
        ``GetQueueAttributes`` that ``Queue.grant_send_messages`` adds (the queue uses SQS-managed SSE, so no
        KMS permission either)."""
        iam.Grant.add_to_principal(grantee=router, actions=["sqs:SendMessage"], resource_arns=[self.queue.queue_arn])
        router.add_environment(environment_variable, self.queue.queue_url)
