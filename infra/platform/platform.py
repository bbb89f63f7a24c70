"""``Platform``: what the stack shares with every domain slice, and the one way a slice declares its parts.

Construct ids are part of the deployed stack's identity (a logical id is derived from the construct path),
so everything is created in the stack's scope with the ids it had before slices existed; a slice's table
may name the scope it has always lived in (``table(..., scope=platform.tables)``).
tests/infra/test_stable_logical_ids.py holds them to that.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack, Tags
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import DistsyncConfig, resolve_limits, retention_days
from infra.nag import acknowledge
from infra.platform.alarm_topic import AlarmTopic
from infra.platform.data_stores import DataStores
from infra.platform.distsync_function import DistsyncFunction
from infra.platform.domain_pipeline import DomainPipeline
from infra.platform.event_backbone import EventBackbone
from infra.platform.file_landing import FileLanding
from infra.platform.notifications import NotificationTopics
from infra.platform.observability import AlarmThresholds, BusinessMetrics, Domain, Observability
from infra.platform.partner_limits import PartnerUsagePlans
from infra.platform.shared_layer import SharedLayer
from infra.platform.webhook_api import (
    API_ROLES,
    PARTNER_SOURCES,
    STAGE_BURST_LIMIT,
    STAGE_RATE_LIMIT,
    SigningKeys,
    WebhookApi,
    WebhookSecret,
)

# Function timeouts by kind; a slice may pass any Duration.
API_TIMEOUT = Duration.seconds(10)
TRANSFORMER_TIMEOUT = Duration.seconds(30)
PARTNER_CALL_TIMEOUT = Duration.seconds(60)  # consumers that call a partner API with retries
TASK_TIMEOUT = Duration.seconds(10)  # Step Functions tasks

# The partner HTTP clients' settings (distsync_core partners): per attempt, and the first backoff.
# The environment variable that gives a function a partner's base URL: the partner it calls.
PARTNER_URL_VARIABLES = {"erp": "ERP_BASE_URL", "wms": "WMS_BASE_URL", "planning": "PLANNING_BASE_URL",
                         "channels": "CHANNELS_BASE_URL"}
PARTNER_BACKOFF_SECONDS = "0.5"
PARTNER_TIMEOUT_SECONDS = "5"


class Platform:
    def __init__(self, stack: Stack, config: DistsyncConfig) -> None:
        self.scope: Construct = stack
        self.config = config
        Tags.of(stack).add("project", "distsync")
        Tags.of(stack).add("stage", config.stage)
        self.removal = RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY
        self.log_retention = retention_days(config.log_retention_days)

        self.layer = SharedLayer(stack, "SharedLayer").layer
        self.backbone = EventBackbone(
            stack, "EventBackbone", stage=config.stage, archive_retention_days=config.archive_retention_days,
            owners=config.owners, lifecycle=config.contract_lifecycle,
        )
        self.bus = self.backbone.bus
        self.tables = DataStores(stack, "DataStores", removal_policy=self.removal)
        self.alarm_topic = AlarmTopic(stack, "Alarms", stage=config.stage, removal_policy=self.removal).topic
        self.notifications = NotificationTopics(stack, "Notifications", stage=config.stage,
                                                emails=config.notification_emails, removal_policy=self.removal)
        self.webhook_secret = WebhookSecret(
            stack, "WebhookSecret", stage=config.stage, removal_policy=self.removal
        ).secret
        self.signing_keys = SigningKeys(stack, "SigningKeys", stage=config.stage, removal_policy=self.removal)
        # Partner files and forecast cycle files land in one bucket (each slice owns its prefixes).
        self.landing = FileLanding(
            stack,
            "FileLanding",
            removal_policy=self.removal,
            archive_transition_days=config.file_archive_transition_days,
            rejected_expiry_days=config.file_rejected_expiry_days,
        )
        self.api = WebhookApi(
            stack,
            "WebhookApi",
            stage=config.stage,
            log_retention=self.log_retention,
            removal_policy=self.removal,
            webhook_rate_limit=config.webhook_rate_limit,
            webhook_burst_limit=config.webhook_burst_limit,
            waf_rate_limit_per_5_min=config.waf_rate_limit_per_5_min,
        )

        self.common_environment = {
            "POWERTOOLS_SERVICE_NAME": "distsync",
            "POWERTOOLS_METRICS_NAMESPACE": "Distsync",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            # Lambda's active tracing records every invocation either way; the X-Ray SDK (per-call
            # subsegments, ~0.3-0.5 s more import per cold start) only on request (docs/performance.md).
            "POWERTOOLS_TRACE_DISABLED": "false" if config.xray_sdk_subsegments else "true",
            "STAGE": config.stage,
            "TRACE_TABLE_NAME": self.tables.trace.table_name,
            "MAX_FUTURE_SKEW_MINUTES": str(config.max_future_skew_minutes),  # the contracts' time bound
        }
        self.partner_environment = {  # the ERP client's settings (with its base URL)
            "ERP_BASE_URL": config.erp_base_url,
            "ERP_MAX_ATTEMPTS": str(config.erp_max_attempts),
            "ERP_BACKOFF_SECONDS": PARTNER_BACKOFF_SECONDS,
            "ERP_TIMEOUT_SECONDS": PARTNER_TIMEOUT_SECONDS,
        }

        # What the slices declare, for the dashboards, the alarms and the outputs (``finish``).
        self.functions: dict[str, lambda_.Function] = {}  # folder -> function
        self._partners: dict[str, set[str]] = {}  # folder -> the partners it calls (from its base URLs)
        self.pipelines: dict[str, DomainPipeline] = {}
        self.domains: list[Domain] = []
        self.state_machines: dict[str, sfn.IStateMachine] = {}
        self.outputs: dict[str, str] = {}
        self.outputs.update({f"{a.capitalize()}TopicArn": t.topic_arn for a, t in self.notifications.topics.items()})
        self.metrics = BusinessMetrics()
        self._receive_counts: dict[str, int] = {}  # folder -> max receive count of the pipeline feeding it
        self._signed_paths: dict[str, str] = {}  # source or role -> the path it calls (its usage plan's metrics)
        # Ownership: what a slice declares belongs to the team building it (``owned_by``, set by the stack).
        self.team = "integration-platform"
        self.function_owners: dict[str, str] = {}  # folder -> team
        self.pipeline_owners: dict[str, str] = {}  # pipeline id -> team

    def owned_by(self, team: str) -> None:
        """The team owning what is declared from now on (the stack calls it before each slice)."""
        if team not in self.config.owners:
            raise ValueError(f"unknown owning team {team!r}; teams: {sorted(self.config.owners)}")
        self.team = team

    def owner(self, team: str | None = None) -> str:
        """"<team> (<contact>)" of ``team`` (default: the slice being built), as alarms name it."""
        return self.config.owner(team or self.team)

    # ------------------------------------------------------------------ factories

    def function(
        self, construct_id: str, folder: str, timeout: Duration, description: str, **environment: str
    ) -> lambda_.Function:
        """The Lambda function of ``functions/<folder>/handler.py``, with the layer, the common environment
        and the right to record its hops in the ledger (every function does)."""
        if folder in self.functions:
            raise ValueError(f"functions/{folder} is declared twice")
        fn = DistsyncFunction(
            self.scope,
            construct_id,
            folder=folder,
            timeout=timeout,
            layer=self.layer,
            common_environment=self.common_environment,
            environment=environment,
            log_retention=self.log_retention,
            removal_policy=self.removal,
            description=description,
        ).function
        self.tables.grant_trace_write(fn)
        self.functions[folder] = fn
        self.function_owners[folder] = self.team
        self._partners[folder] = {p for p, url in PARTNER_URL_VARIABLES.items() if url in environment}
        return fn

    def pipeline(
        self,
        pipeline_id: str,
        *,
        function: lambda_.Function,
        batch_size: int,
        quarantine: str | None = "write",
        idempotency: bool = True,
        max_receive_count: int | None = None,
        shared_consumer: bool = True,
        **options: Any,
    ) -> DomainPipeline:
        """A :class:`DomainPipeline` (rule -> queue + DLQ + alarm -> ``function``) on the distsync bus, and the
        consumer's standard wiring: ``MAX_RECEIVE_COUNT`` (the queue's own, so the consumer knows its last
        receive), the quarantine table (``"write"``, or ``"release"`` for the master data that releases
        waiting events; ``None``: this consumer quarantines nothing) and the idempotency table.
        ``shared_consumer=False``: the function runs a batch loop of its own (Powertools' BatchProcessor) and
        takes none of that.

        ``options`` as DomainPipeline takes them (``sources``/``detail_types``, ``routes``, ``detail``,
        ``fifo``, ``timer``, ``bus``, ``max_lag_minutes``)."""
        receives = max_receive_count or self.config.max_receive_count
        folder = next(f for f, fn in self.functions.items() if fn is function)
        if self._receive_counts.setdefault(folder, receives) != receives:
            raise ValueError(f"{pipeline_id}: functions/{folder} is fed by pipelines with different receive counts")
        options.setdefault("bus", None if options.get("fifo") or options.get("timer") else self.bus)
        options.setdefault("sources", ())
        options.setdefault("detail_types", ())
        # A consumer that calls partners runs at most as many batches at once as the most limited of them
        # takes (a million-row cycle must not fan the ERP updater out into 429s and the DLQ).
        caps = [self.config.partner_max_concurrency[p] for p in sorted(self._partners[folder])]
        options.setdefault("max_concurrency", min(caps) if caps else None)
        pipeline = DomainPipeline(
            self.scope,
            pipeline_id,
            function=function,
            batch_size=batch_size,
            max_receive_count=receives,
            alarm_topic=self.alarm_topic,
            removal_policy=self.removal,
            owner=self.owner(),
            **options,
        )
        self.pipelines[pipeline_id] = pipeline
        self.pipeline_owners[pipeline_id] = self.team
        if not shared_consumer:
            return pipeline
        function.add_environment("MAX_RECEIVE_COUNT", str(receives))
        if quarantine is not None:
            function.add_environment("QUARANTINE_TABLE_NAME", self.tables.quarantine.table_name)
            if quarantine == "release":
                self.tables.grant_quarantine_release(function)
            else:
                self.tables.grant_quarantine_write(function)
        if idempotency:
            self.idempotency_table(function)
        return pipeline

    def table(
        self,
        table_id: str,
        partition_key: str,
        *,
        sort_key: str | None = None,
        ttl_attribute: str | None = None,
        scope: Construct | None = None,
    ) -> dynamodb.Table:
        """A table as every distsync table is: on demand, point-in-time recovery, AWS-managed encryption,
        retained in prod. ``scope``: the construct it was first declared in, when that was not the stack."""
        return self.tables.table(
            table_id, partition_key, sort_key=sort_key, ttl_attribute=ttl_attribute, scope=scope or self.scope
        )

    def domain_table(self, table_id: str, partition_key: str) -> dynamodb.Table:
        """A domain table first declared among the platform's (``DataStores/<id>``): same scope, same id."""
        return self.table(table_id, partition_key, scope=self.tables)

    def signed_api(self, path: str, http_method: str, function: lambda_.Function, *, keys: Sequence[str],
                   reserved_concurrency: int) -> None:
        """Route ``http_method path`` of the REST API to ``function``, which verifies each request's HMAC
        signature with the signing keys of ``keys`` (partner sources or an API role) and no others.
        ``reserved_concurrency``: the function's reserved concurrency (its floor and its ceiling; 0: none)."""
        self.signing_keys.grant(function, keys)
        if self.config.accept_legacy_webhook_secret and set(keys) <= set(PARTNER_SOURCES):
            function.add_environment("LEGACY_WEBHOOK_SECRET_ARN", self.webhook_secret.secret_arn)
            self.webhook_secret.grant_read(function)
        if reserved_concurrency:
            cfn = function.node.default_child
            assert isinstance(cfn, lambda_.CfnFunction)
            cfn.reserved_concurrent_executions = reserved_concurrency
        self.api.add_route(path, http_method, function, api_key_required=self.config.api_keys_required)
        for name in keys:
            self._signed_paths[name] = "/" + path.replace("{source}", name)

    def erp_connections(self, function: lambda_.Function) -> None:
        """``ERP_CONNECTIONS`` (context erpConnections) and read access to each connection's credentials secret
        (created by the operator, named in the connection; never a value in the template)."""
        from aws_cdk import aws_secretsmanager as secretsmanager

        function.add_environment("ERP_CONNECTIONS", self.config.erp_connections_environment())
        for connection in self.config.erp_connections:
            if not connection.get("secretName"):
                continue
            construct_id = f"ErpCredentials{connection['name'].capitalize()}"
            secret = self.scope.node.try_find_child(construct_id) or secretsmanager.Secret.from_secret_name_v2(
                self.scope, construct_id, connection["secretName"])
            secret.grant_read(function)  # type: ignore[attr-defined]

    def grant_landing_writes(self, function: lambda_.Function, prefix: str, why: str,
                             actions: Sequence[str] = ("s3:PutObject",)) -> None:
        """``function`` may write objects under ``prefix`` of the landing bucket and nothing else of it (its
        reports or extracts, named at run time: hence the prefix wildcard, acknowledged with ``why``)."""
        bucket = self.landing.bucket
        iam.Grant.add_to_principal(grantee=function, actions=list(actions),
                                   resource_arns=[bucket.arn_for_objects(f"{prefix}*")])
        stack = Stack.of(self.scope)
        bucket_id = stack.resolve(stack.get_logical_id(bucket.node.default_child))
        assert function.role is not None
        acknowledge(function.role.node.find_child("DefaultPolicy"),
                    f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{prefix}*]", why)

    def idempotency_table(self, function: lambda_.Function) -> None:
        """The idempotency table for ``function``: a consumer's claims per event, the webhooks' Idempotency-Key
        answers, the signatures an API accepted (so none is accepted twice)."""
        function.add_environment("IDEMPOTENCY_TABLE_NAME", self.tables.idempotency.table_name)
        self.tables.idempotency.grant_read_write_data(function)

    # ------------------------------------------------------------------ registries

    def dashboard(self, domain: Domain) -> None:
        """A dashboard of its own for the domain (its pipelines, functions, workflow, business metrics)."""
        self.domains.append(domain)

    def state_machine(self, key: str, state_machine: sfn.IStateMachine, *, output: str | None = None) -> None:
        self.state_machines[key] = state_machine
        if output:
            self.outputs[output] = state_machine.state_machine_arn

    def output(self, output_id: str, value: str) -> None:
        """A stack output; the ids are read by the local runtime and the ops CLI, so keep them stable."""
        if output_id in self.outputs:
            raise ValueError(f"output {output_id} is declared twice")
        self.outputs[output_id] = value

    def limit_partners(self) -> PartnerUsagePlans:
        """A usage plan per partner source and API role that signs requests (context partnerLimits): after
        the slices, which declare the signed routes."""
        config = self.config
        limits = resolve_limits(
            config.partner_limits, [s for s in PARTNER_SOURCES if s in self._signed_paths],
            [r for r in API_ROLES if r in self._signed_paths],
            webhook_rate_limit=config.webhook_rate_limit, webhook_burst_limit=config.webhook_burst_limit,
            role_rate_limit=STAGE_RATE_LIMIT, role_burst_limit=STAGE_BURST_LIMIT,
        )
        plans = PartnerUsagePlans(self.scope, "PartnerLimits", stage=config.stage, api=self.api.api,
                                  access_logs=self.api.access_log_group, limits=limits, paths=self._signed_paths,
                                  alarm_topic=self.alarm_topic, owner=self.owner())
        self.output("UsagePlanIds", plans.plan_ids())
        return plans

    def observe(self) -> Observability:
        """The dashboards (one per domain, one per pipeline no domain names, the overview) and the alarms,
        over everything the slices declared; a function on no dashboard fails the synth."""
        config = self.config
        return Observability(
            self.scope,
            "Observability",
            stage=config.stage,
            alarm_topic=self.alarm_topic,
            thresholds=AlarmThresholds(
                dlq_max_age_minutes=config.dlq_max_age_minutes,
                error_rate_percent=config.error_rate_percent,
                forecast_to_erp_sla_seconds=config.forecast_to_erp_sla_seconds,
                approval_turnaround_sla_hours=config.approval_turnaround_sla_hours,
            ),
            domains=self.domains,
            pipelines=self.pipelines,
            functions=self.functions,
            state_machines=self.state_machines,
            api=self.api.api,
            metrics=self.metrics,
            owners={
                **{f"pipeline:{p}": self.owner(team) for p, team in self.pipeline_owners.items()},
                **{f"function:{f}": self.owner(team) for f, team in self.function_owners.items()},
                "api": self.owner("integration-platform"),  # the API in front of every slice's routes
                "sla": self.owner("planning-integration"),  # forecast-to-ERP and approval turnaround
            },
        )
