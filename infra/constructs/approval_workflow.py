"""The replenishment approval state machine, defined in state_machines/replenishment_approval.asl.json
(placeholders: the two function ARNs and the approval window)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Token
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import REPO_ROOT
from infra.constructs.workflow import AslWorkflow, render_asl

ASL_PATH = REPO_ROOT / "state_machines" / "replenishment_approval.asl.json"


def render_definition(asl: str, *, request_function_arn: str, outcome_function_arn: str, timeout_seconds: int) -> str:
    return render_asl(
        asl,
        ASL_PATH.name,
        arns={"ApprovalRequestFunctionArn": request_function_arn, "ApprovalOutcomeFunctionArn": outcome_function_arn},
        numbers={"ApprovalTimeoutSeconds": timeout_seconds},
    )


class ApprovalWorkflow(AslWorkflow):
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
        if Token.is_unresolved(timeout_seconds):
            raise ValueError("approvalTimeoutSeconds must be a literal integer")
        super().__init__(
            scope,
            construct_id,
            asl_path=ASL_PATH,
            comment="Planner approval of a replenishment change above the threshold",
            functions={"ApprovalRequestFunctionArn": request_function, "ApprovalOutcomeFunctionArn": outcome_function},
            numbers={"ApprovalTimeoutSeconds": timeout_seconds},
            log_retention=log_retention,
            removal_policy=removal_policy,
        )
