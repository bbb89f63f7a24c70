"""``PlanningSftp``: an SFTP endpoint for planning partners that exchange files (issue 14, "File-based planning
platforms"), on AWS Transfer Family: SFTP only, service-managed users (SSH public keys), S3 domain, the
landing bucket behind it. Built only when context ``sftpPartners`` names a partner (default: none, no server).

- one Transfer Family user per partner, its logical home directory ``/`` mapped to its ``homePrefix`` of the
  landing bucket (``cycles/`` by default): the partner sees that folder as its root and nothing else;
- one IAM role per user: list its prefix, read and write objects under it; no delete (a landed cycle file
  stays; the bucket is versioned anyway). Trusted by Transfer Family only for users of this server;
- what a partner uploads lands as an ordinary S3 object, so S3's "Object Created" event starts what it
  starts for any other writer (``cycles/``: the forecast cycle pipeline; ``inbound/<partner>/``: file intake);
- the server's structured logs (sessions, uploads) go to a log group of its own, through a logging role that
  may write that group only; the security policy (SSH ciphers, KEX, MACs) is ``sftpSecurityPolicy``, named
  explicitly (CloudFormation's default would be the 2018 policy).

docs/connectors/sftp.md says how partners are set up and what was checked only against AWS documentation.
"""

from __future__ import annotations

import re

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_transfer as transfer
from constructs import Construct

from infra.nag import acknowledge
from infra.platform import Platform

OWNER = "planning-integration"  # the team its functions, pipelines and alarms name (infra/config.py DEFAULT_OWNERS)

TRANSFER = "transfer.amazonaws.com"


def _construct_id(user: str) -> str:
    """A construct id per user (its logical ids follow it: keep user names stable)."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", user) if part)


class PlanningSftp(Construct):
    def __init__(self, platform: Platform, construct_id: str) -> None:
        super().__init__(platform.scope, construct_id)
        config = platform.config
        bucket = platform.landing.bucket
        stack = Stack.of(self)

        self.log_group = logs.LogGroup(self, "LogGroup", retention=platform.log_retention,
                                       removal_policy=platform.removal)
        # confused deputy: only Transfer Family acting for this account may assume the server's logging role
        self.logging_role = iam.Role(
            self, "LoggingRole",
            description="distsync SFTP server: writes its structured logs to its own log group, nothing else",
            assumed_by=iam.ServicePrincipal(TRANSFER, conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": stack.format_arn(service="transfer", resource="server",
                                                               resource_name="*")},
            }),
        )
        self.logging_role.add_to_policy(iam.PolicyStatement(
            actions=["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            resources=[self.log_group.log_group_arn],
        ))
        self.server = transfer.CfnServer(
            self, "Server",
            domain="S3",
            endpoint_type="PUBLIC",
            identity_provider_type="SERVICE_MANAGED",
            protocols=["SFTP"],
            security_policy_name=config.sftp_security_policy,
            logging_role=self.logging_role.role_arn,
            structured_log_destinations=[self.log_group.log_group_arn],
        )
        self.server.node.add_dependency(self.logging_role)

        users_arn = stack.format_arn(service="transfer", resource="user",
                                     resource_name=f"{self.server.attr_server_id}/*")
        bucket_id = stack.resolve(stack.get_logical_id(bucket.node.default_child))
        self.users: dict[str, transfer.CfnUser] = {}
        self.roles: dict[str, iam.Role] = {}
        for user, partner in sorted(config.sftp_partners.items()):
            prefix = partner["homePrefix"]
            cid = _construct_id(user)
            role = iam.Role(
                self, f"{cid}Role",
                description=f"distsync SFTP user {user}: list, read and write {prefix} of the landing bucket only",
                assumed_by=iam.ServicePrincipal(TRANSFER, conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": users_arn},
                }),
            )
            # Listing the home directory is ListBucket with that prefix (the root is the prefix itself).
            role.add_to_policy(iam.PolicyStatement(
                actions=["s3:ListBucket"], resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
            ))
            # GetObject: SFTP clients stat (HeadObject) what they uploaded; PutObject covers multipart uploads.
            role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject", "s3:PutObject"],
                                                   resources=[bucket.arn_for_objects(f"{prefix}*")]))
            acknowledge(
                role.node.find_child("DefaultPolicy"),
                f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{prefix}*]",
                f"The SFTP user {user} reads and writes files it names itself under its home prefix {prefix} of "
                "the landing bucket, and nothing outside it: a prefix wildcard is the home directory.",
            )
            self.users[user] = transfer.CfnUser(
                self, f"{cid}User",
                server_id=self.server.attr_server_id,
                user_name=user,
                role=role.role_arn,
                home_directory_type="LOGICAL",
                home_directory_mappings=[transfer.CfnUser.HomeDirectoryMapEntryProperty(
                    entry="/", target=f"/{bucket.bucket_name}/{prefix.rstrip('/')}")],
                ssh_public_keys=partner["publicKeys"],
            )
            self.users[user].node.add_dependency(role)
            self.roles[user] = role

        platform.output("SftpServerId", self.server.attr_server_id)
        # the public endpoint's host name (Transfer Family's documented form for a PUBLIC server)
        platform.output("SftpEndpoint", f"{self.server.attr_server_id}.server.transfer.{stack.region}.amazonaws.com")


def build(platform: Platform) -> PlanningSftp | None:
    if not platform.config.sftp_partners:
        return None  # no partner, no server: the default stack is unchanged
    return PlanningSftp(platform, "PlanningSftp")
