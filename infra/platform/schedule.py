"""One EventBridge Scheduler schedule that invokes one function, with a role that may invoke only that function
and may be assumed only by this account's schedule of that name (confused deputy)."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct


def invoke_schedule(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    description: str,
    role_description: str,
    function: lambda_.IFunction,
    expression: str,
    payload: dict[str, Any],
    time_zone: str | None = None,
    max_event_age_seconds: int = 3600,
    max_retries: int = 3,
) -> tuple[scheduler.CfnSchedule, iam.Role]:
    """``construct_id`` names the schedule; its role is ``<construct_id>Role``. Retries are delivery retries
    (throttling); a failing run is the function's error-rate alarm."""
    stack = Stack.of(scope)
    schedule_arn = stack.format_arn(service="scheduler", resource="schedule", resource_name=f"default/{name}",
                                    arn_format=ArnFormat.SLASH_RESOURCE_NAME)
    role = iam.Role(
        scope,
        f"{construct_id}Role",
        description=role_description,
        assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com", conditions={
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnEquals": {"aws:SourceArn": schedule_arn},
        }),
    )
    role.add_to_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function.function_arn]))
    schedule = scheduler.CfnSchedule(
        scope,
        construct_id,
        name=name,
        description=description,
        schedule_expression=expression,
        schedule_expression_timezone=time_zone,
        flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
        state="ENABLED",
        target=scheduler.CfnSchedule.TargetProperty(
            arn=function.function_arn,
            role_arn=role.role_arn,
            input=json.dumps(payload),
            retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                maximum_event_age_in_seconds=max_event_age_seconds, maximum_retry_attempts=max_retries
            ),
        ),
    )
    # The role's policy must exist before the schedule first fires.
    schedule.node.add_dependency(role)
    return schedule, role
