"""AWS WAF (wafv2, REGIONAL) in front of the REST API stage: the edge guard before any Lambda runs.

Rules, in evaluation order (the first terminating match wins):

0. ``rate-limit-per-ip``: more than ``wafRateLimitPer5Min`` requests from one source IP in 5 minutes ->
   429 with a JSON problem body. Stops floods (including floods of badly signed requests, which would
   otherwise each cost a Lambda invocation) before API Gateway's per-method throttle, which is shared by
   all callers, lets one noisy client starve the partners.
1. ``body-size-limit``: a declared ``Content-Length`` of ``BODY_BLOCK_BYTES`` or more -> 413. WAF never
   sees more than the first 16 KB of a body on API Gateway (64 KB at extra cost), so a size constraint on
   the body itself cannot measure 256 KB; the declared length can. The handler keeps the exact 256 KB
   limit with its own 413 problem body (docs/problems.md); this rule, with a margin above it so it never
   rejects a request the contract allows, turns clearly abusive bodies away before they cost an
   invocation. A client that lies about the length is cut off by API Gateway, and the handler still
   measures the real body.
2. ``aws-ip-reputation``: AWSManagedRulesAmazonIpReputationList (known bots and malicious sources).
3. ``aws-common``: AWSManagedRulesCommonRuleSet with ``SizeRestrictions_BODY`` set to Count: it blocks any
   body over 8 KB, and webhook bodies may be up to 256 KB (rule 1 and the handler own the size limit).
4. ``aws-known-bad-inputs``: AWSManagedRulesKnownBadInputsRuleSet (Log4j/JNDI, exploit paths).

Every rule and the web ACL emit CloudWatch metrics and sampled requests. Full logs go to the CloudWatch log
group ``aws-waf-logs-distsync-<stage>`` (the name prefix WAF requires), with the signature header redacted.
"""

from __future__ import annotations

import json

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

# The webhook handler's limit (distsync_core.platform.webhooks.MAX_BODY_BYTES) and the edge rule's threshold: 64 KB of
# margin, so the handler (exact, with a problem body naming the limit) owns the boundary.
MAX_BODY_BYTES = 256 * 1024
BODY_SIZE_MARGIN_BYTES = 64 * 1024
BODY_BLOCK_BYTES = MAX_BODY_BYTES + BODY_SIZE_MARGIN_BYTES

SIGNATURE_HEADER = "x-distsync-signature"  # distsync_core.platform.signing.SIGNATURE_HEADER, lower-cased for WAF

# Managed rule groups: (rule name, vendor, group, rules set to Count instead of their own action)
MANAGED_RULE_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("aws-ip-reputation", "AWSManagedRulesAmazonIpReputationList", ()),
    ("aws-common", "AWSManagedRulesCommonRuleSet", ("SizeRestrictions_BODY",)),
    ("aws-known-bad-inputs", "AWSManagedRulesKnownBadInputsRuleSet", ()),
)

_PROBLEM_BASE = "https://github.com/distsync/distsync/blob/main/docs/problems.md#"


def at_least_regex(n: int) -> str:
    """An anchored regex matching the decimal integers >= n (leading zeros allowed), for a header value."""
    if n < 1:
        raise ValueError("n must be positive")
    digits = str(n)
    width = len(digits)
    branches = [f"[1-9][0-9]{{{width},}}"]  # more digits than n
    for i, d in enumerate(digits):  # same width: equal prefix, then a greater digit, then anything
        if d != "9":
            rest = width - i - 1
            greater = f"[{int(d) + 1}-9]" if int(d) < 8 else "9"
            tail = "" if rest == 0 else "[0-9]" if rest == 1 else f"[0-9]{{{rest}}}"
            branches.append(digits[:i] + greater + tail)
    branches.append(digits)
    return "^0*(" + "|".join(branches) + ")$"


def _problem(slug: str, status: int, title: str, detail: str) -> str:
    return json.dumps({"type": _PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail})


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )


class WebAcl(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        resource_arn: str,
        rate_limit_per_5_min: int,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        name = f"distsync-{stage}"
        block = wafv2.CfnWebACL.BlockActionProperty

        def custom_block(status: int, body_key: str) -> wafv2.CfnWebACL.RuleActionProperty:
            return wafv2.CfnWebACL.RuleActionProperty(
                block=block(
                    custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                        response_code=status, custom_response_body_key=body_key
                    )
                )
            )

        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name="rate-limit-per-ip",
                priority=0,
                action=custom_block(429, "rate-limited"),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="IP", limit=rate_limit_per_5_min, evaluation_window_sec=300
                    )
                ),
                visibility_config=_visibility(f"{name}-rate-limit-per-ip"),
            ),
            wafv2.CfnWebACL.RuleProperty(
                name="body-size-limit",
                priority=1,
                action=custom_block(413, "payload-too-large"),
                statement=wafv2.CfnWebACL.StatementProperty(
                    regex_match_statement=wafv2.CfnWebACL.RegexMatchStatementProperty(
                        field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                            single_header={"Name": "content-length"}
                        ),
                        regex_string=at_least_regex(BODY_BLOCK_BYTES),
                        text_transformations=[
                            wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
                        ],
                    )
                ),
                visibility_config=_visibility(f"{name}-body-size-limit"),
            ),
        ]
        for priority, (rule_name, group, counted) in enumerate(MANAGED_RULE_GROUPS, start=len(rules)):
            rules.append(
                wafv2.CfnWebACL.RuleProperty(
                    name=rule_name,
                    priority=priority,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS",
                            name=group,
                            rule_action_overrides=[
                                wafv2.CfnWebACL.RuleActionOverrideProperty(
                                    name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                                )
                                for rule in counted
                            ]
                            or None,
                        )
                    ),
                    visibility_config=_visibility(f"{name}-{rule_name}"),
                )
            )

        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=name,
            description=f"{name} REST API: per-IP rate limit, body size, AWS managed rules",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules,
            custom_response_bodies={
                "rate-limited": wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON",
                    content=_problem(
                        "rate-limited",
                        429,
                        "Too many requests",
                        f"more than {rate_limit_per_5_min} requests from this address in 5 minutes; retry later",
                    ),
                ),
                "payload-too-large": wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON",
                    content=_problem(
                        "payload-too-large", 413, "Payload too large", f"the limit is {MAX_BODY_BYTES} bytes"
                    ),
                ),
            },
            visibility_config=_visibility(name),
        )

        self.association = wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=resource_arn, web_acl_arn=self.web_acl.attr_arn
        )

        # WAF writes only to log groups named aws-waf-logs-*, addressed by an ARN without the ":*" suffix.
        log_group_name = f"aws-waf-logs-{name}"
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=log_group_name,
            retention=log_retention,
            removal_policy=removal_policy,
        )
        self.logging = wafv2.CfnLoggingConfiguration(
            self,
            "Logging",
            resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[
                Stack.of(self).format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=log_group_name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
            # A signature is single-use (replays are refused) but is no business of a log reader.
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": SIGNATURE_HEADER})
            ],
        )
        self.logging.node.add_dependency(self.log_group)
