"""``DistsyncFunction``: the one way a distsync Lambda function is declared.

Every function gets the same runtime, architecture, layer, tracing, memory, common environment and an
explicit log group with retention. The execution role is created here with only ``logs:CreateLogStream``/
``logs:PutLogEvents`` on that log group instead of the AWSLambdaBasicExecutionRole managed policy (which
grants logs on ``*``); callers add the function-specific grants (tables, bus, secret, state machine).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import REPO_ROOT
from infra.nag import acknowledge
from infra.platform.shared_layer import RUNTIME

FUNCTIONS_DIR = REPO_ROOT / "functions"
MEMORY_MB = 512
HANDLER = "handler.lambda_handler"


class DistsyncFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        folder: str,
        timeout: Duration,
        layer: lambda_.ILayerVersion,
        common_environment: Mapping[str, str],
        environment: Mapping[str, str] | None = None,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        description: str,
    ) -> None:
        super().__init__(scope, construct_id)
        code_dir = FUNCTIONS_DIR / folder
        if not (code_dir / "handler.py").is_file():
            raise FileNotFoundError(f"{code_dir.relative_to(REPO_ROOT)}/handler.py is missing")

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=log_retention,
            removal_policy=removal_policy,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"distsync {folder} execution role",
        )
        self.log_group.grant_write(self.role)

        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(code_dir), exclude=["__pycache__", "*.pyc"]),
            layers=[layer],
            memory_size=MEMORY_MB,
            timeout=timeout,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            role=self.role,
            environment={**common_environment, **(environment or {})},
            description=description,
        )
        # Tracing.ACTIVE has just put the X-Ray statement into the role's default policy.
        acknowledge(
            self.role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) does not support "
            "resource-level permissions; every other statement of this policy names its resource.",
        )
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "The contract pins Python 3.13: the shared layer's binary wheels (pydantic-core) are "
            "built for cp313 and the local runtime runs the same version; moving to 3.14 is a coordinated "
            "layer + runtime upgrade.",
        )
