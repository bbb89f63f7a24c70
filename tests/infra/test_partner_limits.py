"""Limits per partner on AWS: a usage plan per partner source and API role, API keys required on the signed
routes, API Gateway's 429/403 answered as problems, per-partner metrics from the access log and quota alarms."""

from __future__ import annotations

import json

import pytest
from synth_support import Synth

pytestmark = pytest.mark.infra

SIGNED = {("/v1/webhooks/{source}", "POST"), ("/v1/approvals/{approvalId}", "POST"),
          ("/v1/atp/{itemId}/{locationId}", "GET"), ("/v1/shipment-exceptions/{caseId}/resolution", "POST")}
NAMES = {"erp", "planning", "wms", "tms", "supplier", "channels", "planners", "operations"}


def _plans(synth: Synth) -> dict[str, dict]:
    plans = {}
    for props in (synth.props(lid) for lid in synth.of_type("AWS::ApiGateway::UsagePlan")):
        tags = {t["Key"]: t["Value"] for t in props["Tags"]}
        plans[tags["distsync:usage-plan"]] = props
    return plans


def _paths(synth: Synth) -> dict[str, str]:
    resources = synth.of_type("AWS::ApiGateway::Resource")

    def path_of(ref: object) -> str:
        if isinstance(ref, dict) and ref.get("Ref") in resources:
            props = resources[ref["Ref"]]["Properties"]
            return path_of(props["ParentId"]).rstrip("/") + "/" + props["PathPart"]
        return "/"

    return {lid: path_of(res["Properties"]["ResourceId"]) for lid, res in synth.of_type("AWS::ApiGateway::Method").items()}


def test_every_source_and_role_has_a_usage_plan_on_the_stage_with_its_limits(dev: Synth, prod: Synth) -> None:
    dev_plans, prod_plans = _plans(dev), _plans(prod)
    assert set(dev_plans) == set(prod_plans) == NAMES
    (stage,) = dev.of_type("AWS::ApiGateway::Stage")
    for name, plan in dev_plans.items():
        assert plan["ApiStages"][0]["Stage"] == {"Ref": stage}
        assert plan["UsagePlanName"] == f"distsync-dev-{name}"
        assert "Quota" not in plan
    assert dev_plans["erp"]["Throttle"] == {"RateLimit": 20, "BurstLimit": 40}  # a fifth of 100/s, burst 200
    assert dev_plans["planners"]["Throttle"] == {"RateLimit": 100, "BurstLimit": 200}
    # prod: wms named (10/s, burst 20, 50 000 a day); the four others share the rest of 50/s, burst 80
    assert prod_plans["wms"]["Throttle"] == {"RateLimit": 10, "BurstLimit": 20}
    assert prod_plans["wms"]["Quota"] == {"Limit": 50000, "Period": "DAY"}
    assert prod_plans["erp"]["Throttle"] == {"RateLimit": 10, "BurstLimit": 15}
    plan_ids = prod.tpl["Outputs"]["UsagePlanIds"]["Value"]["Fn::Join"][1]  # {name: plan id}, for `distsync keys`
    assert {ref["Ref"] for ref in plan_ids if isinstance(ref, dict)} == set(prod.of_type("AWS::ApiGateway::UsagePlan"))


def test_the_signed_routes_require_an_api_key_and_the_unsigned_ones_do_not(dev: Synth) -> None:
    paths = _paths(dev)
    required = {(paths[lid], dev.props(lid)["HttpMethod"]) for lid in paths if dev.props(lid).get("ApiKeyRequired")}
    assert required == SIGNED  # /health and the ERP's connector events (Basic auth from SAP) stay keyless


def test_while_partners_move_to_keys_no_method_requires_one_but_the_plans_exist(synth) -> None:
    moving = synth(apiKeysRequired="false")
    assert not [lid for lid in moving.of_type("AWS::ApiGateway::Method") if moving.props(lid).get("ApiKeyRequired")]
    assert set(_plans(moving)) == NAMES  # keys can be issued and handed over before they are required


def test_throttles_quota_and_missing_keys_are_answered_as_problems(dev: Synth) -> None:
    responses = {dev.props(lid)["ResponseType"]: dev.props(lid) for lid in dev.of_type("AWS::ApiGateway::GatewayResponse")}
    for kind, status, retry_after in (("THROTTLED", "429", "'1'"), ("QUOTA_EXCEEDED", "429", "'86400'"),
                                      ("INVALID_API_KEY", "403", None)):
        response = responses[kind]
        assert response["StatusCode"] == status
        headers = response["ResponseParameters"]
        assert headers["gatewayresponse.header.Content-Type"] == "'application/problem+json'"
        assert headers.get("gatewayresponse.header.Retry-After") == retry_after
        body = json.loads(response["ResponseTemplates"]["application/json"])
        assert body["status"] == int(status) and body["type"].endswith(("#rate-limited", "#quota-exceeded",
                                                                         "#api-key-required"))
        assert body["detail"]


def test_each_partners_requests_and_429s_are_counted_from_the_access_log(dev: Synth) -> None:
    (stage,) = dev.of_type("AWS::ApiGateway::Stage")
    log_format = json.loads(dev.props(stage)["AccessLogSetting"]["Format"])
    assert log_format["path"] == "$context.path" and log_format["apiKeyId"] == "$context.identity.apiKeyId"
    filters = {(f["MetricTransformations"][0]["MetricName"],
                tuple(d["Key"] for d in f["MetricTransformations"][0]["Dimensions"])):
               f["FilterPattern"] for f in map(dev.props, dev.of_type("AWS::Logs::MetricFilter"))
               if f["MetricTransformations"][0]["MetricNamespace"] == "Distsync/Partners"}
    assert len(filters) == 4  # one filter per kind and route shape, not per partner (the stack's 500 resources)
    assert filters[("Requests", ("Path",))] == '{ $.resourcePath = "/v1/webhooks/{source}" }'
    assert filters[("Throttled", ("Path",))] == '{ ($.resourcePath = "/v1/webhooks/{source}") && ($.status = "429") }'
    roles = filters[("Requests", ("Resource",))]
    assert all(f'$.resourcePath = "{p}"' in roles for p in ("/v1/atp/{itemId}/{locationId}",
                                                          "/v1/approvals/{approvalId}"))
    dashboard = json.dumps(dev.props(next(iter(lid for lid, r in dev.of_type("AWS::CloudWatch::Dashboard").items()
                                               if "Partner" in lid)))["DashboardBody"])
    for name in NAMES:  # each partner's graph picks its own dimension value
        assert name in dashboard
    assert "/dev/v1/webhooks/wms" in dashboard and "/v1/atp/{itemId}/{locationId}" in dashboard


def test_a_partner_with_a_daily_quota_has_an_alarm_at_80_percent_of_its_pace(dev: Synth, prod: Synth) -> None:
    def quota_alarms(synth: Synth) -> list[dict]:
        return [a for a in map(synth.props, synth.of_type("AWS::CloudWatch::Alarm"))
                if a.get("Namespace") == "Distsync/Partners"]

    assert quota_alarms(dev) == []  # no quotas by default
    (alarm,) = quota_alarms(prod)
    assert alarm["MetricName"] == "Requests" and alarm["Period"] == 3600
    assert alarm["Dimensions"] == [{"Name": "Path", "Value": "/prod/v1/webhooks/wms"}]
    assert alarm["Threshold"] == pytest.approx(50000 * 0.8 / 24)
    assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == 3
    assert alarm["AlarmActions"] and "wms" in alarm["AlarmDescription"]
