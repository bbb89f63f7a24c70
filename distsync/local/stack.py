"""Bring the synthesized stack up on moto and run it: deploy, start the Lambda workers, pollers, the
HTTP gateway and the partner simulators; report when everything has settled."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distsync.console import Console
from distsync.sim.erp import ErpSimulator
from distsync.sim.notifications import NotificationRecorder
from distsync.sim.partner import ChannelsSimulator, PlanningSimulator
from distsync.sim.wms import WmsSimulator

from .assembly import Assembly
from .distributed_map import ChunkedRunner
from .gateway import Gateway
from .lambdas import DeployedFunction, InvokeError, LambdaService
from .landscape import S4_INBOUND, Simulators, default_context
from .moto_backend import (
    ACCOUNT_ID,
    LOCAL_CREDENTIALS,
    REGION,
    USAGE_PLAN_TAG,
    MotoServer,
    create_secrets,
    create_usage_plans,
    emulate_bootstrap,
    enable_bucket_notifications,
    fix_template,
    make_state_machines_executable,
    not_emulated,
    route_lambda_invokes,
)
from .pollers import SqsPoller
from .queues import LocalQueue
from .sftp import LocalSftpServer, local_user, users_from_template
from .synth import ROOT, synth
from .usage_plans import UsagePlanGate

DEFAULT_WEBHOOK_SECRET = "distsync-local-dev-secret"  # documented local default; never used on AWS
WEBHOOK_SECRET_ENV = "DISTSYNC_WEBHOOK_SECRET"  # local only: one key for every source and role
WEBHOOK_KEYS_ENV = "DISTSYNC_WEBHOOK_KEYS"  # {"erp": ["<key>", ...], "planners": "<key>", ...}: keys per name


def webhook_secret() -> str:
    return os.environ.get(WEBHOOK_SECRET_ENV) or DEFAULT_WEBHOOK_SECRET


def local_signing_keys(name: str) -> list[str]:
    """A source's or role's local keys (newest first): from DISTSYNC_WEBHOOK_KEYS when it names them (a name
    it leaves out has none, as on AWS), else the one local key for everything."""
    raw = os.environ.get(WEBHOOK_KEYS_ENV)
    if not raw:
        return [webhook_secret()]
    try:
        keys = json.loads(raw)
        if not isinstance(keys, dict):
            raise ValueError("not an object")
    except ValueError as exc:
        raise DeployError(f"{WEBHOOK_KEYS_ENV} must be a JSON object of key lists per name ({exc})") from exc
    value = keys.get(name, [])
    return [value] if isinstance(value, str) else [k for k in value if isinstance(k, str) and k]


class DeployError(RuntimeError):
    pass


def context_dir(context: dict[str, str]) -> str:
    """One cloud assembly per context: stacks started with other -c values (parallel test workers, a
    what-if) keep their own synth instead of overwriting the running one's, and each stays cached."""
    digest = hashlib.sha256(json.dumps(context, sort_keys=True).encode()).hexdigest()
    return f"context-{digest[:12]}"


@dataclass
class LocalStack:
    port: int = 8080
    context: dict[str, str] = field(default_factory=dict)
    retry_delay: int = 1
    workdir: Path = ROOT / ".distsync" / "local"
    cloud_assembly: Path | None = None  # an already synthesized assembly (default: run `cdk synth`)
    concurrency: int = 2  # execution environments per function
    progress: Any = None  # called with a short line per start-up step (the CLI's status display)

    def __post_init__(self) -> None:
        self.context = {**default_context(), **self.context}  # the local ERP landscape unless -c gives one
        self._stop = threading.Event()
        self.erp_connections = "[]"  # ERP_CONNECTIONS as the functions got it (at the simulators)
        self.pollers: list[SqsPoller] = []
        self.timings: dict[str, float] = {}

    def _say(self, step: str) -> None:
        if self.progress:
            self.progress(step)

    # -------------------------------------------------------------------------------------------- start
    def start(self) -> LocalStack:
        t0 = time.monotonic()
        if not self.port:  # the functions are told this gateway's URL (where ERPs push) before it starts
            from .process import free_port

            self.port = free_port()
        self._say("synthesizing (cdk synth; skipped while app, infra, functions and layers are unchanged)")
        out = self.cloud_assembly or synth(self.workdir / "cdk.out" / context_dir(self.context), self.context)
        self.timings["synth"] = time.monotonic() - t0
        self.assembly = Assembly.load(out)
        self._say(f"deploying {len(self.assembly.template['Resources'])} resources into moto")
        self.moto = MotoServer().start()
        # This process's own clients (the ops console, the demo, trace) talk to the local stack: set before the
        # gateway answers, or a request arriving right after start reaches a console still pointed at AWS.
        os.environ.update({**LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL": self.moto.endpoint, "AWS_DEFAULT_REGION": REGION})
        self.erp = ErpSimulator().start()
        self.wms = WmsSimulator().start()
        self.planning = PlanningSimulator().start()
        self.channels = ChannelsSimulator().start()
        self.erps = Simulators.start(self.erp.base_url)
        t1 = time.monotonic()
        self._deploy()
        self.timings["deploy"] = time.monotonic() - t1
        self._say(f"starting {len(self.assembly.event_sources())} queue pollers, the API gateway and the simulators")
        self._start_functions()
        self._start_pollers()
        # what the notification topics publish, through an SQS subscription as SNS delivers (docs/local-runtime.md)
        self.notifications = NotificationRecorder(self.moto.client("sqs"), {
            a: self.outputs[f"{a.capitalize()}TopicArn"] for a in ("planners", "operations")
            if f"{a.capitalize()}TopicArn" in self.outputs}).subscribe(self.moto.client("sns")).start()
        # Transfer Family's stand-in: the template's SFTP users, else a local "planning" user on cycles/
        users = (users_from_template(self.assembly.template, self.physical)
                 or [local_user(self.workdir, self.outputs["LandingBucketName"])])
        self.sftp = LocalSftpServer(self.moto.client("s3"), users, self.workdir).start()
        self.gateway = Gateway(
            self.port,
            self.assembly.routes(),
            self.lambdas.invoke,
            stage=self._api_stage(),
            extras={"/_sim/erp/": self.erp, "/_sim/wms/": self.wms, "/_sim/planning/": self.planning,
                    "/_sim/channels/": self.channels, "/_sim/notifications": self.notifications,
                    **self.erps.extras()},
            local_routes={"/_local/info": self.info, "/_local/idle": lambda: {"idle": self.idle()}},
            handlers=Console.for_stack(self).handlers(),  # /console and its /_local/ops/ API
            usage_plans=UsagePlanGate(USAGE_PLAN_TAG),
            responses=self.assembly.gateway_responses(),
        ).start()
        self.port = self.gateway.port
        self._connect_erps()
        self.timings["start"] = time.monotonic() - t0
        return self

    def _connect_erps(self) -> None:
        """What an operator sets up on each ERP once the stack is deployed: the S/4HANA event mesh pushes to the
        connector events API with its Basic credentials; Business Central subscriptions are created (through
        the connector sync function, which answers BC's validation handshake)."""
        import base64

        for connection in json.loads(self.erp_connections):
            url = f"{self.url}/v1/connectors/{connection['name']}/events"
            if connection["kind"] == "s4hana":
                user, password = S4_INBOUND["inboundUser"], S4_INBOUND["inboundPassword"]
                self.erps.s4.notify_url = url
                self.erps.s4.subscriber_headers = {
                    "Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
            elif connection["kind"] == "businesscentral":
                name = self.outputs.get("ConnectorSyncFunctionName")
                try:
                    result = self.lambdas.invoke(name, {"connection": connection["name"], "action": "subscribe"})
                except InvokeError as exc:  # the stack still serves; `distsync connectors subscribe` retries
                    logging.getLogger(__name__).warning("%s: no Business Central subscription: %s",
                                                        connection["name"], exc)
                    continue
                logging.getLogger(__name__).info("%s: Business Central subscription %s", connection["name"], result)

    def _erp_credentials(self, connections_json: str) -> None:
        """Each connection's credentials secret, with what its kind's simulator accepts (an operator creates
        these before deploying; the template only names them)."""
        sm = self.moto.client("secretsmanager")
        existing = {s["Name"] for s in sm.list_secrets().get("SecretList", [])}
        for connection in json.loads(connections_json):
            secret, name = self.erps.secret(connection["kind"]), connection.get("secretName")
            if secret is not None and name and name not in existing:
                sm.create_secret(Name=name, SecretString=json.dumps(secret))
                existing.add(name)

    def _deploy(self) -> None:
        emulate_bootstrap(self.moto, list(self.assembly.asset_dirs))
        secrets = create_secrets(self.moto, self.assembly.template, webhook_secret(), local_signing_keys)
        secrets.update(create_usage_plans(self.moto, self.assembly.template))
        template = fix_template(self.assembly.template, secrets)
        cfn = self.moto.client("cloudformation")
        name = self.assembly.stack_name
        # moto skips resource types it has no CloudFormation model for (API stages, validators, schemas...);
        # nothing the runtime runs depends on them: named once here (the CLI prints the count).
        self.not_emulated = not_emulated(template)
        logging.getLogger(__name__).info("resource types not emulated by moto: %s", ", ".join(self.not_emulated))
        log_dir = self.workdir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        (log_dir / "not-emulated.txt").write_text(  # the CLI prints the count; the detail is here
            "Resource types of this template moto does not emulate (docs/local-runtime.md says why nothing the\n"
            "local runtime runs depends on them):\n" + "".join(f"  {t}\n" for t in self.not_emulated))
        cfn.create_stack(StackName=name, TemplateBody=json.dumps(template),
                         Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"])
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            raise DeployError(f"{name}: {stack['StackStatus']} {stack.get('StackStatusReason', '')}")
        self.physical = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
        }
        self.physical.update(secrets)
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        self._issue_api_keys()
        machines = [self.physical[lid] for lid in self.assembly.of_type("AWS::StepFunctions::StateMachine")]
        # moto cannot run a Distributed Map: those state machines run in the chunked runner (same Lambda code)
        self.chunked = ChunkedRunner(self.moto.client("s3"), lambda ref, event: self.lambdas.invoke(ref, event),
                                     max_threads=max(2, self.concurrency))
        chunked = self.chunked.install(machines, ACCOUNT_ID, REGION)
        make_state_machines_executable([arn for arn in machines if arn not in chunked])
        enable_bucket_notifications(self.moto, template, self.physical)

    def _issue_api_keys(self) -> None:
        """What an operator does once a stack is deployed: issue each partner and role its API key
        (`distsync keys issue`), here for the local clients (the demo, the CLI, the console)."""
        from distsync.keys import ApiKeys

        if "UsagePlanIds" not in self.outputs:
            return
        keys = ApiKeys.of(self.moto.client("apigateway"), self.outputs)
        for name in keys.names():
            keys.issue(name, self.assembly.stack_name)

    def api_key(self, name: str) -> str:
        """The newest API key of a partner source or API role (x-api-key)."""
        from distsync.keys import ApiKeys

        return ApiKeys.of(self.moto.client("apigateway"), self.outputs).current(name)

    def client(self, name: str) -> Any:
        """A client signing as ``name`` with its key and sending its API key: what that partner would use."""
        from distsync.sim.clients import SignedClient

        return SignedClient(self.url, self.signing_key(name), api_keys={name: self.api_key(name)})

    def _start_functions(self) -> None:
        lam = self.moto.client("lambda")
        deployed = []
        for lid, spec in self.assembly.functions().items():
            config = lam.get_function_configuration(FunctionName=self.physical[lid])
            env = dict(config.get("Environment", {}).get("Variables", {}))
            # Partner endpoints point at the simulators; everything else is as the stack configured it.
            for var, url in (("ERP_BASE_URL", self.erp.base_url), ("WMS_BASE_URL", self.wms.base_url),
                             ("PLANNING_BASE_URL", self.planning.base_url),
                             ("CHANNELS_BASE_URL", self.channels.base_url)):
                if var in env:
                    env[var] = url
            if "CONSOLE_URL" in env:  # the messages link to this stack's console
                env["CONSOLE_URL"] = self.url
            if "CONNECTOR_EVENTS_URL" in env:  # where ERPs push: this gateway, not the template's API URL
                env["CONNECTOR_EVENTS_URL"] = f"{self.url}/v1/connectors"
            if "ERP_CONNECTIONS" in env:  # each ERP connection at its kind's simulator, with its credentials
                self.erp_connections = env["ERP_CONNECTIONS"] = self.erps.pointed(env["ERP_CONNECTIONS"])
                self._erp_credentials(self.erp_connections)
            env["POWERTOOLS_TRACE_DISABLED"] = "true"  # no X-Ray daemon locally, whatever the stack set
            deployed.append(DeployedFunction(spec, config["FunctionName"], config["FunctionArn"], env))
        base_env = {
            **LOCAL_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.moto.endpoint,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon locally
        }
        self.lambdas = LambdaService(deployed, base_env, self.workdir / "logs", self.concurrency)
        route_lambda_invokes(self.lambdas.invoke)

    def _start_pollers(self) -> None:
        for spec in self.assembly.event_sources():
            if not spec.enabled:
                continue
            queue = LocalQueue(self.physical[spec.queue_logical_id])
            poller = SqsPoller(spec, queue, self.physical[spec.function_logical_id],
                               self.lambdas, self.retry_delay, self._stop, environments=self.concurrency)
            poller.start()
            self.pollers.append(poller)

    def _api_stage(self) -> str:
        stages = self.assembly.of_type("AWS::ApiGateway::Stage").values()
        return next((s["Properties"].get("StageName", "local") for s in stages), "local")

    # ------------------------------------------------------------------------------------------- state
    def signing_key(self, name: str) -> str:
        """The newest key of a partner source or API role, as its secret holds it now."""
        from distsync.keys import SigningKeys

        return SigningKeys.of(self.moto.client("secretsmanager"), self.outputs).current(name)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def queues(self) -> dict[str, str]:
        """logical id -> queue URL of every queue in the stack (pipeline queues and DLQs)."""
        return {lid: self.physical[lid] for lid in self.assembly.of_type("AWS::SQS::Queue")}

    def queue_depths(self, delayed: bool = True) -> dict[str, int]:
        """Messages per queue (visible, in flight and, with ``delayed``, delayed), read in process."""
        return {lid: LocalQueue(url).depth(delayed) for lid, url in self.queues().items()}

    def dead_letter_queues(self) -> set[str]:
        dlqs = set()
        for res in self.assembly.of_type("AWS::SQS::Queue").values():
            target = res["Properties"].get("RedrivePolicy", {}).get("deadLetterTargetArn", {})
            if isinstance(target, dict) and "Fn::GetAtt" in target:
                dlqs.add(target["Fn::GetAtt"][0])
        return dlqs

    def idle(self) -> bool:
        """Nothing running and nothing to run: a delayed message is a timer (the orders gap timer), not work in
        flight, so it does not count until it is due."""
        if self.lambdas.active or self.chunked.busy or any(p.busy for p in self.pollers):
            return False
        dlqs = self.dead_letter_queues()
        return all(depth == 0 for lid, depth in self.queue_depths(delayed=False).items() if lid not in dlqs)

    def wait_idle(self, timeout: float = 60, settle: float = 0.5) -> bool:
        """True once nothing moved for ``settle`` seconds (approval workflows may still wait for planners)."""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            if self.idle():
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= settle:
                    return True
            else:
                quiet_since = None
            time.sleep(0.1)
        return False

    def info(self) -> dict[str, Any]:
        return {
            "stackName": self.assembly.stack_name,
            "region": REGION,
            "awsEndpoint": self.moto.endpoint,
            "apiUrl": self.url,
            "erpSimulator": self.erp.base_url,
            "wmsSimulator": self.wms.base_url,
            "planningSimulator": self.planning.base_url,
            "channelsSimulator": self.channels.base_url,
            **self.erps.info(),
            "sftp": self.sftp.info(),
            "outputs": self.outputs,
            "queues": self.queues(),
            "deadLetterQueues": sorted(self.dead_letter_queues()),
            "functions": self.lambdas.stats(),
            "chunkedExecutions": self.chunked.executions,
            "logs": str(self.workdir / "logs"),
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
            "context": self.context,  # what it was synthesized with (`distsync whatif` starts from it)
        }

    def stop(self) -> None:
        self._stop.set()
        for poller in self.pollers:
            poller.join(timeout=5)
        # Together: each HTTP server notices its shutdown at its next poll (up to half a second), and there
        # are ten of them.
        parts = [getattr(self, p) for p in ("gateway", "erp", "wms", "planning", "channels", "erps", "sftp",
                                             "notifications", "lambdas") if hasattr(self, p)]
        with ThreadPoolExecutor(max_workers=len(parts) or 1) as executor:
            list(executor.map(lambda part: part.stop(), parts))
        if hasattr(self, "moto"):
            self.moto.stop()
