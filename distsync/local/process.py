"""`distsync local up` in a process of its own, for what drives the local stack over HTTP: the e2e tests,
the load benchmark, other tools."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from typing import Any

from distsync.sim.clients import send

from .synth import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(*extra_args: str, secret: str, output: Any = subprocess.DEVNULL,
          timeout: float = 600) -> tuple[subprocess.Popen, str, dict[str, Any]]:
    """`distsync local up --no-demo` on a free port; returns (process, URL, /_local/info) once it answers.
    The timeout allows for a first synth on a clean checkout, which builds the layer from PyPI."""
    port = free_port()
    env = dict(os.environ, DISTSYNC_WEBHOOK_SECRET=secret, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "distsync.cli", "local", "up", "--no-demo", "--port", str(port), *extra_args],
        cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            result = send(url + "/_local/info", timeout=2)
            if result.status == 200:
                return proc, url, result.body
        except OSError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"the local stack did not start (exit code {proc.poll()})")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_idle(url: str, timeout: float, settle: float, poll: float = 0.1) -> bool:
    """True once the stack has reported idle (queues drained, no function running) for ``settle`` seconds."""
    deadline, quiet = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        if send(url + "/_local/idle").body["idle"]:
            quiet = quiet or time.monotonic()
            if time.monotonic() - quiet >= settle:
                return True
        else:
            quiet = None
        time.sleep(poll)
    return False


def api_keys(info: dict[str, Any]) -> dict[str, str]:
    """Every source's and role's API key (x-api-key) as the local stack issued them at start, read through
    moto's API Gateway API from ``/_local/info``'s endpoint, as `distsync keys api-key --local` would."""
    import boto3

    from distsync.keys import ApiKeys

    apigateway = boto3.client("apigateway", endpoint_url=info["awsEndpoint"], region_name=info["region"],
                              aws_access_key_id="testing", aws_secret_access_key="testing")
    keys = ApiKeys.of(apigateway, info["outputs"])
    return {name: keys.current(name) for name in keys.names()}
