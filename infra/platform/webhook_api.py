"""REST API in front of the two API functions, plus the partner-shared webhook secret.

Callers (ERP, planning platform, the approval UI) sign each request with an HMAC over the raw body using
the shared secret; the functions verify the signature before anything else. That is the API's
authorization, which is why the methods have no API Gateway authorizer (see the acknowledgements below).
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.nag import acknowledge
from infra.platform.web_acl import WebAcl

WEBHOOK_METHOD_PATH = "/v1/webhooks/{source}/POST"  # MethodDeploymentOptions key: "<resource path>/<method>"

STAGE_RATE_LIMIT, STAGE_BURST_LIMIT = 100, 200

HMAC_REASON = (
    "Requests are authenticated by an HMAC-SHA256 signature over the raw body with the partner-shared "
    "webhook secret, verified inside the function before any processing; ERP and planning platform cannot "
    "obtain Cognito/IAM credentials."
)

HEALTH_REASON = (
    "Unauthenticated liveness probe for load balancers/monitoring; returns no data and triggers no "
    "processing (stage throttling and the WAF web ACL apply)."
)


class WebhookSecret(Construct):
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
        acknowledge(
            self.secret,
            "AwsSolutions-SMG4",
            "The HMAC key is shared with external partners and must be rotated together with them "
            "(coordinated manual rotation, tracked in the security backlog); an automatic rotation Lambda "
            "would break their signatures.",
        )


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
                access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
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
        self, path: str, http_method: str, function: lambda_.IFunction, *, no_authorizer_reason: str = HMAC_REASON
    ) -> apigateway.Method:
        """``path`` like "v1/atp/{itemId}/{locationId}": its ``{parameters}`` are required, and API Gateway
        validates them. The function authenticates the request (HMAC), hence no authorizer; the reason is
        ``no_authorizer_reason``, the cdk-nag acknowledgement."""
        path_parameters = tuple(part[1:-1] for part in path.split("/") if part.startswith("{"))
        resource = self.api.root.resource_for_path(path)
        method = resource.add_method(
            http_method,
            apigateway.LambdaIntegration(function, proxy=True),
            authorization_type=apigateway.AuthorizationType.NONE,
            request_parameters={f"method.request.path.{name}": True for name in path_parameters} or None,
            request_validator=self.parameter_validator if path_parameters else None,
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
