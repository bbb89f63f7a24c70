"""Limits per partner: one API Gateway usage plan per partner source and API role (rate, burst, optional daily
quota), the 429/403 answers API Gateway gives in their name, and each partner's use and throttles.

The HMAC signature stays the authentication; the API key (``x-api-key``) identifies the caller to API Gateway,
which meters it against its plan before the function runs. Keys are issued, rotated and retired by
``distsync keys issue|retire`` (docs/infrastructure-contract.md), not by CloudFormation: a key handed to a partner must outlive
a stack update, and a rotation needs two keys on one plan for a while.

Isolation: the partner webhooks share one method (``POST /v1/webhooks/{source}``) and its stage throttle
(webhookRateLimit/webhookBurstLimit). Their plans must fit inside it, or one partner's flood could drain the
method's bucket and take another's share: the synth fails when they do not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from aws_cdk import Duration, Stack, Tags
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import PartnerLimit

USAGE_PLAN_TAG = "distsync:usage-plan"  # names the partner source or API role a plan meters (the local runtime reads it)
PARTNER_METRICS_NAMESPACE = "Distsync/Partners"
WEBHOOK_RESOURCE = "/v1/webhooks/{source}"
QUOTA_ALARM_PERCENT = 80
QUOTA_ALARM_HOURS = 3  # "stays above": this many hours in a row at more than 80 % of the quota's hourly pace
PROBLEM_TYPE = "https://github.com/distsync/distsync/blob/main/docs/problems.md#"  # as distsync_core/platform/problems.py

# API Gateway's answers in a partner's name. Gateway response parameters take static values only, so the
# quota's Retry-After is the longest it can be (a day); the local gateway gives the exact seconds.
_GATEWAY_RESPONSES = {
    "THROTTLED": (429, "rate-limited", "Too many requests", "1",
                  "this API key's rate limit (ratePerSecond, burst) was exceeded; retry after the Retry-After "
                  "seconds"),
    "QUOTA_EXCEEDED": (429, "quota-exceeded", "Daily quota exceeded", "86400",
                       "this API key's daily quota (dailyQuota) is used up; it resets at 00:00 UTC"),
    # a missing x-api-key is answered as an invalid one
    "INVALID_API_KEY": (403, "api-key-required", "API key required", None,
                        "send the x-api-key header with the key distsync issued to you (distsync keys issue <name>)"),
}


class PartnerUsagePlans(Construct):
    """A usage plan per name on the API's stage, the gateway responses, and per-partner metrics from the
    access log (requests and 429s by the path each partner posts to), a dashboard and quota alarms."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        api: apigateway.RestApi,
        access_logs: logs.ILogGroup,
        limits: Mapping[str, PartnerLimit],
        paths: Mapping[str, str],
        alarm_topic: sns.ITopic,
        owner: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.plans: dict[str, apigateway.UsagePlan] = {}
        for name, limit in sorted(limits.items()):
            plan = api.add_usage_plan(
                f"{name.capitalize()}UsagePlan",
                name=f"distsync-{stage}-{name}",
                description=f"distsync-{stage}: limits of {name} (its API keys: distsync keys issue {name})",
                throttle=apigateway.ThrottleSettings(rate_limit=limit.rate_per_second, burst_limit=limit.burst),
                quota=apigateway.QuotaSettings(limit=limit.daily_quota, period=apigateway.Period.DAY)
                if limit.daily_quota else None,
                api_stages=[apigateway.UsagePlanPerApiStage(api=api, stage=api.deployment_stage)],
            )
            Tags.of(plan).add(USAGE_PLAN_TAG, name)
            self.plans[name] = plan
        for response_type, (status, slug, title, retry_after, detail) in _GATEWAY_RESPONSES.items():
            headers = {"Content-Type": "'application/problem+json'"}
            if retry_after:
                headers["Retry-After"] = f"'{retry_after}'"
            api.add_gateway_response(
                f"{response_type.title().replace('_', '')}Response",
                type=getattr(apigateway.ResponseType, response_type),
                status_code=str(status),
                response_headers=headers,
                templates={"application/json": json.dumps({
                    "type": PROBLEM_TYPE + slug, "title": title, "status": status, "detail": detail,
                    "requestId": "$context.requestId",
                })},
            )
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"distsync-{stage}-partners")
        self.dashboard.add_widgets(cloudwatch.TextWidget(
            markdown=f"# distsync-{stage}: use and throttles per partner\nFrom the API's access log; limits are "
                     "each partner's usage plan (context partnerLimits).", width=24, height=2))
        self._metric_filters(access_logs, paths)
        for name in sorted(limits):
            self._partner_metrics(name, limits[name], paths[name], stage, alarm_topic, owner)

    def _metric_filters(self, access_logs: logs.ILogGroup, paths: Mapping[str, str]) -> None:
        """Four filters for every partner (a resource each would cost 16 of the stack's 500): requests and 429s,
        a webhook source told apart by its path (/<stage>/v1/webhooks/<source>, dimension Path), a role by its
        route (dimension Resource: its path has ids in it)."""
        roles = sorted({p for p in paths.values() if "{" in p})
        routes = {
            "Webhook": (logs.FilterPattern.string_value("$.resourcePath", "=", WEBHOOK_RESOURCE), {"Path": "$.path"}),
            "Api": (logs.FilterPattern.any(*(logs.FilterPattern.string_value("$.resourcePath", "=", p) for p in roles)),
                    {"Resource": "$.resourcePath"}),
        }
        throttled = logs.FilterPattern.string_value("$.status", "=", "429")
        for route, (where, dimensions) in routes.items():
            for kind, pattern in (("Requests", where), ("Throttled", logs.FilterPattern.all(where, throttled))):
                logs.MetricFilter(self, f"{route}{kind}Filter", log_group=access_logs, filter_pattern=pattern,
                                  metric_namespace=PARTNER_METRICS_NAMESPACE, metric_name=kind, metric_value="1",
                                  dimensions=dimensions)

    def _partner_metrics(self, name: str, limit: PartnerLimit, path: str, stage: str, topic: sns.ITopic,
                         owner: str) -> None:
        dimensions = {"Resource": path} if "{" in path else {"Path": f"/{stage}{path}"}
        metrics = {kind: cloudwatch.Metric(namespace=PARTNER_METRICS_NAMESPACE, metric_name=kind,
                                           dimensions_map=dimensions, statistic="Sum", period=Duration.minutes(5),
                                           label=f"{name} {kind.lower()}")
                   for kind in ("Requests", "Throttled")}
        quota = f", daily quota {limit.daily_quota}" if limit.daily_quota else ""
        self.dashboard.add_widgets(cloudwatch.GraphWidget(
            title=f"{name}: requests and 429s per 5 min (limit {limit.rate_per_second:g}/s, burst {limit.burst}{quota})",
            left=[metrics["Requests"], metrics["Throttled"]], width=12, height=6))
        if limit.daily_quota:
            hourly = cloudwatch.Metric(namespace=PARTNER_METRICS_NAMESPACE, metric_name="Requests",
                                       dimensions_map=dimensions, statistic="Sum", period=Duration.hours(1))
            alarm = cloudwatch.Alarm(
                self, f"{name.capitalize()}QuotaAlarm",
                alarm_name=f"distsync-{stage}-{name}-quota",
                alarm_description=f"distsync-{stage}: {name} has used more than {QUOTA_ALARM_PERCENT} % of its daily "
                                  f"quota's hourly pace ({limit.daily_quota}/day) for {QUOTA_ALARM_HOURS} hours; "
                                  f"ask the partner why, or raise partnerLimits. Owner: {owner}",
                metric=hourly,
                threshold=limit.daily_quota * QUOTA_ALARM_PERCENT / 100 / 24,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=QUOTA_ALARM_HOURS,
                datapoints_to_alarm=QUOTA_ALARM_HOURS,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(cw_actions.SnsAction(topic))

    def plan_ids(self) -> str:
        """``{name: usage plan id}``: the stack output ``distsync keys`` and the local runtime read."""
        return Stack.of(self).to_json_string({name: plan.usage_plan_id for name, plan in self.plans.items()})
