"""``FileLanding``: the S3 bucket partners (suppliers, 3PLs, the planning platform) drop files into.

Layout of keys, by prefix:
- ``inbound/<partner>/<file>``: where partners write (object-created events go to EventBridge, where the file
  intake pipeline's rule picks them up);
- ``archive/<partner>/<date>/<fileId>-<file>``: originals, kept after processing (to Glacier Instant Retrieval
  after ``archive_transition_days``);
- ``rejected/<partner>/<fileId>-<file>`` with ``<fileId>-<file>.errors.json``: files (or the bad parts of mixed
  files) with a machine-readable error report (expire after ``rejected_expiry_days``); a file rejected unread
  (unknown partner, unusable name, too large) as ``rejected/<partner>/<file>``;
- ``outbound/<partner>/<fileId>-<file>.<997|contrl>``: functional acknowledgments (X12 997 / EDIFACT CONTRL)
  for partners to collect.

``<fileId>`` is ``<partner>-<first 12 hex digits of the file's sha256>``: a partner reusing a file name (even on
one day) keeps the acknowledgment, report and original of each file.

Encrypted (SSE-S3), TLS only, no public access, versioned (an overwritten or deleted original can be
recovered), server access logs into a bucket of their own.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.nag import acknowledge

INBOUND_PREFIX = "inbound/"


class FileLanding(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        removal_policy: RemovalPolicy,
        archive_transition_days: int,
        rejected_expiry_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        common = {
            "encryption": s3.BucketEncryption.S3_MANAGED,
            "enforce_ssl": True,
            "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
            "removal_policy": removal_policy,
        }
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            **common,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(365))],
        )
        acknowledge(
            self.access_logs,
            "AwsSolutions-S1",
            "This is the server access log bucket of the landing bucket; logging its own access would loop.",
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            **common,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="landing/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="archive-to-glacier-ir",
                    prefix="archive/",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=Duration.days(archive_transition_days),
                        )
                    ],
                ),
                s3.LifecycleRule(
                    id="expire-rejected", prefix="rejected/", expiration=Duration.days(rejected_expiry_days)
                ),
                s3.LifecycleRule(id="expire-acks", prefix="outbound/", expiration=Duration.days(rejected_expiry_days)),
                s3.LifecycleRule(
                    id="old-versions-and-uploads",
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
            ],
        )
        # Object-created events to EventBridge, set on the bucket itself (CloudFormation's
        # NotificationConfiguration), not through the CDK's custom-resource Lambda for bucket notifications.
        cfn_bucket = self.bucket.node.default_child
        cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True)
        )
