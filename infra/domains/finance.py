"""``Reconciliation``: financial postings recorded once, and a daily reconciliation against the ERP (issue 6,
"Financial reconciliation").

- ``FinancialPostingRecorded`` (ERP webhook, bus source ``distsync.finance``) -> ``PostingRecorderPipeline``
  -> ``posting_recorder``: one item per posting id in the postings table (conditional put), with the index
  ``byPeriod`` (``<postingDate>#<domain>`` + posting id) the reconciliation queries per domain and date.
- ``reconciliation``: for a date (default: yesterday in ``reconciliationTimeZone``), the ERP's posting
  totals from its export API against the recorded postings, per domain, posting type and currency;
  publishes ``ReconciliationCompleted`` with the mismatches and emits ``ReconciliationMismatches``.
- An **EventBridge Scheduler** schedule (``reconciliationSchedule`` in ``reconciliationTimeZone``, daily at
  02:30 by default) invokes it; its role may invoke this one function only, and only for this schedule.
  ``distsync reconcile --date`` invokes the same function on demand.
- An alarm on ``ReconciliationMismatches`` > 0, to the stack's alarm topic.

The slice's construct id ("Reconciliation") is part of its table's logical id: keep it.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.platform import Domain, Platform
from infra.platform.schedule import invoke_schedule

OWNER = "finance"  # the team its functions, pipelines and alarms name (infra/config.py DEFAULT_OWNERS)

PERIOD_INDEX = "byPeriod"  # distsync_core.finance.postings.PERIOD_INDEX
MISMATCH_METRIC = "ReconciliationMismatches"
RECORDER_TIMEOUT = Duration.seconds(30)
RECONCILIATION_TIMEOUT = Duration.seconds(60)  # one ERP call (with retries) and one query per domain
ALARM_PERIOD = Duration.hours(1)
# The schedule's input: Scheduler fills in the scheduled time, so a late (retried) invocation still
# reconciles the day before the *scheduled* time, not the day before it happened to run.
SCHEDULE_INPUT = {"trigger": "schedule", "scheduledTime": "<aws.scheduler.scheduled-time>"}


class Reconciliation(Construct):
    def __init__(self, platform: Platform, construct_id: str) -> None:
        super().__init__(platform.scope, construct_id)
        config = platform.config

        # One item per posting id; by period ("<postingDate>#<domain>") for the reconciliation.
        self.postings = platform.table("PostingsTable", "postingId", scope=self)
        self.postings.add_global_secondary_index(
            index_name=PERIOD_INDEX,
            partition_key=dynamodb.Attribute(name="period", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="postingId", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )

        # --- recorder: FinancialPostingRecorded -> pipeline -> posting_recorder ---
        self.recorder = platform.function(
            "PostingRecorderFunction",
            "posting_recorder",
            RECORDER_TIMEOUT,
            "Records every ERP financial posting once, by posting id and by date and domain",
            POSTINGS_TABLE_NAME=self.postings.table_name,
        )
        # conditional put, and the stored posting to compare a repeated one with (no grant_* helper: with
        # an index on the table the CDK grants would add "<table arn>/index/*")
        iam.Grant.add_to_principal(
            grantee=self.recorder,
            actions=["dynamodb:GetItem", "dynamodb:PutItem"],
            resource_arns=[self.postings.table_arn],
        )
        self.pipeline = platform.pipeline(
            "PostingRecorderPipeline",
            function=self.recorder,
            batch_size=10,
            sources=("distsync.finance",),
            detail_types=("FinancialPostingRecorded",),
            idempotency=False,  # the conditional put by posting id is its idempotency
        )

        # --- reconciliation ---
        self.function = platform.function(
            "ReconciliationFunction",
            "reconciliation",
            RECONCILIATION_TIMEOUT,
            "Reconciles the ERP's posting totals of a date with the recorded postings per domain",
            **platform.partner_environment,
            POSTINGS_TABLE_NAME=self.postings.table_name,
            EVENT_BUS_NAME=platform.bus.event_bus_name,
            RECONCILIATION_TIME_ZONE=config.reconciliation_time_zone,
        )
        iam.Grant.add_to_principal(
            grantee=self.function,
            actions=["dynamodb:Query"],
            resource_arns=[f"{self.postings.table_arn}/index/{PERIOD_INDEX}"],
        )
        platform.bus.grant_put_events_to(self.function)

        # --- EventBridge Scheduler: the daily run ---
        schedule_name = f"distsync-{config.stage}-reconciliation"
        self.schedule, self.schedule_role = invoke_schedule(
            self,
            "Schedule",
            name=schedule_name,
            description="Daily financial reconciliation: the ERP's posting totals of the previous day against "
            "the postings distsync recorded",
            role_description=f"{schedule_name}: invokes the reconciliation function, nothing else",
            function=self.function,
            expression=config.reconciliation_schedule,
            payload=SCHEDULE_INPUT,
            time_zone=config.reconciliation_time_zone,
        )

        # --- alarm: a reconciliation with mismatches ---
        platform.metrics.count(MISMATCH_METRIC)  # per reconciliation run (0 when balanced)
        self.alarm_name = f"distsync-{config.stage}-reconciliation-mismatches"
        self.alarm = cloudwatch.Alarm(
            self,
            "MismatchAlarm",
            alarm_name=self.alarm_name,
            alarm_description=f"distsync-{config.stage}: a financial reconciliation found postings that do not "
            f"reconcile with the ERP (ReconciliationCompleted lists them; distsync reconcile --date re-runs it). "
            f"Owner: {platform.owner()}",
            metric=platform.metrics.metric(MISMATCH_METRIC, statistic="Maximum", period=ALARM_PERIOD, labelled=False),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.alarm.add_alarm_action(cw_actions.SnsAction(platform.alarm_topic))

        platform.dashboard(
            Domain(
                key="finance",
                title="Financial reconciliation (ERP postings recorded, daily reconciliation)",
                pipelines=("PostingRecorderPipeline",),
                functions=("reconciliation",),
                metrics=(MISMATCH_METRIC, "RecordsQuarantined"),
                alarms=(self.alarm_name,),
            )
        )
        platform.output("PostingsTableName", self.postings.table_name)
        platform.output("ReconciliationFunctionName", self.function.function_name)
        platform.output("ReconciliationScheduleName", self.schedule.ref)


def build(platform: Platform) -> Reconciliation:
    return Reconciliation(platform, "Reconciliation")
