"""Lambda emulation without Docker: each execution environment is a worker process, started on first
need (a cold start) with the function's environment as the deployed stack resolved it; a function runs up
to ``concurrency`` environments at once (2 by default, for a 2-core machine), each serving one invoke at a
time and killed at the function's timeout, as Lambda would."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .assembly import FunctionSpec

# Environment a worker inherits from this process; everything else comes from the function's config.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "PYTHONPATH", "VIRTUAL_ENV")


class InvokeError(RuntimeError):
    def __init__(self, function: str, error: dict[str, Any]):
        super().__init__(f"{function}: {error.get('errorType')}: {error.get('errorMessage')}")
        self.error = error


@dataclass
class DeployedFunction:
    spec: FunctionSpec
    name: str  # physical function name
    arn: str
    environment: dict[str, str]


class LambdaWorker:
    def __init__(self, fn: DeployedFunction, base_env: dict[str, str], log_dir: Path):
        self.fn = fn
        self.base_env = base_env
        self.log_file = log_dir / f"{fn.spec.logical_id}.log"
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self.invocations = 0
        self.cold_starts = 0

    def _start(self) -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if k in _INHERITED}
        env.update(self.base_env)
        env.update(self.fn.environment)
        env.update({
            "AWS_LAMBDA_FUNCTION_NAME": self.fn.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.fn.spec.memory),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(self.fn.spec.timeout),
            "_HANDLER": self.fn.spec.handler,
        })
        proc = subprocess.Popen(
            [sys.executable, "-m", "distsync.local.lambda_worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, bufsize=1,
            cwd=str(self.fn.spec.code_dir),
        )
        spec = {
            "functionName": self.fn.name,
            "functionArn": self.fn.arn,
            "handler": self.fn.spec.handler,
            "codeDir": str(self.fn.spec.code_dir),
            "layerDirs": [str(d) for d in self.fn.spec.layer_dirs],
            "timeout": self.fn.spec.timeout,
            "memory": self.fn.spec.memory,
            "logFile": str(self.log_file),
        }
        proc.stdin.write(json.dumps(spec) + "\n")
        if not self._read_line(proc, 60):
            proc.kill()
            raise InvokeError(self.fn.name, {"errorType": "Runtime.InitError", "errorMessage": "worker did not start"})
        self.cold_starts += 1
        return proc

    @staticmethod
    def _read_line(proc: subprocess.Popen[str], timeout: float) -> str | None:
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        return proc.stdout.readline() if ready else None

    def invoke(self, event: Any) -> Any:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()
            self.invocations += 1
            self._proc.stdin.write(json.dumps({"event": event}) + "\n")
            line = self._read_line(self._proc, self.fn.spec.timeout + 1)
            if not line:
                crashed = self._proc.poll() is not None
                self._proc.kill()  # Lambda ends the environment on a timeout or crash; the next invoke is cold
                self._proc = None
                raise InvokeError(self.fn.name, {
                    "errorType": "Runtime.ExitError" if crashed else "Sandbox.Timedout",
                    "errorMessage": "the runtime exited" if crashed
                    else f"Task timed out after {self.fn.spec.timeout} seconds",
                })
            reply = json.loads(line)
        if "error" in reply:
            raise InvokeError(self.fn.name, reply["error"])
        return reply.get("result")

    @property
    def pid(self) -> int | None:
        """The execution environment's process, while it is warm (fault tests kill it)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def stop(self) -> None:
        with self._lock:
            if self._proc and self._proc.poll() is None:
                self._proc.stdin.close()
                try:
                    self._proc.wait(5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
            self._proc = None


class FunctionPool:
    """One function's execution environments: reuse a warm one, start another up to the concurrency."""

    def __init__(self, fn: DeployedFunction, base_env: dict[str, str], log_dir: Path, concurrency: int):
        self.fn, self._base_env, self._log_dir, self.concurrency = fn, base_env, log_dir, max(1, concurrency)
        self._all: list[LambdaWorker] = []
        self._idle: list[LambdaWorker] = []  # a stack: the most recently used (warmest) goes first
        self._cond = threading.Condition()
        self._last: LambdaWorker | None = None

    def invoke(self, event: Any) -> Any:
        with self._cond:
            while not self._idle and len(self._all) >= self.concurrency:
                self._cond.wait()
            if self._idle:
                env = self._idle.pop()
            else:
                env = LambdaWorker(self.fn, self._base_env, self._log_dir)
                self._all.append(env)
            self._last = env
        try:
            return env.invoke(event)
        finally:
            with self._cond:
                self._idle.append(env)
                self._cond.notify()

    @property
    def invocations(self) -> int:
        return sum(w.invocations for w in self._all)

    @property
    def cold_starts(self) -> int:
        return sum(w.cold_starts for w in self._all)

    @property
    def pid(self) -> int | None:
        """The most recently used environment's process, while warm (fault tests kill it)."""
        return self._last.pid if self._last else None

    def stop(self) -> None:
        for worker in self._all:
            worker.stop()


class LambdaService:
    """All deployed functions, addressable by logical id, physical name or ARN."""

    def __init__(self, functions: list[DeployedFunction], base_env: dict[str, str], log_dir: Path,
                 concurrency: int = 2):
        log_dir.mkdir(parents=True, exist_ok=True)
        self.workers = {f.spec.logical_id: FunctionPool(f, base_env, log_dir, concurrency) for f in functions}
        self._by_name = {}
        for worker in self.workers.values():
            self._by_name[worker.fn.name] = worker
            self._by_name[worker.fn.arn] = worker
        self.active = 0
        self._active_lock = threading.Lock()

    def worker(self, ref: str) -> FunctionPool:
        name = ref.split(":function:")[-1].split(":")[0] if ":function:" in ref else ref
        found = self.workers.get(ref) or self._by_name.get(ref) or self._by_name.get(name)
        if not found:
            raise KeyError(f"no function {ref}")
        return found

    def invoke(self, ref: str, event: Any) -> Any:
        with self._active_lock:
            self.active += 1
        try:
            return self.worker(ref).invoke(event)
        finally:
            with self._active_lock:
                self.active -= 1

    def stop(self) -> None:
        """Every environment at once: each exits at the end of its input, in about a tenth of a second, and
        a stack may have a hundred of them warm."""
        pools = list(self.workers.values())
        with ThreadPoolExecutor(max_workers=16) as executor:
            list(executor.map(FunctionPool.stop, pools))

    def stats(self) -> dict[str, dict[str, int | None]]:
        return {
            lid: {"invocations": w.invocations, "coldStarts": w.cold_starts, "pid": w.pid}
            for lid, w in self.workers.items()
        }
