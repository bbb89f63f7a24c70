"""One Logger and Metrics per process, shared by the handlers and the layer code; X-Ray SDK tracing on demand.

Lambda's active tracing (``Tracing.ACTIVE``, infra/platform/distsync_function.py) records every invocation's
segment (initialization, duration, errors, service map) without any SDK in the process. The X-Ray SDK behind
Powertools ``Tracer`` adds per-call subsegments but costs ~0.3-0.5 s of import at every cold start, so it is
opt-in: :func:`instrument` wraps a handler with it only when ``POWERTOOLS_TRACE_DISABLED`` is explicitly
``false`` (CDK context ``xraySdkSubsegments``, docs/infrastructure-contract.md), and only then imports it.
"""

import functools
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics

from .invocation import set_deadline
from .ledger import recording

logger = Logger()
metrics = Metrics()


def sdk_tracing_enabled() -> bool:
    """True when the environment asks for X-Ray SDK subsegments (``POWERTOOLS_TRACE_DISABLED=false``)."""
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() == "false"


def instrument(handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """The decorator stack every distsync Lambda entry point wears: Lambda context (and a fresh
    correlation id) on every log line, EMF metrics flushed at the end, the invocation's ledger hops written
    in one batch when it ends, its time left known to partner calls (:mod:`.invocation`), and (only with :func:`sdk_tracing_enabled`) an X-Ray SDK handler subsegment."""

    @functools.wraps(handler)
    def with_ledger(event: Any, context: Any) -> Any:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        set_deadline((lambda: remaining() / 1000) if remaining else None)
        try:
            with recording(os.environ.get("TRACE_TABLE_NAME")):
                return handler(event, context)
        finally:
            set_deadline(None)

    wrapped = metrics.log_metrics(with_ledger)
    if sdk_tracing_enabled():
        from aws_lambda_powertools import Tracer  # imports aws_xray_sdk when created

        wrapped = Tracer().capture_lambda_handler(capture_response=False)(wrapped)
    return logger.inject_lambda_context(clear_state=True)(wrapped)
