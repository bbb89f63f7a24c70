"""The edge in front of the webhook functions: WAF web ACL on the API stage, per-method throttling."""

from __future__ import annotations

import json
import re

import pytest
from synth_support import Synth

from infra.platform.web_acl import BODY_BLOCK_BYTES, MAX_BODY_BYTES, at_least_regex

pytestmark = pytest.mark.infra

WEBHOOK_PATH = "/~1v1~1webhooks~1{source}"


def _web_acl(s: Synth) -> tuple[str, dict]:
    (acl_id,) = s.of_type("AWS::WAFv2::WebACL")
    return acl_id, s.props(acl_id)


def _rules(s: Synth) -> dict[str, dict]:
    return {rule["Name"]: rule for rule in _web_acl(s)[1]["Rules"]}


def test_web_acl_is_regional_and_associated_with_the_api_stage(dev: Synth) -> None:
    acl_id, acl = _web_acl(dev)
    assert acl["Scope"] == "REGIONAL" and acl["DefaultAction"] == {"Allow": {}}
    assert acl["Name"] == "distsync-dev"
    (association,) = dev.of_type("AWS::WAFv2::WebACLAssociation").values()
    props = association["Properties"]
    assert props["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    (api_id,) = dev.of_type("AWS::ApiGateway::RestApi")
    (stage_id,) = dev.of_type("AWS::ApiGateway::Stage")
    parts = props["ResourceArn"]["Fn::Join"][1]
    assert {"Ref": api_id} in parts and {"Ref": stage_id} in parts
    assert ":apigateway:" in parts and "/stages/" in parts


def test_rules_in_order_with_metrics(dev: Synth) -> None:
    rules = _web_acl(dev)[1]["Rules"]
    assert [r["Name"] for r in sorted(rules, key=lambda r: r["Priority"])] == [
        "rate-limit-per-ip",
        "body-size-limit",
        "aws-ip-reputation",
        "aws-common",
        "aws-known-bad-inputs",
    ]
    assert len({r["Priority"] for r in rules}) == len(rules)
    for rule in [*rules, _web_acl(dev)[1]]:
        visibility = rule["VisibilityConfig"]
        assert visibility["CloudWatchMetricsEnabled"] is True and visibility["SampledRequestsEnabled"] is True


def test_rate_limit_per_source_ip_from_context(dev: Synth, prod: Synth) -> None:
    for synth, limit in ((dev, 2000), (prod, 500)):
        rule = _rules(synth)["rate-limit-per-ip"]
        assert rule["Statement"]["RateBasedStatement"] == {
            "AggregateKeyType": "IP",
            "EvaluationWindowSec": 300,
            "Limit": limit,
        }
        response = rule["Action"]["Block"]["CustomResponse"]
        assert response["ResponseCode"] == 429
        body = _web_acl(synth)[1]["CustomResponseBodies"][response["CustomResponseBodyKey"]]
        assert body["ContentType"] == "APPLICATION_JSON" and json.loads(body["Content"])["status"] == 429


def test_body_size_rule_blocks_declared_lengths_above_the_handler_limit_plus_margin(dev: Synth) -> None:
    from distsync_core.platform.webhooks import MAX_BODY_BYTES as HANDLER_LIMIT

    assert MAX_BODY_BYTES == HANDLER_LIMIT  # the handler owns the exact limit, the WAF sits above it
    assert BODY_BLOCK_BYTES > HANDLER_LIMIT
    rule = _rules(dev)["body-size-limit"]
    statement = rule["Statement"]["RegexMatchStatement"]
    assert statement["FieldToMatch"] == {"SingleHeader": {"Name": "content-length"}}
    assert statement["RegexString"] == at_least_regex(BODY_BLOCK_BYTES)
    pattern = re.compile(statement["RegexString"])
    for allowed in (0, 1, 8193, HANDLER_LIMIT, HANDLER_LIMIT + 1, BODY_BLOCK_BYTES - 1):
        assert not pattern.match(str(allowed)), allowed
    for blocked in (BODY_BLOCK_BYTES, BODY_BLOCK_BYTES + 1, 999_999, 10 * 1024 * 1024, 10**12):
        assert pattern.match(str(blocked)), blocked
    assert not pattern.match("abc") and not pattern.match("")
    assert rule["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 413


def test_at_least_regex_matches_exactly_the_numbers_at_or_above_n() -> None:
    for n in (1, 7, 9, 10, 89, 90, 100, 808, 999, 1000, 262_144, 327_680):
        pattern = re.compile(at_least_regex(n))
        for x in [*range(0, 1200), n - 1, n, n + 1, 10 * n, 10 * n - 1]:
            assert bool(pattern.match(str(x))) == (x >= n), (n, x)
        assert pattern.match(f"00{n}")


def test_managed_rule_groups_and_the_size_override(dev: Synth) -> None:
    rules = _rules(dev)
    groups = {
        name: rules[name]["Statement"]["ManagedRuleGroupStatement"]
        for name in ("aws-ip-reputation", "aws-common", "aws-known-bad-inputs")
    }
    assert {g["Name"] for g in groups.values()} == {
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
    }
    assert all(g["VendorName"] == "AWS" for g in groups.values())
    for name in groups:
        assert rules[name]["OverrideAction"] == {"None": {}}  # the group's own block actions apply
    # CommonRuleSet blocks bodies over 8 KB; webhook bodies may be 256 KB: that one rule only counts.
    assert groups["aws-common"]["RuleActionOverrides"] == [
        {"ActionToUse": {"Count": {}}, "Name": "SizeRestrictions_BODY"}
    ]
    assert "RuleActionOverrides" not in groups["aws-ip-reputation"]
    assert "RuleActionOverrides" not in groups["aws-known-bad-inputs"]


def test_waf_logs_to_a_retained_log_group_without_signatures(dev: Synth, prod: Synth) -> None:
    for synth, stage, days in ((dev, "dev", 30), (prod, "prod", 90)):
        acl_id, _ = _web_acl(synth)
        (logging,) = synth.of_type("AWS::WAFv2::LoggingConfiguration").values()
        props = logging["Properties"]
        assert props["ResourceArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
        (destination,) = props["LogDestinationConfigs"]
        arn_tail = destination["Fn::Join"][1][-1]
        assert arn_tail == f":log-group:aws-waf-logs-distsync-{stage}"  # no ":*": WAF rejects it
        groups = [
            g for g in synth.of_type("AWS::Logs::LogGroup").values()
            if g["Properties"].get("LogGroupName") == f"aws-waf-logs-distsync-{stage}"
        ]  # fmt: skip
        assert len(groups) == 1 and groups[0]["Properties"]["RetentionInDays"] == days
        assert props["RedactedFields"] == [{"SingleHeader": {"Name": "x-distsync-signature"}}]


def test_webhook_route_has_its_own_throttle_from_context(dev: Synth, prod: Synth) -> None:
    for synth, expected in ((dev, (100, 200)), (prod, (50, 80))):
        (stage_id,) = synth.of_type("AWS::ApiGateway::Stage")
        settings = {(m["ResourcePath"], m["HttpMethod"]): m for m in synth.props(stage_id)["MethodSettings"]}
        webhook = settings[(WEBHOOK_PATH, "POST")]
        assert (webhook["ThrottlingRateLimit"], webhook["ThrottlingBurstLimit"]) == expected
        # the stage default (every other method: /health, approval decisions) is not from context
        default = settings[("/*", "*")]
        assert (default["ThrottlingRateLimit"], default["ThrottlingBurstLimit"]) == (100, 200)
    # API keys are issued by `distsync keys issue`, not by CloudFormation (test_partner_limits.py)
    assert not dev.of_type("AWS::ApiGateway::ApiKey")
