"""``distsync-<stage>``: the platform and the domain slices on it, as specified in
docs/infrastructure-contract.md and pictured in docs/architecture.md.

The stack only composes: ``infra/platform`` holds what every domain shares, each ``infra/domains/<domain>.py``
declares its own functions, pipelines, tables, workflows, routes, dashboard and outputs through the platform.
Environment variable and output names are an interface (the handlers and the local runtime read them), so
tests/infra asserts them.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra import domains
from infra.config import DistsyncConfig
from infra.platform import Platform


class DistsyncStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: DistsyncConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.platform = platform = Platform(self, config)
        # slice module name ("planning", "forecast_cycles", ...) -> what its build() returned
        self.slices: dict[str, Any] = {}
        for module in domains.slices():
            name = module.__name__.rsplit(".", 1)[-1]
            platform.owned_by(module.OWNER)  # what the slice declares is its team's (alarms name them)
            self.slices[name] = module.build(platform)
        platform.owned_by("integration-platform")  # the API's limits and their alarms
        self.partner_limits = platform.limit_partners()
        self.observability = platform.observe()

        # Output ids are read by the local runtime and the ops CLI: keep them stable.
        tables = platform.tables
        outputs = {
            "ApiUrl": platform.api.api.url,
            "EventBusName": platform.bus.event_bus_name,
            "MasterDataTableName": tables.masterdata.table_name,
            "QuarantineTableName": tables.quarantine.table_name,
            "TraceTableName": tables.trace.table_name,
            "WebhookSecretArn": platform.webhook_secret.secret_arn,  # the legacy shared key
            "SigningKeyArns": platform.signing_keys.arns(),  # {source or role: secret ARN}, for `distsync keys`
            "AlarmTopicArn": platform.alarm_topic.topic_arn,
            "LandingBucketName": platform.landing.bucket.bucket_name,
            **platform.outputs,
        }
        for output_id, value in outputs.items():
            CfnOutput(self, output_id, value=value)
