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

HMAC_REASON = (
    "Requests are authenticated by an HMAC-SHA256 signature over the raw body with the partner-shared "
    "webhook secret, verified inside the function before any processing; ERP and planning platform cannot "
    "obtain Cognito/IAM credentials."
)

HEALTH_REASON = (
    "Unauthenticated liveness probe for load balancers/monitoring; returns no data and triggers no "
    "processing (stage throttling applies)."
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
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        webhook_function: lambda_.IFunction,
        approval_function: lambda_.IFunction,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
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
                logging_level=apigateway.MethodLoggingLevel.INFO,
                # Request/response bodies carry partner data and signatures: keep them out of the logs.
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
                throttling_rate_limit=100,
                throttling_burst_limit=200,
            ),
        )
        self.parameter_validator = self.api.add_request_validator(
            "PathParameterValidator",
            request_validator_name="path-parameters",
            validate_request_parameters=True,
            validate_request_body=False,
        )
        # (method, why it has no API Gateway authorizer)
        self.methods: list[tuple[apigateway.Method, str]] = []

        health = self.api.root.add_resource("health")
        self._add_method(
            health, "GET", webhook_function, path_parameters=(), no_authorizer_reason=HEALTH_REASON
        )
        v1 = self.api.root.add_resource("v1")
        webhooks = v1.add_resource("webhooks").add_resource("{source}")
        self._add_method(webhooks, "POST", webhook_function, path_parameters=("source",))
        approvals = v1.add_resource("approvals").add_resource("{approvalId}")
        self._add_method(approvals, "POST", approval_function, path_parameters=("approvalId",))

        self._acknowledge_findings()

    def _add_method(
        self,
        resource: apigateway.IResource,
        http_method: str,
        function: lambda_.IFunction,
        *,
        path_parameters: tuple[str, ...],
        no_authorizer_reason: str = HMAC_REASON,
    ) -> None:
        method = resource.add_method(
            http_method,
            apigateway.LambdaIntegration(function, proxy=True),
            authorization_type=apigateway.AuthorizationType.NONE,
            request_parameters={f"method.request.path.{name}": True for name in path_parameters} or None,
            request_validator=self.parameter_validator if path_parameters else None,
        )
        self.methods.append((method, no_authorizer_reason))

    def _acknowledge_findings(self) -> None:
        acknowledge(
            self.api,
            "AwsSolutions-APIG2",
            "Path parameters are validated by API Gateway (request validator); the body must reach the "
            "function unmodified for the HMAC check and is then validated against the pydantic contract "
            "chosen by {source}, so there is no API Gateway body model.",
        )
        acknowledge(
            self.api.deployment_stage,
            "AwsSolutions-APIG3",
            "No WAF web ACL yet: endpoints are HMAC-authenticated and stage-throttled; a WAF "
            "association is tracked in the security backlog.",
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
        for method, reason in self.methods:
            for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
                acknowledge(method, rule, reason)
