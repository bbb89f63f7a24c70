"""moto as the local AWS: an in-process moto server (so the `aws` CLI and boto3 in other processes reach
it too), the few patches moto 5.2.5 needs for this stack, and the template fix-ups its CloudFormation needs.

Each patch and fix-up names the moto gap it covers (see docs/local-runtime.md).
"""

from __future__ import annotations

import copy
import io
import json
import os
import threading
import zipfile
from collections.abc import Callable
from typing import Any

from .process import free_port

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
BOOTSTRAP_QUALIFIER = "hnb659fds"
SIGNING_KEY_TAG = "distsync:signing-key"  # the tag infra/platform/webhook_api.py puts on each signing key secret
USAGE_PLAN_TAG = "distsync:usage-plan"  # the tag infra/platform/partner_limits.py puts on each usage plan
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}

# Resource types the local runtime runs itself instead of letting moto's CloudFormation create them.
RUN_BY_RUNTIME = {
    # moto "invokes" SQS event source mappings inside send_message and drops the messages: we poll instead.
    "AWS::Lambda::EventSourceMapping",
    # Transfer Family (context sftpPartners): the runtime's own SFTP server (distsync/local/sftp.py) serves
    # the template's users; moto has no CloudFormation model for these.
    "AWS::Transfer::Server",
    "AWS::Transfer::User",
}
# Types moto has no CloudFormation model for: it skips them, and then fails on any Ref/Fn::GetAtt to them
# (a dashboard's alarm widgets, a schedule's name in the outputs). Nothing the local runtime runs depends on
# them (observability, and schedules moto would not fire), so they are left out.
NOT_EMULATED = {
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::CompositeAlarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::CDK::Metadata",
    # EventBridge Scheduler: moto's CloudFormation has no model for it, and moto never fires schedules
    # anyway; the function it would invoke runs on demand (`distsync reconcile`).
    "AWS::Scheduler::Schedule",
}


def _fast_dispatcher() -> Any:
    """moto's request dispatcher, with the backend found for a host remembered.

    moto finds the service of every request under one global lock by listing its own package directory
    (an ``isdir`` per module, ~150) and matching the host against every service's URL patterns; profiled at
    50 webhooks/s that was 11 % of the runtime's CPU. The answer depends on the host string alone, so it is
    kept per host (``get_backend_for_host`` is public; the cache only skips repeating it).
    """
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    class CachingDispatcher(DomainDispatcherApplication):
        def __init__(self) -> None:
            super().__init__(create_backend_app)
            self._backend_by_host: dict[str | None, Any] = {}

        def get_backend_for_host(self, host: str | None) -> Any:
            if host not in self._backend_by_host:
                self._backend_by_host[host] = super().get_backend_for_host(host)
            return self._backend_by_host[host]

    return CachingDispatcher()


def _memoize_jsonpath_parse() -> None:
    """moto's EventBridge parses the JSONPath of every input path (the default template's too) for every
    target of every event, and jsonpath-ng's ``parse`` builds its whole grammar each time: 20 % of the
    runtime's CPU at 50 webhooks/s. A parsed path is an immutable expression, so the same text parses once."""
    import functools

    import jsonpath_ng.ext

    if not hasattr(jsonpath_ng.ext.parse, "cache_info"):
        jsonpath_ng.ext.parse = functools.lru_cache(maxsize=512)(jsonpath_ng.ext.parse)


def _sqs_without_repeated_queue_scans() -> None:
    """Two costs of moto's SQS that grow with a queue's backlog. Profiled at 50 webhooks/s, building the queue
    attributes alone took a third of the runtime's samples; with both patches the runtime's CPU for 1,500
    webhooks fell from 59 s to 39 s. Both return what moto returned (tests/unit/test_local_hot_paths.py).

    - moto's receive checks each message it hands out against the queue's retention period through
      ``get_queue_attributes``, which builds every attribute of the queue, the approximate message counts
      among them, each a scan of all its messages: a receive of 10 from a backlog of n scanned ~30n
      messages. The check now reads the retention period from the queue (the value ``get_queue_attributes``
      returns for ``MessageRetentionPeriod``); a message past it is still not delivered.
    - Every message's ``visible`` and ``delayed`` (asked per message by every receive, send and depth) read
      the clock through ``datetime``: a naive UTC ``datetime`` minus the epoch, in seconds. ``time.time()``
      is that number, in 0.05 µs instead of 4.3 µs.
    """
    import time

    from moto.sqs import models

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention_period = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention_period + message.sent_timestamp / 1000 > time.time())

    models.SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period
    if getattr(models.unix_time, "__module__", None) == __name__:  # the clock is replaced once per process
        return
    datetime_unix_time, datetime_unix_time_millis = models.unix_time, models.unix_time_millis

    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else float(datetime_unix_time(dt))

    def unix_time_millis(dt: Any = None) -> float:
        return time.time() * 1000.0 if dt is None else float(datetime_unix_time_millis(dt))

    models.unix_time, models.unix_time_millis = unix_time, unix_time_millis


class MotoServer:
    """moto's threaded server (``moto.server.ThreadedMotoServer``), with the dispatcher above."""

    def __init__(self, port: int = 0):
        # No CORS on the local AWS endpoint: moto allows every Origin by default, which would let any web page
        # the developer opens call it. moto reads the setting once, when its server module is imported.
        os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "true"
        from moto.moto_server import werkzeug_app

        werkzeug_app.DISABLE_GLOBAL_CORS = True  # (in case moto's server module was imported before)

        if port == 0:
            port = free_port()
        self.port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        import logging
        import warnings

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per AWS call otherwise
        # moto says so once per resource it has no CloudFormation model for, twice (a log line and a Python
        # warning): the runtime reports those types once itself (LocalStack.not_emulated).
        logging.getLogger("moto").addFilter(_NotSupportedFilter())
        warnings.filterwarnings("ignore", message=r"Tried to parse .* not supported by moto's CloudFormation")
        # moto's Step Functions interpreter calls back into the server on localhost:$MOTO_PORT.
        os.environ["MOTO_PORT"] = str(self.port)
        from moto.moto_server.werkzeug_app import MotoRequestHandler
        from werkzeug.serving import make_server

        _memoize_jsonpath_parse()
        _sqs_without_repeated_queue_scans()
        self._server = make_server("127.0.0.1", self.port, _fast_dispatcher(), threaded=True,
                                   request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-server", daemon=True)
        self._thread.start()
        from moto.core.config import default_user_config

        # Execute state machines for real (Task, Choice, waitForTaskToken, timeouts).
        default_user_config["stepfunctions"]["execute_state_machine"] = True
        replay_within_window_and_filters()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join()

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )


def route_lambda_invokes(invoke: Callable[[str, Any], Any]) -> Callable[..., Any]:
    """moto cannot run Python Lambda code without Docker: send its Invoke calls (Step Functions tasks,
    `aws lambda invoke`) to the local Lambda workers instead. Returns the original, for tests to restore."""
    from moto.awslambda.models import LambdaBackend

    from .lambdas import InvokeError

    def patched(self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any) -> bytes:
        event = json.loads(body) if body else {}
        try:
            result = invoke(function_name, event)
        except InvokeError as exc:
            response_headers["x-amz-function-error"] = "Unhandled"
            payload = json.dumps(exc.error).encode()
        else:
            payload = json.dumps(result).encode()
        response_headers["Content-Length"] = str(len(payload))
        return payload

    previous = LambdaBackend.invoke
    LambdaBackend.invoke = patched
    return previous


class _NotSupportedFilter:
    def filter(self, record: Any) -> bool:
        return not str(record.msg).startswith("No Moto CloudFormation support for")


def not_emulated(template: dict[str, Any]) -> list[str]:
    """The resource types of ``template`` moto's CloudFormation skips (no model): nothing the runtime runs
    depends on them (docs/local-runtime.md lists them and why)."""
    from moto.cloudformation.parsing import NULL_MODELS, get_model_map

    types = {r["Type"] for r in template["Resources"].values()}
    models = get_model_map()
    return sorted(t for t in types if t not in models and t not in NULL_MODELS and not t.startswith("Custom::"))


def create_secrets(server: MotoServer, template: dict[str, Any], value: str,
                   signing_keys: Callable[[str], list[str]]) -> dict[str, str]:
    """moto's CloudFormation skips AWS::SecretsManager::Secret (its Ref resolves to None): create each one
    through the Secrets Manager API with its local value (a signing key secret: that name's local keys, as
    ``distsync keys rotate`` would leave them; any other: ``value``); returns logical id -> ARN."""
    sm = server.client("secretsmanager")
    arns = {}
    for lid, res in template["Resources"].items():
        if res["Type"] == "AWS::SecretsManager::Secret":
            props = res.get("Properties", {})
            name = props.get("Name") or f"distsync-local/{lid}"
            signs_as = next((t["Value"] for t in props.get("Tags", []) if t["Key"] == SIGNING_KEY_TAG), None)
            secret_value = value if signs_as is None else json.dumps(signing_keys(signs_as))
            arns[lid] = sm.create_secret(Name=name, SecretString=secret_value)["ARN"]
    return arns


def create_usage_plans(server: MotoServer, template: dict[str, Any]) -> dict[str, str]:
    """moto's CloudFormation skips AWS::ApiGateway::UsagePlan: create each through the API Gateway API (its
    limits and tags; the local gateway meters by them), returns logical id -> plan id."""
    apigateway = server.client("apigateway")
    ids = {}
    for lid, res in template["Resources"].items():
        if res["Type"] != "AWS::ApiGateway::UsagePlan":
            continue
        props = res.get("Properties", {})
        throttle, quota = props.get("Throttle") or {}, props.get("Quota") or {}
        plan = apigateway.create_usage_plan(
            name=props.get("UsagePlanName") or lid, description=props.get("Description", ""),
            throttle={"rateLimit": float(throttle["RateLimit"]), "burstLimit": int(throttle["BurstLimit"])}
            if throttle else {},
            quota={"limit": int(quota["Limit"]), "period": quota.get("Period", "DAY")} if quota else {},
            tags={t["Key"]: t["Value"] for t in props.get("Tags", [])},
        )
        ids[lid] = plan["id"]
    return ids


def _feeds_archive(target: dict[str, Any]) -> bool:
    # moto implements an archive as a rule whose input template wraps the event for the archive
    return "archive-arn" in target.get("InputTransformer", {}).get("InputTemplate", "")


def replay_within_window_and_filters() -> None:
    """moto's StartReplay re-sends every archived event to every rule of the bus, whatever the window,
    the FilterArns or the archive's own rule: replay as EventBridge does (events whose time is inside the
    window, to the rules named in FilterArns if any, never back into an archive)."""
    import uuid
    from datetime import datetime

    from moto.core.utils import unix_time
    from moto.events import models

    def epoch(value: Any) -> float:
        if isinstance(value, int | float):
            return float(value)
        try:
            return float(value)
        except ValueError:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()

    def replay_events(self: Any, archive: Any) -> None:
        bus = models.events_backends[self.account_id][self.region].describe_event_bus(
            self.destination["Arn"].split("/")[-1]
        )
        start, end = epoch(self.event_start_time), epoch(self.event_end_time)
        only = set(self.destination.get("FilterArns") or [])
        rules = [
            rule for rule in bus.rules.values()
            if (not only or rule.arn in only) and not any(_feeds_archive(t) for t in rule.targets)
        ]
        for event in list(archive.events):
            if start <= epoch(event.get("time", 0)) <= end:
                for rule in rules:
                    rule.send_to_targets(dict(event, id=str(uuid.uuid4()), **{"replay-name": self.name}),
                                         transform_input=False)
        self.state = models.ReplayState.COMPLETED
        self.end_time = unix_time()

    models.Replay.replay_events = replay_events


def fix_template(template: dict[str, Any], created: dict[str, str] | None = None) -> dict[str, Any]:
    """The synthesized template, adjusted only where moto's CloudFormation differs from AWS.

    ``created``: logical id -> physical id of resources the runtime created itself (their Refs are replaced).
    """
    fixed = copy.deepcopy(template)
    resources = fixed["Resources"]
    created = created or {}
    dropped = {k for k, v in resources.items() if v["Type"] in RUN_BY_RUNTIME | NOT_EMULATED}
    for lid in dropped | set(created):
        del resources[lid]
    for key in [k for k, out in fixed.get("Outputs", {}).items() if _references(out, dropped)]:
        del fixed["Outputs"][key]
    buses = {lid: res["Properties"]["Name"] for lid, res in resources.items() if res["Type"] == "AWS::Events::EventBus"}
    buses.update(created)
    for res in resources.values():
        depends = res.get("DependsOn")
        if isinstance(depends, list):
            res["DependsOn"] = [d for d in depends if d in resources]
        elif isinstance(depends, str) and depends not in resources:
            del res["DependsOn"]
    for lid, res in resources.items():
        props = res.get("Properties", {})
        # moto: a FIFO queue without a QueueName gets a generated name without the ".fifo" AWS adds.
        if res["Type"] == "AWS::SQS::Queue" and props.get("FifoQueue") and "QueueName" not in props:
            props["QueueName"] = f"{lid[:70]}.fifo"
        # moto: KMS keys read their CloudFormation Tags with the KMS API's TagKey/TagValue names.
        if res["Type"] == "AWS::KMS::Key" and props.get("Tags"):
            props["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in props["Tags"]]
        # moto: an Archive's EventPattern must be a JSON string.
        if res["Type"] == "AWS::Events::Archive" and isinstance(props.get("EventPattern"), dict):
            props["EventPattern"] = json.dumps(props["EventPattern"])
    # moto: `Ref` to an AWS::Events::EventBus fails ('EventBus' has no attribute 'split'); Ref is its name.
    fixed["Resources"] = _replace_refs(resources, buses)
    # What stays may name what the runtime runs itself (an SFTP user role's trust names its Transfer server's
    # id): a placeholder, as moto refuses a stack with a Ref/GetAtt to an undefined resource.
    runtime = {k for k in dropped if template["Resources"][k]["Type"] in RUN_BY_RUNTIME}
    fixed["Resources"] = _unlink(fixed["Resources"], runtime)
    fixed.get("Outputs", {}).update(_replace_refs(fixed.get("Outputs", {}), buses))
    fixed.pop("Rules", None)  # CheckBootstrapVersion: bootstrap is emulated below
    return fixed


def _references(node: Any, ids: set[str]) -> bool:
    if isinstance(node, dict):
        if node.get("Ref") in ids:
            return True
        att = node.get("Fn::GetAtt")
        if isinstance(att, list) and att and att[0] in ids:
            return True
        return any(_references(v, ids) for v in node.values())
    if isinstance(node, list):
        return any(_references(v, ids) for v in node)
    return False


def _unlink(node: Any, ids: set[str]) -> Any:
    if isinstance(node, dict):
        att = node.get("Fn::GetAtt")
        if len(node) == 1 and (node.get("Ref") in ids or (isinstance(att, list) and att and att[0] in ids)):
            return f"local-{node.get('Ref') or att[0]}"
        return {k: _unlink(v, ids) for k, v in node.items()}
    if isinstance(node, list):
        return [_unlink(v, ids) for v in node]
    return node


def _replace_refs(node: Any, names: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if len(node) == 1 and "Ref" in node and node["Ref"] in names:
            return names[node["Ref"]]
        return {k: _replace_refs(v, names) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_refs(v, names) for v in node]
    return node


def emulate_bootstrap(server: MotoServer, asset_keys: list[str]) -> None:
    """What `cdk bootstrap` + asset publishing leave in an account: the version parameter and the asset
    objects. moto never runs the code, so each object is a placeholder; the workers run the asset dirs."""
    server.client("ssm").put_parameter(
        Name=f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version", Value="30", Type="String", Overwrite=True
    )
    bucket = f"cdk-{BOOTSTRAP_QUALIFIER}-assets-{ACCOUNT_ID}-{REGION}"
    s3 = server.client("s3")
    s3.create_bucket(Bucket=bucket)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("README.txt", "distsync local runtime: code runs from the cdk.out asset directory\n")
    for key in asset_keys:
        s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())


def make_state_machines_executable(arns: list[str]) -> None:
    """moto's CloudFormation creates state machines in the non-executing backend: copy them across."""
    from moto.stepfunctions.models import stepfunctions_backends
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    source = stepfunctions_backends[ACCOUNT_ID][REGION]
    target = stepfunctions_parser_backends[ACCOUNT_ID][REGION]
    for arn in arns:
        sm = source.describe_state_machine(arn)
        if any(existing.arn == arn for existing in target.state_machines):
            continue
        target.create_state_machine(name=sm.name, definition=sm.definition, roleArn=sm.roleArn)


def enable_bucket_notifications(server: MotoServer, template: dict[str, Any], physical: dict[str, str]) -> list[str]:
    """moto's CloudFormation ignores a bucket's NotificationConfiguration: apply its EventBridge switch through
    the S3 API (moto then sends object-created events to the matching rules). Returns the buckets switched on."""
    s3 = server.client("s3")
    enabled = []
    for lid, res in template["Resources"].items():
        config = res.get("Properties", {}).get("NotificationConfiguration", {})
        if res["Type"] == "AWS::S3::Bucket" and config.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
            s3.put_bucket_notification_configuration(
                Bucket=physical[lid], NotificationConfiguration={"EventBridgeConfiguration": {}}
            )
            enabled.append(physical[lid])
    return enabled
