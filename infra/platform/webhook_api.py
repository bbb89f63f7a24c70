"""REST API in front of the API functions, plus the signing keys: one generated secret per partner source
and per API role.

Callers (ERP, planning platform, WMS, TMS, suppliers, sales channels, planners, operations) sign each request
with an HMAC using their own key; the functions verify the signature before anything else. That is the API's
authorization, which is why the methods have no API Gateway authorizer (see the acknowledgements below).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack, Tags
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.nag import acknowledge
from infra.platform.web_acl import WebAcl

WEBHOOK_METHOD_PATH = "/v1/webhooks/{source}/POST"  # MethodDeploymentOptions key: "<resource path>/<method>"

STAGE_RATE_LIMIT, STAGE_BURST_LIMIT = 100, 200

# API Gateway's standard JSON access log fields, plus the path (which partner source a webhook came from) and
# the API key's id (whose usage plan metered it): the per-partner metrics are filters over this log.
ACCESS_LOG_FORMAT = apigateway.AccessLogFormat.custom(json.dumps({
    "requestId": "$context.requestId", "ip": "$context.identity.sourceIp", "caller": "$context.identity.caller",
    "user": "$context.identity.user", "requestTime": "$context.requestTime", "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath", "path": "$context.path", "status": "$context.status",
    "protocol": "$context.protocol", "responseLength": "$context.responseLength",
    "apiKeyId": "$context.identity.apiKeyId", "errorType": "$context.error.responseType",
}))

HMAC_REASON = (
    "Requests are authenticated by an HMAC-SHA256 signature over the raw body with the caller's own "
    "signing key (one secret per partner source and API role), verified inside the function before any processing; ERP and planning platform cannot "
    "obtain Cognito/IAM credentials."
)

HEALTH_REASON = (
    "Unauthenticated liveness probe for load balancers/monitoring; returns no data and triggers no "
    "processing (stage throttling and the WAF web ACL apply)."
)


# Who signs what: the partner sources post webhooks; the roles call one API each. A name missing here has
# no key, and a request signed for it is refused (401): there is no default key.
PARTNER_SOURCES = ("erp", "planning", "wms", "tms", "supplier")
API_ROLES = {"channels": "ATP reads", "planners": "approval decisions", "operations": "exception resolutions"}
SIGNING_KEY_TAG = "distsync:signing-key"  # names the source/role a secret belongs to (the local runtime reads it)
_ROTATION_REASON = (
    "A signing key is shared with an external party and must be rotated together with it (`distsync keys "
    "rotate <name>`: both keys verify until `--finish`); an automatic rotation Lambda would break their "
    "signatures."
)


class SigningKeys(Construct):
    """One generated secret per partner source and API role (CloudFormation generates one random value per
    secret), so each function reads only the keys of the callers it serves. A secret holds one key, or during
    a rotation a JSON list of keys (newest first)."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: str, removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        purposes = {**{s: f"the {s} webhook sender" for s in PARTNER_SOURCES}, **API_ROLES}
        self.secrets: dict[str, secretsmanager.Secret] = {}
        for name, purpose in purposes.items():
            secret = secretsmanager.Secret(
                self,
                name.capitalize(),
                description=f"distsync-{stage} HMAC signing key of {name} ({purpose})",
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    exclude_punctuation=True, password_length=48
                ),
                removal_policy=removal_policy,
            )
            Tags.of(secret).add(SIGNING_KEY_TAG, name)
            acknowledge(secret, "AwsSolutions-SMG4", _ROTATION_REASON)
            self.secrets[name] = secret

    def grant(self, function: lambda_.Function, names: Sequence[str]) -> None:
        """``SIGNING_KEY_ARNS`` ({name: ARN}) and read access to exactly those names' secrets."""
        unknown = set(names) - set(self.secrets)
        if unknown:
            raise ValueError(f"no signing key named {sorted(unknown)}; known: {sorted(self.secrets)}")
        arns = {name: self.secrets[name].secret_arn for name in names}
        function.add_environment("SIGNING_KEY_ARNS", Stack.of(self).to_json_string(arns))
        for name in names:
            self.secrets[name].grant_read(function)

    def arns(self) -> str:
        return Stack.of(self).to_json_string({name: s.secret_arn for name, s in self.secrets.items()})


class WebhookSecret(Construct):
    """The one key all callers shared before per-source keys. Kept (same logical id) so an update does not
    delete it; read only with ``acceptLegacyWebhookSecret`` (partner webhooks, during the move to own keys)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, stage: str, removal_policy: RemovalPolicy
    ) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            description=f"distsync-{stage} HMAC key shared with the ERP and planning webhook senders",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=48
            ),
            removal_policy=removal_policy,
        )
        acknowledge(self.secret, "AwsSolutions-SMG4", _ROTATION_REASON)


class WebhookApi(Construct):
    """The REST API, its stage, access logs and WAF; the domain slices add the routes (``add_route``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        webhook_rate_limit: int,
        webhook_burst_limit: int,
        waf_rate_limit_per_5_min: int,
    ) -> None:
        super().__init__(scope, construct_id)
        # Execution logging settings, repeated in a method's own settings: a method override replaces the
        # stage's "/*/*" settings for that method rather than adding to them.
        logging = {
            "logging_level": apigateway.MethodLoggingLevel.INFO,
            # Request/response bodies carry partner data and signatures: keep them out of the logs.
            "data_trace_enabled": False,
            "metrics_enabled": True,
        }
        self.access_log_group = logs.LogGroup(
            self, "AccessLogs", retention=log_retention, removal_policy=removal_policy
        )
        self.api = apigateway.RestApi(
            self,
            "Api",
            rest_api_name=f"distsync-{stage}",
            description="distsync webhooks (ERP, planning) and planner approval decisions",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            # Execution logging (INFO) needs the account-level CloudWatch role.
            cloud_watch_role=True,
            deploy_options=apigateway.StageOptions(
                stage_name=stage,
                access_log_destination=apigateway.LogGroupLogDestination(self.access_log_group),
                access_log_format=ACCESS_LOG_FORMAT,
                **logging,
                tracing_enabled=True,
                # The default of every method (each method has its own bucket of this size: /health and
                # the approval decisions), not a limit shared by the stage.
                throttling_rate_limit=STAGE_RATE_LIMIT,
                throttling_burst_limit=STAGE_BURST_LIMIT,
                # The partner webhooks: their own limit from context (webhookRateLimit/webhookBurstLimit).
                method_options={
                    WEBHOOK_METHOD_PATH: apigateway.MethodDeploymentOptions(
                        **logging,
                        throttling_rate_limit=webhook_rate_limit,
                        throttling_burst_limit=webhook_burst_limit,
                    )
                },
            ),
        )
        self.parameter_validator = self.api.add_request_validator(
            "PathParameterValidator",
            request_validator_name="path-parameters",
            validate_request_parameters=True,
            validate_request_body=False,
        )
        self.web_acl = WebAcl(
            self,
            "WebAcl",
            stage=stage,
            resource_arn=self.api.deployment_stage.stage_arn,
            rate_limit_per_5_min=waf_rate_limit_per_5_min,
            log_retention=log_retention,
            removal_policy=removal_policy,
        )

        self._acknowledge_findings()

    def add_route(
        self, path: str, http_method: str, function: lambda_.IFunction, *, no_authorizer_reason: str = HMAC_REASON,
        api_key_required: bool = False,
    ) -> apigateway.Method:
        """``path`` like "v1/atp/{itemId}/{locationId}": its ``{parameters}`` are required, and API Gateway
        validates them. The function authenticates the request (HMAC), hence no authorizer; the reason is
        ``no_authorizer_reason``, the cdk-nag acknowledgement. ``api_key_required``: callers send their
        ``x-api-key``, metered by their usage plan (infra/platform/partner_limits.py)."""
        path_parameters = tuple(part[1:-1] for part in path.split("/") if part.startswith("{"))
        resource = self.api.root.resource_for_path(path)
        method = resource.add_method(
            http_method,
            apigateway.LambdaIntegration(function, proxy=True),
            authorization_type=apigateway.AuthorizationType.NONE,
            request_parameters={f"method.request.path.{name}": True for name in path_parameters} or None,
            request_validator=self.parameter_validator if path_parameters else None,
            api_key_required=api_key_required,
        )
        for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
            acknowledge(method, rule, no_authorizer_reason)
        return method

    def _acknowledge_findings(self) -> None:
        acknowledge(
            self.api,
            "AwsSolutions-APIG2",
            "Path parameters are validated by API Gateway (request validator); the body must reach the "
            "function unmodified for the HMAC check and is then validated against the pydantic contract "
            "chosen by {source}, so there is no API Gateway body model.",
        )
        cloud_watch_role = self.api.node.try_find_child("CloudWatchRole")
        if cloud_watch_role is not None:
            acknowledge(
                cloud_watch_role,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]",
                "AWS-managed policy for the account-level API Gateway logging role, maintained by AWS "
                "for exactly this purpose.",
            )
