"""Shared test setup: repo paths, no real AWS credentials, handler loading by folder."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "shared" / "python"))

# Never reach a real account from the suite, whatever the developer's shell has.
for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
    os.environ.pop(var, None)
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "DistsyncTest",
        "POWERTOOLS_SERVICE_NAME": "distsync",
    }
)


def load_handler(folder: str) -> ModuleType:
    """Import functions/<folder>/handler.py under a unique module name (every handler is `handler`)."""
    path = ROOT / "functions" / folder / "handler.py"
    spec = importlib.util.spec_from_file_location(f"handler_{folder}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves postponed annotations through sys.modules
    spec.loader.exec_module(module)
    return module


class FakeLambdaContext:
    """The attributes Powertools reads from a Lambda context."""

    def __init__(self, name: str = "test-function", timeout_ms: int = 30_000):
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.aws_request_id = "req-1"
        self._timeout_ms = timeout_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._timeout_ms


_signed: dict[bytes, int] = {}


def fresh_timestamp(body: bytes) -> int:
    """A signing timestamp this process has not used for this body before (distsync refuses a replayed
    signature): now, or one second past the last one used for the same body."""
    import time

    now = int(time.time())
    _signed[body] = max(now, _signed.get(body, now - 1) + 1)
    return _signed[body]


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which turns the groups into node ids
def pytest_collection_modifyitems(items: list) -> None:
    """Tier markers by folder (``-m "not e2e"`` and the like), and groups for parallel runs (`make test` runs
    pytest-xdist with ``--dist loadgroup``): each e2e module stays on one worker (its module-scoped local
    stacks start once), and the CDK assertions share one worker (its session synths once per context); the
    rest spreads test by test."""
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT).parts
        if parts[:2] == ("tests", "infra"):
            item.add_marker(pytest.mark.infra)  # the tier follows the folder, so no module can miss its marker
            item.add_marker(pytest.mark.xdist_group("infra"))
        elif parts[:2] == ("tests", "e2e"):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.xdist_group(parts[-1]))
