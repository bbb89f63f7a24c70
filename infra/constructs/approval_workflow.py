"""The replenishment approval state machine, defined in state_machines/replenishment_approval.asl.json.

The ASL stays a plain file (readable, diffable, usable by the local runtime) with three placeholders
filled in at synth: the two function ARNs and the approval window. The window placeholder is quoted in the
file to keep it valid JSON, so ``"${ApprovalTimeoutSeconds}"`` including the quotes becomes an integer.
"""

from __future__ import annotations

import json

from aws_cdk import RemovalPolicy, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import REPO_ROOT
from infra.nag import acknowledge

ASL_PATH = REPO_ROOT / "state_machines" / "replenishment_approval.asl.json"


def render_definition(
    asl: str, *, request_function_arn: str, outcome_function_arn: str, timeout_seconds: int
) -> str:
    """Fill the placeholders; fail synth if one is missing or left over (e.g. after an ASL edit)."""
    replacements = {
        '"${ApprovalTimeoutSeconds}"': str(int(timeout_seconds)),
        "${ApprovalRequestFunctionArn}": request_function_arn,
        "${ApprovalOutcomeFunctionArn}": outcome_function_arn,
    }
    for placeholder, value in replacements.items():
        if placeholder not in asl:
            raise ValueError(f"{ASL_PATH.name}: placeholder {placeholder} not found")
        asl = asl.replace(placeholder, value)
    if "${Approval" in asl:
        raise ValueError(f"{ASL_PATH.name}: unknown placeholder left after substitution")
    json.loads(asl)  # still valid JSON (the ARN tokens render as plain strings here)
    return asl


class ApprovalWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        request_function: lambda_.IFunction,
        outcome_function: lambda_.IFunction,
        timeout_seconds: int,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        if Token.is_unresolved(timeout_seconds):
            raise ValueError("approvalTimeoutSeconds must be a literal integer")
        definition = render_definition(
            ASL_PATH.read_text(encoding="utf-8"),
            request_function_arn=request_function.function_arn,
            outcome_function_arn=outcome_function.function_arn,
            timeout_seconds=timeout_seconds,
        )

        self.log_group = logs.LogGroup(
            self, "LogGroup", retention=log_retention, removal_policy=removal_policy
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            comment="Planner approval of a replenishment change above the threshold",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(definition),
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True
            ),
            tracing_enabled=True,
            removal_policy=removal_policy,
        )
        # Invoke exactly the two unqualified function ARNs the definition names (Function.grant_invoke would
        # also allow every version/alias, "<arn>:*").
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[request_function.function_arn, outcome_function.function_arn],
            )
        )
        acknowledge(
            self.state_machine.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Added by the CDK for ALL-level logging (logs:*LogDelivery, logs:PutResourcePolicy, "
            "logs:Describe*) and X-Ray tracing (xray:PutTraceSegments etc.); these actions do not support "
            "resource-level permissions.",
        )
