"""One Lambda execution environment: a child process that imports a handler once and serves invokes.

Started by :mod:`distsync.local.lambdas` as ``python -m distsync.local.lambda_worker`` with the function's
environment. Protocol: one JSON line per invoke on stdin, one JSON line per result on the original stdout;
the handler's own stdout/stderr (Powertools' JSON logs) go to the function's log file.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import time
import traceback
import uuid
from pathlib import Path


class LambdaContext:
    def __init__(self, spec: dict, request_id: str, deadline: float):
        self.function_name = spec["functionName"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec["functionArn"]
        self.memory_limit_in_mb = spec["memory"]
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def _load_layer_code(layer_dirs: list[str]) -> None:
    """Our own packages come from the layer asset; third-party wheels in it are built for the Lambda
    platform (Linux, Python 3.13), so those come from this interpreter's environment instead."""
    for layer in layer_dirs:
        python_dir = Path(layer) / "python"
        for init in sorted(python_dir.glob("distsync_*/__init__.py")):
            name = init.parent.name
            spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(init.parent)])
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)


def main() -> None:
    spec = json.loads(sys.stdin.readline())
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    log = os.open(spec["logFile"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    sys.path.insert(0, spec["codeDir"])
    _load_layer_code(spec["layerDirs"])
    module_name, func_name = spec["handler"].rsplit(".", 1)
    try:
        handler = getattr(importlib.import_module(module_name), func_name)
    except Exception as exc:  # Runtime.ImportModuleError, as Lambda reports it
        handler = None
        init_error = {"errorType": "Runtime.ImportModuleError", "errorMessage": f"{exc.__class__.__name__}: {exc}"}
        traceback.print_exc()
    protocol.write(json.dumps({"ready": True}) + "\n")

    for line in sys.stdin:
        request = json.loads(line)
        request_id = str(uuid.uuid4())
        if handler is None:
            protocol.write(json.dumps({"error": init_error}) + "\n")
            continue
        context = LambdaContext(spec, request_id, time.time() + spec["timeout"])
        try:
            result = handler(request["event"], context)
            reply = {"result": result}
        except Exception as exc:
            traceback.print_exc()
            reply = {"error": {"errorType": exc.__class__.__name__, "errorMessage": str(exc)}}
        sys.stdout.flush()
        sys.stderr.flush()
        protocol.write(json.dumps(reply, default=str) + "\n")


if __name__ == "__main__":
    main()
