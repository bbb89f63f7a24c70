"""``AslWorkflow``: a Step Functions state machine whose definition is a file under state_machines/.

The ASL stays a plain file (readable, diffable, usable by the local runtime) with ``${Name}`` placeholders
filled in at synth: function ARNs and time windows. A number placeholder is quoted in the file to keep it
valid JSON, so ``"${SomeSeconds}"`` including the quotes becomes an integer. The role may invoke exactly the
functions the definition names, nothing else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.nag import acknowledge

_LEFTOVER = re.compile(r"\$\{[A-Za-z]+\}")


def render_asl(asl: str, name: str, *, arns: Mapping[str, str], numbers: Mapping[str, int]) -> str:
    """Fill the placeholders; fail synth if one is missing or left over (e.g. after an ASL edit)."""
    replacements = {f'"${{{key}}}"': str(int(value)) for key, value in numbers.items()}
    replacements.update({f"${{{key}}}": value for key, value in arns.items()})
    for placeholder, value in replacements.items():
        if placeholder not in asl:
            raise ValueError(f"{name}: placeholder {placeholder} not found")
        asl = asl.replace(placeholder, value)
    leftover = _LEFTOVER.search(asl)
    if leftover:
        raise ValueError(f"{name}: unknown placeholder {leftover.group(0)} left after substitution")
    json.loads(asl)  # still valid JSON (the ARN tokens render as plain strings here)
    return asl


class AslWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        asl_path: Path,
        comment: str,
        functions: Mapping[str, lambda_.IFunction],
        numbers: Mapping[str, int],
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        state_machine_name: str | None = None,
    ) -> None:
        """``functions``: placeholder name -> the function whose ARN fills it (and which the role may invoke).
        ``state_machine_name``: a fixed name, for a definition whose role must name its own ARN (a Distributed
        Map starts child executions of its own state machine; a Ref to it from its role would be circular)."""
        super().__init__(scope, construct_id)
        definition = render_asl(
            asl_path.read_text(encoding="utf-8"),
            asl_path.name,
            arns={key: fn.function_arn for key, fn in functions.items()},
            numbers=numbers,
        )
        self.log_group = logs.LogGroup(self, "LogGroup", retention=log_retention, removal_policy=removal_policy)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=state_machine_name,
            comment=comment,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(definition),
            # Without execution data: inputs and outputs carry task tokens (anyone with one can decide the task) and
            # business payloads; the execution history keeps them, behind states:GetExecutionHistory.
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            tracing_enabled=True,
            removal_policy=removal_policy,
        )
        # Invoke exactly the unqualified function ARNs the definition names (Function.grant_invoke would also
        # allow every version/alias, "<arn>:*").
        invoked: Sequence[str] = list(dict.fromkeys(fn.function_arn for fn in functions.values()))
        self.state_machine.add_to_role_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=invoked))
        acknowledge(
            self.state_machine.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Added by the CDK for ALL-level logging (logs:*LogDelivery, logs:PutResourcePolicy, "
            "logs:Describe*) and X-Ray tracing (xray:PutTraceSegments etc.); these actions do not support "
            "resource-level permissions.",
        )
