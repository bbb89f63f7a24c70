"""``Observability``: a CloudWatch dashboard per domain plus an overview, and the business-threshold alarms.

Fed from what the stack already has (its domain pipelines, functions, approval state machine and REST API)
and a short list of :class:`Domain` s saying which of them belong together. A pipeline no domain names gets
a dashboard of its own, so a new domain pipeline is monitored (and alarmed) by construction; a function
that belongs to no domain fails the synth instead of going unwatched.

Dashboards are built with cdk-monitoring-constructs (one ``MonitoringFacade`` per dashboard). The alarms
are plain CloudWatch alarms defined here, because their meaning is fixed by the operations contract
(docs/infrastructure-contract.md): the library's Lambda "fault rate" is faults per second, not the
errors/invocations ratio asked for. Every alarm publishes to the alarm topic and treats missing data as
not breaching: no traffic is not an incident.

Alarms have names (``distsync-<stage>-...``) and the dashboards' alarm-status widgets refer to them by
name, not by ``Fn::GetAtt``: the local runtime's moto CloudFormation creates dashboards but has no model
for alarms, and a GetAtt to a skipped resource fails the whole stack there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from cdk_monitoring_constructs import CustomMetricGroup, DefaultDashboardFactory, MonitoringFacade
from constructs import Construct

from infra.platform.domain_pipeline import DomainPipeline

# Powertools EMF, as configured by the common function environment (POWERTOOLS_METRICS_NAMESPACE and
# POWERTOOLS_SERVICE_NAME): every business metric has exactly the dimension service=distsync.
METRICS_NAMESPACE = "Distsync"
METRICS_DIMENSIONS = {"service": "distsync"}

FORECAST_TO_ERP_LATENCY = "ForecastToErpLatency"  # Milliseconds: recommendation received -> ERP updated
APPROVAL_TURNAROUND = "ApprovalTurnaround"  # Seconds: approval requested -> decided
FAILURE_RECOVERY_TIME = "FailureRecoveryTime"  # Seconds: dead-lettered -> delivered after a redrive

# Emitted by the shared pipeline consumer with only the service dimension, i.e. summed over all consumers.
CONSUMER_METRICS = ("RecordsQuarantined", "RecordsRetried", "RecordsDeadLettered")


class BusinessMetrics:
    """The business metrics distsync emits (Powertools EMF), by name: the platform's own here, each domain's
    declared by its slice (``count``/``latency``), so a dashboard or alarm can only name a metric that exists.
    """

    def __init__(self) -> None:
        self.counts: list[str] = ["WebhooksAccepted", *CONSUMER_METRICS]
        # name -> unit; the two SLAs are alarmed by the platform (AlarmThresholds)
        self.latencies: dict[str, str] = {
            FORECAST_TO_ERP_LATENCY: "ms",
            APPROVAL_TURNAROUND: "s",
            FAILURE_RECOVERY_TIME: "s",
        }

    def count(self, *names: str) -> None:
        self.counts += [n for n in names if n not in self.counts]

    def latency(self, name: str, unit: str) -> None:
        self.latencies[name] = unit

    def metric(
        self, name: str, *, statistic: str = "Sum", period: Duration | None = None, labelled: bool = True
    ) -> cloudwatch.Metric:
        """A Powertools EMF metric of distsync; ``labelled=False`` for alarms (a label would turn the alarm
        into a metric-math alarm with a ``Metrics`` list instead of a plain ``MetricName``/``ExtendedStatistic``)."""
        if name not in self.counts and name not in self.latencies:
            raise ValueError(f"unknown business metric {name!r} (declare it: platform.metrics.count/latency)")
        unit = self.latencies.get(name)
        label: str | None = f"{name} {statistic} ({unit})" if unit else name
        if name in CONSUMER_METRICS:
            label = f"{label} (all consumers)"
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map=METRICS_DIMENSIONS,
            statistic=statistic,
            period=period or Duration.minutes(5),
            label=label if labelled else None,
        )


ERROR_RATE_PERIOD = Duration.minutes(5)
DLQ_AGE_PERIOD = Duration.minutes(5)
MAX_ALARM_METRICS = 10  # metrics one alarm's metric math may use
FORECAST_TO_ERP_SLA_PERIOD = Duration.minutes(15)
APPROVAL_TURNAROUND_SLA_PERIOD = Duration.hours(1)
SLA_STATISTIC = "p95"


@dataclass(frozen=True)
class AlarmThresholds:
    """The business thresholds, from CDK context (infra/config.py)."""

    dlq_max_age_minutes: int
    error_rate_percent: float
    forecast_to_erp_sla_seconds: int
    approval_turnaround_sla_hours: int


@dataclass(frozen=True)
class Domain:
    """One domain dashboard: which of the stack's resources and business metrics it shows."""

    key: str  # dashboard name suffix: distsync-<stage>-<key>
    title: str
    pipelines: tuple[str, ...] = ()  # ids in DistsyncStack.pipelines (queue, DLQ and consumer function)
    functions: tuple[str, ...] = ()  # folders in DistsyncStack.functions besides the pipeline consumers
    state_machine: str | None = None  # key in the stack's state machines
    api: bool = False
    metrics: tuple[str, ...] = ()  # names of BusinessMetrics (the platform's and those the slice declared)
    # names of alarms the domain's construct created itself (e.g. a business threshold of its own): shown by
    # name on its dashboard and the overview, like every other alarm
    alarms: tuple[str, ...] = ()


def _slug(pipeline_id: str) -> str:
    """MasterdataPipeline -> masterdata, ErpUpdatePipeline -> erp-update."""
    name = pipeline_id.removesuffix("Pipeline") or pipeline_id
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        alarm_topic: sns.ITopic,
        thresholds: AlarmThresholds,
        domains: Sequence[Domain],
        pipelines: Mapping[str, DomainPipeline],
        functions: Mapping[str, lambda_.Function],
        state_machines: Mapping[str, sfn.IStateMachine],
        api: apigateway.RestApi,
        metrics: BusinessMetrics,
        owners: Mapping[str, str] | None = None,
    ) -> None:
        """``owners``: "<team> (<contact>)" by "pipeline:<id>", "function:<folder>", "api" and "sla", named in
        each alarm's description so the alarm says whom to wake."""
        super().__init__(scope, construct_id)
        self._owners = dict(owners or {})
        self._metrics = metrics
        self._stage = stage
        self._topic = alarm_topic
        self._thresholds = thresholds
        self.domains = self._complete(domains, pipelines, functions)

        # --- alarms: key -> the alarm created here; alarm_names also holds the pipelines' own DLQ depth
        # alarms ("dlq-depth:<PipelineId>") and queue lag alarms ("queue-lag:<PipelineId>"), which stay in
        # DomainPipeline ---
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self.alarm_names: dict[str, str] = {}
        for pipeline_id, pipeline in pipelines.items():
            self.alarm_names[f"dlq-depth:{pipeline_id}"] = pipeline.dlq_alarm_name
            if pipeline.lag_alarm_name is not None:
                self.alarm_names[f"queue-lag:{pipeline_id}"] = pipeline.lag_alarm_name
        self._dlq_age_alarms(pipelines)
        self._error_rate_alarms(functions)
        self._api_5xx_rate_alarm(api)
        self._sla_alarms()
        for domain in self.domains:
            self.alarm_names.update({f"alarm:{name}": name for name in domain.alarms})

        # --- dashboards ---
        self.dashboards: dict[str, cloudwatch.Dashboard] = {}
        for domain in self.domains:
            self._domain_dashboard(domain, pipelines, functions, state_machines, api)
        self._overview_dashboard(pipelines, api)

    # ------------------------------------------------------------------ domains

    @staticmethod
    def _complete(
        domains: Sequence[Domain],
        pipelines: Mapping[str, DomainPipeline],
        functions: Mapping[str, lambda_.Function],
    ) -> list[Domain]:
        """The given domains plus one per pipeline none of them names; every function must be on one."""
        result = list(domains)
        claimed = {p for d in result for p in d.pipelines}
        unknown = claimed - set(pipelines)
        if unknown:
            raise ValueError(f"domains name unknown pipelines: {sorted(unknown)}")
        for pipeline_id in pipelines:
            if pipeline_id not in claimed:
                result.append(Domain(key=_slug(pipeline_id), title=pipeline_id, pipelines=(pipeline_id,)))
        keys = [d.key for d in result]
        if len(keys) != len(set(keys)) or "overview" in keys:
            raise ValueError(f"domain keys must be unique and not 'overview': {keys}")
        consumers = {id(p.function) for p in pipelines.values()}
        listed = {f for d in result for f in d.functions}
        if listed - set(functions):
            raise ValueError(f"domains name unknown functions: {sorted(listed - set(functions))}")
        unwatched = [f for f, fn in functions.items() if f not in listed and id(fn) not in consumers]
        if unwatched:
            raise ValueError(f"functions on no domain dashboard: {unwatched} (add them to a Domain)")
        return result

    # ------------------------------------------------------------------ alarms

    def _alarm(
        self,
        key: str,
        construct_id: str,
        *,
        name: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
        owner: str,
    ) -> cloudwatch.Alarm:
        alarm_name = f"distsync-{self._stage}-{name}"
        if owner in self._owners:
            description = f"{description}. Owner: {self._owners[owner]}"
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=alarm_name,
            alarm_description=f"distsync-{self._stage}: {description}",
            metric=metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self._topic))
        self.alarms[key] = alarm
        self.alarm_names[key] = alarm_name
        return alarm

    def _dlq_age_alarms(self, pipelines: Mapping[str, DomainPipeline]) -> None:
        """The age of the oldest dead-lettered message, one alarm per owning team over its pipelines' DLQs (the
        maximum, at most 10 queues an alarm: CloudWatch's metric math limit), not one per pipeline: each DLQ has
        its own depth alarm already, and the stack must stay under CloudFormation's 500 resources. Each
        pipeline's "dlq-age:<PipelineId>" key names its team's alarm."""
        minutes = self._thresholds.dlq_max_age_minutes
        by_owner: dict[str, list[str]] = {}
        for pipeline_id in pipelines:
            by_owner.setdefault(self._owners.get(f"pipeline:{pipeline_id}", ""), []).append(pipeline_id)
        for owner, pipeline_ids in sorted(by_owner.items()):
            team = owner.split(" ", 1)[0] or "unowned"
            for chunk_no, start in enumerate(range(0, len(pipeline_ids), MAX_ALARM_METRICS)):
                chunk = pipeline_ids[start:start + MAX_ALARM_METRICS]
                suffix = f"-{chunk_no + 1}" if chunk_no else ""
                oldest = cloudwatch.MathExpression(
                    expression="MAX(METRICS())",
                    using_metrics={f"m{i}": pipelines[p].dlq.metric_approximate_age_of_oldest_message(
                        period=DLQ_AGE_PERIOD, statistic=cloudwatch.Stats.MAXIMUM) for i, p in enumerate(chunk)},
                    period=DLQ_AGE_PERIOD,
                    label="oldest dead-lettered message (s)",
                )
                key = f"dlq-age:{team}{suffix}"
                self._alarm(
                    key,
                    f"{_camel(team)}{suffix.replace('-', '')}DlqAgeAlarm",
                    name=f"{team}{suffix}-dlq-age",
                    metric=oldest,
                    threshold=minutes * 60,
                    description=f"a message has waited in a dead-letter queue of {', '.join(chunk)} for more than "
                    f"{minutes} min (dlqMaxAgeMinutes); inspect and redrive it (distsync dlq list, dlq redrive)",
                    owner=f"pipeline:{chunk[0]}",
                )
                for pipeline_id in chunk:
                    self.alarm_names[f"dlq-age:{pipeline_id}"] = self.alarm_names[key]

    def _error_rate_alarms(self, functions: Mapping[str, lambda_.Function]) -> None:
        """The error rate (% of invocations failed over 5 minutes), one alarm per owning team over its functions
        (the highest rate of up to 5 functions an alarm: each takes two metrics, and an alarm's metric math takes
        10), not one per function, so the stack stays under CloudFormation's 500 resources; the description
        names the functions, each domain dashboard graphs them one by one. Each function's
        "error-rate:<folder>" key names its team's alarm."""
        percent = self._thresholds.error_rate_percent
        by_owner: dict[str, list[str]] = {}
        for folder in functions:
            by_owner.setdefault(self._owners.get(f"function:{folder}", ""), []).append(folder)
        per_alarm = MAX_ALARM_METRICS // 2
        for owner, folders in sorted(by_owner.items()):
            team = owner.split(" ", 1)[0] or "unowned"
            for chunk_no, start in enumerate(range(0, len(folders), per_alarm)):
                chunk = folders[start:start + per_alarm]
                suffix = f"-{chunk_no + 1}" if chunk_no else ""
                rates = {
                    f"r{i}": cloudwatch.MathExpression(
                        expression=f"100 * e{i} / n{i}",
                        using_metrics={
                            f"e{i}": functions[f].metric_errors(period=ERROR_RATE_PERIOD, statistic=cloudwatch.Stats.SUM),
                            f"n{i}": functions[f].metric_invocations(period=ERROR_RATE_PERIOD,
                                                                     statistic=cloudwatch.Stats.SUM),
                        },
                        period=ERROR_RATE_PERIOD,
                        label=f"{f} error rate (%)",
                    )
                    for i, f in enumerate(chunk)
                }
                worst = cloudwatch.MathExpression(expression=f"MAX([{', '.join(rates)}])", using_metrics=rates,
                                                  period=ERROR_RATE_PERIOD, label="highest error rate (%)")
                key = f"error-rate:{team}{suffix}"
                self._alarm(
                    key,
                    f"{_camel(team)}{suffix.replace('-', '')}ErrorRateAlarm",
                    name=f"{team}{suffix}-error-rate",
                    metric=worst,
                    threshold=percent,
                    description=f"more than {percent:g}% of the invocations of one of {', '.join(chunk)} failed over "
                    "5 minutes (errorRatePercent); its domain dashboard shows which",
                    owner=f"function:{chunk[0]}",
                )
                for folder in chunk:
                    self.alarm_names[f"error-rate:{folder}"] = self.alarm_names[key]

    def _api_5xx_rate_alarm(self, api: apigateway.RestApi) -> None:
        percent = self._thresholds.error_rate_percent
        metric = cloudwatch.MathExpression(
            expression="100 * server_errors / requests",
            using_metrics={
                "server_errors": api.metric_server_error(
                    period=ERROR_RATE_PERIOD, statistic=cloudwatch.Stats.SUM
                ),
                "requests": api.metric_count(period=ERROR_RATE_PERIOD, statistic=cloudwatch.Stats.SUM),
            },
            period=ERROR_RATE_PERIOD,
            label="API 5xx rate (%)",
        )
        self._alarm(
            "api-5xx-rate",
            "Api5xxRateAlarm",
            name="api-5xx-rate",
            metric=metric,
            threshold=percent,
            description=f"webhook API: more than {percent:g}% of requests answered 5xx over 5 minutes "
            "(errorRatePercent)",
            owner="api",
        )

    def _sla_alarms(self) -> None:
        seconds = self._thresholds.forecast_to_erp_sla_seconds
        self._alarm(
            "sla:forecast-to-erp",
            "ForecastToErpSlaAlarm",
            name="forecast-to-erp-sla",
            metric=self._metrics.metric(
                FORECAST_TO_ERP_LATENCY,
                statistic=SLA_STATISTIC,
                period=FORECAST_TO_ERP_SLA_PERIOD,
                labelled=False,
            ),
            threshold=seconds * 1000,  # the metric is in milliseconds
            description=f"p95 time from planning recommendation to ERP update above {seconds} s "
            "(forecastToErpSlaSeconds)",
            owner="sla",
        )
        hours = self._thresholds.approval_turnaround_sla_hours
        self._alarm(
            "sla:approval-turnaround",
            "ApprovalTurnaroundSlaAlarm",
            name="approval-turnaround-sla",
            metric=self._metrics.metric(
                APPROVAL_TURNAROUND,
                statistic=SLA_STATISTIC,
                period=APPROVAL_TURNAROUND_SLA_PERIOD,
                labelled=False,
            ),
            threshold=hours * 3600,  # the metric is in seconds
            description=f"p95 planner approval turnaround above {hours} h (approvalTurnaroundSlaHours)",
            owner="sla",
        )

    def _sla_annotation(self, name: str) -> cloudwatch.HorizontalAnnotation:
        """The SLA line, in the unit the metric is emitted in (the alarm threshold)."""
        if name == FORECAST_TO_ERP_LATENCY:
            value = self._thresholds.forecast_to_erp_sla_seconds * 1000
        else:
            value = self._thresholds.approval_turnaround_sla_hours * 3600
        return cloudwatch.HorizontalAnnotation(value=value, label="SLA (p95)", color=cloudwatch.Color.RED)

    # ------------------------------------------------------------------ dashboards

    def _facade(self, construct_id: str, name: str) -> MonitoringFacade:
        """One dashboard named ``name`` (no summary or alarm dashboards; no library-made alarms)."""
        return MonitoringFacade(
            self,
            construct_id,
            dashboard_factory=DefaultDashboardFactory(
                self,
                f"{construct_id}Dashboards",
                dashboard_name_prefix=name,
                create_dashboard=True,
                create_summary_dashboard=False,
                create_alarm_dashboard=False,
            ),
        )

    def _alarm_status(self, facade: MonitoringFacade, title: str, keys: Sequence[str]) -> None:
        """An alarm-status widget of the alarms with these keys, referenced by name (see the module doc)."""
        if not keys:
            return
        alarms = []
        for key in keys:
            construct_id = f"StatusOf{_camel(re.sub(r'[^A-Za-z0-9]+', '-', key))}"
            imported = self.node.try_find_child(construct_id)
            alarms.append(
                imported or cloudwatch.Alarm.from_alarm_name(self, construct_id, self.alarm_names[key])
            )
        facade.add_widget(cloudwatch.AlarmStatusWidget(title=title, alarms=alarms, width=24, height=3))

    def _business_groups(self, names: Sequence[str]) -> list[CustomMetricGroup]:
        groups = []
        counts = [n for n in names if n in self._metrics.counts]
        if counts:
            groups.append(
                CustomMetricGroup(
                    title="Business events (sum per 5 min)", metrics=[self._metrics.metric(n) for n in counts]
                )
            )
        for name in names:
            if name in self._metrics.latencies:
                groups.append(
                    CustomMetricGroup(
                        title=f"{name} ({self._metrics.latencies[name]})",
                        metrics=[self._metrics.metric(name, statistic=s) for s in ("p50", "p95", "p99")],
                        horizontal_annotations=[self._sla_annotation(name)],
                    )
                )
        return groups

    def _domain_dashboard(
        self,
        domain: Domain,
        pipelines: Mapping[str, DomainPipeline],
        functions: Mapping[str, lambda_.Function],
        state_machines: Mapping[str, sfn.IStateMachine],
        api: apigateway.RestApi,
    ) -> None:
        facade = self._facade(f"{_camel(domain.key)}Monitoring", f"distsync-{self._stage}-{domain.key}")
        facade.add_large_header(f"distsync-{self._stage}: {domain.title}")

        alarms: list[str] = []
        watched: list[tuple[str, lambda_.IFunction]] = []
        for pipeline_id in domain.pipelines:
            pipeline = pipelines[pipeline_id]
            keys = (f"dlq-depth:{pipeline_id}", f"dlq-age:{pipeline_id}", f"queue-lag:{pipeline_id}")
            alarms += [key for key in keys if key in self.alarm_names]  # a queue lag alarm if it has one
            folder = next(f for f, fn in functions.items() if fn is pipeline.function)
            watched.append((folder, pipeline.function))
        watched += [(folder, functions[folder]) for folder in domain.functions]
        alarms += [f"error-rate:{folder}" for folder, _ in watched]
        if domain.api:
            alarms.append("api-5xx-rate")
        if FORECAST_TO_ERP_LATENCY in domain.metrics:
            alarms.append("sla:forecast-to-erp")
        if APPROVAL_TURNAROUND in domain.metrics:
            alarms.append("sla:approval-turnaround")
        alarms += [f"alarm:{name}" for name in domain.alarms]
        self._alarm_status(facade, "Alarms", alarms)

        for pipeline_id in domain.pipelines:
            pipeline = pipelines[pipeline_id]
            facade.monitor_sqs_queue_with_dlq(
                queue=pipeline.queue,
                dead_letter_queue=pipeline.dlq,
                human_readable_name=f"{pipeline_id} queue",
                alarm_friendly_name=f"{pipeline_id}Queue",
            )
        for folder, function in watched:
            facade.monitor_lambda_function(
                lambda_function=function, human_readable_name=f"{folder} function", alarm_friendly_name=folder
            )
        if domain.state_machine:
            facade.monitor_step_function(
                state_machine=state_machines[domain.state_machine],
                human_readable_name=f"{domain.state_machine} workflow",
                alarm_friendly_name=f"{_camel(domain.state_machine)}Workflow",
            )
        if domain.api:
            self._monitor_api(facade, api)
        groups = self._business_groups(domain.metrics)
        if groups:
            facade.monitor_custom(
                metric_groups=groups,
                human_readable_name="Business metrics (Powertools EMF, namespace Distsync)",
                alarm_friendly_name=f"{domain.key}-business",
            )
        self.dashboards[domain.key] = _dashboard(facade)

    def _monitor_api(self, facade: MonitoringFacade, api: apigateway.RestApi) -> None:
        facade.monitor_api_gateway(
            api=api,
            api_stage=self._stage,
            human_readable_name="Webhook API (REST)",
            alarm_friendly_name="WebhookApi",
        )

    def _overview_dashboard(self, pipelines: Mapping[str, DomainPipeline], api: apigateway.RestApi) -> None:
        facade = self._facade("OverviewMonitoring", f"distsync-{self._stage}-overview")
        facade.add_large_header(f"distsync-{self._stage}: overview")
        self._alarm_status(facade, "All alarms", list(self.alarm_names))
        self._monitor_api(facade, api)
        dlq_depth = CustomMetricGroup(
            title="Dead-letter queues: messages visible (max)",
            metrics=[
                p.dlq.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM, label=pipeline_id
                )
                for pipeline_id, p in pipelines.items()
            ],
        )
        flow = CustomMetricGroup(
            title="Flow: in, out and record outcomes (sum per 5 min)",
            metrics=[
                self._metrics.metric(n) for n in ("WebhooksAccepted", "ErpUpdatesApplied", *CONSUMER_METRICS)
            ],
        )
        slas = [
            CustomMetricGroup(
                title=f"SLA: {name} p95 ({self._metrics.latencies[name]})",
                metrics=[self._metrics.metric(name, statistic=SLA_STATISTIC, period=period)],
                horizontal_annotations=[self._sla_annotation(name)],
            )
            for name, period in (
                (FORECAST_TO_ERP_LATENCY, FORECAST_TO_ERP_SLA_PERIOD),
                (APPROVAL_TURNAROUND, APPROVAL_TURNAROUND_SLA_PERIOD),
            )
        ]
        recovery = CustomMetricGroup(
            title=f"Failure recovery time p50 / p95 ({self._metrics.latencies[FAILURE_RECOVERY_TIME]})",
            metrics=[self._metrics.metric(FAILURE_RECOVERY_TIME, statistic=s, period=Duration.hours(1))
                     for s in ("p50", "p95")],
        )
        facade.monitor_custom(
            metric_groups=[dlq_depth, *slas, recovery, flow],
            human_readable_name="Dead-letter queues, SLAs and flow",
            alarm_friendly_name="overview",
        )
        self.dashboards["overview"] = _dashboard(facade)


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]", name))


def _dashboard(facade: MonitoringFacade) -> cloudwatch.Dashboard:
    dashboard = facade.created_dashboard()
    if dashboard is None:  # pragma: no cover - create_dashboard=True above
        raise RuntimeError("cdk-monitoring-constructs created no dashboard")
    return dashboard
