"""Builds the CDK app; shared by app.py (the CLI entry point) and tests/infra so both synthesize the same."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.config import DistsyncConfig
from infra.stacks import DistsyncStack


def build(app: cdk.App, *, nag: bool = True) -> DistsyncStack:
    config = DistsyncConfig.from_node(app.node)
    stack = DistsyncStack(
        app,
        f"distsync-{config.stage}",
        stack_name=f"distsync-{config.stage}",
        description="distsync: event-driven ERP <-> demand planning integration",
        config=config,
    )
    if nag:
        # cdk-nag 3 is a policy-validation plugin, no longer an Aspect: any unacknowledged finding (error
        # or warning) fails the synth and is written to cdk.out/policy-validation-report.json.
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return stack
