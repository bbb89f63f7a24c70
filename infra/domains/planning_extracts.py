"""``PlanningExtracts``: outbound files for file-based planning platforms (issue 14, "File-based planning
platforms"): the master data's current item-location parameters, as the ERP confirmed them, written by
``planning_extract`` to ``outbound/planning/extracts/<date>/item-locations.csv`` in the landing bucket.

- An **EventBridge Scheduler** schedule (``planningExtractSchedule``, UTC; daily at 04:00 by default)
  invokes it; its role may invoke this one function only, and only for this schedule.
- ``distsync extracts run [--date]`` invokes the same function on demand (locally through moto's Invoke).
- The extract expires with the rest of ``outbound/`` (``fileRejectedExpiryDays``): each run writes a new one.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.platform import Domain, Platform
from infra.platform.schedule import invoke_schedule

OWNER = "planning-integration"  # the team its functions, pipelines and alarms name (infra/config.py DEFAULT_OWNERS)

EXTRACT_PREFIX = "outbound/planning/extracts/"  # distsync_core.planning.extracts.EXTRACT_PREFIX
EXTRACT_TIMEOUT = Duration.minutes(5)  # a scan of the master data table and one upload
SCHEDULE_INPUT = {"trigger": "schedule", "scheduledTime": "<aws.scheduler.scheduled-time>"}


class PlanningExtracts(Construct):
    def __init__(self, platform: Platform, construct_id: str) -> None:
        super().__init__(platform.scope, construct_id)
        config = platform.config
        bucket = platform.landing.bucket
        masterdata = platform.tables.masterdata

        self.function = platform.function(
            "PlanningExtractFunction",
            "planning_extract",
            EXTRACT_TIMEOUT,
            "Writes the master data's item-location parameters as a CSV extract for the planning platform",
            MASTERDATA_TABLE_NAME=masterdata.table_name,
            LANDING_BUCKET_NAME=bucket.bucket_name,
        )
        iam.Grant.add_to_principal(grantee=self.function, actions=["dynamodb:Scan"],
                                   resource_arns=[masterdata.table_arn])
        # one upload (multipart when large: its parts are s3:PutObject too, an abandoned one is aborted)
        platform.grant_landing_writes(
            self.function, EXTRACT_PREFIX,
            f"The planning extract writes one file per day under {EXTRACT_PREFIX} of the landing bucket (named by "
            "the date at run time) and nothing else of it.", actions=("s3:PutObject", "s3:AbortMultipartUpload"))

        schedule_name = f"distsync-{config.stage}-planning-extract"
        self.schedule, self.schedule_role = invoke_schedule(
            self,
            "Schedule",
            name=schedule_name,
            description="The item-location parameters extract for the planning platform",
            role_description=f"{schedule_name}: invokes the planning extract function, nothing else",
            function=self.function,
            expression=config.planning_extract_schedule,
            payload=SCHEDULE_INPUT,
            time_zone="UTC",
        )

        platform.dashboard(Domain(key="planning-extracts",
                                  title="Planning extracts (item-location parameters for file-based planning)",
                                  functions=("planning_extract",)))
        platform.output("PlanningExtractFunctionName", self.function.function_name)
        platform.output("PlanningExtractScheduleName", self.schedule.ref)


def build(platform: Platform) -> PlanningExtracts:
    return PlanningExtracts(platform, "PlanningExtracts")
