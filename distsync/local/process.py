"""`distsync local up` in a process of its own, for what drives the local stack over HTTP: the e2e tests,
the load benchmark, other tools."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from distsync.sim.clients import send

from .synth import ROOT


def free_port() -> int:
    """A free port below the kernel's ephemeral range. The runtime picks its ports seconds before it binds
    them (the functions are told the gateway's URL first), and outgoing connections take ephemeral ports,
    thousands a minute on a busy stack: a port picked in that range could be taken in between."""
    low = _ephemeral_low()
    for _ in range(200):
        port = random.randrange(max(1024, low - 16384), low)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError("no free port below the ephemeral range")


def _ephemeral_low() -> int:
    try:  # Linux; macOS and others use 49152-65535 (IANA)
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 49152


def start(*extra_args: str, secret: str, output: Any = None,
          timeout: float = 600) -> tuple[subprocess.Popen, str, dict[str, Any]]:
    """`distsync local up --no-demo --port 0`; returns (process, URL, /_local/info) once it serves. The stack
    binds a free port itself and names it in a ready file, so parallel starts never race for a port. Its
    output goes to ``output`` (a file), or else to a temporary log whose tail a failed start reports. The
    timeout allows for a first synth on a clean checkout, which builds the layer from PyPI."""
    workdir = Path(tempfile.mkdtemp(prefix="distsync-local-"))
    ready, log = workdir / "ready.json", workdir / "local-up.log"
    env = dict(os.environ, DISTSYNC_WEBHOOK_SECRET=secret, PYTHONUNBUFFERED="1")
    with ExitStack() as files:
        sink = output if output is not None else files.enter_context(log.open("w"))
        proc = subprocess.Popen(
            [sys.executable, "-m", "distsync.cli", "local", "up", "--no-demo", "--port", "0",
             "--ready-file", str(ready), *extra_args],
            cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if ready.exists():
            url = json.loads(ready.read_text())["url"]
            return proc, url, send(url + "/_local/info", timeout=10).body
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    tail = log.read_text()[-3000:] if output is None and log.exists() else "(see its log)"
    raise RuntimeError(f"the local stack did not start (exit code {proc.poll()}):\n{tail}")


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
