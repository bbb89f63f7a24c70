"""``FileIntake``: partner files (EDI X12/EDIFACT, CSV) from the landing bucket into canonical events.

S3 "Object Created" under ``inbound/`` (the account's default bus) -> a ``DomainPipeline`` -> ``file_ingest``
(distsync_core/files/intake.py): parse and validate, check item-locations against master data, publish the
accepted transactions' events to the distsync bus, write the acknowledgment to ``outbound/``, the error
report to ``rejected/``, move the original to ``archive/`` or ``rejected/``. A registry table keyed by the
file's sha256 makes the same bytes apply once. Partners come from context ``filePartners``.
"""

from __future__ import annotations

import json

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.nag import acknowledge
from infra.platform import Domain, Platform

OWNER = "integration-platform"  # the team its functions, pipelines and alarms name (infra/config.py DEFAULT_OWNERS)

INBOUND, ARCHIVE, REJECTED, OUTBOUND = "inbound/", "archive/", "rejected/", "outbound/"
INGEST_TIMEOUT = Duration.minutes(2)  # a 50 MB file: read, parse, publish, archive


class FileIntake(Construct):
    def __init__(self, platform: Platform, construct_id: str) -> None:
        super().__init__(platform.scope, construct_id)
        bucket, tables = platform.landing.bucket, platform.tables
        self.registry = platform.table("FilesTable", "checksum", scope=self)  # one item per file's sha256
        partners = platform.config.file_partners
        self.function = platform.function(
            "FileIngestFunction",
            "file_ingest",
            INGEST_TIMEOUT,
            "Parses partner files (X12, EDIFACT, CSV) into canonical events, acknowledges and archives them",
            LANDING_BUCKET_NAME=bucket.bucket_name,
            FILES_TABLE_NAME=self.registry.table_name,
            MASTERDATA_TABLE_NAME=tables.masterdata.table_name,
            EVENT_BUS_NAME=platform.bus.event_bus_name,
            FILE_PARTNERS=json.dumps(partners, separators=(",", ":"), sort_keys=True),
            FILE_MAX_RECORDS=str(platform.config.file_max_records),
        )
        fn = self.function

        def allow(actions: list[str], prefixes: tuple[str, ...]) -> None:
            iam.Grant.add_to_principal(grantee=fn, actions=actions,
                                       resource_arns=[bucket.arn_for_objects(f"{p}*") for p in prefixes])

        allow(["s3:GetObject", "s3:DeleteObject"], (INBOUND,))
        allow(["s3:PutObject"], (ARCHIVE, REJECTED, OUTBOUND))
        iam.Grant.add_to_principal(grantee=fn, actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                                   resource_arns=[self.registry.table_arn])
        iam.Grant.add_to_principal(grantee=fn, actions=["dynamodb:BatchGetItem"],
                                   resource_arns=[tables.masterdata.table_arn])
        platform.bus.grant_put_events_to(fn)
        bucket_id = Stack.of(self).resolve(Stack.of(self).get_logical_id(bucket.node.default_child))
        for prefix in (INBOUND, ARCHIVE, REJECTED, OUTBOUND):
            acknowledge(
                fn.role.node.find_child("DefaultPolicy"),
                f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{prefix}*]",
                "The file intake reads and deletes partner files under inbound/ and writes archives, reports and "
                "acknowledgments under its own prefixes; the objects are named by partners at run time.",
            )

        default_bus = events.EventBus.from_event_bus_name(self, "DefaultBus", "default")
        self.pipeline = platform.pipeline(
            "FileIntakePipeline",
            function=fn,
            batch_size=1,  # one file per invocation: a big file has the whole timeout to itself
            bus=default_bus,
            routes={"aws.s3": ["Object Created"]},
            detail={"bucket": {"name": [bucket.bucket_name]}, "object": {"key": [{"prefix": INBOUND}]}},
            shared_consumer=False,
        )
        # partner files taken in, and their rejected transactions (a wholly rejected or duplicate file counts 1)
        platform.metrics.count("FilesProcessed", "FileTransactionsRejected")
        platform.dashboard(
            Domain(
                key="partner-files",
                title="Partner files (X12, EDIFACT, CSV): events, acknowledgments, rejections",
                pipelines=("FileIntakePipeline",),
                metrics=("FilesProcessed", "FileTransactionsRejected"),
            )
        )
        platform.output("FilesTableName", self.registry.table_name)


def build(platform: Platform) -> FileIntake:
    # The construct id is part of the files table's logical id: keep it.
    return FileIntake(platform, "FileIntake")
