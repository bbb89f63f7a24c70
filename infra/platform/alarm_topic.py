"""SNS topic that receives every DLQ alarm, encrypted with a customer-managed KMS key.

CloudWatch alarms publish to an encrypted topic only if the key policy lets cloudwatch.amazonaws.com use
the key (an AWS-managed SNS key does not allow that), hence the CMK.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct


class AlarmTopic(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: str, removal_policy: RemovalPolicy
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description=f"distsync-{stage} alarm topic encryption",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy "*" means this key
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name=f"distsync-{stage} alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
