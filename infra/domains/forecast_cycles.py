"""``ForecastCycles``: the bulk path for whole planning cycles (issue 6, "Forecast cycles at planning scale").

The planning platform drops ``cycles/<cycleId>.csv[.gz]`` (``itemId,locationId,safetyStock,reorderPoint``)
into the landing bucket. S3 sends "Object Created" to the account's default bus; a ``DomainPipeline`` on it
(bucket and ``cycles/`` prefix) feeds ``cycle_starter``, which starts the cycle state machine with the cycle
id as the execution name (the same file twice: one run). The state machine
(``state_machines/forecast_cycle.asl.json``):

A cycle may also start on its manifest, ``cycles/<cycleId>.manifest.json`` (the data file and its row count,
``distsync_core.planning.manifest``); with ``cycleManifestRequired`` only the manifest starts one. Then:

1. ``cycle_prepare``: checks the manifest's listing and counts (if it started the run), name, header, UTF-8 and the limits ``cycleMaxUnzippedBytes`` / ``cycleMaxRows``
   as it streams the file; a gzip file (or one with a BOM) is streamed into ``work/cycles/<cycleId>.csv``,
   since the Distributed Map's CSV reader reads plain CSV only;
2. a **Distributed Map** (ItemReader S3 CSV, ``ItemBatcher`` of ``cycleChunkSize`` rows, ``MaxConcurrency``
   ``cycleMaxConcurrency``, Express child workflows): ``cycle_chunk`` per batch compares rows with the last
   applied parameters (master data, ``BatchGetItem``), emits only material changes (above
   ``cycleTolerancePercent``) as ``ReplenishmentRecommended``, reports rejected rows to
   ``rejected/cycles/<cycleId>/`` and adds its counts to the cycle runs table;
3. ``cycle_summary``: publishes ``ForecastCycleCompleted`` from those totals (rejected or failed runs too).

The slice's construct id ("ForecastCycles") is part of its table's and state machine's logical ids: keep it.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra import REPO_ROOT
from infra.nag import acknowledge
from infra.platform import Domain, Platform
from infra.platform.workflow import AslWorkflow

OWNER = "planning-integration"  # the team its functions, pipelines and alarms name (infra/config.py DEFAULT_OWNERS)

ASL_PATH = REPO_ROOT / "state_machines" / "forecast_cycle.asl.json"
CYCLE_PREFIX = "cycles/"  # where planning drops cycle files (distsync_core.planning.cycles.CYCLE_PREFIX)
WORK_PREFIX = "work/cycles/"  # plain CSV copies for the CSV reader (distsync_core.planning.cycles.WORK_PREFIX)
REJECTED_PREFIX = "rejected/cycles/"  # rejected-rows reports (distsync_core.planning.cycles.REJECTED_PREFIX)
WORK_EXPIRY = Duration.days(7)  # the summary deletes a copy; this only clears those of runs that died

STARTER_TIMEOUT = Duration.seconds(30)
PREPARE_TIMEOUT = Duration.minutes(5)  # streams a gzip cycle (~45 MB plain per million rows) into S3
CHUNK_TIMEOUT = Duration.seconds(60)
SUMMARY_TIMEOUT = Duration.seconds(30)

TABLE_UPDATE = ("dynamodb:UpdateItem",)
# TransactWriteItems is authorized per contained action: the chunk marker (Put) and the totals (Update).
TABLE_COUNT = ("dynamodb:PutItem", "dynamodb:UpdateItem")


class ForecastCycles(Construct):
    def __init__(self, platform: Platform, construct_id: str) -> None:
        super().__init__(platform.scope, construct_id)
        config = platform.config
        bucket = platform.landing.bucket
        tables = platform.tables

        # One item per cycle (sk "RUN": status, times, totals) + one marker per counted batch ("CHUNK#<n>").
        self.runs = platform.table("CycleRunsTable", "cycleId", sort_key="sk", ttl_attribute="expiresAt", scope=self)
        bucket.add_lifecycle_rule(id="expire-cycle-work-copies", prefix=WORK_PREFIX, expiration=WORK_EXPIRY)

        def objects(*prefixes: str) -> list[str]:
            return [bucket.arn_for_objects(f"{prefix}*") for prefix in prefixes]

        def allow(fn, actions: tuple[str, ...] | list[str], resources: list[str]) -> None:
            iam.Grant.add_to_principal(grantee=fn, actions=list(actions), resource_arns=resources)

        common = {
            "CYCLE_RUNS_TABLE_NAME": self.runs.table_name,
            "LANDING_BUCKET_NAME": bucket.bucket_name,
        }
        tolerance = str(config.cycle_tolerance_percent)

        # --- the state machine's tasks ---
        self.prepare = platform.function(
            "CyclePrepareFunction",
            "cycle_prepare",
            PREPARE_TIMEOUT,
            "Checks a forecast cycle file and makes it plain CSV for the Distributed Map's reader",
            **common,
            CYCLE_MAX_UNZIPPED_BYTES=str(config.cycle_max_unzipped_bytes),
            CYCLE_MAX_ROWS=str(config.cycle_max_rows),
        )
        allow(self.prepare, ["s3:GetObject"], objects(CYCLE_PREFIX))
        # multipart upload of the plain copy (Create/UploadPart/Complete are s3:PutObject) and its abort
        allow(self.prepare, ["s3:PutObject", "s3:AbortMultipartUpload"], objects(WORK_PREFIX))
        allow(self.prepare, ["s3:PutObject"], objects(REJECTED_PREFIX))  # the rejected file's report
        allow(self.prepare, TABLE_UPDATE, [self.runs.table_arn])
        # a manifest's check lists the cycle's files (cycles/<cycleId>.*): without ListBucket a missing one
        # would answer 403, not 404
        self.prepare.add_to_role_policy(iam.PolicyStatement(
            actions=["s3:ListBucket"], resources=[bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{CYCLE_PREFIX}*"]}}))

        self.chunk = platform.function(
            "CycleChunkFunction",
            "cycle_chunk",
            CHUNK_TIMEOUT,
            "Compares a batch of cycle rows with the last applied parameters and emits the material changes",
            **common,
            MASTERDATA_TABLE_NAME=tables.masterdata.table_name,
            EVENT_BUS_NAME=platform.bus.event_bus_name,
            CYCLE_TOLERANCE_PERCENT=tolerance,
            APPROVAL_THRESHOLD_PERCENT=str(config.approval_threshold_percent),
        )
        allow(self.chunk, ["dynamodb:BatchGetItem"], [tables.masterdata.table_arn])
        allow(self.chunk, TABLE_COUNT, [self.runs.table_arn])
        allow(self.chunk, ["s3:PutObject"], objects(REJECTED_PREFIX))
        platform.bus.grant_put_events_to(self.chunk)

        self.summary = platform.function(
            "CycleSummaryFunction",
            "cycle_summary",
            SUMMARY_TIMEOUT,
            "Publishes the forecast cycle's summary from the totals its batches added up",
            **common,
            EVENT_BUS_NAME=platform.bus.event_bus_name,
            CYCLE_TOLERANCE_PERCENT=tolerance,
        )
        allow(self.summary, TABLE_UPDATE, [self.runs.table_arn])
        allow(self.summary, ["s3:DeleteObject"], objects(WORK_PREFIX))  # the plain copy, once read
        platform.bus.grant_put_events_to(self.summary)

        # --- the state machine (fixed name: its role names its own ARN for the Distributed Map) ---
        name = f"{Stack.of(self).stack_name}-forecast-cycle"
        self.workflow = AslWorkflow(
            self,
            "CycleWorkflow",
            asl_path=ASL_PATH,
            comment="Forecast cycle: prepare the file, Distributed Map over its rows in batches, summary event",
            functions={
                "CyclePrepareFunctionArn": self.prepare,
                "CycleChunkFunctionArn": self.chunk,
                "CycleSummaryFunctionArn": self.summary,
            },
            numbers={"CycleChunkSize": config.cycle_chunk_size, "CycleMaxConcurrency": config.cycle_max_concurrency},
            log_retention=platform.log_retention,
            removal_policy=platform.removal,
            state_machine_name=name,
        )
        self.state_machine = self.workflow.state_machine
        own_arn = Stack.of(self).format_arn(service="states", resource="stateMachine", resource_name=name,
                                            arn_format=ArnFormat.COLON_RESOURCE_NAME)
        executions = Stack.of(self).format_arn(service="states", resource="execution", resource_name=f"{name}/*",
                                               arn_format=ArnFormat.COLON_RESOURCE_NAME)
        role = self.state_machine.role
        # The ItemReader reads the cycle file (or its plain copy); the Distributed Map runs its batches as
        # child executions of this state machine.
        role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"],
                                                         resources=objects(CYCLE_PREFIX, WORK_PREFIX)))
        role.add_to_principal_policy(iam.PolicyStatement(actions=["states:StartExecution"], resources=[own_arn]))
        role.add_to_principal_policy(iam.PolicyStatement(actions=["states:DescribeExecution", "states:StopExecution"],
                                                         resources=[executions]))

        # --- cdk-nag: object grants are by key prefix (a cycle's objects are only known at run time) ---
        bucket_id = Stack.of(self).resolve(Stack.of(self).get_logical_id(bucket.node.default_child))
        prefix_reason = (
            "S3 object permissions of the forecast-cycle slice, limited to its own key prefixes of the landing "
            "bucket ({prefixes}): the cycle files, their plain copies and reports are named per cycle at run time."
        )
        for fn, prefixes in ((self.prepare, (CYCLE_PREFIX, WORK_PREFIX, REJECTED_PREFIX)),
                             (self.chunk, (REJECTED_PREFIX,)), (self.summary, (WORK_PREFIX,)),
                             (self.state_machine, (CYCLE_PREFIX, WORK_PREFIX))):
            policy = fn.role.node.find_child("DefaultPolicy")
            for prefix in prefixes:
                acknowledge(policy, f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{prefix}*]",
                            prefix_reason.format(prefixes=", ".join(prefixes)))
        acknowledge(
            role.node.find_child("DefaultPolicy"),
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{name}/*]",
            "A Distributed Map runs its batches as child executions of this state machine, whose ids are only "
            "known at run time: describe/stop on the executions of this one state machine (AWS's documented "
            "least-privilege policy for Distributed Map).",
        )

        # --- trigger: S3 "Object Created" (default bus) -> queue -> starter ---
        self.starter = platform.function(
            "CycleStarterFunction",
            "cycle_starter",
            STARTER_TIMEOUT,
            "Starts the forecast cycle state machine for a cycle file that landed (one run per cycle id)",
            CYCLE_STATE_MACHINE_ARN=self.state_machine.state_machine_arn,
            # true: only cycles/<cycleId>.manifest.json starts a cycle (its data file waits for it)
            CYCLE_MANIFEST_REQUIRED=str(config.cycle_manifest_required).lower(),
        )
        self.state_machine.grant_start_execution(self.starter)
        default_bus = events.EventBus.from_event_bus_name(self, "DefaultBus", "default")
        self.pipeline = platform.pipeline(
            "CycleFilePipeline",
            function=self.starter,
            batch_size=10,
            bus=default_bus,
            routes={"aws.s3": ["Object Created"]},
            detail={"bucket": {"name": [bucket.bucket_name]}, "object": {"key": [{"prefix": CYCLE_PREFIX}]}},
            shared_consumer=False,
        )

        platform.metrics.count(
            "CycleRowsRead",  # once per cycle (functions/cycle_summary): rows read,
            "CycleRowsChanged",  # material changes (each a ReplenishmentRecommended),
            "CycleRowsRejected",  # rows rejected into the cycle's report,
            "CycleApprovalsRequired",  # changes above the approval threshold,
            "CyclesFailed",  # cycles that ended rejected or failed (0 for a completed one)
        )
        platform.metrics.latency("CycleDuration", "s")  # cycle started -> summarized
        platform.dashboard(
            Domain(
                key="forecast-cycles",
                title="Forecast cycles (planning cycle files in bulk: Distributed Map, material changes)",
                pipelines=("CycleFilePipeline",),
                functions=("cycle_prepare", "cycle_chunk", "cycle_summary"),
                state_machine="forecast-cycle",
                metrics=("CycleRowsRead", "CycleRowsChanged", "CycleRowsRejected", "CycleApprovalsRequired",
                         "CyclesFailed", "CycleDuration"),
            )
        )
        platform.state_machine("forecast-cycle", self.state_machine, output="CycleStateMachineArn")
        platform.output("CycleRunsTableName", self.runs.table_name)



def build(platform: Platform) -> ForecastCycles:
    return ForecastCycles(platform, "ForecastCycles")
