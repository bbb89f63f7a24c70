"""distsync_core.platform.observability: the X-Ray SDK (Powertools Tracer) is opt-in and not imported unless asked for.

Lambda's active tracing records every invocation without an SDK; importing aws_xray_sdk costs ~0.3-0.5 s of
every cold start (docs/performance.md, section 3), so only POWERTOOLS_TRACE_DISABLED=false brings it in.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from distsync_core.platform import observability
from tests.conftest import ROOT, FakeLambdaContext

LAYER = ROOT / "layers" / "shared" / "python"
SDK_MODULES = "sorted({m.split('.')[0] for m in sys.modules} & {'aws_xray_sdk', 'wrapt'})"


def _fresh_interpreter(code: str, trace_disabled: str | None) -> str:
    """Run code after importing distsync_core.platform.observability in a new interpreter; its last printed line."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "POWERTOOLS_TRACE_DISABLED")}
    if trace_disabled is not None:
        env["POWERTOOLS_TRACE_DISABLED"] = trace_disabled
    program = f"import sys; sys.path.insert(0, sys.argv[1]); import distsync_core.platform.observability as o; {code}"
    out = subprocess.run([sys.executable, "-c", program, str(LAYER)], capture_output=True, text=True,
                         check=True, env=env)
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("trace_disabled", ["true", None, "false"])
def test_importing_observability_does_not_import_the_xray_sdk(trace_disabled):
    assert _fresh_interpreter(f"print({SDK_MODULES})", trace_disabled) == "[]"


@pytest.mark.parametrize("trace_disabled", ["true", None, "1", ""])
def test_instrument_without_an_explicit_false_leaves_the_xray_sdk_out(trace_disabled):
    code = f"o.instrument(lambda event, context: None); print({SDK_MODULES})"

    assert _fresh_interpreter(code, trace_disabled) == "[]"


def test_instrument_with_trace_disabled_false_wraps_the_handler_in_the_real_tracer():
    code = f"o.instrument(lambda event, context: None); print({SDK_MODULES})"

    assert _fresh_interpreter(code, "false") == "['aws_xray_sdk', 'wrapt']"


class _RecordingTracer:
    """Stands in for Powertools Tracer: records what capture_lambda_handler wraps."""

    created = 0
    calls: list[tuple[str, Any]] = []

    def __init__(self) -> None:
        type(self).created += 1

    def capture_lambda_handler(self, capture_response: bool = True):
        def decorate(handler):
            def traced(event, context):
                self.calls.append(("traced", capture_response))
                return handler(event, context)

            return traced

        return decorate


@pytest.fixture
def recording_tracer(monkeypatch):
    import aws_lambda_powertools

    monkeypatch.setattr(aws_lambda_powertools, "Tracer", _RecordingTracer)
    monkeypatch.setattr(_RecordingTracer, "created", 0)
    monkeypatch.setattr(_RecordingTracer, "calls", [])
    monkeypatch.delenv("TRACE_TABLE_NAME", raising=False)
    return _RecordingTracer


@pytest.mark.parametrize("value", ["false", "False", " FALSE "])
def test_trace_disabled_false_puts_the_tracer_around_the_handler(recording_tracer, monkeypatch, value):
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", value)
    seen = []

    handler = observability.instrument(lambda event, context: seen.append(event) or {"ok": True})
    result = handler({"n": 1}, FakeLambdaContext())

    assert result == {"ok": True} and seen == [{"n": 1}]
    assert recording_tracer.created == 1
    assert recording_tracer.calls == [("traced", False)]  # responses are not put into the trace


@pytest.mark.parametrize("value", ["true", "1", "no"])
def test_any_other_value_runs_the_handler_without_the_tracer(recording_tracer, monkeypatch, value):
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", value)

    handler = observability.instrument(lambda event, context: "done")

    assert handler({}, FakeLambdaContext()) == "done"
    assert recording_tracer.created == 0 and recording_tracer.calls == []


def test_the_module_has_no_tracer_attribute_left_for_callers():
    # nothing in functions/ or the layer may rely on a module-level Tracer (it would import the SDK)
    assert not hasattr(observability, "tracer")
