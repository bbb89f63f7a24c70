"""Where the ops commands find a stack: a deployed one (normal AWS credentials, names from the stack's
outputs) or the local one (`--local`, names and the moto endpoint from its `/_local/info`)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from distsync.keys import ApiKeys, SigningKeyError, SigningKeys
from distsync.sim.clients import SignedClient, send

LOCAL_DEFAULT_URL = "http://127.0.0.1:8080"


class OpsError(RuntimeError):
    pass


@dataclass
class Target:
    stack_name: str
    outputs: dict[str, str]
    api_url: str
    local: bool

    def output(self, key: str) -> str:
        if key not in self.outputs:
            raise OpsError(f"stack {self.stack_name} has no output {key}")
        return self.outputs[key]

    def queues(self) -> dict[str, str]:
        """Every SQS queue of the stack, URL -> logical id (read from CloudFormation, on AWS and on the local
        moto alike); the logical id names its pipeline."""
        from distsync_core.platform.aws import client

        pages = client("cloudformation").get_paginator("list_stack_resources").paginate(StackName=self.stack_name)
        return {r["PhysicalResourceId"]: r["LogicalResourceId"] for page in pages for r in page["StackResourceSummaries"]
                if r["ResourceType"] == "AWS::SQS::Queue"}

    def invoke(self, output_id: str, payload: dict[str, Any], *, what: str, read_timeout: int) -> Any:
        """Invoke the stack function named by ``output_id`` (as its schedule would) and return its answer.
        Never retried by the SDK: a run may publish events of its own. Locally, moto's ``Invoke`` is routed to
        the local workers."""
        import boto3  # lazy: the CLI's other commands start without it
        from botocore.config import Config

        lam = boto3.client("lambda", config=Config(read_timeout=read_timeout,
                                                   retries={"max_attempts": 1, "mode": "standard"}))
        response = lam.invoke(FunctionName=self.output(output_id), Payload=json.dumps(payload).encode())
        body = response["Payload"].read()
        result = json.loads(body) if body else None
        if response.get("FunctionError"):
            error = result if isinstance(result, dict) else {}
            raise OpsError(f"{what} failed: {error.get('errorType', 'Error')}: "
                           f"{error.get('errorMessage', body.decode('utf-8', 'replace'))}")
        return result

    def signing_secret(self, name: str) -> str:
        """The newest key of a partner source or API role (``planners``, ``operations``, ``channels``), read
        from its secret (on the local stack too, so a ``distsync keys rotate`` there is followed)."""
        try:
            return self.signing_keys().current(name)
        except SigningKeyError as exc:
            raise OpsError(str(exc)) from exc

    def signing_keys(self) -> SigningKeys:
        from distsync.keys import SigningKeyError, SigningKeys
        from distsync_core.platform.aws import client

        try:
            return SigningKeys.of(client("secretsmanager"), self.outputs)
        except SigningKeyError as exc:
            raise OpsError(str(exc)) from exc

    def api_keys(self) -> ApiKeys:
        from distsync_core.platform.aws import client

        try:
            return ApiKeys.of(client("apigateway"), self.outputs)
        except SigningKeyError as exc:
            raise OpsError(str(exc)) from exc

    def api_key(self, name: str) -> str:
        """The x-api-key a source or role sends (its newest enabled key)."""
        try:
            return self.api_keys().current(name)
        except SigningKeyError as exc:
            raise OpsError(str(exc)) from exc

    def client(self, name: str) -> SignedClient:
        """A client that signs as ``name`` (a source or role) and sends its API key."""
        return SignedClient(self.api_url, self.signing_secret(name), api_keys={name: self.api_key(name)})


def connect(local: str | None, stack_name: str) -> Target:
    """Resolve the target and point this process's AWS clients at it."""
    if local:
        try:
            info = send(local.rstrip("/") + "/_local/info", timeout=10)
        except OSError as exc:  # refused, unreachable, timed out (urllib's URLError is an OSError)
            raise OpsError(f"no local stack answers at {local} ({exc}); start one with `make run`") from exc
        if info.status != 200:
            raise OpsError(f"no local stack answers at {local} (HTTP {info.status})")
        data: dict[str, Any] = info.body
        from distsync.local.moto_backend import LOCAL_CREDENTIALS

        os.environ.update(LOCAL_CREDENTIALS)
        os.environ["AWS_ENDPOINT_URL"] = data["awsEndpoint"]
        os.environ["AWS_DEFAULT_REGION"] = data["region"]
        return Target(data["stackName"], data["outputs"], data["apiUrl"], local=True)
    import boto3

    stacks = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    return Target(stack_name, outputs, outputs.get("ApiUrl", "").rstrip("/"), local=False)
