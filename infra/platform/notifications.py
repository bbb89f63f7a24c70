"""SNS topics per audience (planners, operations) that carry short human messages with the command or console
link to act on, encrypted with a customer-managed KMS key (as the alarm topic; only distsync's functions publish here,
through their grants). Email subscribers come from context ``notificationEmails``; a Slack
channel is an AWS Chatbot configuration on the topic (README "Notifications")."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

AUDIENCES = ("planners", "operations")


class NotificationTopics(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        emails: dict[str, list[str]],
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description=f"distsync-{stage} notification topics encryption",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        self.topics: dict[str, sns.Topic] = {}
        for audience in AUDIENCES:
            topic = sns.Topic(
                self,
                audience.capitalize(),
                display_name=f"distsync-{stage} {audience}",
                master_key=self.key,
                enforce_ssl=True,
            )
            for email in emails.get(audience, []):
                topic.add_subscription(subscriptions.EmailSubscription(email))
            self.topics[audience] = topic

    def grant_publish(self, audience: str, grantee: iam.IGrantable) -> sns.Topic:
        """Lets ``grantee`` publish to the audience's topic: sns:Publish on it, and the two KMS actions SNS
        needs of a publisher to an encrypted topic, named (Topic.grant_publish asks for GenerateDataKey*)."""
        topic = self.topics[audience]
        iam.Grant.add_to_principal(grantee=grantee, actions=["sns:Publish"], resource_arns=[topic.topic_arn])
        iam.Grant.add_to_principal(grantee=grantee, actions=["kms:Decrypt", "kms:GenerateDataKey"],
                                   resource_arns=[self.key.key_arn])
        return topic
